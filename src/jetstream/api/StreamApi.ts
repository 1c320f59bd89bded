/**
 * `$JS.API.STREAM.*` handlers. Each decodes its request once, validates with nats-server's rules
 * and answers with nats-server's response type and shape.
 */
import { Effect } from "effect"
import { isValidSubject, toWire } from "../../subject/Subject.ts"
import type { StreamRegistry } from "../StreamRegistry.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { type ApiError, ApiErrors } from "./ApiError.ts"
import { parseJson } from "./Json.ts"
import { decodeStreamCreate, decodeStreamUpdate, sameConfig, type StreamConfig, subjectsOverlap } from "./StreamConfig.ts"
import { storedMessage, streamHasSubject, streamInfo } from "./StreamInfo.ts"

export type ActionAdvisory = "STREAM.CREATED" | "STREAM.DELETED" | "STREAM.UPDATED" | "CONSUMER.CREATED" | "CONSUMER.DELETED"

export interface ApiContext {
  readonly registry: StreamRegistry
  /** Publishes `$JS.EVENT.ADVISORY.<event>.<stream>[.<consumer>]` (stream_action / consumer_action). */
  readonly advise?: (event: ActionAdvisory, stream: string, consumer?: string) => void
  readonly nowNs: () => bigint
  readonly limits: { readonly maxMemoryStore?: number; readonly maxFileStore?: number }
}

/** A handler's answer: a response body (without `type`) or an error. */
export type ApiResult = { readonly body: Record<string, unknown> } | { readonly error: ApiError }

const ok = (body: Record<string, unknown>): ApiResult => ({ body })
const err = (error: ApiError): ApiResult => ({ error })

const decoder = new TextDecoder()

/** Empty body → {}; invalid JSON → undefined. */
export const requestJson = (body: Uint8Array): Record<string, unknown> | undefined => {
  if (body.length === 0) return {}
  const text = decoder.decode(body).trim()
  if (text === "") return {}
  let v: unknown
  try {
    v = parseJson(text)
  } catch {
    return undefined
  }
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}

const num = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : typeof v === "bigint" && v >= 0n ? Number(v) : undefined

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

const overlapsOther = (registry: StreamRegistry, config: StreamConfig): boolean =>
  registry.all().some((a) => a.name !== config.name && subjectsOverlap(a.config.subjects, config.subjects))

export const createStream = (ctx: ApiContext, name: string, body: Uint8Array): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    const decoded = decodeStreamCreate(body, name, ctx.limits)
    if (!decoded.ok) return err(decoded.error)
    const config = decoded.config
    const existing = ctx.registry.get(config.name)
    if (existing !== undefined) {
      if (!sameConfig(existing.config, config)) return err(ApiErrors.streamNameExist())
      // nats-server 2.9.10 reports did_create on an idempotent create too.
      return ok({ ...streamInfo(existing), did_create: true })
    }
    if (overlapsOther(ctx.registry, config)) return err(ApiErrors.streamSubjectOverlap())
    const started = yield* Effect.exit(ctx.registry.start(config, ctx.nowNs(), true))
    if (started._tag === "Failure") {
      const e = started.cause
      return err(ApiErrors.streamCreate(String(e)))
    }
    ctx.advise?.("STREAM.CREATED", config.name)
    return ok({ ...streamInfo(started.value), did_create: true })
  })

export const updateStream = (ctx: ApiContext, name: string, body: Uint8Array): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    const actor = ctx.registry.get(name)
    // The decoder reports body errors before "stream not found", in nats-server's order.
    const decoded = decodeStreamUpdate(body, name, actor?.config, ctx.limits)
    if (!decoded.ok) return err(decoded.error)
    if (actor === undefined) return err(ApiErrors.streamNotFound())
    const next = decoded.config
    if (overlapsOther(ctx.registry, next)) return err(ApiErrors.streamSubjectOverlap())
    const result = yield* Effect.exit(actor.call((a) => {
      const before = a.config
      a.config = next
      if (before.subjects.join("\u0000") !== next.subjects.join("\u0000")) a.resubscribe()
      if (before.allow_direct !== next.allow_direct) a.resubscribe()
      if (before.duplicate_window !== next.duplicate_window) a.rebuildDedupe()
      a.enforceLimits()
      ctx.registry.saveConfig(a)
    }))
    if (result._tag === "Failure") return err(ApiErrors.streamUpdate(String(result.cause)))
    ctx.advise?.("STREAM.UPDATED", name)
    return ok(streamInfo(actor))
  })

export const streamInfoRequest = (ctx: ApiContext, name: string, body: Uint8Array): ApiResult => {
  const req = requestJson(body)
  if (req === undefined) return err(ApiErrors.invalidJSON())
  const actor = ctx.registry.get(name)
  if (actor === undefined) return err(ApiErrors.streamNotFound())
  const info = streamInfo(actor, {
    subjectsFilter: str(req.subjects_filter),
    deletedDetails: req.deleted_details === true
  })
  return ok({ total: 0, offset: 0, limit: 0, ...info })
}

const page = <A>(items: ReadonlyArray<A>, offset: number, limit: number) => items.slice(offset, offset + limit)

