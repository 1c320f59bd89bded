/**
 * Stream configuration: decoding, validation and defaulting of the `STREAM.CREATE` /
 * `STREAM.UPDATE` request bodies (the reply's encoding is StreamConfigEncode.ts), reproducing nats-server 2.9.10 (`jsStreamCreateRequest`,
 * `jsStreamUpdateRequest`, `checkStreamCfg`, `addStream`, `configUpdateCheck`): the same input gets
 * the same error (code, err_code, description) or the same normalized config.
 *
 * Decoding (StreamConfigDecode.ts, with the rules shared in GoJson.ts) follows Go's
 * `encoding/json` into nats-server's `StreamConfig` struct, because its quirks are visible on the
 * wire: keys match case-insensitively, `null` leaves a scalar at its
 * zero value but is an error for the enum fields, any type mismatch (`"max_msgs": 1.0`,
 * `"max_msg_size": 3000000000`, `"subjects": "a"`) is "invalid JSON".
 *
 * Deliberate deviations (all refusals of things we do not implement, or nats-server bugs):
 * - `mirror` and `sources` are built (stream/StreamSource.ts) and checked as 2.9.10 checks them,
 *   `external` (another account's JetStream through an import, or a domain) included; a `null`
 *   source is refused (2.9.10 crashes on it). `republish` is built (stream/Republish.ts); as in 2.9.10 it can not change on
 *   update, unless `republishEditable` (the 2.10 level) says it can.
 * - `template_owner` on create gets nats-server's "stream not owned by template" (no templates).
 * - `storage: "any"` (accepted by 2.9.10's decoder, then the server panics) is refused.
 * - `num_replicas > 1` on update is refused like on create (2.9.10 silently accepts it).
 * - `metadata`, `first_seq` and `consumer_limits` (nats-server 2.10) are honoured as 2.10 does: the
 *   128 KiB metadata limit, no `first_seq` on a mirror (10143); 2.9.10 drops them. Reserved
 *   `_nats.*` metadata keys are stored as sent below the 2.11 level (VersionMetadata.ts from it).
 * - `subject_transform`, the mirror's and sources' `subject_transforms` and `compression` (2.10) are
 *   honoured and checked as 2.10+ checks them (10140, 10144-10147, 10150-10152, 10154-10156;
 *   sublist.go ValidateMapping), editable on update. The transform functions are 2.10's set (the
 *   later `random`, `left`, `right` and the `partition(n)` shorthand are refused).
 * - Keys are strict (ConfigFields.ts): a key that is no field of the current server's struct is
 *   `invalid JSON: json: unknown field "x"` (2.12 strict mode); a current field we do not
 *   implement (a source's `consumer`, ...) is
 *   accepted only with its zero value, else refused with 10052 naming it. 2.9.10 ignores both.
 * - `allow_msg_ttl` and `subject_delete_marker_ttl` (2.11) as nats-server's current checkStreamCfg
 *   (MessageTtlConfig.ts); TTLs cannot be turned off by an update. `pedantic` (2.11) refuses
 *   where nats-server would adjust the config (Pedantic.ts).
 * - `allow_msg_counter` (2.12) as nats-server's current checkStreamCfg and configUpdateCheck
 *   (CounterConfig.ts): create-time only, limits retention, no discard new, TTLs or mirror.
 * - `allow_msg_schedules` (2.12, ADR-51) as nats-server's checkStreamCfg (MessageScheduleConfig.ts);
 *   schedules cannot be turned off by an update.
 * - Integer limits are JS numbers: values beyond 2^53 keep the nearest double (2^63-1 is written
 *   back as 9223372036854775807).
 */
import { compileTransform, validateMapping } from "../../subject/SubjectTransform.ts"
import { goQuote } from "../codec/GoJson.ts"
import { type ApiError, ApiErrors } from "./ApiError.ts"
import { streamFieldRefused } from "./ConfigFields.ts"
import { checkCounterConfig, counterUpdateError } from "./CounterConfig.ts"
import { checkDuplicateConsumer, checkDurableSourcing, type StreamConsumerSource } from "./DurableSourcing.ts"
import { checkExternalPrefixes, type ExternalStream, indexName } from "./ExternalStream.ts"
import { checkMessageSchedules } from "./MessageScheduleConfig.ts"
import { checkDeleteMarkers } from "./MessageTtlConfig.ts"
import {
  byteLength,
  hasPathSeparator,
  isGoValidName,
  isSubsetMatchTokens,
  isValidSubject,
  MAX_DESCRIPTION_LEN,
  MAX_METADATA_LEN,
  MAX_NAME_LEN,
  metadataLength,
  subjectIsSubsetMatch
} from "./Names.ts"
import { pedanticError, type PedanticRule } from "./Pedantic.ts"
import { checkPersistMode, persistModeUpdateError } from "./PersistModeConfig.ts"
import type { DiscardPolicy, Placement, RetentionPolicy, StorageType } from "./Policies.ts"
import { unknownField } from "./Requests.ts"
import { type RawConfig, type RawSource, unmarshal } from "./StreamConfigDecode.ts"
import { staticMetadata, streamRequiredLevel } from "./VersionMetadata.ts"

