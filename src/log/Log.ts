/**
 * nats-server style log lines: `[pid] 2006/01/02 15:04:05.000000 [INF] message`.
 *
 * Synchronous and cheap when a level is off, because the protocol trace is called from the parse
 * loop. Output goes to stderr or to an append-only log file.
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"

export interface LogOptions {
  readonly debug: boolean
  readonly trace: boolean
  readonly logtime: boolean
  readonly file: string | undefined
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

const stamp = (d: Date) =>
  `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:` +
  `${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`

export class Logger {
  debugEnabled: boolean
  traceEnabled: boolean
  private readonly fd: number

  private options: LogOptions

  constructor(options: LogOptions) {
    this.options = options
    this.debugEnabled = options.debug
    this.traceEnabled = options.trace
    this.fd = options.file === undefined ? 2 : fs.openSync(options.file, "a")
  }

  /** A configuration reload changes the levels and timestamps; the file stays the one opened at start. */
  reconfigure(levels: { readonly debug: boolean; readonly trace: boolean; readonly logtime: boolean }): void {
    this.options = { ...this.options, ...levels }
    this.debugEnabled = levels.debug
    this.traceEnabled = levels.trace
  }

  private write(level: string, message: string) {
    const prefix = this.options.logtime ? `[${process.pid}] ${stamp(new Date())} ` : `[${process.pid}] `
    try {
      fs.writeSync(this.fd, `${prefix}[${level}] ${message}\n`)
    } catch {
      // A closed stderr (EPIPE) must never take the broker down; there is nowhere left to report it.
    }
  }

  info(message: string) {
    this.write("INF", message)
  }
  warn(message: string) {
    this.write("WRN", message)
  }
  error(message: string) {
    this.write("ERR", message)
  }
  fatal(message: string) {
    this.write("FTL", message)
  }
  debug(message: string) {
    if (this.debugEnabled) this.write("DBG", message)
  }
  trace(message: string) {
    if (this.traceEnabled) this.write("TRC", message)
  }

  close() {
    if (this.fd !== 2) fs.closeSync(this.fd)
  }
}

export class Log extends Context.Service<Log, Logger>()("effect-jetstream/log/Log") {
  static readonly layer = (options: LogOptions) =>
    Layer.effect(Log)(
      // Scoped so a log file is closed when the broker stops.
      Effect.acquireRelease(Effect.sync(() => new Logger(options)), (l) => Effect.sync(() => l.close()))
    )
  /** Silent logger for tests and embedding that do not want output. */
  static readonly layerSilent = Layer.succeed(Log)(
    new Logger({ debug: false, trace: false, logtime: false, file: "/dev/null" })
  )
}
