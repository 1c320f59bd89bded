/**
 * Counter streams (ADR-49, nats-server 2.12 `allow_msg_counter`): a publish carries `Nats-Incr: <n>`
 * and no payload; the stream stores `{"val":"<total>"}`, the subject's previous total plus n, and
 * the PubAck reports the total. Plain functions over the header block, called from the stream
 * actor's publish path only when a message has headers or the stream counts.
 *
 * Sourced counters (a counter stream sourcing other counter streams) are aggregated by value, not
 * by increment: `Nats-Counter-Sources` (a JSON map stream → origin subject → last total seen) is
 * carried from message to message, and a sourced message adds the difference between its total and
 * the last one seen from that origin subject, so lost or repeated source messages never miscount.
 *
 * Totals are BigInt (nats-server uses big.Int): no limit at 2^53 or 2^64.
 */
import { Buffer } from "node:buffer"
import { headerValue } from "../../protocol/Headers.ts"
import type { StoredMessage } from "../../store/MessageLog.ts"
import { fromWire, toWire } from "../../subject/Subject.ts"
import { parseJson, quoteJson } from "../codec/Json.ts"
import { type ApiError, ApiErrors } from "../model/ApiError.ts"

export const INCR_HEADER = "Nats-Incr"
export const COUNTER_SOURCES_HEADER = "Nats-Counter-Sources"
const SOURCE_HEADER = "Nats-Stream-Source"

/** Go's `big.Int.SetString(s, 10)`: an optional sign, then decimal digits (no `_`, no spaces). */
const DECIMAL = /^[+-]?[0-9]+$/

/**
 * Headers an increment may not carry (nats-server: they would make the total depend on state the
 * increment cannot see, or throw the counter away).
 */
const INCOMPATIBLE = [
  "Nats-Rollup",
  "Nats-Expected-Stream",
  "Nats-Expected-Last-Msg-Id",
  "Nats-Expected-Last-Subject-Sequence-Subject",
  "Nats-Expected-Last-Sequence",
  "Nats-Expected-Last-Subject-Sequence"
] as const

/**
 * The increment of a publish with headers, checked as nats-server's processJetStreamMsg does
 * before any other header: an unparsable `Nats-Incr` is refused everywhere; a client's increment
 * needs a counter stream, an empty payload and none of the INCOMPATIBLE headers. A sourced one is
 * taken as is (a non-counter stream stores it verbatim). `undefined`: no increment.
 */
export const checkIncrement = (
  hdr: Uint8Array,
  payloadLength: number,
  counterStream: boolean,
  sourced: boolean
): bigint | undefined | ApiError => {
  const text = headerValue(hdr, INCR_HEADER)
  // nats-server treats an empty value as no header.
  if (text === undefined || text === "") return undefined
  if (!DECIMAL.test(text)) return ApiErrors.messageIncrInvalid()
  if (sourced) return BigInt(text)
  if (!counterStream) return ApiErrors.messageIncrDisabled()
  if (payloadLength > 0) return ApiErrors.messageIncrPayload()
  for (const h of INCOMPATIBLE) {
    const v = headerValue(hdr, h)
    if (v !== undefined && v !== "") return ApiErrors.messageIncrInvalid()
  }
  // Deviation (nats-server main refuses it on every stream, 2.12 takes it for a sourced message and
  // finds the counter broken): only the server may say where a count comes from.
  if (headerValue(hdr, SOURCE_HEADER) !== undefined) return ApiErrors.messageSourceHdrNotAllowed()
  return BigInt(text)
}

/** What a counter stream stores for a publish, and the total its PubAck reports. */
export interface Counted {
  readonly hdr: Uint8Array
  readonly data: Uint8Array
  readonly val: string
}

/** stream → origin subject → last total seen (`null` where the JSON had it, kept as Go does). */
type CounterSources = Map<string, Map<string, string> | null>

/**
 * The message a counter stream stores for an increment on `subject` whose last message is `last`
 * (nats-server processJetStreamMsg after its header checks). `originSubject` is set for a sourced
 * message: the subject it had in its origin stream (named by its `Nats-Stream-Source`).
 */