/** The normalized config as nats-server 2.9.10 reports it (plus 2.10's `metadata` / `first_seq`). */
export interface StreamConfig {
  readonly name: string
  readonly description?: string
  readonly subjects: ReadonlyArray<string>
  readonly retention: RetentionPolicy
  readonly max_consumers: number
  readonly max_msgs: number
  readonly max_bytes: number
  /** nanoseconds */
  readonly max_age: number
  readonly max_msgs_per_subject: number
  readonly max_msg_size: number
  readonly discard: DiscardPolicy
  readonly discard_new_per_subject?: boolean
  readonly storage: StorageType
  readonly num_replicas: number
  readonly no_ack?: boolean
  /** nanoseconds */
  readonly duplicate_window: number
  readonly placement?: Placement
  readonly allow_direct: boolean
  readonly mirror_direct: boolean
  readonly sealed: boolean
  readonly deny_delete: boolean
  readonly deny_purge: boolean
  readonly allow_rollup_hdrs: boolean
  readonly metadata?: Readonly<Record<string, string>>
  readonly first_seq?: number
  /** Defaults and caps for the stream's consumers (absent when both are zero). */
  readonly consumer_limits?: StreamConsumerLimits
  /** 2.11: honours `Nats-TTL` on publish (stream/MessageTtl.ts); absent = false. */
  readonly allow_msg_ttl?: boolean
  /** 2.11, ns: TTL of the marker left when an age limit removes a subject's last message (DeleteMarker.ts). */
  readonly subject_delete_marker_ttl?: number
  /** 2.12: every publish carries `Nats-Incr` and stores the subject's new total (stream/Counter.ts); absent = false. */
  readonly allow_msg_counter?: boolean
  /** 2.12: atomic batch publish (stream/AtomicBatch.ts); absent = false. */
  readonly allow_atomic?: boolean
  /** 2.14 (ADR-50): publishes with a `.$FI` reply are fast-ingest batches (stream/FastBatch.ts); absent = false. */
  readonly allow_batched?: boolean
  /** 2.12: honours `Nats-Schedule` on publish (stream/MessageSchedule.ts); absent = false. */
  readonly allow_msg_schedules?: boolean
  /** 2.12: "async" never fsyncs before an ack (PersistModeConfig.ts); absent = "default". */
  readonly persist_mode?: "async"
  readonly template_owner?: string
  /**
   * 2.10 `compression: "s2"` (absent = "none"): file streams compress records from then on
   * (store/Compression.ts); memory streams keep it in their config and ignore it, as nats-server.
   */
  readonly compression?: "s2"
  /** 2.10: every message stored is renamed by this transform first (when its subject matches `src`). */
  readonly subject_transform?: SubjectTransformConfig
  /** Republish stored messages (`src` is `>` when sent empty, as nats-server normalizes it). */
  readonly republish?: Republish
  /** This stream follows another one (stream/StreamSource.ts). */
  readonly mirror?: StreamSource
  /** Streams whose messages this one also takes in (stream/StreamSource.ts). */
  readonly sources?: ReadonlyArray<StreamSource>
}

/** nats-server `StreamConsumerLimits`: ns and a count; 0 (omitted) = no limit. */
export interface StreamConsumerLimits {
  readonly inactive_threshold?: number
  readonly max_ack_pending?: number
}

/** nats-server `StreamSource`. */
export interface StreamSource {
  readonly name: string
  /** The origin's JetStream is reached through this API prefix (accounts/ExternalJetStream.ts). */
  readonly external?: ExternalStream
  readonly opt_start_seq?: number
  /** RFC 3339 as Go writes it back. */
  readonly opt_start_time?: string
  readonly filter_subject?: string
  /**
   * 2.10: several filters, each renaming what it takes (`dest` empty keeps the subject). A message
   * is taken when it matches one `src`; absent or empty = `filter_subject` alone.
   */
  readonly subject_transforms?: ReadonlyArray<SubjectTransformConfig>
  /** 2.14: follow this durable consumer on the origin instead of one the stream asks for. */
  readonly consumer?: StreamConsumerSource
}

export { type ExternalStream, indexName } from "./ExternalStream.ts"

/** nats-server `SubjectTransformConfig`: `src` empty means `>`, `dest` empty means no transform. */
export interface SubjectTransformConfig {
  readonly src: string
  readonly dest: string
}

/**
 * A source's identity among the stream's sources, as nats-server `composeIName`: the stream's
 * index name (with `external`, the API prefix's hash after it), and when it filters, its filters and destinations (`>` for an
 * empty one; several joined by form feeds). One stream may be sourced twice with other filters.
 */
export const sourceKey = (s: StreamSource): string => {
  const trs = s.subject_transforms ?? []
  const name = indexName(s)
  if (trs.length === 0 && (s.filter_subject ?? "") === "") return name
  const filters = trs.length > 0 ? trs.map((t) => t.src || ">") : [s.filter_subject!]
  const dests = trs.length > 0 ? trs.map((t) => t.dest || ">") : [">"]
  return `${name} ${filters.join("\f")} ${dests.join("\f")}`
}

/** nats-server `RePublish`. */
export interface Republish {
  readonly src: string
  readonly dest: string
  readonly headers_only?: boolean
}

/**
 * Server-wide JetStream limits that stream configs are checked against (nats-server
 * `checkBytesLimits` with `checkServer`). A `max_bytes` is reserved from the store of its type;
 * streams without `max_bytes` count as reserving 1 byte when checked.
 */
