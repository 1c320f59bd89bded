/**
 * Which keys of nats-server's *current* `StreamConfig` / `ConsumerConfig` (and their request
 * wrappers) this broker implements, as data: one table per struct, field → support.
 *
 * - `honoured`: decoded by StreamConfigDecode.ts / ConsumerConfigDecode.ts and acted on (it
 *   round-trips in STREAM.INFO / CONSUMER.INFO).
 * - `validated`: decoded, and refused by the config validation with its own error whenever set
 *   on create (template_owner: a nats-server feature this broker does not offer).
 * - `unsupported`: a field of the current server we do not implement. Real clients send zero values
 *   (nats.go never omits a struct such as `consumer_limits`), so the key is accepted only with its
 *   Go zero value (or documented default); anything else is refused, never silently dropped.
 *
 * A key in none of the tables is not a field of the current server at all: 10025 `invalid JSON:
 * json: unknown field "<key>"`, as nats-server 2.12's strict mode. Keys match as Go does (exact,
 * then case-folded). The value of an unsupported key is still type-checked against its Go type,
 * so `"allow_msg_ttl":"yes"` is invalid JSON, as in nats-server.
 *
 * Errors for a refused non-zero value: streams 10052 (JSStreamInvalidConfigF, the error nats-server
 * gives for any config it will not create), consumers 10012 (JSConsumerCreateErrF, the consumer
 * create family), each naming the field.
 */
import {
  decodeBool,
  decodeInt,
  decodeObjectOrNull,
  decodeString,
  decodeStrings,
  foldKey,
  goQuote,
  kindOf,
  type ObjectLiteral,
  TypeMismatch,
  UINT64_MAX
} from "../codec/GoJson.ts"
import { normalizeTime } from "../codec/GoTime.ts"
import { ApiError, ApiErrors } from "./ApiError.ts"

/** The Go type of an unsupported field, for the type check and the zero-value test. */
export type GoType =
  | { readonly kind: "bool" }
  | { readonly kind: "int" }
  | { readonly kind: "uint" }
  | { readonly kind: "string" }
  | { readonly kind: "strings" }
  | { readonly kind: "time" }
  /**
   * An enum type whose UnmarshalJSON takes exactly `values` (so `null` is an error); `zero` are
   * the ones meaning "not used" (nats-server's StoreCompression refuses "", PersistModeType
   * takes it as "default").
   */
  | { readonly kind: "enum"; readonly values: ReadonlyArray<string>; readonly zero: ReadonlyArray<string> }
  /** A (pointer to a) struct: zero when every field is zero; keys are strict too. */
  | { readonly kind: "object"; readonly fields: FieldTable }
  /** A slice of such structs: zero when `null` or empty. */
  | { readonly kind: "objects"; readonly fields: FieldTable }

export type FieldSupport =
  | { readonly support: "honoured" }
  | { readonly support: "validated" }
  | { readonly support: "unsupported"; readonly type: GoType; readonly since: string }

export type FieldTable = Readonly<Record<string, FieldSupport>>

const honoured: FieldSupport = { support: "honoured" }
const validated: FieldSupport = { support: "validated" }
const unsupported = (type: GoType, since: string): FieldSupport => ({ support: "unsupported", type, since })
const str: GoType = { kind: "string" }

/** nats-server `Placement` (2.11 added `preferred`, used for leader placement). */
export const PLACEMENT_FIELDS: FieldTable = {
  cluster: honoured,
  tags: honoured,
  preferred: unsupported(str, "2.11")
}

/** nats-server `RePublish` (stream/Republish.ts acts on it). */
export const REPUBLISH_FIELDS: FieldTable = { src: honoured, dest: honoured, headers_only: honoured }

/** nats-server `StreamConsumerLimits` (defaults and caps for the stream's consumers, ConsumerConfig.ts). */
export const CONSUMER_LIMITS_FIELDS: FieldTable = {
  inactive_threshold: honoured,
  max_ack_pending: honoured
}

