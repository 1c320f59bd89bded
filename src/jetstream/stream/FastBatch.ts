/**
 * Fast-ingest batches (ADR-50, nats-server 2.14 `processJetStreamFastBatchMsg`): a publisher streams
 * messages into a stream with `allow_batched`, each carrying a reply subject that names the batch,
 *
 *   `<prefix>.<id>.<flow>.<gap ok|fail>.<batch seq>.<op>.$FI`   (op 0 start, 1 append, 2 commit,
 *                                                                3 commit without storing, 4 ping)
 *
 * and the server answers on those replies with flow messages instead of one PubAck per message:
 * `{"type":"ack","seq":n,"msgs":m}` once every `m` persisted messages, `{"type":"gap",...}` when
 * batch sequences are missing, `{"type":"err",...}` when a message fails the stream's checks, and a
 * PubAck with `batch` and `count` when the batch ends. Messages are stored as they arrive (not
 * atomic). The publisher waits for flow acks (nats.js: at most `maxOutstandingAcks` windows ahead),
 * and they are sent only once the actor's batch met the sync policy, so a fast publisher is slowed
 * to the stream's pace rather than dropped.
 *
 * Plain synchronous code run by the stream actor: it owns the state, one call per message.
 * Expiry is lazy: a batch idle for the timeout counts as gone on its next message (nats-server's
 * cleanup timer has fired by then), and idle batches are swept before a limit refuses a new one.
 */
import { decodeHeaders, encodeHeaders, headerValue } from "../../protocol/Headers.ts"
import { type ApiError, ApiErrors } from "../model/ApiError.ts"
import { refusesApiLevel, REQUIRED_API_LEVEL_HEADER } from "../model/ApiLevel.ts"

export const FAST_BATCH_SUFFIX = ".$FI"

/** Whether a publish is a fast-batch message (checked on replies only: one suffix compare). */
export const isFastBatchReply = (reply: string): boolean => reply.endsWith(FAST_BATCH_SUFFIX)

export const FastBatchOp = { Start: 0, Append: 1, Commit: 2, CommitEob: 3, Ping: 4 } as const
export type FastBatchOp = (typeof FastBatchOp)[keyof typeof FastBatchOp]

/** What a `.$FI` reply subject says about its message. */
export interface FastBatchReply {
  readonly id: string
  /** Batch sequence (uint64: bigint, exact up to 2^64-2). */
  readonly seq: bigint
  /** The client's ack interval: the most messages per flow ack it allows (1..65535). */
  readonly flow: number
  readonly gapOk: boolean
  readonly op: FastBatchOp
}

const UINT64_MAX = 2n ** 64n - 1n

const digits = (s: string): boolean => s.length > 0 && /^[0-9]+$/.test(s)

/**
 * nats-server `getFastBatch`: the tokens are read from the right; `undefined` is a malformed
 * reply (10206). A sequence of 0 or 2^64-1 is refused (the latter so the next one cannot wrap), as
 * are a start that is not sequence 1, an append at 1 and a commit-without-store of a lone message.
 */
export const parseFastBatchReply = (reply: string): FastBatchReply | undefined => {
  const t = reply.slice(0, reply.length - FAST_BATCH_SUFFIX.length).split(".")
  // prefix (at least one token), id, flow, gap, seq, op.
  if (t.length < 6) return undefined
  const n = t.length
  const opText = t[n - 1]!
  if (!digits(opText)) return undefined
  const op = Number(opText)
  if (op > FastBatchOp.Ping) return undefined
  const seqText = t[n - 2]!
  if (!digits(seqText)) return undefined
  const seq = BigInt(seqText)
  if (seq === 0n || seq >= UINT64_MAX) return undefined
  if (seq === 1n && op === FastBatchOp.CommitEob) return undefined
  if (op === FastBatchOp.Start && seq !== 1n) return undefined
  if (op === FastBatchOp.Append && seq <= 1n) return undefined
  const gap = t[n - 3]!
  if (gap !== "ok" && gap !== "fail") return undefined
  // Go parseInt64: anything but digits is -1; <= 0 takes the default of 10, large values are capped.
  const flowText = t[n - 4]!
  const flowNum = digits(flowText) ? Number(flowText) : -1
  const flow = flowNum <= 0 ? 10 : Math.min(flowNum, 65535)
  return { id: t[n - 5]!, seq, flow, gapOk: gap === "ok", op: op as FastBatchOp }
}

