/**
 * The server's `jetstream { limits { batch {} } }` settings as the two batch kinds use them (nats-server
 * stream.go `processJetStreamAtomicBatchMsg`, `processJetStreamFastBatchMsg`, jetstream_batching.go
 * `getCleanupTimeout`): a positive setting replaces the default of either kind; `max_msgs` bounds
 * atomic batches only; the in-flight counts and the timeout apply to both, each kind counted apart.
 */
import type { BatchLimitSettings } from "../../config/JetStreamLimitsConfigFile.ts"
import { type AtomicBatchLimits, DEFAULT_ATOMIC_LIMITS } from "./AtomicBatch.ts"
import { DEFAULT_FAST_BATCH_LIMITS, type FastBatchLimits } from "./FastBatch.ts"

const or = (setting: number, fallback: number): number => (setting > 0 ? setting : fallback)

export const atomicLimitsOf = (s: BatchLimitSettings): AtomicBatchLimits => ({
  maxBatchSize: or(s.maxMsgs, DEFAULT_ATOMIC_LIMITS.maxBatchSize),
  maxPerStream: or(s.maxInflightPerStream, DEFAULT_ATOMIC_LIMITS.maxPerStream),
  maxTotal: or(s.maxInflightTotal, DEFAULT_ATOMIC_LIMITS.maxTotal),
  idleMs: or(s.timeoutMs, DEFAULT_ATOMIC_LIMITS.idleMs)
})

export const fastLimitsOf = (s: BatchLimitSettings): FastBatchLimits => ({
  perStream: or(s.maxInflightPerStream, DEFAULT_FAST_BATCH_LIMITS.perStream),
  total: or(s.maxInflightTotal, DEFAULT_FAST_BATCH_LIMITS.total),
  timeoutMs: or(s.timeoutMs, DEFAULT_FAST_BATCH_LIMITS.timeoutMs)
})
