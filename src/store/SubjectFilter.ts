/**
 * Subject filters as JetStream uses them: tokens separated by ".", `*` matches exactly one token, `>` (last
 * token only) matches one or more. An empty filter or ">" matches everything.
 *
 * The store keeps its own tiny matcher (rather than importing the routing trie) because it only ever matches one
 * filter against the subjects of one stream and must stay free of service dependencies.
 */

export const matchesAll = (filter: string): boolean => filter === "" || filter === ">"

export const isLiteral = (filter: string): boolean => {
  if (filter === "") return false
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i)
    // A wildcard only counts as a whole token; "a*b" is a literal token in NATS.
    if (
      (c === 42 || c === 62) && (i === 0 || filter.charCodeAt(i - 1) === 46) &&
      (i + 1 === filter.length || filter.charCodeAt(i + 1) === 46)
    ) return false
  }
  return true
}

/** Does `subject` (a literal) match `filter`? Allocation-free token walk; position `length + 1` = exhausted. */
export const matches = (filter: string, subject: string): boolean => {
  if (matchesAll(filter)) return true
  const fl = filter.length
  const sl = subject.length
  let fi = 0
  let si = 0
  for (;;) {
    const fEnd = tokenEnd(filter, fi)
    const fTokLen = fEnd - fi
    const c = filter.charCodeAt(fi)
    if (fTokLen === 1 && c === 62 && fEnd === fl) return si <= sl // ">" needs at least one more token
    if (si > sl) return false
    const sEnd = tokenEnd(subject, si)
    if (!(fTokLen === 1 && c === 42)) {
      if (fTokLen !== sEnd - si) return false
      for (let k = 0; k < fTokLen; k++) {
        if (filter.charCodeAt(fi + k) !== subject.charCodeAt(si + k)) return false
      }
    }
    fi = fEnd + 1
    si = sEnd + 1
    if (fi > fl) return si > sl
  }
}

const tokenEnd = (s: string, from: number): number => {
  const i = s.indexOf(".", from)
  return i === -1 ? s.length : i
}

/** Per-call memo of filter results keyed by subject id, so a scan matches each distinct subject once. */
export class MatchMemo {
  private memo = new Uint8Array(64)
  readonly filter: string
  private readonly subjectOf: (id: number) => string
  constructor(filter: string, subjectOf: (id: number) => string) {
    this.filter = filter
    this.subjectOf = subjectOf
  }

  test(id: number): boolean {
    if (id >= this.memo.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.memo.length * 2))
      grown.set(this.memo)
      this.memo = grown
    }
    const m = this.memo[id]!
    if (m !== 0) return m === 1
    const ok = matches(this.filter, this.subjectOf(id))
    this.memo[id] = ok ? 1 : 2
    return ok
  }
}
