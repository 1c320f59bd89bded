/**
 * JSON and time helpers that reproduce what nats-server (Go `encoding/json`, `time.Time`) puts on
 * the wire, so replies can be compared byte for byte:
 *
 * - `encodeJson` writes bigint as plain integers (u64 sequences past 2^53) and escapes strings the
 *   way Go's encoder does (`<` `>` `&` U+2028 U+2029 as `\u003c`…, other control characters as
 *   `\u00XX` except `\n` `\r` `\t`; lone surrogates become U+FFFD).
 * - `parseJson` is a strict RFC 8259 parser that keeps integers beyond 2^53 as bigint. Invalid JSON
 *   yields `undefined` (never a valid result, since JSON has no `undefined`). `parseJsonWith` exposes
 *   hooks for decoders that need the literal text of numbers or the ordered keys of objects (Go
 *   semantics: `1.0` is not an int, duplicate keys apply in order).
 * - `formatTime` writes RFC 3339 with nanoseconds (`parseTime` in GoTime.ts reads it); `0n` stands for
 *   Go's zero time.
 */

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const HEX = "0123456789abcdef"

// Anything Go's encoder (with HTML escaping, Go < 1.22 as nats-server 2.9.10 is built) writes
// differently from the character itself, plus surrogates (checked for pairing below).
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029\ud800-\udfff]/

const escapeChar = (c: number): string => {
  switch (c) {
    case 0x22:
      return "\\\""
    case 0x5c:
      return "\\\\"
    case 0x0a:
      return "\\n"
    case 0x0d:
      return "\\r"
    case 0x09:
      return "\\t"
    default:
      return "\\u" + HEX[(c >> 12) & 15] + HEX[(c >> 8) & 15] + HEX[(c >> 4) & 15] + HEX[c & 15]
  }
}

/** A JSON string literal for `s`, escaped exactly like Go's `encoding/json` does it. */
export const quoteJson = (s: string): string => {
  if (!NEEDS_ESCAPE.test(s)) return "\"" + s + "\""
  let out = "\""
  let start = 0
  const len = s.length
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i)
    let rep: string | undefined
    if (
      c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029
    ) {
      rep = escapeChar(c)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < len ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++ // a valid pair: copied through below
        continue
      }
      rep = "\\ufffd" // Go writes invalid UTF-8 as the replacement character
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep
      start = i + 1
    }
  }
  return out + s.slice(start) + "\""
}

const encodeNumber = (n: number): string => {
  if (!Number.isFinite(n)) return "null" // JSON.stringify's choice; Go would refuse to encode
  if (Object.is(n, -0)) return "-0" // Go keeps the sign of negative zero
  // JS and Go switch to exponent form at the same thresholds (< 1e-6, >= 1e21) and both print the
  // shortest round-tripping digits, so String() matches Go's float encoding.
  return String(n)
}

/** A string, number, bigint or boolean as Go encodes it; undefined for anything else. */
export const encodeScalar = (value: unknown): string | undefined => {
  switch (typeof value) {
    case "string":
      return quoteJson(value)
    case "number":
      return encodeNumber(value)
    case "bigint":
      return value.toString()
    case "boolean":
      return value ? "true" : "false"
    default:
      return undefined
  }
}

const encodeValue = (value: unknown, inArray: boolean): string | undefined => {
  const scalar = encodeScalar(value)
  if (scalar !== undefined) return scalar
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return inArray ? "null" : undefined
  }
  if (value === null) return "null"
  const withToJson = value as { toJSON?: unknown }
  if (typeof withToJson.toJSON === "function") {
    return encodeValue((withToJson.toJSON as () => unknown).call(value), inArray)
  }
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ","
      out += encodeValue(value[i], true)
    }
    return out + "]"
  }
  const record = value as Record<string, unknown>
  let out = "{"
  let first = true
  for (const key of Object.keys(record)) {
    const v = encodeValue(record[key], false)
    if (v === undefined) continue
    out += (first ? "" : ",") + quoteJson(key) + ":" + v
    first = false
  }
  return out + "}"
}

