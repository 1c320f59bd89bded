/**
 * Atomic batch publish (ADR-50; nats-server 2.12, `Nats-Batch-Commit: eob` 2.14), on streams with
 * `allow_atomic`. A publisher sends messages carrying `Nats-Batch-Id` and `Nats-Batch-Sequence` (1, 2, …);
 * the last also carries `Nats-Batch-Commit: 1` (stored) or `eob` (only closes the batch). Until the commit
 * the messages are staged here, invisible; the commit checks the whole batch as nats-server's
 * `checkMsgHeadersPreClusteredProposal` does, then the stream appends it in one atomic store call
 * (`appendBatch(…, { atomic: true })`) or not at all.
 *
 * Answers follow stream.go `processJetStreamAtomicBatchMsg`: a staged message gets an empty reply, the
 * commit a PubAck with `batch` and `count`; a gap, a batch over `max_msgs` (1000), a failed commit check or
 * an invalid commit value abandon the batch (the first two, and `timeout` (10 s) without a message, with the
 * `BATCH_ABANDONED` advisory). Staged messages live in memory only: a restart abandons every open batch,
 * silently, and its next message or commit gets 10176, as from nats-server. (nats-server R1 file streams
 * stage on disk only to finish a commit a crash cut short; at start it deletes every other staged batch.
 * Our commit is one atomic append, so there is no half-stored commit to finish.)
 */
