/**
 * Sourcing or mirroring a WorkQueue / Interest stream through a durable consumer on it (2.14,
 * ADR-60). Reading such an origin's log directly would neither remove what was copied nor hold its
 * interest, so, as nats-server, the follower asks the origin's JetStream API for the consumer
 * `JS_SRC_<hash>` / `JS_MIRROR_<hash>` (the API turns the request into a durable push consumer
 * acked by flow control, SourcingConsumer.ts) and takes its deliveries on its own subject.
 *
 * At least once, never lost: a flow-control request is answered only once every delivery before it
 * is stored here, and the answer (`Nats-Last-Stream` / `Nats-Last-Consumer`) is what acks, so the
 * origin removes a message only after this stream has it. Every (re)start re-creates the consumer,
 * which resets it to its ack floor; deliveries of origin sequences this stream already took are
 * skipped (the `Nats-Stream-Source` tags, or a mirror's own sequences, say where it is).
 * A gap in the delivery sequence (a lost message, a heartbeat ahead of us) resets the consumer.
 *
 * Durable sourcing (`consumer { name, deliver_subject }` in the source): the user created the
 * consumer, so, as nats-server, the follower only resets it (CONSUMER.RESET, no body: back to its
 * ack floor) and takes its deliveries on the configured subject; it never creates, re-points or
 * deletes it. One not acked by flow control is refused in the source's info (10214 / 10217), and
 * one that is missing or gone reports the reset's error, retried until it is there.
 */
import { Effect, Latch } from "effect"
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Subscription } from "../../core/Router.ts"
import { headerValue } from "../../protocol/Headers.ts"
import { toWire } from "../../subject/Subject.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import type { StreamConsumerSource } from "../model/DurableSourcing.ts"
import { hash8 } from "../model/ExternalStream.ts"
import { sourceKey, type StreamSource } from "../model/StreamConfig.ts"
import type { FollowingStream, SourcedRecord } from "./FollowingStream.ts"

/** What the consumer path needs of the stream beyond FollowingStream: its client and identity. */
export interface SourcingApi {
  readonly client: InternalClient
  /** nats-server's account name (`$G` without accounts), hashed into the consumer's name. */
  readonly account: string
  readonly domain: string | undefined
}

/** What the follower reports in the source's info (lag, active, error). */
export interface SourceStatus {
  lag: number
  contact(nowMs: number): void
  failed(error: ApiError | undefined): void
}

/** nats-server `sourceHealthHB`, and how long without one before the consumer is set up again. */
const HEARTBEAT_MS = 1000
const STALE_MS = 3 * HEARTBEAT_MS
/**
 * A user's consumer that answers its reset with a refusal (or without flow-control acks) was reset all the
 * same: retrying every second would keep wiping its pending state. nats-server backs off 10 s per failure
 * up to 2 minutes (calculateRetryBackoff); so do we. A reset nobody answers (the consumer is missing) has
 * changed nothing and is retried at the usual pace.
 */
const refusedRetryMs = (refusals: number): number => Math.min(refusals * 10_000, 120_000)
/** How long a consumer create request may take before it is sent again. */
const CREATE_TIMEOUT_MS = 5000
/** nats-server's ack_wait and inactive_threshold of the consumer it asks for (the API clears them). */
const ASK_ACK_WAIT_NS = 22 * 3600 * 1_000_000_000
const ASK_INACTIVE_NS = 10 * 1_000_000_000

/**
 * nats-server `createStableConsumerHash` / `createSourcingConsumerHash`: the sourcing stream, its
 * account and domain, and for a stream sourced more than once the source's whole key.
 */
export const sourcingConsumerName = (
  kind: "mirror" | "source",
  stream: string,
  api: Pick<SourcingApi, "account" | "domain">,
  source: StreamSource,
  soleOfName: boolean
): string => {
  let id = `${stream} ${api.account}`
  if (api.domain !== undefined && api.domain !== "") id = `${id} ${api.domain}`
  if (kind === "source" && !soleOfName) id = `${id} ${sourceKey(source)}`
  return `${kind === "mirror" ? "JS_MIRROR" : "JS_SRC"}_${hash8(id)}`
}

