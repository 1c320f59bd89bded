/**
 * One account's JetStream: its streams (a StreamRegistry over the account's own stores), its
 * `$JS.API.>` subscription in the account's router, and its limits (nats-server jsAccount). Two
 * accounts each have one of these, so both may own a stream `ORDERS`; a request only ever reaches
 * the instance of the requester's account.
 *
 * An account without JetStream answers every API request with 10039 (nats-server
 * enableJetStreamInfoServiceImportOnly, then checkJetStream in each handler).
 *
 * Requests are served one at a time by the account's API fiber (management traffic, not the
 * publish hot path); pull requests go straight to the consumer's mailbox.
 */
import { Cause, Effect, FiberSet, Queue, type Scope } from "effect"
import { Buffer } from "node:buffer"
import { GLOBAL_ACCOUNT, type JetStreamLimits } from "../accounts/AccountSettings.ts"
import { AT_LEVEL_210, AT_LEVEL_211, type BrokerConfig } from "../config/BrokerConfig.ts"
import { featureFlag, JS_ACK_FC_V2 } from "../config/FeatureFlags.ts"
import type { BrokerClockShape } from "../core/BrokerClock.ts"
import { InternalClient } from "../core/InternalClient.ts"
import type { MessageRouter } from "../core/Router.ts"
import type { Logger } from "../log/Log.ts"
import { makeServerId } from "../protocol/ServerInfo.ts"
import type { EventLogStore } from "../store/EventLogStore.ts"
import type { MetaStore } from "../store/MetaStore.ts"
import type { StreamStore } from "../store/StreamStore.ts"
import {
  API_LIMIT_REACHED,
  ApiQueueLimit,
  DEFAULT_REQUEST_QUEUE_LIMIT,
  limitReachedAdvisory
} from "./api/ApiQueueLimit.ts"
import {
  defectText,
  DIRECT_GET_PREFIX,
  isSystemDirective,
  NEXT_PREFIX,
  PREFIX,
  resolve,
  type Resolved,
  type RouteSpec,
  T
} from "./api/ApiRoutes.ts"
import type * as StreamApi from "./api/StreamApi.ts"
import type { AccountGate, ClusterModeShape, Decision } from "./cluster/ClusterGate.ts"
import { encodeJson, formatTime } from "./codec/Json.ts"
import { ackForm } from "./consumer/AckSubjects.ts"
import { type ApiError, apiErrorResponse, ApiErrors, apiResponse } from "./model/ApiError.ts"
import { API_LEVEL, refusesApiLevel } from "./model/ApiLevel.ts"
import { decodePullRequest } from "./model/PullRequest.ts"
import { emptyRequest } from "./model/Requests.ts"
import type { StreamConfig } from "./model/StreamConfig.ts"
import type { StoreLimits } from "./StoreLimits.ts"
import type { AtomicBatchLimits } from "./stream/AtomicBatch.ts"
import type { FastBatchBudget } from "./stream/FastBatch.ts"
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from "./stream/IngestLimit.ts"
import type { OriginLookup } from "./stream/StreamSource.ts"
import { StreamRegistry } from "./StreamRegistry.ts"
import { checkTieredStreamLimits, limitsJson, tierName, type Tiers, tiersInfo, ZERO_LIMITS } from "./TieredLimits.ts"

export interface ApiStats {
  total: number
  errors: number
}

