/**
 * Everything about a message log that does not depend on where the bytes live: sequence bookkeeping, per-subject
 * state, filters, purge and limit semantics. The memory and file layers extend it and only decide how a message
 * is stored, loaded and forgotten, so both layers answer every question identically by construction (the
 * model-based property test then checks the storage half).
 *
 * Invariants (checked by the property tests through `state()`):
 * - the index has a slot for every sequence in [index.base, lastSeq]; index.base <= firstSeq;
 * - firstSeq is the lowest live sequence, or lastSeq + 1 when there is none;
 * - msgs / bytes / subject counts equal the live slots.
 *
 * Removals come in two flavours, which the file layer persists differently:
 * - `removeBelow(seq)` drops a prefix (purge, keep, max_msgs/bytes/age): the backend persists one "floor"
 *   sequence instead of touching each record;
 * - `removeAt` drops one message anywhere (delete, filtered purge, max_msgs_per_subject): the backend marks it.
 */
import type { Effect } from "effect"
import type {
  AppendOptions,
  AppendRecord,
  Limits,
  MessageLog,
  PurgeRequest,
  Removed,
  StoredMessage,
  StoreState
} from "./MessageLog.ts"
import { SeqIndex } from "./SeqIndex.ts"
import * as StoreError from "./StoreError.ts"
import { isLiteral, matchesAll, MatchMemo } from "./SubjectFilter.ts"
import { FIRST_EXACT, LAST_EXACT, SubjectTable } from "./SubjectTable.ts"

/** How a removed message is forgotten: covered by the floor, marked deleted, or marked and overwritten. */
export const Mark = { Floor: 0, Delete: 1, Erase: 2 } as const
export type Mark = (typeof Mark)[keyof typeof Mark]

/** Accounted bytes held by all logs of one layer, kept up to date by every append and removal. */
export interface StoreUsage {
  bytes: number
}

export abstract class BaseLog<R = never> implements MessageLog {
  protected index: SeqIndex<R>
  protected readonly subjects = new SubjectTable()
  protected firstSeq: number
  protected lastSeq: number
  protected lastTs = 0n
  protected msgs = 0
  protected bytes = 0
  protected isClosed = false
  private perSubjectLimit = 0
  private readonly touched = new Set<number>()
  /** Running total of accounted bytes shared by every log of a layer (server-wide store limits). */
  protected usage: StoreUsage | undefined

  readonly name: string

  constructor(name: string, firstSeq: number, withRefs: boolean) {
    this.name = name
    this.firstSeq = firstSeq
    this.lastSeq = firstSeq - 1
    this.index = new SeqIndex<R>(firstSeq, withRefs)
  }

  // ---- storage hooks -------------------------------------------------------------------------------------------

  /** Loads the live message at sequence `seq`, index position `pos`. */
  protected abstract load(seq: number, pos: number): StoredMessage
  /** Called before the slot is cleared. */
  protected abstract dropped(seq: number, pos: number, mark: Mark): void
  /** Everything below `seq` is gone for good. */
  protected abstract floorRaised(seq: number): void
  /** Called at the end of every removal; the file layer drops empty segments here. */
  protected abstract settle(): void

  abstract appendBatch(records: ReadonlyArray<AppendRecord>, options?: AppendOptions): Array<number>
  abstract flush(): void
  abstract sync(): Effect.Effect<void, StoreError.StoreError>
  abstract compact(): void
  abstract setCompression(on: boolean): void
  abstract close(): Effect.Effect<void, StoreError.StoreError>

  // ---- helpers for the layers ------------------------------------------------------------------------------------

  protected assertOpen(): void {
    if (this.isClosed) throw StoreError.closed(this.name)
  }

  get failure(): StoreError.StoreError | undefined {
    return undefined
  }

  /** Before anything that changes the log; the file layer also refuses once a write error made it unsafe. */
  protected assertWritable(): void {
    this.assertOpen()
  }

