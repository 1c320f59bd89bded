/**
 * What nats-server's monitoring handlers put on the wire, reproduced: `json.MarshalIndent(v, "", "  ")`
 * (Go's escaping, bigint for uint64 values past 2^53), the `myUptime` duration form, `time.Time`
 * as RFC 3339 with nanoseconds, and the query decoding errors of `decodeBool`/`decodeInt`.
 */
import { encodeScalar, formatTime, quoteJson } from "../jetstream/codec/Json.ts"

/** Go's `json.MarshalIndent(v, "", "  ")`: keys in insertion order, `undefined` values omitted. */
export const encodeIndent = (value: unknown, indent = ""): string => {
  // Monitoring never carries -0 or non-finite numbers; the shared scalar encoding applies.
  const scalar = encodeScalar(value)
  if (scalar !== undefined) return scalar
  if (value === null || value === undefined) return "null"
  const inner = indent + "  "
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]"
    return "[\n" + value.map((v) => inner + encodeIndent(v, inner)).join(",\n") + "\n" + indent + "]"
  }
  const parts: Array<string> = []
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue
    parts.push(inner + quoteJson(k) + ": " + encodeIndent(v, inner))
  }
  return parts.length === 0 ? "{}" : "{\n" + parts.join(",\n") + "\n" + indent + "}"
}

/** nats-server `myUptime`: whole seconds as `1y2d3h4m5s`, leading zero units dropped. */
export const uptime = (ms: number): string => {
  const tsecs = Math.max(0, Math.floor(ms / 1000))
  const tmins = Math.floor(tsecs / 60)
  const thrs = Math.floor(tmins / 60)
  const tdays = Math.floor(thrs / 24)
  const tyrs = Math.floor(tdays / 365)
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`
  return `${tsecs}s`
}

/** A millisecond timestamp as Go's `time.Time` JSON (UTC, trailing zeros trimmed). */
export const timeMs = (ms: number): string => formatTime(BigInt(Math.floor(ms)) * 1_000_000n)

/** Go `time.Duration` JSON: integer nanoseconds. */
export const durationNs = (ms: number): number => ms * 1_000_000

/** A bad query: answered 400 with `message` as nats-server words it. */
export class QueryError {
  readonly message: string
  /** True when nats-server rejects it after counting the request in http_req_stats (checks inside Connz). */
  readonly counted: boolean
  constructor(message: string, counted = false) {
    this.message = message
    this.counted = counted
  }
}

const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"])
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"])

/** nats-server `decodeBool` (`strconv.ParseBool`); absent or empty is false. */
export const queryBool = (q: URLSearchParams, name: string): boolean | QueryError => {
  const s = q.get(name) ?? ""
  if (s === "" || GO_FALSE.has(s)) return false
  if (GO_TRUE.has(s)) return true
  return new QueryError(
    `Error decoding boolean for '${name}': strconv.ParseBool: parsing ${quoteGo(s)}: invalid syntax`
  )
}

/** nats-server `decodeInt` (`strconv.Atoi`); absent or empty is 0. */
export const queryInt = (q: URLSearchParams, name: string): number | QueryError => {
  const s = q.get(name) ?? ""
  if (s === "") return 0
  if (!/^[+-]?\d+$/.test(s)) {
    return new QueryError(`Error decoding int for '${name}': strconv.Atoi: parsing ${quoteGo(s)}: invalid syntax`)
  }
  const n = Number(s)
  if (!Number.isSafeInteger(n)) {
    return new QueryError(`Error decoding int for '${name}': strconv.Atoi: parsing ${quoteGo(s)}: value out of range`)
  }
  return n
}

// Go's %q for the plain ASCII values a query holds; JSON quoting is the same for those.
const quoteGo = (s: string): string => JSON.stringify(s)
