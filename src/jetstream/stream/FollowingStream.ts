/**
 * What a mirror's or source's follower hands the stream it fills (StreamSource.ts, ConsumerSource.ts).
 */
import type { MessageLog } from "../../store/MessageLog.ts"

/** A message copied from the origin, kept under its origin sequence. */
export interface SourcedRecord {
  readonly seq: number
  readonly subject: string
  /** The subject in the origin stream, when a source's transform renamed it (counters aggregate by it). */
  readonly originSubject?: string
  readonly hdr: Uint8Array | undefined
  readonly data: Uint8Array
  readonly ts: bigint
}

/** What the follower needs of the stream it fills. */
export interface FollowingStream {
  readonly name: string
  readonly store: MessageLog
  /**
   * Queues a batch for the stream's mailbox; `done(ok)` runs once it is stored (or failed). With
   * `source`, the messages are new publishes to this stream tagged `Nats-Stream-Source: <source> <seq>`;
   * without, they keep their sequences (a mirror).
   */
  ingestSourced(records: ReadonlyArray<SourcedRecord>, done: (ok: boolean) => void, source?: string): boolean
  /**
   * The origin sequence of the last message this stream took from the source `key` (sourceKey; its
   * `Nats-Stream-Source`), or with `byName` from any source of that key's stream.
   */
  lastSourced(key: string, byName: boolean): number | undefined
  /** The mirror is within a few messages of its origin (`mirror_direct` starts answering). */
  mirrorCaughtUp(): void
}