/** STREAM.NAMES and STREAM.LIST: the same `subject` filter and paging, different page sizes and items. */
const listStreams = (
  ctx: ApiContext,
  body: Uint8Array,
  limit: number,
  item: (a: StreamActor) => unknown
): ApiResult => {
  const req = requestJson(body)
  if (req === undefined) return err(ApiErrors.invalidJSON())
  const filter = str(req.subject)
  const offset = num(req.offset) ?? 0
  let streams = ctx.registry.all()
  if (filter !== undefined && filter !== "") streams = streams.filter((a) => streamHasSubject(a, toWire(filter)))
  return ok({ total: streams.length, offset, limit, streams: page(streams, offset, limit).map(item) })
}

export const streamNames = (ctx: ApiContext, body: Uint8Array): ApiResult => listStreams(ctx, body, 1024, (a) => a.name)

export const streamList = (ctx: ApiContext, body: Uint8Array): ApiResult =>
  listStreams(ctx, body, 256, (a) => streamInfo(a))

export const deleteStream = (ctx: ApiContext, name: string): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    if (ctx.registry.get(name) === undefined) return err(ApiErrors.streamNotFound())
    yield* ctx.registry.delete(name)
    ctx.advise?.("STREAM.DELETED", name)
    return ok({ success: true })
  })

export const purgeStream = (ctx: ApiContext, name: string, body: Uint8Array): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    const req = requestJson(body)
    if (req === undefined) return err(ApiErrors.invalidJSON())
    const actor = ctx.registry.get(name)
    if (actor === undefined) return err(ApiErrors.streamNotFound())
    if (actor.config.sealed) return err(ApiErrors.streamSealed())
    if (actor.config.deny_purge) return err(ApiErrors.streamPurgeFailed("stream purge not permitted"))
    const filter = str(req.filter)
    const seq = num(req.seq)
    const keep = num(req.keep)
    if (seq !== undefined && seq > 0 && keep !== undefined && keep > 0) {
      return err(ApiErrors.badRequest())
    }
    if (filter !== undefined && filter !== "" && !isValidSubject(toWire(filter))) {
      return err(ApiErrors.streamPurgeFailed("invalid subject filter"))
    }
    const purged = yield* Effect.exit(actor.call((a) =>
      a.purge({
        ...(filter !== undefined && filter !== "" ? { filter: toWire(filter) } : {}),
        ...(seq !== undefined && seq > 0 ? { seq } : {}),
        ...(keep !== undefined && keep > 0 ? { keep } : {})
      })
    ))
    if (purged._tag === "Failure") return err(ApiErrors.streamGeneralError(String(purged.cause)))
    return ok({ success: true, purged: purged.value })
  })

/** Shared by STREAM.MSG.GET and DIRECT.GET: find the message a get request names. */
export const lookupMessage = (actor: { readonly store: import("../../store/MessageLog.ts").MessageLog }, req: Record<string, unknown>) => {
  const seq = num(req.seq) ?? 0
  const lastFor = str(req.last_by_subj) ?? ""
  const nextFor = str(req.next_by_subj) ?? ""
  if (seq > 0 && nextFor === "") return actor.store.get(seq)
  if (nextFor !== "") {
    const s = actor.store.firstSeqMatching(seq, toWire(nextFor))
    return s === undefined ? undefined : actor.store.get(s)
  }
  return actor.store.lastBySubject(toWire(lastFor))
}

export const getMessage = (ctx: ApiContext, name: string, body: Uint8Array): ApiResult => {
  const req = requestJson(body)
  if (req === undefined || body.length === 0) return err(ApiErrors.invalidJSON())
  const actor = ctx.registry.get(name)
  if (actor === undefined) return err(ApiErrors.streamNotFound())
  const seq = num(req.seq) ?? 0
  const lastFor = str(req.last_by_subj) ?? ""
  const nextFor = str(req.next_by_subj) ?? ""
  if ((seq > 0 && lastFor !== "") || (seq === 0 && lastFor === "" && nextFor === "") || (lastFor !== "" && nextFor !== "")) {
    return err(ApiErrors.badRequest())
  }
  const m = lookupMessage(actor, req)
  if (m === undefined) return err(ApiErrors.noMessageFound())
  return ok({ message: storedMessage(m) })
}

export const deleteMessage = (ctx: ApiContext, name: string, body: Uint8Array): Effect.Effect<ApiResult> =>
  Effect.gen(function*() {
    if (body.length === 0) return err(ApiErrors.badRequest())
    const req = requestJson(body)
    if (req === undefined) return err(ApiErrors.invalidJSON())
    const actor = ctx.registry.get(name)
    if (actor === undefined) return err(ApiErrors.streamNotFound())
    if (actor.config.sealed) return err(ApiErrors.streamSealed())
    if (actor.config.deny_delete) return err(ApiErrors.streamMsgDeleteFailed("message delete not permitted"))
    const seq = num(req.seq) ?? 0
    const erase = req.no_erase !== true
    const removed = yield* Effect.exit(actor.call((a) => a.removeMessage(seq, erase)))
    if (removed._tag === "Failure") return err(ApiErrors.streamMsgDeleteFailed(String(removed.cause)))
    if (!removed.value) return err(ApiErrors.sequenceNotFound(seq))
    return ok({ success: true })
  })
