/**
 * Subject transforms: nats-server 2.9.10's `transform` (server/accounts.go `newTransform`,
 * `indexPlaceHolders`, `transform`) with 2.10.16's `left`/`right` (subject_transform.go; we advertise
 * 2.10.29), the one engine behind core `mappings {}` and stream, mirror and source subject transforms.
 *
 * A source pattern (`orders.*.>`) and a destination (`shipped.{{wildcard(1)}}.>`, or the legacy
 * `shipped.$1.>`): each destination token is a literal or a mapping function over the source's
 * `*` tokens (`wildcard(n)`, `partition(buckets, n...)`, `splitFromLeft/Right(n, pos)`,
 * `sliceFromLeft/Right(n, size)`, `left/right(n, size)`, `split(n, delimiter)`). Errors carry
 * nats-server's texts.
 *
 * Compiled once (config load, stream create); applying one is a token walk with no allocation
 * beyond the result string. Subjects are latin1-decoded bytes (Subject.ts), so the partition hash
 * runs over byte values as nats-server's does.
 */
import { matches } from "./Subject.ts"

const Fn = {
  Literal: 0,
  Wildcard: 1,
  Partition: 2,
  SplitFromLeft: 3,
  SplitFromRight: 4,
  SliceFromLeft: 5,
  SliceFromRight: 6,
  Split: 7,
  Left: 8,
  Right: 9
} as const
type Fn = (typeof Fn)[keyof typeof Fn]

interface DestToken {
  readonly fn: Fn
  readonly text: string
  /** Source token indexes (positions in the subject) the function reads. */
  readonly src: ReadonlyArray<number>
  /** Buckets (partition), position (split), size (slice). */
  readonly n: number
  /** The delimiter of `split`. */
  readonly delim: string
}

export interface SubjectTransform {
  readonly src: string
  readonly dest: string
  /** Maps a literal subject that matches `src`; `undefined` when it does not match. */
  match(subject: string): string | undefined
  /** Maps a subject already known to match `src` (the caller matched it). */
  apply(subject: string): string
}

export type TransformResult =
  | { readonly ok: true; readonly transform: SubjectTransform }
  | { readonly ok: false; readonly error: string }

// nats-server's error texts (server/errors.go).
const BASE = "invalid mapping destination"
export const TransformErrors = {
  badSubject: "invalid subject",
  invalidSubject: `${BASE}: invalid subject`,
  notUsingAllWildcards: `${BASE}: not using all of the token wildcard(s)`,
  unknownFunction: `${BASE}: unknown function`,
  indexOutOfRange: `${BASE}: wildcard index out of range`,
  notEnoughArguments: `${BASE}: not enough arguments passed to the function`,
  invalidArgument: `${BASE}: function argument is invalid or in the wrong format`,
  tooManyArguments: `${BASE}: too many arguments passed to the function`
} as const

/** nats-server's `mappingDestinationErr`: `<error> in <token>`. */
const inToken = (error: string, token: string) => `${error} in ${token}`

// Go's RE2 `\s` is ASCII whitespace only; the function regexes are unanchored (FindStringSubmatch).
const S = "[\\t\\n\\f\\r ]*"
const fnRe = (name: string) => new RegExp(`\\{\\{${S}${name}${S}\\((.*)\\)${S}\\}\\}`)
const FUNCTIONS: ReadonlyArray<readonly [RegExp, Fn]> = [
  [fnRe("[wW]ildcard"), Fn.Wildcard],
  [fnRe("[pP]artition"), Fn.Partition],
  [fnRe("[sS]plit[fF]rom[lL]eft"), Fn.SplitFromLeft],
  [fnRe("[sS]plit[fF]rom[rR]ight"), Fn.SplitFromRight],
  [fnRe("[sS]lice[fF]rom[lL]eft"), Fn.SliceFromLeft],
  [fnRe("[sS]lice[fF]rom[rR]ight"), Fn.SliceFromRight],
  // 2.10.16+ (subject_transform.go): the first / last `size` characters of a token.
  [fnRe("[rR]ight"), Fn.Right],
  [fnRe("[lL]eft"), Fn.Left],
  [fnRe("[sS]plit"), Fn.Split]
]
const COMMA = /,[\t\n\f\r ]*/

const isMustache = (t: string) => t.length > 4 && t.startsWith("{{") && t.endsWith("}}")

