/**
 * JetStream: the `$JS.API.>` request handlers and the stream registry, as one service layered on
 * the core router. Requests arrive through an in-process subscription and are served one at a time
 * by the API fiber (management traffic, not the publish hot path).
 */
import { Cause, Context, Effect, FiberSet, Layer, Queue } from "effect"
import { Buffer } from "node:buffer"
import * as path from "node:path"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { BrokerClock } from "../core/BrokerClock.ts"
import { InternalClient } from "../core/InternalClient.ts"
import { Router } from "../core/Router.ts"
import { Log } from "../log/Log.ts"
import { makeServerId } from "../protocol/ServerInfo.ts"
import { EventLogStore } from "../store/EventLogStore.ts"
import { MetaStore } from "../store/MetaStore.ts"
import { makeMemory, StreamStore } from "../store/StreamStore.ts"
import * as ConsumerApi from "./api/ConsumerApi.ts"
import * as StreamApi from "./api/StreamApi.ts"
import { encodeJson, formatTime } from "./codec/Json.ts"
import { type ApiError, apiErrorResponse, ApiErrors, apiResponse } from "./model/ApiError.ts"
import { decodePullRequest } from "./model/PullRequest.ts"
import { emptyRequest } from "./model/Requests.ts"
import { StoreLimits } from "./StoreLimits.ts"
import { StreamRegistry } from "./StreamRegistry.ts"

const T = "io.nats.jetstream.api.v1."

export interface ApiStats {
  total: number
  errors: number
}

export interface JetStreamShape {
  readonly registry: StreamRegistry
  readonly stats: ApiStats
  readonly storeDir: string
}

interface ApiRequest {
  readonly subject: string
  readonly reply: string | undefined
  readonly body: Uint8Array
}

type Route = (ctx: StreamApi.ApiContext, token: string, body: Uint8Array) => StreamApi.ApiHandler

interface RouteSpec {
  /** The response type, without the `io.nats.jetstream.api.v1.` prefix. */
  readonly type: string
  readonly run: Route
  /** Members of nats-server's response struct without `omitempty`: they are in its error replies too. */
  readonly zero?: Record<string, unknown>
  /** nats-server's catch-all error for the operation, for a failure that is not an `ApiError` (a defect). */
  readonly general?: (err: string) => ApiError
}

const PAGED_ZERO = { total: 0, offset: 0, limit: 0 }

/** `$JS.API.<op>` → response type and handler; `token` is the stream name where the subject has one. */
const routes: Record<string, RouteSpec & { readonly named: boolean }> = {
  "STREAM.CREATE": {
    type: "stream_create_response",
    named: true,
    run: StreamApi.createStream,
    general: ApiErrors.streamCreate
  },
  "STREAM.UPDATE": {
    type: "stream_update_response",
    named: true,
    run: StreamApi.updateStream,
    general: ApiErrors.streamUpdate
  },
  "STREAM.INFO": { type: "stream_info_response", named: true, run: StreamApi.streamInfoRequest, zero: PAGED_ZERO },
  "STREAM.DELETE": {
    type: "stream_delete_response",
    named: true,
    run: StreamApi.deleteStream,
    general: ApiErrors.streamDelete
  },
  "STREAM.PURGE": { type: "stream_purge_response", named: true, run: StreamApi.purgeStream, zero: { purged: 0 } },
  "STREAM.MSG.GET": { type: "stream_msg_get_response", named: true, run: StreamApi.getMessage },
  "STREAM.MSG.DELETE": {
    type: "stream_msg_delete_response",
    named: true,
    run: StreamApi.deleteMessage,
    general: ApiErrors.streamMsgDeleteFailed
  },
  "STREAM.NAMES": {
    type: "stream_names_response",
    named: false,
    run: (ctx, _t, body) => StreamApi.streamNames(ctx, body),
    zero: { ...PAGED_ZERO, streams: null }
  },
  "STREAM.LIST": {
    type: "stream_list_response",
    named: false,
    run: (ctx, _t, body) => StreamApi.streamList(ctx, body),
    zero: { ...PAGED_ZERO, streams: [] }
  }
}

const PREFIX = "$JS.API."
const NEXT_PREFIX = "$JS.API.CONSUMER.MSG.NEXT."

type Resolved = { readonly route: RouteSpec; readonly token: string }