/**
 * `JSON.stringify` without whitespace, except that bigint values are written as JSON integers and
 * strings are escaped like Go's `encoding/json`. `undefined` at the top level encodes as `null`.
 *
 * @example encodeJson({ seq: 2n ** 64n - 1n, s: "<a>" }) // '{"seq":18446744073709551615,"s":"\u003ca\u003e"}'
 */
export const encodeJson = (value: unknown): string => encodeValue(value, true) ?? "null"

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

export interface ParseHooks {
  /** Builds a value from a number's literal text (already validated against the JSON grammar). */
  readonly number?: (literal: string) => unknown
  /** Builds a value from an object's members in source order, duplicates included. */
  readonly object?: (entries: Array<readonly [string, unknown]>) => unknown
}

export type ParseResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly offset: number; readonly reason: string }

/** Default number hook: plain number, or bigint for an integer literal outside the safe range. */
export const numberFromLiteral = (literal: string): number | bigint => {
  const n = Number(literal)
  if (Number.isSafeInteger(n)) return n
  for (let i = 0; i < literal.length; i++) {
    const c = literal.charCodeAt(i)
    if (c === 0x2e || c === 0x65 || c === 0x45) return n // has a fraction or exponent: a float
  }
  return BigInt(literal)
}

const objectFromEntries = (entries: Array<readonly [string, unknown]>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of entries) {
    if (k === "__proto__") {
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    } else {
      out[k] = v
    }
  }
  return out
}

// Go's decoder refuses nesting deeper than this; keeping the same limit keeps errors identical.
const MAX_DEPTH = 10000

interface Frame {
  readonly array: boolean
  readonly items: Array<unknown>
  readonly entries: Array<readonly [string, unknown]>
  key: string
}

class Failure {
  readonly offset: number
  readonly reason: string
  constructor(offset: number, reason: string) {
    this.offset = offset
    this.reason = reason
  }
}

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
const isDigit = (c: number) => c >= 0x30 && c <= 0x39

/**
 * Parses `text` (a whole JSON document) with optional hooks. Iterative, so deep nesting cannot
 * overflow the stack. Lone UTF-16 surrogates (escaped or raw) become U+FFFD, as in Go.
 */
