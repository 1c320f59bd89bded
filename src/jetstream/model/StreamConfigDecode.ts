/**
 * Decoding of `STREAM.CREATE` / `STREAM.UPDATE` request bodies into nats-server's `StreamConfig`
 * struct as Go's `encoding/json` fills it (see GoJson.ts), before any defaulting or validation;
 * StreamConfig.ts takes it from there. Keys are strict (ConfigFields.ts): unknown ones and
 * unsupported fields with non-zero values are recorded for the caller to refuse.
 */
import {
  decodeBool,
  decodeEnum,
  decodeInt,
  decodeObjectOrNull,
  decodeString,
  decodeStringMap,
  decodeStrings,
  INT32_MAX,
  INT32_MIN,
  kindOf,
  ObjectLiteral,
  TypeMismatch,
  UINT64_MAX,
  unmarshalObject
} from "../codec/GoJson.ts"
import { normalizeTime } from "../codec/GoTime.ts"
import {
  CONSUMER_LIMITS_FIELDS,
  EXTERNAL_STREAM_FIELDS,
  noStrictness,
  PLACEMENT_FIELDS,
  REPUBLISH_FIELDS,
  STREAM_CONFIG_FIELDS,
  STREAM_CONSUMER_SOURCE_FIELDS,
  STREAM_REQUEST_FIELDS,
  STREAM_SOURCE_FIELDS,
  strictFields,
  type Strictness,
  SUBJECT_TRANSFORM_FIELDS
} from "./ConfigFields.ts"
import type { DiscardPolicy, Placement, RetentionPolicy, StorageType } from "./Policies.ts"

/** nats-server `StreamSource` after `json.Unmarshal` (a mirror, or one of the sources). */
export interface RawSource {
  name: string
  opt_start_seq: bigint
  /** Go's RFC 3339 round trip of the text, and its instant. */
  opt_start_time: { readonly text: string; readonly ns: bigint } | undefined
  filter_subject: string
  /** `[]SubjectTransformConfig`: a `null` element is a zero struct, as Go decodes it. */
  subject_transforms: Array<RawTransform>
  external: { api: string; deliver: string } | undefined
  /** 2.14 `StreamConsumerSource` (a pointer: `null` removes it, `{}` is one with empty fields). */
  consumer: { name: string; deliver_subject: string } | undefined
}

/** nats-server `SubjectTransformConfig`. */
export interface RawTransform {
  src: string
  dest: string
}

/** nats-server's `StreamConfig` after `json.Unmarshal`, before any defaulting (Go zero values). */
export interface RawConfig {
  name: string
  description: string
  subjects: Array<string> | null
  retention: RetentionPolicy
  max_consumers: bigint
  max_msgs: bigint
  max_bytes: bigint
  max_age: bigint
  max_msgs_per_subject: bigint
  max_msg_size: bigint
  discard: DiscardPolicy
  storage: StorageType | "any" | undefined
  num_replicas: bigint
  no_ack: boolean
  template_owner: string
  duplicate_window: bigint
  placement: Placement | undefined
  mirror: RawSource | undefined
  /** `null` elements are kept (nats-server 2.9.10 crashes on them; the validation refuses them). */
  sources: Array<RawSource | null>
  /** `StoreCompression`: its UnmarshalJSON takes "none" and "s2" only (so `null` is invalid JSON). */
  compression: "none" | "s2"
  /** nats-server `SubjectTransformConfig` (a pointer: `null` removes it). */
  subject_transform: RawTransform | undefined
  republish: { src: string; dest: string; headers_only: boolean } | undefined
  allow_direct: boolean
  mirror_direct: boolean
  discard_new_per_subject: boolean
  sealed: boolean
  deny_delete: boolean
  deny_purge: boolean
  allow_rollup_hdrs: boolean
  metadata: Record<string, string> | undefined
  first_seq: bigint
  /** `StreamConsumerLimits`, a struct value in Go (never nil; `null` leaves it as it was). */
  consumer_limits: { inactive_threshold: bigint; max_ack_pending: bigint }
  /** 2.11 (ADR-43): `Nats-TTL` headers honoured; once on it stays on. */
  allow_msg_ttl: boolean
  /** 2.11 (ADR-43): ns; > 0 places a marker when max_age or a TTL removes a subject's last message. */
  subject_delete_marker_ttl: bigint
  /** 2.12 (ADR-49): every message is a counter increment (CounterConfig.ts); fixed at create. */
  allow_msg_counter: boolean
  /** 2.12 (ADR-50): atomic batch publish (`Nats-Batch-Id`, stream/AtomicBatch.ts); may be turned on and off. */
  allow_atomic: boolean
  /** 2.14 (ADR-50): fast-ingest batches (stream/FastBatch.ts); editable both ways. */
  allow_batched: boolean
  /** 2.12 (ADR-51): `Nats-Schedule` headers honoured (stream/MessageSchedule.ts); once on it stays on. */
  allow_msg_schedules: boolean
  /** 2.12 `PersistModeType`: its UnmarshalJSON takes "default", "" (default) and "async" only. */
  persist_mode: "default" | "async"
  /** `StreamConfigRequest.pedantic`: refuse instead of adjusting (Pedantic.ts); not part of the config. */
  pedantic: boolean
  /** The first key that is no field of the current server's struct (ConfigFields.ts). */
  unknown: string | undefined
  /** The first unsupported field set to a non-zero value (ConfigFields.ts). */
  refused: string | undefined
}

