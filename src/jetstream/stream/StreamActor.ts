/**
 * One stream: a bounded mailbox drained in batches by one fiber that owns the stream's log.
 *
 * Publishes arrive from the router as plain calls (no Effect per message) and are queued; the
 * fiber takes everything queued, runs nats-server's publish checks in order, appends, hands the
 * batch to the store's durability policy once, and only then sends the PubAcks. Management
 * commands travel through the same mailbox so they are ordered with publishes.
 */
import { Effect, Fiber, FiberSet, type Scope } from "effect"
import { Gate } from "../../core/Backpressure.ts"
import type { MsgTrace } from "../../core/MsgTrace.ts"
import type { Subscription } from "../../core/Router.ts"
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, PurgeRequest, StoredMessage } from "../../store/MessageLog.ts"
import { isStoreError } from "../../store/StoreError.ts"
import { toWire } from "../../subject/Subject.ts"
import { compileTransform, type SubjectTransform } from "../../subject/SubjectTransform.ts"
import { ActorKernel, type Call } from "../actor/ActorKernel.ts"
import { typedEvent } from "../consumer/Events.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import { indexName, sourceKey, type StreamConfig, type StreamSource } from "../model/StreamConfig.ts"
import { AtomicBatches, type AtomicHost, type CommitRecord } from "./AtomicBatch.ts"
import { applyIncrement, checkIncrement } from "./Counter.ts"
import { Dedupe } from "./Dedupe.ts"
import { subscribeDirectGet } from "./DirectGet.ts"
import {
  FastBatchBudget,
  FastBatches,
  type FastBatchHost,
  type FastStoreOutcome,
  isFastBatchReply
} from "./FastBatch.ts"
import { DEFAULT_INGEST_LIMITS, IngestQueue } from "./IngestLimit.ts"
import { checkSchedulePublish, MessageSchedules, scheduleEndedBy } from "./MessageSchedule.ts"
import { effectiveTtl, MessageExpiry, ttlOf } from "./MessageTtl.ts"
import { PubAcks } from "./PubAcks.ts"
import { Republisher } from "./Republish.ts"
import {
  failAcksAbove,
  storeErrorText,
  storeFailed,
  type StoringStream,
  tryStore,
  writeFailed,
  writeSucceeded
} from "./StoreFailure.ts"
import type { StreamConsumer, StreamContext } from "./StreamContext.ts"
import { MirrorFollower, rollupOf, type SourcedRecord, sourcedSeq, withSourceHeader } from "./StreamSource.ts"
import { traceAccepted, traceIntoStream, traceRefused } from "./StreamTrace.ts"

/** The subject of a gap placeholder (removed in the same call: never visible). */
const GAP_SUBJECT = "_gap"
const EMPTY = new Uint8Array(0)

export const MAILBOX_CAPACITY = 65_536
/**
 * Ingest back-pressure: past this many bytes queued and not yet taken by the actor (each message
 * counted with 256 bytes of overhead, so small messages stay far below MAILBOX_CAPACITY), the
 * connection publishing is held until the actor takes the batch. Publishers are slowed to the
 * stream's pace instead of filling memory or the mailbox (whose overflow loses messages).
 */
export const INGEST_HIGH_WATER = 8 * 1024 * 1024
const INGEST_OVERHEAD = 256

export type StreamCommand =
  | {
    readonly _tag: "Publish"
    readonly subject: string
    readonly reply: string | undefined
    readonly hdrLen: number
    readonly msg: Uint8Array
    readonly trace: MsgTrace | undefined
  }
  | { readonly _tag: "Expire" }
  /** An open atomic batch may have been idle too long (AtomicBatch.ts). */
  | { readonly _tag: "AtomicSweep" }
  /** A message schedule may be due (MessageSchedule.ts). */
  | { readonly _tag: "Schedule" }
  /** Messages a mirror copied from its origin, stored under their origin sequences (StreamSource.ts). */
  | {
    readonly _tag: "Ingest"
    readonly records: ReadonlyArray<SourcedRecord>
    readonly done: (ok: boolean) => void
    /** Set for a source (new sequences, tagged); unset for the mirror (the origin's sequences). */
    readonly source: string | undefined
  }

export class StreamActor implements StoringStream {
  config: StreamConfig
  readonly created: bigint
  readonly store: MessageLog
  readonly dedupe: Dedupe
  lastMsgId = ""
  lastSeq: number
  lastTs: bigint
  readonly ctx: StreamContext
  private readonly kernel: ActorKernel<StreamCommand, StreamActor>
  private subs: Array<Subscription> = []
  readonly acks: PubAcks
  /** See StoringStream (StoreFailure.ts). */
  writeFailure: string | undefined
  /** Built for the config's `republish` (rebuilt when the config object changes). */
  private republisher: Republisher | undefined
  private republishFor: StreamConfig | undefined
  /** Built for the config's `subject_transform` (rebuilt when the config object changes). */
  private inputTransform: SubjectTransform | undefined
  private inputTransformFor: StreamConfig | undefined
  private ingestQueued = 0
  private readonly ingest = new Gate(INGEST_HIGH_WATER, 0)
  private readonly ingestLimit: IngestQueue
  /** The trace of the publish being processed (set around processPublish only). */
  private tracing: MsgTrace | undefined = undefined
  /** 2.14 fast-ingest batches in flight (FastBatch.ts). */
  readonly fastBatches: FastBatches
  private fastHost: FastBatchHost | undefined
  /** What the last publish check refused, or the sequence it found a duplicate of (read by storeFastBatchMsg). */
  private refusal: ApiError | undefined = undefined
  private duplicateOf = 0
  /**
   * Bumped whenever messages are removed in bulk or out of order (purge, limits, expiry, rollup,
   * message delete), so consumers know their incremental num_pending must be recounted.
   * Retention removals (workqueue/interest acks) never touch a consumer's undelivered range.
   */
  removedGen = 0
  /** Consumers by name; woken after every batch that changed the stream. */
  readonly consumers = new Map<string, StreamConsumer>()
  /** Mirrors following this stream (StreamSource.ts), woken like consumers. */
  readonly followers = new Set<() => void>()
  /** Present when this stream is a mirror. */
  readonly mirror: MirrorFollower | undefined
  /** Per-message TTLs and, when they are on, max_age (MessageTtl.ts); its timer is set up in `make`. */
  private readonly expiry = new MessageExpiry(
    () => this.ctx.nowNs(),
    (ms, f) => this.scheduleTimer(ms, f),
    () => void this.kernel.offer({ _tag: "Expire" })
  )
  private scheduleTimer: (ms: number, f: () => void) => () => void = () => () => {}
  /** Message schedules (MessageSchedule.ts), used only with `allow_msg_schedules`. */
  private readonly schedules = new MessageSchedules(
    () => this.ctx.nowNs(),
    (ms, f) => this.scheduleTimer(ms, f),
    () => void this.kernel.offer({ _tag: "Schedule" })
  )