/** nats-server's batch limits (`jetstream.limits.batch`): per stream, per server, idle timeout. */
export interface FastBatchLimits {
  readonly perStream: number
  readonly total: number
  readonly timeoutMs: number
}

export const DEFAULT_FAST_BATCH_LIMITS: FastBatchLimits = { perStream: 1000, total: 50_000, timeoutMs: 10_000 }

/** The batch id limit (10207 past it). */
export const MAX_BATCH_ID_LENGTH = 64

/** The server-wide count of batches in flight, shared by every stream of every account. */
export class FastBatchBudget {
  readonly limits: FastBatchLimits
  inflight = 0
  /** Streams holding batches: swept for idle ones before the total refuses a new batch. */
  readonly holders = new Set<FastBatches>()

  constructor(limits: FastBatchLimits = DEFAULT_FAST_BATCH_LIMITS) {
    this.limits = limits
  }

  take(now: number): boolean {
    if (this.inflight >= this.limits.total) { for (const s of [...this.holders]) s.sweep(now) }
    if (this.inflight >= this.limits.total) return false
    this.inflight++
    return true
  }
}

/** The outcome of storing one batch message through the stream's publish checks. */
export type FastStoreOutcome =
  | { readonly _tag: "Stored"; readonly seq: number }
  | { readonly _tag: "Duplicate"; readonly seq: number }
  | { readonly _tag: "Refused"; readonly error: ApiError }
  /** Nothing stored and nothing to say (a trace-only message). */
  | { readonly _tag: "Dropped" }

/** Where the answers go: queued with the actor's PubAcks, so they leave after the sync. */
export interface FastBatchAnswers {
  error(reply: string, error: ApiError): void
  /** A flow message; `seq` is the stream sequence it vouches for (0: none). */
  raw(reply: string, body: string, seq: number): void
  batchStored(reply: string, seq: number, batch: string, count: bigint, duplicate?: boolean): void
}

/** What the batches need from their stream. */
export interface FastBatchHost {
  readonly config: {
    readonly allow_batched?: boolean
    readonly sealed: boolean
    readonly max_msg_size: number
    readonly no_ack?: boolean
  }
  /** The server's or account's storage refusal for `bytes` more (nats-server checks them first). */
  resourcesRefusal(subject: string, bytes: number): ApiError | undefined
  store(subject: string, hdrLen: number, msg: Uint8Array): FastStoreOutcome
  readonly answers: FastBatchAnswers
  nowMs(): number
}

interface Batch {
  readonly id: string
  readonly gapOk: boolean
  /** The client's flow: the server never asks for fewer acks than this. */
  readonly maxAck: number
  /** Messages per flow ack now. */
  ackMessages: number
  /** Highest batch sequence received. */
  lseq: bigint
  /** Highest batch sequence persisted. */
  pseq: bigint
  /** Batch sequence of the last flow ack. */
  fseq: bigint
  /** Stream sequence of the batch's last stored message. */
  sseq: number
  /** Ending: later messages are ignored until the PubAck went out. */
  commit: boolean
  lastActive: number
}

const flowAck = (seq: bigint, msgs: number): string => `{"type":"ack","seq":${seq},"msgs":${msgs}}`
const flowGap = (lastSeq: bigint, seq: bigint): string => `{"type":"gap","last_seq":${lastSeq},"seq":${seq}}`
const flowErr = (seq: bigint, error: ApiError): string =>
  `{"type":"err","seq":${seq},"error":${JSON.stringify(error.toJSON())}}`

/** The header block without `Nats-Required-Api-Level` (nats-server never stores it). */
const withoutApiLevel = (msg: Uint8Array, hdrLen: number): { hdrLen: number; msg: Uint8Array } => {
  const { status, entries } = decodeHeaders(msg.subarray(0, hdrLen))
  const hdr = encodeHeaders(
    status === "" ? undefined : status,
    entries.filter(([k]) => k !== REQUIRED_API_LEVEL_HEADER)
  )
  const out = new Uint8Array(hdr.length + msg.length - hdrLen)
  out.set(hdr)
  out.set(msg.subarray(hdrLen), hdr.length)
  return { hdrLen: hdr.length, msg: out }
}