/** nats-server `SubjectTransformConfig` (stream `subject_transform`, source `subject_transforms`). */
export const SUBJECT_TRANSFORM_FIELDS: FieldTable = { src: honoured, dest: honoured }

/** nats-server `ExternalStream` (another account or domain: refused, see StreamConfig.ts). */
export const EXTERNAL_STREAM_FIELDS: FieldTable = { api: honoured, deliver: honoured }

/** nats-server `StreamConsumerSource` (2.14 durable sourcing: model/DurableSourcing.ts). */
export const STREAM_CONSUMER_SOURCE_FIELDS: FieldTable = { name: honoured, deliver_subject: honoured }

/** nats-server `StreamSource` (mirror and each of sources). */
export const STREAM_SOURCE_FIELDS: FieldTable = {
  name: honoured,
  opt_start_seq: honoured,
  opt_start_time: honoured,
  filter_subject: honoured,
  subject_transforms: honoured,
  external: honoured,
  consumer: honoured
}

/** nats-server's current `StreamConfig`, in its struct order. */
export const STREAM_CONFIG_FIELDS: FieldTable = {
  name: honoured,
  description: honoured,
  subjects: honoured,
  retention: honoured,
  max_consumers: honoured,
  max_msgs: honoured,
  max_bytes: honoured,
  max_age: honoured,
  max_msgs_per_subject: honoured,
  max_msg_size: honoured,
  discard: honoured,
  storage: honoured,
  num_replicas: honoured,
  no_ack: honoured,
  // Templates are gone from nats-server (2.11); ours never own a stream: refused on create.
  template_owner: validated,
  duplicate_window: honoured,
  placement: honoured,
  mirror: honoured,
  sources: honoured,
  compression: honoured,
  first_seq: honoured,
  subject_transform: honoured,
  republish: honoured,
  allow_direct: honoured,
  mirror_direct: honoured,
  discard_new_per_subject: honoured,
  sealed: honoured,
  deny_delete: honoured,
  deny_purge: honoured,
  allow_rollup_hdrs: honoured,
  consumer_limits: honoured,
  allow_msg_ttl: honoured,
  subject_delete_marker_ttl: honoured,
  allow_msg_counter: honoured,
  allow_atomic: honoured,
  allow_msg_schedules: honoured,
  persist_mode: honoured,
  allow_batched: honoured,
  metadata: honoured
}

/** `StreamConfigRequest` adds the request-scoped `pedantic` flag (2.11) to the config's keys. */
export const STREAM_REQUEST_FIELDS: FieldTable = { pedantic: honoured }

/** nats-server's current `ConsumerConfig`, in its struct order. */
export const CONSUMER_CONFIG_FIELDS: FieldTable = {
  durable_name: honoured,
  name: honoured,
  description: honoured,
  deliver_policy: honoured,
  opt_start_seq: honoured,
  opt_start_time: honoured,
  ack_policy: honoured,
  ack_wait: honoured,
  max_deliver: honoured,
  backoff: honoured,
  filter_subject: honoured,
  filter_subjects: honoured,
  replay_policy: honoured,
  rate_limit_bps: honoured,
  sample_freq: honoured,
  max_waiting: honoured,
  max_ack_pending: honoured,
  flow_control: honoured,
  headers_only: honoured,
  max_batch: honoured,
  max_expires: honoured,
  max_bytes: honoured,
  deliver_subject: honoured,
  deliver_group: honoured,
  idle_heartbeat: honoured,
  inactive_threshold: honoured,
  num_replicas: honoured,
  mem_storage: honoured,
  direct: honoured,
  // Set by the server that sources a stream (SourcingConsumer.ts), 2.14's durable sourcing.
  sourcing: honoured,
  metadata: honoured,
  pause_until: honoured,
  priority_groups: honoured,
  priority_policy: honoured,
  priority_timeout: honoured
}

/** `CreateConsumerRequest`: `config` is decoded with CONSUMER_CONFIG_FIELDS. */
export const CONSUMER_REQUEST_FIELDS: FieldTable = {
  stream_name: honoured,
  config: honoured,
  action: honoured,
  pedantic: honoured
}

