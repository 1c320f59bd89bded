/**
 * The stream as its batches see it: the host views AtomicBatch.ts and FastBatch.ts work against, and how a
 * committed atomic batch or a fast-batch message is stored.
 */
import { isStoreError } from "../../store/StoreError.ts"
import { typedEvent } from "../consumer/Events.ts"
import { ApiErrors } from "../model/ApiError.ts"
import type { AtomicHost, CommitRecord } from "./AtomicBatch.ts"
import type { FastBatchHost, FastStoreOutcome } from "./FastBatch.ts"
import {
  accountGrowth,
  hasInterestIn,
  processPublish,
  type PublishingStream,
  queueError,
  scheduled
} from "./PublishChecks.ts"
import { storeErrorText, storeFailed, tryStore } from "./StoreFailure.ts"
import type { StreamContext } from "./StreamContext.ts"
import { republishing, transformed } from "./SubjectRewrites.ts"

/** What a stream's batches need of its actor: publishing, and the advisory's client and clock. */
export interface BatchingStream extends PublishingStream {
  readonly ctx: Pick<StreamContext, "log" | "nowNs" | "storeFull" | "accountFull" | "client" | "domain" | "nowMs">
}

/**
 * The stream as its atomic batches see it (AtomicBatch.ts); `sweepIn` asks for a sweep through the mailbox.
 * The view's getters read the actor's current state.
 */
export const makeAtomicHost = (self: BatchingStream, sweepIn: (ms: number) => void): AtomicHost => ({
  get config() {
    return self.config
  },
  get store() {
    return self.store
  },
  get lastSeq() {
    return self.lastSeq
  },
  get lastTs() {
    return self.lastTs
  },
  nowNs: () => self.ctx.nowNs(),
  nowMs: () => (self.ctx.nowMs ?? Date.now)(),
  duplicateOf: (id, now) => self.dedupe.check(id, now),
  transformed: (subject) => transformed(self, subject),
  storeFull: () => self.ctx.storeFull?.(self.config.storage) === true,
  accountFull: (bytes) => self.ctx.accountFull?.(self.config.storage, accountGrowth(self, bytes)) === true,
  refuse: (reply, error) => queueError(self, reply, error),
  staged: (reply) => self.acks.empty(reply),
  commit: (records, reply, id, count) => storeAtomic(self, records, reply, id, count),
  abandoned: (batch, reason) =>
    typedEvent(
      self.ctx.client,
      `$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.${self.name}`,
      "stream_batch_abandoned",
      (self.ctx.nowMs ?? Date.now)(),
      { stream: self.name, ...(self.ctx.domain === undefined ? {} : { domain: self.ctx.domain }), batch, reason }
    ),
  wakeIn: sweepIn
})

/**
 * A committed atomic batch: one atomic append (all or nothing, across a crash too), then what
 * processPublish does after its append, message by message. Rollups purge only below their own
 * message, so the batch's later messages stay, as if stored one by one.
 */
const storeAtomic = (
  s: BatchingStream,
  records: ReadonlyArray<CommitRecord>,
  reply: string | undefined,
  id: string,
  count: number
): boolean => {
  const cfg = s.config
  const broken = s.store.failure
  if (broken !== undefined) return queueError(s, reply, ApiErrors.streamStoreFailed(storeErrorText(broken)))
  const rp = republishing(s)
  // Nats-Last-Sequence of a republished message: its subject's previous one, maybe earlier in the batch.
  const previous = new Map<string, number>()
  if (rp !== undefined) {
    for (const r of records) {
      if (!previous.has(r.subject)) previous.set(r.subject, s.store.lastBySubject(r.subject)?.seq ?? 0)
    }
  }
  let seqs: Array<number>
  try {
    seqs = s.store.appendBatch(records, { atomic: true })
    if (records.some((r) => r.rollup !== undefined)) s.store.flush()
  } catch (e) {
    if (!isStoreError(e)) throw e
    storeFailed(s, e)
    return queueError(s, reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
  }
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const seq = seqs[i]!
    s.lastSeq = seq
    s.lastTs = r.ts
    if (r.ttl > 0 && cfg.allow_msg_ttl === true) s.expiry.track(seq, r.ts, r.ttl)
    s.lastMsgId = r.msgId ?? ""
    if (r.msgId !== undefined) s.dedupe.record(r.msgId, seq, r.ts)
    const to = rp?.destination(r.subject)
    if (to !== undefined) rp!.queue(to, r.subject, seq, previous.get(r.subject) ?? 0, r.hdr, r.data, r.ts)
    previous.set(r.subject, seq)
  }
  if (reply !== undefined && cfg.no_ack !== true) s.acks.storedBatch(reply, s.lastSeq, id, count)
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!
    const seq = seqs[i]!
    if (cfg.retention === "interest" && !hasInterestIn(s, r.subject)) {
      tryStore(s, "remove a msg", () => s.store.remove(seq))
    }
    if (r.rollup !== undefined) {
      tryStore(s, "roll up", () => s.store.purge(r.rollup === "sub" ? { filter: r.subject, seq } : { seq }))
      s.removedGen++
    }
    if (cfg.allow_msg_schedules === true) scheduled(s, seq, r.subject, r.hdr, r.ts)
  }
  return true
}

/** The stream as its fast-ingest batches see it (FastBatch.ts). */
export const makeFastBatchHost = (actor: BatchingStream): FastBatchHost => ({
  get config() {
    return actor.config
  },
  resourcesRefusal: (subject, bytes) =>
    actor.ctx.storeFull?.(actor.config.storage) === true
      ? ApiErrors.insufficientResources()
      : actor.ctx.accountFull?.(actor.config.storage, accountGrowth(actor, subject.length + bytes + 16)) === true
      ? ApiErrors.accountResourcesExceeded()
      : undefined,
  store: (subject, hdrLen, msg) => storeFastBatchMsg(actor, subject, hdrLen, msg),
  answers: actor.acks,
  nowMs: actor.ctx.nowMs ?? Date.now
})

/** A batch message through the publish checks, without a PubAck of its own: the batch answers. */
const storeFastBatchMsg = (s: BatchingStream, subject: string, hdrLen: number, msg: Uint8Array): FastStoreOutcome => {
  s.refusal = undefined
  s.duplicateOf = 0
  try {
    if (processPublish(s, subject, undefined, hdrLen, msg)) return { _tag: "Stored", seq: s.lastSeq }
  } catch (e) {
    if (!isStoreError(e)) throw e
    storeFailed(s, e, "check a msg")
    return { _tag: "Refused", error: ApiErrors.streamStoreFailed(storeErrorText(e)) }
  }
  if (s.refusal !== undefined) return { _tag: "Refused", error: s.refusal }
  return s.duplicateOf > 0 ? { _tag: "Duplicate", seq: s.duplicateOf } : { _tag: "Dropped" }
}
