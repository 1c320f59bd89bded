/**
 * A conformance property: a fast-check arbitrary of client operations, a way to print them as a
 * replayable script, and a check that runs them over the wire against a JetStream server and throws
 * a `ConformanceViolation` when the server breaks the guarantee.
 */
import * as fc from "fast-check"

/** What every check gets: the server, a name generator for the resources it creates, the restart hook. */
export interface CheckContext {
  readonly url: string
  /** Shell command that kills the server with SIGKILL and starts it again (restart properties only). */
  readonly restartCmd: string | undefined
  /** A fresh, unique stream/bucket/consumer name (`<prefix><tag><random>`), safe on any server. */
  readonly name: (tag: string) => string
  /**
   * The implementation under test, for the documented per-server differences: "nats-server 2.9.10"
   * when INFO's `go` field is a Go version, else that field (e.g. "effect-jetstream 0.1.0 (node v20)").
   */
  readonly implementation: string
}

/** Thrown by a check when the server violates the property (anything else thrown is also a failure). */
export class ConformanceViolation extends Error {
  override readonly name = "ConformanceViolation"
}

export const violation = (message: string): never => {
  throw new ConformanceViolation(message)
}

export const expectEqual = (what: string, actual: unknown, expected: unknown): void => {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) violation(`${what}: expected ${e}, got ${a}`)
}

export const Cost = { fast: "fast", slow: "slow" } as const
export type Cost = (typeof Cost)[keyof typeof Cost]

export interface PropertySpec<A> {
  readonly name: string
  /** One sentence: the guarantee checked. */
  readonly description: string
  /** `slow` properties wait on server timers (ack_wait, max_age) and get a quarter of the runs. */
  readonly cost: Cost
  /** Needs `--restart-cmd`; skipped without it. */
  readonly needsRestart?: boolean
  /**
   * Where nats-server 2.9 and this broker legitimately differ for this property and how the
   * property handles it (printed in the report so a pass is never silently weaker).
   */
  readonly differences?: string
  readonly arbitrary: fc.Arbitrary<A>
  /** The generated case as a list of client operations, one per line. */
  readonly render: (a: A) => ReadonlyArray<string>
  readonly check: (ctx: CheckContext, a: A) => Promise<void>
}

export interface RunParams {
  readonly seed: number
  readonly numRuns: number
  readonly path?: string | undefined
  /** Stops generating (and shrinking) after this long; a failure found so far is still reported. */
  readonly timeLimitMs: number
}

export const Status = { passed: "passed", failed: "failed", skipped: "skipped" } as const
export type Status = (typeof Status)[keyof typeof Status]

export interface PropertyResult {
  readonly name: string
  readonly description: string
  readonly status: Status
  readonly durationMs: number
  readonly numRuns: number
  readonly seed: number
  /** fast-check path of the shrunk counterexample: `--seed <seed> --path <path>` replays it. */
  readonly path?: string
  /** The shrunk counterexample as client operations. */
  readonly counterexample?: ReadonlyArray<string>
  readonly error?: string
  readonly shrinks?: number
  readonly differences?: string
  readonly skippedReason?: string
}

export interface ConformanceProperty {
  readonly name: string
  readonly description: string
  readonly cost: Cost
  readonly needsRestart: boolean
  readonly differences: string | undefined
  readonly run: (ctx: CheckContext, params: RunParams) => Promise<PropertyResult>
}

const errorText = (e: unknown): string =>
  e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e)

export const define = <A>(spec: PropertySpec<A>): ConformanceProperty => ({
  name: spec.name,
  description: spec.description,
  cost: spec.cost,
  needsRestart: spec.needsRestart ?? false,
  differences: spec.differences,
  run: async (ctx, params) => {
    const started = Date.now()
    const prop = fc.asyncProperty(spec.arbitrary, (a) => spec.check(ctx, a))
    const details = await fc.check(prop, {
      seed: params.seed,
      numRuns: params.numRuns,
      ...(params.path !== undefined ? { path: params.path } : {}),
      interruptAfterTimeLimit: params.timeLimitMs,
      markInterruptAsFailure: false
    })
    const base = {
      name: spec.name,
      description: spec.description,
      durationMs: Date.now() - started,
      numRuns: details.numRuns,
      seed: details.seed,
      ...(spec.differences !== undefined ? { differences: spec.differences } : {})
    }
    if (!details.failed) return { ...base, status: Status.passed }
    const counterexample = details.counterexample === null ? undefined : spec.render(details.counterexample[0])
    return {
      ...base,
      status: Status.failed,
      path: details.counterexamplePath ?? "",
      ...(counterexample !== undefined ? { counterexample } : {}),
      error: details.errorInstance === null ? "failed" : errorText(details.errorInstance),
      shrinks: details.numShrinks
    }
  }
})