import { Buffer } from "node:buffer"
import { headerValue } from "../../protocol/Headers.ts"
import type { AppendRecord, MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { accountedSize } from "../../store/Record.ts"
import { goQuote } from "../codec/GoJson.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import type { StreamConfig } from "../model/StreamConfig.ts"
import { applyIncrement, checkIncrement } from "./Counter.ts"
import { checkSchedulePublish } from "./MessageSchedule.ts"
import { effectiveTtl, ttlOf } from "./MessageTtl.ts"

export const BATCH_ID = "Nats-Batch-Id"
export const BATCH_SEQUENCE = "Nats-Batch-Sequence"
export const BATCH_COMMIT = "Nats-Batch-Commit"

/** The server's atomic batch limits (`jetstream { limits { batch {} } }`, stream/BatchLimits.ts). */
export interface AtomicBatchLimits {
  readonly maxBatchSize: number
  readonly maxPerStream: number
  readonly maxTotal: number
  readonly idleMs: number
}

/** nats-server's defaults (stream.go `streamDefaultMaxAtomicBatch*`, `streamDefaultMaxBatchTimeout`). */
export const DEFAULT_ATOMIC_LIMITS: AtomicBatchLimits = {
  maxBatchSize: 1000,
  maxPerStream: 50,
  maxTotal: 1000,
  idleMs: 10_000
}

/** setTimeout's longest delay: a later deadline is reached through intermediate sweeps. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Why a batch was abandoned: the advisory's `reason` (jetstream_events.go `BatchAbandonReason`). */
export type AbandonReason = "timeout" | "large" | "incomplete" | "unsupported"

/**
 * Open batches of every stream in this process: nats-server's `globalInflightAtomicBatches` is process-wide
 * too, so brokers embedded in one process share one count, each comparing it with its own `maxTotal`.
 */
const open = { total: 0 }

/** A message of a committed batch as the stream stores it, with what the stream does after storing it. */
export interface CommitRecord extends AppendRecord {
  readonly ttl: number
  readonly msgId: string | undefined
  readonly rollup: "sub" | "all" | undefined
}

/** What the batch logic needs from its stream (StreamActor supplies it). */
export interface AtomicHost {
  readonly config: StreamConfig
  readonly store: MessageLog
  readonly lastSeq: number
  readonly lastTs: bigint
  readonly nowNs: () => bigint
  readonly nowMs: () => number
  /** The sequence a live `Nats-Msg-Id` duplicate was stored at. */
  readonly duplicateOf: (msgId: string, nowNs: bigint) => number | undefined
  /** The subject a message is stored under (`subject_transform`). */
  readonly transformed: (subject: string) => string
  readonly storeFull: () => boolean
  readonly accountFull: (bytes: number) => boolean
  /** Queues an error answer (no answer without a reply or with `no_ack`); false. */
  readonly refuse: (reply: string | undefined, error: ApiError) => false
  /** Queues the empty answer to a staged message. */
  readonly staged: (reply: string) => void
  /** Appends the batch atomically and answers the commit; true when it was stored. */
  readonly commit: (
    records: ReadonlyArray<CommitRecord>,
    reply: string | undefined,
    id: string,
    count: number
  ) => boolean
  readonly abandoned: (id: string, reason: AbandonReason) => void
  /** Asks for `sweep` in about `ms` (through the stream's mailbox). */
  readonly wakeIn: (ms: number) => void
}

interface Staged {
  readonly subject: string
  readonly hdr: Uint8Array
  readonly data: Uint8Array
}

interface OpenBatch {
  readonly msgs: Array<Staged>
  lastActiveMs: number
}

export class AtomicBatches {
  private readonly batches = new Map<string, OpenBatch>()
  private wakeAtMs = Infinity
  private readonly limits: AtomicBatchLimits

  constructor(limits: AtomicBatchLimits = DEFAULT_ATOMIC_LIMITS) {
    this.limits = limits
  }

  get size(): number {
    return this.batches.size
  }

  /**
   * A client publish: undefined when it carries no `Nats-Batch-Id` (not a batch message), else whether
   * it stored messages (a commit did). Header lookups happen only for publishes with headers.
   */
  offer(host: AtomicHost, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array) {
    const hdr = msg.subarray(0, hdrLen)
    const id = headerValue(hdr, BATCH_ID)
    if (id === undefined || id === "") return undefined
    return this.receive(host, id, subject, reply, hdr, msg.subarray(hdrLen))
  }

  private receive(
    host: AtomicHost,
    id: string,
    subject: string,
    reply: string | undefined,
    hdr: Uint8Array,
    data: Uint8Array
  ): boolean {
    const cfg = host.config
    const limits = this.limits
    // The per-message checks nats-server makes before it looks at the batch: a refused message leaves
    // the batch open, and the gap it leaves abandons it at the next message.
    if (cfg.sealed) return host.refuse(reply, ApiErrors.streamSealed())
    if (host.storeFull()) return host.refuse(reply, ApiErrors.insufficientResources())
    if (host.accountFull(accountedSize(subject.length, hdr.length, data.length))) {
      return host.refuse(reply, ApiErrors.accountResourcesExceeded())
    }
    if (cfg.max_msg_size >= 0 && hdr.length + data.length > cfg.max_msg_size) {
      return host.refuse(reply, ApiErrors.streamMessageExceedsMaximum())
    }
    if (cfg.allow_atomic !== true) {
      // Turned off by an update: nats-server drops open batches then, without advisories.
      this.clear()
      return host.refuse(reply, ApiErrors.atomicPublishDisabled())
    }
    if (id.length > 64) return host.refuse(reply, ApiErrors.atomicPublishInvalidBatchID())
    const seqText = headerValue(hdr, BATCH_SEQUENCE)
    const seq = seqText === undefined || !/^\d{1,16}$/.test(seqText) ? undefined : Number(seqText)
    if (seq === undefined) return host.refuse(reply, ApiErrors.atomicPublishMissingSeq())
    const commitText = headerValue(hdr, BATCH_COMMIT)
    const commit = commitText !== undefined
    const eob = commitText === "eob"
    // The end-of-batch marker is not one of the batch's messages.
    const size = eob ? seq - 1 : seq
    const now = host.nowMs()
    let batch = this.batches.get(id)
    if (batch === undefined) {
      if (seq !== 1) {
        if (size > limits.maxBatchSize) {
          return host.refuse(reply, ApiErrors.atomicPublishTooLargeBatch(limits.maxBatchSize))
        }
        return host.refuse(reply, ApiErrors.atomicPublishIncompleteBatch())
      }
      if (this.batches.size >= limits.maxPerStream || open.total >= limits.maxTotal) {
        return host.refuse(reply, ApiErrors.atomicPublishTooManyInflight())
      }
      batch = { msgs: [], lastActiveMs: now }
      this.batches.set(id, batch)
      open.total++
      this.arm(host, now + limits.idleMs)
    }
    if (commit && !eob && commitText !== "1") {
      this.drop(id)
      return host.refuse(reply, ApiErrors.atomicPublishInvalidBatchCommit())
    }
    const idle = now - batch.lastActiveMs >= limits.idleMs
    if (seq !== batch.msgs.length + 1 || idle || (seq === 1 && eob)) {
      return this.abandon(host, id, "incomplete", reply, ApiErrors.atomicPublishIncompleteBatch())
    }
    if (size > limits.maxBatchSize) {
      return this.abandon(
        host,
        id,
        "large",
        reply,
        ApiErrors.atomicPublishTooLargeBatch(limits.maxBatchSize)
      )
    }
    batch.lastActiveMs = now
    // Copies: the publish's bytes are a view into a connection buffer that is reused.
    if (!eob) batch.msgs.push({ subject, hdr: hdr.slice(), data: data.slice() })
    if (!commit) {
      if (reply !== undefined && cfg.no_ack !== true) host.staged(reply)
      return false
    }
    this.drop(id)
    const checked = checkBatch(host, batch.msgs, eob)
    if (!checked.ok) return host.refuse(reply, checked.error)
    return host.commit(checked.records, reply, id, checked.records.length)
  }

  /** Abandons batches idle for the timeout, 10 s by default (run from the stream's mailbox). */
  sweep(host: AtomicHost): void {
    this.wakeAtMs = Infinity
    const now = host.nowMs()
    let next = Infinity
    for (const [id, b] of this.batches) {
      const due = b.lastActiveMs + this.limits.idleMs
      if (due <= now) {
        this.drop(id)
        if (host.config.allow_atomic === true) host.abandoned(id, "timeout")
      } else next = Math.min(next, due)
    }
    if (next !== Infinity) this.arm(host, next)
  }

  /** Drops every open batch without advisories (the stream stops, or atomic publish was turned off). */
  clear(): void {
    open.total -= this.batches.size
    this.batches.clear()
  }

  private abandon(host: AtomicHost, id: string, reason: AbandonReason, reply: string | undefined, error: ApiError) {
    this.drop(id)
    host.abandoned(id, reason)
    return host.refuse(reply, error)
  }

  private drop(id: string): void {
    if (this.batches.delete(id)) open.total--
  }

  private arm(host: AtomicHost, atMs: number): void {
    if (atMs >= this.wakeAtMs) return
    this.wakeAtMs = atMs
    host.wakeIn(Math.min(MAX_TIMER_MS, Math.max(1, atMs - host.nowMs())))
  }
}

type Checked =
  | { readonly ok: true; readonly records: Array<CommitRecord> }
  | { readonly ok: false; readonly error: ApiError }

const fail = (error: ApiError): Checked => ({ ok: false, error })

const parseSeq = (s: string): number | undefined => (/^\d{1,16}$/.test(s) ? Number(s) : undefined)

/**
 * The commit's checks over the whole batch, in message order, against the stream as it is plus the
 * messages of the batch before each one (nats-server's staged diff): the first failure refuses the batch.
 */
const checkBatch = (host: AtomicHost, msgs: ReadonlyArray<Staged>, eob: boolean): Checked => {
  const cfg = host.config
  const st = host.store.state()
  let ts = host.nowNs()
  if (ts <= host.lastTs) ts = host.lastTs + 1n
  const ids = new Set<string>()
  /** Messages of the batch so far, per subject. */
  const written = new Map<string, number>()
  /** Last sequences already checked for a subject (Nats-Expected-Last-Subject-Sequence). */
  const expected = new Map<string, number>()
  let bytes = 0
  const records: Array<CommitRecord> = []
  /** Each subject's last message in the batch so far (a schedule's end names one). */
  const staged = new Map<string, StoredMessage>()
  /** Counter streams: each subject's newest total, the batch's own messages included. */
  const counted = new Map<string, { readonly hdr: Uint8Array; readonly data: Uint8Array }>()
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!
    const subject = host.transformed(m.subject)
    let hdr = m.hdr
    let data = m.data
    // nats-server checks `Nats-Incr` first, inside a batch too, and sums increments over the batch.
    const incr = checkIncrement(hdr, data.length, cfg.allow_msg_counter === true, false)
    if (incr instanceof ApiError) return fail(incr)
    if (cfg.allow_msg_counter === true) {
      const c = applyIncrement(counted.get(subject) ?? host.store.lastBySubject(subject), hdr, data, incr, undefined)
      if (c instanceof ApiError) return fail(c)
      ;({ hdr, data } = c)
      counted.set(subject, c)
    }
    const lastId = headerValue(hdr, "Nats-Expected-Last-Msg-Id")
    if (lastId !== undefined && lastId !== "") {
      return fail(ApiErrors.atomicPublishUnsupportedHeaderBatch("Nats-Expected-Last-Msg-Id"))
    }
    if (hdr.length > 65535) return fail(ApiErrors.streamHeaderExceedsMaximum())
    const expectedStream = headerValue(hdr, "Nats-Expected-Stream")
    if (expectedStream !== undefined && expectedStream !== "" && expectedStream !== cfg.name) {
      return fail(ApiErrors.streamNotMatch())
    }
    let ttl = ttlOf(hdr)
    if (ttl === undefined || ttl !== 0) {
      if (cfg.allow_msg_ttl !== true) return fail(ApiErrors.messageTtlDisabled())
      if (ttl === undefined) return fail(ApiErrors.messageTtlInvalid())
    }
    let msgId = headerValue(hdr, "Nats-Msg-Id")
    if (msgId === "") msgId = undefined
    if (msgId !== undefined) {
      // A duplicate, of the stream's window or within the batch, fails the batch (2.12.1).
      if (ids.has(msgId) || host.duplicateOf(msgId, ts) !== undefined) {
        return fail(ApiErrors.atomicPublishContainsDuplicateMessage())
      }
      ids.add(msgId)
    }
    const lastSeq = headerValue(hdr, "Nats-Expected-Last-Sequence")
    if (lastSeq !== undefined) {
      if (parseSeq(lastSeq) !== host.lastSeq) return fail(ApiErrors.streamWrongLastSequence(host.lastSeq))
      // Only the first message may expect a last sequence: later ones would expect the batch's own.
      if (i > 0) return fail(ApiErrors.streamWrongLastSequenceConstant())
    }
    const lastSubjSeq = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence")
    const seqSubject = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence-Subject") ?? ""
    if (lastSubjSeq !== undefined) {
      const on = seqSubject || subject
      // A subject this batch already wrote to has no last sequence to expect yet.
      if (written.has(on)) return fail(ApiErrors.streamWrongLastSequenceConstant())
      const want = parseSeq(lastSubjSeq)
      let have = expected.get(on)
      if (have === undefined) {
        have = host.store.lastBySubject(on)?.seq ?? 0
        if (want === have) expected.set(on, have)
      }
      if (want !== have) return fail(ApiErrors.streamWrongLastSequence(have))
    } else if (seqSubject !== "") return fail(ApiErrors.streamExpectedLastSeqPerSubjectInvalid())
    // Schedule headers are checked as on a single publish, against the stream and the batch's own earlier
    // messages; a schedule gains `Nats-Rollup: sub`, so only its subject's first message in a batch may be one.
    const sched = checkSchedulePublish(hdr, subject, cfg, (f) => staged.get(f) ?? host.store.lastBySubject(f), ts)
    if (sched instanceof Uint8Array) hdr = sched
    else if (sched !== undefined) return fail(sched)
    const r = headerValue(hdr, "Nats-Rollup")
    let rollup: "sub" | "all" | undefined
    if (r !== undefined && r !== "") {
      if (!cfg.allow_rollup_hdrs || cfg.deny_purge) return fail(ApiErrors.streamRollupFailed("rollup not permitted"))
      if (r === "sub") {
        // Only the subject's first message in the batch may roll it up (later ones would remove earlier ones).
        if (written.has(subject)) return fail(ApiErrors.streamRollupFailed("batch rollup sub invalid"))
        rollup = "sub"
      } else if (r === "all") {
        if (i > 0) return fail(ApiErrors.streamRollupFailed("batch rollup all invalid"))
        rollup = "all"
      } else return fail(ApiErrors.streamRollupFailed(`rollup value invalid: ${goQuote(r)}`))
    }
    const inSubject = (written.get(subject) ?? 0) + 1
    written.set(subject, inSubject)
    bytes += accountedSize(subject.length, hdr.length, data.length)
    if (cfg.discard === "new") {
      if (cfg.max_msgs > 0 && st.msgs + i + 1 > cfg.max_msgs) {
        return fail(ApiErrors.streamStoreFailed("maximum messages exceeded"))
      }
      if (cfg.max_bytes > 0 && st.bytes + bytes > cfg.max_bytes) {
        return fail(ApiErrors.streamStoreFailed("maximum bytes exceeded"))
      }
      if (cfg.discard_new_per_subject === true && cfg.max_msgs_per_subject > 0 && rollup === undefined) {
        const stored = host.store.subjectCounts(subject).get(subject) ?? 0
        if (stored + inSubject > cfg.max_msgs_per_subject) {
          return fail(ApiErrors.streamStoreFailed("maximum messages per subject exceeded"))
        }
      }
    }
    if (ttl > 0) ({ ttl, hdr } = effectiveTtl(hdr, ttl, cfg.subject_delete_marker_ttl ?? 0, cfg.max_msgs_per_subject))
    // Closed by an end-of-batch marker, the last stored message carries the usual commit header.
    if (eob && i === msgs.length - 1) hdr = withCommitHeader(hdr)
    records.push({ subject, hdr, data, ts: ts + BigInt(i), ttl, msgId, rollup })
    staged.set(subject, { subject, hdr, data, ts: ts + BigInt(i), seq: 0 })
  }
  return { ok: true, records }
}

/** The header block with `Nats-Batch-Commit: 1` appended (nats-server `genHeader`). */
const withCommitHeader = (hdr: Uint8Array): Uint8Array => {
  const line = Buffer.from(`${BATCH_COMMIT}: 1\r\n\r\n`, "latin1")
  const out = new Uint8Array(hdr.length - 2 + line.length)
  out.set(hdr.subarray(0, hdr.length - 2))
  out.set(line, hdr.length - 2)
  return out
}
