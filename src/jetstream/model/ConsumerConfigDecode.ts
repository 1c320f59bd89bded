/**
 * Decoding of `CONSUMER.CREATE` / `CONSUMER.DURABLE.CREATE` request bodies into nats-server's
 * `CreateConsumerRequest` / `ConsumerConfig` structs as Go's `encoding/json` fills them (see
 * GoJson.ts), before any defaulting or validation; ConsumerConfig.ts takes it from there.
 */
import type { AckPolicy, ConsumerAction, DeliverPolicy, ReplayPolicy } from "./Policies.ts"
import {
  decodeBool,
  decodeEnum,
  decodeInt,
  decodeObjectOrNull,
  decodeString,
  decodeStringMap,
  fieldsOf,
  foldKey,
  kindOf,
  TypeMismatch,
  UINT64_MAX,
  unmarshalObject
} from "../codec/GoJson.ts"

const NS_PER_SEC = 1_000_000_000n
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/

const daysIn = (year: number, month: number): number => {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/**
 * Go's `time.Time` JSON round trip: parse RFC 3339 and write it back with `RFC3339Nano` in the
 * sender's offset (zero offsets become "Z", the fraction is truncated to 9 digits and trimmed).
 * Returns the normalized text and the instant in Unix ns, or undefined when Go would refuse it.
 */
export const normalizeTime = (s: string): { readonly text: string; readonly ns: bigint } | undefined => {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMin = 0
  if (m[8] === undefined) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return undefined
    offsetMin = (oh * 60 + om) * (m[9] === "-" ? -1 : 1)
  }
  const frac = (m[7] ?? "").slice(0, 9).padEnd(9, "0")
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, 0)
  const ns = BigInt(d.getTime() / 1000 - offsetMin * 60) * NS_PER_SEC + BigInt(frac)
  const trimmed = frac.replace(/0+$/, "")
  const zone = offsetMin === 0
    ? "Z"
    : `${offsetMin < 0 ? "-" : "+"}${String(Math.trunc(Math.abs(offsetMin) / 60)).padStart(2, "0")}:${
      String(Math.abs(offsetMin) % 60).padStart(2, "0")
    }`
  const text = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${trimmed === "" ? "" : "." + trimmed}${zone}`
  return { text, ns }
}

/** nats-server's `ConsumerConfig` after `json.Unmarshal`, before any defaulting (Go zero values). */
export interface RawConfig {
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
  metadata: undefined
})

const CONFIG_FIELDS = Object.keys(zeroConfig()) as ReadonlyArray<keyof RawConfig>

const DELIVER_POLICIES: ReadonlyArray<DeliverPolicy> = [
  "all",
  "last",
  "new",
  "by_start_sequence",
  "by_start_time",
  "last_per_subject"
]

const applyField = (cfg: RawConfig, field: keyof RawConfig, v: unknown): void => {
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
      cfg.ack_policy = decodeEnum<AckPolicy>(v, field, ["none", "all", "explicit"])
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
    case "metadata":
      cfg.metadata = decodeStringMap(v, field, cfg.metadata)
      return
  }
}

export interface RawRequest {
  stream: string
  config: RawConfig
  action: ConsumerAction | undefined
  /**
   * The first top-level key the request struct does not have: refused (nats-server 2.12 strict
   * mode; 2.9.10 ignores it). Keys inside `config` are still ignored as Go does (not strict yet).
   */
  unknown: string | undefined
}

const REQUEST_FIELDS = ["stream_name", "config", "action", "pedantic"] as const

/** `json.Unmarshal(body, &CreateConsumerRequest{})`, or undefined for "invalid JSON". */
export const unmarshalRequest = (body: Uint8Array | string): RawRequest | undefined =>
  unmarshalObject(body, (): RawRequest => ({ stream: "", config: zeroConfig(), action: undefined, unknown: undefined }), (req, o) => {
    for (const [key] of o.entries) {
      if (!REQUEST_FIELDS.some((n) => n === key || n === foldKey(key))) {
        req.unknown ??= key
      }
    }
    fieldsOf(o, REQUEST_FIELDS, (k, v) => {
      if (k === "stream_name") {
        req.stream = decodeString(v, k) ?? req.stream
      } else if (k === "action") {
        req.action = decodeEnum<ConsumerAction>(v, k, ["create", "update", ""])
      } else if (k === "pedantic") {
        // 2.11's pedantic flag (no silent defaulting): typed, but there is no non-pedantic mode to leave.
        decodeBool(v, k)
      } else {
        const config = decodeObjectOrNull(v, k)
        if (config !== undefined) fieldsOf(config, CONFIG_FIELDS, (field, x) => applyField(req.config, field, x))
      }
    })
  })