export interface AccountJetStreamDeps {
  readonly account: string
  readonly router: MessageRouter
  /** Undefined: JetStream is not enabled for the account (its API answers 10039). */
  readonly limits: JetStreamLimits | undefined
  /** JWT `tiered_limits` (TieredLimits.ts): stream limits and INFO go by the stream's replica tier. */
  readonly tiers?: Tiers | undefined
  /**
   * The account imports a service covering `$JS.API.INFO` (another account's JetStream): without
   * JetStream of its own it then answers nothing itself (nats-server serviceImportShadowed).
   */
  readonly apiImported?: boolean
  readonly fileStore: StreamStore["Service"]
  readonly memoryStore: StreamStore["Service"]
  readonly meta: MetaStore["Service"] | undefined
  readonly journals: EventLogStore["Service"]
  /** Server-wide store limits (shared by every account). */
  readonly storeLimits: StoreLimits
  /** Server-wide fast-ingest batch count (stream/FastBatch.ts). */
  readonly fastBatchBudget?: FastBatchBudget
  /** The server's atomic batch limits (stream/AtomicBatch.ts). */
  readonly atomicBatchLimits?: AtomicBatchLimits
  readonly config: BrokerConfig
  readonly clock: BrokerClockShape
  readonly log: Logger
  /** Cluster mode: who answers which request (ClusterGate.ts); absent on a single server. */
  readonly cluster?: ClusterModeShape
  /** Where `$JS.EVENT.ADVISORY.API.LIMIT_REACHED` goes (ApiQueueLimit.ts); absent = not published. */
  readonly systemRouter?: MessageRouter | undefined
  /** Origins of mirrors and sources with `external` (JetStream resolves them across accounts). */
  readonly external?: OriginLookup
}

export interface AccountJetStream {
  readonly account: string
  readonly enabled: boolean
  readonly registry: StreamRegistry
  readonly stats: ApiStats
  readonly limits: JetStreamLimits | undefined
  /** Bytes stored by the account's streams. */
  readonly usage: () => { readonly memory: number; readonly storage: number }
}

interface ApiRequest {
  readonly subject: string
  readonly reply: string | undefined
  readonly body: Uint8Array
  /** ApiQueueLimit's sequence. */
  readonly seq: number
  /** `Nats-Required-Api-Level` asked for more than ours (ApiLevel.ts). */
  readonly levelRefused?: boolean
  /** Came in through a service import: an unknown subject is not answered (`unknownApi`). */
  readonly imported?: boolean
}

/**
 * nats-server jsNonClusteredStreamLimitsCheck for a new stream: max_streams, the stream's
 * max_consumers against the account's, then its max_bytes (1 when unset) on top of what the
 * account's other streams of that storage reserve. For an update (`old` given, nats-server
 * configUpdateCheck) no stream count, and only the growth of max_bytes is added to a reservation
 * that keeps the old value.
 */
export const checkStreamLimits = (
  limits: JetStreamLimits,
  registry: StreamRegistry,
  config: StreamConfig,
  old?: StreamConfig
): ApiError | undefined => {
  if (old === undefined && limits.maxStreams > 0 && registry.size >= limits.maxStreams) {
    return ApiErrors.maximumStreamsLimit()
  }
  if (config.max_consumers > 0 && limits.maxConsumers > 0 && config.max_consumers > limits.maxConsumers) {
    return ApiErrors.maximumConsumersLimit()
  }
  let reserved = 0
  for (const s of registry.all()) {
    if (s.config.storage === config.storage && s.name !== config.name && s.config.max_bytes > 0) {
      reserved += s.config.max_bytes
    }
  }
  let add = config.max_bytes < 0 ? 1 : config.max_bytes
  if (old !== undefined) {
    reserved += old.max_bytes
    add = Math.max(0, config.max_bytes - old.max_bytes)
  }
  if (config.storage === "memory") {
    if (limits.maxMemory >= 0 && reserved + add > limits.maxMemory) return ApiErrors.memoryResourcesExceeded()
  } else if (limits.maxStore >= 0 && reserved + add > limits.maxStore) return ApiErrors.storageResourcesExceeded()
  return undefined
}

/** nats-server: 0 takes the default; a negative value leaves that limit off. */
const ingestLimitsOf = (c: { readonly maxBufferedMsgs: number; readonly maxBufferedSize: number }): IngestLimits => ({
  msgs: c.maxBufferedMsgs === 0 ? DEFAULT_INGEST_LIMITS.msgs : c.maxBufferedMsgs,
  bytes: c.maxBufferedSize === 0 ? DEFAULT_INGEST_LIMITS.bytes : c.maxBufferedSize
})