export const parseJsonWith = (text: string, hooks: ParseHooks = {}): ParseResult => {
  const num = hooks.number ?? numberFromLiteral
  const obj = hooks.object ?? objectFromEntries
  const len = text.length
  let pos = 0

  const fail = (reason: string): never => {
    throw new Failure(pos, reason)
  }
  const skipWs = () => {
    while (pos < len && isWs(text.charCodeAt(pos))) pos++
  }
  const literal = (word: string) => {
    if (text.startsWith(word, pos)) pos += word.length
    else fail("invalid literal")
  }
  const readNumber = (): unknown => {
    const start = pos
    if (text.charCodeAt(pos) === 0x2d) pos++
    if (text.charCodeAt(pos) === 0x30) {
      pos++
    } else if (isDigit(text.charCodeAt(pos))) {
      while (isDigit(text.charCodeAt(pos))) pos++
    } else {
      fail("invalid number")
    }
    if (text.charCodeAt(pos) === 0x2e) {
      pos++
      if (!isDigit(text.charCodeAt(pos))) fail("invalid number")
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    const e = text.charCodeAt(pos)
    if (e === 0x65 || e === 0x45) {
      pos++
      const sign = text.charCodeAt(pos)
      if (sign === 0x2b || sign === 0x2d) pos++
      if (!isDigit(text.charCodeAt(pos))) fail("invalid number")
      while (isDigit(text.charCodeAt(pos))) pos++
    }
    return num(text.slice(start, pos))
  }
  const hex4 = (): number => {
    let v = 0
    for (let i = 0; i < 4; i++) {
      const c = text.charCodeAt(pos++)
      const d = c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
        ? c - 0x57
        : c >= 0x41 && c <= 0x46
        ? c - 0x37
        : -1
      if (d < 0) fail("invalid \\u escape")
      v = v * 16 + d
    }
    return v
  }
  const readString = (): string => {
    pos++ // opening quote
    let out = ""
    let start = pos
    for (;;) {
      if (pos >= len) fail("unterminated string")
      const c = text.charCodeAt(pos)
      if (c === 0x22) {
        out += text.slice(start, pos)
        pos++
        return out
      }
      if (c < 0x20) fail("control character in string")
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = pos + 1 < len ? text.charCodeAt(pos + 1) : 0
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          pos += 2
        } else {
          out += text.slice(start, pos) + "\ufffd"
          pos++
          start = pos
        }
        continue
      }
      if (c !== 0x5c) {
        pos++
        continue
      }
      out += text.slice(start, pos)
      pos++
      const esc = text.charCodeAt(pos++)
      switch (esc) {
        case 0x22:
          out += "\""
          break
        case 0x5c:
          out += "\\"
          break
        case 0x2f:
          out += "/"
          break
        case 0x62:
          out += "\b"
          break
        case 0x66:
          out += "\f"
          break
        case 0x6e:
          out += "\n"
          break
        case 0x72:
          out += "\r"
          break
        case 0x74:
          out += "\t"
          break
        case 0x75: {
          const u = hex4()
          if (u >= 0xd800 && u <= 0xdbff && text.charCodeAt(pos) === 0x5c && text.charCodeAt(pos + 1) === 0x75) {
            const save = pos
            pos += 2
            const low = hex4()
            if (low >= 0xdc00 && low <= 0xdfff) {
              out += String.fromCharCode(u, low)
              break
            }
            pos = save // not a pair: the high half is replaced, the next escape read on its own
          }
          out += u >= 0xd800 && u <= 0xdfff ? "\ufffd" : String.fromCharCode(u)
          break
        }
        default:
          pos--
          fail("invalid escape")
      }
      start = pos
    }
  }

  try {
    const stack: Array<Frame> = []
    let value: unknown
    skipWs()
    for (;;) {
      // Read one value (or open a container) at `pos`.
      let c = text.charCodeAt(pos)
      let opened = false
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= MAX_DEPTH) fail("exceeded max depth")
        pos++
        skipWs()
        const frame: Frame = { array: c === 0x5b, items: [], entries: [], key: "" }
        const close = frame.array ? 0x5d : 0x7d
        if (text.charCodeAt(pos) === close) {
          pos++
          value = frame.array ? frame.items : obj(frame.entries)
        } else {
          stack.push(frame)
          opened = true
          if (!frame.array) {
            if (text.charCodeAt(pos) !== 0x22) fail("expected object key")
            frame.key = readString()
            skipWs()
            if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'")
            pos++
            skipWs()
          }
        }
      } else if (c === 0x22) {
        value = readString()
      } else if (c === 0x74) {
        literal("true")
        value = true
      } else if (c === 0x66) {
        literal("false")
        value = false
      } else if (c === 0x6e) {
        literal("null")
        value = null
      } else if (c === 0x2d || isDigit(c)) {
        value = readNumber()
      } else {
        fail(pos >= len ? "unexpected end of JSON input" : "invalid character")
      }
      if (opened) continue
      // Attach `value` to the enclosing containers, closing as many as end here.
      for (;;) {
        const frame = stack[stack.length - 1]
        if (frame === undefined) {
          skipWs()
          if (pos < len) fail("invalid character after top-level value")
          return { ok: true, value }
        }
        if (frame.array) frame.items.push(value)
        else frame.entries.push([frame.key, value])
        skipWs()
        c = text.charCodeAt(pos)
        if (c === 0x2c) {
          pos++
          skipWs()
          if (!frame.array) {
            if (text.charCodeAt(pos) !== 0x22) fail("expected object key")
            frame.key = readString()
            skipWs()
            if (text.charCodeAt(pos) !== 0x3a) fail("expected ':'")
            pos++
            skipWs()
          }
          break
        }
        if (c === (frame.array ? 0x5d : 0x7d)) {
          pos++
          stack.pop()
          value = frame.array ? frame.items : obj(frame.entries)
          continue
        }
        fail("expected ',' or closing bracket")
      }
    }
  } catch (e) {
    if (e instanceof Failure) return { ok: false, offset: e.offset, reason: e.reason }
    throw e
  }
}

