/**
 * Opens the log of a replicated (R3) stream for its owner: the committed rows in the cluster store
 * become a ReplicatedLog (sequences, deletes, and the messages whose Nats-Msg-Id headers the stream
 * actor rebuilds its duplicate window from), written by a connection fenced with the owner's term.
 * Closing the scope commits what is queued (when the term still holds) and ends the connection.
 *
 * This is the piece the registry will open R3 streams with once ownership moves on failover; until
 * then `num_replicas > 1` stays refused (see the README's cluster section).
 */
import { Effect, type Scope } from "effect"
import type pg from "pg"
import type { Fence } from "../../cluster/store/ClusterStore.ts"
import { loadSnapshot, type LogKey, makeWriter } from "../../cluster/store/StreamLogSql.ts"
import type { MessageLog } from "../../store/MessageLog.ts"
import { ReplicatedLog } from "../../store/ReplicatedLog.ts"
import * as StoreError from "../../store/StoreError.ts"

export interface ReplicatedOpen {
  /** The cluster store's URL (the writer's own connection). */
  readonly url: string
  /** Where the snapshot is read (a pool of the store). */
  readonly db: pg.Pool | pg.Client
  readonly key: LogKey
  readonly fence: Fence
  /** JetStream `first_seq` of a stream never written. */
  readonly firstSeq: number
}

export const openReplicated = (
  o: ReplicatedOpen
): Effect.Effect<ReplicatedLog & MessageLog, StoreError.StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const snapshot = await loadSnapshot(o.db, o.key, o.firstSeq)
        const writer = makeWriter(o.url, o.key, o.fence)
        return { log: ReplicatedLog.restore(o.key.name, snapshot, writer), writer }
      },
      catch: (e) => StoreError.io(o.key.name, "load from the cluster store", e)
    }),
    ({ log, writer }) => Effect.ignore(log.close()).pipe(Effect.andThen(Effect.promise(() => writer.end())))
  ).pipe(Effect.map(({ log }) => log))
