/**
 * Benchmark plumbing shared by the bench scripts: free ports, server child processes (started,
 * watched and always killed), /proc memory and CPU readings, and a raw-socket NATS client whose
 * only job is to be cheaper than the server it measures.
 *
 * Everything talks to 127.0.0.1 only.
 */
import { Buffer } from "node:buffer"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as net from "node:net"
import { fileURLToPath } from "node:url"

export const HOST = "127.0.0.1"

// ---------------------------------------------------------------------------------------------
// ports and timing

/** Binds port 0 on 127.0.0.1, reads the port the kernel chose, releases it. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, HOST, () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr !== null ? addr.port : 0
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("could not obtain a free port"))))
    })
  })

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Lets pending socket I/O callbacks run before continuing a tight loop. */
export const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6

// ---------------------------------------------------------------------------------------------
// /proc readings (Linux)

export interface MemReading {
  /** Current resident set size, KiB. */
  readonly rssKb: number
  /** Peak resident set size since the process started ("high water mark"), KiB. */
  readonly hwmKb: number
}

export const readMem = (pid: number): MemReading | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const field = (name: string): number => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)
      return m === null ? 0 : Number(m[1])
    }
    return { rssKb: field("VmRSS"), hwmKb: field("VmHWM") }
  } catch {
    return undefined
  }
}

const CLOCK_TICKS = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const n = Number(r.stdout?.trim())
  return Number.isFinite(n) && n > 0 ? n : 100
})()

/** utime + stime of a process, in milliseconds (all threads). */
export const readCpuMs = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // the command name may contain spaces; fields restart after the closing parenthesis
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // rest[0] is field 3 (state); utime is field 14, stime field 15
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** Whole-machine CPU jiffies from /proc/stat: busy (not idle/iowait) and total, all cores. */
export const readMachineCpu = (): { readonly busy: number; readonly total: number } => {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? ""
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number) // user..steal; guest is already in user
    const total = f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }
  } catch {
    return { busy: Number.NaN, total: Number.NaN }
  }
}

/** Samples VmRSS on an interval so the peak *under load* is known apart from the startup peak. */
export class RssSampler {
  peakKb = 0
  private readonly timer: NodeJS.Timeout
  private readonly pid: number
  constructor(pid: number, intervalMs = 100) {
    this.pid = pid
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.timer.unref()
  }
  sample(): void {
    const m = readMem(this.pid)
    if (m !== undefined && m.rssKb > this.peakKb) this.peakKb = m.rssKb
  }
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peakKb
  }
}

// ---------------------------------------------------------------------------------------------
// server child processes

export type ServerKind = "effect-jetstream" | "nats-server"

export const brokerBin = fileURLToPath(new URL("../bin/effect-jetstream", import.meta.url))

/** Absolute path of `nats-server` on PATH (or $NATS_SERVER), undefined if absent. */
export const findNatsServer = (): string | undefined => {
  const fromEnv = process.env["NATS_SERVER"]
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" })
  const path = r.status === 0 ? r.stdout.trim() : ""
  return path === "" ? undefined : path
}

const live = new Set<ChildProcess>()
let cleanupInstalled = false

/** Kill every child still alive (SIGKILL: used on exit paths where we cannot wait). */
export const killAllNow = (): void => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  live.clear()
}

