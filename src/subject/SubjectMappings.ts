/**
 * Core subject mappings (`mappings {}` in the config, nats-server's account mappings): a client's
 * published subject is rewritten before permissions and routing, to one destination or to one of
 * several picked by weight (canary releases, traffic splitting). nats-server 2.9.10
 * `AddWeightedMappings` / `selectMappedSubject`.
 *
 * Built once at config load; connections hold `undefined` when there are no mappings, so a publish
 * pays nothing for the feature unless it is configured.
 */
import { hasWildcard, isValidSubject, matches } from "./Subject.ts"
import {
  compileTransform,
  type SubjectTransform,
  tokenizeWildcards,
  validateMappingDestination
} from "./SubjectTransform.ts"

/** One destination as configured (`weight` in percent, 0..100). */
export interface MappingDestination {
  readonly subject: string
  readonly weight: number
}

export interface MappingSpec {
  readonly src: string
  readonly dests: ReadonlyArray<MappingDestination>
}

interface Weighted {
  readonly transform: SubjectTransform
  /** Cumulative upper bound (exclusive) of this destination's share of 0..99. */
  readonly upTo: number
}

interface Mapping {
  readonly src: string
  readonly wildcard: boolean
  readonly dests: ReadonlyArray<Weighted>
}

export type MappingsResult =
  | { readonly ok: true; readonly mappings: SubjectMappings }
  | { readonly ok: false; readonly src: string; readonly error: string }

export class SubjectMappings {
  private readonly list: ReadonlyArray<Mapping>
  private readonly random: () => number

  private constructor(list: ReadonlyArray<Mapping>, random: () => number) {
    this.list = list
    this.random = random
  }

  /**
   * Validates and compiles the mappings in order (a later mapping of the same source replaces the
   * earlier one, as nats-server's does). `random` in [0, 1) picks weighted destinations.
   */
  static make(specs: ReadonlyArray<MappingSpec>, random: () => number = Math.random): MappingsResult {
    const list: Array<Mapping> = []
    for (const spec of specs) {
      const m = compileMapping(spec)
      if (typeof m === "string") return { ok: false, src: spec.src, error: m }
      const at = list.findIndex((e) => e.src === spec.src)
      if (at >= 0) list[at] = m
      else list.push(m)
    }
    return { ok: true, mappings: new SubjectMappings(list, random) }
  }

  get size(): number {
    return this.list.length
  }

  /**
   * The subject a publish to `subject` goes to: itself when no mapping matches, `undefined` when
   * the mapping's weights leave this message nowhere (an explicit source entry below 100%: loss).
   */
  map(subject: string): string | undefined {
    let m: Mapping | undefined
    for (const e of this.list) {
      if (e.wildcard ? matches(e.src, subject) : e.src === subject) {
        m = e
        break
      }
    }
    if (m === undefined) return subject
    const dests = m.dests
    let d: Weighted | undefined
    if (dests.length === 1 && dests[0]!.upTo === 100) d = dests[0]
    else {
      const w = Math.floor(this.random() * 100)
      d = dests.find((x) => w < x.upTo)
    }
    return d === undefined ? undefined : d.transform.apply(subject)
  }
}

const compileMapping = (spec: MappingSpec): Mapping | string => {
  const { src } = spec
  if (!isValidSubject(src)) return "invalid subject"
  const wildcard = hasWildcard(src)
  const seen = new Set<string>()
  let total = 0
  const dests: Array<{ transform: SubjectTransform; weight: number }> = []
  for (const d of spec.dests) {
    if (seen.has(d.subject)) return `duplicate entry for ${JSON.stringify(d.subject)}`
    seen.add(d.subject)
    if (d.weight > 100) return "individual weights need to be <= 100"
    total += d.weight
    if (total > 100) return "total weight needs to be <= 100"
    const bad = validateMappingDestination(d.subject)
    if (bad !== undefined) return bad
    const t = compileTransform(src, d.subject)
    if (!t.ok) return t.error
    dests.push({ transform: t.transform, weight: d.weight })
  }
  // Weights short of 100 leave the rest on the source subject, unless the source is listed itself.
  if (total !== 100 && !seen.has(src)) {
    const t = compileTransform(src, wildcard ? tokenizeWildcards(src) : src)
    if (!t.ok) return t.error
    dests.push({ transform: t.transform, weight: dests.length === 0 ? 100 : 100 - total })
  }
  dests.sort((a, b) => a.weight - b.weight)
  let upTo = 0
  return {
    src,
    wildcard,
    dests: dests.map((d) => {
      upTo += d.weight
      return { transform: d.transform, upTo }
    })
  }
}
