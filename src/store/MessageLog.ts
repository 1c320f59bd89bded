/**
 * The per-stream log contract shared by the memory and file layers.
 *
 * Everything except `sync` is synchronous plain TypeScript: the stream actor owns its log from a single fiber
 * and calls it in batches, so there is nothing to wait for except the disk. Synchronous methods throw a
 * `StoreError` (wrap with `StoreError.attempt` to get a typed Effect failure).
 *
 * Sequences are JS numbers (exact to 2^53 - 1, guarded with `SequenceOverflow`). Subjects are JS strings that
 * hold latin1-decoded bytes, one char per byte, so any UTF-8 subject round-trips exactly.
 */
import type { Effect } from "effect"
import type { StoreError } from "./StoreError.ts"

/** A message to append. `ts` is nanoseconds since the Unix epoch. */
export interface AppendRecord {
  readonly subject: string
  readonly hdr: Uint8Array | undefined
  readonly data: Uint8Array
  readonly ts: bigint
}

export interface AppendOptions {
  readonly atomic?: boolean
}

/** A stored message. `hdr`/`data` may be views into a shared read buffer: do not mutate them. */
export interface StoredMessage extends AppendRecord {
  readonly seq: number
}

/**
 * When is an append durable?
 * - `"write"` (default): bytes are handed to the OS with write(2) before `sync` resolves. Survives a process
 *   crash (`kill -9`), not a power loss of unsynced page cache.
 * - `"always"`: `sync` resolves after fsync; concurrent `sync` calls share one fsync (group commit). Survives
 *   power loss.
 * - `{ intervalMs }`: like `"write"`, plus a background fsync every `intervalMs`; bounds power-loss exposure.
 */
export type SyncPolicy = "write" | "always" | { readonly intervalMs: number }

/** Options for one stream's log. */
export interface StoreConfig {
  /** Sequence of the first message when the log is new (JetStream `first_seq`). Default 1. */
  readonly firstSeq?: number
  /** File layer: roll to a new segment file past this size. Default 64 MiB. */
  readonly maxSegmentBytes?: number
  /** File layer: bytes of segment data kept in the read cache. Default 4 MiB. */
  readonly readCacheBytes?: number
  /** File layer: compress records from now on (JetStream `compression: "s2"`); the memory layer ignores it. */
  readonly compress?: boolean
  /**
   * File layer: never fsync before an ack, even when the layer's policy is "always" (JetStream
   * `persist_mode: "async"`); an interval policy still fsyncs on its interval.
   */
  readonly asyncPersist?: boolean
}

/** Purge request, JetStream `STREAM.PURGE` semantics. `seq` is exclusive: purge messages below it. */
export interface PurgeRequest {
  readonly filter?: string
  readonly keep?: number
  readonly seq?: number
}

/** Stream limits enforced by removing from the head (discard old). 0 or absent = unlimited. */
export interface Limits {
  readonly maxMsgs?: number
  readonly maxBytes?: number
  readonly maxAgeNs?: bigint
  readonly maxMsgsPerSubject?: number
  /** "Now" for the age limit, in ns since the epoch; injected so tests and the actor control the clock. */
  readonly nowNs?: bigint
}

export interface Removed {
  readonly msgs: number
  readonly bytes: number
}

/** Snapshot of a log. Empty log: `firstSeq = lastSeq + 1`, `firstTs = 0n`. `bytes` per message = subject +
 * headers + data + 16 (nats-server's memory-store accounting, used by both layers so they agree). */
export interface StoreState {
  readonly msgs: number
  readonly bytes: number
  readonly firstSeq: number
  readonly firstTs: bigint
  readonly lastSeq: number
  readonly lastTs: bigint
  /** Sequences in [firstSeq, lastSeq] with no message. */
  readonly numDeleted: number
  readonly numSubjects: number
  /** Present only when `state({ deleted: true })`. */
  readonly deleted?: ReadonlyArray<number>
}

export interface MessageLog {
  readonly name: string

  /**
   * Appends records, returns their sequences. Data reaches the OS at the latest on `flush`/`sync`.
   * `atomic`: after a crash or a failed write the log holds all of `records` or none (an ADR-50 atomic
   * batch). The memory layer has nothing to tear; the replicated layer commits one call's records in one
   * transaction anyway; the file layer marks the records (Record.ts) and keeps them in one write and one
   * segment.
   */
  appendBatch(records: ReadonlyArray<AppendRecord>, options?: AppendOptions): Array<number>
  /** Hands buffered appends to the OS (write(2)); cheap when nothing is pending. */
  flush(): void
  /** Resolves when everything appended before the call is durable under the layer's `SyncPolicy`. */
  sync(): Effect.Effect<void, StoreError>

  get(seq: number): StoredMessage | undefined
  /** Last message whose subject matches `filter` (`*` and `>` allowed). */
  lastBySubject(filter: string): StoredMessage | undefined
  /** First live sequence >= `startSeq` whose subject matches `filter`, or undefined. */
  firstSeqMatching(startSeq: number, filter: string): number | undefined
  /** First live sequence whose timestamp is >= `tsNs` (timestamps are expected to be non-decreasing). */
  firstSeqAtOrAfterTime(tsNs: bigint): number | undefined
  /** Live message count per subject matching `filter`. */
  subjectCounts(filter: string): Map<string, number>
  /** Number of live messages matching `filter` with sequence >= `startSeq` (consumer num_pending). */
  countMatching(startSeq: number, filter: string): number

  /** Deletes one message; `erase` also overwrites its bytes. Returns false if there was no such message. */
  remove(seq: number, options?: { readonly erase?: boolean }): boolean
  /** Returns the number of messages purged. */
  purge(request?: PurgeRequest): number
  enforceLimits(limits: Limits): Removed
  state(options?: { readonly deleted?: boolean }): StoreState
  /** `state().firstSeq` and `state().lastSeq` without building the state: consumers ask on every delivery. */
  firstSequence(): number
  lastSequence(): number
  /** Reclaims space held by deleted messages (file layer rewrites sparse segments). */
  compact(): void
  /**
   * Compresses records appended from now on, or stops (records already stored stay as they are and stay
   * readable). The memory layer ignores it, as nats-server's memory store ignores `compression`.
   */
  setCompression(on: boolean): void
  /**
   * The write error that made the log refuse writes for good (an I/O error other than a full disk, a failed
   * fsync), or undefined. Reads keep working; a full disk is not such an error (writes resume when space frees).
   */
  readonly failure: StoreError | undefined
  /** Flushes, syncs and releases the log. Idempotent. Later calls throw `Closed`. */
  close(): Effect.Effect<void, StoreError>
}