/** One stream's batches in flight. */
export class FastBatches {
  private readonly budget: FastBatchBudget
  private readonly batches = new Map<string, Batch>()

  constructor(budget: FastBatchBudget) {
    this.budget = budget
  }

  get size(): number {
    return this.batches.size
  }

  /** Forgets every batch (allow_batched turned off, the stream stopped). */
  clear(): void {
    for (const b of [...this.batches.values()]) this.remove(b)
  }

  /** Drops the batches idle for the timeout. */
  sweep(now: number): void {
    for (const b of [...this.batches.values()]) if (this.expired(b, now)) this.remove(b)
  }

  /**
   * Handles one message whose reply ends in `.$FI`. Returns true when it was stored (the actor
   * then syncs before the answers leave).
   */
  process(h: FastBatchHost, subject: string, reply: string, hdrLen: number, msg: Uint8Array): boolean {
    const cfg = h.config
    const respond = cfg.no_ack !== true
    const refuse = (error: ApiError): false => {
      if (respond) h.answers.error(reply, error)
      return false
    }
    // nats-server's order: stream and resource checks, then the batch's own.
    if (cfg.sealed) return refuse(ApiErrors.streamSealed())
    const resources = h.resourcesRefusal(subject, msg.length)
    if (resources !== undefined) return refuse(resources)
    if (cfg.max_msg_size >= 0 && msg.length > cfg.max_msg_size) return refuse(ApiErrors.streamMessageExceedsMaximum())
    if (cfg.allow_batched !== true) return refuse(ApiErrors.batchPublishDisabled())
    const r = parseFastBatchReply(reply)
    if (r === undefined) return refuse(ApiErrors.batchPublishInvalidPattern())
    if (r.id.length > MAX_BATCH_ID_LENGTH) return refuse(ApiErrors.batchPublishInvalidBatchId())

    const now = h.nowMs()
    let b = this.batches.get(r.id)
    if (b !== undefined && this.expired(b, now)) {
      this.remove(b)
      b = undefined
    }
    if (b === undefined) {
      if (r.seq !== 1n) return refuse(ApiErrors.batchPublishUnknownBatchId())
      if (this.batches.size >= this.budget.limits.perStream) this.sweep(now)
      if (this.batches.size >= this.budget.limits.perStream || !this.budget.take(now)) {
        return refuse(ApiErrors.batchPublishTooManyInflight())
      }
      b = this.open(r, now)
    }
    if (hdrLen > 0 && headerValue(msg.subarray(0, hdrLen), REQUIRED_API_LEVEL_HEADER) !== undefined) {
      if (refusesApiLevel(msg.subarray(0, hdrLen))) {
        this.remove(b)
        return refuse(ApiErrors.requiredApiLevel())
      }
      ;({ hdrLen, msg } = withoutApiLevel(msg, hdrLen))
    }
    b.lastActive = now

    if (r.op === FastBatchOp.Ping) {
      this.ping(h, b, r.seq, reply)
      return false
    }
    // Ending after an error or a gap: the client waits for the PubAck; the rest is ignored.
    if (b.commit) return false

    b.lseq++
    if (b.lseq !== r.seq) {
      // Backward sequences are not reported, only forward gaps.
      if (r.seq > b.lseq) h.answers.raw(reply, flowGap(b.lseq, r.seq), 0)
      if (b.gapOk && r.seq > b.lseq) {
        b.lseq = r.seq
      } else {
        b.lseq--
        this.commit(h, b, reply)
        return false
      }
    }
    const commit = r.op === FastBatchOp.Commit || r.op === FastBatchOp.CommitEob
    if (r.op === FastBatchOp.CommitEob) {
      // The end-of-batch message is not part of the batch.
      b.lseq--
      b.pseq = b.lseq
      this.commit(h, b, reply)
      return false
    }
    if (commit) b.commit = true
    // The first message tells the client the flow it starts with (a lone committing message gets its PubAck only).
    if (r.seq === 1n && respond && !commit) h.answers.raw(reply, flowAck(0n, b.ackMessages), 0)

    const out = h.store(subject, hdrLen, msg)
    switch (out._tag) {
      case "Stored":
        b.sseq = out.seq
        b.pseq = b.lseq
        if (b.commit) this.commit(h, b, reply)
        else this.flowControl(h, b, reply)
        return true
      case "Duplicate":
      case "Dropped":
        b.pseq = r.seq
        this.flowControl(h, b, reply)
        if (!commit) return false
        if (out._tag === "Duplicate" && !b.gapOk && b.lseq === 1n) {
          // A lone duplicate answers as a publish would, with the batch named.
          this.remove(b)
          h.answers.batchStored(reply, out.seq, b.id, r.seq, true)
          return false
        }
        this.commit(h, b, reply)
        return false
      case "Refused": {
        if (!b.gapOk && b.lseq === 1n) {
          // Failing at once: the same answer as a publish.
          this.remove(b)
          h.answers.error(reply, out.error)
          return false
        }
        h.answers.raw(reply, flowErr(r.seq, out.error), 0)
        if (b.gapOk && !commit) return false
        b.lseq--
        b.pseq = b.lseq
        this.commit(h, b, reply)
        return false
      }
    }
  }

