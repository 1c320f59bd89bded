/**
 * `$JS.API.STREAM.*` handlers. Each decodes its request once, validates with nats-server's rules
 * and answers with nats-server's response type and shape.
 */
import { Effect } from "effect"
import { ADVERTISED_NATS_VERSION, AT_LEVEL_211, levelAtLeast } from "../../config/BrokerConfig.ts"
import { isValidSubject, toWire } from "../../subject/Subject.ts"
import { formatTime } from "../codec/Json.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import type { ConsumerLimits } from "../model/ConsumerConfig.ts"
import * as Requests from "../model/Requests.ts"
import {
  decodeStreamCreate,
  decodeStreamUpdate,
  type ServerStreamLimits,
  type StreamConfig,
  subjectsOverlap
} from "../model/StreamConfig.ts"
import { sameConfig } from "../model/StreamConfigEncode.ts"
import { adoptRequiredLevel } from "../model/VersionMetadata.ts"
import { lookupMessage } from "../stream/DirectGet.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { storedMessage, streamHasSubject, streamInfo, subjectsPage } from "../stream/StreamInfo.ts"
import type { StreamRegistry } from "../StreamRegistry.ts"

export type ActionAdvisory =
  | "STREAM.CREATED"
  | "STREAM.DELETED"
  | "STREAM.UPDATED"
  | "CONSUMER.CREATED"
  | "CONSUMER.DELETED"

export interface ApiContext {
  readonly registry: StreamRegistry
  /** Publishes `$JS.EVENT.ADVISORY.<event>.<stream>[.<consumer>]` (stream_action / consumer_action). */
  readonly advise?: (event: ActionAdvisory, stream: string, consumer?: string) => void
  readonly nowNs: () => bigint
  readonly limits: ServerStreamLimits
  /**
   * The account's JetStream limits for a new stream (nats-server jsNonClusteredStreamLimitsCheck:
   * max_streams, max_consumers, reserved bytes), checked before the stream is looked up.
   */
  readonly checkAccountLimits?: (config: StreamConfig, old?: StreamConfig) => ApiError | undefined
  /** The account's consumer limits (`max_consumers`, `max_ack_pending`). */
  readonly consumerLimits?: ConsumerLimits
}

/**
 * A handler's answer: the response body (without `type`) on success; an `ApiError` in the error
 * channel otherwise. Every handler decodes and validates its whole request before it changes
 * anything, so an error reply means nothing changed.
 */
export type ApiBody = Record<string, unknown>
export type ApiHandler = Effect.Effect<ApiBody, ApiError>

/** The server limits plus the other streams (mirror checks look at the origin). */
const withStreams = (ctx: ApiContext): ServerStreamLimits => {
  const { maxMemoryStore, maxFileStore, untiered } = ctx.limits
  return {
    ...(maxMemoryStore !== undefined ? { maxMemoryStore } : {}),
    ...(maxFileStore !== undefined ? { maxFileStore } : {}),
    ...(untiered !== undefined ? { untiered } : {}),
    stream: (n: string) => ctx.registry.get(n)?.config,
    // 2.10 (our level) lets an update change `republish`; 2.9.10 refuses it.
    republishEditable: levelAtLeast(ADVERTISED_NATS_VERSION, 2, 10),
    // 2.12 mirror promotion, served before we advertise 2.12 (nats.c tests it by version).
    mirrorPromotable: true,
    ...(ctx.registry.replication !== undefined ? { clustered: true } : {}),
    versioned: AT_LEVEL_211
  }
}

/**
 * 2.10 stream info ends with `ts`, the server time the info was gathered (no omitempty); the
 * stream itself is not needed to tell it, so it is stamped here, where the API clock is.
 */
export const stamped = (ctx: ApiContext, info: Record<string, unknown>): ApiBody => ({
  ...info,
  ts: formatTime(ctx.nowNs())
})

/** nats-server's create response has config, created and state only (no mirror/sources info), and `ts`. */
const createdInfo = (ctx: ApiContext, actor: StreamActor): ApiBody => {
  const { mirror: _mirror, sources: _sources, ...info } = streamInfo(actor)
  return stamped(ctx, info)
}

const overlapsOther = (registry: StreamRegistry, config: StreamConfig): boolean =>
  registry.all().some((a) => a.name !== config.name && subjectsOverlap(a.config.subjects, config.subjects))

