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
import type { MessageLog, PurgeRequest } from "../../store/MessageLog.ts"
import { isStoreError } from "../../store/StoreError.ts"
import { toWire } from "../../subject/Subject.ts"
import type { SubjectTransform } from "../../subject/SubjectTransform.ts"
import { ActorKernel, type Call } from "../actor/ActorKernel.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import type { StreamConfig } from "../model/StreamConfig.ts"
import { AtomicBatches, type AtomicHost } from "./AtomicBatch.ts"
import { makeAtomicHost, makeFastBatchHost } from "./BatchHosts.ts"
import { Dedupe, rebuildDedupe } from "./Dedupe.ts"
import { subscribeDirectGet } from "./DirectGet.ts"
import { FastBatchBudget, FastBatches, type FastBatchHost, isFastBatchReply } from "./FastBatch.ts"
import { DEFAULT_INGEST_LIMITS, IngestQueue } from "./IngestLimit.ts"
import { MessageSchedules } from "./MessageSchedule.ts"
import { MessageExpiry } from "./MessageTtl.ts"
import { PubAcks } from "./PubAcks.ts"
import { processPublish, type PublishingStream, queueError } from "./PublishChecks.ts"
import type { Republisher } from "./Republish.ts"
import { lastSourcedSeq, type SourceFollowers, storeIngested, syncSourceFollowers } from "./SourcedIngest.ts"
import { failAcksAbove, storeErrorText, storeFailed, tryStore, writeFailed, writeSucceeded } from "./StoreFailure.ts"
import type { StreamCommand } from "./StreamCommand.ts"
import type { StreamConsumer, StreamContext } from "./StreamContext.ts"
import { enforceLimits, expiryTimer, retain } from "./StreamLimits.ts"
import { MirrorFollower, type SourcedRecord } from "./StreamSource.ts"
import { traceIntoStream, traceRefused } from "./StreamTrace.ts"

export const MAILBOX_CAPACITY = 65_536
/**
 * Ingest back-pressure: past this many bytes queued and not yet taken by the actor (each message
 * counted with 256 bytes of overhead, so small messages stay far below MAILBOX_CAPACITY), the
 * connection publishing is held until the actor takes the batch. Publishers are slowed to the
 * stream's pace instead of filling memory or the mailbox (whose overflow loses messages).
 */
export const INGEST_HIGH_WATER = 8 * 1024 * 1024
const INGEST_OVERHEAD = 256

/**
 * The state the publish path reads and changes is public so that the plain functions of PublishChecks.ts,
 * StoreFailure.ts, BatchHosts.ts, SourcedIngest.ts and StreamLimits.ts take the actor itself as their narrow
 * view: no wrapper object per message. They run inside the actor's batch only.
 */
export class StreamActor implements PublishingStream {
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
  republisher: Republisher | undefined
  republishFor: StreamConfig | undefined
  /** Built for the config's `subject_transform` (rebuilt when the config object changes). */
  inputTransform: SubjectTransform | undefined
  inputTransformFor: StreamConfig | undefined
  private ingestQueued = 0
  private readonly ingest = new Gate(INGEST_HIGH_WATER, 0)
  private readonly ingestLimit: IngestQueue
  /** The trace of the publish being processed (set around processPublish only). */
  tracing: MsgTrace | undefined = undefined
  /** 2.14 fast-ingest batches in flight (FastBatch.ts). */
  readonly fastBatches: FastBatches
  private fastHost: FastBatchHost | undefined
  /** What the last publish check refused, or the sequence it found a duplicate of (read by storeFastBatchMsg). */
  refusal: ApiError | undefined = undefined
  duplicateOf = 0
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
  readonly expiry = new MessageExpiry(
    () => this.ctx.nowNs(),
    (ms, f) => this.scheduleTimer(ms, f),
    () => void this.kernel.offer({ _tag: "Expire" })
  )
  private scheduleTimer: (ms: number, f: () => void) => () => void = () => () => {}
  /** Message schedules (MessageSchedule.ts), used only with `allow_msg_schedules`. */
  readonly schedules = new MessageSchedules(
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
    this.atomic = new AtomicBatches(ctx.atomicBatchLimits)
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
      yield* Effect.forkScoped(expiryTimer(actor, () => void kernel.offer({ _tag: "Expire" })))
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
    return lastSourcedSeq(this.store, key, byName)
  }

  /** Followers of this stream's `sources`, by source key (sourceKey). */
  readonly sourceFollowers: SourceFollowers = new Map()
  private forkFollower: ((f: MirrorFollower) => () => void) | undefined

  /** Starts followers for added sources and stops those of removed ones (create, update). */
  syncSources(): void {
    if (this.forkFollower !== undefined) syncSourceFollowers(this.config, this.sourceFollowers, this.forkFollower)
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
            if (batched ?? processPublish(this, cmd.subject, cmd.reply, cmd.hdrLen, cmd.msg)) syncNeeded = true
          } catch (e) {
            // A read the checks needed failed (the append itself answers its own errors).
            if (!isStoreError(e)) throw e
            storeFailed(this, e, "check a msg")
            queueError(this, cmd.reply, ApiErrors.streamStoreFailed(storeErrorText(e)))
          }
          this.tracing = undefined
          cmd.trace?.done()
          touched = true
        } else if (cmd._tag === "Ingest") {
          ingested.push(cmd.done)
          if (!storeIngested(this, cmd.records, cmd.source)) ingestOk = false
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
              (to, hdrLen, msg) => processPublish(this, to, undefined, hdrLen, msg, "schedule")
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

  /** Open atomic batches (AtomicBatch.ts) and the view of this stream they check against. */
  private readonly atomic: AtomicBatches
  private atomicView: AtomicHost | undefined

  private atomicHost(): AtomicHost {
    return this.atomicView ??= makeAtomicHost(
      this,
      (ms) => void this.scheduleTimer(ms, () => void this.kernel.offer({ _tag: "AtomicSweep" }))
    )
  }

  private fastBatchHost(): FastBatchHost {
    return this.fastHost ??= makeFastBatchHost(this)
  }

  /** Discard-old limits, from the head. Returns true when something was removed. */
  enforceLimits(): boolean {
    return enforceLimits(this)
  }

  /** Rebuilds the duplicate window from the messages still inside it (restart, window change). */
  rebuildDedupe(): void {
    rebuildDedupe(this)
  }

  /** Retention after consumers acknowledged (StreamLimits.ts). */
  retain(sseqs: ReadonlyArray<number>): void {
    retain(this, sseqs)
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

const isApiError = (e: unknown): e is ApiError =>
  typeof e === "object" && e !== null && "err_code" in e && "code" in e && "description" in e