export const applyIncrement = (
  last: Pick<StoredMessage, "hdr" | "data"> | undefined,
  hdr: Uint8Array | undefined,
  data: Uint8Array,
  incr: bigint | undefined,
  originSubject: string | undefined
): Counted | ApiError => {
  if (incr === undefined || hdr === undefined) return ApiErrors.messageIncrMissing()
  let total = 0n
  let sources: CounterSources | undefined
  if (last !== undefined) {
    const val = counterValue(last.data)
    if (val === undefined) return ApiErrors.messageCounterBroken()
    total = toBigInt(val)
    const carried = last.hdr === undefined ? undefined : headerValue(last.hdr, COUNTER_SOURCES_HEADER)
    if (carried !== undefined && carried !== "") {
      sources = parseSources(carried)
      if (sources === undefined) return ApiErrors.messageCounterBroken()
    }
  }
  let out = hdr
  if (originSubject !== undefined) {
    const stream = (headerValue(hdr, SOURCE_HEADER) ?? "").split(" ")[0]!
    const val = counterValue(data)
    if (val === undefined) return ApiErrors.messageCounterBroken()
    const sourcedTotal = toBigInt(val)
    sources ??= new Map()
    let seen = sources.get(stream) ?? null
    if (seen === null) {
      seen = new Map()
      sources.set(stream, seen)
    }
    const previous = toBigInt(seen.get(originSubject) ?? "")
    seen.set(originSubject, sourcedTotal.toString())
    // The sourced increment becomes what this stream actually adds, so a recount of this stream's
    // Nats-Incr headers still gives its total.
    incr = sourcedTotal - previous
    out = setHeader(out, INCR_HEADER, incr.toString())
  }
  total += incr
  if (sources !== undefined && sources.size > 0) out = setHeader(out, COUNTER_SOURCES_HEADER, encodeSources(sources))
  const text = total.toString()
  return { hdr: out, data: Buffer.from(`{"val":"${text}"}`, "latin1"), val: text }
}

/**
 * `json.Unmarshal(body, &CounterValue{})`: any object (keys folded as Go matches fields; the last
 * match wins), `null` (no value); a `val` that is not a string, or anything else, is an error.
 */
const counterValue = (body: Uint8Array): string | undefined => {
  const v = parseJson(fromWire(Buffer.from(body.buffer, body.byteOffset, body.length).toString("latin1")))
  if (v === null) return ""
  if (typeof v !== "object" || Array.isArray(v)) return undefined
  let val = ""
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k.toLowerCase() !== "val") continue
    if (x === null) continue
    if (typeof x !== "string") return undefined
    val = x
  }
  return val
}

/** big.Int SetString, whose failure leaves nats-server's total at zero. */
const toBigInt = (s: string): bigint => (DECIMAL.test(s) ? BigInt(s) : 0n)

/** `json.Unmarshal` into `map[string]map[string]string`; keys and values in wire form. */
const parseSources = (header: string): CounterSources | undefined => {
  const v = parseJson(fromWire(header))
  const out: CounterSources = new Map()
  if (v === null) return out
  if (typeof v !== "object" || Array.isArray(v)) return undefined
  for (const [stream, subjects] of Object.entries(v as Record<string, unknown>)) {
    if (subjects === null) {
      out.set(toWire(stream), null)
      continue
    }
    if (typeof subjects !== "object" || Array.isArray(subjects)) return undefined
    const m = new Map<string, string>()
    for (const [subject, total] of Object.entries(subjects as Record<string, unknown>)) {
      // Go leaves a map entry decoded from null at the zero value.
      if (total !== null && typeof total !== "string") return undefined
      m.set(toWire(subject), total ?? "")
    }
    out.set(toWire(stream), m)
  }
  return out
}

/** `json.Marshal` of the map: keys sorted bytewise (the wire form is the bytes), Go's escaping. */
const encodeSources = (sources: CounterSources): string =>
  `{${
    [...sources].sort(byKey).map(([stream, subjects]) =>
      `${quote(stream)}:${
        subjects === null
          ? "null"
          : `{${[...subjects].sort(byKey).map(([s, t]) => `${quote(s)}:${quote(t)}`).join(",")}}`
      }`
    ).join(",")
  }}`

const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0)
const quote = (wire: string): string => toWire(quoteJson(fromWire(wire)))

/**
 * nats-server setHeader: the first `key` line gets `value` (one space after the colon kept), or
 * the line is added at the end of the block.
 */
const setHeader = (hdr: Uint8Array, key: string, value: string): Uint8Array => {
  const block = Buffer.from(hdr.buffer, hdr.byteOffset, hdr.length).toString("latin1")
  const lines = block.split("\r\n")
  const at = lines.findIndex((l, i) => i > 0 && l.startsWith(`${key}:`))
  if (at > 0) {
    const rest = lines[at]!.slice(key.length + 1)
    lines[at] = `${key}:${rest.startsWith(" ") ? " " : ""}${value}`
    return Buffer.from(lines.join("\r\n"), "latin1")
  }
  const head = block.endsWith("\r\n") ? block.slice(0, -2) : block
  return Buffer.from(`${head}${key}: ${value}\r\n\r\n`, "latin1")
}
