/**
 * The pull request body of `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`, decoded like
 * nats-server 2.9.10's `nextReqFromMsg`, including the exact Go `encoding/json` error texts it
 * sends back in the `400 Bad Request` status (`goJsonSyntaxError` reproduces Go's syntax check).
 */
import {
  decodeBool,
  decodeInt,
  decodeString,
  foldKey,
  goQuote,
  INT64_MAX,
  INT64_MIN,
  ObjectLiteral,
  parseLiterals,
  TypeMismatch
} from "../codec/GoJson.ts"
import { decodeUtf8 } from "../codec/Json.ts"

const encoder = new TextEncoder()

/**
 * A decoded pull request. Values are passed through as nats-server 2.9.10 does: a JSON `batch` of
 * 0 (or absent) is 0 and a bare integer may be zero or negative; `expiresNs` 0 = no expiry.
 */
export interface PullRequest {
  readonly batch: number
  readonly expiresNs: number
  readonly noWait: boolean
  readonly maxBytes: number
  readonly heartbeatNs: number
  /**
   * 2.11 priority group members (nats-server's embedded `PriorityGroup`): present for every JSON
   * body, absent for an empty or integer body (Go's nil pointer), which the group rules let through.
   */
  readonly group?: PullGroup
}

export interface PullGroup {
  readonly group: string
  readonly minPending: number
  readonly minAckPending: number
  readonly id: string
  /** 0 (first) to 9: the order of service under the 2.12 `prioritized` policy (consumer/PullRequests.ts). */
  readonly priority: number
}

export type PullRequestResult =
  | { readonly ok: true; readonly request: PullRequest }
  | { readonly ok: false; readonly description: string }

// Go's bytes.TrimSpace set (unicode.IsSpace).
const GO_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "g")

/** Go's `quoteChar` for a byte in a JSON syntax error. */
const quoteByte = (b: number): string => {
  if (b === 0x27) return "'\\''"
  if (b === 0x22) return "'\"'"
  const q = goQuote(String.fromCharCode(b))
  return "'" + q.slice(1, -1) + "'"
}

/**
 * Go's `encoding/json` syntax check (`checkValid`) over the bytes: the error text it reports for
 * the first offending byte, or undefined when the document is valid.
 */