type Item =
  | { readonly _tag: "msg"; readonly sseq: number; readonly dseq: number; readonly record: SourcedRecord }
  | { readonly _tag: "fc"; readonly reply: string }

const randomToken = (): string => Math.random().toString(36).slice(2, 12) + Date.now().toString(36)

/** `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>` (and 2.10's domain form). */
const ackInfo = (reply: string): { dc: number; sseq: number; dseq: number; ts: bigint } | undefined => {
  const t = reply.split(".")
  if (t[0] !== "$JS" || t[1] !== "ACK") return undefined
  const at = t.length === 9 ? 4 : t.length >= 11 ? 6 : -1
  if (at < 0) return undefined
  const ts = t[at + 3] ?? ""
  return { dc: Number(t[at]), sseq: Number(t[at + 1]), dseq: Number(t[at + 2]), ts: /^\d+$/.test(ts) ? BigInt(ts) : 0n }
}

const isControl = (hdrLen: number, msg: Uint8Array): boolean =>
  hdrLen === msg.length && hdrLen > 13 && Buffer.from(msg.subarray(0, 13)).toString("latin1") === "NATS/1.0 100 "

export class ConsumerSource {
  readonly name: string
  private readonly inbox: Array<Item> = []
  private readonly wake = Latch.makeUnsafe(false)
  private sub: Subscription | undefined
  private deliverSubject = ""
  /** The origin sequence up to which this stream has everything (stored or already had). */
  private lastSseq = 0
  /** The delivery sequence of the last delivery handled (stored or skipped). */
  private lastDseq = 0
  /**
   * The origin sequence of that delivery: what a flow-control answer acks up to. Not `lastSseq`:
   * after a restart the consumer delivers again from its ack floor, and acking up to what this
   * stream already had would move the floor past deliveries still to come, which then stay pending
   * (and in a WorkQueue origin) for ever.
   */
  private lastHandledSseq = 0
  /**
   * Bumped by every setup and gap: a drain still storing deliveries of an earlier run (the consumer
   * was re-created or reset meanwhile) must not answer the new run's flow-control requests with
   * where the old run had got to, which would ack deliveries the new run has not made yet.
   */
  private generation = 0
  /** The delivery sequence last received (ahead of lastDseq while a batch is being stored). */
  private recvDseq = 0
  /** Set on a gap: deliveries are dropped until the reset consumer starts again at 1. */
  private awaitingRestart = false
  private needSetup = true
  /** Refused setups of a user's consumer in a row (see refusedRetryMs). */
  private refusals = 0
  private lastHeardMs = 0

  readonly source: StreamSource
  readonly kind: "mirror" | "source"
  /** The user's consumer this source follows (durable sourcing); undefined: the stream's own. */
  private readonly user: StreamConsumerSource | undefined
  private readonly self: FollowingStream
  private readonly api: SourcingApi
  /** The `Nats-Stream-Source` name a source's copies get; none for a mirror (origin sequences kept). */
  private readonly tag: string | undefined
  private readonly rename: (subject: string) => string
  private readonly status: SourceStatus
  private readonly resumeAfter: () => number

  constructor(o: {
    readonly source: StreamSource
    readonly kind: "mirror" | "source"
    readonly self: FollowingStream
    readonly api: SourcingApi
    readonly tag: string | undefined
    readonly rename: (subject: string) => string
    readonly status: SourceStatus
    readonly soleOfName: boolean
    /** The last origin sequence this stream has from the source (0: none). */
    readonly resumeAfter: () => number
  }) {
    this.resumeAfter = o.resumeAfter
    this.source = o.source
    this.kind = o.kind
    this.self = o.self
    this.api = o.api
    this.tag = o.tag
    this.rename = o.rename
    this.status = o.status
    this.user = o.source.consumer
    this.name = this.user?.name ?? sourcingConsumerName(o.kind, o.self.name, o.api, o.source, o.soleOfName)
  }

