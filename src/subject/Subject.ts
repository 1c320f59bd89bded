/**
 * Subject rules. Subjects are JS strings holding latin1-decoded bytes (see protocol/Parser.ts), so
 * every check here is over byte values.
 *
 * A subject is dot-separated tokens; a token is non-empty and has no whitespace. As a whole token
 * `*` matches one token and `>` matches one or more trailing tokens; inside a token they are
 * ordinary characters (nats-server treats `foo*` as a literal).
 */
import { Buffer } from "node:buffer"

const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 10 || c === 12 || c === 11

/** Valid for SUB: wildcards allowed, `>` only as the last token. */
export const isValidSubject = (subject: string): boolean => {
  const len = subject.length
  if (len === 0) return false
  let tokenStart = 0
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 46 : subject.charCodeAt(i)
    if (c === 46 /* . */) {
      const tokenLen = i - tokenStart
      if (tokenLen === 0) return false
      if (tokenLen === 1 && subject.charCodeAt(tokenStart) === 62 /* > */ && i !== len) return false
      tokenStart = i + 1
    } else if (isSpace(c)) {
      return false
    }
  }
  return true
}

/** Valid for PUB in pedantic mode and for stored messages: no wildcard tokens. */
export const isValidLiteralSubject = (subject: string): boolean => isValidSubject(subject) && !hasWildcard(subject)

/** True when some whole token is `*` or `>`. */
export const hasWildcard = (subject: string): boolean => {
  const len = subject.length
  for (let i = 0; i < len; i++) {
    const c = subject.charCodeAt(i)
    if (c === 42 || c === 62) {
      const before = i === 0 || subject.charCodeAt(i - 1) === 46
      const after = i === len - 1 || subject.charCodeAt(i + 1) === 46
      if (before && after) return true
    }
  }
  return false
}

/** Does the literal `subject` match `pattern` (which may contain wildcards)? */
export const matches = (pattern: string, subject: string): boolean => {
  if (pattern === subject) return true
  const p = pattern.split(".")
  const s = subject.split(".")
  for (let i = 0; i < p.length; i++) {
    const t = p[i]
    if (t === ">") return s.length > i
    if (i >= s.length) return false
    if (t !== "*" && t !== s[i]) return false
  }
  return p.length === s.length
}

/**
 * Could some literal subject match both patterns? Used for stream subject overlap checks and
 * cache invalidation.
 */
export const overlaps = (a: string, b: string): boolean => {
  const x = a.split(".")
  const y = b.split(".")
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) {
    const p = x[i]
    const q = y[i]
    if (p === ">" || q === ">") return true
    if (p !== "*" && q !== "*" && p !== q) return false
  }
  return x.length === y.length
}

/** Is every subject matched by `inner` also matched by `outer`? */
export const isSubsetOf = (inner: string, outer: string): boolean => {
  const x = inner.split(".")
  const y = outer.split(".")
  for (let i = 0; i < y.length; i++) {
    const o = y[i]
    if (o === ">") return x.length > i
    if (i >= x.length) return false
    const t = x[i]
    if (t === ">") return false
    if (o === "*") continue
    if (t === "*" || t !== o) return false
  }
  return x.length === y.length
}

/**
 * Subjects travel as latin1-decoded bytes inside the broker; JSON on the API speaks Unicode.
 * These convert at that edge (identity for ASCII).
 */
export const toWire = (unicode: string): string => Buffer.from(unicode, "utf8").toString("latin1")
export const fromWire = (wire: string): string => Buffer.from(wire, "latin1").toString("utf8")