export interface ServerStreamLimits {
  /** `max_memory_store` of the server; no check when absent. */
  readonly maxMemoryStore?: number
  /** `max_file_store` of the server; no check when absent. */
  readonly maxFileStore?: number
  /** Sum of `max_bytes` (those > 0) of all existing memory streams, this one included on update. */
  readonly reservedMemory?: number
  /** Same for file streams. */
  readonly reservedFile?: number
  /** Tiered account limits: true when no tier has limits for this replica count (10120, TieredLimits.ts). */
  readonly untiered?: (replicas: bigint) => boolean
  /** Account setting `max_bytes_required`: streams must set `max_bytes > 0`. */
  readonly maxBytesRequired?: boolean
  /** Account limit on a single memory stream's `max_bytes` (`memory_max_stream_bytes`). */
  readonly maxMemoryStreamBytes?: number
  /** Account limit on a single file stream's `max_bytes` (`storage_max_stream_bytes`). */
  readonly maxFileStreamBytes?: number
  /** The other streams of the account, for the mirror checks (origin limits, cycles). */
  readonly stream?: (name: string) => StreamConfig | undefined
  /** 2.10: an update may change `republish` (2.9.10 refuses; the API decides by the advertised level). */
  readonly republishEditable?: boolean
  /** 2.12: an update without `mirror` promotes the mirror to a normal stream (2.9.10 refuses: 10055). */
  readonly mirrorPromotable?: boolean
  /** JetStream cluster mode: `num_replicas` up to MAX_REPLICAS is served (a single server refuses > 1). */
  readonly clustered?: boolean
  /** 2.11: store `_nats.req.level` and drop the reply-only keys (VersionMetadata.ts; by the advertised level). */
  readonly versioned?: boolean
}

export type DecodeResult =
  | { readonly ok: true; readonly config: StreamConfig }
  | { readonly ok: false; readonly error: ApiError }

// ---------------------------------------------------------------------------------------------
// Names and subjects
// ---------------------------------------------------------------------------------------------

/** nats-server `StreamMaxReplicas`. */
export const MAX_REPLICAS = 5
/** Default `duplicate_window`: 2 minutes in ns. */
export const DEFAULT_DUPLICATE_WINDOW = 120_000_000_000

// Byte lengths, Go's `isValidName`, path separators, `IsValidSubject` and subset matching are
// shared with ConsumerConfig.ts (Names.ts).

/**
 * A usable stream or consumer name: what nats-server accepts for streams taken together
 * (non-empty, no whitespace, '.', '*', '>', '/' or '\', at most 255 bytes).
 */
export const isValidName = (name: string): boolean =>
  isGoValidName(name) && !hasPathSeparator(name) && byteLength(name) <= MAX_NAME_LEN

const wildcardKinds = (tokens: ReadonlyArray<string>): { partial: boolean; full: boolean } => {
  let partial = false
  let full = false
  for (const t of tokens) {
    if (t === "*") partial = true
    else if (t === ">") full = true
  }
  return { partial, full }
}

// nats-server `tokensCanMatch` looks at the first byte only, so a token like "*x" counts as a
// wildcard here (but not in `wildcardKinds`); kept as is, it decides which configs are refused.
const tokensCanMatch = (a: string, b: string): boolean => {
  if (a.length === 0 || b.length === 0) return false
  const x = a[0]
  const y = b[0]
  return x === "*" || x === ">" || y === "*" || y === ">" || a === b
}

/** nats-server `SubjectsCollide`: could one message subject match both subject filters? */
export const subjectsCollide = (a: string, b: string): boolean => {
  if (a === b) return true
  const ta = a.split(".")
  const tb = b.split(".")
  const wa = wildcardKinds(ta)
  const wb = wildcardKinds(tb)
  const literalA = !wa.partial && !wa.full
  const literalB = !wb.partial && !wb.full
  if (literalA && literalB) return false
  if (literalA) return isSubsetMatchTokens(ta, tb, false)
  if (literalB) return isSubsetMatchTokens(tb, ta, false)
  if (!wa.full && !wb.full && ta.length !== tb.length) return false
  if (ta.length < tb.length && !wa.full) return false
  if (tb.length < ta.length && !wb.full) return false
  const n = Math.min(ta.length, tb.length)
  for (let i = 0; i < n; i++) {
    if (!tokensCanMatch(ta[i]!, tb[i]!)) return false
  }
  return true
}

/** Does any subject of `a` collide with any subject of `b`? (stream-vs-stream overlap check) */
export const subjectsOverlap = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => {
  for (const x of a) {
    for (const y of b) {
      if (subjectsCollide(x, y)) return true
    }
  }
  return false
}

const JS_API_TOKENS = ["$JS", "API", ">"]

// ---------------------------------------------------------------------------------------------
// Validation (nats-server checkStreamCfg and friends)
// ---------------------------------------------------------------------------------------------

type Checked = { readonly ok: true; readonly cfg: RawConfig } | { readonly ok: false; readonly error: ApiError }

const invalid = (detail: string): { ok: false; error: ApiError } => ({
  ok: false,
  error: ApiErrors.streamInvalidConfig(detail)
})

const pedantic = (rule: PedanticRule): { ok: false; error: ApiError } => ({ ok: false, error: pedanticError(rule) })

const MIN_WINDOW = 100_000_000n // 100ms
const DEFAULT_WINDOW = BigInt(DEFAULT_DUPLICATE_WINDOW)