/**
 * nats-server's check when an update sets a new non-zero `consumer_limits` value: every consumer
 * must be within the limits that are set (the current server's rule; 2.10 also refused removing a
 * limit while consumers had a threshold). The consumer names are sorted (nats-server lists them in map order).
 */
const consumersOverLimits = (registry: StreamRegistry, old: StreamConfig, next: StreamConfig): string | undefined => {
  const threshold = next.consumer_limits?.inactive_threshold ?? 0
  const pending = next.consumer_limits?.max_ack_pending ?? 0
  const changed = (threshold > 0 && threshold !== (old.consumer_limits?.inactive_threshold ?? 0)) ||
    (pending > 0 && pending !== (old.consumer_limits?.max_ack_pending ?? 0))
  if (!changed) return undefined
  const names = registry.consumersOf(next.name).filter((c) =>
    (threshold > 0 && (c.config.inactive_threshold ?? 0) > threshold) ||
    (pending > 0 && c.config.max_ack_pending > pending)
  ).map((c) => c.name).sort()
  return names.length === 0 ? undefined : `change to limits violates consumers: ${names.join(", ")}`
}

export const createStream = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const decoded = decodeStreamCreate(body, name, withStreams(ctx))
    if (!decoded.ok) return yield* decoded.error
    const config = decoded.config
    const overLimit = ctx.checkAccountLimits?.(config)
    if (overLimit !== undefined) return yield* overLimit
    const existing = ctx.registry.get(config.name)
    if (existing !== undefined) {
      const compared = AT_LEVEL_211 ? adoptRequiredLevel(config, existing.config) : config
      if (!sameConfig(existing.config, compared)) return yield* ApiErrors.streamNameExist()
      // nats-server 2.9.10 reports did_create on an idempotent create too.
      return { ...createdInfo(ctx, existing), did_create: true }
    }
    if (overlapsOther(ctx.registry, config)) return yield* ApiErrors.streamSubjectOverlap()
    const started = yield* ctx.registry.start(config, ctx.nowNs(), true)
    ctx.advise?.("STREAM.CREATED", config.name)
    return { ...createdInfo(ctx, started), did_create: true }
  })

export const updateStream = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const actor = ctx.registry.get(name)
    // The decoder reports body errors before "stream not found", in nats-server's order.
    const decoded = decodeStreamUpdate(body, name, actor?.config, withStreams(ctx))
    if (!decoded.ok) return yield* decoded.error
    if (actor === undefined) return yield* ApiErrors.streamNotFound()
    const next = decoded.config
    const overLimit = ctx.checkAccountLimits?.(next, actor.config)
    if (overLimit !== undefined) return yield* overLimit
    const violating = consumersOverLimits(ctx.registry, actor.config, next)
    if (violating !== undefined) return yield* ApiErrors.streamUpdate(violating)
    if (overlapsOther(ctx.registry, next)) return yield* ApiErrors.streamSubjectOverlap()
    yield* actor.call((a) => {
      const before = a.config
      a.config = next
      if (before.subjects.join("\u0000") !== next.subjects.join("\u0000")) a.resubscribe()
      if (before.allow_direct !== next.allow_direct) a.resubscribe()
      if (before.duplicate_window !== next.duplicate_window) a.rebuildDedupe()
      // 2.14: turning fast batches off ends those in flight (their next message gets 10205).
      if (next.allow_batched !== true) a.fastBatches.clear()
      // 2.10: compression can change on update; it applies to what is stored from now on.
      if (before.compression !== next.compression) a.store.setCompression(next.compression === "s2")
      if (before.mirror !== undefined && next.mirror === undefined) a.mirror?.promote()
      a.syncSources()
      a.enforceLimits()
      ctx.registry.saveConfig(a)
    })
    ctx.advise?.("STREAM.UPDATED", name)
    return stamped(ctx, streamInfo(actor))
  })

/** The decoded request, or a failure in the error channel. */
const decoded = <A>(
  r: A | ApiError
): Effect.Effect<A, ApiError> => (r instanceof ApiError ? Effect.fail(r) : Effect.succeed(r))

const findStream = (ctx: ApiContext, name: string): Effect.Effect<StreamActor, ApiError> => {
  const actor = ctx.registry.get(name)
  return actor === undefined ? Effect.fail(ApiErrors.streamNotFound()) : Effect.succeed(actor)
}

