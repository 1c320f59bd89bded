/**
 * The documents the metadata store writes (stream and consumer configuration with their creation time), as
 * Schemas: what is read back from disk is decoded with them, strictly (a missing field, a wrong type, an
 * unknown value or an unknown field is an error naming the file), so a corrupt or foreign document can never
 * reach an actor half-typed. The `satisfies` checks at the bottom keep them equal to the TypeScript types.
 */
import { Schema } from "effect"
import type { ConsumerConfig } from "../jetstream/model/ConsumerConfig.ts"
import type { StreamConfig } from "../jetstream/model/StreamConfig.ts"

const opt = Schema.optionalKey
const Strings = Schema.Array(Schema.String)
const Metadata = Schema.Record(Schema.String, Schema.String)
/** Sequences, counts, sizes and nanosecond durations: JSON numbers that are integers. */
const Int = Schema.Number.check(Schema.isInt())

const Source = Schema.Struct({
  name: Schema.String,
  opt_start_seq: opt(Int),
  opt_start_time: opt(Schema.String),
  filter_subject: opt(Schema.String),
  external: opt(Schema.Struct({ api: Schema.String, deliver: Schema.String })),
  subject_transforms: opt(Schema.Array(Schema.Struct({ src: Schema.String, dest: Schema.String }))),
  consumer: opt(Schema.Struct({ name: Schema.String, deliver_subject: Schema.String }))
})

export const StreamConfigDoc = Schema.Struct({
  name: Schema.String,
  description: opt(Schema.String),
  subjects: Strings,
  retention: Schema.Literals(["limits", "interest", "workqueue"]),
  max_consumers: Int,
  max_msgs: Int,
  max_bytes: Int,
  max_age: Int,
  max_msgs_per_subject: Int,
  max_msg_size: Int,
  discard: Schema.Literals(["old", "new"]),
  discard_new_per_subject: opt(Schema.Boolean),
  storage: Schema.Literals(["file", "memory"]),
  num_replicas: Int,
  no_ack: opt(Schema.Boolean),
  duplicate_window: Int,
  placement: opt(Schema.Struct({ cluster: opt(Schema.String), tags: opt(Strings) })),
  allow_direct: Schema.Boolean,
  mirror_direct: Schema.Boolean,
  sealed: Schema.Boolean,
  deny_delete: Schema.Boolean,
  deny_purge: Schema.Boolean,
  allow_rollup_hdrs: Schema.Boolean,
  metadata: opt(Metadata),
  first_seq: opt(Int),
  consumer_limits: opt(Schema.Struct({ inactive_threshold: opt(Int), max_ack_pending: opt(Int) })),
  allow_msg_ttl: opt(Schema.Boolean),
  subject_delete_marker_ttl: opt(Int),
  allow_msg_counter: opt(Schema.Boolean),
  allow_atomic: opt(Schema.Boolean),
  allow_batched: opt(Schema.Boolean),
  allow_msg_schedules: opt(Schema.Boolean),
  persist_mode: opt(Schema.Literal("async")),
  template_owner: opt(Schema.String),
  compression: opt(Schema.Literal("s2")),
  subject_transform: opt(Schema.Struct({ src: Schema.String, dest: Schema.String })),
  republish: opt(Schema.Struct({ src: Schema.String, dest: Schema.String, headers_only: opt(Schema.Boolean) })),
  mirror: opt(Source),
  sources: opt(Schema.Array(Source))
})

export const ConsumerConfigDoc = Schema.Struct({
  durable_name: opt(Schema.String),
  name: opt(Schema.String),
  description: opt(Schema.String),
  deliver_policy: Schema.Literals(["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"]),
  opt_start_seq: opt(Int),
  opt_start_time: opt(Schema.String),
  ack_policy: Schema.Literals(["none", "all", "explicit", "flow_control"]),
  ack_wait: Int,
  max_deliver: Int,
  backoff: opt(Schema.Array(Int)),
  filter_subject: opt(Schema.String),
  filter_subjects: opt(Schema.Array(Schema.String)),
  replay_policy: Schema.Literals(["instant", "original"]),
  rate_limit_bps: opt(Int),
  sample_freq: opt(Schema.String),
  max_waiting: opt(Int),
  max_ack_pending: Int,
  idle_heartbeat: opt(Int),
  flow_control: opt(Schema.Boolean),
  headers_only: opt(Schema.Boolean),
  max_batch: opt(Int),
  max_expires: opt(Int),
  max_bytes: opt(Int),
  deliver_subject: opt(Schema.String),
  deliver_group: opt(Schema.String),
  inactive_threshold: opt(Int),
  num_replicas: Int,
  mem_storage: opt(Schema.Boolean),
  direct: opt(Schema.Boolean),
  sourcing: opt(Schema.Boolean),
  metadata: opt(Metadata),
  pause_until: opt(Schema.String),
  priority_groups: opt(Schema.Array(Schema.String)),
  priority_policy: opt(Schema.Literals(["overflow", "pinned_client", "prioritized"])),
  priority_timeout: opt(Int)
})

/** Creation time, ns since the epoch, as a decimal string (JSON has no bigint). */
const Created = Schema.String.check(Schema.isPattern(/^\d{1,20}$/))

export const StreamMetaDoc = Schema.Struct({ config: StreamConfigDoc, created: Created })
export type StreamMeta = typeof StreamMetaDoc.Type

export const ConsumerMetaDoc = Schema.Struct({
  /** The consumer's name (ephemerals have none in their config). */
  name: opt(Schema.String),
  config: ConsumerConfigDoc,
  created: Created
})
export type ConsumerMeta = typeof ConsumerMetaDoc.Type

// The documents hold exactly the configuration types, both ways, optional keys included (a config
// field missing here would be refused when read back, losing the stream or consumer on restart).
type Same<A, B> = [Required<A>] extends [Required<B>] ? ([Required<B>] extends [Required<A>] ? true : false) : false
true satisfies Same<typeof StreamConfigDoc.Type, StreamConfig>
true satisfies Same<typeof ConsumerConfigDoc.Type, ConsumerConfig>