  private constructor(
    config: StreamConfig,
    created: bigint,
    store: MessageLog,
    ctx: StreamContext,
    kernel: ActorKernel<StreamCommand, StreamActor>
  ) {
    this.config = config
    this.created = created
    this.store = store
    this.ctx = ctx
    this.acks = new PubAcks(config.name, ctx.domain, (reply, body) => ctx.client.publish(reply, undefined, -1, body))
    this.kernel = kernel
    this.ingestLimit = new IngestQueue(ctx.ingestLimits ?? DEFAULT_INGEST_LIMITS)
    this.dedupe = new Dedupe(BigInt(config.duplicate_window))
    this.fastBatches = new FastBatches(ctx.fastBatchBudget ?? new FastBatchBudget())
    this.mirror = config.mirror === undefined ? undefined : new MirrorFollower(config.mirror)
    const st = store.state()
    this.lastSeq = st.lastSeq
    this.lastTs = st.lastTs
  }

  get name(): string {
    return this.config.name
  }

  /** Starts the actor in the current scope: closing the scope unsubscribes and stops the fiber. */
  static make = (
    config: StreamConfig,
    created: bigint,
    store: MessageLog,
    ctx: StreamContext
  ): Effect.Effect<StreamActor, never, Scope.Scope> =>
    Effect.gen(function*() {
      const kernel = yield* ActorKernel.make<StreamCommand, StreamActor>({
        label: `stream '${config.name}'`,
        capacity: MAILBOX_CAPACITY,
        logError: (line) => ctx.log.error(line)
      })
      const actor = new StreamActor(config, created, store, ctx, kernel)
      actor.rebuildDedupe()
      actor.subscribe()
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          kernel.stop()
          actor.unsubscribe()
          actor.atomic.clear()
          actor.fastBatches.clear()
        })
      )
      // Store failures are answered inside the batch; a defect is unexpected: the kernel logs it and
      // the actor follows its store again. Publishes that will never run get the store error.
      yield* kernel.start(
        (batch) => actor.runBatch(batch),
        () => actor.recover(),
        (cmd) => {
          if (cmd._tag === "Ingest") cmd.done(false)
          if (cmd._tag === "Publish" && cmd.reply !== undefined) {
            actor.acks.sendError(cmd.reply, ApiErrors.streamStoreFailed(`stream '${actor.name}' is unavailable`))
          }
        }
      )
      yield* Effect.forkScoped(actor.expiryTimer())
      const runTimer = yield* FiberSet.makeRuntime<never>()
      actor.scheduleTimer = (ms, f) => {
        const fiber = runTimer(Effect.sleep(ms).pipe(Effect.andThen(Effect.sync(f))))
        return () => fiber.interruptUnsafe()
      }
      // Stored TTLs (a restart) are scheduled before the first publish.
      if (config.allow_msg_ttl === true) kernel.offer({ _tag: "Expire" })
      if (config.allow_msg_schedules === true) kernel.offer({ _tag: "Schedule" })
      const lookup = ctx.lookup ?? (() => undefined)
      const sourcing = { client: ctx.client, account: ctx.account ?? "$G", domain: ctx.domain }
      if (actor.mirror !== undefined) {
        yield* Effect.forkScoped(actor.mirror.run(actor, lookup, ctx.nowMs ?? Date.now, sourcing))
      }
      // Source followers come and go with config updates: each runs in the actor's scope until stopped.
      const runFollower = yield* FiberSet.makeRuntime<never>()
      actor.forkFollower = (f) => {
        const fiber = runFollower(Effect.scoped(f.run(actor, lookup, ctx.nowMs ?? Date.now, sourcing)))
        return () => void Effect.runFork(Fiber.interrupt(fiber))
      }
      actor.syncSources()
      return actor
    })

  // --- mailbox --------------------------------------------------------------------------------

  /** Runs `f` inside the actor (ordered with publishes) and returns its result. */
  call<A>(f: (actor: StreamActor) => A): Effect.Effect<A, ApiError> {
    return this.kernel.call(
      f,
      (e) => (isApiError(e) ? e : ApiErrors.streamStoreFailed(isStoreError(e) ? storeErrorText(e) : String(e))),
      () =>
        ApiErrors.streamStoreFailed(
          this.kernel.state === "running" ? "stream is busy, try again" : `stream '${this.name}' is unavailable`
        )
    )
  }

  /** `mirror_direct`: once the mirror has (nearly) caught up it answers direct gets for its origin too. */
  mirrorCaughtUp(): void {
    if (this.mirrorDirectSubs !== undefined || this.config.mirror === undefined || !this.config.mirror_direct) return
    this.mirrorDirectSubs = subscribeDirectGet(this, this.ctx.client, this.config.mirror.name, this.ctx.maxPending)
    this.subs.push(...this.mirrorDirectSubs)
  }
  private mirrorDirectSubs: Array<Subscription> | undefined

  /** A mirror's batch for the mailbox (MirrorFollower); false when the mailbox is full. */
  ingestSourced(records: ReadonlyArray<SourcedRecord>, done: (ok: boolean) => void, source?: string): boolean {
    return this.kernel.offer({ _tag: "Ingest", records, done, source })
  }

  /** nats-server `startingSequenceForSources`: the newest stored message tagged with `source`. */
  lastSourced(key: string, byName: boolean): number | undefined {
    const st = this.store.state()
    for (let seq = st.lastSeq; seq >= st.firstSeq && seq > 0; seq--) {
      const m = this.store.get(seq)
      const n = m === undefined ? undefined : sourcedSeq(m.hdr, key, byName)
      if (n !== undefined) return n
    }
    return undefined
  }

  /** Followers of this stream's `sources`, by source key (sourceKey). */
  readonly sourceFollowers = new Map<string, { readonly follower: MirrorFollower; readonly stop: () => void }>()
  private forkFollower: ((f: MirrorFollower) => () => void) | undefined

  /** Starts followers for added sources and stops those of removed ones (create, update). */
  syncSources(): void {
    const fork = this.forkFollower
    if (fork === undefined) return
    const sources = this.config.sources ?? []
    const want = new Map(sources.map((s) => [sourceKey(s), s]))
    const sole = (s: StreamSource) => sources.filter((o) => indexName(o) === indexName(s)).length === 1
    for (const [key, f] of this.sourceFollowers) {
      const w = want.get(key)
      if (
        w === undefined || JSON.stringify(w) !== JSON.stringify(f.follower.source) || f.follower.soleOfName !== sole(w)
      ) {
        if (w === undefined) f.follower.removed()
        f.stop()
        this.sourceFollowers.delete(key)
      }
    }
    for (const [key, src] of want) {
      if (this.sourceFollowers.has(key)) continue
      const follower = new MirrorFollower(src, "source", sole(src))
      this.sourceFollowers.set(key, { follower, stop: fork(follower) })
    }
  }

  private subscribe(): void {
    for (const subject of this.config.subjects) {
      const sub = this.ctx.client.subscribe(
        toWire(subject),
        (s, reply, hdrLen, msg) => this.inbound(s, reply, hdrLen, msg)
      )
      if (sub !== undefined) sub.takesTrace = true
      if (sub !== undefined) this.subs.push(sub)
    }
    if (this.config.allow_direct) {
      this.subs.push(...subscribeDirectGet(this, this.ctx.client, this.name, this.ctx.maxPending))
    }
  }

  private unsubscribe(): void {
    for (const s of this.subs) this.ctx.client.unsubscribe(s)
    this.subs = []
    this.mirrorDirectSubs = undefined
  }

  /** Re-subscribes after a subjects change. */
  resubscribe(): void {
    this.unsubscribe()
    this.subscribe()
  }

  private inbound(subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void {
    // A subject can match the stream through more than one of its subjects only if they overlap,
    // which config validation rejects, so each message arrives once.
    const trace = this.ctx.client.takeTrace()
    if (!this.ingestLimit.admit(msg.length + subject.length + (reply?.length ?? 0))) {
      return this.ingestLimit.refuse(this.name, reply, this.ctx.client, this.ctx.log)
    }
    if (trace !== undefined) ({ hdrLen, msg } = traceIntoStream(trace, this.name, hdrLen, msg))
    if (!this.kernel.offer({ _tag: "Publish", subject, reply, hdrLen, msg, trace })) {
      if (trace !== undefined) traceRefused(trace, "stream ingest queue is full")
      if (reply !== undefined) this.acks.sendError(reply, ApiErrors.streamStoreFailed("stream ingest queue is full"))
      return
    }
    this.ingestQueued += msg.length + INGEST_OVERHEAD
    this.ingest.filled(this.ingestQueued, Date.now)
  }

  /** After a defect in a batch: follow the store again and answer what the batch had queued. */
  private recover(): void {
    this.lastSeq = this.store.state().lastSeq
    // Whether the batch's writes reached the policy's durability is unknown: no ack may claim it.
    this.acks.failAbove(0, ApiErrors.streamStoreFailed(`stream '${this.name}' failed while storing the batch`))
    this.republisher?.flush(0, () => {})
    this.acks.flush()
  }

  private runBatch(batch: ReadonlyArray<StreamCommand | Call<StreamActor>>): Effect.Effect<void> {
    return Effect.suspend(() => {
      // The mailbox is empty again: held publishers may go on while this batch is processed.
      this.ingestQueued = 0
      this.ingestLimit.taken()
      this.ingest.open()
      let touched = false
      let syncNeeded = false
      const lastBefore = this.lastSeq
      const calls: Array<Call<StreamActor>> = []
      const ingested: Array<(ok: boolean) => void> = []
      let ingestOk = true
      for (const cmd of batch) {
        if (cmd._tag === "Publish") {
          this.tracing = cmd.trace
          try {
            const fast = cmd.reply !== undefined && isFastBatchReply(cmd.reply)
            // nats-server takes a `.$FI` reply as a fast-ingest batch before it looks for an atomic one.
            const batched = fast
              ? this.fastBatches.process(this.fastBatchHost(), cmd.subject, cmd.reply!, cmd.hdrLen, cmd.msg)
              : cmd.hdrLen > 0
              ? this.atomic.offer(this.atomicHost(), cmd.subject, cmd.reply, cmd.hdrLen, cmd.msg)
              : undefined
            if (batched ?? this.processPublish(cmd.subject, cmd.reply, cmd.hdrLen, cmd.msg)) syncNeeded = true
          } catch (e) {
            // A read the checks needed failed (the append itself answers its own errors).
            if (!isStoreError(e)) throw e
            storeFailed(this, e, "check a msg")
            this.queueError(cmd.reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
          }
          this.tracing = undefined
          cmd.trace?.done()
          touched = true
        } else if (cmd._tag === "Ingest") {
          ingested.push(cmd.done)
          if (cmd.source !== undefined) {
            // Sourced messages are publishes to this stream (its checks, dedupe, limits, republish).
            for (const r of cmd.records) {
              const hdr = withSourceHeader(r.hdr, cmd.source, r.seq)
              const msg = new Uint8Array(hdr.length + r.data.length)
              msg.set(hdr)
              msg.set(r.data, hdr.length)
              try {
                if (this.processPublish(r.subject, undefined, hdr.length, msg, "source", r.originSubject)) {
                  syncNeeded = true
                }
              } catch (e) {
                if (!isStoreError(e)) throw e
                storeFailed(this, e, "store a sourced msg")
                ingestOk = false
              }
            }
          } else if (tryStore(this, "store a mirrored msg", () => this.storeSourced(cmd.records)) === undefined) {
            ingestOk = false
          }
          syncNeeded = true
          touched = true
        } else if (cmd._tag === "AtomicSweep") {
          this.atomic.sweep(this.atomicHost())
        } else if (cmd._tag === "Expire") {
          const before = this.lastSeq
          touched = tryStore(this, "enforce limits", () => this.enforceLimits()) === true || touched
          // Delete markers were stored.
          if (this.lastSeq > before) syncNeeded = true
        } else if (cmd._tag === "Schedule") {
          const before = this.lastSeq
          tryStore(this, "run message schedules", () =>
            this.schedules.fire(
              this.store,
              this.ctx.nowNs(),
              (to, hdrLen, msg) => this.processPublish(to, undefined, hdrLen, msg, "schedule")
            ))
          if (this.lastSeq > before) syncNeeded = touched = true
        } else {
          calls.push(cmd)
        }
      }
      if (syncNeeded) tryStore(this, "enforce limits", () => this.enforceLimits())
      const finish = Effect.sync(() => {
        // Republished before the PubAcks, as nats-server; none for appends the store took back.
        this.republisher?.flush(this.lastSeq, (to, hdrLen, msg) => this.ctx.client.publish(to, undefined, hdrLen, msg))
        this.acks.flush()
        for (const done of ingested) done(ingestOk)
        // Management calls run after the publishes queued before them are durable and acked.
        for (const c of calls) c.run(this)
        if (touched || calls.length > 0) {
          for (const c of this.consumers.values()) c.wake()
          for (const f of this.followers) f()
        }
      })
      if (!syncNeeded) return finish
      let flushFailed = false
      try {
        this.store.flush()
      } catch (e) {
        if (!isStoreError(e)) throw e
        // The store took back what it could not write: answer those publishes with the error. What an
        // earlier write of this batch stored is still acked, after the sync its policy asks for.
        storeFailed(this, e)
        if (this.lastSeq <= lastBefore) return finish
        flushFailed = true
      }
      return this.store.sync().pipe(
        Effect.matchEffect({
          onSuccess: () =>
            Effect.sync(() => {
              if (!flushFailed) writeSucceeded(this)
            }),
          onFailure: (e) =>
            Effect.sync(() => {
              ingestOk = false
              writeFailed(this, e)
              // The bytes are written but not durable: acks must not claim durability we do not have.
              failAcksAbove(this, lastBefore, e)
            })
        }),
        Effect.andThen(finish)
      )
    }).pipe(Effect.catch(() => Effect.void)) as Effect.Effect<void>
  }

  private queueError(reply: string | undefined, error: ApiError): false {
    this.refusal = error
    this.tracing?.jetStreamError(error.description)
    return this.config.no_ack === true ? false : this.acks.error(reply, error)
  }

  /**
   * nats-server's publish checks, in its order. Returns true when a message was appended.
   * Errors are answered in the same batch (after the sync) so replies keep publish order.
   */
  private processPublish(
    inSubject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    origin?: "source" | "marker" | "schedule",
    /** A sourced message's subject in its origin stream (counters aggregate by it). */
    originSubject?: string
  ): boolean {
    const cfg = this.config
    if (cfg.sealed) return this.queueError(reply, ApiErrors.streamSealed())
    // A store that refuses writes may hold appends that never became durable: not even a duplicate
    // of one may be acknowledged (its original may be the lost append).
    const broken = this.store.failure
    if (broken !== undefined) return this.queueError(reply, ApiErrors.streamStoreFailed(storeErrorText(broken)))
    // 2.10 (stream.go processJetStreamMsg): renamed before anything else; no match keeps the subject.
    const subject = origin === "marker" ? inSubject : this.transformed(inSubject)
    let hdr = hdrLen > 0 ? msg.subarray(0, hdrLen) : undefined
    let data = hdrLen > 0 ? msg.subarray(hdrLen) : msg
    // The store needs non-decreasing timestamps (time lookups, max_age); a wall clock can step back.
    let now = this.ctx.nowNs()
    if (now <= this.lastTs) now = this.lastTs + 1n
    let msgId: string | undefined
    let rollup: "sub" | "all" | undefined
    let incr: bigint | undefined
    let val: string | undefined
    if (hdr !== undefined) {
      // nats-server checks `Nats-Incr` first (Counter.ts).
      const i = checkIncrement(hdr, data.length, cfg.allow_msg_counter === true, origin === "source")
      if (i instanceof ApiError) return this.queueError(reply, i)
      incr = i
      const expectedStream = headerValue(hdr, "Nats-Expected-Stream")
      if (expectedStream !== undefined && expectedStream !== "" && expectedStream !== cfg.name) {
        return this.queueError(reply, ApiErrors.streamNotMatch())
      }
      // Sources store TTL'd messages whatever this stream's setting (ADR-43).
      if (origin !== "source" && cfg.allow_msg_ttl !== true && (ttlOf(hdr) ?? 0) !== 0) {
        return this.queueError(reply, ApiErrors.messageTtlDisabled())
      }
      msgId = headerValue(hdr, "Nats-Msg-Id")
      if (msgId === "") msgId = undefined
      if (msgId !== undefined) {
        const dup = this.dedupe.check(msgId, now)
        if (dup !== undefined) {
          this.duplicateOf = dup
          if (reply !== undefined && this.config.no_ack !== true) this.acks.stored(reply, dup, true)
          return false
        }
      }
      const lastSubjSeq = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence")
      // 2.11: the subject (wildcards allowed) whose last sequence is checked, instead of the message's.
      const seqSubject = headerValue(hdr, "Nats-Expected-Last-Subject-Sequence-Subject") ?? ""
      if (lastSubjSeq === undefined && seqSubject !== "") {
        return this.queueError(reply, ApiErrors.streamExpectedLastSeqPerSubjectInvalid())
      }
      if (lastSubjSeq !== undefined) {
        const want = parseSeq(lastSubjSeq)
        const have = this.store.lastBySubject(seqSubject || subject)?.seq ?? 0
        if (want === undefined || want !== have) return this.queueError(reply, ApiErrors.streamWrongLastSequence(have))
      }
      const lastSeq = headerValue(hdr, "Nats-Expected-Last-Sequence")
      if (lastSeq !== undefined) {
        const want = parseSeq(lastSeq)
        if (want === undefined || want !== this.lastSeq) {
          return this.queueError(reply, ApiErrors.streamWrongLastSequence(this.lastSeq))
        }
      }
      const lastId = headerValue(hdr, "Nats-Expected-Last-Msg-Id")
      if (lastId !== undefined && lastId !== "" && lastId !== this.lastMsgId) {
        return this.queueError(reply, ApiErrors.streamWrongLastMsgID(this.lastMsgId))
      }
      if (origin === undefined) {
        const s = checkSchedulePublish(hdr, subject, cfg, (f) => this.store.lastBySubject(f), now)
        if (s instanceof Uint8Array) hdr = s
        else if (s !== undefined) return this.queueError(reply, s)
      }
      const r = headerValue(hdr, "Nats-Rollup")
      if (r !== undefined && r !== "") {
        if (!cfg.allow_rollup_hdrs || cfg.deny_purge) {
          return this.queueError(reply, ApiErrors.streamRollupFailed("rollup not permitted"))
        }
        if (r === "sub") rollup = "sub"
        else if (r === "all") rollup = "all"
        // nats-server drops a message with an unknown rollup value without answering.
        else return false
      }
    }
    if (cfg.allow_msg_counter === true && origin !== "marker") {
      const last = this.store.lastBySubject(subject)
      const c = applyIncrement(last, hdr, data, incr, origin === "source" ? originSubject ?? inSubject : undefined)
      if (c instanceof ApiError) return this.queueError(reply, c)
      ;({ hdr, data, val } = c)
    }
    const size = (hdr?.length ?? 0) + data.length
    if (cfg.max_msg_size >= 0 && size > cfg.max_msg_size) {
      return this.queueError(reply, ApiErrors.streamMessageExceedsMaximum())
    }
    if ((hdr?.length ?? 0) > 65535) return this.queueError(reply, ApiErrors.streamHeaderExceedsMaximum())
    if (this.ctx.storeFull?.(cfg.storage) === true) return this.queueError(reply, ApiErrors.insufficientResources())
    if (this.ctx.accountFull?.(cfg.storage, this.accountGrowth(subject.length + size + 16)) === true) {
      return this.queueError(reply, ApiErrors.accountResourcesExceeded())
    }
    if (cfg.discard === "new") {
      const reject = this.discardNewRejects(subject, size)
      if (reject !== undefined) return this.queueError(reply, ApiErrors.streamStoreFailed(reject))
    }
    let ttl = ttlOf(hdr)
    if (ttl === undefined) return this.queueError(reply, ApiErrors.messageTtlInvalid())
    if (hdr !== undefined && ttl > 0) {
      ;({ ttl, hdr } = effectiveTtl(hdr, ttl, cfg.subject_delete_marker_ttl ?? 0, cfg.max_msgs_per_subject))
    }
    // Trace-only: every check passed, nothing is stored (nats-server: right before the store).
    const t = this.tracing
    if (t !== undefined && traceAccepted(t, subject, cfg.retention === "interest" && !this.hasInterestIn(subject))) {
      return false
    }
    const rp = this.republishing()
    const republishTo = rp?.destination(subject)
    // Nats-Last-Sequence: the subject's previous message, looked up only when republishing.
    const subjectLast = republishTo === undefined ? 0 : this.store.lastBySubject(subject)?.seq ?? 0
    let seq: number
    try {
      seq = this.store.appendBatch([{ subject, hdr, data, ts: now }])[0]!
      // A rollup removes stored messages: its own must be written first, or a failed write would lose both.
      if (rollup !== undefined) this.store.flush()
    } catch (e) {
      if (!isStoreError(e)) throw e
      storeFailed(this, e)
      return this.queueError(reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
    }
    this.lastSeq = seq
    this.lastTs = now
    if (ttl > 0 && cfg.allow_msg_ttl === true) this.expiry.track(seq, now, ttl)
    this.lastMsgId = msgId ?? ""
    if (msgId !== undefined) this.dedupe.record(msgId, seq, now)
    if (republishTo !== undefined) rp!.queue(republishTo, subject, seq, subjectLast, hdr, data, now)
    // Queued first: a failure below that takes this append back turns it into the error.
    if (reply !== undefined && this.config.no_ack !== true) this.acks.stored(reply, seq, false, val)
    // Interest retention keeps a message only while some consumer wants it.
    if (cfg.retention === "interest" && !this.hasInterestIn(subject)) {
      tryStore(this, "remove a msg", () => this.store.remove(seq))
    }
    if (rollup !== undefined) {
      tryStore(this, "roll up", () => this.store.purge(rollup === "sub" ? { filter: subject, keep: 1 } : { keep: 1 }))
      this.removedGen++
    }
    if (cfg.allow_msg_schedules === true || origin === "source") this.scheduled(seq, subject, hdr, now)
    return this.lastSeq === seq
  }

  /** Open atomic batches (AtomicBatch.ts) and the view of this stream they check against. */
  private readonly atomic = new AtomicBatches()
  private atomicView: AtomicHost | undefined

  private atomicHost(): AtomicHost {
    // The view's getters read the actor's current state.
    const self = this
    return this.atomicView ??= {
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
      transformed: (subject) => self.transformed(subject),
      storeFull: () => self.ctx.storeFull?.(self.config.storage) === true,
      accountFull: (bytes) => self.ctx.accountFull?.(self.config.storage, self.accountGrowth(bytes)) === true,
      refuse: (reply, error) => self.queueError(reply, error),
      staged: (reply) => self.acks.empty(reply),
      commit: (records, reply, id, count) => self.storeAtomic(records, reply, id, count),
      abandoned: (batch, reason) =>
        typedEvent(
          self.ctx.client,
          `$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.${self.name}`,
          "stream_batch_abandoned",
          (self.ctx.nowMs ?? Date.now)(),
          { stream: self.name, ...(self.ctx.domain === undefined ? {} : { domain: self.ctx.domain }), batch, reason }
        ),
      wakeIn: (ms) => void self.scheduleTimer(ms, () => void self.kernel.offer({ _tag: "AtomicSweep" }))
    }
  }

  /**
   * A committed atomic batch: one atomic append (all or nothing, across a crash too), then what
   * processPublish does after its append, message by message. Rollups purge only below their own
   * message, so the batch's later messages stay, as if stored one by one.
   */
  private storeAtomic(
    records: ReadonlyArray<CommitRecord>,
    reply: string | undefined,
    id: string,
    count: number
  ): boolean {
    const cfg = this.config
    const broken = this.store.failure
    if (broken !== undefined) return this.queueError(reply, ApiErrors.streamStoreFailed(storeErrorText(broken)))
    const rp = this.republishing()
    // Nats-Last-Sequence of a republished message: its subject's previous one, maybe earlier in the batch.
    const previous = new Map<string, number>()
    if (rp !== undefined) {
      for (const r of records) {
        if (!previous.has(r.subject)) previous.set(r.subject, this.store.lastBySubject(r.subject)?.seq ?? 0)
      }
    }
    let seqs: Array<number>
    try {
      seqs = this.store.appendBatch(records, { atomic: true })
      if (records.some((r) => r.rollup !== undefined)) this.store.flush()
    } catch (e) {
      if (!isStoreError(e)) throw e
      storeFailed(this, e)
      return this.queueError(reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
    }
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const seq = seqs[i]!
      this.lastSeq = seq
      this.lastTs = r.ts
      if (r.ttl > 0 && cfg.allow_msg_ttl === true) this.expiry.track(seq, r.ts, r.ttl)
      this.lastMsgId = r.msgId ?? ""
      if (r.msgId !== undefined) this.dedupe.record(r.msgId, seq, r.ts)
      const to = rp?.destination(r.subject)
      if (to !== undefined) rp!.queue(to, r.subject, seq, previous.get(r.subject) ?? 0, r.hdr, r.data, r.ts)
      previous.set(r.subject, seq)
    }
    if (reply !== undefined && cfg.no_ack !== true) this.acks.storedBatch(reply, this.lastSeq, id, count)
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const seq = seqs[i]!
      if (cfg.retention === "interest" && !this.hasInterestIn(r.subject)) {
        tryStore(this, "remove a msg", () => this.store.remove(seq))
      }
      if (r.rollup !== undefined) {
        tryStore(this, "roll up", () => this.store.purge(r.rollup === "sub" ? { filter: r.subject, seq } : { seq }))
        this.removedGen++
      }
    }
    return true
  }

  /** The stream as its fast-ingest batches see it (FastBatch.ts). */
  private fastBatchHost(): FastBatchHost {
    const actor = this
    return this.fastHost ??= {
      get config() {
        return actor.config
      },
      resourcesRefusal: (subject, bytes) =>
        actor.ctx.storeFull?.(actor.config.storage) === true
          ? ApiErrors.insufficientResources()
          : actor.ctx.accountFull?.(actor.config.storage, actor.accountGrowth(subject.length + bytes + 16)) === true
          ? ApiErrors.accountResourcesExceeded()
          : undefined,
      store: (subject, hdrLen, msg) => actor.storeFastBatchMsg(subject, hdrLen, msg),
      answers: actor.acks,
      nowMs: actor.ctx.nowMs ?? Date.now
    }
  }

  /** A batch message through the publish checks, without a PubAck of its own: the batch answers. */
  private storeFastBatchMsg(subject: string, hdrLen: number, msg: Uint8Array): FastStoreOutcome {
    this.refusal = undefined
    this.duplicateOf = 0
    try {
      if (this.processPublish(subject, undefined, hdrLen, msg)) return { _tag: "Stored", seq: this.lastSeq }
    } catch (e) {
      if (!isStoreError(e)) throw e
      storeFailed(this, e, "check a msg")
      return { _tag: "Refused", error: ApiErrors.streamStoreFailed(storeErrorText(e)) }
    }
    if (this.refusal !== undefined) return { _tag: "Refused", error: this.refusal }
    return this.duplicateOf > 0 ? { _tag: "Duplicate", seq: this.duplicateOf } : { _tag: "Dropped" }
  }

  /** After a store on a stream with schedules (or a sourced one): follow them, purge an ended one. */
  private scheduled(seq: number, subject: string, hdr: Uint8Array | undefined, ts: bigint): void {
    const cfg = this.config
    if (cfg.allow_msg_schedules === true) this.schedules.stored({ seq, subject, hdr, data: EMPTY, ts }, this.store)
    const ended = cfg.allow_rollup_hdrs && !cfg.deny_purge ? scheduleEndedBy(hdr) : undefined
    if (ended === undefined) return
    tryStore(this, "purge a schedule", () => this.store.purge({ filter: ended }))
    this.removedGen++
  }

  /**
   * How much this message grows the stream once discard-old limits have trimmed it: nats-server
   * judges the account's usage after the store made room, so a full stream that evicts its oldest
   * message does not count against the account (max_msgs eviction estimated at the average size).
   */
  private accountGrowth(accounted: number): number {
    const cfg = this.config
    if (cfg.discard !== "old") return accounted
    const st = this.store.state()
    let after = st.bytes + accounted
    if (cfg.max_msgs > 0 && st.msgs >= cfg.max_msgs && st.msgs > 0) {
      after -= (st.msgs + 1 - cfg.max_msgs) * (st.bytes / st.msgs)
    }
    if (cfg.max_bytes > 0) after = Math.min(after, cfg.max_bytes)
    return after - st.bytes
  }

  /**
   * Stores a mirror's batch under the origin's sequences: sequences already here are skipped (a
   * batch handed over twice), missing ones become gaps, so this log's sequences stay the origin's.
   * Returns true (tryStore's "done"); a store failure throws.
   */
  private storeSourced(records: ReadonlyArray<SourcedRecord>): true {
    const cfg = this.config
    for (const r of records) {
      if (r.seq <= this.lastSeq) continue
      this.skipTo(r.seq)
      const ts = r.ts > this.lastTs ? r.ts : this.lastTs
      // nats-server stores mirrored messages through the same path as publishes: the stream's own
      // transform applies after the mirror's.
      const subject = this.transformed(r.subject)
      const seq = this.store.appendBatch([{ subject, hdr: r.hdr, data: r.data, ts }])[0]!
      this.lastSeq = seq
      this.lastTs = ts
      const ttl = cfg.allow_msg_ttl === true ? ttlOf(r.hdr) ?? 0 : 0
      if (ttl > 0) this.expiry.track(seq, ts, ttl)
      const rollup = cfg.allow_rollup_hdrs && !cfg.deny_purge ? rollupOf(r.hdr) : undefined
      if (rollup !== undefined) {
        this.store.flush()
        this.store.purge(rollup === "sub" ? { filter: subject, keep: 1 } : { keep: 1 })
        this.removedGen++
      }
    }
    return true
  }

  /** The subject a message is stored under: the config's `subject_transform` applied when it matches. */
  private transformed(subject: string): string {
    if (this.inputTransformFor !== this.config) {
      this.inputTransformFor = this.config
      const want = this.config.subject_transform
      const have = this.inputTransform
      if (want === undefined || want.dest === "") this.inputTransform = undefined
      else if (have === undefined || have.src !== toWire(want.src || ">") || have.dest !== toWire(want.dest)) {
        // Validated on create/update; a config that does not compile stores subjects unchanged.
        const t = compileTransform(toWire(want.src || ">"), toWire(want.dest), { allWildcards: false })
        this.inputTransform = t.ok ? t.transform : undefined
      }
    }
    return this.inputTransform === undefined ? subject : this.inputTransform.match(subject) ?? subject
  }

  /** Makes the next append get `seq`: an empty log starts there; otherwise the sequences between are gaps. */
  private skipTo(seq: number): void {
    if (seq <= this.lastSeq + 1) return
    if (this.store.state().msgs === 0) {
      this.store.purge({ seq })
    } else {
      // A log has no gap record: each missing sequence is an append taken back at once (deleted, as in
      // nats-server, whose mirrors store a skip marker per missing sequence).
      for (let s = this.lastSeq + 1; s < seq; s++) {
        const gap = this.store.appendBatch([{ subject: GAP_SUBJECT, hdr: undefined, data: EMPTY, ts: this.lastTs }])[0]!
        this.store.remove(gap)
      }
    }
    this.lastSeq = seq - 1
    this.removedGen++
  }

  private republishing(): Republisher | undefined {
    if (this.republishFor !== this.config) {
      this.republishFor = this.config
      const want = this.config.republish
      const have = this.republisher?.config
      if (want === undefined) this.republisher = undefined
      else if (
        have === undefined || have.src !== want.src || have.dest !== want.dest ||
        have.headers_only !== want.headers_only
      ) {
        this.republisher = Republisher.make(this.name, want)
      }
    }
    return this.republisher
  }

  /**
   * Discard new. As in nats-server, a subject already at its per-subject limit replaces its oldest
   * message, so it is exempt from max_msgs. Bytes are checked strictly (the whole accounted size of
   * the message must fit, after that replacement); nats-server 2.9 compares only headers + payload
   * and may then evict older messages, which discard new promises not to do.
   */
  private discardNewRejects(subject: string, size: number): string | undefined {
    const cfg = this.config
    const st = this.store.state()
    const perSubject = cfg.max_msgs_per_subject > 0 ? this.store.subjectCounts(subject).get(subject) ?? 0 : 0
    const atSubjectLimit = cfg.max_msgs_per_subject > 0 && perSubject >= cfg.max_msgs_per_subject
    if (atSubjectLimit && cfg.discard_new_per_subject === true) return "maximum messages per subject exceeded"
    if (cfg.max_msgs > 0 && st.msgs >= cfg.max_msgs && !atSubjectLimit) return "maximum messages exceeded"
    const accounted = subject.length + size + 16
    if (cfg.max_bytes > 0 && st.bytes + accounted > cfg.max_bytes) {
      if (!atSubjectLimit) return "maximum bytes exceeded"
      const oldest = this.store.firstSeqMatching(st.firstSeq, subject)
      const m = oldest === undefined ? undefined : this.store.get(oldest)
      const freed = m === undefined ? 0 : m.subject.length + (m.hdr?.length ?? 0) + m.data.length + 16
      if (st.bytes - freed + accounted > cfg.max_bytes) return "maximum bytes exceeded"
    }
    return undefined
  }

  /** Discard-old limits, from the head. Returns true when something was removed. */
  enforceLimits(): boolean {
    const cfg = this.config
    const r = this.store.enforceLimits({
      ...(cfg.discard === "old" && cfg.max_msgs > 0 ? { maxMsgs: cfg.max_msgs } : {}),
      ...(cfg.discard === "old" && cfg.max_bytes > 0 ? { maxBytes: cfg.max_bytes } : {}),
      // With TTLs on, max_age is the expiry's (a `never` message outlives it; markers).
      ...(cfg.max_age > 0 && cfg.allow_msg_ttl !== true ? { maxAgeNs: BigInt(cfg.max_age) } : {}),
      // Per-subject limits apply with either discard policy (discard new only rejects when asked to).
      ...(cfg.max_msgs_per_subject > 0 ? { maxMsgsPerSubject: cfg.max_msgs_per_subject } : {}),
      nowNs: this.ctx.nowNs()
    })
    let expired = 0
    if (cfg.allow_msg_ttl === true) {
      const place = (subject: string, marker: Uint8Array) =>
        this.processPublish(subject, undefined, marker.length, marker, "marker")
      const maxAge = BigInt(Math.max(0, cfg.max_age))
      expired = this.expiry.expire(this.store, maxAge, cfg.subject_delete_marker_ttl ?? 0, this.ctx.nowNs(), place)
    } else this.expiry.reset()
    if (r.msgs + expired > 0) this.removedGen++
    return r.msgs + expired > 0
  }

  /** Wakes the actor when the oldest message may have aged out; cheap when there is no max_age. */
  private expiryTimer(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      while (true) {
        const maxAge = this.config.max_age
        if (maxAge <= 0 || this.config.allow_msg_ttl === true) {
          yield* Effect.sleep(10_000)
          // The expiry arms its own timer; this catches config changes (max_age, TTLs turned on).
          if (this.config.allow_msg_ttl === true) this.kernel.offer({ _tag: "Expire" })
          continue
        }
        const st = this.store.state()
        const maxAgeMs = Math.ceil(maxAge / 1e6)
        let waitMs = maxAgeMs
        if (st.msgs > 0) {
          const expiresAtMs = Number((st.firstTs + BigInt(maxAge)) / 1_000_000n)
          waitMs = Math.max(1, expiresAtMs - Math.floor(Number(this.ctx.nowNs() / 1_000_000n)) + 1)
        }
        // Sleep to the next expiry (capped so a max_age change is noticed within seconds).
        yield* Effect.sleep(Math.min(waitMs, 10_000))
        if (st.msgs > 0) this.kernel.offer({ _tag: "Expire" })
      }
    })
  }

  /** Rebuilds the duplicate window from the messages still inside it (restart, window change). */
  rebuildDedupe(): void {
    const window = BigInt(this.config.duplicate_window)
    this.dedupe.setWindow(window)
    if (window <= 0n) return
    const from = this.store.firstSeqAtOrAfterTime(this.ctx.nowNs() - window)
    if (from === undefined) return
    const last = this.store.state().lastSeq
    for (let seq = from; seq <= last; seq++) {
      const m: StoredMessage | undefined = this.store.get(seq)
      if (m?.hdr === undefined) continue
      const id = headerValue(m.hdr, "Nats-Msg-Id")
      if (id !== undefined && id !== "") {
        this.dedupe.record(id, m.seq, m.ts)
        this.lastMsgId = id
      }
    }
  }

  private hasInterestIn(subject: string): boolean {
    for (const c of this.consumers.values()) if (c.wants(subject)) return true
    return false
  }

  /**
   * Retention after consumers acknowledged: workqueue removes on ack (and on term), interest
   * removes once every consumer that wants the message is done with it.
   */
  retain(sseqs: ReadonlyArray<number>): void {
    const policy = this.config.retention
    if (policy === "limits") return
    for (const seq of sseqs) {
      if (policy === "workqueue") {
        this.store.remove(seq)
        continue
      }
      const m = this.store.get(seq)
      if (m === undefined) continue
      let done = true
      for (const c of this.consumers.values()) {
        if (!c.isDoneWith(seq, m.subject)) {
          done = false
          break
        }
      }
      if (done) this.store.remove(seq)
    }
  }

  /** Message delete (STREAM.MSG.DELETE). */
  removeMessage(seq: number, erase: boolean): boolean {
    const removed = this.store.remove(seq, { erase })
    if (removed) this.removedGen++
    return removed
  }

  purge(request: PurgeRequest): number {
    this.removedGen++
    const n = this.store.purge(request)
    this.lastSeq = Math.max(this.lastSeq, this.store.state().lastSeq)
    return n
  }
}

const parseSeq = (s: string): number | undefined => (/^\d{1,16}$/.test(s) ? Number(s) : undefined)

const isApiError = (e: unknown): e is ApiError =>
  typeof e === "object" && e !== null && "err_code" in e && "code" in e && "description" in e