  /** The origin's API, through `external`'s prefix when it has one (nats-server's `..` squeeze too). */
  private apiSubject(op: string): string {
    const api = this.source.external?.api
    const subject = `$JS.API.CONSUMER.${op}.${toWire(this.source.name)}.${this.name}`
    return api === undefined ? subject : subject.replace("$JS.API", api).replaceAll("..", ".")
  }

  /** Best effort, as nats-server: the source was removed from the config, so is its consumer (not a user's). */
  deleteConsumer(): void {
    if (this.user === undefined) this.fireAndForget(this.apiSubject("DELETE"))
  }

  /** The API serves only requests with a reply; nobody listens to this one (a lost answer changes nothing). */
  private fireAndForget(subject: string): void {
    this.api.client.publish(subject, `$JS.SRC.R.${randomToken()}`, -1, new Uint8Array(0))
  }

  run(nowMs: () => number): Effect.Effect<never> {
    return Effect.gen({ self: this }, function*() {
      yield* Effect.addFinalizer(() => Effect.sync(() => this.unsubscribe()))
      this.lastSseq = this.resumeAfter()
      while (true) {
        if (this.needSetup || nowMs() - this.lastHeardMs > STALE_MS) {
          const ok = yield* this.setup(nowMs)
          if (!ok) {
            yield* Effect.sleep(
              this.user !== undefined && this.refusals > 0 ? refusedRetryMs(this.refusals) : HEARTBEAT_MS
            )
            continue
          }
        }
        yield* Effect.timeoutOption(this.wake.await, HEARTBEAT_MS)
        this.wake.closeUnsafe()
        if (this.inbox.length > 0) yield* this.drain()
      }
    }) as Effect.Effect<never>
  }

  private unsubscribe(): void {
    if (this.sub !== undefined) this.api.client.unsubscribe(this.sub)
    this.sub = undefined
  }

  /** Subscribes a fresh deliver subject, then asks the origin to create (or re-point and reset) the consumer. */
  private setup(nowMs: () => number): Effect.Effect<boolean> {
    return Effect.gen({ self: this }, function*() {
      this.unsubscribe()
      this.inbox.length = 0
      this.generation++
      this.deliverSubject = this.user?.deliver_subject ?? `$JS.S.${randomToken()}`
      const sub = this.api.client.subscribe(this.deliverSubject, (subject, reply, hdrLen, msg) => {
        if (this.sub === sub) this.received(subject, reply, hdrLen, msg, nowMs())
      })
      this.sub = sub
      this.recvDseq = 0
      this.lastDseq = 0
      this.lastHandledSseq = 0
      // A user's consumer may already be delivering to its subject: what comes before the reset
      // starts it again at delivery 1 belongs to the run before.
      this.awaitingRestart = this.user !== undefined
      const answer = this.user === undefined ?
        yield* this.request(this.apiSubject("CREATE"), this.createBody()) :
        yield* this.request(this.apiSubject("RESET"), undefined)
      const refused = answer instanceof ApiError || answer === undefined ? answer : this.notAckedByFlowControl(answer)
      if (refused !== undefined || answer === undefined) {
        if (refused !== undefined) this.refusals++
        this.status.failed(refused)
        this.unsubscribe()
        return false
      }
      this.needSetup = false
      this.refusals = 0
      this.lastHeardMs = nowMs()
      this.status.failed(undefined)
      this.status.contact(nowMs())
      return true
    })
  }

  /** Durable sourcing needs the flow-control acks (nats-server checks the reset's answer). */
  private notAckedByFlowControl(answer: Record<string, unknown>): ApiError | undefined {
    if (this.user === undefined) return undefined
    const config = answer.config as { ack_policy?: unknown } | undefined
    if (config?.ack_policy === "flow_control") return undefined
    return this.kind === "mirror" ? ApiErrors.mirrorConsumerRequiresAckFC() : ApiErrors.sourceConsumerRequiresAckFC()
  }

