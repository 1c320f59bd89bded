/**
 * Where the registry keeps replicated (`num_replicas > 1`) streams in cluster mode: their log and
 * their durable consumers' journals live in the cluster store, not in this node's stores, so any
 * node of the stream's peer group can take it over. The cluster layer provides it (it holds the
 * fences); the registry only asks for the stream's log and its consumers' journals.
 */
import type { Effect, Scope } from "effect"
import type { EventLog, EventLogOptions } from "../store/EventLog.ts"
import type { MessageLog } from "../store/MessageLog.ts"
import type { StoreError } from "../store/StoreError.ts"
import type { StreamConfig } from "./model/StreamConfig.ts"

export interface ReplicatedStorage {
  /** The stream's log as the cluster store holds it, written under this node's current term. */
  readonly openLog: (config: StreamConfig) => Effect.Effect<MessageLog, StoreError, Scope.Scope>
  /** A durable consumer's journal (its folded state) in the cluster store. */
  readonly openJournal: <S, E>(
    stream: string,
    consumer: string,
    options: EventLogOptions<S, E>
  ) => Effect.Effect<EventLog<S, E>, StoreError, Scope.Scope>
  /**
   * A consumer the registry removed by itself (inactive threshold): its record and state go too, or
   * a new owner would bring it back.
   */
  readonly consumerRemoved: (stream: string, consumer: string) => Effect.Effect<void>
  /**
   * Whether this node may hand out the stream's messages now: false once its lease may have
   * expired unrenewed (frozen, cut off), so a former owner never delivers what its successor owns.
   */
  readonly mayServe: (stream: string) => boolean
}

/** Whether a stream's data lives in the cluster store (its replicas are the cluster store's). */
export const isReplicated = (config: StreamConfig): boolean => config.num_replicas > 1