/** `$JS.API.CONSUMER.*` subjects carry one or two names (and a filter for CREATE). */
const resolveConsumer = (subject: string): Resolved | undefined => {
  const t = subject.split(".")
  const run = (
    type: string,
    f: (ctx: StreamApi.ApiContext, body: Uint8Array) => StreamApi.ApiHandler,
    extra: Omit<RouteSpec, "type" | "run"> = {}
  ): Resolved => ({ route: { type, run: (ctx, _token, body) => f(ctx, body), ...extra }, token: "" })
  const create = { general: ApiErrors.consumerCreate }
  const list = { zero: { ...PAGED_ZERO, consumers: [] } }
  switch (t[3]) {
    case "CREATE":
      if (t.length >= 5 && t[4] !== "") {
        return run("consumer_create_response", (ctx, b) => ConsumerApi.createConsumer(ctx, subject, t[4]!, b), create)
      }
      return undefined
    case "DURABLE":
      if (t[4] === "CREATE" && t.length === 7) {
        return run("consumer_create_response", (ctx, b) => ConsumerApi.createConsumer(ctx, subject, t[5]!, b), create)
      }
      return undefined
    case "INFO":
      if (t.length === 6) {
        return run("consumer_info_response", (ctx, b) => ConsumerApi.consumerInfoRequest(ctx, t[4]!, t[5]!, b))
      }
      return undefined
    case "DELETE":
      if (t.length === 6) {
        return run("consumer_delete_response", (ctx, b) => ConsumerApi.deleteConsumer(ctx, t[4]!, t[5]!, b))
      }
      return undefined
    case "NAMES":
      if (t.length === 5) {
        return run("consumer_names_response", (ctx, b) => ConsumerApi.consumerNames(ctx, t[4]!, b), list)
      }
      return undefined
    case "LIST":
      if (t.length === 5) {
        return run("consumer_list_response", (ctx, b) => ConsumerApi.consumerList(ctx, t[4]!, b), list)
      }
      return undefined
    default:
      return undefined
  }
}

/** Splits `$JS.API.STREAM.MSG.GET.ORDERS` into the route and the name token. */
const resolve = (subject: string): Resolved | undefined => {
  const rest = subject.slice(PREFIX.length)
  if (rest.startsWith("CONSUMER.")) return resolveConsumer(subject)
  for (const [op, route] of Object.entries(routes)) {
    if (route.named) {
      if (rest.startsWith(op + ".")) {
        const token = rest.slice(op.length + 1)
        // A name is a single token; deeper subjects belong to other operations or none.
        if (token !== "" && !token.includes(".")) return { route, token }
      }
    } else if (rest === op) {
      return { route, token: "" }
    }
  }
  return undefined
}

/** The text of a defect for the catch-all error: the thrown error's message, never a rendered cause. */
const defectText = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : "internal error"
}