  /** Sequence the next `n` appends would get; throws SequenceOverflow past 2^53 - 1. */
  protected reserve(n: number): number {
    // Compare before adding 1: past 2^53 `x + 1` may round back to x.
    if (n > StoreError.MAX_SEQ - this.lastSeq) {
      throw new StoreError.StoreError({ reason: new StoreError.SequenceOverflow({ seq: this.lastSeq + n }) })
    }
    return this.lastSeq + 1
  }

  protected indexAppend(
    seq: number,
    subject: string,
    ts: bigint,
    off: number,
    size: number,
    ref?: R,
    frame?: number
  ): void {
    const id = this.subjects.add(subject, seq)
    this.index.push(id, ts, off, size, ref, frame)
    if (this.msgs === 0) this.firstSeq = seq
    this.msgs++
    this.bytes += size
    if (this.usage !== undefined) this.usage.bytes += size
    this.lastSeq = seq
    this.lastTs = ts
    if (this.perSubjectLimit > 0) this.touched.add(id)
  }

  /**
   * Takes back every append after `last` (their bytes never reached the disk), so the log is exactly what is
   * stored and the next append gets `last + 1`. (The file layer then respects a persisted purge floor.)
   */
  protected unappend(last: number): void {
    const ix = this.index
    for (let s = this.lastSeq; s > last; s--) {
      const p = ix.pos(s)
      if (p < 0) break
      const id = ix.sid[p]!
      if (id === 0) continue
      this.subjects.remove(id, s)
      this.msgs--
      this.bytes -= ix.size[p]!
      if (this.usage !== undefined) this.usage.bytes -= ix.size[p]!
      ix.sid[p] = 0
    }
    ix.dropFrom(last + 1)
    // A removal of these very appends moved the index past them; it is empty now.
    if (ix.base > last + 1) ix.reset(last + 1)
    this.lastSeq = last
    const p = ix.pos(this.lastSeq)
    if (p >= 0) this.lastTs = ix.ts[p]!
    if (this.msgs === 0) this.firstSeq = this.lastSeq + 1
  }

  /** A slot for a sequence that holds nothing (recovery of gaps and dead records). */
  protected indexHole(seq: number, ts: bigint): void {
    this.index.push(0, ts, 0, 0)
    this.lastSeq = seq
    this.lastTs = ts
    if (this.msgs === 0) this.firstSeq = seq + 1
  }

  // ---- reads ---------------------------------------------------------------------------------------------------

  get(seq: number): StoredMessage | undefined {
    this.assertOpen()
    const p = this.index.pos(seq)
    if (p < 0 || this.index.sid[p] === 0) return undefined
    return this.load(seq, p)
  }

  lastBySubject(filter: string): StoredMessage | undefined {
    this.assertOpen()
    const seq = this.lastSeqMatching(filter)
    return seq === undefined ? undefined : this.load(seq, this.index.pos(seq))
  }

  private lastSeqMatching(filter: string): number | undefined {
    if (this.msgs === 0) return undefined
    const ix = this.index
    if (matchesAll(filter)) {
      for (let s = this.lastSeq; s >= this.firstSeq; s--) if (ix.sid[ix.pos(s)] !== 0) return s
      return undefined
    }
    if (isLiteral(filter)) {
      const id = this.subjects.idOf(filter)
      return id === undefined ? undefined : this.lastOf(id)
    }
    const memo = this.memo(filter)
    if (this.subjects.size * 8 < this.lastSeq - this.firstSeq + 1) {
      let best: number | undefined
      for (const id of this.subjects.liveIds()) {
        if (memo.test(id)) {
          const l = this.lastOf(id)
          if (best === undefined || l > best) best = l
        }
      }
      return best
    }
    for (let s = this.lastSeq; s >= this.firstSeq; s--) {
      const id = ix.sid[ix.pos(s)]!
      if (id !== 0 && memo.test(id)) return s
    }
    return undefined
  }

