/**
 * The measuring loop both comparison benches share: open one session per running server, then run
 * them alternately (A B A B ...) so machine noise falls on both sides, and close every session.
 */
import * as os from "node:os"
import { errorText, progress, type ServerKind, sleep, waitForQuietMachine } from "./support.ts"

export interface Session<R> {
  readonly measure: (run: number) => Promise<R>
  readonly close: () => Promise<void>
}

export interface InterleaveTarget {
  readonly kind: ServerKind
  readonly server: { readonly alive: boolean }
  /** Problems seen during the bench, printed with the results. */
  readonly events: Array<string>
}

export interface InterleaveOptions {
  /** Longest wait for the machine to go quiet before each run; 0 = do not sample it. */
  readonly quietWaitMs: number
  /** Pause between runs, ms. */
  readonly pauseMs: number
}

/** A run result that says the session broke: later runs of it would only wait out deadlines. */
const failed = (res: unknown): boolean =>
  typeof res === "object" && res !== null && "error" in res && res.error !== undefined

export const interleaved = async <T extends InterleaveTarget, R>(
  name: string,
  targets: ReadonlyArray<T>,
  opts: InterleaveOptions,
  runs: number,
  open: (t: T) => Promise<Session<R>>
): Promise<Map<ServerKind, Array<R>>> => {
  const sessions = new Map<ServerKind, Session<R>>()
  const all: Array<Session<R>> = []
  const out = new Map<ServerKind, Array<R>>()
  try {
    for (const t of targets) {
      if (!t.server.alive) {
        t.events.push(`${name}: skipped, server not running`)
        continue
      }
      progress(`${name}: ${t.kind}: set up + warm-up`)
      try {
        const session = await open(t)
        all.push(session)
        sessions.set(t.kind, session)
        out.set(t.kind, [])
      } catch (e) {
        t.events.push(`${name}: set-up failed: ${errorText(e)}`)
      }
    }
    for (let r = 0; r < runs; r++) {
      for (const t of targets) {
        const session = sessions.get(t.kind)
        const results = out.get(t.kind)
        if (session === undefined || results === undefined) continue
        if (opts.quietWaitMs > 0) await waitForQuietMachine(opts.quietWaitMs, progress)
        progress(`${name}: ${t.kind}: run ${r + 1}/${runs}`)
        try {
          const res = await session.measure(r)
          results.push(res)
          if (failed(res)) sessions.delete(t.kind)
        } catch (e) {
          t.events.push(`${name}: run ${r + 1}: ${errorText(e)}`)
          sessions.delete(t.kind)
        }
        await sleep(opts.pauseMs)
      }
    }
  } finally {
    for (const [i, session] of all.entries()) {
      await session.close().catch((e: unknown) => {
        progress(`${name}: clean-up ${i}: ${errorText(e)}`)
      })
    }
  }
  return out
}

export const machineInfo = () => ({
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "?",
  node: process.version,
  platform: `${os.platform()} ${os.release()}`
})

/**
 * Runs a bench's main, prints a failure, always runs `cleanUp`, and exits: the status iterators of
 * closed clients and any stray timers must not keep the process alive.
 */
export const runBench = async (main: () => Promise<void>, cleanUp: () => void): Promise<never> => {
  try {
    await main()
  } catch (e) {
    process.stderr.write(`benchmark failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exitCode = 1
  } finally {
    cleanUp()
  }
  process.exit(process.exitCode ?? 0)
}
