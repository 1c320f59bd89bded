/**
 * Consumer configuration: decoding, validation, defaulting and encoding of `CONSUMER.CREATE` /
 * `CONSUMER.DURABLE.CREATE` request bodies and the update rules (the pull request body of
 * `CONSUMER.MSG.NEXT` is in PullRequest.ts), reproducing nats-server 2.9.10
 * (`jsConsumerCreateRequest`, `setConsumerConfigDefaults`, `checkConsumerCfg`,
 * `addConsumerWithAssignment`, `checkNewConsumerConfig`): the same input gets the same error
 * (code, err_code, description) or the same normalized config.
 *
 * Decoding follows Go's `encoding/json` into nats-server's structs (keys match case-insensitively,
 * keys are strict as in ConfigFields.ts, `null` leaves a scalar at its zero value but is an error for the enum
 * fields, any type mismatch is "invalid JSON"), like StreamConfig.ts; that part is in
 * ConsumerConfigDecode.ts, the shared Go decoding rules in GoJson.ts.
 *
 * Where the work is split (the caller owns the consumer registry):
 * 1. `decodeConsumerCreate`: everything nats-server checks before looking for an existing consumer
 *    (subject vs body, replicas, defaults, `checkConsumerCfg` against the stream).
 * 2. The caller looks up the consumer name (`consumerName`). Existing → `checkUpdate` then store
 *    `updatedConfig(current, next)`. New → `checkAgainstStream(..., false)`, then generate a name if
 *    `consumerName` gave none (legacy ephemeral; the generated name is NOT written into the config,
 *    nats-server does not report it there either).
 *
 * Known quirks of 2.9.10 kept on purpose (they are visible on the wire):
 * - Re-creating a consumer that has `opt_start_time` fails with "start time can not be updated"
 *   unless the config is identical (nats-server compares the time pointers); a named ephemeral
 *   never counts as identical because its stored `inactive_threshold` was stamped to 5s.
 * - `sample_freq` "-5%" fails with the description "...configuration: <nil>".
 * - Legacy ephemerals do not get their generated name in `config.name`; `DURABLE.CREATE` durables
 *   do not get `name` either; `num_replicas` is reported as sent (0 = inherit).
 * - A body `name` longer than 255 bytes (not durable) fails only when the consumer store is a file
 *   ("error creating store for consumer"), a durable one always fails with "name is too long".
 *
 * Deliberate deviations:
 * - A body `name` with '/' or '\' (legacy `CONSUMER.CREATE.<s>`) is refused with the path
 *   separator error; 2.9.10 accepts it and makes nested directories out of it.
 * - `CONSUMER.CREATE.<s>.<c>.<filter>` compares a one-token filter too (10131), as 2.10 does;
 *   2.9.10 takes the filter from the subject only when it has two or more tokens.
 * - `metadata` (2.10) is decoded and echoed (last key), at most 128 KiB (10135); `action` (2.10:
 *   "create", "update", "" — anything else is invalid JSON) is acted on by the caller with
 *   `sameAsStored` (10148 consumer already exists, 10149 consumer does not exist); the stream's
 *   `consumer_limits` are defaults and caps (10121, 10153). 2.9.10 ignores all of these. A key that is no field of
 *   the current server's request or config struct is refused (`invalid JSON: json: unknown field
 *   "x"`, 2.12 strict mode); a current field we do not implement (
 *   `priority_*`, `pause_until`, `pedantic`, ...) is accepted only with its zero value, else
 *   refused with 10012 naming it (ConfigFields.ts). 2.9.10 ignores all of these.
 * - `filter_subjects` (2.10) is implemented with the current server's rules (10136 with
 *   `filter_subject`, 10139 empty entry, 10138 one filter a subset of another, 10137 on the
 *   subject-based create API, each filter inside the stream); 2.9.10 ignores the key.
 * - `opt_start_time` accepts strict RFC 3339 only (Go 1.19 also takes e.g. one-digit hours).
 */
import { destinationPattern } from "../../subject/SubjectTransform.ts"
import { goQuote, INT64_MAX, INT64_MIN, int64Json, uint64Json } from "../codec/GoJson.ts"
import { goDurationString } from "../codec/Json.ts"
import { checkFlowControlAck, flowControlAckDefaults } from "./AckFlowControlConfig.ts"
import { ApiError, ApiErrors } from "./ApiError.ts"
import { consumerFieldRefused } from "./ConfigFields.ts"
import { type RawConfig, unmarshalRequest } from "./ConsumerConfigDecode.ts"
import {
  checkPriority,
  encodePriority,
  type PriorityConfig,
  priorityDefaults,
  rawPriorityOf,
  toPriorityConfig
} from "./ConsumerPriority.ts"
import {
  byteLength,
  hasPathSeparator,
  isGoValidName,
  isLiteralSubject as isLiteral,
  isValidSubject,
  MAX_DESCRIPTION_LEN,
  MAX_METADATA_LEN,
  MAX_NAME_LEN,
  metadataLength,
  subjectIsSubsetMatch
} from "./Names.ts"
import { pedanticError } from "./Pedantic.ts"
import type { AckPolicy, ConsumerAction, DeliverPolicy, ReplayPolicy } from "./Policies.ts"
import { unknownField } from "./Requests.ts"
import { upgradeSourcingConsumer } from "./SourcingConsumer.ts"
import type { StreamConfig, StreamSource } from "./StreamConfig.ts"
import { consumerRequiredLevel, staticMetadata } from "./VersionMetadata.ts"

// Decoding and the pull request body live in their own modules; re-exported for existing importers.

