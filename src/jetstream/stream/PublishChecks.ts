/**
 * nats-server's publish checks, in its order, and the append of a message that passed them: plain synchronous
 * code over the stream actor's state, run once per message inside the actor's batch.
 */
import type { MsgTrace } from "../../core/MsgTrace.ts"
import { headerValue } from "../../protocol/Headers.ts"
import { isStoreError } from "../../store/StoreError.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import { applyIncrement, checkIncrement } from "./Counter.ts"
import { checkSchedulePublish, type MessageSchedules, scheduleEndedBy } from "./MessageSchedule.ts"
import { effectiveTtl, type MessageExpiry, ttlOf } from "./MessageTtl.ts"
import { storeErrorText, storeFailed, type StoringStream, tryStore } from "./StoreFailure.ts"
import type { StreamConsumer, StreamContext } from "./StreamContext.ts"
import { traceAccepted } from "./StreamTrace.ts"
import { republishing, type RewritingStream, transformed } from "./SubjectRewrites.ts"

const EMPTY = new Uint8Array(0)

/** The part of a stream actor that publishing reads and changes. */
export interface PublishingStream extends StoringStream, RewritingStream {
  readonly ctx: Pick<StreamContext, "log" | "nowNs" | "storeFull" | "accountFull">
  readonly consumers: ReadonlyMap<string, StreamConsumer>
  readonly expiry: MessageExpiry
  readonly schedules: MessageSchedules
  /** The trace of the publish being processed (set around processPublish only). */
  tracing: MsgTrace | undefined
  /** What the last publish check refused, or the sequence it found a duplicate of (read by storeFastBatchMsg). */
  refusal: ApiError | undefined
  duplicateOf: number
  /**
   * Bumped whenever messages are removed in bulk or out of order (purge, limits, expiry, rollup,
   * message delete), so consumers know their incremental num_pending must be recounted.
   */
  removedGen: number
}

export const queueError = (s: PublishingStream, reply: string | undefined, error: ApiError): false => {
  s.refusal = error
  s.tracing?.jetStreamError(error.description)
  return s.config.no_ack === true ? false : s.acks.error(reply, error)
}

/**
 * nats-server's publish checks, in its order. Returns true when a message was appended.
 * Errors are answered in the same batch (after the sync) so replies keep publish order.
 */
