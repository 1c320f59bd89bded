/**
 * The event log contract: an append-only journal of events folded into a state, with snapshots so
 * recovery stays bounded. `EventLogStore` opens them (memory and file layers).
 */
import type { Effect } from "effect"
import type * as StoreError from "./StoreError.ts"

export interface EventLogOptions<S, E> {
  readonly initial: S
  readonly fold: (state: S, event: E) => S
  /** Validates an event read back from storage (e.g. `Schema.decodeUnknownSync(Event)`); throw to reject. */
  readonly decodeEvent: (u: unknown) => E
  readonly decodeState: (u: unknown) => S
  /** To a JSON-serialisable value; default: the event itself. */
  readonly encodeEvent?: (e: E) => unknown
  /**
   * Hot-path replacement for `JSON.stringify(encodeEvent(e))`, for logs that append an event per message:
   * `write` puts exactly that text's UTF-8 bytes (at most `maxBytes`) into `out` at `at` and returns the end.
   * The file layer uses it; the memory layer keeps events as they are.
   */
  readonly writeEvent?: {
    readonly maxBytes: number
    readonly write: (e: E, out: Uint8Array, at: number) => number
  }
  readonly encodeState?: (s: S) => unknown
  /** Snapshot after this many events since the last one. Default 1000. */
  readonly snapshotEvery?: number
  /**
   * How many events one stored event stands for, against `snapshotEvery` (a run of `n` changes replays as `n`);
   * default 1. Keeps the replay after a restart bounded by the work, not by the number of frames.
   */
  readonly weight?: (e: E) => number
}

export interface EventLog<S, E> {
  readonly name: string
  /** The fold of every event appended so far (across restarts). */
  state(): S
  /** Writes the events (to the OS, synchronously), folds them and returns the new state. Throws StoreError. */
  append(events: ReadonlyArray<E>): S
  /** Resolves when appended events are durable under the layer's SyncPolicy. */
  sync(): Effect.Effect<void, StoreError.StoreError>
  /** Snapshots now (also happens automatically every `snapshotEvery` events). */
  snapshot(): void
  readonly eventsSinceSnapshot: number
  /** Set once the log refuses appends for good (a replicated log whose commit failed). */
  readonly failure?: StoreError.StoreError | undefined
  close(): Effect.Effect<void, StoreError.StoreError>
}