/** Normalized consumer config, as nats-server 2.9.10 reports it in consumer info (same keys and omissions). */
export interface ConsumerConfig extends PriorityConfig {
  readonly durable_name?: string
  readonly name?: string
  readonly description?: string
  readonly deliver_policy: DeliverPolicy
  readonly opt_start_seq?: number
  /** RFC 3339 as Go writes it back: the sender's offset kept, "Z" for UTC, fraction trimmed. */
  readonly opt_start_time?: string
  readonly ack_policy: AckPolicy
  /** ns; 0 (omitted) for ack none */
  readonly ack_wait: number
  readonly max_deliver: number
  /** ns */
  readonly backoff?: ReadonlyArray<number>
  readonly filter_subject?: string
  /** 2.10: several filters, as sent (never together with `filter_subject`). */
  readonly filter_subjects?: ReadonlyArray<string>
  readonly replay_policy: ReplayPolicy
  readonly rate_limit_bps?: number
  readonly sample_freq?: string
  readonly max_waiting?: number
  /** 0 (omitted) for ack none without an explicit value */
  readonly max_ack_pending: number
  /** ns */
  readonly idle_heartbeat?: number
  readonly flow_control?: boolean
  readonly headers_only?: boolean
  readonly max_batch?: number
  /** ns */
  readonly max_expires?: number
  readonly max_bytes?: number
  readonly deliver_subject?: string
  readonly deliver_group?: string
  /** ns */
  readonly inactive_threshold?: number
  readonly num_replicas: number
  readonly mem_storage?: boolean
  readonly direct?: boolean
  /** Created by a sourcing or mirroring stream (SourcingConsumer.ts); immutable. */
  readonly sourcing?: boolean
  readonly metadata?: Readonly<Record<string, string>>
}

export interface ConsumerCreateRequest {
  readonly stream: string
  readonly config: ConsumerConfig
  readonly action?: ConsumerAction
}

/** Server / account limits consulted by nats-server (`JSLimitOpts`, account `max_ack_pending`). */
export interface ConsumerLimits {
  /** Server `max_ack_pending` (jetstream.limits); also caps the default. */
  readonly maxAckPending?: number
  /** Account tier `max_ack_pending`; also caps the default. */
  readonly accountMaxAckPending?: number
  /** Server `max_request_batch`; becomes the default `max_batch` of pull consumers. */
  readonly maxRequestBatch?: number
  /** Account `max_consumers` (used with the stream's when the stream sets none or a larger one). */
  readonly accountMaxConsumers?: number
  /** JetStream cluster mode: `num_replicas` up to the stream's is served (a single server refuses > 1). */
  readonly clustered?: boolean
}

export type DecodeResult =
  | { readonly ok: true; readonly request: ConsumerCreateRequest }
  | { readonly ok: false; readonly error: ApiError }

/** nats-server `JsAckWaitDefault`: 30s in ns. */
export const DEFAULT_ACK_WAIT = 30_000_000_000
/** nats-server `JsDefaultMaxAckPending`. */
export const DEFAULT_MAX_ACK_PENDING = 1000
/** nats-server `JSWaitQueueDefaultMax`. */
export const DEFAULT_MAX_WAITING = 512
/** nats-server `JsDeleteWaitTimeDefault`: 5s in ns, stamped into ephemerals' `inactive_threshold`. */
export const DEFAULT_INACTIVE_THRESHOLD = 5_000_000_000

const MIN_HEARTBEAT = 100_000_000 // 100ms
const MIN_MAX_EXPIRES = 1_000_000 // 1ms

// ---------------------------------------------------------------------------------------------
// Subjects and names (nats-server sublist.go / jetstream.go semantics)
// ---------------------------------------------------------------------------------------------

// The rules shared with StreamConfig.ts (byte lengths, Go's `isValidName`, path separators,
// `IsValidSubject`, subset matching) are in Names.ts.

/** nats-server `isValidName`: non-empty and none of space, \t, \r, \n, \f, '.', '*', '>'. */
export const isValidConsumerName = isGoValidName

/** nats-server `validFilteredSubject`: a valid subject inside (or, with wildcards, overlapping) the stream's. */
export const isFilterWithinStream = (filter: string, subjects: ReadonlyArray<string>): boolean => {
  if (!isValidSubject(filter)) return false
  const wildcard = !isLiteral(filter)
  return subjects.some((s) => subjectIsSubsetMatch(filter, s) || (wildcard && subjectIsSubsetMatch(s, filter)))
}

/**
 * The subjects a consumer's filters must lie within, or `ANY_FILTER`: from 2.10 nats-server never
 * raises 10093 and a filter may name subjects the stream does not hold (the 2.9 rule stays for
 * the level argument and the 2.9.10 differential reference).
 */
export type FilterScope = ReadonlyArray<string> | typeof ANY_FILTER
export const ANY_FILTER = "any"

const outsideScope = (filter: string, scope: FilterScope): boolean =>
  scope !== ANY_FILTER && !isFilterWithinStream(filter, scope)

/**
 * The subjects a consumer's filter may select from (nats-server `gatherSourceMirrorSubjects`): the
 * stream's own, then its mirror's or sources' streams' subjects, recursively, each stream once.
 * A sourced or mirroring stream usually has no subjects of its own.
 */
