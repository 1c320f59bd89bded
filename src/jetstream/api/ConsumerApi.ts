/**
 * `$JS.API.CONSUMER.*` handlers (CREATE, DURABLE.CREATE, INFO, NAMES, LIST, DELETE) and consumer
 * info JSON in nats-server 2.9.10's shape, plus 2.10's `ts` in API replies (/jsz keeps 2.9.10's).
 * MSG.NEXT is not here: pull requests go straight to the consumer's mailbox from the router
 * callback (see JetStream.ts).
 */
import { Effect } from "effect"
import { ADVERTISED_NATS_VERSION, AT_LEVEL_210, AT_LEVEL_211, levelAtLeast } from "../../config/BrokerConfig.ts"
import { matches, toWire } from "../../subject/Subject.ts"
import { formatTime, GO_ZERO_TIME } from "../codec/Json.ts"
import type { ConsumerActor } from "../consumer/ConsumerActor.ts"
import { configFilters } from "../consumer/ConsumerFilter.ts"
import { deadLetterSubject, invalidDeadLetter } from "../consumer/DeadLetter.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import {
  ANY_FILTER,
  checkAgainstStream,
  checkUpdate,
  type ConsumerConfig,
  type ConsumerLimits,
  decodeConsumerCreate,
  encodeConsumerConfig,
  filterScope,
  sameAsStored,
  sameConsumerConfig,
  updatedConfig
} from "../model/ConsumerConfig.ts"
import { pauseRequest, unpinRequest } from "../model/ConsumerControlRequests.ts"
import { utcTime } from "../model/ConsumerPriority.ts"
import { resetRequest } from "../model/ConsumerResetRequest.ts"
import * as Requests from "../model/Requests.ts"
import { adoptRequiredLevel, replyConfig } from "../model/VersionMetadata.ts"
import { type ApiContext, type ApiHandler, stamped } from "./StreamApi.ts"

/**
 * CONSUMER.CREATE's `action` (2.10): "create" must not change an existing consumer, "update" must
 * find one. Acted on from the 2.10 level (ours, ADVERTISED_NATS_VERSION): a 2.9.10 server ignores it
 * (re-adding with a changed config updates), and `level` keeps that rule reachable; the value is
 * checked at either level (anything else is invalid JSON).
 */
export const actionRefusal = (
  level: string,
  action: string,
  existing: ConsumerConfig | undefined,
  requested: ConsumerConfig
): ApiError | undefined => {
  if (!levelAtLeast(level, 2, 10)) return undefined
  if (existing !== undefined && action === "create" && !sameAsStored(existing, requested)) {
    return ApiErrors.consumerAlreadyExists()
  }
  if (existing === undefined && action === "update") return ApiErrors.consumerDoesNotExist()
  return undefined
}

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const generateName = (): string => {
  let s = ""
  for (let i = 0; i < 8; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]
  return s
}

/**
 * Our `dead_letter` metadata extension (consumer/DeadLetter.ts): a literal subject, and not one this
 * consumer would take in again (each copy would be dead-lettered in turn, for ever).
 */
const deadLetterRefusal = (config: ConsumerConfig, streamSubjects: ReadonlyArray<string>): string | undefined => {
  const invalid = invalidDeadLetter(config.metadata)
  if (invalid !== undefined) return invalid
  const to = deadLetterSubject(config.metadata)
  if (to === undefined) return undefined
  const filters = configFilters(config).map(toWire)
  const captured = streamSubjects.some((s) => matches(toWire(s), to))
  const taken = filters.length === 0 || filters.some((f) => matches(f, to))
  return captured && taken ? "consumer metadata dead_letter would be consumed by this consumer again" : undefined
}

const msToTime = (ms: number) => formatTime(BigInt(Math.floor(ms)) * 1_000_000n)

/** `dynamic`: the reply-only version metadata (API replies yes; /jsz shows the stored config). */
export const consumerInfo = (c: ConsumerActor, dynamic: boolean = AT_LEVEL_211): Record<string, unknown> => {
  const st = c.state
  const floor = st.ackFloor()
  const delivered: Record<string, unknown> = { consumer_seq: st.delivered, stream_seq: Math.max(0, st.nextSeq - 1) }
  if (st.lastDeliveredAt > 0) delivered.last_active = msToTime(st.lastDeliveredAt)
  const ackFloor: Record<string, unknown> = { consumer_seq: floor.consumer_seq, stream_seq: floor.stream_seq }
  if (st.lastAckAt > 0) ackFloor.last_active = msToTime(st.lastAckAt)
  const info: Record<string, unknown> = {
    stream_name: c.stream.name,
    name: c.name,
    created: formatTime(c.created),
    config: encodeConsumerConfig(replyConfig(c.config, dynamic)),
    delivered,
    ack_floor: ackFloor,
    num_ack_pending: st.numAckPending,
    num_redelivered: st.numRedelivered,
    num_waiting: c.waiting.size,
    num_pending: c.numPending()
  }
  if (!c.isPull && c.hasPushInterest()) info.push_bound = true
  const remaining = c.pause.remainingMs(c.nowMs())
  if (remaining > 0) {
    info.paused = true
    info.pause_remaining = Math.round(remaining * 1e6)
  }
  return info
}

