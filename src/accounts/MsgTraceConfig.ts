/**
 * An account's `msg_trace` (alias `trace_dest`, nats-server 2.11 parseAccountMsgTrace): where
 * messages with a sampled W3C `traceparent` header send their trace events, and which share of
 * them is traced. A string is the destination alone (100 %).
 */
import { type ConfigEntry, goType as goTypeName } from "../config/ConfigValue.ts"
import type { AccountTrace } from "../core/MsgTrace.ts"
import { isValidLiteralSubject } from "../subject/Subject.ts"
import type { AccountsIssues } from "./ExportImportConfig.ts"

export const parseAccountMsgTrace = (e: ConfigEntry, issues: AccountsIssues): AccountTrace | undefined => {
  const v = e.value
  const destOf = (pos: typeof v.pos, key: string, x: typeof v): string | undefined => {
    if (x._tag !== "String") {
      issues.error(pos, `Field ${JSON.stringify(key)} should be a string, got ${goTypeName(x)}`)
      return undefined
    }
    if (!isValidLiteralSubject(x.value)) {
      issues.error(pos, `Trace destination ${JSON.stringify(x.value)} is not valid`)
      return undefined
    }
    return x.value
  }
  if (v._tag === "String") {
    const dest = destOf(v.pos, e.key, v)
    return dest === undefined ? undefined : { dest, sampling: 100 }
  }
  if (v._tag !== "Map") {
    issues.error(
      v.pos,
      `Expected account message trace ${JSON.stringify(e.key)} to be a string or a map/struct, got ${goTypeName(v)}`
    )
    return undefined
  }
  let dest: string | undefined
  let sampling: number | undefined
  let ok = true
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "dest":
        dest = destOf(f.value.pos, f.key, f.value)
        if (dest === undefined) ok = false
        break
      case "sampling": {
        let n: number | undefined
        if (f.value._tag === "Integer") n = f.value.value
        else if (f.value._tag === "String") {
          const s = f.value.value.endsWith("%") ? f.value.value.slice(0, -1) : f.value.value
          n = /^[+-]?\d+$/.test(s) ? Number(s) : undefined
          if (n === undefined) {
            issues.error(f.value.pos, `Invalid trace destination sampling value ${JSON.stringify(f.value.value)}`)
            ok = false
            break
          }
        } else {
          issues.error(
            f.value.pos,
            `Trace destination sampling field ${JSON.stringify(f.key)} should be an integer or a percentage, got ${
              goTypeName(f.value)
            }`
          )
          ok = false
          break
        }
        // nats-server's text, typo included.
        if (n <= 0 || n > 100) {
          issues.error(f.value.pos, `Ttrace destination sampling value ${n} is invalid, needs to be [1..100]`)
          ok = false
        } else sampling = n
        break
      }
      default:
        if (!f.usedAsVariable) {
          issues.error(
            f.keyPos,
            `Unknown field ${JSON.stringify(f.key)} parsing account message trace map/struct ${JSON.stringify(e.key)}`
          )
          ok = false
        }
    }
  }
  // nats-server: sampling without a destination traces nothing (it warns); a destination alone is 100 %.
  if (!ok || dest === undefined) return undefined
  return { dest, sampling: sampling ?? 100 }
}
