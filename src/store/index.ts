/**
 * The store: append-only message logs per stream (memory and file layers) and event-sourced metadata logs.
 */
export type { EventLog, EventLogOptions } from "./EventLog.ts"
export { EventLogStore } from "./EventLog.ts"
export type { RecoveryReport } from "./FileStore.ts"
export type {
  AppendRecord,
  Limits,
  MessageLog,
  PurgeRequest,
  Removed,
  StoreConfig,
  StoredMessage,
  StoreState,
  SyncPolicy
} from "./MessageLog.ts"
export * as StoreError from "./StoreError.ts"
export { type FileLayerOptions, StreamStore } from "./StreamStore.ts"
export { type ConsumerMeta, type Loaded, MetaStore, type StreamMeta } from "./MetaStore.ts"