export const make = (deps: AccountJetStreamDeps): Effect.Effect<AccountJetStream, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { config, log, clock, fileStore, memoryStore, storeLimits, tiers } = deps
    const limits = deps.limits
    const root = yield* Effect.scope
    const client = new InternalClient(deps.router)
    const nowNs = clock.nowNs
    const run = yield* FiberSet.makeRuntime<never>()
    const usage = () => ({ memory: memoryStore.usedBytes(), storage: fileStore.usedBytes() })
    // Unlimited accounts (the global one without accounts configured) skip the check on every publish.
    const bounded = limits !== undefined &&
      (limits.maxMemory >= 0 || limits.maxStore >= 0 || limits.memoryMaxStreamBytes > 0 ||
        limits.storeMaxStreamBytes > 0)
    const accountFull = limits === undefined || !bounded ? undefined : (storage: "file" | "memory", bytes: number) => {
      const total = (storage === "memory" ? memoryStore.usedBytes() : fileStore.usedBytes()) + bytes
      const perStream = storage === "memory" ? limits.memoryMaxStreamBytes : limits.storeMaxStreamBytes
      const max = storage === "memory" ? limits.maxMemory : limits.maxStore
      return (perStream > 0 && total > perStream) || (max >= 0 && total > max)
    }
    const registry = new StreamRegistry({
      nowMs: clock.nowMs,
      schedule: clock.schedule,
      run: (e) => void run(e),
      root,
      fileStore,
      memoryStore,
      meta: deps.meta,
      journals: deps.journals,
      ackForm: ackForm(config.domain, deps.account, featureFlag(config.featureFlags, JS_ACK_FC_V2)),
      ...(deps.external === undefined ? {} : { external: deps.external }),
      ctx: {
        client,
        log,
        nowNs,
        ...(config.domain !== undefined ? { domain: config.domain } : {}),
        storeFull: (storage) => storeLimits.full(storage),
        ingestLimits: ingestLimitsOf(config),
        ...(deps.fastBatchBudget === undefined ? {} : { fastBatchBudget: deps.fastBatchBudget }),
        ...(deps.atomicBatchLimits === undefined ? {} : { atomicBatchLimits: deps.atomicBatchLimits }),
        maxPending: config.maxPending,
        account: deps.account,
        ...(accountFull === undefined ? {} : { accountFull })
      },
      log
    })
    const stats: ApiStats = { total: 0, errors: 0 }
    const self: AccountJetStream = {
      account: deps.account,
      enabled: limits !== undefined,
      registry,
      stats,
      limits,
      usage
    }

    const respond = (reply: string | undefined, json: string) => {
      if (reply !== undefined) client.publish(reply, undefined, -1, Buffer.from(json, "utf8"))
    }
    const subscribeApi = (
      subject: string,
      onApi: (s: string, r: string | undefined, h: number, m: Uint8Array) => void,
      answers?: (subject: string) => boolean
    ) => {
      const sub = client.subscribe(subject, onApi)
      if (sub === undefined) return Effect.die(new Error(`cannot subscribe to ${subject}`))
      sub.answers = answers
      return Effect.void
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => client.unsubscribeAll()))
    // A JetStream domain also answers on $JS.<domain>.API.> (what clients use to reach it by domain).
    const domainPrefix = config.domain === undefined ? undefined : `$JS.${config.domain}.API.`

    if (limits === undefined && deps.apiImported === true) return self
    if (limits === undefined) {
      // nats-server: every API handler starts with checkJetStream and answers 10039 in its own type.
      const onDisabled = (subject: string, reply: string | undefined) => {
        if (reply === undefined) return
        const api = domainPrefix !== undefined && subject.startsWith(domainPrefix)
          ? PREFIX + subject.slice(domainPrefix.length)
          : subject
        const found = api === `${PREFIX}INFO`
          ? { route: { type: "account_info_response", zero: undefined } }
          : resolve(api)
        if (found === undefined) return
        respond(reply, apiErrorResponse(T + found.route.type, ApiErrors.notEnabledForAccount(), found.route.zero))
      }
      yield* subscribeApi(`${PREFIX}>`, onDisabled)
      if (domainPrefix !== undefined) yield* subscribeApi(`${domainPrefix}>`, onDisabled)
      return self
    }

    // Account limits reach the stream config checks (max_bytes_required, per-stream bytes) and the consumers.
    const apiLimits = {
      get maxMemoryStore() {
        return storeLimits.maxMemoryStore
      },
      get maxFileStore() {
        return storeLimits.maxFileStore
      },
      ...(tiers === undefined ? {} : { untiered: (replicas: bigint) => !tiers.has(tierName(replicas)) }),
      ...(limits.maxBytesRequired ? { maxBytesRequired: true } : {}),
      ...(limits.memoryMaxStreamBytes > 0 ? { maxMemoryStreamBytes: limits.memoryMaxStreamBytes } : {}),
      ...(limits.storeMaxStreamBytes > 0 ? { maxFileStreamBytes: limits.storeMaxStreamBytes } : {})
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
    const ctx: StreamApi.ApiContext = {
      registry,
      nowNs,
      limits: apiLimits,
      advise,
      checkAccountLimits: (cfg, old) =>
        tiers === undefined
          ? checkStreamLimits(limits, registry, cfg, old)
          : checkTieredStreamLimits(tiers, registry, cfg, old),
      consumerLimits: {
        ...(limits.maxConsumers > 0 ? { accountMaxConsumers: limits.maxConsumers } : {}),
        ...(limits.maxAckPending > 0 ? { accountMaxAckPending: limits.maxAckPending } : {})
      }
    }

    const recovered = yield* registry.recover()
    log.info(
      `  Recovered ${recovered} stream(s)${deps.account === GLOBAL_ACCOUNT ? "" : ` of account ${deps.account}`}`
    )

    const queueLimit = config.requestQueueLimit > 0 ? config.requestQueueLimit : DEFAULT_REQUEST_QUEUE_LIMIT
    // Unbounded: ApiQueueLimit keeps the requests waiting under the limit; dropped ones stay queued only until
    // the serving fiber skips them, which is after the current read.
    const requests = yield* Queue.unbounded<ApiRequest>()
    const apiLimit = new ApiQueueLimit(queueLimit, (dropped) => {
      log.warn(`JetStream API queue limit reached, dropping ${dropped} requests`)
      const sys = deps.systemRouter
      if (sys === undefined || !sys.hasInterest(API_LIMIT_REACHED)) return
      sys.publish(
        undefined,
        API_LIMIT_REACHED,
        undefined,
        -1,
        limitReachedAdvisory(config.serverName ?? "", config.domain, dropped)
      )
    })
    // Requests the cluster makes as this server (the meta leader asking an owner): one wildcard inbox.
    const inbox = `_INBOX.${makeServerId().slice(1, 23)}.`
    const pending = new Map<string, (reply: string | undefined) => void>()
    let inboxOpen = false
    let nextRequest = 0
    const request = (subject: string, body: string, timeoutMs: number): Promise<string | undefined> =>
      new Promise((resolve) => {
        if (!inboxOpen) {
          inboxOpen = true
          client.subscribe(`${inbox}*`, (s, _r, h, m) => {
            const done = pending.get(s)
            if (done === undefined) return
            pending.delete(s)
            done(Buffer.from(h > 0 ? m.subarray(h) : m).toString("utf8"))
          })
        }
        const reply = inbox + String(++nextRequest)
        const timer = setTimeout(() => {
          pending.delete(reply)
          resolve(undefined)
        }, timeoutMs)
        pending.set(reply, (r) => {
          clearTimeout(timer)
          resolve(r)
        })
        client.publish(subject, reply, -1, Buffer.from(body, "utf8"))
      })
    const gate: AccountGate | undefined = deps.cluster === undefined ? undefined : yield* deps.cluster.attach({
      account: deps.account,
      registry,
      ctx,
      limits,
      accountInfo: () => accountInfo(registry, usage(), stats, limits, config.domain, tiers),
      request: (subject, body, timeoutMs) => request(subject, body, timeoutMs),
      usage
    })
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
        if (hdrLen > 0 && refusesApiLevel(msg.subarray(0, hdrLen))) return sendStatus(reply, "412 Required Api Level")
        const decoded = decodePullRequest(body)
        if (!decoded.ok) return sendStatus(reply, `400 ${decoded.description}`)
        consumer.offer({ _tag: "Pull", reply, request: decoded.request })
        return
      }
      // Direct gets are answered by the streams' own subscriptions (DirectGet.ts) and name no API route: every
      // one of them also reached this subscription and woke the API fiber for nothing.
      if (subject.startsWith(DIRECT_GET_PREFIX)) return
      const levelRefused = hdrLen > 0 && refusesApiLevel(msg.subarray(0, hdrLen))
      const queued = {
        subject,
        reply,
        body,
        seq: apiLimit.queued(),
        ...(client.deliveringImport ? { imported: true } : {})
      }
      if (!Queue.offerUnsafe(requests, levelRefused ? { ...queued, levelRefused } : queued)) {
        apiLimit.lost()
        log.warn(`JetStream API queue full, dropping request on ${subject}`)
      }
    }
    // 2.11: a pull for a consumer that does not exist, or a direct get no stream answers, gets
    // no-responders (nats-server skips the API's service import for both).
    const answers = (subject: string) => {
      if (subject.startsWith(DIRECT_GET_PREFIX)) return false
      if (!subject.startsWith(NEXT_PREFIX)) return true
      const t = subject.split(".")
      return t.length === 7 && registry.getConsumer(t[5]!, t[6]!) !== undefined
    }
    yield* subscribeApi(`${PREFIX}>`, onApi, answers)
    if (domainPrefix !== undefined) {
      yield* subscribeApi(
        `${domainPrefix}>`,
        (subject, reply, hdrLen, msg) => onApi(PREFIX + subject.slice(domainPrefix.length), reply, hdrLen, msg),
        (subject) => answers(PREFIX + subject.slice(domainPrefix.length))
      )
    }

    // Account INFO: 2.9.10 ignores its body; a body with members is refused (strict decoding).
    const accountRoute: RouteSpec = {
      type: "account_info_response",
      run: (_ctx, _token, body) => {
        const notEmpty = emptyRequest(body)
        return notEmpty !== undefined ?
          Effect.fail(notEmpty) :
          Effect.sync(() => accountInfo(registry, usage(), stats, limits, config.domain, tiers))
      }
    }

    // nats-server 2.9 does not answer API subjects it does not know; 2.10.8 and later answer them with
    // 10003 (a `system_response`), counted as a request and an error. So are 2.14's removed stream
    // templates (`STREAM.TEMPLATE.*`, which this broker never offered) and what we do not implement.
    const unknownApi = (req: ApiRequest): Effect.Effect<void> => {
      if (!AT_LEVEL_211 || req.imported === true || isSystemDirective(req.subject)) return Effect.void
      // In cluster mode every node receives it: the one that answers account requests answers this too.
      if (gate !== undefined && gate.decide(`${PREFIX}INFO`, new Uint8Array(0))._tag !== "Cluster") return Effect.void
      stats.total++
      stats.errors++
      return Effect.sync(() => respond(req.reply, apiErrorResponse(`${T}system_response`, ApiErrors.badRequest())))
    }

    // Every request is answered: an ApiError in the handler's error channel becomes the error
    // reply; a defect becomes the operation's catch-all error (and is logged), never silence.
    const serve = (req: ApiRequest, decided?: Decision): Effect.Effect<void> => {
      const found: Resolved | undefined = req.subject === `${PREFIX}INFO`
        ? { route: accountRoute, token: "" }
        : resolve(req.subject)
      if (found === undefined) return unknownApi(req)
      const { route, token } = found
      const decision: Decision = decided ?? gate?.decide(req.subject, req.body) ?? { _tag: "Local" }
      if (decision._tag === "Silent") return Effect.void
      if (decision._tag === "Confirm") {
        const confirmed = Effect.flatMap(decision.confirm, (ok) => (ok ? serve(req, { _tag: "Local" }) : Effect.void))
        return Effect.sync(() => void run(confirmed))
      }
      if (route.answers?.(ctx) === false) return Effect.void
      stats.total++
      // Creating a stream reserves space: judge it by the free space of now, not of a second ago.
      if (req.subject.startsWith(`${PREFIX}STREAM.CREATE.`)) storeLimits.refresh()
      const type = T + route.type
      const failed = (error: ApiError) => {
        stats.errors++
        return apiErrorResponse(type, error, route.zero)
      }
      if (req.levelRefused === true) {
        return Effect.sync(() => respond(req.reply, failed(ApiErrors.requiredApiLevel())))
      }
      const handler = decision._tag === "Cluster"
        ? decision.run
        : decision.wrap === undefined
        ? Effect.suspend(() => route.run(ctx, token, req.body))
        : decision.wrap(Effect.suspend(() => route.run(ctx, token, req.body)))
      const answer = handler.pipe(
        Effect.match({
          // The owner adds its cluster section; the cluster's own answers carry the owner's already.
          onSuccess: (body) =>
            apiResponse(type, gate === undefined || decision._tag !== "Local" ? body : gate.decorate(type, body)),
          onFailure: failed
        }),
        Effect.catchCause((cause) => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
          return Effect.sync(() => {
            log.error(`JetStream API ${req.subject} failed: ${Cause.pretty(cause)}`)
            return failed((route.general ?? ApiErrors.streamGeneralError)(defectText(cause)))
          })
        }),
        Effect.flatMap((json) => Effect.sync(() => respond(req.reply, json)))
      )
      // The cluster's answers wait on other nodes: they run beside the API fiber, never blocking it.
      if (decision._tag === "Cluster") return Effect.sync(() => void run(answer))
      return answer
    }
    // The API fiber outlives any one request: even a failure to send the reply is only logged.
    const serveSafely = (req: ApiRequest): Effect.Effect<void> =>
      Effect.suspend(() => serve(req)).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause)
            ? Effect.failCause(cause)
            : Effect.sync(() => log.error(`JetStream API ${req.subject} could not be answered: ${Cause.pretty(cause)}`))
        )
      )

    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(
          Queue.takeAll(requests),
          (batch) =>
            Effect.forEach(batch, (r) => apiLimit.take(r.seq) ? serveSafely(r) : Effect.void, { discard: true })
        )
      )
    )
    return self
  })