/** Consumer info as API replies carry it: `ts`, then the 2.11 `priority_groups` state (nats-server's order). */
export const stampedInfo = (ctx: ApiContext, c: ConsumerActor): Record<string, unknown> => {
  const info = stamped(ctx, consumerInfo(c))
  const groups = c.priority.info()
  return groups === undefined ? info : { ...info, priority_groups: groups }
}

/** The consumer limits of the account, and whether replicated consumers are served (cluster mode). */
const limitsOf = (ctx: ApiContext): ConsumerLimits =>
  ctx.registry.replication === undefined ? ctx.consumerLimits ?? {} : { ...ctx.consumerLimits, clustered: true }

export const createConsumer = (ctx: ApiContext, subject: string, streamName: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const stream = ctx.registry.get(streamName)
    if (stream === undefined) {
      // The request's own checks (JSON, subject tokens, filter) come first, then "stream not found".
      const decoded = decodeConsumerCreate(body, subject, undefined, limitsOf(ctx))
      return yield* decoded.ok ? ApiErrors.streamNotFound() : decoded.error
    }
    const scope = AT_LEVEL_210 ? ANY_FILTER : filterScope(stream.config, (name) => ctx.registry.get(name)?.config)
    const decoded = decodeConsumerCreate(body, subject, stream.config, limitsOf(ctx), scope, AT_LEVEL_211)
    if (!decoded.ok) return yield* decoded.error
    const req = decoded.request
    if (req.stream !== streamName) return yield* ApiErrors.streamMismatch()
    const name = req.config.name ?? req.config.durable_name ?? generateName()
    // An existing consumer keeps its pause: only CONSUMER.PAUSE changes it (as nats-server).
    const config = keepSourcingStart(
      keepPause(req.config, ctx.registry.getConsumer(streamName, name)?.config),
      ctx.registry.getConsumer(streamName, name)?.config
    )
    const others: Array<ConsumerConfig> = ctx.registry.consumersOf(streamName).filter((c) => c.name !== name).map((c) =>
      c.config
    )
    const existing = ctx.registry.getConsumer(streamName, name)
    const refused = actionRefusal(ADVERTISED_NATS_VERSION, req.action ?? "", existing?.config, config)
    if (refused !== undefined) return yield* refused
    const bad = checkAgainstStream(config, stream.config, others, existing !== undefined, limitsOf(ctx), scope)
    if (bad !== undefined) return yield* bad
    const badDeadLetter = deadLetterRefusal(config, stream.config.subjects)
    if (badDeadLetter !== undefined) return yield* ApiErrors.consumerCreate(badDeadLetter)
    if (existing !== undefined) {
      // Without an `action` (or with "update") an existing name is an update attempt.
      const compared = AT_LEVEL_211 ? adoptRequiredLevel(config, existing.config) : config
      if (!sameConsumerConfig(existing.config, compared)) {
        const refused = checkUpdate(existing.config, config)
        if (refused !== undefined) return yield* refused
        // nats-server checkNewConsumerConfig: a push consumer's deliver subject may move only while
        // nobody listens on the old one (concurrent subscribers to one durable: one of them wins).
        const from = existing.config.deliver_subject
        if (from !== undefined && config.deliver_subject !== from && existing.hasPushInterest()) {
          return yield* ApiErrors.consumerNameExist()
        }
        yield* existing.call((c) => c.updateConfig(updatedConfig(c.config, config)))
        ctx.registry.saveConsumer(existing)
      }
      // A sourcing stream (re)starting: the consumer redelivers from its ack floor (nats-server
      // resets it on every create), and the stream skips what it already has.
      if (config.sourcing === true) yield* existing.call((c) => c.reset(0))
      return stampedInfo(ctx, existing)
    }
    if (stream.config.max_consumers > 0 && ctx.registry.consumersOf(streamName).length >= stream.config.max_consumers) {
      return yield* ApiErrors.maximumConsumersLimit()
    }
    const started = yield* ctx.registry.startConsumer(streamName, name, config, ctx.nowNs())
    ctx.registry.saveConsumer(started)
    ctx.advise?.("CONSUMER.CREATED", streamName, name)
    started.announcePause()
    return stampedInfo(ctx, started)
  })

/** A sourcing consumer re-created keeps where it started: the follower's start is for a new one. */
const keepSourcingStart = (config: ConsumerConfig, existing: ConsumerConfig | undefined): ConsumerConfig => {
  if (existing === undefined || config.sourcing !== true) return config
  const { opt_start_seq: _seq, opt_start_time: _time, ...rest } = config
  return {
    ...rest,
    deliver_policy: existing.deliver_policy,
    ...(existing.opt_start_seq === undefined ? {} : { opt_start_seq: existing.opt_start_seq }),
    ...(existing.opt_start_time === undefined ? {} : { opt_start_time: existing.opt_start_time })
  }
}