  private createBody(): Record<string, unknown> {
    const src = this.source
    const config: Record<string, unknown> = {
      name: this.name,
      deliver_subject: this.deliverSubject,
      ack_policy: "none",
      ack_wait: ASK_ACK_WAIT_NS,
      max_deliver: 1,
      idle_heartbeat: HEARTBEAT_MS * 1_000_000,
      flow_control: true,
      direct: true,
      sourcing: true,
      inactive_threshold: ASK_INACTIVE_NS,
      metadata: {
        [`_nats.${this.kind === "mirror" ? "mirror" : "src"}.stream`]: this.self.name,
        [`_nats.${this.kind === "mirror" ? "mirror" : "src"}.acc`]: this.api.account,
        ...(this.api.domain === undefined || this.api.domain === "" ?
          {} :
          { [`_nats.${this.kind === "mirror" ? "mirror" : "src"}.domain`]: this.api.domain })
      }
    }
    // Only a new consumer takes these; an existing one keeps where it started (ConsumerApi).
    if (this.lastSseq > 0) {
      config.deliver_policy = "by_start_sequence"
      config.opt_start_seq = this.lastSseq + 1
    } else if ((src.opt_start_seq ?? 0) > 0) {
      config.deliver_policy = "by_start_sequence"
      config.opt_start_seq = src.opt_start_seq
    } else if (src.opt_start_time !== undefined) {
      config.deliver_policy = "by_start_time"
      config.opt_start_time = src.opt_start_time
    }
    if (src.filter_subject !== undefined && src.filter_subject !== "") config.filter_subject = src.filter_subject
    const trs = src.subject_transforms ?? []
    if (trs.length === 1) config.filter_subject = trs[0]!.src === "" ? ">" : trs[0]!.src
    else if (trs.length > 1) config.filter_subjects = trs.map((t) => (t.src === "" ? ">" : t.src))
    return { stream_name: src.name, config }
  }