export class JetStream extends Context.Service<JetStream, JetStreamShape>()("effect-jetstream/jetstream/JetStream") {
  static readonly layer = Layer.effect(JetStream)(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const router = yield* Router
      const log = yield* Log
      const fileStore = yield* StreamStore
      const journals = yield* EventLogStore
      const meta = yield* MetaStore
      const root = yield* Effect.scope
      const client = new InternalClient(router)
      const storeDir = path.resolve(config.storeDir)
      const clock = yield* BrokerClock
      const nowNs = clock.nowNs
      const run = yield* FiberSet.makeRuntime<never>()
      const memoryStore = makeMemory({})
      const storeLimits = new StoreLimits(
        config,
        { file: fileStore.usedBytes, memory: memoryStore.usedBytes },
        clock.nowMs
      )
      const registry = new StreamRegistry({
        nowMs: clock.nowMs,
        schedule: clock.schedule,
        run: (e) => void run(e),
        root,
        fileStore,
        memoryStore,
        // With everything in memory nothing is persisted, as before (the memory MetaStore would not survive either).
        meta: fileStore.kind === "file" ? meta : undefined,
        journals,
        ctx: {
          client,
          log,
          nowNs,
          ...(config.domain !== undefined ? { domain: config.domain } : {}),
          storeFull: (storage) => storeLimits.full(storage)
        },
        log
      })
      const stats: ApiStats = { total: 0, errors: 0 }
      // Server-wide store limits, read by the stream config checks each time (a computed file limit moves with
      // the disk and the streams' usage).
      const limits = {
        get maxMemoryStore() {
          return storeLimits.maxMemoryStore
        },
        get maxFileStore() {
          return storeLimits.maxFileStore
        }
      }
      const advise = (event: StreamApi.ActionAdvisory, stream: string, consumer?: string) => {
        const action = event.endsWith("CREATED") ? "create" : event.endsWith("DELETED") ? "delete" : "modify"
        const body = encodeJson({
          type: `io.nats.jetstream.advisory.v1.${consumer === undefined ? "stream" : "consumer"}_action`,
          id: makeServerId().slice(1, 23),
          timestamp: formatTime(nowNs()),
          stream,
          ...(consumer === undefined ? {} : { consumer }),
          action,
          ...(config.domain !== undefined ? { domain: config.domain } : {})
        })
        const subject = `$JS.EVENT.ADVISORY.${event}.${stream}${consumer === undefined ? "" : `.${consumer}`}`
        client.publish(subject, undefined, -1, Buffer.from(body, "utf8"))
      }
      const ctx: StreamApi.ApiContext = { registry, nowNs, limits, advise }

      log.info("Starting JetStream")
      log.info(`  Store directory: "${storeDir}" (${fileStore.kind} store)`)
      const recovered = yield* registry.recover()
      log.info(`  Recovered ${recovered} stream(s)`)

      const requests = yield* Queue.bounded<ApiRequest>(4096)
      const sendStatus = (to: string, line: string) => {
        const hdr = Buffer.from(`NATS/1.0 ${line}\r\n\r\n`, "latin1")
        client.publish(to, undefined, hdr.length, hdr)
      }
      const onApi = (subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array) => {
        if (reply === undefined) return
        const body = hdrLen > 0 ? msg.subarray(hdrLen) : msg
        // Pull requests are the consumer hot path: straight to the consumer's mailbox.
        if (subject.startsWith(NEXT_PREFIX)) {
          const t = subject.split(".")
          if (t.length !== 7) return
          const consumer = registry.getConsumer(t[5]!, t[6]!)
          if (consumer === undefined) return
          if (!consumer.isPull) return sendStatus(reply, "409 Consumer is push based")
          const decoded = decodePullRequest(body)
          if (!decoded.ok) return sendStatus(reply, `400 ${decoded.description}`)
          consumer.offer({ _tag: "Pull", reply, request: decoded.request })
          return
        }
        if (!Queue.offerUnsafe(requests, { subject, reply, body })) {
          log.warn(`JetStream API queue full, dropping request on ${subject}`)
        }
      }
      const sub = client.subscribe(`${PREFIX}>`, onApi)
      // A JetStream domain also answers on $JS.<domain>.API.> (what clients use to reach it by domain).
      if (config.domain !== undefined) {
        const domainPrefix = `$JS.${config.domain}.API.`
        client.subscribe(
          `${domainPrefix}>`,
          (subject, reply, hdrLen, msg) => onApi(PREFIX + subject.slice(domainPrefix.length), reply, hdrLen, msg)
        )
      }
      if (sub === undefined) return yield* Effect.die(new Error("cannot subscribe to the JetStream API"))
      yield* Effect.addFinalizer(() => Effect.sync(() => client.unsubscribeAll()))

      // Account INFO: 2.9.10 ignores its body; a body with members is refused (strict decoding).
      const accountRoute: RouteSpec = {
        type: "account_info_response",
        run: (_ctx, _token, body) => {
          const notEmpty = emptyRequest(body)
          return notEmpty !== undefined ?
            Effect.fail(notEmpty) :
            Effect.sync(() =>
              accountInfo(
                registry,
                { memory: memoryStore.usedBytes(), storage: fileStore.usedBytes() },
                stats,
                config.domain
              )
            )
        }
      }

      // Every request is answered: an ApiError in the handler's error channel becomes the error
      // reply; a defect becomes the operation's catch-all error (and is logged), never silence.
      const serve = (req: ApiRequest): Effect.Effect<void> => {
        const found: Resolved | undefined = req.subject === `${PREFIX}INFO`
          ? { route: accountRoute, token: "" }
          : resolve(req.subject)
        // nats-server 2.9 does not answer API subjects it does not know.
        if (found === undefined) return Effect.void
        const { route, token } = found
        stats.total++
        // Creating a stream reserves space: judge it by the free space of now, not of a second ago.
        if (req.subject.startsWith(`${PREFIX}STREAM.CREATE.`)) storeLimits.refresh()
        const type = T + route.type
        const failed = (error: ApiError) => {
          stats.errors++
          return apiErrorResponse(type, error, route.zero)
        }
        return Effect.suspend(() => route.run(ctx, token, req.body)).pipe(
          Effect.match({ onSuccess: (body) => apiResponse(type, body), onFailure: failed }),
          Effect.catchCause((cause) => {
            if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
            return Effect.sync(() => {
              log.error(`JetStream API ${req.subject} failed: ${Cause.pretty(cause)}`)
              return failed((route.general ?? ApiErrors.streamGeneralError)(defectText(cause)))
            })
          }),
          Effect.flatMap((json) => Effect.sync(() => respond(req.reply, json)))
        )
      }
      // The API fiber outlives any one request: even a failure to send the reply is only logged.
      const serveSafely = (req: ApiRequest): Effect.Effect<void> =>
        Effect.suspend(() => serve(req)).pipe(
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause)
              ? Effect.failCause(cause)
              : Effect.sync(() =>
                log.error(`JetStream API ${req.subject} could not be answered: ${Cause.pretty(cause)}`)
              )
          )
        )

      const respond = (reply: string | undefined, json: string) => {
        if (reply !== undefined) client.publish(reply, undefined, -1, Buffer.from(json, "utf8"))
      }

      yield* Effect.forkScoped(
        Effect.forever(
          Effect.flatMap(Queue.takeAll(requests), (batch) => Effect.forEach(batch, serveSafely, { discard: true }))
        )
      )
      return { registry, stats, storeDir }
    })
  )
}

const accountInfo = (
  registry: StreamRegistry,
  usage: { readonly memory: number; readonly storage: number },
  stats: ApiStats,
  domain: string | undefined
): Record<string, unknown> => {
  return {
    memory: usage.memory,
    storage: usage.storage,
    streams: registry.size,
    consumers: registry.consumerCount,
    limits: {
      max_memory: -1,
      max_storage: -1,
      max_streams: -1,
      max_consumers: -1,
      max_ack_pending: -1,
      memory_max_stream_bytes: -1,
      storage_max_stream_bytes: -1,
      max_bytes_required: false
    },
    ...(domain !== undefined ? { domain } : {}),
    api: { total: stats.total, errors: stats.errors }
  }
}
