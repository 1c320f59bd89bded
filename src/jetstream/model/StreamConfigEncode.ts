/**
 * Stream configs as nats-server writes them (`config` in stream info, the stream's stored
 * metadata): keys in its order with its `omitempty` rules, and config equality on that form.
 */
import { int64Json, uint64Json } from "../codec/GoJson.ts"
import type { StreamConfig, StreamSource } from "./StreamConfig.ts"

/** nats-server `StreamSource` JSON, keys in its order with its `omitempty`s. */
export const encodeStreamSource = (m: StreamSource): Record<string, unknown> => {
  const out: Record<string, unknown> = { name: m.name }
  if (m.opt_start_seq !== undefined && m.opt_start_seq !== 0) out.opt_start_seq = uint64Json(m.opt_start_seq)
  if (m.opt_start_time !== undefined) out.opt_start_time = m.opt_start_time
  if (m.filter_subject !== undefined && m.filter_subject !== "") out.filter_subject = m.filter_subject
  if (m.subject_transforms !== undefined && m.subject_transforms.length > 0) {
    out.subject_transforms = m.subject_transforms.map((t) => ({ src: t.src, dest: t.dest }))
  }
  if (m.external !== undefined) out.external = { api: m.external.api, deliver: m.external.deliver }
  if (m.consumer !== undefined) {
    // Go's omitempty on both fields.
    const c: Record<string, unknown> = {}
    if (m.consumer.name !== "") c.name = m.consumer.name
    if (m.consumer.deliver_subject !== "") c.deliver_subject = m.consumer.deliver_subject
    out.consumer = c
  }
  return out
}

/**
 * The JSON object nats-server sends for a config (`config` in stream info), keys in its order and
 * with its `omitempty` rules. Encode with `encodeJson` (metadata keys are sorted, as Go does for
 * maps).
 */
export const encodeStreamConfig = (c: StreamConfig, at210: boolean, at211 = false): Record<string, unknown> => {
  const out: Record<string, unknown> = { name: c.name }
  if (c.description !== undefined && c.description !== "") out.description = c.description
  if (c.subjects.length > 0) out.subjects = [...c.subjects]
  out.retention = c.retention
  out.max_consumers = int64Json(c.max_consumers)
  out.max_msgs = int64Json(c.max_msgs)
  out.max_bytes = int64Json(c.max_bytes)
  out.max_age = int64Json(c.max_age)
  out.max_msgs_per_subject = int64Json(c.max_msgs_per_subject)
  if (c.max_msg_size !== 0) out.max_msg_size = c.max_msg_size
  out.discard = c.discard
  out.storage = c.storage
  out.num_replicas = c.num_replicas
  if (c.no_ack === true) out.no_ack = true
  if (c.template_owner !== undefined && c.template_owner !== "") out.template_owner = c.template_owner
  if (c.duplicate_window !== 0) out.duplicate_window = int64Json(c.duplicate_window)
  if (c.placement !== undefined) {
    const p: Record<string, unknown> = {}
    if (c.placement.cluster !== undefined && c.placement.cluster !== "") p.cluster = c.placement.cluster
    if (c.placement.tags !== undefined && c.placement.tags.length > 0) p.tags = [...c.placement.tags]
    out.placement = p
  }
  if (c.mirror !== undefined) out.mirror = encodeStreamSource(c.mirror)
  if (c.sources !== undefined && c.sources.length > 0) out.sources = c.sources.map(encodeStreamSource)
  // 2.10's `Compression` has no omitempty ("none" too); 2.9.10 has no such field.
  if (at210 || c.compression === "s2") out.compression = c.compression ?? "none"
  if (c.first_seq !== undefined && c.first_seq !== 0) out.first_seq = uint64Json(c.first_seq)
  if (c.subject_transform !== undefined) {
    out.subject_transform = { src: c.subject_transform.src, dest: c.subject_transform.dest }
  }
  if (c.republish !== undefined) {
    const r: Record<string, unknown> = {}
    if (c.republish.src !== "") r.src = c.republish.src
    r.dest = c.republish.dest
    if (c.republish.headers_only === true) r.headers_only = true
    out.republish = r
  }
  out.allow_direct = c.allow_direct
  out.mirror_direct = c.mirror_direct
  if (c.discard_new_per_subject === true) out.discard_new_per_subject = true
  out.sealed = c.sealed
  out.deny_delete = c.deny_delete
  out.deny_purge = c.deny_purge
  out.allow_rollup_hdrs = c.allow_rollup_hdrs
  // 2.10's `ConsumerLimits` is a struct without omitempty (`{}` when unset); 2.9.10 has no such field.
  const l: Record<string, unknown> = {}
  const threshold = c.consumer_limits?.inactive_threshold
  const maxAckPending = c.consumer_limits?.max_ack_pending
  if (nonZeroNum(threshold)) l.inactive_threshold = int64Json(threshold)
  if (nonZeroNum(maxAckPending)) l.max_ack_pending = int64Json(maxAckPending)
  if (at210 || Object.keys(l).length > 0) out.consumer_limits = l
  // 2.11's `AllowMsgTTL` has no omitempty; `SubjectDeleteMarkerTTL` has.
  if (at211 || c.allow_msg_ttl === true) out.allow_msg_ttl = c.allow_msg_ttl === true
  if (nonZeroNum(c.subject_delete_marker_ttl)) out.subject_delete_marker_ttl = int64Json(c.subject_delete_marker_ttl)
  // 2.12's `AllowMsgCounter` has omitempty.
  if (c.allow_msg_counter === true) out.allow_msg_counter = true
  // 2.12's `AllowAtomicPublish` has omitempty.
  if (c.allow_atomic === true) out.allow_atomic = true
  // 2.14's `AllowBatchPublish` has omitempty.
  if (c.allow_batched === true) out.allow_batched = true
  if (c.allow_msg_schedules === true) out.allow_msg_schedules = true
  // 2.12 `PersistMode` is omitempty: "default" (zero) is never written.
  if (c.persist_mode === "async") out.persist_mode = "async"
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
  return out
}

const nonZeroNum = (n: number | undefined): n is number => n !== undefined && n !== 0

const canonical = (c: StreamConfig): string =>
  JSON.stringify(encodeStreamConfig(c, false), (_k, v: unknown) => typeof v === "bigint" ? v.toString() : v)

/**
 * Same config for the idempotent-create check: equal when nats-server would report them
 * identically (it compares the normalized structs; absent and empty optional fields coincide).
 */
export const sameConfig = (a: StreamConfig, b: StreamConfig): boolean => canonical(a) === canonical(b)
