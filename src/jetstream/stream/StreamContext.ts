/** What a stream actor is given by the server around it: its services and limits, and its consumers. */
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Logger } from "../../log/Log.ts"
import type { AtomicBatchLimits } from "./AtomicBatch.ts"
import type { FastBatchBudget } from "./FastBatch.ts"
import type { IngestLimits } from "./IngestLimit.ts"
import type { OriginLookup } from "./StreamSource.ts"

/** What a stream needs from its consumers (kept structural to avoid an import cycle). */
export interface StreamConsumer {
  readonly name: string
  wake(): void
  isDoneWith(sseq: number, subject: string): boolean
  wants(subject: string): boolean
}

export interface StreamContext {
  readonly client: InternalClient
  readonly log: Logger
  readonly nowNs: () => bigint
  /** JetStream domain, reported in PubAcks. */
  readonly domain?: string
  /** True when the server-wide store limit for this storage type is used up (max_memory_store / max_file_store). */
  readonly storeFull?: (storage: "file" | "memory") => boolean
  /**
   * True when storing `bytes` more would take the account past its JetStream limit for this storage
   * (nats-server stores, finds limitsExceeded and removes the message again: the same outcome).
   */
  readonly accountFull?: (storage: "file" | "memory", bytes: number) => boolean
  /** Where a mirror or source finds its origin (the account's streams, or through `external`). */
  readonly lookup?: OriginLookup
  readonly nowMs?: () => number
  /** `jetstream { max_buffered_msgs, max_buffered_size }` (IngestLimit.ts); absent = nats-server 2.11's defaults. */
  readonly ingestLimits?: IngestLimits
  /** The server's max_pending: a batched direct get's byte limit when the request sets none. */
  readonly maxPending?: number
  /** The server-wide fast-ingest batch limits (FastBatch.ts); absent = a budget of this stream's own. */
  readonly fastBatchBudget?: FastBatchBudget
  /** The server's atomic batch limits (AtomicBatch.ts); absent = nats-server's defaults. */
  readonly atomicBatchLimits?: AtomicBatchLimits
  /** The account's name (nats-server's `$G` without accounts): sourcing consumers are named after it. */
  readonly account?: string
}
