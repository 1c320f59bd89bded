/**
 * A consumer's num_pending (undelivered messages matching any of its filters), kept incrementally.
 *
 * Every delivery puts the count in its ack subject, so recounting from the store each time makes a
 * drain quadratic. Instead: count once, subtract each first delivery, add only the newly appended
 * range when the stream grows, and recount in full only after the stream removed messages in bulk
 * (its `removedGen` moved: purge, limits, expiry, rollup, delete).
 */
import type { MessageLog } from "../../store/MessageLog.ts"
import type { ConsumerFilter } from "./ConsumerFilter.ts"

export class PendingCounter {
  private count = 0
  /** Stream sequence up to which `count` has seen appends; -1 = never counted. */
  private countedUpTo = -1
  private gen = -1

  /** Undelivered matching messages at or after `nextSeq`. */
  current(store: MessageLog, nextSeq: number, filter: ConsumerFilter, removedGen: number): number {
    const from = Math.max(nextSeq, store.firstSequence())
    const lastSeq = store.lastSequence()
    if (this.gen !== removedGen || this.countedUpTo < 0) {
      this.count = filter.count(store, from)
      this.countedUpTo = lastSeq
      this.gen = removedGen
    } else if (lastSeq > this.countedUpTo) {
      this.count += filter.count(store, Math.max(this.countedUpTo + 1, from))
      this.countedUpTo = lastSeq
    }
    return this.count
  }

  /** A first delivery of `sseq` (it was counted if the count had already seen it). */
  delivered(sseq: number): void {
    if (this.countedUpTo >= 0 && sseq <= this.countedUpTo && this.count > 0) this.count--
  }
}