  firstSeqMatching(startSeq: number, filter: string): number | undefined {
    this.assertOpen()
    const s0 = Math.max(startSeq, this.firstSeq)
    if (s0 > this.lastSeq) return undefined
    const ix = this.index
    if (matchesAll(filter)) {
      for (let s = s0; s <= this.lastSeq; s++) if (ix.sid[ix.pos(s)] !== 0) return s
      return undefined
    }
    if (isLiteral(filter)) {
      const id = this.subjects.idOf(filter)
      if (id === undefined) return undefined
      const last = this.lastOf(id)
      if (s0 > last) return undefined
      const first = this.firstOf(id)
      if (s0 <= first) return first
      for (let s = s0; s <= last; s++) if (ix.sid[ix.pos(s)] === id) return s
      return undefined
    }
    const memo = this.memo(filter)
    for (let s = s0; s <= this.lastSeq; s++) {
      const id = ix.sid[ix.pos(s)]!
      if (id !== 0 && memo.test(id)) return s
    }
    return undefined
  }

  countMatching(startSeq: number, filter: string): number {
    this.assertOpen()
    const s0 = Math.max(startSeq, this.firstSeq)
    if (s0 > this.lastSeq || this.msgs === 0) return 0
    const ix = this.index
    if (matchesAll(filter)) {
      if (s0 === this.firstSeq) return this.msgs
      // Count whichever side of s0 is shorter.
      if (s0 - this.firstSeq < this.lastSeq - s0) return this.msgs - this.countLive(this.firstSeq, s0)
      return this.countLive(s0, this.lastSeq + 1)
    }
    if (isLiteral(filter)) {
      const id = this.subjects.idOf(filter)
      if (id === undefined) return 0
      if (s0 <= this.firstOf(id)) return this.subjects.count[id]!
      const last = this.lastOf(id)
      let n = 0
      for (let s = s0; s <= last; s++) if (ix.sid[ix.pos(s)] === id) n++
      return n
    }
    const memo = this.memo(filter)
    let n = 0
    if (s0 === this.firstSeq) {
      for (const id of this.subjects.liveIds()) if (memo.test(id)) n += this.subjects.count[id]!
      return n
    }
    for (let s = s0; s <= this.lastSeq; s++) {
      const id = ix.sid[ix.pos(s)]!
      if (id !== 0 && memo.test(id)) n++
    }
    return n
  }

  private countLive(from: number, to: number): number {
    const ix = this.index
    let n = 0
    for (let s = from; s < to; s++) if (ix.sid[ix.pos(s)] !== 0) n++
    return n
  }

  firstSeqAtOrAfterTime(tsNs: bigint): number | undefined {
    this.assertOpen()
    if (this.msgs === 0) return undefined
    const s = this.seqAtOrAfterTime(tsNs)
    return s > this.lastSeq ? undefined : s
  }

