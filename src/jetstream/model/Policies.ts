/**
 * The policy enums of stream and consumer configs, in nats-server's JSON spelling. Kept apart from
 * the configs so that the raw decoders and the validated configs can both name them.
 */
export type RetentionPolicy = "limits" | "interest" | "workqueue"
export type StorageType = "file" | "memory"
export type DiscardPolicy = "old" | "new"

export interface Placement {
  readonly cluster?: string
  readonly tags?: ReadonlyArray<string>
}

export type DeliverPolicy = "all" | "last" | "new" | "by_start_sequence" | "by_start_time" | "last_per_subject"
/** "flow_control" (2.14, ADR-60): acked like "all", by the answers to flow-control requests. */
export type AckPolicy = "none" | "all" | "explicit" | "flow_control"
export type ReplayPolicy = "instant" | "original"
export type ConsumerAction = "create" | "update" | ""
