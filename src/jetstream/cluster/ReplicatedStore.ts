/**
 * Replicated (R3) streams' storage in the cluster store, for the registry of one account: the
 * committed rows become a ReplicatedLog (sequences, deletes, and the messages whose Nats-Msg-Id
 * headers the stream actor rebuilds its duplicate window from), durable consumers' states become
 * ReplicatedEventLogs, each written by a connection fenced with this node's term for the stream.
 * Closing a scope commits what is queued (when the term still holds) and ends its connection.
 *
 * Every open needs the term: the owner takes the stream's lease before it starts the stream.
 */
import { Effect, type Scope } from "effect"
import type pg from "pg"
import { Sql } from "../../cluster/store/ClusterStore.ts"
import type { Fence } from "../../cluster/store/ClusterStore.ts"
import { loadSnapshot, loadState, type LogKey, makeStateWriter, makeWriter } from "../../cluster/store/StreamLogSql.ts"
import type { EventLog, EventLogOptions } from "../../store/EventLog.ts"
import type { MessageLog } from "../../store/MessageLog.ts"
import { ReplicatedEventLog } from "../../store/ReplicatedEventLog.ts"
import { ReplicatedLog } from "../../store/ReplicatedLog.ts"
import * as StoreError from "../../store/StoreError.ts"
import type { ReplicatedStorage } from "../ReplicatedStorage.ts"
import { type ClusterView, holdsLease, key, streamFence } from "./ClusterView.ts"

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

/** The registry's storage for the replicated streams of `account`, fenced by the terms in `view`. */
export const replicatedStorage = (view: ClusterView, account: string): ReplicatedStorage => {
  const { store } = view
  const fenceOf = (stream: string): Effect.Effect<Fence, StoreError.StoreError> => {
    const fence = streamFence(view, account, stream)
    return fence === undefined
      ? Effect.fail(StoreError.io(stream, "open", new Error("this server does not hold the stream's lease")))
      : Effect.succeed(fence)
  }
  return {
    openLog: (config) =>
      Effect.flatMap(fenceOf(config.name), (fence) =>
        openReplicated({
          url: store.url,
          db: store.pool,
          key: { account, name: config.name },
          fence,
          firstSeq: config.first_seq !== undefined && config.first_seq > 0 ? config.first_seq : 1
        })),
    openJournal: <S, E>(stream: string, consumer: string, options: EventLogOptions<S, E>) =>
      Effect.flatMap(fenceOf(stream), (fence) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const key = { account, name: stream }
              const stored = await loadState(store.pool, key, consumer)
              const writer = makeStateWriter(store.url, key, consumer, fence)
              const journal: EventLog<S, E> = new ReplicatedEventLog(`${stream}/${consumer}`, stored, options, writer)
              return { journal, writer }
            },
            catch: (e) => StoreError.io(`${stream}/${consumer}`, "load from the cluster store", e)
          }),
          ({ journal, writer }) =>
            Effect.ignore(journal.close()).pipe(Effect.andThen(Effect.promise(() => writer.end())))
        ).pipe(Effect.map(({ journal }) => journal))),
    mayServe: (stream) => holdsLease(view, key(account, stream)),
    consumerRemoved: (stream, consumer) => {
      const fence = streamFence(view, account, stream)
      if (fence === undefined) return Effect.void
      return Effect.ignore(store.fenced(fence, (tx) =>
        Effect.andThen(
          tx.query(Sql.deleteConsumer, [account, stream, consumer]),
          tx.query(Sql.deleteConsumerState, [account, stream, consumer])
        )))
    }
  }
}