export const goJsonSyntaxError = (data: Uint8Array): string | undefined => {
  const len = data.length
  let i = 0
  const stack: Array<"object" | "array"> = []
  const err = (context: string): string =>
    i >= len ? "unexpected end of JSON input" : `invalid character ${quoteByte(data[i]!)} ${context}`
  // At the end of input Go's scanner steps a final ' ' through the state machine, so a number or
  // literal cut short reports that space ("invalid character ' ' in numeric literal").
  const inToken = (context: string): string => (i >= len ? `invalid character ' ' ${context}` : err(context))
  const ws = () => {
    while (i < len && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++
  }
  const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39
  const isHex = (b: number | undefined) =>
    b !== undefined && (isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46))

  // Returns an error text, or undefined after consuming one string.
  const string = (): string | undefined => {
    i++ // opening quote
    for (;;) {
      if (i >= len) return err("")
      const b = data[i]!
      if (b === 0x22) {
        i++
        return undefined
      }
      if (b === 0x5c) {
        i++
        if (i >= len) return err("")
        const e = data[i]!
        if (e === 0x75) {
          i++
          for (let k = 0; k < 4; k++, i++) {
            if (!isHex(data[i])) return err("in \\u hexadecimal character escape")
          }
          continue
        }
        if (![0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(e)) return err("in string escape code")
        i++
        continue
      }
      if (b < 0x20) return err("in string literal")
      i++
    }
  }

  const number = (): string | undefined => {
    if (data[i] === 0x2d) {
      i++
      if (!isDigit(data[i])) return inToken("in numeric literal")
    }
    if (data[i] === 0x30) i++
    else while (isDigit(data[i])) i++
    if (data[i] === 0x2e) {
      i++
      if (!isDigit(data[i])) return inToken("after decimal point in numeric literal")
      while (isDigit(data[i])) i++
    }
    if (data[i] === 0x65 || data[i] === 0x45) {
      i++
      if (data[i] === 0x2b || data[i] === 0x2d) i++
      if (!isDigit(data[i])) return inToken("in exponent of numeric literal")
      while (isDigit(data[i])) i++
    }
    return undefined
  }

  const literal = (word: string): string | undefined => {
    for (let k = 1; k < word.length; k++) {
      i++
      if (data[i] !== word.charCodeAt(k)) return inToken(`in literal ${word} (expecting '${word[k]}')`)
    }
    i++
    return undefined
  }

  // Parses one scalar, or opens a container (the loop below then expects its first member).
  let opened = false
  const value = (): string | undefined => {
    ws()
    const b = data[i]
    if (b === 0x7b || b === 0x5b) {
      stack.push(b === 0x7b ? "object" : "array")
      if (stack.length > 10000) return err("exceeded max depth")
      i++
      opened = true
      return undefined
    }
    if (b === 0x22) return string()
    if (b === 0x2d || isDigit(b)) return number()
    if (b === 0x74) return literal("true")
    if (b === 0x66) return literal("false")
    if (b === 0x6e) return literal("null")
    return err("looking for beginning of value")
  }

  const key = (): string | undefined => {
    ws()
    if (data[i] !== 0x22) return err("looking for beginning of object key string")
    const e = string()
    if (e !== undefined) return e
    ws()
    if (data[i] !== 0x3a) return err("after object key")
    i++
    return value()
  }

  let e = value()
  while (e === undefined) {
    ws()
    const top = stack[stack.length - 1]
    if (top === undefined) return i < len ? err("after top-level value") : undefined
    const b = data[i]
    const close = top === "object" ? 0x7d : 0x5d
    if (opened) {
      opened = false
      if (b === close) {
        i++
        stack.pop()
      } else {
        e = top === "object" ? key() : value()
      }
    } else if (b === 0x2c) {
      i++
      e = top === "object" ? key() : value()
    } else if (b === close) {
      i++
      stack.pop()
    } else {
      return err(top === "object" ? "after object key:value pair" : "after array element")
    }
  }
  return e
}

const PULL_FIELDS = [
  "expires",
  "batch",
  "max_bytes",
  "no_wait",
  "idle_heartbeat",
  "group",
  "min_pending",
  "min_ack_pending",
  "id",
  "priority"
] as const
const PULL_TYPES: Record<(typeof PULL_FIELDS)[number], string> = {
  expires: "time.Duration",
  batch: "int",
  max_bytes: "int",
  no_wait: "bool",
  idle_heartbeat: "time.Duration",
  group: "string",
  min_pending: "int64",
  min_ack_pending: "int64",
  id: "string",
  priority: "int"
}

/**
 * Pull request body: empty (batch 1), a bare integer (batch n; anything else unparsable is batch
 * 1), or JSON `{batch, expires, no_wait, max_bytes, idle_heartbeat}`. Invalid JSON gets
 * nats-server's `400 Bad Request - <Go error>` description text, as does a heartbeat more than
 * half the expiry ("heartbeat value too large").
 */
export const decodePullRequest = (body: Uint8Array): PullRequestResult => {
  const text = decodeUtf8(body).replace(TRIM, "")
  if (text === "") return { ok: true, request: { batch: 1, expiresNs: 0, noWait: false, maxBytes: 0, heartbeatNs: 0 } }
  if (!text.startsWith("{")) {
    const n = /^[+-]?\d+$/.test(text) ? BigInt(text) : undefined
    const batch = n !== undefined && n >= INT64_MIN && n <= INT64_MAX ? Number(n) : 1
    return { ok: true, request: { batch, expiresNs: 0, noWait: false, maxBytes: 0, heartbeatNs: 0 } }
  }
  const bytes = encoder.encode(text)
  const syntax = goJsonSyntaxError(bytes)
  if (syntax !== undefined) return { ok: false, description: `Bad Request - ${syntax}` }
  const parsed = parseLiterals(text)
  if (!parsed.ok || !(parsed.value instanceof ObjectLiteral)) {
    return { ok: false, description: "Bad Request - invalid JSON" }
  }
  const r = {
    expires: 0n,
    batch: 0n,
    max_bytes: 0n,
    no_wait: false,
    idle_heartbeat: 0n,
    group: "",
    min_pending: 0n,
    min_ack_pending: 0n,
    id: "",
    priority: 0n
  }
  // Go keeps decoding after an error and reports the first one; an unknown key is one too
  // (deliberately, as nats-server 2.12's strict mode; 2.9.10 ignores it).
  let first: TypeMismatch | { readonly unknown: string } | undefined
  for (const [key, v] of parsed.value.entries) {
    const field = PULL_FIELDS.find((n) => n === key) ?? PULL_FIELDS.find((n) => n === foldKey(key))
    if (field === undefined) {
      first ??= { unknown: key }
      continue
    }
    try {
      if (field === "no_wait") r.no_wait = decodeBool(v, field) ?? r.no_wait
      else if (field === "group" || field === "id") r[field] = decodeString(v, field) ?? r[field]
      else r[field] = decodeInt(v, field) ?? r[field]
    } catch (e) {
      if (!(e instanceof TypeMismatch)) throw e
      first ??= e
    }
  }
  if (first !== undefined && !(first instanceof TypeMismatch)) {
    return { ok: false, description: `Bad Request - json: unknown field ${goQuote(first.unknown)}` }
  }
  if (first !== undefined) {
    const type = PULL_TYPES[first.field as (typeof PULL_FIELDS)[number]]
    return {
      ok: false,
      description:
        `Bad Request - json: cannot unmarshal ${first.value} into Go struct field JSApiConsumerGetNextRequest.${first.field} of type ${type}`
    }
  }
  // Go multiplies in int64 (wrapping), so huge heartbeats can slip through; kept.
  if (r.idle_heartbeat > 0n && BigInt.asIntN(64, r.idle_heartbeat * 2n) > r.expires) {
    return { ok: false, description: "Bad Request - heartbeat value too large" }
  }
  return {
    ok: true,
    request: {
      batch: Number(r.batch),
      expiresNs: Number(r.expires),
      noWait: r.no_wait,
      maxBytes: Number(r.max_bytes),
      heartbeatNs: Number(r.idle_heartbeat),
      group: {
        group: r.group,
        minPending: Number(r.min_pending),
        minAckPending: Number(r.min_ack_pending),
        id: r.id,
        priority: Number(r.priority)
      }
    }
  }
}