/** nats-server `checkStreamCfg`: validates and fills defaults. `mode` picks what we refuse. */
const checkConfig = (input: RawConfig, _mode: "create" | "update", limits: ServerStreamLimits): Checked => {
  if (!isGoValidName(input.name)) return invalid("stream name is required and can not contain '.', '*', '>'")
  if (byteLength(input.name) > MAX_NAME_LEN) {
    return invalid(`stream name is too long, maximum allowed is ${MAX_NAME_LEN}`)
  }
  if (byteLength(input.description) > MAX_DESCRIPTION_LEN) {
    return invalid(`stream description is too long, maximum allowed is ${MAX_DESCRIPTION_LEN}`)
  }
  if (metadataLength(input.metadata) > MAX_METADATA_LEN) {
    return invalid(`stream metadata exceeds maximum size of ${MAX_METADATA_LEN} bytes`)
  }
  const cfg: RawConfig = { ...input }
  if (cfg.storage === undefined) cfg.storage = "file"
  // Deviation: 2.9.10 decodes "any" and then crashes creating the store.
  if (cfg.storage === "any") return invalid("storage type \"any\" is not supported")
  if (cfg.num_replicas === 0n) cfg.num_replicas = 1n
  if (cfg.num_replicas > BigInt(MAX_REPLICAS)) return invalid(`maximum replicas is ${MAX_REPLICAS}`)
  if (cfg.num_replicas < 0n) return { ok: false, error: ApiErrors.replicasCountCannotBeNegative() }
  if (cfg.max_msgs === 0n) cfg.max_msgs = -1n
  if (cfg.max_msgs_per_subject === 0n) cfg.max_msgs_per_subject = -1n
  if (cfg.max_bytes === 0n) cfg.max_bytes = -1n
  if (cfg.max_msg_size === 0n) cfg.max_msg_size = -1n
  if (cfg.max_consumers === 0n) cfg.max_consumers = -1n
  // The default window follows max_age when that is shorter (even when max_age is negative, which
  // then fails the negative-window check below, as in nats-server).
  if (cfg.duplicate_window === 0n && cfg.mirror === undefined) {
    if (cfg.pedantic && cfg.max_age !== 0n && cfg.max_age < DEFAULT_WINDOW) return pedantic("duplicatesOverMaxAge")
    cfg.duplicate_window = cfg.max_age !== 0n && cfg.max_age < DEFAULT_WINDOW ? cfg.max_age : DEFAULT_WINDOW
  }
  if (cfg.max_age > 0n && cfg.max_age < MIN_WINDOW) return invalid("max age needs to be >= 100ms")
  if (cfg.duplicate_window < 0n) return invalid("duplicates window can not be negative")
  if (cfg.max_age !== 0n && cfg.duplicate_window > cfg.max_age) {
    return invalid("duplicates window can not be larger then max age")
  }
  if (cfg.duplicate_window > 0n && cfg.duplicate_window < MIN_WINDOW) {
    return invalid("duplicates window needs to be >= 100ms")
  }
  if (cfg.deny_purge && cfg.allow_rollup_hdrs) return invalid("roll-ups require the purge permission")
  const counter = checkCounterConfig(cfg)
  if (counter !== undefined) return invalid(counter)
  if (cfg.discard_new_per_subject) {
    if (cfg.discard !== "new") return invalid("discard new per subject requires discard new policy to be set")
    if (cfg.max_msgs_per_subject <= 0n) return invalid("discard new per subject requires max msgs per subject > 0")
  }
  const markers = checkDeleteMarkers(cfg)
  if (markers !== undefined) return invalid(markers)
  const schedules = checkMessageSchedules(cfg)
  if (schedules !== undefined) return { ok: false, error: schedules }
  const persist = checkPersistMode(cfg)
  if (persist !== undefined) return invalid(persist)
  // Subjects of the origins seen here, and the external prefixes, for nats-server's prefix checks.
  const streamSubs: Array<string> = []
  const externals: Array<{ readonly api: string; readonly deliver: string }> = []
  if (cfg.mirror !== undefined) {
    const m = cfg.mirror
    if (cfg.first_seq > 0n) return { ok: false, error: ApiErrors.mirrorWithFirstSeq() }
    if (cfg.subjects !== null && cfg.subjects.length > 0) return { ok: false, error: ApiErrors.mirrorWithSubjects() }
    if (cfg.sources.length > 0) return { ok: false, error: ApiErrors.mirrorWithSources() }
    if (cfg.allow_msg_counter) return { ok: false, error: ApiErrors.mirrorWithCounters() }
    if (cfg.allow_atomic) return { ok: false, error: ApiErrors.mirrorWithAtomicPublish() }
    if (cfg.allow_batched) return { ok: false, error: ApiErrors.mirrorWithBatchPublish() }
    if (cfg.allow_msg_schedules) return { ok: false, error: ApiErrors.mirrorWithMsgSchedules() }
    const durable = checkDurableSourcing(m, "mirror")
    if (durable !== undefined) return { ok: false, error: durable }
    const bad = checkSourceTransforms(m, "mirror")
    if (bad !== undefined) return { ok: false, error: bad }
    // The origin need not exist yet; when it does, its limits and subjects are checked.
    const origin = limits.stream?.(m.name)
    if (origin !== undefined) {
      if (cfg.max_msg_size > 0n && origin.max_msg_size > 0 && cfg.max_msg_size < BigInt(origin.max_msg_size)) {
        return { ok: false, error: ApiErrors.mirrorMaxMessageSizeTooBig() }
      }
      if (
        m.filter_subject !== "" && origin.subjects.length > 0 &&
        !origin.subjects.some((s) => subjectsCollide(s, m.filter_subject))
      ) {
        return invalid(
          `mirror '${m.name}' filter subject '${m.filter_subject}' does not overlap with any origin stream subject`
        )
      }
    }
    if (origin !== undefined) streamSubs.push(...origin.subjects)
    if (m.external !== undefined) externals.push(m.external)
    // Direct gets follow the origin's setting.
    if (origin !== undefined && cfg.pedantic && cfg.mirror_direct !== origin.allow_direct) {
      return pedantic("mirrorDirect")
    }
    if (origin !== undefined) cfg.mirror_direct = origin.allow_direct
  }
  if (cfg.sources.length > 0 && cfg.allow_msg_schedules) return { ok: false, error: ApiErrors.sourceWithMsgSchedules() }
  const sourced = new Set<string>()
  const consumersUsed = new Set<string>()
  for (const src of cfg.sources) {
    if (src === null) return invalid("stream source can not be null")
    // Sources are told apart by stream name and filters (nats-server composeIName): one stream may
    // be sourced twice with other filters, not twice alike.
    const key = sourceKey(toSource(src))
    if (sourced.has(key)) return { ok: false, error: ApiErrors.sourceDuplicateDetected() }
    sourced.add(key)
    const bad = checkSourceTransforms(src, "source")
    if (bad !== undefined) return { ok: false, error: bad }
    const durable = checkDurableSourcing(src, "source") ?? checkDuplicateConsumer(src, consumersUsed)
    if (durable !== undefined) return { ok: false, error: durable }
    const origin = limits.stream?.(src.name)
    if (origin !== undefined) {
      streamSubs.push(...origin.subjects)
      if (cfg.max_msg_size > 0n && origin.max_msg_size > 0 && cfg.max_msg_size < BigInt(origin.max_msg_size)) {
        return { ok: false, error: ApiErrors.sourceMaxMessageSizeTooBig() }
      }
      // nats-server checks the filter against the subjects of every source seen so far.
      if (
        src.filter_subject !== "" && streamSubs.length > 0 &&
        !streamSubs.some((s) => subjectsCollide(s, src.filter_subject))
      ) {
        return invalid(
          `source '${src.name}' filter subject '${src.filter_subject}' does not overlap with any origin stream subject`
        )
      }
    }
    if (src.external !== undefined) externals.push(src.external)
  }
  const prefixes = checkExternalPrefixes(externals, streamSubs, subjectsCollide)
  if (prefixes !== undefined) return { ok: false, error: prefixes }
  // A chain of sources and mirrors that comes back to this stream would feed itself.
  {
    const visited = new Set<string>()
    const toVisit: Array<
      {
        name: string
        sources: ReadonlyArray<{ name: string; external?: unknown } | null>
        mirror?: { name: string; external?: unknown } | undefined
      }
    > = [
      { name: cfg.name, sources: cfg.sources, mirror: cfg.mirror }
    ]
    while (toVisit.length > 0) {
      const c = toVisit.shift()!
      visited.add(c.name)
      for (const src of c.sources) {
        // Another account's or domain's stream: nats-server does not follow those.
        if (src === null || src.external !== undefined) continue
        if (visited.has(src.name)) return invalid("detected cycle")
        const o = limits.stream?.(src.name)
        if (o !== undefined) toVisit.push({ name: o.name, sources: o.sources ?? [], mirror: o.mirror })
      }
      if (c.mirror !== undefined && c.mirror.external === undefined) {
        if (visited.has(c.mirror.name)) return invalid("detected cycle")
        const o = limits.stream?.(c.mirror.name)
        if (o !== undefined) toVisit.push({ name: o.name, sources: o.sources ?? [], mirror: o.mirror })
      }
    }
  }

  const subjects = cfg.subjects ?? []
  if (subjects.length === 0) {
    if (cfg.mirror === undefined && cfg.sources.length === 0) cfg.subjects = [cfg.name]
  } else {
    const seen = new Set<string>()
    for (const subject of subjects) {
      if (seen.has(subject)) return invalid("duplicate subjects detected")
      if (isSubsetMatchTokens(subject.split("."), JS_API_TOKENS, false)) {
        return invalid("subjects overlap with jetstream api")
      }
      if (!isValidSubject(subject)) return invalid("invalid subject")
      seen.add(subject)
    }
  }

  const memory = cfg.storage === "memory"
  if (limits.maxBytesRequired === true && cfg.max_bytes <= 0n) {
    return { ok: false, error: ApiErrors.streamMaxBytesRequired() }
  }
  const perStream = memory ? limits.maxMemoryStreamBytes : limits.maxFileStreamBytes
  if (perStream !== undefined && perStream > 0 && cfg.max_bytes > BigInt(perStream)) {
    return { ok: false, error: ApiErrors.streamMaxStreamBytesExceeded() }
  }

  const own = cfg.subjects ?? []
  if (own.length > 1) {
    for (const a of own) {
      for (const b of own) {
        if (a !== b && subjectsCollide(b, a)) return invalid(`subject ${goQuote(a)} overlaps with ${goQuote(b)}`)
      }
    }
  }

  // 2.10 `checkStreamCfg`: the transform's source must be a subject, the whole mapping valid
  // (ValidateMapping). Its source need not be one of the stream's subjects: a stored message whose
  // subject does not match keeps its subject.
  const st = cfg.subject_transform
  if (st !== undefined) {
    if (st.src !== "" && !isValidSubject(st.src)) {
      return { ok: false, error: ApiErrors.streamTransformInvalidSource(`invalid subject ${st.src}`) }
    }
    const bad = validateMapping(st.src, st.dest)
    if (bad !== undefined) return { ok: false, error: ApiErrors.streamTransformInvalidDestination(bad) }
  }

  if (cfg.republish !== undefined) {
    if (cfg.pedantic && cfg.republish.src === "") return pedantic("republishSource")
    // Empty means all, and the stored config says so.
    const republish = { ...cfg.republish, src: cfg.republish.src === "" ? ">" : cfg.republish.src }
    // 2.10: `>` to `>` would loop, unless the transform renames the stream's only subject: then it
    // republishes every message under its transformed subject.
    const implicit = republish.src === ">" && republish.dest === ">" && st !== undefined && own.length === 1 &&
      st.src === own[0]
    if (implicit) {
      if (cfg.pedantic) return pedantic("implicitRepublish")
      republish.src = st.dest
      republish.dest = st.dest
    }
    cfg.republish = republish
    if (!implicit && !own.some((s) => subjectsCollide(republish.src, s))) {
      return invalid("stream configuration for republish source is not valid subset of subjects")
    }
    if (own.some((s) => subjectsCollide(republish.dest, s))) {
      return invalid("stream configuration for republish destination forms a cycle")
    }
    if (!compileTransform(republish.src, republish.dest).ok) {
      return invalid("stream configuration for republish not valid")
    }
  }
  return { ok: true, cfg }
}