const installCleanup = (): void => {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on("exit", killAllNow)
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping servers\n`)
      killAllNow()
      process.exit(sig === "SIGINT" ? 130 : 143)
    })
  }
}

const NOTABLE = /slow consumer|\[ERR\]|\[WRN\]|\[FTL\]|fatal|error|panic|exception/i

export class ServerProcess {
  /** Last log lines (both streams), for diagnostics. */
  readonly tail: Array<string> = []
  /** Log lines that look like trouble: errors, warnings, slow consumers. */
  readonly notable: Array<string> = []
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined = undefined
  private readonly exitWaiters: Array<() => void> = []

  readonly kind: ServerKind
  readonly port: number
  readonly child: ChildProcess

  constructor(kind: ServerKind, port: number, child: ChildProcess) {
    this.kind = kind
    this.port = port
    this.child = child
    const onLines = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line === "") continue
        this.tail.push(line)
        if (this.tail.length > 200) this.tail.shift()
        if (NOTABLE.test(line) && this.notable.length < 50) this.notable.push(line)
      }
    }
    child.stdout?.on("data", onLines)
    child.stderr?.on("data", onLines)
    child.on("exit", (code, signal) => {
      this.exited = { code, signal }
      live.delete(child)
      for (const w of this.exitWaiters.splice(0)) w()
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  get alive(): boolean {
    return this.exited === undefined
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve))
    this.child.kill("SIGTERM")
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs)
    await gone
    clearTimeout(timer)
  }
}

export interface StartOptions {
  readonly natsServerPath?: string
  readonly readyTimeoutMs?: number
  /** Extra command-line arguments after `-a HOST -p PORT` (e.g. `-js -sd <dir>`); same flags for both servers. */
  readonly extraArgs?: ReadonlyArray<string>
}

/** Starts a server on a free port of our choosing and waits until it greets a client with INFO. */
export const startServer = async (kind: ServerKind, opts: StartOptions = {}): Promise<ServerProcess> => {
  installCleanup()
  const port = await freePort()
  const args = ["-a", HOST, "-p", String(port), ...(opts.extraArgs ?? [])]
  const child = kind === "effect-jetstream"
    ? spawn(process.execPath, [brokerBin, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(opts.natsServerPath ?? "nats-server", args, { stdio: ["ignore", "pipe", "pipe"] })
  live.add(child)
  const server = new ServerProcess(kind, port, child)
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject))
  try {
    await Promise.race([waitForInfo(server, opts.readyTimeoutMs ?? 30_000), spawnError])
  } catch (e) {
    await server.stop()
    throw e
  }
  return server
}

const waitForInfo = async (server: ServerProcess, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!server.alive) {
      throw new Error(
        `${server.kind} exited during startup (${JSON.stringify(server.exited)}):\n${server.tail.join("\n")}`
      )
    }
    if (await probeInfo(server.port)) return
    await sleep(50)
  }
  throw new Error(`${server.kind} did not accept connections on ${HOST}:${server.port} within ${timeoutMs} ms`)
}

const probeInfo = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port })
    const done = (ok: boolean) => {
      sock.destroy()
      resolve(ok)
    }
    sock.setTimeout(1000, () => done(false))
    sock.once("error", () => done(false))
    sock.once("data", (d) => done(d.toString("latin1").startsWith("INFO ")))
  })

// ---------------------------------------------------------------------------------------------
// counters a benchmark can await

/** A monotonically increasing count with "wake me when it reaches N". Increment is the hot path. */
export class Counter {
  value = 0
  private target = Number.POSITIVE_INFINITY
  private resolve: (() => void) | undefined = undefined
  private reject: ((e: Error) => void) | undefined = undefined
  private failure: Error | undefined = undefined

  inc(): void {
    if (++this.value === this.target) this.fire()
  }

  private fire(): void {
    const r = this.resolve
    this.target = Number.POSITIVE_INFINITY
    this.resolve = undefined
    this.reject = undefined
    r?.()
  }

  /** Rejects the current and any later wait (connection closed, server died). */
  abort(e: Error): void {
    this.failure ??= e
    const r = this.reject
    this.target = Number.POSITIVE_INFINITY
    this.resolve = undefined
    this.reject = undefined
    r?.(e)
  }

  get failed(): Error | undefined {
    return this.failure
  }

  /** Resolves once `value >= target`; rejects on abort or when `deadline` (Date.now() ms) passes. */
  waitFor(target: number, deadline: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.value >= target) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.target = Number.POSITIVE_INFINITY
        this.resolve = undefined
        this.reject = undefined
        reject(new TimeoutError(`timed out at ${this.value} of ${target}`))
      }, Math.max(0, deadline - Date.now()))
      this.target = target
      this.resolve = () => {
        clearTimeout(timer)
        resolve()
      }
      this.reject = (e) => {
        clearTimeout(timer)
        reject(e)
      }
    })
  }
}

export class TimeoutError extends Error {
  override readonly name = "TimeoutError"
}

// ---------------------------------------------------------------------------------------------
// raw-socket client: handshake, batched PUB writes, and a minimal MSG frame counter

const CR = 13
const LF = 10
const CH_M = 77 // MSG
const CH_H = 72 // HMSG
const CH_P = 80 // PING / PONG
const CH_I = 73 // INFO
const CH_MINUS = 45 // -ERR
const CH_0 = 48
const CH_9 = 57
const CRLF = Buffer.from("\r\n", "latin1")
const PONG = Buffer.from("PONG\r\n", "latin1")
const EMPTY = Buffer.alloc(0)

export class RawConnection {
  /** MSG/HMSG frames fully received (payload included). */
  readonly msgs = new Counter()
  readonly errors: Array<string> = []
  closed = false
  private pending: Buffer = EMPTY
  private skip = 0
  private pongWaiters: Array<() => void> = []

  private readonly sock: net.Socket

  private constructor(sock: net.Socket) {
    this.sock = sock
    sock.setNoDelay(true)
    sock.on("data", (chunk: Buffer) => this.onData(chunk))
    const onClose = (why: string) => {
      if (this.closed) return
      this.closed = true
      this.msgs.abort(
        new Error(`raw connection closed: ${why}${this.errors.length > 0 ? ` (${this.errors.join("; ")})` : ""}`)
      )
    }
    sock.on("error", (e) => onClose(e.message))
    sock.on("close", () => onClose("socket closed"))
  }

  /** Connects, waits for INFO, sends CONNECT (verbose off) and waits for the PONG of a PING. */
  static async open(port: number, name: string): Promise<RawConnection> {
    const sock = net.connect({ host: HOST, port })
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve)
      sock.once("error", reject)
    })
    const conn = new RawConnection(sock)
    const connect = { verbose: false, pedantic: false, protocol: 1, echo: true, lang: "raw", version: "0", name }
    sock.write(`CONNECT ${JSON.stringify(connect)}\r\n`)
    await conn.ping(10_000)
    return conn
  }

  ping(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError("no PONG")), timeoutMs)
      this.pongWaiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
      this.sock.write("PING\r\n")
    })
  }

  /** Writes, waiting for 'drain' when the socket buffer is full (backpressure). */
  async write(buf: Buffer | string): Promise<void> {
    if (this.closed) throw this.msgs.failed ?? new Error("raw connection closed")
    if (!this.sock.write(buf)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.sock.off("drain", done)
          this.sock.off("close", done)
          resolve()
        }
        this.sock.on("drain", done)
        this.sock.on("close", done)
      })
    }
  }

  close(): void {
    this.closed = true
    this.sock.destroy()
  }

  /**
   * The scanner. A frame is a control line ending in CRLF; MSG/HMSG lines end in the byte count
   * of what follows (+ CRLF), which is skipped without looking at it.
   */
  private onData(chunk: Buffer): void {
    let data = chunk
    let i = 0
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length)
      i = n
      this.skip -= n
      if (this.skip === 0) this.msgs.inc()
    } else if (this.pending.length > 0) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = EMPTY
    }
    const len = data.length
    while (i < len) {
      const eol = data.indexOf(CRLF, i)
      if (eol < 0) {
        this.pending = Buffer.from(data.subarray(i))
        return
      }
      const c0 = data[i]
      if (c0 === CH_M || c0 === CH_H) {
        // last token is the size
        let j = eol - 1
        let size = 0
        let mul = 1
        while (j > i) {
          const c = data[j]!
          if (c < CH_0 || c > CH_9) break
          size += (c - CH_0) * mul
          mul *= 10
          j--
        }
        const want = size + 2
        const start = eol + 2
        const avail = len - start
        if (avail >= want) {
          this.msgs.inc()
          i = start + want
        } else {
          this.skip = want - avail
          return
        }
        continue
      }
      if (c0 === CH_P) {
        if (data[i + 1] === 73) this.sock.write(PONG) // PING
        else for (const w of this.pongWaiters.splice(0, 1)) w() // PONG
      } else if (c0 === CH_MINUS) {
        this.errors.push(data.toString("latin1", i, eol))
      } else if (c0 !== CH_I && c0 !== 43 /* +OK */ && !(c0 === CR || c0 === LF)) {
        this.errors.push(`unexpected: ${data.toString("latin1", i, Math.min(eol, i + 80))}`)
      }
      i = eol + 2
    }
  }
}

/** `count` pre-built `PUB <subject> <size>\r\n<payload>\r\n` frames in one buffer. */
export const pubBatch = (subject: string, payload: Buffer, count: number): Buffer => {
  const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${payload.length}\r\n`, "latin1"), payload, CRLF])
  const out = Buffer.allocUnsafe(frame.length * count)
  for (let k = 0; k < count; k++) frame.copy(out, k * frame.length)
  return out
}

