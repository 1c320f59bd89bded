/**
 * One consumer: a bounded mailbox drained in batches by one fiber. Pull requests, acks, stream
 * "new messages" wake-ups and timer ticks all arrive as commands; after each batch the actor
 * delivers whatever it can (redeliveries first, then new messages in stream order) to waiting
 * pull requests or to the push deliver subject.
 *
 * Wire formats follow nats-server 2.9.10: ack reply subjects
 * `$JS.ACK.<stream>.<consumer>.<delivery count>.<stream seq>.<consumer seq>.<ts ns>.<pending>`,
 * pull statuses (404 No Messages, 408 Request Timeout with Nats-Pending-*, 409 ...), push idle
 * heartbeats and flow control requests.
 */
import { Effect, type Scope } from "effect"
import { AT_LEVEL_210 } from "../../config/BrokerConfig.ts"
import { enterProducer, FlagProducer } from "../../core/Backpressure.ts"
import type { Subscription } from "../../core/Router.ts"
import type { EventLog } from "../../store/EventLog.ts"
import { matches, toWire } from "../../subject/Subject.ts"
import { ActorKernel, type Call } from "../actor/ActorKernel.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { type AckingConsumer, ackOne, deadLettered, processAck } from "./AckHandling.ts"
import { ackWaitMs } from "./AckProcessing.ts"
import { AckReplyWriter } from "./AckReplyWriter.ts"
import { AckState } from "./AckState.ts"
import { ackForm, type ConsumerAckSubjects, consumerAckSubjects } from "./AckSubjects.ts"
import type { ConsumerCommand } from "./ConsumerCommand.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import { configFilters, ConsumerFilter } from "./ConsumerFilter.ts"
import { type ConsumerEvent, persistBatch } from "./ConsumerJournal.ts"
import { resetTarget, skippedByReset } from "./ConsumerReset.ts"
import { expire, schedule, type TimedConsumer } from "./ConsumerTimer.ts"
import type { DeadLettering, DeadLetters } from "./DeadLetter.ts"
import { FlowControl } from "./FlowControl.ts"
import { flowControlAckTarget } from "./FlowControlAck.ts"
import { type Pacing, pacingFor } from "./Pacing.ts"
import { Pause, pauseAdvisory } from "./Pause.ts"
import { PendingCounter } from "./PendingCounter.ts"
import { priorityEvents, PriorityGroups } from "./PriorityGroups.ts"
import { addPull, deliverPull } from "./PullDelivery.ts"
import { PullRequestQueue } from "./PullRequests.ts"
import { deliverPush, type PushingConsumer } from "./PushDelivery.ts"
import { startSequence } from "./StartSequence.ts"
import { pendingStatus, signal, status } from "./StatusMessages.ts"

const DEFAULT_ACK_FORM = ackForm(undefined, "$G", false)

/**
 * The state that delivery, acks and timers read and change is public so that the plain functions of
 * MessageDelivery.ts, PullDelivery.ts, PushDelivery.ts, AckHandling.ts, ConsumerTimer.ts and DeadLetter.ts take
 * the actor itself as their narrow view: no wrapper object per message. They run inside the actor's batch only.
 */