/**
 * 2.10 `checkStreamCfg` on a mirror's or source's `subject_transforms`: not beside a
 * `filter_subject`, each source a subject and each mapping valid (ValidateMapping), and no two
 * sources overlapping (mirrors: could match one subject; sources: one is a subset of the other).
 */
const checkSourceTransforms = (src: RawSource, kind: "mirror" | "source"): ApiError | undefined => {
  const trs = src.subject_transforms
  if (trs.length === 0) return undefined
  const mirror = kind === "mirror"
  if (src.filter_subject !== "") {
    return mirror ? ApiErrors.mirrorMultipleFiltersNotAllowed() : ApiErrors.sourceMultipleFiltersNotAllowed()
  }
  for (const [i, t] of trs.entries()) {
    if (t.src !== "" && !isValidSubject(t.src)) {
      const err = `invalid subject ${t.src}`
      return mirror ? ApiErrors.mirrorInvalidSubjectFilter(err) : ApiErrors.sourceInvalidSubjectFilter(err)
    }
    const bad = validateMapping(t.src, t.dest)
    if (bad !== undefined) {
      return mirror
        ? ApiErrors.mirrorInvalidTransformDestination(bad)
        : ApiErrors.sourceInvalidTransformDestination(bad)
    }
    // nats-server checks a mirror's overlaps transform by transform, after that one's validity.
    if (mirror && trs.some((o, j) => j !== i && subjectsCollide(t.src, o.src))) {
      return ApiErrors.mirrorOverlappingSubjectFilters()
    }
  }
  if (!mirror) {
    for (const [i, t] of trs.entries()) {
      if (trs.some((o, j) => j !== i && subjectIsSubsetMatch(t.src, o.src))) {
        return ApiErrors.sourceOverlappingSubjectFilters()
      }
    }
  }
  return undefined
}