const zeroConfig = (): RawConfig => ({
  name: "",
  description: "",
  subjects: null,
  retention: "limits",
  max_consumers: 0n,
  max_msgs: 0n,
  max_bytes: 0n,
  max_age: 0n,
  max_msgs_per_subject: 0n,
  max_msg_size: 0n,
  discard: "old",
  storage: undefined,
  num_replicas: 0n,
  no_ack: false,
  template_owner: "",
  duplicate_window: 0n,
  placement: undefined,
  mirror: undefined,
  sources: [],
  compression: "none",
  subject_transform: undefined,
  republish: undefined,
  allow_direct: false,
  mirror_direct: false,
  discard_new_per_subject: false,
  sealed: false,
  deny_delete: false,
  deny_purge: false,
  allow_rollup_hdrs: false,
  metadata: undefined,
  first_seq: 0n,
  consumer_limits: { inactive_threshold: 0n, max_ack_pending: 0n },
  allow_msg_ttl: false,
  subject_delete_marker_ttl: 0n,
  allow_msg_counter: false,
  allow_atomic: false,
  allow_batched: false,
  allow_msg_schedules: false,
  persist_mode: "default",
  pedantic: false,
  unknown: undefined,
  refused: undefined
})

/** The keys this decoder fills (the honoured and validated rows of STREAM_CONFIG_FIELDS). */
export const CONFIG_FIELDS = [
  "name",
  "description",
  "subjects",
  "retention",
  "max_consumers",
  "max_msgs",
  "max_bytes",
  "max_age",
  "max_msgs_per_subject",
  "max_msg_size",
  "discard",
  "storage",
  "num_replicas",
  "no_ack",
  "template_owner",
  "duplicate_window",
  "placement",
  "mirror",
  "sources",
  "compression",
  "subject_transform",
  "republish",
  "allow_direct",
  "mirror_direct",
  "discard_new_per_subject",
  "sealed",
  "deny_delete",
  "deny_purge",
  "allow_rollup_hdrs",
  "metadata",
  "first_seq",
  "consumer_limits",
  "allow_msg_ttl",
  "subject_delete_marker_ttl",
  "allow_msg_counter",
  "allow_atomic",
  "allow_batched",
  "allow_msg_schedules",
  "persist_mode"
] as const

type ConfigField = (typeof CONFIG_FIELDS)[number]