/** Go `strconv.Atoi(strings.Trim(s, " "))`. */
const atoi = (s: string): number | undefined => {
  const t = s.replace(/^ +| +$/g, "")
  if (!/^[+-]?\d+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Go `int32(x)`: wraps as the conversion does. */
const int32 = (n: number) => Number(BigInt.asIntN(32, BigInt(n)))

type Placeholder =
  | {
    readonly ok: true
    readonly fn: Fn
    readonly idx: ReadonlyArray<number>
    readonly n: number
    readonly delim: string
  }
  | { readonly ok: false; readonly error: string }

const literal: Placeholder = { ok: true, fn: Fn.Literal, idx: [], n: -1, delim: "" }

/** nats-server `indexPlaceHolders`: what a destination token asks for. */
const placeholder = (token: string): Placeholder => {
  if (token.length <= 1) return literal
  if (token[0] === "$") {
    // `$1`; anything else starting with `$` stays a literal (other features use such tokens).
    const i = atoi(token.slice(1))
    return i === undefined ? literal : { ok: true, fn: Fn.Wildcard, idx: [i], n: -1, delim: "" }
  }
  if (!isMustache(token)) return literal
  const bad = (error: string): Placeholder => ({ ok: false, error: inToken(error, token) })
  for (const [re, fn] of FUNCTIONS) {
    const m = re.exec(token)
    if (m === null) continue
    const args = m[1]!.split(COMMA)
    switch (fn) {
      case Fn.Wildcard: {
        if (args.length === 1 && args[0] === "") return bad(TransformErrors.notEnoughArguments)
        if (args.length > 1) return bad(TransformErrors.tooManyArguments)
        const i = atoi(args[0]!)
        return i === undefined ? bad(TransformErrors.invalidArgument) : { ok: true, fn, idx: [i], n: -1, delim: "" }
      }
      case Fn.Partition: {
        if (args.length < 2) return bad(TransformErrors.notEnoughArguments)
        const buckets = atoi(args[0]!)
        if (buckets === undefined) return bad(TransformErrors.invalidArgument)
        const idx: Array<number> = []
        for (const a of args.slice(1)) {
          const i = atoi(a)
          if (i === undefined) return bad(TransformErrors.invalidArgument)
          idx.push(i)
        }
        return { ok: true, fn, idx, n: int32(buckets), delim: "" }
      }
      case Fn.Split: {
        if (args.length < 2) return bad(TransformErrors.notEnoughArguments)
        if (args.length > 2) return bad(TransformErrors.tooManyArguments)
        const i = atoi(args[0]!)
        if (i === undefined) return bad(TransformErrors.invalidArgument)
        if (args[1]!.includes(" ") || args[1]!.includes(".")) return bad(TransformErrors.invalidArgument)
        return { ok: true, fn, idx: [i], n: -1, delim: args[1]! }
      }
      default: {
        if (args.length < 2) return bad(TransformErrors.notEnoughArguments)
        if (args.length > 2) return bad(TransformErrors.tooManyArguments)
        const i = atoi(args[0]!)
        const n = atoi(args[1]!)
        if (i === undefined || n === undefined) return bad(TransformErrors.invalidArgument)
        return { ok: true, fn, idx: [i], n: int32(n), delim: "" }
      }
    }
  }
  return bad(TransformErrors.unknownFunction)
}

/** nats-server `subjectInfo`: valid, tokens, number of `*`, ends in `>`. */
const subjectInfo = (subject: string) => {
  if (subject === "") return undefined
  const tokens = subject.split(".")
  let pwcs = 0
  let fwc = false
  for (const t of tokens) {
    if (t.length === 0 || fwc) return undefined
    if (t === ">") fwc = true
    else if (t === "*") pwcs++
  }
  return { tokens, pwcs, fwc }
}

/**
 * nats-server `ValidateMappingDestination` (checked for core mappings before the transform is
 * built): tokens non-empty, nothing after `>`, `{{...}}` names a known function.
 */
export const validateMappingDestination = (dest: string): string | undefined => {
  let fwc = false
  for (const t of dest.split(".")) {
    if (t.length === 0 || fwc) return inToken(TransformErrors.invalidSubject, t)
    if (isMustache(t)) {
      if (!FUNCTIONS.some(([re]) => re.test(t))) return inToken(TransformErrors.unknownFunction, t)
      continue
    }
    if (t === ">") fwc = true
    else if (/[\t\n\f\r ]/.test(t)) return TransformErrors.invalidSubject
  }
  return undefined
}

/** FNV-1a 32 over the subject's bytes (Go `hash/fnv` New32a). */
const fnv1a = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i) & 0xff
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

const splitAt = (
  t: string,
  pos: number
): string => (pos > 0 && pos < t.length ? `${t.slice(0, pos)}.${t.slice(pos)}` : t)

const sliceFromLeft = (t: string, size: number): string => {
  if (size <= 0 || size >= t.length) return t
  const parts: Array<string> = []
  for (let i = 0; i < t.length; i += size) parts.push(t.slice(i, i + size))
  return parts.join(".")
}

const sliceFromRight = (t: string, size: number): string => {
  if (size <= 0 || size >= t.length) return t
  const parts: Array<string> = []
  const rem = t.length % size
  if (rem > 0) parts.push(t.slice(0, rem))
  for (let i = rem; i < t.length; i += size) parts.push(t.slice(i, i + size))
  return parts.join(".")
}

/** nats-server's `split`: empty pieces vanish, and so do the separators they would need. */
const splitOn = (t: string, delim: string): string => {
  const pieces = t.split(delim)
  let out = ""
  for (let j = 0; j < pieces.length; j++) {
    const p = pieces[j]!
    out += p
    if (j < pieces.length - 1 && pieces[j + 1] !== "" && !(j === 0 && p === "")) out += "."
  }
  return out
}

class Compiled implements SubjectTransform {
  readonly src: string
  readonly dest: string
  private readonly stoks: number
  private readonly dtoks: ReadonlyArray<DestToken>
  /** The destination has no function: every match maps to `dest` itself. */
  private readonly constant: boolean
  private readonly passThrough: boolean
  constructor(src: string, dest: string, stoks: number, dtoks: ReadonlyArray<DestToken>) {
    this.src = src
    this.dest = dest
    this.stoks = stoks
    this.dtoks = dtoks
    this.constant = dtoks.length === 0
    this.passThrough = (src === ">" || src === "") && (dest === ">" || dest === "")
  }

  match(subject: string): string | undefined {
    if (this.passThrough) return subject
    if (this.src !== "" && this.src !== ">" && !matches(this.src, subject)) return undefined
    return this.apply(subject)
  }

  apply(subject: string): string {
    if (this.constant) return this.dest
    const tokens = subject.split(".")
    const d = this.dtoks
    let out = ""
    for (let i = 0; i < d.length; i++) {
      const t = d[i]!
      if (t.fn === Fn.Literal) {
        if (t.text === ">") break
        out += t.text
      } else {
        const first = tokens[t.src[0]!] ?? ""
        switch (t.fn) {
          case Fn.Wildcard:
            out += first
            break
          case Fn.Partition: {
            let key = t.src.length === 0 ? subject : ""
            for (const s of t.src) key += tokens[s] ?? ""
            // Go: h % uint32(n); a zero bucket count panics there, we refuse nothing and map to 0.
            out += String(t.n === 0 ? 0 : fnv1a(key) % (t.n >>> 0))
            break
          }
          case Fn.SplitFromLeft:
            out += splitAt(first, t.n)
            break
          case Fn.SplitFromRight:
            out += t.n > 0 && t.n < first.length ? splitAt(first, first.length - t.n) : first
            break
          case Fn.SliceFromLeft:
            out += sliceFromLeft(first, t.n)
            break
          case Fn.SliceFromRight:
            out += sliceFromRight(first, t.n)
            break
          case Fn.Split:
            out += splitOn(first, t.delim)
            break
          // A size that does not cut the token (<= 0 or >= its length) keeps it whole, as there.
          case Fn.Left:
            out += t.n > 0 && t.n < first.length ? first.slice(0, t.n) : first
            break
          case Fn.Right:
            out += t.n > 0 && t.n < first.length ? first.slice(first.length - t.n) : first
            break
        }
      }
      if (i < d.length - 1) out += "."
    }
    // `>` in the destination carries over the source's remaining tokens.
    if (d.length > 0 && d[d.length - 1]!.text === ">") {
      out += tokens.slice(this.stoks - 1).join(".")
    }
    return out
  }
}

/**
 * `allWildcards: false` is the non-strict form that stream and source transforms use in nats-server
 * 2.10+ (`NewSubjectTransform`): a destination may leave some of the source's `*` tokens unused.
 */
export interface CompileOptions {
  readonly allWildcards?: boolean
}

/** nats-server `newTransform`: checks both subjects and compiles the destination. */
export const compileTransform = (src: string, dest: string, options: CompileOptions = {}): TransformResult => {
  const s = subjectInfo(src)
  const d = subjectInfo(dest)
  // Valid subjects, `>` in both or neither, and no `*` in the destination.
  if (s === undefined || d === undefined || d.pwcs > 0 || s.fwc !== d.fwc) {
    return { ok: false, error: TransformErrors.badSubject }
  }
  const dtoks: Array<DestToken> = []
  if (s.pwcs > 0 || s.fwc) {
    // Wildcard n (1-based) → its token position in the subject.
    const positions = new Map<number, number>()
    s.tokens.forEach((t, i) => {
      if (t === "*") positions.set(positions.size + 1, i)
    })
    let placeholders = 0
    for (const token of d.tokens) {
      const p = placeholder(token)
      if (!p.ok) return p
      if (p.fn === Fn.Literal) {
        dtoks.push({ fn: Fn.Literal, text: token, src: [], n: -1, delim: "" })
        continue
      }
      placeholders++
      const src: Array<number> = []
      for (const w of p.idx) {
        if (w > s.pwcs) return { ok: false, error: inToken(TransformErrors.indexOutOfRange, `${token}: [${w}]`) }
        // Go reads a missing map key as 0: `$0` (or a negative index) reads the first token.
        src.push(positions.get(w) ?? 0)
      }
      dtoks.push({ fn: p.fn, text: token, src, n: p.n, delim: p.delim })
    }
    if (options.allWildcards !== false && placeholders < s.pwcs) {
      return { ok: false, error: inToken(TransformErrors.notUsingAllWildcards, dest) }
    }
    // Without any function the destination is still walked token by token (it may end in `>`).
  } else if (options.allWildcards === false) {
    // 2.10+: a literal source has no wildcard for a function to read; a partition hashes the
    // whole subject (its index arguments are dropped).
    for (const token of d.tokens) {
      const p = placeholder(token)
      if (!p.ok) return p
      if (p.fn === Fn.Literal) dtoks.push({ fn: Fn.Literal, text: token, src: [], n: -1, delim: "" })
      else if (p.fn === Fn.Partition) dtoks.push({ fn: Fn.Partition, text: token, src: [], n: p.n, delim: "" })
      else return { ok: false, error: inToken(TransformErrors.indexOutOfRange, token) }
    }
    if (!dtoks.some((t) => t.fn === Fn.Partition)) dtoks.length = 0
  }
  return { ok: true, transform: new Compiled(src, dest, s.tokens.length, dtoks) }
}

/** nats-server `transformTokenize`: `foo.*.*` → `foo.$1.$2` (the identity destination of a pattern). */
export const tokenizeWildcards = (subject: string): string => {
  let i = 1
  return subject.split(".").map((t) => (t === "*" ? `$${i++}` : t)).join(".")
}

/**
 * nats-server 2.10+ `ValidateMapping`, the check of a stream's `subject_transform` and of a mirror's
 * or source's `subject_transforms`: an empty destination is no transform, an empty source is `>`,
 * then the destination's tokens and the (non-strict) transform itself. `undefined` when valid.
 */
export const validateMapping = (src: string, dest: string): string | undefined => {
  if (dest === "") return undefined
  const bad = validateMappingDestination(dest)
  if (bad !== undefined) return bad
  const t = compileTransform(src === "" ? ">" : src, dest, { allWildcards: false })
  return t.ok ? undefined : t.error
}

/**
 * The subjects a transform's destination can produce, as a subject filter: literal tokens kept,
 * a one-token function (`$n`, `wildcard`, `partition`) becomes `*`, and a function that may yield
 * several tokens (`split…`, `slice…`) or a `>` ends it with `>`. For checks such as a consumer's
 * filter against what a stream stores.
 */
export const destinationPattern = (dest: string): string => {
  const out: Array<string> = []
  for (const t of dest.split(".")) {
    const p = placeholder(t)
    if (t === ">" || p.ok && p.fn !== Fn.Literal && p.fn !== Fn.Wildcard && p.fn !== Fn.Partition) {
      out.push(">")
      break
    }
    out.push(p.ok && p.fn === Fn.Literal ? t : "*")
  }
  return out.join(".")
}