/** nats-server `checkBytesLimits` against the server's totals. */
const checkServerBytes = (
  storage: RawConfig["storage"],
  addBytes: bigint,
  limits: ServerStreamLimits
): ApiError | undefined => {
  if (storage === "memory" && limits.maxMemoryStore !== undefined) {
    if (BigInt(Math.trunc(limits.reservedMemory ?? 0)) + addBytes > BigInt(Math.trunc(limits.maxMemoryStore))) {
      return ApiErrors.memoryResourcesExceeded()
    }
  } else if (storage === "file" && limits.maxFileStore !== undefined) {
    if (BigInt(Math.trunc(limits.reservedFile ?? 0)) + addBytes > BigInt(Math.trunc(limits.maxFileStore))) {
      return ApiErrors.storageResourcesExceeded()
    }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Conversion between the raw (Go) shape and StreamConfig
// ---------------------------------------------------------------------------------------------

const toNumber = (n: bigint): number => Number(n)
const toBig = (n: number): bigint => BigInt(Math.trunc(n))

const toStreamConfig = (c: RawConfig): StreamConfig => ({
  name: c.name,
  ...(c.description !== "" ? { description: c.description } : {}),
  subjects: c.subjects ?? [],
  retention: c.retention,
  max_consumers: toNumber(c.max_consumers),
  max_msgs: toNumber(c.max_msgs),
  max_bytes: toNumber(c.max_bytes),
  max_age: toNumber(c.max_age),
  max_msgs_per_subject: toNumber(c.max_msgs_per_subject),
  max_msg_size: toNumber(c.max_msg_size),
  discard: c.discard,
  ...(c.discard_new_per_subject ? { discard_new_per_subject: true } : {}),
  storage: c.storage === "memory" ? "memory" : "file",
  num_replicas: toNumber(c.num_replicas),
  ...(c.no_ack ? { no_ack: true } : {}),
  duplicate_window: toNumber(c.duplicate_window),
  ...(c.placement !== undefined ? { placement: c.placement } : {}),
  allow_direct: c.allow_direct,
  mirror_direct: c.mirror_direct,
  sealed: c.sealed,
  deny_delete: c.deny_delete,
  deny_purge: c.deny_purge,
  allow_rollup_hdrs: c.allow_rollup_hdrs,
  ...(c.metadata !== undefined && Object.keys(c.metadata).length > 0 ? { metadata: c.metadata } : {}),
  ...(c.first_seq > 0n ? { first_seq: toNumber(c.first_seq) } : {}),
  ...(c.consumer_limits.inactive_threshold !== 0n || c.consumer_limits.max_ack_pending !== 0n ?
    {
      consumer_limits: {
        ...(c.consumer_limits.inactive_threshold !== 0n ?
          { inactive_threshold: toNumber(c.consumer_limits.inactive_threshold) } :
          {}),
        ...(c.consumer_limits.max_ack_pending !== 0n ?
          { max_ack_pending: toNumber(c.consumer_limits.max_ack_pending) } :
          {})
      }
    } :
    {}),
  ...(c.allow_msg_ttl ? { allow_msg_ttl: true } : {}),
  ...(c.subject_delete_marker_ttl > 0n ? { subject_delete_marker_ttl: toNumber(c.subject_delete_marker_ttl) } : {}),
  ...(c.allow_msg_counter ? { allow_msg_counter: true } : {}),
  ...(c.allow_atomic ? { allow_atomic: true } : {}),
  ...(c.allow_batched ? { allow_batched: true } : {}),
  ...(c.allow_msg_schedules ? { allow_msg_schedules: true } : {}),
  ...(c.persist_mode === "async" ? { persist_mode: "async" as const } : {}),
  ...(c.template_owner !== "" ? { template_owner: c.template_owner } : {}),
  ...(c.compression === "s2" ? { compression: "s2" as const } : {}),
  ...(c.subject_transform !== undefined ?
    { subject_transform: { src: c.subject_transform.src, dest: c.subject_transform.dest } } :
    {}),
  ...(c.mirror !== undefined ? { mirror: toSource(c.mirror) } : {}),
  ...(c.sources.length > 0 ? { sources: c.sources.filter((x) => x !== null).map(toSource) } : {}),
  ...(c.republish !== undefined ?
    {
      republish: {
        src: c.republish.src,
        dest: c.republish.dest,
        ...(c.republish.headers_only ? { headers_only: true } : {})
      }
    } :
    {})
})

const fail = (error: ApiError): DecodeResult => ({ ok: false, error })

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Decode + validate + default a `STREAM.CREATE` body in nats-server 2.9.10's order: invalid JSON,
 * name ≠ subject token, path separators, sealed, mirror_direct without mirror, server limits on the
 * raw config, `checkStreamCfg`, replicas > 1 (single server), server limits on the normalized
 * config, template ownership.
 *
 * Left to the caller (it has all streams), in this order after a successful decode: an existing
 * stream of that name (`sameConfig` → return it, else `ApiErrors.streamNameExist()`), then the
 * overlap with other streams' subjects (`subjectsOverlap` → `ApiErrors.streamSubjectOverlap()`).
 * (nats-server checks the existing stream before its second limits check and the template check;
 * the difference only shows for a re-create of an identical stream on a full server.)
 */
export const decodeStreamCreate = (
  body: Uint8Array | string,
  subjectName: string,
  limits: ServerStreamLimits = {}
): DecodeResult => {
  const raw = unmarshal(body)
  if (raw === undefined) return fail(ApiErrors.invalidJSON())
  if (raw.unknown !== undefined) return fail(unknownField(raw.unknown))
  // Before anything is looked at: a field we do not implement is refused, not dropped.
  if (raw.refused !== undefined) return fail(streamFieldRefused(raw.refused))
  if (subjectName !== raw.name) return fail(ApiErrors.streamMismatch())
  if (hasPathSeparator(subjectName)) return fail(ApiErrors.streamNameContainsPathSeparators())
  if (raw.sealed) return fail(ApiErrors.streamInvalidConfig("stream configuration for create can not be sealed"))
  if (raw.mirror_direct && raw.mirror === undefined) {
    return fail(ApiErrors.streamInvalidConfig("stream has no mirror but does have mirror direct"))
  }
  // jsNonClusteredStreamLimitsCheck runs on the config as sent: its tier (replicas 0 is R1), an unset
  // storage is checked against nothing, and an unset max_bytes reserves nothing yet.
  if (limits.untiered?.(raw.num_replicas) === true) return fail(ApiErrors.noLimits())
  const rawLimit = checkServerBytes(raw.storage, raw.max_bytes < 0n ? 1n : raw.max_bytes, limits)
  if (rawLimit !== undefined) return fail(rawLimit)
  const checked = checkConfig(raw, "create", limits)
  if (!checked.ok) return fail(checked.error)
  const cfg = checked.cfg
  if (cfg.num_replicas > 1n && limits.clustered !== true) return fail(ApiErrors.streamReplicasNotSupported())
  const limit = checkServerBytes(cfg.storage, cfg.max_bytes < 0n ? 1n : cfg.max_bytes, limits)
  if (limit !== undefined) return fail(limit)
  if (cfg.template_owner !== "") return fail(ApiErrors.streamCreate("stream not owned by template"))
  if (limits.versioned === true) cfg.metadata = staticMetadata(cfg.metadata, streamRequiredLevel(cfg))
  return { ok: true, config: toStreamConfig(cfg) }
}

/**
 * Decode + validate a `STREAM.UPDATE` body against the stream's current config, in nats-server
 * 2.9.10's order: invalid JSON, `checkStreamCfg`, name ≠ subject token, stream not found (pass
 * `current` undefined), then the update rules (max_consumers, storage and retention immutable,
 * no templates, sealed / deny_delete / deny_purge one-way, mirror and republish unchangeable,
 * discard-new-per-subject), sealing adjustments (max_age 0, discard new, deny both, no rollups)
 * and the server limits on the growth of max_bytes.
 *
 * Left to the caller: the overlap with other streams' subjects (`ApiErrors.streamSubjectOverlap()`).
 */
export const decodeStreamUpdate = (
  body: Uint8Array | string,
  subjectName: string,
  current: StreamConfig | undefined,
  limits: ServerStreamLimits = {}
): DecodeResult => {
  const raw = unmarshal(body)
  if (raw === undefined) return fail(ApiErrors.invalidJSON())
  if (raw.unknown !== undefined) return fail(unknownField(raw.unknown))
  // Before anything is looked at: a field we do not implement is refused, not dropped.
  if (raw.refused !== undefined) return fail(streamFieldRefused(raw.refused))
  const checked = checkConfig(raw, "update", limits)
  if (!checked.ok) return fail(checked.error)
  const cfg = checked.cfg
  if (subjectName !== cfg.name) return fail(ApiErrors.streamMismatch())
  if (current === undefined) return fail(ApiErrors.streamNotFound())

  if (cfg.name !== current.name) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration name must match original"))
  }
  if (cfg.max_consumers !== toBig(current.max_consumers)) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not change MaxConsumers"))
  }
  if (cfg.storage !== current.storage) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not change storage type"))
  }
  if (cfg.retention !== current.retention) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not change retention policy"))
  }
  if ((current.template_owner ?? "") !== "") {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update not allowed on template owned stream"))
  }
  if (cfg.template_owner !== "") {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not be owned by a template"))
  }
  if (!cfg.sealed && current.sealed) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not unseal a sealed stream"))
  }
  if (!cfg.deny_delete && current.deny_delete) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not cancel deny message deletes"))
  }
  if (!cfg.deny_purge && current.deny_purge) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not cancel deny purge"))
  }
  // 2.12: removing the mirror promotes it to a normal stream; any other change stays refused.
  const promotes = limits.mirrorPromotable === true && cfg.mirror === undefined
  if (!promotes && !sameSource(cfg.mirror, current.mirror)) return fail(ApiErrors.streamMirrorNotUpdatable())
  if (current.allow_msg_ttl === true && !cfg.allow_msg_ttl) {
    return fail(ApiErrors.streamInvalidConfig("message TTL status can not be disabled"))
  }
  const counter = counterUpdateError(cfg.allow_msg_counter, current.allow_msg_counter === true)
  if (counter !== undefined) return fail(ApiErrors.streamInvalidConfig(counter))
  if (current.allow_msg_schedules === true && !cfg.allow_msg_schedules) {
    return fail(ApiErrors.streamInvalidConfig("message schedules can not be disabled"))
  }
  const persist = persistModeUpdateError(cfg.persist_mode, current.persist_mode)
  if (persist !== undefined) return fail(ApiErrors.streamInvalidConfig(persist))
  if (limits.republishEditable !== true && !sameRepublish(cfg.republish, current.republish)) {
    return fail(ApiErrors.streamInvalidConfig("stream configuration update can not change RePublish"))
  }
  // (the discard-new-per-subject rules are checked again here by nats-server; checkConfig did it)
  // Deviation: 2.9.10 accepts any replica count up to 5 on update even on a single server.
  if (cfg.num_replicas > 1n && limits.clustered !== true) return fail(ApiErrors.streamReplicasNotSupported())
  // An R1 stream is in its owner's own store, a replicated one in the cluster store: moving between
  // them is a copy we do not make (nats-server scales either way; the refusal says so).
  if ((cfg.num_replicas > 1n) !== (current.num_replicas > 1)) {
    return fail(ApiErrors.streamInvalidConfig(
      "stream configuration update can not change replicas between 1 and more than 1 in this server (R1 streams are stored by their server, replicated ones in the cluster store)"
    ))
  }
  if (cfg.sealed) {
    cfg.max_age = 0n
    cfg.discard = "new"
    cfg.deny_delete = true
    cfg.deny_purge = true
    cfg.allow_rollup_hdrs = false
  }
  // Only growth of max_bytes needs a new reservation.
  const growth = cfg.max_bytes - toBig(current.max_bytes)
  const limit = checkServerBytes(cfg.storage, growth > 0n ? growth : 0n, limits)
  if (limit !== undefined) return fail(limit)
  if (limits.versioned === true) cfg.metadata = staticMetadata(cfg.metadata, streamRequiredLevel(cfg))
  return { ok: true, config: toStreamConfig(cfg) }
}