const applyField = (cfg: RawConfig, strict: Strictness, field: ConfigField, v: unknown): void => {
  switch (field) {
    case "name":
    case "description":
    case "template_owner":
      cfg[field] = decodeString(v, field) ?? cfg[field]
      return
    case "subjects":
      cfg.subjects = decodeStrings(v, field)
      return
    case "retention":
      cfg.retention = decodeEnum<RetentionPolicy>(v, field, ["limits", "interest", "workqueue"])
      return
    case "discard":
      cfg.discard = decodeEnum<DiscardPolicy>(v, field, ["old", "new"], true)
      return
    case "compression":
      cfg.compression = decodeEnum<"none" | "s2">(v, field, ["none", "s2"])
      return
    case "storage":
      cfg.storage = decodeEnum<StorageType | "any">(v, field, ["file", "memory", "any"])
      return
    case "persist_mode":
      cfg.persist_mode = decodeEnum<"default" | "async" | "">(v, field, ["default", "async", ""]) || "default"
      return
    case "max_consumers":
    case "max_msgs":
    case "max_bytes":
    case "max_age":
    case "max_msgs_per_subject":
    case "num_replicas":
    case "duplicate_window":
    case "subject_delete_marker_ttl":
      cfg[field] = decodeInt(v, field) ?? cfg[field]
      return
    case "max_msg_size":
      cfg.max_msg_size = decodeInt(v, field, INT32_MIN, INT32_MAX) ?? cfg.max_msg_size
      return
    case "first_seq":
      cfg.first_seq = decodeInt(v, field, 0n, UINT64_MAX) ?? cfg.first_seq
      return
    case "no_ack":
    case "allow_direct":
    case "mirror_direct":
    case "discard_new_per_subject":
    case "sealed":
    case "deny_delete":
    case "deny_purge":
    case "allow_rollup_hdrs":
    case "allow_msg_ttl":
    case "allow_msg_counter":
    case "allow_atomic":
    case "allow_batched":
    case "allow_msg_schedules":
      cfg[field] = decodeBool(v, field) ?? cfg[field]
      return
    case "placement": {
      const o = decodeObjectOrNull(v, field)
      if (o === undefined) {
        cfg.placement = undefined
        return
      }
      let cluster: string | undefined = cfg.placement?.cluster
      let tags: ReadonlyArray<string> | undefined = cfg.placement?.tags
      strictFields(o, PLACEMENT_FIELDS, strict, "placement.", (k, x) => {
        if (k === "cluster") cluster = decodeString(x, "placement.cluster") ?? cluster
        else tags = decodeStrings(x, "placement.tags") ?? undefined
      })
      cfg.placement = {
        ...(cluster !== undefined && cluster !== "" ? { cluster } : {}),
        ...(tags !== undefined ? { tags } : {})
      }
      return
    }
    case "mirror": {
      const o = decodeObjectOrNull(v, field)
      cfg.mirror = o === undefined ? undefined : decodeSource(o, strict, "mirror", cfg.mirror)
      return
    }
    case "sources": {
      if (v === null) {
        cfg.sources = []
        return
      }
      if (!Array.isArray(v)) throw new TypeMismatch(kindOf(v), field)
      for (const e of v) {
        if (e !== null && !(e instanceof ObjectLiteral)) throw new TypeMismatch(kindOf(e), field)
      }
      cfg.sources = v.map((e, i) =>
        e === null ? null : decodeSource(e as ObjectLiteral, strict, "sources", cfg.sources[i] ?? undefined)
      )
      return
    }
    case "subject_transform": {
      const o = decodeObjectOrNull(v, field)
      cfg.subject_transform = o === undefined ? undefined : decodeTransform(o, strict, field, cfg.subject_transform)
      return
    }
    case "republish": {
      const o = decodeObjectOrNull(v, field)
      if (o === undefined) {
        cfg.republish = undefined
        return
      }
      const r = { src: "", dest: "", headers_only: false }
      strictFields(o, REPUBLISH_FIELDS, strict, "republish.", (k, x) => {
        if (k === "headers_only") r.headers_only = decodeBool(x, "republish.headers_only") ?? r.headers_only
        else if (k === "src" || k === "dest") r[k] = decodeString(x, `republish.${k}`) ?? r[k]
      })
      cfg.republish = r
      return
    }
    case "metadata":
      cfg.metadata = decodeStringMap(v, field, cfg.metadata)
      return
    case "consumer_limits": {
      const o = decodeObjectOrNull(v, field)
      if (o === undefined) return
      const l = { ...cfg.consumer_limits }
      strictFields(o, CONSUMER_LIMITS_FIELDS, strict, "consumer_limits.", (k, x) => {
        if (k === "inactive_threshold" || k === "max_ack_pending") l[k] = decodeInt(x, `consumer_limits.${k}`) ?? l[k]
      })
      cfg.consumer_limits = l
      return
    }
  }
}