const keepPause = (config: ConsumerConfig, existing: ConsumerConfig | undefined): ConsumerConfig => {
  if (existing === undefined) return config
  const { pause_until: _sent, ...rest } = config
  return existing.pause_until === undefined ? rest : { ...rest, pause_until: existing.pause_until }
}

const findConsumer = (
  ctx: ApiContext,
  stream: string,
  name: string,
  body: Uint8Array
): Effect.Effect<ConsumerActor, ApiError> => {
  // nats-server checks the (absent) body first, then the stream, then the consumer.
  const notEmpty = Requests.emptyRequest(body)
  if (notEmpty !== undefined) return Effect.fail(notEmpty)
  if (ctx.registry.get(stream) === undefined) return Effect.fail(ApiErrors.streamNotFound())
  const c = ctx.registry.getConsumer(stream, name)
  return c === undefined ? Effect.fail(ApiErrors.consumerNotFound()) : Effect.succeed(c)
}

export const consumerInfoRequest = (ctx: ApiContext, stream: string, name: string, body: Uint8Array): ApiHandler =>
  Effect.map(findConsumer(ctx, stream, name, body), (c) => stampedInfo(ctx, c))

export const deleteConsumer = (ctx: ApiContext, stream: string, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    yield* findConsumer(ctx, stream, name, body)
    yield* ctx.registry.deleteConsumer(stream, name, true)
    ctx.advise?.("CONSUMER.DELETED", stream, name)
    return { success: true }
  })

/** CONSUMER.NAMES and CONSUMER.LIST: the body is decoded before the stream is looked up, as nats-server. */
const listConsumers = (
  ctx: ApiContext,
  stream: string,
  body: Uint8Array,
  limit: number,
  item: (c: ConsumerActor) => unknown
): ApiHandler =>
  Effect.gen(function*() {
    const req = Requests.consumersRequest(body)
    if (req instanceof ApiError) return yield* req
    if (ctx.registry.get(stream) === undefined) return yield* ApiErrors.streamNotFound()
    const all = ctx.registry.consumersOf(stream)
    const offset = Math.min(Number(req.offset), all.length)
    return { total: all.length, offset, limit, consumers: all.slice(offset, offset + limit).map(item) }
  })

export const consumerNames = (ctx: ApiContext, stream: string, body: Uint8Array): ApiHandler =>
  listConsumers(ctx, stream, body, 1024, (c) => c.name)

export const consumerList = (ctx: ApiContext, stream: string, body: Uint8Array): ApiHandler =>
  listConsumers(ctx, stream, body, 256, (c) => stampedInfo(ctx, c))

/** CONSUMER.PAUSE: the body first, then the stream and the consumer; the new deadline is stored config. */
export const pauseConsumer = (ctx: ApiContext, stream: string, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const until = pauseRequest(body)
    if (until instanceof ApiError) return yield* until
    if (ctx.registry.get(stream) === undefined) return yield* ApiErrors.streamNotFound()
    const c = ctx.registry.getConsumer(stream, name)
    if (c === undefined) return yield* ApiErrors.consumerNotFound()
    yield* c.call((actor) => {
      const { pause_until: _old, ...rest } = actor.config
      actor.updateConfig(until !== undefined ? { ...rest, pause_until: utcTime(until) } : rest)
    })
    ctx.registry.saveConsumer(c)
    const remainingNs = until === undefined ? 0n : until - ctx.nowNs()
    return {
      paused: remainingNs > 0n,
      pause_until: until === undefined ? GO_ZERO_TIME : utcTime(until),
      ...(remainingNs > 0n ? { pause_remaining: Number(remainingNs) } : {})
    }
  })

/** CONSUMER.UNPIN: the body (a valid group) first, then the stream, the consumer and its groups. */
export const unpinConsumer = (ctx: ApiContext, stream: string, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const group = unpinRequest(body)
    if (group instanceof ApiError) return yield* group
    if (ctx.registry.get(stream) === undefined) return yield* ApiErrors.streamNotFound()
    const c = ctx.registry.getConsumer(stream, name)
    if (c === undefined) return yield* ApiErrors.consumerNotFound()
    if (!(c.config.priority_groups ?? []).includes(group)) return yield* ApiErrors.consumerInvalidPriorityGroup()
    yield* c.call((actor) => actor.priority.unpin(group))
    return {}
  })

/**
 * CONSUMER.RESET (2.14, ADR-60): the body, then the reset itself (ConsumerReset.ts); the reply is the
 * consumer's info as a create reply has it, plus `reset_seq`. Only an existing consumer answers
 * (its route is silent otherwise, see ApiRoutes.ts), as nats-server's per-consumer subscription.
 */
export const resetConsumer = (ctx: ApiContext, stream: string, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const requested = resetRequest(body)
    if (requested instanceof ApiError) return yield* requested
    const c = ctx.registry.getConsumer(stream, name)
    if (c === undefined) return yield* ApiErrors.consumerNotFound()
    const seq = yield* c.call((actor) => actor.reset(requested))
    if (typeof seq === "string") return yield* ApiErrors.consumerInvalidReset(seq)
    return { ...stampedInfo(ctx, c), reset_seq: seq }
  })