export const filterScope = (
  stream: StreamConfig,
  lookup: (name: string) => StreamConfig | undefined
): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const gather = (name: string): Array<string> => {
    if (seen.has(name)) return []
    const cfg = lookup(name)
    if (cfg === undefined) return []
    seen.add(name)
    return [...own(cfg), ...upstream(cfg)]
  }
  // 2.10: what a stream stores includes what its subject transform renames subjects to.
  const own = (cfg: StreamConfig): Array<string> =>
    cfg.subject_transform !== undefined && cfg.subject_transform.dest !== "" ?
      [...cfg.subjects, destinationPattern(cfg.subject_transform.dest)] :
      [...cfg.subjects]
  // A mirror's or source's own transforms rename what it takes from upstream.
  const fromSource = (src: StreamSource): Array<string> => [
    ...gather(src.name),
    ...(src.subject_transforms ?? []).filter((t) => t.dest !== "").map((t) => destinationPattern(t.dest))
  ]
  const upstream = (cfg: StreamConfig): Array<string> =>
    cfg.mirror !== undefined ? fromSource(cfg.mirror) : (cfg.sources ?? []).flatMap(fromSource)
  return [...own(stream), ...upstream(stream)]
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

type Limits = ConsumerLimits

/** nats-server `setConsumerConfigDefaults` (ephemeral inactive threshold is stamped later). */
const applyDefaults = (c: RawConfig, stream: StreamConfig, limits: Limits, pedantic = false): ApiError | undefined => {
  const pull = c.deliver_subject === ""
  const acks = c.ack_policy === "explicit" || c.ack_policy === "all"
  if (pull && c.max_waiting === 0n) c.max_waiting = BigInt(DEFAULT_MAX_WAITING)
  if (c.ack_wait === 0n && acks) c.ack_wait = BigInt(DEFAULT_ACK_WAIT)
  if (c.max_deliver === 0n) c.max_deliver = -1n
  if (c.backoff !== null && c.backoff.length > 0) {
    if (pedantic && c.ack_wait !== c.backoff[0]) return pedanticError("backoffAckWait")
    c.ack_wait = c.backoff[0]!
  }
  const streamLimits = stream.consumer_limits
  if (pedantic && c.max_ack_pending === 0n && (streamLimits?.max_ack_pending ?? 0) > 0) {
    return pedanticError("maxAckPending")
  }
  if (pedantic && c.inactive_threshold === 0n && (streamLimits?.inactive_threshold ?? 0) > 0) {
    return pedanticError("inactiveThreshold")
  }
  // 2.10: the stream's consumer_limits are the defaults, for any ack policy (so an ack-none push
  // consumer on such a stream then fails the "max ack pending requires ack policy" check, as there).
  if (c.max_ack_pending === 0n) c.max_ack_pending = big(stream.consumer_limits?.max_ack_pending)
  if (c.inactive_threshold === 0n) c.inactive_threshold = big(stream.consumer_limits?.inactive_threshold)
  if (c.ack_policy !== "none" && c.max_ack_pending === 0n) {
    let pending = DEFAULT_MAX_ACK_PENDING
    if ((limits.maxAckPending ?? 0) > 0 && limits.maxAckPending! < pending) pending = limits.maxAckPending!
    if ((limits.accountMaxAckPending ?? 0) > 0 && limits.accountMaxAckPending! < pending) {
      pending = limits.accountMaxAckPending!
    }
    c.max_ack_pending = BigInt(pending)
  }
  if (pull && c.max_batch === 0n && (limits.maxRequestBatch ?? 0) > 0) {
    if (pedantic) return pedanticError("maxRequestBatch")
    c.max_batch = BigInt(limits.maxRequestBatch!)
  }
  priorityDefaults(c)
  flowControlAckDefaults(c, pedantic)
  return undefined
}

const policyError = (err: string): ApiError => ApiErrors.consumerInvalidPolicy(err)
const badStart = (dp: string, start: string): ApiError =>
  policyError(`consumer delivery policy is deliver ${dp}, but optional start ${start} is also set`)