/** The first strictness failures of a decode, in document order. */
export interface Strictness {
  /** A key that is no field of the struct (10025 unknown field). */
  unknown: string | undefined
  /** An unsupported field set to a non-zero value, as a dotted path (`subject_transform.src`). */
  refused: string | undefined
}

export const noStrictness = (): Strictness => ({ unknown: undefined, refused: undefined })

/** The table's field named by `key` as Go matches it: exact first, then case-folded. */
export const matchField = (table: FieldTable, key: string): string | undefined => {
  if (Object.hasOwn(table, key)) return key
  const folded = foldKey(key)
  return Object.keys(table).find((n) => n === folded)
}

/** Whether `v` is the zero value of `type`; throws `TypeMismatch` when Go could not decode it. */
const isZero = (type: GoType, v: unknown, field: string, out: Strictness, path: string): boolean => {
  switch (type.kind) {
    case "bool":
      return decodeBool(v, field) !== true
    case "int":
      return (decodeInt(v, field) ?? 0n) === 0n
    case "uint":
      return (decodeInt(v, field, 0n, UINT64_MAX) ?? 0n) === 0n
    case "string":
      return (decodeString(v, field) ?? "") === ""
    case "strings":
      return (decodeStrings(v, field) ?? []).length === 0
    case "time": {
      if (v === null) return true
      if (typeof v !== "string" || normalizeTime(v) === undefined) throw new TypeMismatch(kindOf(v), field)
      return false
    }
    case "enum": {
      // As the enum types' UnmarshalJSON: only the listed strings, so `null` is an error too.
      if (typeof v !== "string" || !type.values.includes(v) && !type.zero.includes(v)) {
        throw new TypeMismatch(kindOf(v), field)
      }
      return type.zero.includes(v)
    }
    case "objects": {
      if (v === null) return true
      if (!Array.isArray(v)) throw new TypeMismatch(kindOf(v), field)
      for (const e of v) isZero({ kind: "object", fields: type.fields }, e, field, out, path)
      return v.length === 0
    }
    case "object": {
      const o = decodeObjectOrNull(v, field)
      if (o === undefined) return true
      const before = out.refused
      // A non-zero nested field is recorded under its own path (`subject_transform.src`).
      strictFields(o, type.fields, out, `${path}.`, () => {
        throw new Error(`${path}: the nested tables hold unsupported fields only`)
      })
      return out.refused === before
    }
  }
}

/**
 * Walks `o`'s entries with `table`: honoured and validated keys go to `apply` (the caller's Go
 * decoder, which may throw `TypeMismatch`), unsupported ones are type-checked and recorded in
 * `out.refused` when not zero, unknown keys in `out.unknown`. As in Go's strict decoder the first
 * decode error in document order wins: a type error after an unknown key does not replace it.
 */
export const strictFields = (
  o: ObjectLiteral,
  table: FieldTable,
  out: Strictness,
  path: string,
  apply: (name: string, value: unknown) => void
): void => {
  for (const [key, value] of o.entries) {
    const name = matchField(table, key)
    try {
      if (name === undefined) {
        out.unknown ??= key
        continue
      }
      const f = table[name]!
      if (f.support !== "unsupported") {
        apply(name, value)
      } else if (f.type.kind === "object") {
        isZero(f.type, value, name, out, path + name) // records the nested path itself
      } else if (!isZero(f.type, value, name, out, path + name)) {
        out.refused ??= path + name
      }
    } catch (e) {
      if (!(e instanceof TypeMismatch) || out.unknown === undefined) throw e
    }
  }
}

/** The answer to an unsupported stream field set to a non-zero value (10052, naming it). */
export const streamFieldRefused = (path: string): ApiError =>
  ApiErrors.streamInvalidConfig(`stream configuration field ${goQuote(path)} is not supported`)

/** The answer to an unsupported consumer field set to a non-zero value (10012, naming it). */
export const consumerFieldRefused = (path: string): ApiError =>
  ApiErrors.consumerCreate(`consumer configuration field ${goQuote(path)} is not supported`)
