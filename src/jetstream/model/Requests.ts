/**
 * Strict decoders for the small `$JS.API` request bodies (stream info / names / list / purge / msg
 * get / msg delete, consumer names / list, direct get), one per nats-server request struct
 * (`JSApiStreamPurgeRequest`, `JSApiMsgGetRequest`, ...). Each body is decoded once, before the
 * handler looks anything up or changes anything.
 *
 * Field types are what Go's `encoding/json` accepts for the struct's Go type (GoJson.ts): a
 * string for a uint64, a negative number, a fraction, an exponent or a number past the type's range
 * is "invalid JSON" (10025), as in nats-server 2.9.10; keys match case-insensitively; `null` keeps
 * the zero value; the first error in document order wins.
 *
 * Deliberate difference from 2.9.10 (which ignores them): an unknown key is refused the way
 * nats-server 2.12's strict mode does it, `invalid JSON: json: unknown field "<key>"` (10025).
 */
import {
  decodeBool,
  decodeInt,
  decodeString,
  decodeStrings,
  foldKey,
  goQuote,
  INT64_MAX,
  INT64_MIN,
  kindOf,
  ObjectLiteral,
  parseLiterals,
  TypeMismatch,
  UINT64_MAX
} from "../codec/GoJson.ts"
import { normalizeTime } from "../codec/GoTime.ts"
import { decodeUtf8 } from "../codec/Json.ts"
import { ApiError, ApiErrors } from "./ApiError.ts"

/** The Go type of a request field (`time`: a `*time.Time`, decoded to Unix ns or undefined for nil). */
type FieldType = "uint64" | "int" | "string" | "bool" | "strings" | "time"

type FieldValue<T extends FieldType> = T extends "string" ? string
  : T extends "bool" ? boolean
  : T extends "strings" ? Array<string>
  : T extends "time" ? bigint | undefined
  : bigint

type Decoded<F extends Record<string, FieldType>> = { -readonly [K in keyof F]: FieldValue<F[K]> }

/** nats-server 2.12 strict mode's answer to a key its struct does not have. */
export const unknownField = (key: string): ApiError =>
  new ApiError({ code: 400, err_code: 10025, description: `invalid JSON: json: unknown field ${goQuote(key)}` })

/** What a decoder reports: the struct, or why the body is not one. */
export type DecodeFailure =
  | { readonly _tag: "Syntax" } // not JSON, or not an object (nor null)
  | { readonly _tag: "Type" } // a value of the wrong type or range
  | { readonly _tag: "Unknown"; readonly key: string }

type AnyValue = string | boolean | bigint | Array<string> | undefined

const zeroOf = (t: FieldType): AnyValue =>
  t === "string" ? "" : t === "bool" ? false : t === "strings" ? [] : t === "time" ? undefined : 0n

// Go's time.Time UnmarshalJSON: a quoted RFC 3339 timestamp; the zero time is a set (non-nil) value.
const decodeTime = (v: unknown, key: string): bigint | undefined => {
  if (v === null) return undefined
  if (typeof v !== "string") throw new TypeMismatch(kindOf(v), key)
  const t = normalizeTime(v)
  if (t === undefined) throw new TypeMismatch("string", key)
  return t.ns
}

const decodeField = (t: FieldType, v: unknown, key: string): AnyValue => {
  switch (t) {
    case "strings":
      return decodeStrings(v, key) ?? []
    case "time":
      return decodeTime(v, key)
    case "uint64":
      return decodeInt(v, key, 0n, UINT64_MAX)
    case "int":
      return decodeInt(v, key, INT64_MIN, INT64_MAX)
    case "string":
      return decodeString(v, key)
    case "bool":
      return decodeBool(v, key)
  }
}

/**
 * `json.Unmarshal(body, &req)` with `DisallowUnknownFields`: the filled struct or the first
 * failure. Pure and synchronous; the caller picks the error code (API reply or status header).
 */
export const decodeStruct = <const F extends Record<string, FieldType>>(
  body: Uint8Array,
  fields: F
): { readonly ok: true; readonly value: Decoded<F> } | { readonly ok: false; readonly failure: DecodeFailure } => {
  const names = Object.keys(fields) as Array<keyof F & string>
  const value = {} as Record<string, unknown>
  for (const n of names) value[n] = zeroOf(fields[n]!)
  const parsed = parseLiterals(decodeUtf8(body))
  if (!parsed.ok) return { ok: false, failure: { _tag: "Syntax" } }
  if (parsed.value === null) return { ok: true, value: value as Decoded<F> }
  if (!(parsed.value instanceof ObjectLiteral)) return { ok: false, failure: { _tag: "Syntax" } }
  let first: DecodeFailure | undefined
  for (const [key, v] of parsed.value.entries) {
    const name = names.find((n) => n === key) ?? names.find((n) => n === foldKey(key))
    if (name === undefined) {
      first ??= { _tag: "Unknown", key }
      continue
    }
    try {
      const d = decodeField(fields[name]!, v, name)
      if (d !== undefined || fields[name] === "time") value[name] = d
    } catch (e) {
      if (!(e instanceof TypeMismatch)) throw e
      first ??= { _tag: "Type" }
    }
  }
  return first === undefined ? { ok: true, value: value as Decoded<F> } : { ok: false, failure: first }
}