  /** A ping reports a gap up to its sequence and repeats the latest flow ack (it stores nothing). */
  private ping(h: FastBatchHost, b: Batch, seq: bigint, reply: string): void {
    let resend = true
    if (seq > b.lseq) {
      h.answers.raw(reply, flowGap(b.lseq + 1n, seq + 1n), 0)
      if (b.gapOk) {
        b.lseq = seq
        b.pseq = seq
        resend = !this.flowControl(h, b, reply)
      } else if (this.commit(h, b, reply)) {
        resend = false
      }
    }
    if (resend) h.answers.raw(reply, flowAck(b.fseq, b.ackMessages), b.sseq)
  }

  /**
   * Ends the batch; the PubAck (the batch's last stored stream sequence, `count` its highest
   * batch sequence) goes out once everything received is persisted. True when it went out.
   */
  private commit(h: FastBatchHost, b: Batch, reply: string): boolean {
    b.commit = true
    if (b.lseq !== b.pseq) return false
    this.remove(b)
    h.answers.batchStored(reply, b.sseq, b.id, b.lseq)
    return true
  }

  /**
   * A flow ack once `ackMessages` more messages are persisted, with the flow adjusted: the server
   * shares 500 messages per ack among the stream's batches (doubling towards that share, halving
   * down to it), never above what the client asked for. True when one was sent.
   */
  private flowControl(h: FastBatchHost, b: Batch, reply: string): boolean {
    const am = BigInt(b.ackMessages)
    if (b.pseq < b.fseq + am) return false
    b.fseq += ((b.pseq - b.fseq) / am) * am
    const share = Math.min(Math.max(1, Math.floor(500 / this.batches.size)), b.maxAck)
    if (b.ackMessages < share) b.ackMessages = Math.min(b.ackMessages * 2, share)
    else if (b.ackMessages > share) b.ackMessages = Math.max(Math.floor(b.ackMessages / 2), share)
    h.answers.raw(reply, flowAck(b.fseq, b.ackMessages), b.sseq)
    return true
  }

  private open(r: FastBatchReply, now: number): Batch {
    if (this.batches.size === 0) this.budget.holders.add(this)
    const b: Batch = {
      id: r.id,
      gapOk: r.gapOk,
      maxAck: r.flow,
      ackMessages: 1,
      lseq: 0n,
      pseq: 0n,
      fseq: 0n,
      sseq: 0,
      commit: false,
      lastActive: now
    }
    this.batches.set(r.id, b)
    // Alone on the stream it gets what it asked for (up to 500); beside others it starts at 1 and ramps up.
    b.ackMessages = this.batches.size > 1 ? 1 : Math.min(500, r.flow)
    return b
  }

  private remove(b: Batch): void {
    if (this.batches.get(b.id) !== b) return
    this.batches.delete(b.id)
    this.budget.inflight--
    if (this.batches.size === 0) this.budget.holders.delete(this)
  }

  private expired(b: Batch, now: number): boolean {
    return now - b.lastActive >= this.budget.limits.timeoutMs
  }
}
