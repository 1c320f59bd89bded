/**
 * A consumer's delivery and acknowledgement bookkeeping (pure, no I/O).
 *
 * - `nextSeq` is the next stream sequence to consider for first delivery.
 * - `delivered` counts every delivery (first or redelivery), like nats-server's consumer sequence.
 * - `pending` holds delivered-but-unacknowledged messages keyed by stream sequence. First
 *   deliveries are inserted in increasing stream order and never re-inserted, so the Map's first
 *   key is always the lowest pending sequence (the ack floor is derived from it).
 * - `redeliver` is the queue of stream sequences due for redelivery, kept sorted.
 */
import { Schema } from "effect"

export interface PendingEntry {
  /** Consumer sequence of the latest delivery of this message. */
  dseq: number
  /**
   * Consumer sequence of its first delivery: what the ack floor is measured in (nats-server keeps
   * a pending message's original sequence on redelivery, so acking it moves the floor past it).
   */
  first: number
  /** Deliveries so far. */
  count: number
  /** When the current delivery times out (ms, from the actor's clock). */
  deadline: number
}

export interface SeqPair {
  readonly consumer_seq: number
  readonly stream_seq: number
}

export class AckState {
  nextSeq: number
  /** Last consumer sequence handed out. */
  delivered = 0
  /** Stream sequence of the last delivery. */
  lastDeliveredStreamSeq = 0
  readonly pending = new Map<number, PendingEntry>()
  /**
   * Redelivery counts by stream sequence, as nats-server keeps them: dropped on ack or term, but
   * kept when max_deliver gives up on a message (num_redelivered reports this map's size).
   */
  private readonly redelivered = new Map<number, number>()
  private redeliver: Array<number> = []
  /** Ack floor: consumer and stream sequence below which everything is acknowledged. */
  private floorD = 0
  private floorS = 0
  lastDeliveredAt = 0
  lastAckAt = 0

  constructor(nextSeq: number) {
    this.nextSeq = nextSeq
    this.floorS = Math.max(0, nextSeq - 1)
  }

  /** Records a delivery and returns its pending entry (a throwaway one when acks are not tracked). */
  onDeliver(sseq: number, nowMs: number, ackWaitMs: number, tracked: boolean): PendingEntry {
    const dseq = ++this.delivered
    this.lastDeliveredStreamSeq = sseq
    this.lastDeliveredAt = nowMs
    if (sseq >= this.nextSeq) this.nextSeq = sseq + 1
    if (!tracked) {
      // Ack none: every delivery is its own acknowledgement.
      this.floorD = dseq
      this.floorS = sseq
      return { dseq, first: dseq, count: 1, deadline: Infinity }
    }
    let p = this.pending.get(sseq)
    if (p === undefined) {
      p = { dseq, first: dseq, count: 1, deadline: nowMs + ackWaitMs }
      this.pending.set(sseq, p)
    } else {
      p.dseq = dseq
      p.count++
      p.deadline = nowMs + ackWaitMs
      this.redelivered.set(sseq, p.count - 1)
    }
    return p
  }

  get numAckPending(): number {
    return this.pending.size
  }

  get numRedelivered(): number {
    return this.redelivered.size
  }

  ackFloor(): SeqPair {
    return { consumer_seq: this.floorD, stream_seq: this.floorS }
  }

  /**
   * Explicit ack (also used by TERM). `dseq` is the consumer sequence from the ack subject. The
   * floor moves as nats-server moves it: to the delivered position when nothing is pending, or
   * up to just below the next pending message when this ack closed the gap at the floor.
   */
  ack(sseq: number, dseq: number, nowMs: number): boolean {
    const p = this.pending.get(sseq)
    let d = dseq
    if (p !== undefined) {
      this.pending.delete(sseq)
      d = p.first
    }
    if (this.pending.size === 0) {
      this.floorD = this.delivered
      this.floorS = this.nextSeq - 1
    } else if (d === this.floorD + 1) {
      this.floorD = d
      this.floorS = sseq
      for (let ss = sseq + 1; ss < this.nextSeq; ss++) {
        const q = this.pending.get(ss)
        if (q !== undefined) {
          this.floorD = q.first - 1
          this.floorS = ss - 1
          break
        }
      }
    }
    this.redelivered.delete(sseq)
    this.dropRedelivery(sseq)
    if (p !== undefined) this.lastAckAt = nowMs
    return p !== undefined
  }

  /** Ack-all: everything from the floor up to and including `sseq`. Returns the acked sequences. */
  ackUpTo(sseq: number, dseq: number, nowMs: number): Array<number> {
    if (dseq <= this.floorD || sseq <= this.floorS) return []
    const acked: Array<number> = []
    for (let s = this.floorS + 1; s <= sseq; s++) {
      if (this.pending.delete(s)) acked.push(s)
      this.redelivered.delete(s)
      this.dropRedelivery(s)
    }
    this.floorD = dseq
    this.floorS = sseq
    this.lastAckAt = nowMs
    return acked
  }

  /** max_deliver reached: stop tracking without moving the floor (nats-server does the same). */
  giveUp(sseq: number): void {
    this.pending.delete(sseq)
    this.dropRedelivery(sseq)
  }

