/**
 * `runConformance`: runs every property (or a selection) against one JetStream server, sequentially.
 */
import { connect } from "@nats-io/transport-node"
import { atLeastOnce, firstDeliveryOrder } from "./Delivery.ts"
import { kvCas } from "./Kv.ts"
import { limits, maxAge } from "./Limits.ts"
import type { CheckContext, ConformanceProperty, PropertyResult } from "./Property.ts"
import { dedup, expectedHeaders, publishSequence } from "./Publish.ts"
import { replayBySequence, replayByTime } from "./Replay.ts"
import type { Report } from "./Report.ts"
import { restartDurability } from "./Restart.ts"
import { interestRetention, workqueueExactlyOnce } from "./Retention.ts"
import { randomTag } from "./Wire.ts"

/** Every property, in report order. */
export const properties: ReadonlyArray<ConformanceProperty> = [
  publishSequence,
  dedup,
  expectedHeaders,
  limits,
  maxAge,
  replayBySequence,
  replayByTime,
  atLeastOnce,
  firstDeliveryOrder,
  workqueueExactlyOnce,
  interestRetention,
  kvCas,
  restartDurability
]

export interface ConformanceOptions {
  /** `nats://host:port` of the server under test. */
  readonly server: string
  /** Shell command that kill -9s the server and starts it again; enables the restart property. */
  readonly restartCmd?: string | undefined
  /** fast-check seed (random when omitted). */
  readonly seed?: number | undefined
  /** fast-check path of a counterexample to replay (use with `seed` and `only`). */
  readonly path?: string | undefined
  /** Runs per property (default 20; properties that wait on server timers get a quarter). */
  readonly runs?: number | undefined
  /** Only these properties (by name). */
  readonly only?: ReadonlyArray<string> | undefined
  /** Time limit per property, default 60 s; shrinking stops there with the best counterexample found. */
  readonly timeLimitMs?: number | undefined
  /** Prefix of every stream/bucket name created (default `CONF_`). */
  readonly prefix?: string | undefined
  /** Called after each property (progress output). */
  readonly onResult?: ((r: PropertyResult) => void) | undefined
}

export const DEFAULT_RUNS = 20

const serverInfo = async (url: string): Promise<{ implementation: string; version: string } | undefined> => {
  try {
    const nc = await connect({ servers: url, reconnect: false, timeout: 5_000 })
    const info = nc.info
    await nc.close()
    if (info === undefined) return undefined
    // nats-server reports its Go runtime in `go`; other implementations (this broker) name themselves there.
    const go = (info as { go?: string }).go ?? ""
    const implementation = /^go\d/.test(go) || go === "" ? `nats-server ${info.version}` : go
    return { implementation, version: info.version }
  } catch {
    return undefined
  }
}

export const runConformance = async (options: ConformanceOptions): Promise<Report> => {
  const started = Date.now()
  const seed = options.seed ?? (Math.random() * 0x7fffffff) | 0
  const runs = Math.max(1, options.runs ?? DEFAULT_RUNS)
  const unknown = (options.only ?? []).filter((n) => !properties.some((p) => p.name === n))
  if (unknown.length > 0) throw new Error(`unknown property: ${unknown.join(", ")}`)
  const selected = properties.filter((p) => options.only === undefined || options.only.includes(p.name))
  const prefix = options.prefix ?? "CONF_"
  const info = await serverInfo(options.server)
  if (info === undefined) throw new Error(`cannot connect to ${options.server}`)
  const ctx: CheckContext = {
    url: options.server,
    restartCmd: options.restartCmd,
    name: (tag) => `${prefix}${tag}_${randomTag()}`,
    implementation: info.implementation
  }
  const results: Array<PropertyResult> = []
  for (const p of selected) {
    let result: PropertyResult
    if (p.needsRestart && options.restartCmd === undefined) {
      result = {
        name: p.name,
        description: p.description,
        status: "skipped",
        durationMs: 0,
        numRuns: 0,
        seed,
        skippedReason: "needs --restart-cmd",
        ...(p.differences !== undefined ? { differences: p.differences } : {})
      }
    } else {
      result = await p.run(ctx, {
        seed,
        numRuns: p.needsRestart
          ? Math.max(1, Math.ceil(runs / 10))
          : p.cost === "slow"
          ? Math.max(1, Math.ceil(runs / 4))
          : runs,
        path: options.path,
        timeLimitMs: options.timeLimitMs ?? 60_000
      })
    }
    results.push(result)
    options.onResult?.(result)
  }
  return {
    server: options.server,
    serverVersion: `${info.implementation}, INFO version ${info.version}`,
    seed,
    durationMs: Date.now() - started,
    passed: results.filter((r) => r.status === "passed").length,
    failed: results.filter((r) => r.status === "failed").length,
    skipped: results.filter((r) => r.status === "skipped").length,
    properties: results
  }
}