export const processPublish = (
  s: PublishingStream,
  inSubject: string,
  reply: string | undefined,
  hdrLen: number,
  msg: Uint8Array,
  origin?: "source" | "marker" | "schedule",
  /** A sourced message's subject in its origin stream (counters aggregate by it). */
  originSubject?: string
): boolean => {
  const cfg = s.config
  if (cfg.sealed) return queueError(s, reply, ApiErrors.streamSealed())
  // A store that refuses writes may hold appends that never became durable: not even a duplicate
  // of one may be acknowledged (its original may be the lost append).
  const broken = s.store.failure
  if (broken !== undefined) return queueError(s, reply, ApiErrors.streamStoreFailed(storeErrorText(broken)))
  // 2.10 (stream.go processJetStreamMsg): renamed before anything else; no match keeps the subject.
  const subject = origin === "marker" ? inSubject : transformed(s, inSubject)
  let hdr = hdrLen > 0 ? msg.subarray(0, hdrLen) : undefined
  let data = hdrLen > 0 ? msg.subarray(hdrLen) : msg
  // The store needs non-decreasing timestamps (time lookups, max_age); a wall clock can step back.
  let now = s.ctx.nowNs()
  if (now <= s.lastTs) now = s.lastTs + 1n
  let msgId: string | undefined
  let rollup: "sub" | "all" | undefined
  let incr: bigint | undefined
  let val: string | undefined
  if (hdr !== undefined) {
    // nats-server checks `Nats-Incr` first (Counter.ts).
    const i = checkIncrement(hdr, data.length, cfg.allow_msg_counter === true, origin === "source")
    if (i instanceof ApiError) return queueError(s, reply, i)
    incr = i
    const expectedStream = headerValue(hdr, "Nats-Expected-Stream")
    if (expectedStream !== undefined && expectedStream !== "" && expectedStream !== cfg.name) {
      return queueError(s, reply, ApiErrors.streamNotMatch())
    }
    // Sources store TTL'd messages whatever this stream's setting (ADR-43).
    if (origin !== "source" && cfg.allow_msg_ttl !== true && (ttlOf(hdr) ?? 0) !== 0) {
      return queueError(s, reply, ApiErrors.messageTtlDisabled())
    }
    msgId = headerValue(hdr, "Nats-Msg-Id")
    if (msgId === "") msgId = undefined
    if (msgId !== undefined) {
      const dup = s.dedupe.check(msgId, now)
      if (dup !== undefined) {
        s.duplicateOf = dup
        if (reply !== undefined && s.config.no_ack !== true) s.acks.stored(reply, dup, true)
        return false
      }
    }
    const lastSubjSeq = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence")
    // 2.11: the subject (wildcards allowed) whose last sequence is checked, instead of the message's.
    const seqSubject = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence-Subject") ?? ""
    if (lastSubjSeq === undefined && seqSubject !== "") {
      return queueError(s, reply, ApiErrors.streamExpectedLastSeqPerSubjectInvalid())
    }
    if (lastSubjSeq !== undefined) {
      const want = parseSeq(lastSubjSeq)
      const have = s.store.lastBySubject(seqSubject || subject)?.seq ?? 0
      if (want === undefined || want !== have) return queueError(s, reply, ApiErrors.streamWrongLastSequence(have))
    }
    const lastSeq = headerValue(hdr, "Nats-Expected-Last-Sequence")
    if (lastSeq !== undefined) {
      const want = parseSeq(lastSeq)
      if (want === undefined || want !== s.lastSeq) {
        return queueError(s, reply, ApiErrors.streamWrongLastSequence(s.lastSeq))
      }
    }
    const lastId = headerValue(hdr, "Nats-Expected-Last-Msg-Id")
    if (lastId !== undefined && lastId !== "" && lastId !== s.lastMsgId) {
      return queueError(s, reply, ApiErrors.streamWrongLastMsgID(s.lastMsgId))
    }
    if (origin === undefined) {
      const sched = checkSchedulePublish(hdr, subject, cfg, (f) => s.store.lastBySubject(f), now)
      if (sched instanceof Uint8Array) hdr = sched
      else if (sched !== undefined) return queueError(s, reply, sched)
    }
    const r = headerValue(hdr, "Nats-Rollup")
    if (r !== undefined && r !== "") {
      if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
        return queueError(s, reply, ApiErrors.streamRollupFailed("rollup not permitted"))
      }
      if (r === "sub") rollup = "sub"
      else if (r === "all") rollup = "all"
      // nats-server drops a message with an unknown rollup value without answering.
      else return false
    }
  }
  if (cfg.allow_msg_counter === true && origin !== "marker") {
    const last = s.store.lastBySubject(subject)
    const c = applyIncrement(last, hdr, data, incr, origin === "source" ? originSubject ?? inSubject : undefined)
    if (c instanceof ApiError) return queueError(s, reply, c)
    ;({ hdr, data, val } = c)
  }
  const size = (hdr?.length ?? 0) + data.length
  if (cfg.max_msg_size >= 0 && size > cfg.max_msg_size) {
    return queueError(s, reply, ApiErrors.streamMessageExceedsMaximum())
  }
  if ((hdr?.length ?? 0) > 65535) return queueError(s, reply, ApiErrors.streamHeaderExceedsMaximum())
  if (s.ctx.storeFull?.(cfg.storage) === true) return queueError(s, reply, ApiErrors.insufficientResources())
  if (s.ctx.accountFull?.(cfg.storage, accountGrowth(s, subject.length + size + 16)) === true) {
    return queueError(s, reply, ApiErrors.accountResourcesExceeded())
  }
  if (cfg.discard === "new") {
    const reject = discardNewRejects(s, subject, size)
    if (reject !== undefined) return queueError(s, reply, ApiErrors.streamStoreFailed(reject))
  }
  let ttl = ttlOf(hdr)
  if (ttl === undefined) return queueError(s, reply, ApiErrors.messageTtlInvalid())
  if (hdr !== undefined && ttl > 0) {
    ;({ ttl, hdr } = effectiveTtl(hdr, ttl, cfg.subject_delete_marker_ttl ?? 0, cfg.max_msgs_per_subject))
  }
  // Trace-only: every check passed, nothing is stored (nats-server: right before the store).
  const t = s.tracing
  if (t !== undefined && traceAccepted(t, subject, cfg.retention === "interest" && !hasInterestIn(s, subject))) {
    return false
  }
  const rp = republishing(s)
  const republishTo = rp?.destination(subject)
  // Nats-Last-Sequence: the subject's previous message, looked up only when republishing.
  const subjectLast = republishTo === undefined ? 0 : s.store.lastBySubject(subject)?.seq ?? 0
  let seq: number
  try {
    seq = s.store.appendBatch([{ subject, hdr, data, ts: now }])[0]!
    // A rollup removes stored messages: its own must be written first, or a failed write would lose both.
    if (rollup !== undefined) s.store.flush()
  } catch (e) {
    if (!isStoreError(e)) throw e
    storeFailed(s, e)
    return queueError(s, reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
  }
  s.lastSeq = seq
  s.lastTs = now
  if (ttl > 0 && cfg.allow_msg_ttl === true) s.expiry.track(seq, now, ttl)
  s.lastMsgId = msgId ?? ""
  if (msgId !== undefined) s.dedupe.record(msgId, seq, now)
  if (republishTo !== undefined) rp!.queue(republishTo, subject, seq, subjectLast, hdr, data, now)
  // Queued first: a failure below that takes this append back turns it into the error.
  if (reply !== undefined && s.config.no_ack !== true) s.acks.stored(reply, seq, false, val)
  // Interest retention keeps a message only while some consumer wants it.
  if (cfg.retention === "interest" && !hasInterestIn(s, subject)) {
    tryStore(s, "remove a msg", () => s.store.remove(seq))
  }
  if (rollup !== undefined) {
    tryStore(s, "roll up", () => s.store.purge(rollup === "sub" ? { filter: subject, keep: 1 } : { keep: 1 }))
    s.removedGen++
  }
  if (cfg.allow_msg_schedules === true || origin === "source") scheduled(s, seq, subject, hdr, now)
  return s.lastSeq === seq
}

