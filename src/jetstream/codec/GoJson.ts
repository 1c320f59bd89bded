/**
 * Internal: decoding a JSON body the way Go's `encoding/json` fills nats-server's structs, shared
 * by the stream config, consumer config and pull request decoders. Its quirks are visible on the
 * wire, so they are reproduced: keys match case-insensitively (exact match first, `foldKey`),
 * `null` leaves a scalar at its zero value, and a value of the wrong JSON type or out of the Go
 * type's range is an unmarshal type error (`TypeMismatch`). Unknown keys are refused, as in
 * nats-server 2.12's strict mode; the config field tables are in model/ConfigFields.ts.
 *
 * Also the few Go formatting helpers those modules write back with (`goQuote`, int64 / uint64 JSON
 * numbers). Not part of the package's public API.
 */
import { decodeUtf8, parseJsonWith, type ParseResult } from "./Json.ts"

/** A JSON number kept as its literal text, so integer range and syntax checks see what was sent. */
export class NumberLiteral {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** A JSON object as its entries in document order (duplicate keys kept: Go applies each in turn). */
export class ObjectLiteral {
  readonly entries: ReadonlyArray<readonly [string, unknown]>
  constructor(entries: ReadonlyArray<readonly [string, unknown]>) {
    this.entries = entries
  }
}

/** Thrown inside the decoders for a Go unmarshal type error. */
export class TypeMismatch {
  /** Go's `UnmarshalTypeError.Value`: "string", "number", "number 1.5", "bool", "object", "array". */
  readonly value: string
  readonly field: string
  constructor(value: string, field: string) {
    this.value = value
    this.field = field
  }
}

/** Parses `text` with numbers as `NumberLiteral` and objects as `ObjectLiteral`. */
export const parseLiterals = (text: string): ParseResult =>
  parseJsonWith(text, {
    number: (t) => new NumberLiteral(t),
    object: (entries) => new ObjectLiteral(entries)
  })

/**
 * `json.Unmarshal(body, &struct)`: a fresh `zero()` filled by `apply` from the top-level object, or
 * undefined for "invalid JSON" (syntax error, a non-object document, or a `TypeMismatch`).
 */
export const unmarshalObject = <T>(
  body: Uint8Array | string,
  zero: () => T,
  apply: (into: T, o: ObjectLiteral) => void
): T | undefined => {
  const parsed = parseLiterals(decodeUtf8(body))
  if (!parsed.ok) return undefined
  const into = zero()
  if (parsed.value === null) return into // Go: unmarshalling null into a struct is a no-op
  if (!(parsed.value instanceof ObjectLiteral)) return undefined
  try {
    apply(into, parsed.value)
  } catch (e) {
    if (e instanceof TypeMismatch) return undefined
    throw e
  }
  return into
}

// Go's case-insensitive key match: ASCII case folding plus the two non-ASCII runes that fold to
// ASCII letters (U+017F long s → s, U+212A Kelvin sign → k).
export const foldKey = (k: string): string =>
  k.replace(/\u017f/g, "s").replace(/\u212a/g, "k").replace(/[A-Z]/g, (c) => c.toLowerCase())

/** The JSON kind Go names in a type error. */
export const kindOf = (v: unknown): string =>
  typeof v === "string"
    ? "string"
    : typeof v === "boolean"
    ? "bool"
    : v instanceof NumberLiteral
    ? "number"
    : Array.isArray(v)
    ? "array"
    : "object"

export const INT64_MIN = -(2n ** 63n)
export const INT64_MAX = 2n ** 63n - 1n
export const INT32_MIN = -(2n ** 31n)
export const INT32_MAX = 2n ** 31n - 1n
export const UINT64_MAX = 2n ** 64n - 1n

/** A Go integer field (int64 unless bounded otherwise); `null` → undefined (keep the zero value). */
export const decodeInt = (v: unknown, field: string, min = INT64_MIN, max = INT64_MAX): bigint | undefined => {
  if (v === null) return undefined
  if (!(v instanceof NumberLiteral)) throw new TypeMismatch(kindOf(v), field)
  if (!/^-?\d+$/.test(v.text)) throw new TypeMismatch(`number ${v.text}`, field)
  const n = BigInt(v.text)
  if (n < min || n > max) throw new TypeMismatch(`number ${v.text}`, field)
  return n
}

export const decodeString = (v: unknown, field: string): string | undefined => {
  if (v === null) return undefined
  if (typeof v !== "string") throw new TypeMismatch(kindOf(v), field)
  return v
}

export const decodeBool = (v: unknown, field: string): boolean | undefined => {
  if (v === null) return undefined
  if (typeof v !== "boolean") throw new TypeMismatch(kindOf(v), field)
  return v
}

// The enum types' UnmarshalJSON compare the raw token, so `null` or a number is an error too.
// `lower`: the type lower-cases the string first (nats-server's DiscardPolicy).
export const decodeEnum = <T extends string>(
  v: unknown,
  field: string,
  allowed: ReadonlyArray<T>,
  lower = false
): T => {
  const s = typeof v !== "string" ? undefined : lower ? v.toLowerCase() : v
  const hit = s === undefined ? undefined : allowed.find((a) => a === s)
  if (hit === undefined) throw new TypeMismatch("string", field)
  return hit
}

// []string: null → nil, a null element → "".
export const decodeStrings = (v: unknown, field: string): Array<string> | null => {
  if (v === null) return null
  if (!Array.isArray(v)) throw new TypeMismatch(kindOf(v), field)
  return v.map((e) => (e === null ? "" : typeof e === "string" ? e : (() => {
    throw new TypeMismatch(kindOf(e), field)
  })()))
}

/** A Go pointer-to-struct field: `null` → undefined (nil), else it must be an object. */
export const decodeObjectOrNull = (v: unknown, field: string): ObjectLiteral | undefined => {
  if (v === null) return undefined
  if (!(v instanceof ObjectLiteral)) throw new TypeMismatch(kindOf(v), field)
  return v
}

/**
 * A Go `map[string]string` field: `null` → undefined (nil); otherwise the entries are added to
 * `current` (Go reuses an existing map, so a repeated key merges), a `null` value becoming "".
 */
export const decodeStringMap = (
  v: unknown,
  field: string,
  current: Record<string, string> | undefined
): Record<string, string> | undefined => {
  const o = decodeObjectOrNull(v, field)
  if (o === undefined) return undefined
  const m: Record<string, string> = current ?? {}
  for (const [k, x] of o.entries) {
    const s = x === null ? "" : decodeString(x, field)!
    // defineProperty: a "__proto__" key is an ordinary entry in Go's map.
    Object.defineProperty(m, k, { value: s, enumerable: true, writable: true, configurable: true })
  }
  return m
}

// ---------------------------------------------------------------------------------------------
// Writing back as Go does
// ---------------------------------------------------------------------------------------------

const INT64_MAX_NUMBER = 2 ** 63

/**
 * Integers as nats-server writes them: exact below 2^53, past it the nearest double, and a double
 * that rounded up past the int64 range (e.g. from 9223372036854775807) written as the int64 bound.
 */
export const int64Json = (n: number): number | bigint => {
  if (Number.isSafeInteger(n)) return n
  if (n >= INT64_MAX_NUMBER) return INT64_MAX
  if (n < -INT64_MAX_NUMBER) return INT64_MIN
  return BigInt(Math.trunc(n))
}

export const uint64Json = (n: number): number | bigint => {
  if (Number.isSafeInteger(n)) return n
  if (n >= 2 ** 64) return UINT64_MAX
  return BigInt(Math.trunc(n))
}

/** Go's `%q` (`strconv.Quote`), for the values quoted in error descriptions. */
export const goQuote = (s: string): string => {
  let out = "\""
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === "\"" || ch === "\\") out += "\\" + ch
    else if (c >= 0x20 && c < 0x7f) out += ch
    else if (c === 7) out += "\\a"
    else if (c === 8) out += "\\b"
    else if (c === 12) out += "\\f"
    else if (c === 10) out += "\\n"
    else if (c === 13) out += "\\r"
    else if (c === 9) out += "\\t"
    else if (c === 11) out += "\\v"
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0")
    else if (c > 0x7f && /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch
    else if (c < 0x10000) out += "\\u" + c.toString(16).padStart(4, "0")
    else out += "\\U" + c.toString(16).padStart(8, "0")
  }
  return out + "\""
}
