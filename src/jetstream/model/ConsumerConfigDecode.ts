/**
 * Decoding of `CONSUMER.CREATE` / `CONSUMER.DURABLE.CREATE` request bodies into nats-server's
 * `CreateConsumerRequest` / `ConsumerConfig` structs as Go's `encoding/json` fills them (see
 * GoJson.ts), before any defaulting or validation; ConsumerConfig.ts takes it from there.
 */
import {
  decodeBool,
  decodeEnum,
  decodeInt,
  decodeObjectOrNull,
  decodeString,
  decodeStringMap,
  decodeStrings,
  kindOf,
  TypeMismatch,
  UINT64_MAX,
  unmarshalObject
} from "../codec/GoJson.ts"
import { normalizeTime } from "../codec/GoTime.ts"
import { CONSUMER_CONFIG_FIELDS, CONSUMER_REQUEST_FIELDS, noStrictness, strictFields } from "./ConfigFields.ts"
import {
  applyPriorityField,
  FatalJsonError,
  PRIORITY_FIELDS,
  type PriorityField,
  type RawPriority,
  zeroPriority
} from "./ConsumerPriority.ts"
import type { AckPolicy, ConsumerAction, DeliverPolicy, ReplayPolicy } from "./Policies.ts"

// Re-exported: the decoder's own users (and its spec) know it from here.
export { normalizeTime }

/** nats-server's `ConsumerConfig` after `json.Unmarshal`, before any defaulting (Go zero values). */
export interface RawConfig extends RawPriority {
  durable_name: string
  name: string
  description: string
  deliver_policy: DeliverPolicy
  opt_start_seq: bigint
  opt_start_time: string | undefined
  ack_policy: AckPolicy
  ack_wait: bigint
  max_deliver: bigint
  backoff: Array<bigint> | null
  filter_subject: string
  /** 2.10: several filters; `null` (Go nil) when absent. */
  filter_subjects: Array<string> | null
  replay_policy: ReplayPolicy
  rate_limit_bps: bigint
  sample_freq: string
  max_waiting: bigint
  max_ack_pending: bigint
  idle_heartbeat: bigint
  flow_control: boolean
  headers_only: boolean
  max_batch: bigint
  max_expires: bigint
  max_bytes: bigint
  deliver_subject: string
  deliver_group: string
  inactive_threshold: bigint
  num_replicas: bigint
  mem_storage: boolean
  direct: boolean
  sourcing: boolean
  metadata: Record<string, string> | undefined
}

const zeroConfig = (): RawConfig => ({
  durable_name: "",
  name: "",
  description: "",
  deliver_policy: "all",
  opt_start_seq: 0n,
  opt_start_time: undefined,
  ack_policy: "none",
  ack_wait: 0n,
  max_deliver: 0n,
  backoff: null,
  filter_subject: "",
  filter_subjects: null,
  replay_policy: "instant",
  rate_limit_bps: 0n,
  sample_freq: "",
  max_waiting: 0n,
  max_ack_pending: 0n,
  idle_heartbeat: 0n,
  flow_control: false,
  headers_only: false,
  max_batch: 0n,
  max_expires: 0n,
  max_bytes: 0n,
  deliver_subject: "",
  deliver_group: "",
  inactive_threshold: 0n,
  num_replicas: 0n,
  mem_storage: false,
  direct: false,
  sourcing: false,
  metadata: undefined,
  ...zeroPriority()
})

/** The keys this decoder fills (the honoured rows of CONSUMER_CONFIG_FIELDS). */
export const CONFIG_FIELDS = Object.keys(zeroConfig()) as ReadonlyArray<keyof RawConfig>

const DELIVER_POLICIES: ReadonlyArray<DeliverPolicy> = [
  "all",
  "last",
  "new",
  "by_start_sequence",
  "by_start_time",
  "last_per_subject"
]

const isPriorityField = (f: string): f is PriorityField => (PRIORITY_FIELDS as ReadonlyArray<string>).includes(f)