export const hasInterestIn = (s: PublishingStream, subject: string): boolean => {
  for (const c of s.consumers.values()) if (c.wants(subject)) return true
  return false
}

/** After a store on a stream with schedules (or a sourced one): follow them, purge an ended one. */
export const scheduled = (
  s: PublishingStream,
  seq: number,
  subject: string,
  hdr: Uint8Array | undefined,
  ts: bigint
): void => {
  const cfg = s.config
  if (cfg.allow_msg_schedules === true) s.schedules.stored({ seq, subject, hdr, data: EMPTY, ts }, s.store)
  const ended = cfg.allow_rollup_hdrs && !cfg.deny_purge ? scheduleEndedBy(hdr) : undefined
  if (ended === undefined) return
  tryStore(s, "purge a schedule", () => s.store.purge({ filter: ended }))
  s.removedGen++
}

/**
 * How much this message grows the stream once discard-old limits have trimmed it: nats-server
 * judges the account's usage after the store made room, so a full stream that evicts its oldest
 * message does not count against the account (max_msgs eviction estimated at the average size).
 */
export const accountGrowth = (s: PublishingStream, accounted: number): number => {
  const cfg = s.config
  if (cfg.discard !== "old") return accounted
  const st = s.store.state()
  let after = st.bytes + accounted
  if (cfg.max_msgs > 0 && st.msgs >= cfg.max_msgs && st.msgs > 0) {
    after -= (st.msgs + 1 - cfg.max_msgs) * (st.bytes / st.msgs)
  }
  if (cfg.max_bytes > 0) after = Math.min(after, cfg.max_bytes)
  return after - st.bytes
}

/**
 * Discard new. As in nats-server, a subject already at its per-subject limit replaces its oldest
 * message, so it is exempt from max_msgs. Bytes are checked strictly (the whole accounted size of
 * the message must fit, after that replacement); nats-server 2.9 compares only headers + payload
 * and may then evict older messages, which discard new promises not to do.
 */
export const discardNewRejects = (s: PublishingStream, subject: string, size: number): string | undefined => {
  const cfg = s.config
  const st = s.store.state()
  const perSubject = cfg.max_msgs_per_subject > 0 ? s.store.subjectCounts(subject).get(subject) ?? 0 : 0
  const atSubjectLimit = cfg.max_msgs_per_subject > 0 && perSubject >= cfg.max_msgs_per_subject
  if (atSubjectLimit && cfg.discard_new_per_subject === true) return "maximum messages per subject exceeded"
  if (cfg.max_msgs > 0 && st.msgs >= cfg.max_msgs && !atSubjectLimit) return "maximum messages exceeded"
  const accounted = subject.length + size + 16
  if (cfg.max_bytes > 0 && st.bytes + accounted > cfg.max_bytes) {
    if (!atSubjectLimit) return "maximum bytes exceeded"
    const oldest = s.store.firstSeqMatching(st.firstSeq, subject)
    const m = oldest === undefined ? undefined : s.store.get(oldest)
    const freed = m === undefined ? 0 : m.subject.length + (m.hdr?.length ?? 0) + m.data.length + 16
    if (st.bytes - freed + accounted > cfg.max_bytes) return "maximum bytes exceeded"
  }
  return undefined
}

const parseSeq = (s: string): number | undefined => (/^\d{1,16}$/.test(s) ? Number(s) : undefined)