export class ConsumerActor implements AckingConsumer, PushingConsumer, TimedConsumer {
  readonly name: string
  readonly stream: StreamActor
  config: ConsumerConfig
  readonly created: bigint
  readonly state: AckState
  readonly waiting = new PullRequestQueue(() => this.config.priority_policy === "prioritized")
  readonly ctx: ConsumerContext
  private readonly kernel: ActorKernel<ConsumerCommand, ConsumerActor>
  private subs: Array<Subscription> = []
  timer: (() => void) | undefined = undefined
  timerAt = Infinity
  lastActivity: number
  lastPushSignal = 0
  readonly flow = new FlowControl()
  closed = false
  /** Subject filters (any of them takes a message). */
  filter: ConsumerFilter
  pending = new PendingCounter()
  pacing: Pacing
  /** Set when the last peek stopped at max_ack_pending rather than at the end of the stream. */
  ackPendingFull = false
  /** Earliest ack deadline of the pending set, kept from `expire` through the batch's deliveries to `schedule`. */
  nextDeadline = Infinity
  /** When pacing holds delivery back: the time to try again. */
  wakeAt = Infinity
  /** deliver_policy last_per_subject: the last message of each subject, delivered first. */
  lastPerSubject: Array<number> = []
  /** Durable progress (file streams): events of this batch, appended once the batch is processed. */
  private readonly journal: EventLog<AckState, ConsumerEvent> | undefined
  /** Why the journal refuses progress for good (a replicated stream's consumer after a failed commit). */
  get journalFailure() {
    return this.journal?.failure
  }
  events: Array<ConsumerEvent> = []
  /** Double-ack confirmations, sent only after the batch's events are durable. */
  ackReplies: Array<string> = []
  /** Dead-letter copies waiting for their PubAck, by stream sequence (DeadLetter.ts). */
  readonly deadLettering = new Map<number, DeadLettering>()
  deadLetters: DeadLetters | undefined = undefined
  /** Held by a congested receiver (a slow subscriber's connection): delivery waits until it drains. */
  readonly delivery = new FlagProducer(() => this.wake())
  readonly replies: AckReplyWriter
  readonly ackSubjects: ConsumerAckSubjects
  /** 2.11: `pause_until` (Pause.ts) and priority groups (PriorityGroups.ts). */
  readonly pause: Pause
  readonly priority: PriorityGroups

  private constructor(
    stream: StreamActor,
    name: string,
    config: ConsumerConfig,
    created: bigint,
    ctx: ConsumerContext,
    kernel: ActorKernel<ConsumerCommand, ConsumerActor>,
    startSeq: number,
    journal: EventLog<AckState, ConsumerEvent> | undefined
  ) {
    this.stream = stream
    this.name = name
    this.config = config
    this.created = created
    this.ctx = ctx
    this.kernel = kernel
    this.journal = journal
    this.ackSubjects = consumerAckSubjects(ctx.ackForm ?? DEFAULT_ACK_FORM, stream.name, name)
    this.replies = new AckReplyWriter(this.ackSubjects.replyPrefix)
    const recovered = journal?.state()
    // The actor works on its own copy; the journal's state is the fold of what was written.
    this.state = recovered !== undefined ? AckState.fromJson(recovered.toJson()) : new AckState(startSeq)
    this.state.rearm(ctx.nowMs() + ackWaitMs(config, 1))
    this.filter = new ConsumerFilter(config)
    this.pacing = pacingFor(config, stream.config.max_msg_size)
    this.lastActivity = ctx.nowMs()
    this.pause = new Pause(config, this.lastActivity)
    this.priority = new PriorityGroups(
      config,
      priorityEvents(
        ctx.client,
        stream.name,
        name,
        ctx.nowMs,
        (r, line) => signal(ctx.client, r.reply, pendingStatus(line, r))
      )
    )
    if (config.deliver_policy === "last_per_subject" && this.state.delivered === 0) {
      this.lastPerSubject = this.filter.lastPerSubject(stream.store)
      this.state.nextSeq = stream.store.state().lastSeq + 1
    }
  }

  get isPull(): boolean {
    return this.config.deliver_subject === undefined || this.config.deliver_subject === ""
  }

  get tracksAcks(): boolean {
    return this.config.ack_policy !== "none"
  }

  get flowControlAcks(): boolean {
    return this.config.ack_policy === "flow_control"
  }