const applyField = (cfg: RawConfig, field: keyof RawConfig, v: unknown): void => {
  if (isPriorityField(field)) return applyPriorityField(cfg, field, v)
  switch (field) {
    case "durable_name":
    case "name":
    case "description":
    case "filter_subject":
    case "sample_freq":
    case "deliver_subject":
    case "deliver_group":
      cfg[field] = decodeString(v, field) ?? cfg[field]
      return
    case "deliver_policy": {
      // "undefined" is what nats-server writes for an unknown policy; it reads back as "all".
      const p = decodeEnum<DeliverPolicy | "undefined">(v, field, [...DELIVER_POLICIES, "undefined"])
      cfg.deliver_policy = p === "undefined" ? "all" : p
      return
    }
    case "ack_policy":
      cfg.ack_policy = decodeEnum<AckPolicy>(v, field, ["none", "all", "explicit", "flow_control"])
      return
    case "replay_policy":
      cfg.replay_policy = decodeEnum<ReplayPolicy>(v, field, ["instant", "original"])
      return
    case "opt_start_seq":
    case "rate_limit_bps":
      cfg[field] = decodeInt(v, field, 0n, UINT64_MAX) ?? cfg[field]
      return
    case "ack_wait":
    case "max_deliver":
    case "max_waiting":
    case "max_ack_pending":
    case "idle_heartbeat":
    case "max_batch":
    case "max_expires":
    case "max_bytes":
    case "inactive_threshold":
    case "num_replicas":
      cfg[field] = decodeInt(v, field) ?? cfg[field]
      return
    case "flow_control":
    case "headers_only":
    case "mem_storage":
    case "direct":
    case "sourcing":
      cfg[field] = decodeBool(v, field) ?? cfg[field]
      return
    case "opt_start_time": {
      if (v === null) {
        cfg.opt_start_time = undefined
        return
      }
      const t = typeof v === "string" ? normalizeTime(v) : undefined
      if (t === undefined) throw new TypeMismatch(kindOf(v), field)
      cfg.opt_start_time = t.text
      return
    }
    case "backoff": {
      if (v === null) {
        cfg.backoff = null
        return
      }
      if (!Array.isArray(v)) throw new TypeMismatch(kindOf(v), field)
      cfg.backoff = v.map((e) => decodeInt(e, field) ?? 0n)
      return
    }
    case "filter_subjects":
      cfg.filter_subjects = decodeStrings(v, field)
      return
    case "metadata":
      cfg.metadata = decodeStringMap(v, field, cfg.metadata)
      return
  }
}

export interface RawRequest {
  stream: string
  config: RawConfig
  action: ConsumerAction | undefined
  /** Refuse instead of adjusting the config (Pedantic.ts). */
  pedantic: boolean
  /**
   * The first key (top level or inside `config`) that is no field of nats-server's current
   * structs, and the first unsupported field set to a non-zero value (see ConfigFields.ts).
   */
  unknown: string | undefined
  refused: string | undefined
  /** An error Go's decoder stops at (ConsumerPriority.ts): the reply is `invalid JSON: <it>`. */
  fatal?: string
}

/** `json.Unmarshal(body, &CreateConsumerRequest{})`, or undefined for "invalid JSON". */
export const unmarshalRequest = (body: Uint8Array | string): RawRequest | undefined => {
  try {
    return unmarshalStrict(body)
  } catch (e) {
    if (!(e instanceof FatalJsonError)) throw e
    const req: RawRequest = {
      stream: "",
      config: zeroConfig(),
      action: undefined,
      pedantic: false,
      unknown: undefined,
      refused: undefined
    }
    req.fatal = e.text
    return req
  }
}

const unmarshalStrict = (body: Uint8Array | string): RawRequest | undefined =>
  unmarshalObject(
    body,
    (): RawRequest => ({
      stream: "",
      config: zeroConfig(),
      action: undefined,
      pedantic: false,
      unknown: undefined,
      refused: undefined
    }),
    (req, o) => {
      const strict = noStrictness()
      strictFields(o, CONSUMER_REQUEST_FIELDS, strict, "", (k, v) => {
        if (k === "stream_name") {
          req.stream = decodeString(v, k) ?? req.stream
        } else if (k === "pedantic") {
          req.pedantic = decodeBool(v, k) ?? req.pedantic
        } else if (k === "action") {
          req.action = decodeEnum<ConsumerAction>(v, k, ["create", "update", ""])
        } else {
          const config = decodeObjectOrNull(v, k)
          if (config !== undefined) {
            strictFields(config, CONSUMER_CONFIG_FIELDS, strict, "", (field, x) =>
              applyField(req.config, field as keyof RawConfig, x))
          }
        }
      })
      req.unknown = strict.unknown
      req.refused = strict.refused
    }
  )
