/**
 * `jetstream { limits { ... } }` (nats-server opts.go `parseJetStreamLimits`, `parseJetStreamLimitsBatch`).
 * The `batch {}` block (2.12) bounds atomic and fast-ingest batches: `max_inflight_per_stream`,
 * `max_inflight_total`, `max_msgs` (atomic batches only) and `timeout` (both kinds). nats-server keeps
 * its default for any value that is not positive; a negative value here is an error instead, so a
 * typo cannot silently mean "the default". The other limits (`max_ack_pending`, `max_ha_assets`,
 * `max_request_batch`, `duplicate_window`) are not enforced by this broker: accepted with a warning.
 */
import type { ConfigEntry, ConfigValue, Position } from "./ConfigLexer.ts"

/** `jetstream.limits.batch`: 0 keeps nats-server's default (see stream/BatchBudgets.ts). */
export interface BatchLimitSettings {
  readonly maxInflightPerStream: number
  readonly maxInflightTotal: number
  readonly maxMsgs: number
  readonly timeoutMs: number
}

export const DEFAULT_BATCH_LIMIT_SETTINGS: BatchLimitSettings = {
  maxInflightPerStream: 0,
  maxInflightTotal: 0,
  maxMsgs: 0,
  timeoutMs: 0
}

export interface LimitsIssues {
  readonly error: (pos: Position, message: string) => void
  readonly warn: (pos: Position, message: string) => void
}

const NOT_ENFORCED = new Set(["max_ack_pending", "max_ha_assets", "max_request_batch", "duplicate_window"])

const kind = (v: ConfigValue): string =>
  v._tag === "String" ? `a string (${JSON.stringify(v.value)})` : v._tag === "Integer" ? `an integer` : `a ${v._tag}`

/** The `limits` block: the batch settings it gives (undefined when it gives none or has errors). */
export const limitsBlock = (
  e: ConfigEntry,
  parseDuration: (s: string) => number | undefined,
  issues: LimitsIssues
): BatchLimitSettings | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `Expected a map to define JetStreamLimits, got ${kind(e.value)}`)
    return undefined
  }
  let batch: BatchLimitSettings | undefined
  for (const f of e.value.entries.values()) {
    const k = f.key.toLowerCase()
    if (k === "batch") batch = batchBlock(f, parseDuration, issues)
    else if (NOT_ENFORCED.has(k)) {
      issues.warn(f.keyPos, `jetstream.limits.${f.key} is not supported yet and is ignored`)
    } else if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
  }
  return batch
}

const batchBlock = (
  e: ConfigEntry,
  parseDuration: (s: string) => number | undefined,
  issues: LimitsIssues
): BatchLimitSettings | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `Expected a map to define batch limits, got ${kind(e.value)}`)
    return undefined
  }
  const out = { ...DEFAULT_BATCH_LIMIT_SETTINGS }
  let ok = true
  const bad = (f: ConfigEntry, message: string) => {
    ok = false
    issues.error(f.keyPos, `jetstream.limits.batch.${f.key}: ${message}`)
  }
  const count = (f: ConfigEntry): number => {
    if (f.value._tag !== "Integer") {
      bad(f, `expected an integer, got ${kind(f.value)}`)
      return 0
    }
    const n = f.value.value
    if (n < 0 || !Number.isSafeInteger(n)) bad(f, `must be 0 (nats-server's default) or a positive integer, got ${n}`)
    return n
  }
  for (const f of e.value.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "max_inflight_per_stream":
        out.maxInflightPerStream = count(f)
        break
      case "max_inflight_total":
        out.maxInflightTotal = count(f)
        break
      case "max_msgs":
        out.maxMsgs = count(f)
        break
      case "timeout": {
        // nats-server reads a duration string only (time.ParseDuration), not seconds as an integer.
        if (f.value._tag !== "String") {
          bad(f, `expected a duration such as "10s", got ${kind(f.value)}`)
          break
        }
        const ms = parseDuration(f.value.value)
        if (ms === undefined) bad(f, `invalid duration ${JSON.stringify(f.value.value)}`)
        else if (ms < 0) bad(f, `must not be negative, got ${JSON.stringify(f.value.value)}`)
        else out.timeoutMs = ms
        break
      }
      default:
        if (!f.usedAsVariable) {
          ok = false
          issues.error(f.keyPos, `unknown field "${f.key}"`)
        }
    }
  }
  return ok ? out : undefined
}