/** The API reply's error for a decode failure: 10025 "invalid JSON" (with the key when unknown). */
export const invalidJson = (f: DecodeFailure): ApiError =>
  f._tag === "Unknown" ? unknownField(f.key) : ApiErrors.invalidJSON()

/**
 * nats-server's `isEmptyRequest`: no bytes, or a JSON object without members (whitespace allowed).
 * `null`, `[]` and anything unparsable are not empty.
 */
export const isEmptyRequest = (body: Uint8Array): boolean => {
  if (body.length === 0) return true
  if (body.length === 2 && body[0] === 0x7b && body[1] === 0x7d) return true
  const parsed = parseLiterals(decodeUtf8(body))
  return parsed.ok && parsed.value instanceof ObjectLiteral && parsed.value.entries.length === 0
}

const decodeApi = <const F extends Record<string, FieldType>>(body: Uint8Array, fields: F): Decoded<F> | ApiError => {
  const r = decodeStruct(body, fields)
  return r.ok ? r.value : invalidJson(r.failure)
}

/**
 * Sequences are exact JS numbers up to 2^53 (the store refuses to go past it); a larger u64 from a
 * request can only name a sequence beyond the end, which the nearest double still does.
 */
export const seqNumber = (n: bigint): number => Number(n)

/** `ApiPagedRequest.offset` is a Go `int`; 2.9.10 panics on a negative one (slice bounds), we refuse it. */
const checkOffset = <T extends { readonly offset: bigint }>(r: T | ApiError): T | ApiError =>
  r instanceof ApiError || r.offset >= 0n ? r : ApiErrors.badRequest()

const PURGE = { seq: "uint64", filter: "string", keep: "uint64" } as const
/** `no_hdr` (2.12, ADR-52): the reply's message has no `hdrs`. */
const MSG_GET = { seq: "uint64", last_by_subj: "string", next_by_subj: "string", no_hdr: "bool" } as const
const MSG_DELETE = { seq: "uint64", no_erase: "bool" } as const
const STREAM_INFO = { offset: "int", deleted_details: "bool", subjects_filter: "string" } as const
const STREAM_NAMES = { offset: "int", subject: "string" } as const
const CONSUMERS = { offset: "int" } as const

export type PurgeRequest = Decoded<typeof PURGE>
export type MsgGetRequest = Decoded<typeof MSG_GET>
export type MsgDeleteRequest = Decoded<typeof MSG_DELETE>
export type StreamInfoRequest = Decoded<typeof STREAM_INFO>
export type StreamNamesRequest = Decoded<typeof STREAM_NAMES>
export type ConsumersRequest = Decoded<typeof CONSUMERS>

/** STREAM.PURGE: an empty request purges everything; `seq` and `keep` together are a bad request. */
export const purgeRequest = (body: Uint8Array): PurgeRequest | ApiError => {
  if (isEmptyRequest(body)) return { seq: 0n, filter: "", keep: 0n }
  const r = decodeApi(body, PURGE)
  if (r instanceof ApiError) return r
  return r.seq > 0n && r.keep > 0n ? ApiErrors.badRequest() : r
}

/**
 * STREAM.MSG.GET: an empty request is a bad request, and so is a request that names no message or
 * two ways of finding it (seq with last_by_subj, last_by_subj with next_by_subj).
 */
export const msgGetRequest = (body: Uint8Array): MsgGetRequest | ApiError => {
  if (isEmptyRequest(body)) return ApiErrors.badRequest()
  const r = decodeApi(body, MSG_GET)
  if (r instanceof ApiError) return r
  return msgGetShapeError(r) ?? r
}

/** The combinations of a get request nats-server refuses (shared with direct get). */
export const msgGetShapeError = (r: MsgGetRequest): ApiError | undefined =>
  (r.seq > 0n && r.last_by_subj !== "") || (r.seq === 0n && r.last_by_subj === "" && r.next_by_subj === "") ||
    (r.last_by_subj !== "" && r.next_by_subj !== "")
    ? ApiErrors.badRequest()
    : undefined

/** STREAM.MSG.DELETE: an empty request is a bad request. */
export const msgDeleteRequest = (body: Uint8Array): MsgDeleteRequest | ApiError =>
  isEmptyRequest(body) ? ApiErrors.badRequest() : decodeApi(body, MSG_DELETE)

export const streamInfoRequest = (body: Uint8Array): StreamInfoRequest | ApiError =>
  isEmptyRequest(body)
    ? { offset: 0n, deleted_details: false, subjects_filter: "" }
    : checkOffset(decodeApi(body, STREAM_INFO))

/** STREAM.NAMES and STREAM.LIST (same struct shape: offset and a subject filter). */
export const streamNamesRequest = (body: Uint8Array): StreamNamesRequest | ApiError =>
  isEmptyRequest(body) ? { offset: 0n, subject: "" } : checkOffset(decodeApi(body, STREAM_NAMES))

/** CONSUMER.NAMES and CONSUMER.LIST. */
export const consumersRequest = (body: Uint8Array): ConsumersRequest | ApiError =>
  isEmptyRequest(body) ? { offset: 0n } : checkOffset(decodeApi(body, CONSUMERS))

/** STREAM.DELETE, CONSUMER.INFO, CONSUMER.DELETE (and, deliberately, account INFO) take no body. */
export const emptyRequest = (body: Uint8Array): ApiError | undefined =>
  isEmptyRequest(body) ? undefined : ApiErrors.notEmptyRequest()