export const streamInfoRequest = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const req = yield* decoded(Requests.streamInfoRequest(body))
    const actor = yield* findStream(ctx, name)
    // Go's int offset: one past 2^53 is past any subject count as well.
    const page = req.subjects_filter === "" ?
      undefined :
      subjectsPage(actor, req.subjects_filter, Number(req.offset))
    const info = streamInfo(actor, { subjects: page?.subjects, deletedDetails: req.deleted_details })
    // `alternates` (2.10) lists a stream's mirrors in a cluster only; a single server omits it.
    return { total: page?.total ?? 0, offset: page?.offset ?? 0, limit: page?.limit ?? 0, ...stamped(ctx, info) }
  })

/** STREAM.NAMES and STREAM.LIST: the same `subject` filter and paging, different page sizes and items. */
const listStreams = (
  ctx: ApiContext,
  body: Uint8Array,
  limit: number,
  item: (a: StreamActor) => unknown,
  empty: null | []
): ApiHandler =>
  Effect.gen(function*() {
    const req = yield* decoded(Requests.streamNamesRequest(body))
    let streams = ctx.registry.all()
    if (req.subject !== "") streams = streams.filter((a) => streamHasSubject(a, toWire(req.subject)))
    // Go clamps the offset to the number of streams (an int offset past 2^53 is past any count too).
    const offset = Math.min(Number(req.offset), streams.length)
    const page = streams.slice(offset, offset + limit).map(item)
    return { total: streams.length, offset, limit, streams: page.length === 0 ? empty : page }
  })

// An empty page of names is Go's nil slice (`null`); the list response starts from an empty slice.
export const streamNames = (ctx: ApiContext, body: Uint8Array): ApiHandler =>
  listStreams(ctx, body, 1024, (a) => a.name, null)

export const streamList = (ctx: ApiContext, body: Uint8Array): ApiHandler =>
  listStreams(ctx, body, 256, (a) => stamped(ctx, streamInfo(a)), [])

export const deleteStream = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const notEmpty = Requests.emptyRequest(body)
    if (notEmpty !== undefined) return yield* notEmpty
    yield* findStream(ctx, name)
    yield* ctx.registry.delete(name)
    ctx.advise?.("STREAM.DELETED", name)
    return { success: true }
  })

export const purgeStream = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const req = yield* decoded(Requests.purgeRequest(body))
    const actor = yield* findStream(ctx, name)
    if (actor.config.sealed) return yield* ApiErrors.streamSealed()
    if (actor.config.deny_purge) return yield* ApiErrors.streamPurgeFailed("stream purge not permitted")
    if (req.filter !== "" && !isValidSubject(toWire(req.filter))) {
      return yield* ApiErrors.streamPurgeFailed("invalid subject filter")
    }
    // Sequences are exact JS numbers up to 2^53 - 1 (store/StoreError.ts SequenceOverflow); a purge
    // up to a later one would move the first sequence past it. nats-server 2.9.10 accepts it.
    if (req.seq > BigInt(Number.MAX_SAFE_INTEGER)) {
      return yield* ApiErrors.streamPurgeFailed(
        `purge sequence ${req.seq} is past the largest supported sequence ${Number.MAX_SAFE_INTEGER}`
      )
    }
    const purged = yield* actor.call((a) =>
      a.purge({
        ...(req.filter !== "" ? { filter: toWire(req.filter) } : {}),
        ...(req.seq > 0n ? { seq: Requests.seqNumber(req.seq) } : {}),
        ...(req.keep > 0n ? { keep: Requests.seqNumber(req.keep) } : {})
      })
    )
    return { success: true, purged }
  })

export const getMessage = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const req = yield* decoded(Requests.msgGetRequest(body))
    const actor = yield* findStream(ctx, name)
    const m = lookupMessage(actor, req)
    if (m === undefined) return yield* ApiErrors.noMessageFound()
    return { message: storedMessage(req.no_hdr ? { ...m, hdr: undefined } : m) }
  })

export const deleteMessage = (ctx: ApiContext, name: string, body: Uint8Array): ApiHandler =>
  Effect.gen(function*() {
    const req = yield* decoded(Requests.msgDeleteRequest(body))
    const actor = yield* findStream(ctx, name)
    if (actor.config.sealed) return yield* ApiErrors.streamSealed()
    if (actor.config.deny_delete) return yield* ApiErrors.streamMsgDeleteFailed("message delete not permitted")
    const seq = Requests.seqNumber(req.seq)
    const removed = yield* actor.call((a) => a.removeMessage(seq, !req.no_erase))
    if (!removed) return yield* ApiErrors.sequenceNotFound(req.seq)
    return { success: true }
  })
