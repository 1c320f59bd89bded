/**
 * `$JS.API.CONSUMER.*` handlers (CREATE, DURABLE.CREATE, INFO, NAMES, LIST, DELETE) and consumer
 * info JSON in nats-server 2.9.10's shape. MSG.NEXT is not here: pull requests go straight to the
 * consumer's mailbox from the router callback (see JetStream.ts).
 */
import { Effect } from "effect"
import type { ConsumerActor } from "../consumer/ConsumerActor.ts"
import { ApiErrors } from "./ApiError.ts"
import {
  checkAgainstStream,
  checkUpdate,
  type ConsumerConfig,
  decodeConsumerCreate,
  encodeConsumerConfig,
  sameConsumerConfig,
  updatedConfig
} from "./ConsumerConfig.ts"
import { formatTime } from "./Json.ts"
import { type ApiContext, type ApiResult, requestJson } from "./StreamApi.ts"

const ok = (body: Record<string, unknown>): ApiResult => ({ body })

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const generateName = (): string => {
  let s = ""
  for (let i = 0; i < 8; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]
  return s
}

const msToTime = (ms: number) => formatTime(BigInt(Math.floor(ms)) * 1_000_000n)

export const consumerInfo = (c: ConsumerActor): Record<string, unknown> => {
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
    config: encodeConsumerConfig(c.config),
    delivered,
    ack_floor: ackFloor,
    num_ack_pending: st.numAckPending,
    num_redelivered: st.numRedelivered,
    num_waiting: c.waiting.size,
    num_pending: c.numPending()
  }
  if (!c.isPull && c.hasPushInterest()) info.push_bound = true
  return info
}

export const createConsumer = (ctx: ApiContext, subject: string, streamName: string, body: Uint8Array): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    const stream = ctx.registry.get(streamName)
    if (stream === undefined) {
      if (requestJson(body) === undefined) return { error: ApiErrors.invalidJSON() }
      return { error: ApiErrors.streamNotFound() }
    }
    const decoded = decodeConsumerCreate(body, subject, stream.config)
    if (!decoded.ok) return { error: decoded.error }
    const req = decoded.request
    if (req.stream !== streamName) return { error: ApiErrors.streamMismatch() }
    const config = req.config
    const name = config.name ?? config.durable_name ?? generateName()
    const others: Array<ConsumerConfig> = ctx.registry.consumersOf(streamName).filter((c) => c.name !== name).map((c) => c.config)
    const existing = ctx.registry.getConsumer(streamName, name)
    const bad = checkAgainstStream(config, stream.config, others, existing !== undefined)
    if (bad !== undefined) return { error: bad }
    if (existing !== undefined) {
      // 2.9.10 has no create/update `action`: an existing name is always an update attempt.
      if (sameConsumerConfig(existing.config, config)) return ok(consumerInfo(existing))
      const refused = checkUpdate(existing.config, config)
      if (refused !== undefined) return { error: refused }
      yield* existing.call((c) => c.updateConfig(updatedConfig(c.config, config)))
      ctx.registry.saveConsumer(existing)
      return ok(consumerInfo(existing))
    }
    if (stream.config.max_consumers > 0 && ctx.registry.consumersOf(streamName).length >= stream.config.max_consumers) {
      return { error: ApiErrors.maximumConsumersLimit() }
    }
    const started = yield* Effect.exit(ctx.registry.startConsumer(streamName, name, config, ctx.nowNs()))
    if (started._tag === "Failure") return { error: ApiErrors.consumerCreate(String(started.cause)) }
    ctx.registry.saveConsumer(started.value)
    ctx.advise?.("CONSUMER.CREATED", streamName, name)
    return ok(consumerInfo(started.value))
  })

export const consumerInfoRequest = (ctx: ApiContext, stream: string, name: string): ApiResult => {
  if (ctx.registry.get(stream) === undefined) return { error: ApiErrors.streamNotFound() }
  const c = ctx.registry.getConsumer(stream, name)
  if (c === undefined) return { error: ApiErrors.consumerNotFound() }
  return ok(consumerInfo(c))
}

export const deleteConsumer = (ctx: ApiContext, stream: string, name: string): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    if (ctx.registry.get(stream) === undefined) return { error: ApiErrors.streamNotFound() }
    if (ctx.registry.getConsumer(stream, name) === undefined) return { error: ApiErrors.consumerNotFound() }
    yield* ctx.registry.deleteConsumer(stream, name)
    ctx.advise?.("CONSUMER.DELETED", stream, name)
    return ok({ success: true })
  })

const offsetOf = (body: Uint8Array): number | undefined => {
  const req = requestJson(body)
  if (req === undefined) return undefined
  const o = req.offset
  return typeof o === "number" && o > 0 ? o : 0
}

export const consumerNames = (ctx: ApiContext, stream: string, body: Uint8Array): ApiResult => {
  const offset = offsetOf(body)
  if (offset === undefined) return { error: ApiErrors.invalidJSON() }
  if (ctx.registry.get(stream) === undefined) return { error: ApiErrors.streamNotFound() }
  const all = ctx.registry.consumersOf(stream)
  return ok({ total: all.length, offset, limit: 1024, consumers: all.slice(offset, offset + 1024).map((c) => c.name) })
}

export const consumerList = (ctx: ApiContext, stream: string, body: Uint8Array): ApiResult => {
  const offset = offsetOf(body)
  if (offset === undefined) return { error: ApiErrors.invalidJSON() }
  if (ctx.registry.get(stream) === undefined) return { error: ApiErrors.streamNotFound() }
  const all = ctx.registry.consumersOf(stream)
  return ok({ total: all.length, offset, limit: 256, consumers: all.slice(offset, offset + 256).map(consumerInfo) })
}