/** `$JS.API.INFO` (nats-server JetStreamAccountStats): usage, counts, the account's limits, API totals. */
const accountInfo = (
  registry: StreamRegistry,
  usage: { readonly memory: number; readonly storage: number },
  stats: ApiStats,
  limits: JetStreamLimits,
  domain: string | undefined,
  tiers?: Tiers
): Record<string, unknown> => {
  // Tiered: the top level sums the tiers and its own limits stay zero (nats-server JetStreamUsage).
  const byTier = tiers === undefined ? undefined : tiersInfo(tiers, registry, usage, AT_LEVEL_210)
  const total = (field: "memory" | "storage") =>
    Object.values(byTier ?? {}).reduce((n, t) => n + (t[field] as number), 0)
  return {
    memory: byTier === undefined ? usage.memory : total("memory"),
    storage: byTier === undefined ? usage.storage : total("storage"),
    ...(AT_LEVEL_210 ? reservedBytes(registry) : {}),
    streams: registry.size,
    consumers: registry.consumerCount,
    limits: limitsJson(byTier === undefined ? limits : ZERO_LIMITS),
    ...(domain !== undefined ? { domain } : {}),
    api: apiSection(stats),
    ...(byTier === undefined ? {} : { tiers: byTier })
  }
}

/** INFO's `api` (JetStreamAPIStats): 2.11 adds `level` to every reply (no omitempty), so it is gated. */
export const apiSection = (stats: ApiStats, at211: boolean = AT_LEVEL_211): Record<string, number> =>
  at211 ? { level: API_LEVEL, total: stats.total, errors: stats.errors } : { total: stats.total, errors: stats.errors }

/**
 * 2.10 JetStreamTier `reserved_memory`/`reserved_storage`: the streams' `max_bytes` by storage.
 * Only positive limits count: 2.10.29's sum also took the -1 of unlimited streams as uint64 and
 * wrapped, which nats-server fixed later (#7024, jetstream.go `reservedStorage`); we report the fixed figure.
 */
export const reservedBytes = (registry: StreamRegistry): { reserved_memory: number; reserved_storage: number } => {
  let memory = 0
  let storage = 0
  for (const s of registry.all()) {
    if (s.config.max_bytes <= 0) continue
    if (s.config.storage === "memory") memory += s.config.max_bytes
    else storage += s.config.max_bytes
  }
  return { reserved_memory: memory, reserved_storage: storage }
}