const notSet = (dp: string, what: string): ApiError =>
  policyError(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`)

const checkStartPosition = (c: RawConfig): ApiError | undefined => {
  const seq = c.opt_start_seq > 0n
  const time = c.opt_start_time !== undefined
  switch (c.deliver_policy) {
    case "all":
    case "last":
    case "new":
    case "last_per_subject": {
      const dp = c.deliver_policy === "last_per_subject" ? "last per subject" : c.deliver_policy
      if (seq) return badStart(dp, "sequence")
      if (time) return badStart(dp, "time")
      if (
        c.deliver_policy === "last_per_subject" && c.filter_subject === "" && (c.filter_subjects?.length ?? 0) === 0
      ) {
        return notSet(dp, "filter subject")
      }
      return undefined
    }
    case "by_start_sequence":
      if (!seq) return notSet("by start sequence", "start sequence")
      if (time) return badStart("by start sequence", "time")
      return undefined
    case "by_start_time":
      if (!time) return notSet("by start time", "start time")
      if (c.opt_start_seq !== 0n) return badStart("by start time", "start sequence")
      return undefined
  }
}

/** Go's `strconv.Atoi` error text for the sampling check (`<nil>` when it parsed but is negative). */
const samplingError = (freq: string): string | undefined => {
  const s = freq.endsWith("%") ? freq.slice(0, -1) : freq
  if (/^[+-]?\d+$/.test(s)) {
    const n = BigInt(s)
    if (n < INT64_MIN || n > INT64_MAX) return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`
    return n < 0n ? "<nil>" : undefined
  }
  return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`
}

const streamReplicas = (stream: StreamConfig): bigint => BigInt(stream.num_replicas)

/**
 * The 2.10 `filter_subjects` rules of nats-server's `checkConsumerCfg` (both fields set, an empty
 * entry, an invalid subject, one filter a subset of another — which also catches duplicates) and
 * of `addConsumer` (every filter inside the stream's subjects).
 */
const checkFilterSubjects = (c: RawConfig, scope: FilterScope): ApiError | undefined => {
  const list = c.filter_subjects ?? []
  if (list.length === 0) return undefined
  if (c.filter_subject !== "") return ApiErrors.consumerDuplicateFilterSubjects()
  if (list.some((f) => f === "")) return ApiErrors.consumerEmptyFilter()
  for (let i = 0; i < list.length; i++) {
    if (!isValidSubject(list[i]!)) return ApiErrors.streamInvalidConfig("invalid subject")
    for (let j = 0; j < list.length; j++) {
      if (i !== j && subjectIsSubsetMatch(list[i]!, list[j]!)) return ApiErrors.consumerOverlappingSubjectFilters()
    }
  }
  if (list.some((f) => outsideScope(f, scope))) return ApiErrors.consumerFilterNotSubset()
  return undefined
}

/** nats-server `checkConsumerCfg`, in its order. */
const checkConfig = (
  c: RawConfig,
  stream: StreamConfig,
  limits: Limits,
  scope: FilterScope
): ApiError | undefined => {
  if (c.num_replicas > 0n && c.num_replicas > streamReplicas(stream)) return ApiErrors.consumerReplicasExceedsStream()
  if (c.num_replicas < 0n) return ApiErrors.replicasCountCannotBeNegative()
  const flowControlAck = checkFlowControlAck(c)
  if (flowControlAck !== undefined) return flowControlAck
  const backoffs = c.backoff?.length ?? 0
  if (backoffs > 0 && c.max_deliver <= BigInt(backoffs)) return ApiErrors.consumerMaxDeliverBackoff()
  if (byteLength(c.description) > MAX_DESCRIPTION_LEN) return ApiErrors.consumerDescriptionTooLong(MAX_DESCRIPTION_LEN)

  if (c.deliver_subject !== "") {
    if (!isLiteral(c.deliver_subject)) return ApiErrors.consumerDeliverToWildcards()
    if (!isValidSubject(c.deliver_subject)) return ApiErrors.consumerInvalidDeliverSubject()
    if (stream.subjects.some((s) => subjectIsSubsetMatch(c.deliver_subject, s))) return ApiErrors.consumerDeliverCycle()
    if (c.max_waiting !== 0n) return ApiErrors.consumerPushMaxWaiting()
    if (c.max_ack_pending > 0n && c.ack_policy === "none") return ApiErrors.consumerMaxPendingAckPolicyRequired()
    if (c.idle_heartbeat > 0n && c.idle_heartbeat < BigInt(MIN_HEARTBEAT)) return ApiErrors.consumerSmallHeartbeat()
  } else {
    if (c.ack_policy === "none" && stream.retention === "workqueue") return ApiErrors.consumerPullRequiresAck()
    if (c.rate_limit_bps > 0n) return ApiErrors.consumerPullWithRateLimit()
    if (c.max_waiting < 0n) return ApiErrors.consumerMaxWaitingNegative()
    if (c.idle_heartbeat > 0n) return ApiErrors.consumerHBRequiresPush()
    if (c.flow_control) return ApiErrors.consumerFCRequiresPush()
    if (c.max_batch < 0n) return ApiErrors.consumerMaxRequestBatchNegative()
    if (c.max_expires !== 0n && c.max_expires < BigInt(MIN_MAX_EXPIRES)) {
      return ApiErrors.consumerMaxRequestExpiresToSmall()
    }
    const maxBatch = limits.maxRequestBatch ?? 0
    if (maxBatch > 0 && c.max_batch > BigInt(maxBatch)) return ApiErrors.consumerMaxRequestBatchExceeded(maxBatch)
  }
  const serverPending = limits.maxAckPending ?? 0
  if (serverPending > 0 && c.max_ack_pending > BigInt(serverPending)) {
    return ApiErrors.consumerMaxPendingAckExcess(serverPending)
  }
  const accountPending = limits.accountMaxAckPending ?? 0
  if (accountPending > 0 && c.max_ack_pending > BigInt(accountPending)) {
    return ApiErrors.consumerMaxPendingAckExcess(accountPending)
  }
  const streamPending = stream.consumer_limits?.max_ack_pending ?? 0
  if (streamPending > 0 && c.max_ack_pending > BigInt(streamPending)) {
    return ApiErrors.consumerMaxPendingAckExcess(streamPending)
  }
  const streamThreshold = stream.consumer_limits?.inactive_threshold ?? 0
  if (streamThreshold > 0 && c.inactive_threshold > BigInt(streamThreshold)) {
    return ApiErrors.consumerInactiveThresholdExcess(goDurationString(streamThreshold))
  }

  if (c.direct) {
    if (c.deliver_subject === "") return ApiErrors.consumerDirectRequiresPush()
    if (c.durable_name !== "") return ApiErrors.consumerDirectRequiresEphemeral()
  }
  if (c.filter_subject !== "" && outsideScope(c.filter_subject, scope)) {
    return ApiErrors.consumerFilterNotSubset()
  }
  // 2.10 checks the filter's syntax where 2.9 only found it outside the stream (after the
  // both-fields check, which checkFilterSubjects makes first).
  if (scope === ANY_FILTER && c.filter_subject !== "" && (c.filter_subjects ?? []).length === 0) {
    if (!isValidSubject(c.filter_subject)) return ApiErrors.streamInvalidConfig("invalid subject")
  }
  const filters = checkFilterSubjects(c, scope)
  if (filters !== undefined) return filters
  const start = checkStartPosition(c)
  if (start !== undefined) return start
  if (c.sample_freq !== "") {
    const err = samplingError(c.sample_freq)
    if (err !== undefined) return ApiErrors.consumerInvalidSampling(err)
  }
  if (c.flow_control && c.idle_heartbeat === 0n) return ApiErrors.consumerWithFlowControlNeedsHeartbeats()
  if (c.durable_name !== "" && c.name !== "" && c.name !== c.durable_name) {
    return ApiErrors.consumerCreateDurableAndNameMismatch()
  }
  if (metadataLength(c.metadata) > MAX_METADATA_LEN) {
    return ApiErrors.consumerMetadataLength(`${MAX_METADATA_LEN / 1024}KB`)
  }
  return checkPriority(c, c.deliver_subject !== "")
}

// ---------------------------------------------------------------------------------------------
// Conversion between the raw (Go) shape and ConsumerConfig
// ---------------------------------------------------------------------------------------------

const num = (n: bigint): number => Number(n)
const big = (n: number | undefined): bigint => BigInt(Math.trunc(n ?? 0))

const toConsumerConfig = (c: RawConfig): ConsumerConfig => ({
  ...(c.durable_name !== "" ? { durable_name: c.durable_name } : {}),
  ...(c.name !== "" ? { name: c.name } : {}),
  ...(c.description !== "" ? { description: c.description } : {}),
  deliver_policy: c.deliver_policy,
  ...(c.opt_start_seq !== 0n ? { opt_start_seq: num(c.opt_start_seq) } : {}),
  ...(c.opt_start_time !== undefined ? { opt_start_time: c.opt_start_time } : {}),
  ack_policy: c.ack_policy,
  ack_wait: num(c.ack_wait),
  max_deliver: num(c.max_deliver),
  ...(c.backoff !== null && c.backoff.length > 0 ? { backoff: c.backoff.map(num) } : {}),
  ...(c.filter_subject !== "" ? { filter_subject: c.filter_subject } : {}),
  ...(c.filter_subjects !== null && c.filter_subjects.length > 0 ? { filter_subjects: [...c.filter_subjects] } : {}),
  replay_policy: c.replay_policy,
  ...(c.rate_limit_bps !== 0n ? { rate_limit_bps: num(c.rate_limit_bps) } : {}),
  ...(c.sample_freq !== "" ? { sample_freq: c.sample_freq } : {}),
  ...(c.max_waiting !== 0n ? { max_waiting: num(c.max_waiting) } : {}),
  max_ack_pending: num(c.max_ack_pending),
  ...(c.idle_heartbeat !== 0n ? { idle_heartbeat: num(c.idle_heartbeat) } : {}),
  ...(c.flow_control ? { flow_control: true } : {}),
  ...(c.headers_only ? { headers_only: true } : {}),
  ...(c.max_batch !== 0n ? { max_batch: num(c.max_batch) } : {}),
  ...(c.max_expires !== 0n ? { max_expires: num(c.max_expires) } : {}),
  ...(c.max_bytes !== 0n ? { max_bytes: num(c.max_bytes) } : {}),
  ...(c.deliver_subject !== "" ? { deliver_subject: c.deliver_subject } : {}),
  ...(c.deliver_group !== "" ? { deliver_group: c.deliver_group } : {}),
  ...(c.inactive_threshold !== 0n ? { inactive_threshold: num(c.inactive_threshold) } : {}),
  num_replicas: num(c.num_replicas),
  ...(c.mem_storage ? { mem_storage: true } : {}),
  ...(c.direct ? { direct: true } : {}),
  ...(c.sourcing ? { sourcing: true } : {}),
  ...(c.metadata !== undefined && Object.keys(c.metadata).length > 0 ? { metadata: c.metadata } : {}),
  ...toPriorityConfig(c)
})

const fail = (error: ApiError): DecodeResult => ({ ok: false, error })

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** The name a create request refers to: the durable name, else `name`; undefined = generate one. */
export const consumerName = (config: ConsumerConfig): string | undefined =>
  config.durable_name !== undefined && config.durable_name !== ""
    ? config.durable_name
    : config.name === ""
    ? undefined
    : config.name

/** Push consumers are those with a deliver subject. */
export const isPushConsumer = (config: ConsumerConfig): boolean =>
  config.deliver_subject !== undefined && config.deliver_subject !== ""

/**
 * Decode + validate + default a CONSUMER.CREATE / CONSUMER.DURABLE.CREATE request exactly like
 * nats-server 2.9.10, in its order: invalid JSON, durable subject shape, stream name mismatch,
 * path separators in the subject's consumer token, durable/ephemeral vs subject rules, filter
 * mismatch, replicas > 1 (single server), defaults, `checkConsumerCfg` against `stream`.
 *
 * The returned config is what nats-server reports once the consumer is created (the inactive
 * threshold of non-durables is stamped to 5s).
 */
export const decodeConsumerCreate = (
  body: Uint8Array | string,
  subject: string,
  stream: StreamConfig | undefined,
  limits: ConsumerLimits = {},
  scope: FilterScope = stream?.subjects ?? [],
  versioned = false
): DecodeResult => {
  const req = unmarshalRequest(body)
  if (req === undefined) return fail(ApiErrors.invalidJSON())
  if (req.fatal !== undefined) {
    return fail(new ApiError({ code: 400, err_code: 10025, description: `invalid JSON: ${req.fatal}` }))
  }
  if (req.unknown !== undefined) return fail(unknownField(req.unknown))
  // Before anything is looked at: a field we do not implement is refused, not dropped.
  if (req.refused !== undefined) return fail(consumerFieldRefused(req.refused))
  const tokens = subject.split(".")
  // $JS.API.CONSUMER.CREATE.<s> | .CREATE.<s>.<c>[.<filter...>] | .DURABLE.CREATE.<s>.<d>
  if (tokens.length < 5) return fail(ApiErrors.badRequest())
  let kind: "legacy-ephemeral" | "legacy-durable" | "new"
  let streamName: string
  let name = ""
  let filter = ""
  if (tokens.length === 5) {
    kind = "legacy-ephemeral"
    streamName = tokens[4]!
  } else {
    if (tokens[3] === "DURABLE") {
      kind = "legacy-durable"
      if (tokens.length !== 7) return fail(ApiErrors.consumerDurableNameNotInSubject())
      streamName = tokens[5]!
      name = tokens[6]!
    } else {
      kind = "new"
      streamName = tokens[4]!
      name = tokens[5]!
    }
    // 2.10: any filter after the consumer token of the new API (2.9.10 ignored a one-token one).
    if (kind === "new" && tokens.length > 6) filter = tokens.slice(6).join(".")
  }
  if (streamName !== req.stream) return fail(ApiErrors.streamMismatch())
  if (name !== "" && hasPathSeparator(name)) return fail(ApiErrors.consumerNameContainsPathSeparators())
  const c = req.config
  if (kind === "legacy-durable") {
    if (c.durable_name === "") return fail(ApiErrors.consumerDurableNameNotSet())
    if (name !== c.durable_name) return fail(ApiErrors.consumerDurableNameNotMatchSubject())
  }
  if (kind === "new") {
    if (c.durable_name !== "" && name !== c.durable_name) return fail(ApiErrors.consumerDurableNameNotMatchSubject())
    c.name = name
  }
  if (kind === "legacy-ephemeral" && c.durable_name !== "") return fail(ApiErrors.consumerEphemeralWithDurableName())
  if (filter !== "" && (c.filter_subjects?.length ?? 0) > 0) return fail(ApiErrors.consumerMultipleFiltersNotAllowed())
  if (filter !== "" && c.filter_subject !== filter) return fail(ApiErrors.consumerCreateFilterSubjectMismatch())
  if (c.num_replicas > 1n && limits.clustered !== true) return fail(ApiErrors.streamReplicasNotSupported())
  // Deviation: 2.9.10 accepts separators in a body `name` (legacy create) and nests directories.
  if (hasPathSeparator(c.name)) return fail(ApiErrors.consumerNameContainsPathSeparators())
  // nats-server looks the stream up only after the checks of the request and its subject.
  if (stream === undefined) return fail(ApiErrors.streamNotFound())
  upgradeSourcingConsumer(c, stream)

  const error = applyDefaults(c, stream, limits, req.pedantic) ?? checkConfig(c, stream, limits, scope)
  if (error !== undefined) return fail(error)
  const sentThreshold = c.inactive_threshold
  if (c.durable_name === "" && c.inactive_threshold <= 0n) c.inactive_threshold = BigInt(DEFAULT_INACTIVE_THRESHOLD)
  if (versioned) c.metadata = staticMetadata(c.metadata, consumerRequiredLevel(c))
  const config = toConsumerConfig(c)
  sentInactiveThreshold.set(config, num(sentThreshold))
  return {
    ok: true,
    request: { stream: req.stream, config, ...(req.action !== undefined ? { action: req.action } : {}) }
  }
}

// nats-server compares and stores an update's config *as sent*, before the ephemeral threshold
// stamp that `decodeConsumerCreate` applies; the sent value is kept here for `checkUpdate` and
// `updatedConfig` (a config not from the decoder falls back to: 5s on a non-durable = stamped).
const sentInactiveThreshold = new WeakMap<ConsumerConfig, number>()

const asSent = (next: ConsumerConfig): ConsumerConfig => {
  const recorded = sentInactiveThreshold.get(next)
  const threshold = recorded ??
    ((next.durable_name ?? "") === "" && next.inactive_threshold === DEFAULT_INACTIVE_THRESHOLD
      ? 0
      : next.inactive_threshold ?? 0)
  if (threshold === (next.inactive_threshold ?? 0)) return next
  const { inactive_threshold: _stamped, ...rest } = next
  return threshold === 0 ? rest : { ...rest, inactive_threshold: threshold }
}

const rawOf = (c: ConsumerConfig): RawConfig => ({
  durable_name: c.durable_name ?? "",
  name: c.name ?? "",
  description: c.description ?? "",
  deliver_policy: c.deliver_policy,
  opt_start_seq: big(c.opt_start_seq),
  opt_start_time: c.opt_start_time,
  ack_policy: c.ack_policy,
  ack_wait: big(c.ack_wait),
  max_deliver: big(c.max_deliver),
  backoff: c.backoff === undefined ? null : c.backoff.map((n) => big(n)),
  filter_subject: c.filter_subject ?? "",
  filter_subjects: c.filter_subjects === undefined ? null : [...c.filter_subjects],
  replay_policy: c.replay_policy,
  rate_limit_bps: big(c.rate_limit_bps),
  sample_freq: c.sample_freq ?? "",
  max_waiting: big(c.max_waiting),
  max_ack_pending: big(c.max_ack_pending),
  idle_heartbeat: big(c.idle_heartbeat),
  flow_control: c.flow_control === true,
  headers_only: c.headers_only === true,
  max_batch: big(c.max_batch),
  max_expires: big(c.max_expires),
  max_bytes: big(c.max_bytes),
  deliver_subject: c.deliver_subject ?? "",
  deliver_group: c.deliver_group ?? "",
  inactive_threshold: big(c.inactive_threshold),
  num_replicas: big(c.num_replicas),
  mem_storage: c.mem_storage === true,
  direct: c.direct === true,
  sourcing: c.sourcing === true,
  metadata: c.metadata === undefined ? undefined : { ...c.metadata },
  ...rawPriorityOf(c)
})

/** nats-server `gatherSubjectFilters`: the one filter or the list; empty = unfiltered. */
const gatheredFilters = (c: ConsumerConfig): ReadonlyArray<string> =>
  c.filter_subjects !== undefined && c.filter_subjects.length > 0
    ? c.filter_subjects
    : c.filter_subject !== undefined && c.filter_subject !== ""
    ? [c.filter_subject]
    : []

/**
 * Rules that depend on the stream and its other consumers. Re-checks the stream-dependent parts of
 * `checkConsumerCfg` (replicas, deliver cycle, pull ack on workqueue, filter subset — already done
 * by `decodeConsumerCreate`), then for a new consumer (`isUpdate` false) what nats-server checks in
 * `addConsumer` after finding no consumer of that name: max consumers (stream, then account),
 * workqueue rules (explicit ack, one unfiltered consumer, non-overlapping filters, deliver all),
 * durable name length, name characters, and the store name length. nats-server checks none of
 * these on update. `others` must not contain the consumer itself.
 */
export const checkAgainstStream = (
  config: ConsumerConfig,
  stream: StreamConfig,
  others: ReadonlyArray<ConsumerConfig>,
  isUpdate: boolean,
  limits: ConsumerLimits = {},
  scope: FilterScope = stream.subjects
): ApiError | undefined => {
  const c = rawOf(config)
  if (c.num_replicas > 0n && c.num_replicas > streamReplicas(stream)) return ApiErrors.consumerReplicasExceedsStream()
  if (c.deliver_subject !== "") {
    if (stream.subjects.some((s) => subjectIsSubsetMatch(c.deliver_subject, s))) return ApiErrors.consumerDeliverCycle()
  } else if (c.ack_policy === "none" && stream.retention === "workqueue") {
    return ApiErrors.consumerPullRequiresAck()
  }
  if (c.filter_subject !== "" && outsideScope(c.filter_subject, scope)) {
    return ApiErrors.consumerFilterNotSubset()
  }
  if ((c.filter_subjects ?? []).some((f) => outsideScope(f, scope))) {
    return ApiErrors.consumerFilterNotSubset()
  }
  if (isUpdate) return undefined

  let maxConsumers = stream.max_consumers
  const account = limits.accountMaxConsumers ?? 0
  if (maxConsumers <= 0 || (account > 0 && account < maxConsumers)) maxConsumers = account
  // nats-server `numLimitableConsumers`: the consumers of sourcing streams count for no limit or partition.
  const publicOthers = others.filter((o) => o.direct !== true && o.sourcing !== true)
  if (maxConsumers > 0 && publicOthers.length >= maxConsumers) return ApiErrors.maximumConsumersLimit()

  if (stream.retention === "workqueue" && !c.direct && !c.sourcing) {
    if (c.ack_policy !== "explicit" && c.ack_policy !== "flow_control") return ApiErrors.consumerWQRequiresExplicitAck()
    if (publicOthers.length > 0) {
      // nats-server `partitionUnique`: every filter of ours against every filter of the others.
      const mine = gatheredFilters(config)
      if (mine.length === 0) return ApiErrors.consumerWQMultipleUnfiltered()
      const unique = publicOthers.every((o) => {
        const theirs = gatheredFilters(o)
        return theirs.length > 0 &&
          mine.every((f) => theirs.every((g) => !subjectIsSubsetMatch(f, g) && !subjectIsSubsetMatch(g, f)))
      })
      if (!unique) return ApiErrors.consumerWQConsumerNotUnique()
    }
    if (c.deliver_policy !== "all") return ApiErrors.consumerWQConsumerNotDeliverAll()
  }
  const name = c.durable_name !== "" ? c.durable_name : c.name
  if (c.durable_name !== "" && byteLength(c.durable_name) > MAX_NAME_LEN) {
    return ApiErrors.consumerNameTooLong(MAX_NAME_LEN)
  }
  if (name === "") return undefined // legacy ephemeral: the caller generates a valid name
  if (!isValidConsumerName(name)) return ApiErrors.consumerBadDurableName()
  // A file-backed consumer store cannot have a directory name over 255 bytes (nats-server: the
  // store error, reported as a plain consumer-create error).
  if (byteLength(name) > MAX_NAME_LEN && stream.storage === "file" && !c.mem_storage) {
    return ApiErrors.consumerCreate("error creating store for consumer")
  }
  return undefined
}

// Go's reflect.DeepEqual over the normalized configs.
const canonical = (c: ConsumerConfig): string =>
  JSON.stringify(encodeConsumerConfig(c), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))

/** Same config (nats-server compares the structs; absent and zero/empty fields coincide). */
export const sameConsumerConfig = (a: ConsumerConfig, b: ConsumerConfig): boolean => canonical(a) === canonical(b)

/**
 * The 2.10 `action: "create"` test: nats-server compares the config as sent (defaulted, before the
 * ephemeral threshold stamp) with the stored one, so re-creating a named ephemeral that left
 * `inactive_threshold` unset is "consumer already exists", as there.
 */
export const sameAsStored = (current: ConsumerConfig, next: ConsumerConfig): boolean =>
  sameConsumerConfig(current, asSent(next))

/**
 * nats-server `checkNewConsumerConfig`: the error for changing an immutable field of an existing
 * consumer, or undefined. (Errors are consumer-create 10012 with the text, except the backoff
 * one.) Left to the caller: changing the deliver subject of a push consumer that currently has
 * subscribers on it fails with `ApiErrors.consumerNameExist()`.
 *
 * `next` is the decoded config. nats-server compares it as sent (before the ephemeral threshold
 * stamp), so a named ephemeral re-created with the same body is never "identical" — which only
 * shows through the start-time rule below.
 */
export const checkUpdate = (current: ConsumerConfig, next: ConsumerConfig): ApiError | undefined => {
  if (sameConsumerConfig(current, asSent(next))) return undefined
  const c = rawOf(current)
  const n = rawOf(next)
  const err = (text: string) => ApiErrors.consumerCreate(text)
  if (c.deliver_policy !== n.deliver_policy) return err("deliver policy can not be updated")
  if (c.opt_start_seq !== n.opt_start_seq) return err("start sequence can not be updated")
  // nats-server compares the *time.Time pointers here: any set start time counts as changed.
  if (c.opt_start_time !== undefined || n.opt_start_time !== undefined) return err("start time can not be updated")
  if (c.ack_policy !== n.ack_policy) return err("ack policy can not be updated")
  if (c.replay_policy !== n.replay_policy) return err("replay policy can not be updated")
  if (c.idle_heartbeat !== n.idle_heartbeat) return err("heart beats can not be updated")
  if (c.flow_control !== n.flow_control) return err("flow control can not be updated")
  if (c.sourcing !== n.sourcing) return err("sourcing can not be updated")
  if (c.max_waiting !== n.max_waiting) return err("max waiting can not be updated")
  if (c.deliver_subject !== n.deliver_subject) {
    if (c.deliver_subject === "") return err("can not update pull consumer to push based")
    if (n.deliver_subject === "") return err("can not update push consumer to pull based")
  }
  const backoffs = n.backoff?.length ?? 0
  if (backoffs > 0 && n.max_deliver <= BigInt(backoffs)) return ApiErrors.consumerMaxDeliverBackoff()
  return undefined
}

/**
 * The config stored (and reported) after an accepted update: `next`, with the inactive threshold
 * handled like nats-server's `updateInactiveThreshold` (it looks at the *current* durability).
 */
export const updatedConfig = (current: ConsumerConfig, next: ConsumerConfig): ConsumerConfig => {
  const sent = asSent(next)
  const wasEphemeral = (current.durable_name ?? "") === ""
  if (sent.inactive_threshold === current.inactive_threshold) return sent
  if (wasEphemeral && (sent.inactive_threshold ?? 0) <= 0) {
    return { ...sent, inactive_threshold: DEFAULT_INACTIVE_THRESHOLD }
  }
  return sent
}

const nonZero = (n: number | undefined): n is number => n !== undefined && n !== 0
const nonEmpty = (s: string | undefined): s is string => s !== undefined && s !== ""

/**
 * The JSON object nats-server sends for a consumer config, keys in its order (`ConsumerConfig`
 * struct order, `metadata` last as in 2.10) with its `omitempty` rules. Encode with `encodeJson`.
 */
export const encodeConsumerConfig = (c: ConsumerConfig): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  if (nonEmpty(c.durable_name)) out.durable_name = c.durable_name
  if (nonEmpty(c.name)) out.name = c.name
  if (nonEmpty(c.description)) out.description = c.description
  out.deliver_policy = c.deliver_policy
  if (nonZero(c.opt_start_seq)) out.opt_start_seq = uint64Json(c.opt_start_seq)
  if (c.opt_start_time !== undefined) out.opt_start_time = c.opt_start_time
  out.ack_policy = c.ack_policy
  if (nonZero(c.ack_wait)) out.ack_wait = int64Json(c.ack_wait)
  if (nonZero(c.max_deliver)) out.max_deliver = int64Json(c.max_deliver)
  if (c.backoff !== undefined && c.backoff.length > 0) out.backoff = c.backoff.map(int64Json)
  if (nonEmpty(c.filter_subject)) out.filter_subject = c.filter_subject
  if (c.filter_subjects !== undefined && c.filter_subjects.length > 0) out.filter_subjects = [...c.filter_subjects]
  out.replay_policy = c.replay_policy
  if (nonZero(c.rate_limit_bps)) out.rate_limit_bps = uint64Json(c.rate_limit_bps)
  if (nonEmpty(c.sample_freq)) out.sample_freq = c.sample_freq
  if (nonZero(c.max_waiting)) out.max_waiting = int64Json(c.max_waiting)
  if (nonZero(c.max_ack_pending)) out.max_ack_pending = int64Json(c.max_ack_pending)
  if (nonZero(c.idle_heartbeat)) out.idle_heartbeat = int64Json(c.idle_heartbeat)
  if (c.flow_control === true) out.flow_control = true
  if (c.headers_only === true) out.headers_only = true
  if (nonZero(c.max_batch)) out.max_batch = int64Json(c.max_batch)
  if (nonZero(c.max_expires)) out.max_expires = int64Json(c.max_expires)
  if (nonZero(c.max_bytes)) out.max_bytes = int64Json(c.max_bytes)
  if (nonEmpty(c.deliver_subject)) out.deliver_subject = c.deliver_subject
  if (nonEmpty(c.deliver_group)) out.deliver_group = c.deliver_group
  if (nonZero(c.inactive_threshold)) out.inactive_threshold = int64Json(c.inactive_threshold)
  out.num_replicas = int64Json(c.num_replicas)
  if (c.mem_storage === true) out.mem_storage = true
  if (c.direct === true) out.direct = true
  if (c.sourcing === true) out.sourcing = true
  if (c.metadata !== undefined) {
    const keys = Object.keys(c.metadata).sort()
    if (keys.length > 0) {
      const m: Record<string, string> = {}
      for (const k of keys) {
        Object.defineProperty(m, k, { value: c.metadata[k], enumerable: true, writable: true, configurable: true })
      }
      out.metadata = m
    }
  }
  encodePriority(c, out)
  return out
}