/**
 * Parses a JSON document; integers outside ±(2^53-1) come back as bigint, everything else as
 * `JSON.parse` would give it. Returns `undefined` for invalid JSON (including trailing garbage,
 * a leading BOM, or an empty text).
 */
export const parseJson = (text: string): unknown => {
  const r = parseJsonWith(text)
  return r.ok ? r.value : undefined
}

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true })

/** Request bodies arrive as bytes; invalid UTF-8 becomes U+FFFD like Go's decoder. BOM kept (Go rejects it). */
export const decodeUtf8 = (body: Uint8Array | string): string => (typeof body === "string" ? body : utf8.decode(body))

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

const NS_PER_SEC = 1_000_000_000n
export const GO_ZERO_TIME = "0001-01-01T00:00:00Z"

/**
 * RFC 3339 with up to nanosecond precision in UTC, as Go's `time.Time.MarshalJSON` writes it:
 * trailing zeros of the fraction trimmed, no fraction when it is zero. `0n` is Go's zero time
 * (`"0001-01-01T00:00:00Z"`, what nats-server shows for e.g. `first_ts` of an empty stream).
 *
 * @example formatTime(1795306963454420000n) // "2026-11-22T00:22:43.45442Z"
 */
const lastSecond: { sec: bigint; text: string } = { sec: -1n, text: "" }

export const formatTime = (tsNs: bigint): string => {
  if (tsNs === 0n) return GO_ZERO_TIME
  let sec = tsNs / NS_PER_SEC
  let frac = tsNs % NS_PER_SEC
  if (frac < 0n) {
    frac += NS_PER_SEC
    sec -= 1n
  }
  // Timestamps formatted in a row (direct gets, message lists) mostly share their second: keep its text.
  if (sec !== lastSecond.sec) {
    lastSecond.sec = sec
    lastSecond.text = new Date(Number(sec) * 1000).toISOString().slice(0, 19)
  }
  const base = lastSecond.text
  if (frac === 0n) return base + "Z"
  return base + "." + frac.toString().padStart(9, "0").replace(/0+$/, "") + "Z"
}

/**
 * Go's `time.Duration.String()` for nanoseconds ("1.5s", "100ms", "2m0s", "1h0m0s"), which
 * nats-server puts into some status texts (e.g. "Exceeded MaxRequestExpires of 1s").
 */
export const goDurationString = (ns: number): string => {
  if (ns === 0) return "0s"
  const neg = ns < 0
  const u = Math.abs(ns)
  const sign = neg ? "-" : ""
  const frac = (v: number, digits: number) => {
    // Integer part and a trimmed fraction of `digits` decimals.
    const s = String(v).padStart(digits + 1, "0")
    const whole = s.slice(0, s.length - digits)
    const f = s.slice(s.length - digits).replace(/0+$/, "")
    return f === "" ? whole : `${whole}.${f}`
  }
  if (u < 1000) return `${sign}${u}ns`
  if (u < 1_000_000) return `${sign}${frac(u, 3)}µs`
  if (u < 1_000_000_000) return `${sign}${frac(u, 6)}ms`
  const totalSec = Math.floor(u / 1e9)
  const subNs = u - totalSec * 1e9
  const h = Math.floor(totalSec / 3600)
  const m = Math.floor((totalSec % 3600) / 60)
  const sec = totalSec % 60
  const secText = frac(sec * 1e9 + subNs, 9) + "s"
  if (h > 0) return `${sign}${h}h${m}m${secText}`
  if (m > 0) return `${sign}${m}m${secText}`
  return `${sign}${secText}`
}
