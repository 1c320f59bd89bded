/**
 * A consumer's subject filters (`filter_subject`, or the 2.10 `filter_subjects` list) as one
 * precomputed matcher over the store: a message is the consumer's when it matches ANY filter.
 *
 * Built once per consumer (the wire forms and whether the filters can share a subject are decided
 * here), so the per-message test is a loop over a few strings with no allocation. nats-server only
 * refuses filters where one is a subset of another; `a.*` and `*.b` are accepted although both take
 * `a.b`, so counting falls back to a walk when two filters can share a subject (a plain sum would
 * count such a message twice).
 */
import type { MessageLog } from "../../store/MessageLog.ts"
import { matches, overlaps, toWire } from "../../subject/Subject.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"

/** The filters a config names (nats-server `gatherSubjectFilters`); empty = the whole stream. */
export const configFilters = (config: ConsumerConfig): ReadonlyArray<string> => {
  if (config.filter_subjects !== undefined && config.filter_subjects.length > 0) return config.filter_subjects
  return config.filter_subject !== undefined && config.filter_subject !== "" ? [config.filter_subject] : []
}

export class ConsumerFilter {
  /** Wire-form (latin1) filters; `[">"]` when the consumer takes everything. */
  readonly filters: ReadonlyArray<string>
  /** True when the filter is the whole stream. */
  readonly all: boolean
  /** No two filters can match the same subject, so per-filter counts add up. */
  private readonly disjoint: boolean

  constructor(config: ConsumerConfig) {
    const wire = configFilters(config).map(toWire)
    this.all = wire.length === 0 || wire.includes(">")
    this.filters = this.all ? [">"] : wire
    let disjoint = true
    for (let i = 0; i < this.filters.length && disjoint; i++) {
      for (let j = i + 1; j < this.filters.length; j++) {
        if (overlaps(this.filters[i]!, this.filters[j]!)) {
          disjoint = false
          break
        }
      }
    }
    this.disjoint = disjoint
  }

  /** Does a message on `subject` (wire form) belong to the consumer? */
  matches(subject: string): boolean {
    if (this.all) return true
    const fs = this.filters
    for (let i = 0; i < fs.length; i++) if (matches(fs[i]!, subject)) return true
    return false
  }

  /** First live sequence >= `from` matching any filter (stream order across filters). */
  firstSeq(store: MessageLog, from: number): number | undefined {
    const fs = this.filters
    if (fs.length === 1) return store.firstSeqMatching(from, fs[0]!)
    let best: number | undefined
    for (let i = 0; i < fs.length; i++) {
      const s = store.firstSeqMatching(from, fs[i]!)
      if (s !== undefined && (best === undefined || s < best)) best = s
    }
    return best
  }

  /** Live messages with sequence >= `from` matching any filter, each counted once. */
  count(store: MessageLog, from: number): number {
    const fs = this.filters
    if (fs.length === 1) return store.countMatching(from, fs[0]!)
    if (this.disjoint) {
      let n = 0
      for (let i = 0; i < fs.length; i++) n += store.countMatching(from, fs[i]!)
      return n
    }
    let n = 0
    for (let s = this.firstSeq(store, from); s !== undefined; s = this.firstSeq(store, s + 1)) n++
    return n
  }

  /** Sequence of the last message matching any filter (nats-server: the largest per-filter last). */
  lastSeq(store: MessageLog): number | undefined {
    let best: number | undefined
    for (const f of this.filters) {
      const m = store.lastBySubject(f)
      if (m !== undefined && (best === undefined || m.seq > best)) best = m.seq
    }
    return best
  }

  /** Sequences of the last message of every subject matching a filter, ascending (deliver last_per_subject). */
  lastPerSubject(store: MessageLog): Array<number> {
    const seqs = new Set<number>()
    for (const f of this.filters) {
      for (const subject of store.subjectCounts(f).keys()) {
        const m = store.lastBySubject(subject)
        if (m !== undefined) seqs.add(m.seq)
      }
    }
    return [...seqs].sort((a, b) => a - b)
  }
}
