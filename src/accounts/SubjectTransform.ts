/**
 * The subject rewrite of an import whose source has wildcards and whose target names a different
 * subject (nats-server `newTransform(from, transformTokenize(to))`): each `*` of the target (or
 * `$N` / `{{wildcard(N)}}`) takes the matching wildcard token of the source, a trailing `>` takes
 * the rest. Plain string work on the delivery path; built once per import.
 */
export type Transform = (subject: string) => string

const WILDCARD_REF = /^(?:\$(\d+)|\{\{\s*wildcard\s*\(\s*(\d+)\s*\)\s*\}\})$/

/** A transform from `from` to `to`; identity when `to` is `from` or `from` is literal (then `to` as is). */
export const makeTransform = (from: string, to: string): Transform => {
  if (to === from) return (s) => s
  const src = from.split(".")
  const wildcards: Array<number> = []
  let full = -1
  src.forEach((t, i) => {
    if (t === "*") wildcards.push(i)
    if (t === ">") full = i
  })
  if (wildcards.length === 0 && full < 0) return () => to
  const dst = to.split(".")
  let next = 0
  const parts: Array<string | number> = dst.map((t) => {
    if (t === "*") return wildcards[next++] ?? -1
    if (t === ">") return -2
    const m = WILDCARD_REF.exec(t)
    if (m !== null) return wildcards[Number(m[1] ?? m[2]) - 1] ?? -1
    return t
  })
  return (subject) => {
    const tokens = subject.split(".")
    let out = ""
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      const piece = typeof p === "string" ? p : p === -2 ? (full >= 0 ? tokens.slice(full).join(".") : "") : tokens[p]
      out = i === 0 ? piece ?? "" : `${out}.${piece ?? ""}`
    }
    return out
  }
}
