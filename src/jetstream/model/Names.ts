/**
 * Name and subject rules shared by stream and consumer configs (nats-server 2.9.10
 * `jetstream.go` / `sublist.go` semantics, which differ from the core protocol's subject checks).
 *
 * Subset matching is shared too, with the one place where the two modules differ on purpose made a
 * parameter (`starPrefix` of `isSubsetMatchTokens`).
 */

/** nats-server `JSMaxNameLen` (bytes). */
export const MAX_NAME_LEN = 255
/** nats-server `JSMaxDescriptionLen` (bytes). */
export const MAX_DESCRIPTION_LEN = 4 * 1024
/** nats-server `JSMaxMetadataLen` (2.10): the keys and values of a `metadata` map, in bytes. */
export const MAX_METADATA_LEN = 128 * 1024

const encoder = new TextEncoder()

/** UTF-8 length in bytes (what nats-server's `len(string)` counts). */
export const byteLength = (s: string): number => (/^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length)

/** nats-server `isValidName`: non-empty and none of space, \t, \r, \n, \f, '.', '*', '>'. */
export const isGoValidName = (name: string): boolean => name !== "" && !/[ \t\r\n\f.*>]/.test(name)

/** Does the name contain '/' or '\' (nats-server's path separator checks)? */
export const hasPathSeparator = (name: string): boolean => /[\\/]/.test(name)

/** nats-server `IsValidSubject` (note: `\v` is allowed, unlike in core subject checks). */
export const isValidSubject = (subject: string): boolean => {
  if (subject === "") return false
  let fullWildcardSeen = false
  for (const t of subject.split(".")) {
    if (t.length === 0 || fullWildcardSeen) return false
    if (t.length > 1) {
      if (/[\t\n\f\r ]/.test(t)) return false
      continue
    }
    if (t === ">") fullWildcardSeen = true
    else if (t === " " || t === "\t" || t === "\n" || t === "\r" || t === "\f") return false
  }
  return true
}

/** nats-server `subjectIsLiteral`: no token that is exactly '*' or '>'. */
export const isLiteralSubject = (subject: string): boolean => !subject.split(".").some((t) => t === "*" || t === ">")

/**
 * nats-server `isSubsetMatchTokenized`: is every subject matched by `tokens` also matched by `test`?
 * `starPrefix`: does a `test` token that merely *starts* with '*' (e.g. "*x") match any token, as in
 * nats-server's code? ConsumerConfig.ts (filter and deliver subjects) passes true; StreamConfig.ts
 * (stream subject collisions, the JetStream API overlap) passes false, so there only a token that is
 * exactly '*' does. The two differ on purpose; keep them apart.
 */
export const isSubsetMatchTokens = (
  tokens: ReadonlyArray<string>,
  test: ReadonlyArray<string>,
  starPrefix: boolean
): boolean => {
  for (let i = 0; i < test.length; i++) {
    if (i >= tokens.length) return false
    const t2 = test[i]!
    if (t2.length === 0) return false
    if (t2 === ">") return true
    const t1 = tokens[i]!
    if (t1.length === 0 || t1 === ">") return false
    if (t1 === "*") {
      if (t2 !== "*") return false
      continue
    }
    const anyToken = starPrefix ? t2[0] === "*" : t2 === "*"
    if (!anyToken && t1 !== t2) return false
  }
  return tokens.length === test.length
}

/** nats-server `subjectIsSubsetMatch(subject, test)` (a `test` token starting with '*' matches any token). */
export const subjectIsSubsetMatch = (subject: string, test: string): boolean =>
  isSubsetMatchTokens(subject.split("."), test.split("."), true)

/** The size nats-server checks against `MAX_METADATA_LEN`: the bytes of every key and value. */
export const metadataLength = (m: Readonly<Record<string, string>> | undefined): number => {
  let n = 0
  if (m !== undefined) { for (const [k, v] of Object.entries(m)) n += byteLength(k) + byteLength(v) }
  return n
}