  static make = (
    stream: StreamActor,
    name: string,
    config: ConsumerConfig,
    created: bigint,
    ctx: ConsumerContext,
    journal?: EventLog<AckState, ConsumerEvent>
  ): Effect.Effect<ConsumerActor, never, Scope.Scope> =>
    Effect.gen(function*() {
      const kernel = yield* ActorKernel.make<ConsumerCommand, ConsumerActor>({
        label: `consumer '${stream.name} > ${name}'`,
        capacity: 65_536,
        logError: (line) => ctx.log.error(line)
      })
      const c = new ConsumerActor(stream, name, config, created, ctx, kernel, startSequence(stream, config), journal)
      c.subscribe()
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          kernel.stop()
          c.stop()
        })
      )
      // After a defect the consumer's state is whole (it changes only between commands): go on.
      // Its acks are redelivered if lost (at-least-once), so nothing queued needs an answer.
      yield* kernel.start((batch) => c.runBatch(batch), () => {})
      c.offer({ _tag: "Wake" })
      return c
    })

  offer(cmd: ConsumerCommand): boolean {
    return !this.closed && this.kernel.offer(cmd)
  }

  /** Stream appended or removed messages. */
  wake(): void {
    this.offer({ _tag: "Wake" })
  }

  call<A>(f: (c: ConsumerActor) => A): Effect.Effect<A> {
    // A stopped or full consumer runs `f` in place: info and deletes must still answer.
    return this.kernel.call(f, (e) => ({ thrown: e }), () => undefined).pipe(
      Effect.catch((e) => (e === undefined ? Effect.sync(() => f(this)) : Effect.die(e.thrown)))
    )
  }

  private subscribe(): void {
    const c = this.ctx.client
    // Both forms are accepted whichever one replies are written in (AckSubjects.ts). Flow-control
    // acks (ADR-60) come only with flow-control answers, and an AckNone consumer takes none (from
    // 2.10): like nats-server, no ack subject then, so a double ack gets no-responders.
    const noAcks = this.flowControlAcks || (AT_LEVEL_210 && this.config.ack_policy === "none")
    for (const subject of noAcks ? [] : this.ackSubjects.ack) {
      const ack = c.subscribe(subject, (subject, reply, hdrLen, msg) => {
        this.offer({ _tag: "Ack", subject, reply, body: hdrLen > 0 ? msg.subarray(hdrLen) : msg })
      })
      if (ack !== undefined) this.subs.push(ack)
    }
    if (this.config.flow_control === true) {
      for (const subject of this.ackSubjects.fc) {
        const fc = c.subscribe(subject, (subject, _reply, hdrLen, msg) => {
          if (this.flowControlAcks && hdrLen > 0) {
            this.offer({ _tag: "FlowControlReply", subject, hdr: msg.slice(0, hdrLen) })
          } else this.offer({ _tag: "FlowControlReply", subject })
        })
        if (fc !== undefined) this.subs.push(fc)
      }
    }
    if (!this.isPull) {
      const deliver = toWire(this.config.deliver_subject!)
      const listener = (sub: Subscription) => {
        if (sub.owner !== c && (sub.subject === deliver || matches(sub.subject, deliver))) this.wake()
      }
      c.routerForListeners.subscribeListeners.add(listener)
      this.unlisten = () => c.routerForListeners.subscribeListeners.delete(listener)
    }
  }

  private unlisten: () => void = () => {}

  stop(): void {
    if (this.closed) return
    for (const r of this.waiting.clear()) signal(this.ctx.client, r.reply, status("409 Consumer Deleted"))
    this.closed = true
    for (const s of this.subs) this.ctx.client.unsubscribe(s)
    this.subs = []
    this.unlisten()
    this.deadLetters?.stop()
    if (this.timer !== undefined) this.timer()
  }

  // --- the loop -------------------------------------------------------------------------------

  private runBatch(batch: ReadonlyArray<ConsumerCommand | Call<ConsumerActor>>): Effect.Effect<void> {
    return Effect.suspend(() => {
      const now = this.ctx.nowMs()
      for (const cmd of batch) {
        switch (cmd._tag) {
          case "Pull":
            addPull(this, cmd.reply, cmd.request, now)
            break
          case "Ack":
            processAck(this, cmd.subject, cmd.reply, cmd.body, now)
            break
          case "Call":
            cmd.run(this)
            break
          case "FlowControlReply": {
            const target = this.flow.answered(cmd.subject) ? flowControlAckTarget(cmd.hdr) : undefined
            if (target !== undefined) ackOne(this, target.sseq, target.dseq, now)
            break
          }
          case "DeadLettered":
            deadLettered(this, cmd.sseq, now)
            break
          default:
            break
        }
      }
      expire(this, now)
      const prev = enterProducer(this.delivery)
      try {
        this.deliverAvailable(now)
      } finally {
        enterProducer(prev)
      }
      schedule(this, now)
      return this.persist()
    })
  }

  /** Appends this batch's events; double-ack confirmations wait until they are durable. */
  private persist(): Effect.Effect<void> {
    const events = this.events
    const replies = this.ackReplies
    this.events = []
    this.ackReplies = []
    return persistBatch(this.journal, events, replies, {
      confirm: (r) => void this.ctx.client.publish(r, undefined, -1, new Uint8Array(0)),
      failed: (what) => this.ctx.log.error(`JetStream consumer '${this.stream.name} > ${this.name}' ${what}`)
    })
  }

  // --- delivery -------------------------------------------------------------------------------

  private deliverAvailable(now: number): void {
    this.wakeAt = Infinity
    this.ackPendingFull = false
    if (this.isPull) deliverPull(this, now)
    else deliverPush(this, now)
  }

  /** num_pending: messages not yet delivered that match the filter. */
  numPending(): number {
    return this.lastPerSubject.length +
      this.pending.current(this.stream.store, this.state.nextSeq, this.filter, this.stream.removedGen)
  }

  hasPushInterest(): boolean {
    return !this.isPull && this.ctx.client.hasInterest(toWire(this.config.deliver_subject!))
  }

  /** Applies an update that checkUpdate allowed (limits, ack wait, backoff, description, ...). */
  updateConfig(config: ConsumerConfig): void {
    // nats-server applies changed filters in place: delivery goes on from the same stream
    // position with the new filters, so only the matcher and the pending count are rebuilt.
    const before = configFilters(this.config)
    const after = configFilters(config)
    if (before.length !== after.length || before.some((f, i) => f !== after[i])) {
      this.filter = new ConsumerFilter(config)
      this.pending = new PendingCounter()
      this.wake()
    }
    // A changed threshold counts from now, as nats-server restarts its delete timer.
    if (config.inactive_threshold !== this.config.inactive_threshold) this.lastActivity = this.ctx.nowMs()
    const now = this.ctx.nowMs()
    if (this.pause.update(config, now)) {
      pauseAdvisory(this.ctx.client, this.stream.name, this.name, config, now)
      this.wake()
    }
    this.priority.update(config)
    this.config = config
    this.pacing = pacingFor(config, this.stream.config.max_msg_size)
  }

  /** CONSUMER.RESET (ConsumerReset.ts): the stream sequence it restarts at, or why it may not. */
  reset(requested: number): number | string {
    const floor = this.state.ackFloor().stream_seq
    const seq = resetTarget(this.config, requested, floor, this.stream)
    if (typeof seq === "string") return seq
    this.state.reset(seq)
    this.events.push({ e: "r", s: seq })
    this.pending = new PendingCounter()
    this.lastPerSubject = []
    this.deadLettering.clear()
    if (this.stream.config.retention === "interest") {
      this.ctx.acked(this, skippedByReset(this.stream.store, floor, seq), false)
    }
    this.wake()
    return seq
  }

  /** A new consumer created paused announces it (a restart does not). */
  announcePause(): void {
    const now = this.ctx.nowMs()
    if (this.pause.paused(now)) pauseAdvisory(this.ctx.client, this.stream.name, this.name, this.config, now)
  }

  nowMs(): number {
    return this.ctx.nowMs()
  }

  /** Does this consumer's filter take messages on `subject`? */
  wants(subject: string): boolean {
    return this.filter.matches(subject)
  }

  /** Has this consumer finished with `sseq` (interest retention)? */
  isDoneWith(sseq: number, subject: string): boolean {
    if (!this.filter.matches(subject)) return true
    if (this.state.pending.has(sseq)) return false
    return sseq < this.state.nextSeq
  }
}