// ---------------------------------------------------------------------------------------------
// statistics

/** Nearest-rank percentile of an ascending-sorted array. */
export const percentile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

// ---------------------------------------------------------------------------------------------
// machine quietness and reporting (shared by the newer bench scripts)

/**
 * Waits (bounded) until the whole machine is at most `maxBusyPct` busy, so other workloads do not
 * skew a run. Returns the last busy reading (% of all cores) seen.
 */
export const waitForQuietMachine = async (
  maxMs: number,
  log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`),
  maxBusyPct = 20
): Promise<number> => {
  const deadline = Date.now() + maxMs
  let announced = false
  let busy = Number.NaN
  do {
    const a = readMachineCpu()
    await sleep(300)
    const b = readMachineCpu()
    busy = ((b.busy - a.busy) / (b.total - a.total)) * 100
    if (!(busy > maxBusyPct)) return busy
    if (!announced && maxMs > 0) {
      log(`  machine ${busy.toFixed(0)}% busy with other work; waiting up to ${maxMs / 1000} s`)
    }
    announced = true
  } while (Date.now() < deadline)
  if (maxMs > 0) log("  machine still busy; measuring anyway")
  return busy
}

export const fmtNumber = (x: number | undefined, digits: number): string =>
  x === undefined || !Number.isFinite(x)
    ? "n/a"
    : x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

export interface TableRow {
  readonly metric: string
  readonly ejs: number | undefined
  readonly nats: number | undefined
  readonly digits: number
  readonly target?: string
}

/** `metric | effect-jetstream | nats-server | ratio ejs/nats | target` as a Markdown table. */
export const renderTable = (rows: ReadonlyArray<TableRow>): string => {
  const head = ["metric", "effect-jetstream", "nats-server", "ratio ejs/nats", "target"]
  const body = rows.map((r) => [
    r.metric,
    fmtNumber(r.ejs, r.digits),
    fmtNumber(r.nats, r.digits),
    r.ejs !== undefined && r.nats !== undefined && Number.isFinite(r.ejs) && Number.isFinite(r.nats) && r.nats > 0
      ? `${(r.ejs / r.nats).toFixed(2)}x`
      : "n/a",
    r.target ?? ""
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  const sep = `|${widths.map((w, i) => (i === 0 || i === 4 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`
  return [line(head), sep, ...body.map(line)].join("\n")
}

// ---------------------------------------------------------------------------------------------
// command line and progress (shared by the bench scripts)

/** Prints `msg` to stderr and exits with status 2 (bad command line). */
export function fail(msg: string): never {
  process.stderr.write(`${msg}\n`)
  process.exit(2)
}

/** A progress line on stderr (stdout carries the results). */
export const progress = (msg: string): void => {
  process.stderr.write(`${msg}\n`)
}

export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

/** kB to MB, one decimal. */
export const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10

export interface ParsedArgs {
  /** `--flag value` and `--flag=value`, by flag. */
  readonly flags: ReadonlyMap<string, string>
  /** The bare flags (from `booleans`) that were given. */
  readonly bools: ReadonlySet<string>
}

/**
 * Splits a command line: `--help` / `-h` prints `usage` and exits 0; the `booleans` are bare flags;
 * every other argument is `--flag value` or `--flag=value` with a flag from `known`, else `fail`.
 */
export const parseArgs = (
  argv: ReadonlyArray<string>,
  usage: string,
  booleans: ReadonlyArray<string>,
  known: ReadonlyArray<string>
): ParsedArgs => {
  const flags = new Map<string, string>()
  const bools = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--help" || a === "-h") {
      process.stdout.write(usage)
      process.exit(0)
    }
    if (booleans.includes(a)) {
      bools.add(a)
      continue
    }
    const eq = a.indexOf("=")
    if (a.startsWith("--") && eq > 0) flags.set(a.slice(0, eq), a.slice(eq + 1))
    else if (a.startsWith("--") && i + 1 < argv.length) flags.set(a, argv[++i]!)
    else fail(`unknown or incomplete argument: ${a}\n${usage}`)
  }
  for (const k of flags.keys()) if (!known.includes(k)) fail(`unknown option: ${k}\n${usage}`)
  return { flags, bools }
}

/** A non-negative whole number (`_` separators allowed, fraction dropped), else `fail`. */
export const toCount = (flag: string, raw: string): number => {
  const n = Number(raw.replaceAll("_", ""))
  if (!Number.isFinite(n) || n < 0) fail(`${flag}: not a non-negative number: ${raw}`)
  return Math.floor(n)
}

/** The number given for `flag` (else in the environment variable `env`, if named), else `dflt`. */
export const flagCount = (args: ParsedArgs, flag: string, dflt: number, env?: string): number => {
  const raw = args.flags.get(flag) ?? (env === undefined ? undefined : process.env[env])
  return raw === undefined || raw === "" ? dflt : toCount(flag, raw)
}

/** The servers to measure: both, or the one `--only` names (anything else: `fail`). */
export const serversOf = (args: ParsedArgs): ReadonlyArray<ServerKind> => {
  const only = args.flags.get("--only")
  if (only !== undefined && only !== "effect-jetstream" && only !== "nats-server") fail(`--only: ${only}`)
  return only === undefined ? ["effect-jetstream", "nats-server"] : [only]
}

/** The first line of the server's `--version`, or "<kind> (version unknown)". */
export const versionOf = (kind: ServerKind, natsPath: string | undefined): string => {
  const r = kind === "nats-server"
    ? spawnSync(natsPath ?? "nats-server", ["--version"], { encoding: "utf8" })
    : spawnSync(process.execPath, [brokerBin, "--version"], { encoding: "utf8" })
  const first = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? ""
  return r.status === 0 && first !== "" ? first : `${kind} (version unknown)`
}