  /** First live seq with ts >= tsNs, or lastSeq + 1. Binary search: timestamps are non-decreasing. */
  private seqAtOrAfterTime(tsNs: bigint): number {
    const ix = this.index
    let lo = this.firstSeq
    let hi = this.lastSeq + 1
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2)
      if (ix.ts[ix.pos(mid)]! < tsNs) lo = mid + 1
      else hi = mid
    }
    while (lo <= this.lastSeq && ix.sid[ix.pos(lo)] === 0) lo++
    return lo
  }

  subjectCounts(filter: string): Map<string, number> {
    this.assertOpen()
    const out = new Map<string, number>()
    // A literal subject is one table lookup (the per-subject limit check does this on every publish).
    if (isLiteral(filter)) {
      const id = this.subjects.idOf(filter)
      if (id !== undefined && this.subjects.count[id]! > 0) out.set(filter, this.subjects.count[id]!)
      return out
    }
    const all = matchesAll(filter)
    const memo = all ? undefined : this.memo(filter)
    for (const id of this.subjects.liveIds()) {
      if (memo === undefined || memo.test(id)) out.set(this.subjects.names[id]!, this.subjects.count[id]!)
    }
    return out
  }

  state(options?: { readonly deleted?: boolean }): StoreState {
    this.assertOpen()
    const empty = this.msgs === 0
    const base = {
      msgs: this.msgs,
      bytes: this.bytes,
      firstSeq: this.firstSeq,
      firstTs: empty ? 0n : this.index.ts[this.index.pos(this.firstSeq)]!,
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      numDeleted: empty ? 0 : this.lastSeq - this.firstSeq + 1 - this.msgs,
      numSubjects: this.subjects.size
    }
    if (options?.deleted !== true) return base
    const deleted: Array<number> = []
    if (!empty) {
      const ix = this.index
      for (let s = this.firstSeq; s <= this.lastSeq; s++) if (ix.sid[ix.pos(s)] === 0) deleted.push(s)
    }
    return { ...base, deleted }
  }

  firstSequence(): number {
    this.assertOpen()
    return this.firstSeq
  }

  lastSequence(): number {
    this.assertOpen()
    return this.lastSeq
  }

  private memo(filter: string): MatchMemo {
    return new MatchMemo(filter, (id) => this.subjects.names[id]!)
  }

  /** Exact first sequence of a live subject (rescans from the stored bound when it went stale). */
  protected firstOf(id: number): number {
    const t = this.subjects
    if ((t.exact[id]! & FIRST_EXACT) !== 0) return t.first[id]!
    const ix = this.index
    let s = Math.max(t.first[id]!, this.firstSeq)
    while (ix.sid[ix.pos(s)] !== id) s++
    t.first[id] = s
    t.exact[id] = t.exact[id]! | FIRST_EXACT
    return s
  }

  protected lastOf(id: number): number {
    const t = this.subjects
    if ((t.exact[id]! & LAST_EXACT) !== 0) return t.last[id]!
    const ix = this.index
    let s = Math.min(t.last[id]!, this.lastSeq)
    while (ix.sid[ix.pos(s)] !== id) s--
    t.last[id] = s
    t.exact[id] = t.exact[id]! | LAST_EXACT
    return s
  }

  // ---- removals ------------------------------------------------------------------------------------------------

  remove(seq: number, options?: { readonly erase?: boolean }): boolean {
    this.assertWritable()
    const p = this.index.pos(seq)
    if (p < 0 || this.index.sid[p] === 0) return false
    this.removeAt(seq, p, options?.erase === true ? Mark.Erase : Mark.Delete)
    this.advanceFirst()
    this.settle()
    return true
  }

  private removeAt(seq: number, p: number, mark: Mark): void {
    const ix = this.index
    // The backend first: when its write fails, nothing here has changed yet.
    this.dropped(seq, p, mark)
    this.subjects.remove(ix.sid[p]!, seq)
    this.msgs--
    this.bytes -= ix.size[p]!
    if (this.usage !== undefined) this.usage.bytes -= ix.size[p]!
    ix.sid[p] = 0
  }

  private advanceFirst(): void {
    const ix = this.index
    if (this.msgs === 0) {
      this.firstSeq = this.lastSeq + 1
    } else {
      let s = this.firstSeq
      while (ix.sid[ix.pos(s)] === 0) s++
      this.firstSeq = s
    }
    ix.dropBelow(this.firstSeq)
  }

  /** Removes every message below `seq`; past the end it also moves lastSeq so the next append gets `seq`. */
  private removeBelow(seq: number): number {
    const ix = this.index
    const before = this.msgs
    const stop = Math.min(seq, this.lastSeq + 1)
    for (let s = this.firstSeq; s < stop && this.msgs > 0; s++) {
      const p = ix.pos(s)
      if (ix.sid[p] !== 0) this.removeAt(s, p, Mark.Floor)
    }
    if (seq > this.lastSeq + 1) this.lastSeq = seq - 1
    this.floorRaised(seq)
    this.advanceFirst()
    return before - this.msgs
  }

  purge(request?: PurgeRequest): number {
    this.assertWritable()
    const filter = request?.filter ?? ""
    const keep = request?.keep ?? 0
    const seq = request?.seq ?? 0
    let purged = 0
    if (matchesAll(filter)) {
      if (seq > 1) purged += this.removeBelow(seq)
      if (keep > 0) {
        if (keep < this.msgs) purged += this.removeBelow(this.seqKeeping(keep))
      } else if (seq <= 1) {
        purged += this.removeBelow(this.lastSeq + 1)
      }
    } else {
      purged = this.purgeMatching(filter, seq > 1 ? seq : Infinity, keep)
    }
    this.settle()
    return purged
  }

  /** The sequence from which exactly `keep` live messages remain (keep < msgs). */
  private seqKeeping(keep: number): number {
    const ix = this.index
    let n = 0
    let s = this.lastSeq
    for (; s >= this.firstSeq; s--) if (ix.sid[ix.pos(s)] !== 0 && ++n === keep) break
    return s
  }

  private purgeMatching(filter: string, below: number, keep: number): number {
    const ix = this.index
    let from = this.firstSeq
    let to = this.lastSeq
    let test: (id: number) => boolean
    if (isLiteral(filter)) {
      const id = this.subjects.idOf(filter)
      if (id === undefined) return 0
      from = this.firstOf(id)
      to = this.lastOf(id)
      test = (x) => x === id
    } else {
      const memo = this.memo(filter)
      test = (x) => memo.test(x)
    }
    let budget = Infinity
    if (keep > 0) {
      budget = this.countMatching(this.firstSeq, filter) - keep
      if (budget <= 0) return 0
    }
    let purged = 0
    for (let s = from; s <= to && s < below && purged < budget; s++) {
      const p = ix.pos(s)
      const id = ix.sid[p]!
      if (id !== 0 && test(id)) {
        this.removeAt(s, p, Mark.Delete)
        purged++
      }
    }
    this.advanceFirst()
    return purged
  }

  enforceLimits(limits: Limits): Removed {
    this.assertWritable()
    const msgs0 = this.msgs
    const bytes0 = this.bytes
    const ix = this.index
    const perSubject = limits.maxMsgsPerSubject ?? 0
    if (perSubject > 0) {
      const ids = perSubject !== this.perSubjectLimit ? [...this.subjects.liveIds()] : [...this.touched]
      for (const id of ids) {
        let excess = this.subjects.count[id]! - perSubject
        if (excess <= 0) continue
        for (let s = this.firstOf(id); excess > 0; s++) {
          const p = ix.pos(s)
          if (ix.sid[p] === id) {
            this.removeAt(s, p, Mark.Delete)
            excess--
          }
        }
      }
      this.advanceFirst()
    }
    this.perSubjectLimit = perSubject
    this.touched.clear()
    const maxMsgs = limits.maxMsgs ?? 0
    if (maxMsgs > 0 && this.msgs > maxMsgs) {
      let excess = this.msgs - maxMsgs
      let s = this.firstSeq
      for (; excess > 0; s++) if (ix.sid[ix.pos(s)] !== 0) excess--
      this.removeBelow(s)
    }
    const maxBytes = limits.maxBytes ?? 0
    if (maxBytes > 0 && this.bytes > maxBytes) {
      let excess = this.bytes - maxBytes
      let s = this.firstSeq
      for (; excess > 0; s++) {
        const p = ix.pos(s)
        if (ix.sid[p] !== 0) excess -= ix.size[p]!
      }
      this.removeBelow(s)
    }
    const maxAge = limits.maxAgeNs ?? 0n
    if (maxAge > 0n && this.msgs > 0) {
      const now = limits.nowNs ?? BigInt(Date.now()) * 1_000_000n
      // Messages with ts <= now - maxAge have expired.
      const s = this.seqAtOrAfterTime(now - maxAge + 1n)
      if (s > this.firstSeq) this.removeBelow(s)
    }
    if (this.msgs !== msgs0) this.settle()
    return { msgs: msgs0 - this.msgs, bytes: bytes0 - this.bytes }
  }
}