  /** Schedule for redelivery now (NAK without delay, ack wait expiry). */
  queueRedelivery(sseq: number): void {
    if (!this.pending.has(sseq)) return
    const q = this.redeliver
    let lo = 0
    let hi = q.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (q[mid]! < sseq) lo = mid + 1
      else hi = mid
    }
    if (q[lo] !== sseq) q.splice(lo, 0, sseq)
  }

  private dropRedelivery(sseq: number): void {
    const i = this.redeliver.indexOf(sseq)
    if (i >= 0) this.redeliver.splice(i, 1)
  }

  get hasRedeliveries(): boolean {
    return this.redeliver.length > 0
  }

  /** Next sequence to redeliver (lowest first), removed from the queue. */
  takeRedelivery(): number | undefined {
    return this.redeliver.shift()
  }

  /**
   * Moves every pending message whose deadline passed onto the redelivery queue. Returns the earliest deadline
   * still ahead (Infinity if none), found in the same pass, so the caller need not scan the pending set again.
   */
  expire(nowMs: number): number {
    let earliest = Infinity
    for (const [sseq, p] of this.pending) {
      if (p.deadline <= nowMs) {
        this.queueRedelivery(sseq)
        // Not re-armed until it is actually redelivered.
        p.deadline = Infinity
      } else if (p.deadline < earliest) earliest = p.deadline
    }
    return earliest
  }

  toJson(): AckStateJson {
    return {
      nextSeq: this.nextSeq,
      delivered: this.delivered,
      lastDeliveredStreamSeq: this.lastDeliveredStreamSeq,
      floor: [this.floorD, this.floorS],
      pending: [...this.pending].map(([s, p]) => [s, p.first, p.count] as const),
      redelivered: [...this.redelivered]
    }
  }

  static fromJson(j: AckStateJson): AckState {
    if (typeof j?.nextSeq !== "number" || !Array.isArray(j.pending)) throw new Error("not a consumer state snapshot")
    const s = new AckState(j.nextSeq)
    s.delivered = j.delivered
    s.lastDeliveredStreamSeq = j.lastDeliveredStreamSeq
    s.floorD = j.floor[0]
    s.floorS = j.floor[1]
    for (const [seq, first, count] of j.pending) s.pending.set(seq, { dseq: first, first, count, deadline: 0 })
    for (const [seq, n] of j.redelivered) s.redelivered.set(seq, n)
    return s
  }

  /** After recovery: every pending message gets a fresh ack wait, as if just delivered. */
  rearm(deadline: number): void {
    for (const p of this.pending.values()) p.deadline = deadline
  }

  /**
   * CONSUMER.RESET (2.14, ADR-60): as if newly created at stream sequence `seq` (which is next),
   * nothing pending or redelivered, consumer sequences from 1 again; the ack floor's stream sequence
   * is just below `seq`, and neither floor nor delivery has a last-active time.
   */
  reset(seq: number): void {
    this.nextSeq = seq
    this.delivered = 0
    this.lastDeliveredStreamSeq = seq - 1
    this.pending.clear()
    this.redelivered.clear()
    this.redeliver = []
    this.floorD = 0
    this.floorS = seq - 1
    this.lastDeliveredAt = 0
    this.lastAckAt = 0
  }

  /** Forget pending messages that the stream no longer has (purged, deleted, expired). */
  dropBelow(firstSeq: number): void {
    for (const s of [...this.pending.keys()]) {
      if (s >= firstSeq) break
      this.pending.delete(s)
      this.dropRedelivery(s)
    }
    if (this.nextSeq < firstSeq) this.nextSeq = firstSeq
  }
}

/** JSON form of an AckState (journal snapshots). Deadlines are not kept: they restart on recovery. */
export interface AckStateJson {
  readonly nextSeq: number
  readonly delivered: number
  readonly lastDeliveredStreamSeq: number
  readonly floor: readonly [number, number]
  /** [stream seq, consumer seq, deliveries] */
  readonly pending: ReadonlyArray<readonly [number, number, number]>
  /** [stream seq, redeliveries] */
  readonly redelivered: ReadonlyArray<readonly [number, number]>
}

export const encodeAckState = (s: AckState): AckStateJson => s.toJson()

const Seq = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/** A snapshot as stored; `AckStateJson` is checked against it below. */
export const AckStateDoc = Schema.Struct({
  nextSeq: Seq,
  delivered: Seq,
  lastDeliveredStreamSeq: Seq,
  floor: Schema.Tuple([Seq, Seq]),
  pending: Schema.Array(Schema.Tuple([Seq, Seq, Seq])),
  redelivered: Schema.Array(Schema.Tuple([Seq, Seq]))
})
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
true satisfies Same<typeof AckStateDoc.Type, AckStateJson>

const decodeDoc = Schema.decodeUnknownSync(AckStateDoc, { onExcessProperty: "error" })

/** Throws on anything but a well-formed snapshot (the event log turns that into Corrupt naming the file). */
export const decodeAckState = (u: unknown): AckState => AckState.fromJson(decodeDoc(u))