const toSource = (m: RawSource): StreamSource => ({
  name: m.name,
  ...(m.opt_start_seq > 0n ? { opt_start_seq: Number(m.opt_start_seq) } : {}),
  ...(m.opt_start_time !== undefined ? { opt_start_time: m.opt_start_time.text } : {}),
  ...(m.filter_subject !== "" ? { filter_subject: m.filter_subject } : {}),
  ...(m.subject_transforms.length > 0 ?
    { subject_transforms: m.subject_transforms.map((t) => ({ src: t.src, dest: t.dest })) } :
    {}),
  ...(m.external !== undefined ? { external: { api: m.external.api, deliver: m.external.deliver } } : {}),
  ...(m.consumer !== undefined
    ? { consumer: { name: m.consumer.name, deliver_subject: m.consumer.deliver_subject } }
    : {})
})

/** nats-server compares the `StreamSource` structs (reflect.DeepEqual; times by instant and zone). */
const sameSource = (a: RawSource | undefined, b: StreamSource | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : JSON.stringify(toSource(a)) === JSON.stringify(b)

/** nats-server compares the normalized `RePublish` structs (reflect.DeepEqual). */
const sameRepublish = (a: RawConfig["republish"], b: Republish | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.src === b.src && a.dest === b.dest && a.headers_only === (b.headers_only === true)