/** Fills a `SubjectTransformConfig` (into the existing struct, as Go does for a repeated key). */
const decodeTransform = (
  o: ObjectLiteral,
  strict: Strictness,
  path: string,
  into: RawTransform | undefined
): RawTransform => {
  const r: RawTransform = into ?? { src: "", dest: "" }
  strictFields(o, SUBJECT_TRANSFORM_FIELDS, strict, `${path}.`, (k, x) => {
    if (k === "src" || k === "dest") r[k] = decodeString(x, `${path}.${k}`) ?? r[k]
  })
  return r
}

/** Fills a `StreamSource` (Go decodes into the existing struct, so a repeated key updates it). */
const decodeSource = (o: ObjectLiteral, strict: Strictness, path: string, into: RawSource | undefined): RawSource => {
  const r: RawSource = into ?? {
    name: "",
    opt_start_seq: 0n,
    opt_start_time: undefined,
    filter_subject: "",
    subject_transforms: [],
    external: undefined,
    consumer: undefined
  }
  strictFields(o, STREAM_SOURCE_FIELDS, strict, `${path}.`, (k, x) => {
    const f = `${path}.${k}`
    switch (k) {
      case "name":
      case "filter_subject":
        r[k] = decodeString(x, f) ?? r[k]
        return
      case "opt_start_seq":
        r.opt_start_seq = decodeInt(x, f, 0n, UINT64_MAX) ?? r.opt_start_seq
        return
      case "opt_start_time": {
        if (x === null) {
          r.opt_start_time = undefined
          return
        }
        const t = typeof x === "string" ? normalizeTime(x) : undefined
        if (t === undefined) throw new TypeMismatch(kindOf(x), f)
        r.opt_start_time = t
        return
      }
      case "subject_transforms": {
        if (x === null) {
          r.subject_transforms = []
          return
        }
        if (!Array.isArray(x)) throw new TypeMismatch(kindOf(x), f)
        for (const e of x) {
          if (e !== null && !(e instanceof ObjectLiteral)) throw new TypeMismatch(kindOf(e), f)
        }
        // Go decodes into the existing elements of the slice.
        r.subject_transforms = x.map((e, i) => {
          const into = r.subject_transforms[i] ?? { src: "", dest: "" }
          return e === null ? into : decodeTransform(e as ObjectLiteral, strict, f, into)
        })
        return
      }
      case "external": {
        const e = decodeObjectOrNull(x, f)
        if (e === undefined) {
          r.external = undefined
          return
        }
        const ext = r.external ?? { api: "", deliver: "" }
        strictFields(e, EXTERNAL_STREAM_FIELDS, strict, `${f}.`, (ek, ex) => {
          if (ek === "api" || ek === "deliver") ext[ek] = decodeString(ex, `${f}.${ek}`) ?? ext[ek]
        })
        r.external = ext
        return
      }
      case "consumer": {
        const c = decodeObjectOrNull(x, f)
        if (c === undefined) {
          r.consumer = undefined
          return
        }
        const into = r.consumer ?? { name: "", deliver_subject: "" }
        strictFields(c, STREAM_CONSUMER_SOURCE_FIELDS, strict, `${f}.`, (ck, cx) => {
          if (ck === "name" || ck === "deliver_subject") into[ck] = decodeString(cx, `${f}.${ck}`) ?? into[ck]
        })
        r.consumer = into
        return
      }
    }
  })
  return r
}

// StreamConfigRequest embeds StreamConfig, so the request's own keys sit beside the config's.
const BODY_FIELDS = { ...STREAM_CONFIG_FIELDS, ...STREAM_REQUEST_FIELDS }

/** `json.Unmarshal(body, &StreamConfig{})`: the raw config, or `undefined` for "invalid JSON". */
export const unmarshal = (body: Uint8Array | string): RawConfig | undefined =>
  unmarshalObject(body, zeroConfig, (cfg, o) => {
    const strict = noStrictness()
    strictFields(o, BODY_FIELDS, strict, "", (field, v) => {
      if (field === "pedantic") cfg.pedantic = decodeBool(v, field) ?? cfg.pedantic
      else applyField(cfg, strict, field as ConfigField, v)
    })
    cfg.unknown = strict.unknown
    cfg.refused = strict.refused
  })
