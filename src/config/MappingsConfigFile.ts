/**
 * The `mappings {}` (alias `maps`) block of a configuration file, as nats-server 2.9.10 reads it
 * (`parseAccountMappings`, `parseAccountMapDest`):
 *
 * ```
 * mappings {
 *   "orders.new": "orders.v2.new"                          # one destination
 *   "bar.*.*": "baz.{{wildcard(2)}}.{{wildcard(1)}}"       # transform functions
 *   "canary": [ { dest: "canary.v1", weight: 90% }, { dest: "canary.v2", weight: 10 } ]
 * }
 * ```
 *
 * Every mapping is compiled here (SubjectMappings.make), so a bad one fails `-t` and start-up with
 * nats-server's message and the file position, never at the first publish.
 */
import { isValidSubject } from "../subject/Subject.ts"
import { type MappingDestination, type MappingSpec, SubjectMappings } from "../subject/SubjectMappings.ts"
import type { ConfigEntry, ConfigValue, Position } from "./ConfigValue.ts"

export interface MappingIssues {
  readonly error: (pos: Position, message: string) => void
}

const destination = (v: ConfigValue, issues: MappingIssues): MappingDestination | undefined => {
  if (v._tag !== "Map") {
    issues.error(v.pos, "Expected an entry for the mapping destination")
    return undefined
  }
  let subject = ""
  let weight: number | undefined
  for (const f of v.entries.values()) {
    const k = f.key.toLowerCase()
    const x = f.value
    if (k === "dest" || k === "destination") {
      if (x._tag !== "String") {
        issues.error(f.keyPos, `Expected a string for the mapping destination ${JSON.stringify(f.key)}`)
        return undefined
      }
      subject = x.value
    } else if (k === "weight") {
      let w: number
      if (x._tag === "String") {
        const s = x.value.endsWith("%") ? x.value.slice(0, -1) : x.value
        if (!/^[+-]?\d+$/.test(s)) {
          issues.error(f.keyPos, `Invalid weight ${JSON.stringify(s)} for mapping destination`)
          return undefined
        }
        w = Number(s)
      } else if (x._tag === "Integer") {
        w = x.value
      } else {
        issues.error(
          f.keyPos,
          `Unknown entry type for weight of ${String(x._tag === "Map" || x._tag === "Array" ? x._tag : x.value)}`
        )
        return undefined
      }
      if (w > 100 || w < 0) {
        issues.error(f.keyPos, `Invalid weight ${w} for mapping destination`)
        return undefined
      }
      weight = w
    } else if (k === "cluster") {
      // Cluster-scoped destinations only apply inside a cluster, which this broker never is.
      issues.error(f.keyPos, "cluster-scoped mapping destinations are not supported (no clustering)")
      return undefined
    } else {
      issues.error(f.keyPos, `Unknown field ${JSON.stringify(f.key)} for mapping destination`)
      return undefined
    }
  }
  if (weight === undefined) {
    issues.error(v.pos, `Missing weight for mapping destination ${JSON.stringify(subject)}`)
    return undefined
  }
  return { subject, weight }
}

/** Reads the block; reports every problem and returns the mappings only when all are valid. */
export const mappingsBlock = (e: ConfigEntry, issues: MappingIssues): ReadonlyArray<MappingSpec> | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `${e.key}: expected a block of subject mappings`)
    return undefined
  }
  const specs: Array<MappingSpec> = []
  let failed = false
  for (const m of e.value.entries.values()) {
    const src = m.key
    if (!isValidSubject(src)) {
      issues.error(m.keyPos, `Subject ${JSON.stringify(src)} is not a valid subject`)
      failed = true
      continue
    }
    const v = m.value
    let dests: Array<MappingDestination> | undefined
    if (v._tag === "String") dests = [{ subject: v.value, weight: 100 }]
    else if (v._tag === "Array" || v._tag === "Map") {
      const items = v._tag === "Array" ? v.items : [v]
      const parsed = items.map((x) => destination(x, issues))
      if (parsed.some((x) => x === undefined)) {
        failed = true
        continue
      }
      dests = parsed as Array<MappingDestination>
    } else {
      issues.error(m.keyPos, `Unknown type ${v._tag.toLowerCase()} for mapping destination`)
      failed = true
      continue
    }
    const spec: MappingSpec = { src, dests }
    const compiled = SubjectMappings.make([spec])
    if (!compiled.ok) {
      const to = v._tag === "String" ? ` to ${JSON.stringify(v.value)}` : ""
      issues.error(m.keyPos, `Error adding mapping for ${JSON.stringify(src)}${to} : ${compiled.error}`)
      failed = true
      continue
    }
    specs.push(spec)
  }
  return failed ? undefined : specs
}