  /** One API request over the account's router; undefined when nobody answers in time. */
  private request(subject: string, body: unknown): Effect.Effect<ApiError | Record<string, unknown> | undefined> {
    const client = this.api.client
    return Effect.callback<ApiError | Record<string, unknown> | undefined>((resume) => {
      const inbox = `$JS.SRC.R.${randomToken()}`
      const sub = client.subscribe(inbox, (_s, _r, hdrLen, msg) => {
        client.unsubscribe(sub!)
        try {
          const json = JSON.parse(Buffer.from(msg.subarray(Math.max(0, hdrLen))).toString("utf8")) as Record<
            string,
            unknown
          >
          const e = json.error as { code: number; err_code: number; description: string } | undefined
          resume(Effect.succeed(e === undefined ? json : new ApiError(e)))
        } catch {
          resume(Effect.succeed(ApiErrors.sourceConsumerSetupFailed("invalid consumer create response")))
        }
      })
      if (sub === undefined) return resume(Effect.succeed(undefined))
      client.publish(
        subject,
        inbox,
        -1,
        body === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(body), "utf8")
      )
      return Effect.sync(() => client.unsubscribe(sub))
    }).pipe(Effect.timeoutOption(CREATE_TIMEOUT_MS), Effect.map((o) => (o._tag === "Some" ? o.value : undefined)))
  }

  /** The deliver subject's handler: runs in the router, so it only queues (the loop stores). */
  private received(subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array, now: number): void {
    this.lastHeardMs = now
    if (isControl(hdrLen, msg)) {
      if (reply !== undefined && reply !== "") {
        this.inbox.push({ _tag: "fc", reply })
      } else {
        // An idle heartbeat says what was delivered last: one we never saw is a gap.
        const last = Number(headerValue(msg, "Nats-Last-Consumer") ?? "0")
        if (last > 0 && last !== this.recvDseq && !this.awaitingRestart) return this.gap()
        const stalled = headerValue(msg, "Nats-Consumer-Stalled")
        if (stalled !== undefined && stalled !== "") this.inbox.push({ _tag: "fc", reply: stalled })
      }
      this.wake.openUnsafe()
      return
    }
    const info = reply === undefined ? undefined : ackInfo(reply)
    if (info === undefined || info.dc > 1) return
    if (info.dseq === 1) this.awaitingRestart = false
    else if (this.awaitingRestart) return
    else if (info.dseq !== this.recvDseq + 1) return this.gap()
    this.recvDseq = info.dseq
    const hdr = hdrLen > 0 ? msg.slice(0, hdrLen) : undefined
    const data = msg.slice(Math.max(0, hdrLen))
    // A push delivery comes under the message's own subject, and the ack reply carries its time.
    const renamed = this.rename(subject)
    const origin = renamed === subject ? {} : { originSubject: subject }
    this.inbox.push({
      _tag: "msg",
      sseq: info.sseq,
      dseq: info.dseq,
      record: { seq: info.sseq, subject: renamed, ...origin, hdr, data, ts: info.ts }
    })
    this.wake.openUnsafe()
  }

  /** A delivery went missing: the consumer starts again at its ack floor (CONSUMER.RESET, no body). */
  private gap(): void {
    this.awaitingRestart = true
    this.inbox.length = 0
    this.generation++
    this.recvDseq = 0
    this.lastDseq = 0
    this.lastHandledSseq = 0
    this.fireAndForget(this.apiSubject("RESET"))
  }

  /** Stores what arrived, answering each flow-control request once what came before it is stored. */
  private drain(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      const items = this.inbox.splice(0, this.inbox.length)
      const run = this.generation
      let batch: Array<SourcedRecord> = []
      let batchTop = { sseq: this.lastHandledSseq, dseq: this.lastDseq }
      const flush = Effect.gen({ self: this }, function*() {
        if (batch.length === 0) {
          this.lastSseq = Math.max(this.lastSseq, batchTop.sseq)
          if (this.generation === run) {
            this.lastDseq = batchTop.dseq
            this.lastHandledSseq = batchTop.sseq
          }
          return true
        }
        const records = batch
        batch = []
        const ok = yield* Effect.callback<boolean>((resume) => {
          const queued = this.self.ingestSourced(records, (ok) => resume(Effect.succeed(ok)), this.tag)
          if (!queued) resume(Effect.succeed(false))
        })
        if (ok) {
          this.lastSseq = Math.max(this.lastSseq, batchTop.sseq)
          if (this.generation === run) {
            this.lastDseq = batchTop.dseq
            this.lastHandledSseq = batchTop.sseq
          }
        }
        return ok
      })
      for (const item of items) {
        if (item._tag === "fc") {
          if (!(yield* flush)) return this.storeFailed()
          // Stored either way; only the run that made these deliveries may ack them.
          if (this.generation !== run) return
          this.answer(item.reply)
          continue
        }
        // Already here (a redelivery after a restart or reset): acked by the next answer, not stored again.
        if (item.sseq > this.lastSseq && (item.dseq === 1 || item.sseq > batchTop.sseq)) batch.push(item.record)
        batchTop = { sseq: item.sseq, dseq: item.dseq }
      }
      if (!(yield* flush)) return this.storeFailed()
      this.status.lag = 0
    })
  }

  private storeFailed(): void {
    this.status.failed(ApiErrors.streamStoreFailed(`stream '${this.self.name}' could not store sourced messages`))
    this.inbox.length = 0
    this.needSetup = true
  }

  /** nats-server `handleFlowControl`: the last delivery and origin sequence this stream has. */
  private answer(reply: string): void {
    if (this.lastHandledSseq <= 0) {
      this.api.client.publish(reply, undefined, -1, new Uint8Array(0))
      return
    }
    const hdr = Buffer.from(
      `NATS/1.0\r\nNats-Last-Consumer: ${this.lastDseq}\r\nNats-Last-Stream: ${this.lastHandledSseq}\r\n\r\n`,
      "latin1"
    )
    this.api.client.publish(reply, undefined, hdr.length, hdr)
  }
}
