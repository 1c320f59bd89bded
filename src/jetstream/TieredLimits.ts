/**
 * JetStream limits per replica tier (nats-server `jsAccount.limits` keyed by tier name): an
 * account JWT's `tiered_limits` give each replica count `R<n>` its own storage, stream and
 * consumer limits. A stream belongs to the tier of its `num_replicas` (0 counts as 1, as 2.10+
 * `tierName`); a stream whose tier has no limits is refused with 10120. Accounts with flat
 * limits (config file, JWT without tiers) never reach this file.
 */
import type { JetStreamLimits } from "../accounts/AccountSettings.ts"
import { type ApiError, ApiErrors } from "./model/ApiError.ts"
import type { StreamConfig } from "./model/StreamConfig.ts"
import type { StreamRegistry } from "./StreamRegistry.ts"

export type Tiers = ReadonlyMap<string, JetStreamLimits>

export const tierName = (replicas: number | bigint): string => `R${Number(replicas) === 0 ? 1 : Number(replicas)}`

/**
 * nats-server jsNonClusteredStreamLimitsCheck / configUpdateCheck with tiers: the stream's tier (an
 * update that changes replicas falls back to the old tier when the new one has none), its
 * max_streams over the tier's streams, max_consumers, then max_bytes on top of what the tier's
 * other streams of that storage reserve; last the tier's max_bytes_required and per-stream
 * byte limit (checkStreamCfg's maxBytesLimits, which selects the tier the same way).
 */
export const checkTieredStreamLimits = (
  tiers: Tiers,
  registry: StreamRegistry,
  config: StreamConfig,
  old?: StreamConfig
): ApiError | undefined => {
  let tier = tierName(config.num_replicas)
  let limits = tiers.get(tier)
  if (limits === undefined && old !== undefined && old.num_replicas !== config.num_replicas) {
    tier = tierName(old.num_replicas)
    limits = tiers.get(tier)
  }
  if (limits === undefined) return ApiErrors.noLimits()
  const inTier = registry.all().filter((s) => tierName(s.config.num_replicas) === tier)
  if (old === undefined && limits.maxStreams > 0 && inTier.length >= limits.maxStreams) {
    return ApiErrors.maximumStreamsLimit()
  }
  if (config.max_consumers > 0 && limits.maxConsumers > 0 && config.max_consumers > limits.maxConsumers) {
    return ApiErrors.maximumConsumersLimit()
  }
  // Tier limits already count replication: max_bytes is not multiplied by replicas (2.12+
  // accountReservation; 2.9.10 did, and summed every storage into both reservations).
  let reserved = 0
  for (const s of inTier) {
    if (s.config.storage === config.storage && s.name !== config.name && s.config.max_bytes > 0) {
      reserved += s.config.max_bytes
    }
  }
  // An update's footprint is its new max_bytes; a create without one reserves a byte.
  const add = old !== undefined ? Math.max(0, config.max_bytes) : config.max_bytes < 0 ? 1 : config.max_bytes
  if (config.storage === "memory") {
    if (limits.maxMemory >= 0 && reserved + add > limits.maxMemory) return ApiErrors.memoryResourcesExceeded()
  } else if (limits.maxStore >= 0 && reserved + add > limits.maxStore) return ApiErrors.storageResourcesExceeded()
  if (limits.maxBytesRequired && config.max_bytes <= 0) return ApiErrors.streamMaxBytesRequired()
  const perStream = config.storage === "memory" ? limits.memoryMaxStreamBytes : limits.storeMaxStreamBytes
  if (perStream > 0 && config.max_bytes > perStream) return ApiErrors.streamMaxStreamBytesExceeded()
  return undefined
}

/** What INFO reports of an account's limits (JetStreamAccountLimits), flat or per tier. */
export const limitsJson = (limits: JetStreamLimits): Record<string, number | boolean> => ({
  max_memory: limits.maxMemory,
  max_storage: limits.maxStore,
  max_streams: limits.maxStreams,
  max_consumers: limits.maxConsumers,
  max_ack_pending: limits.maxAckPending,
  memory_max_stream_bytes: limits.memoryMaxStreamBytes,
  storage_max_stream_bytes: limits.storeMaxStreamBytes,
  max_bytes_required: limits.maxBytesRequired
})

/** A tiered account's top-level `limits`: nats-server leaves the embedded JetStreamTier's limits zero. */
export const ZERO_LIMITS: JetStreamLimits = {
  maxMemory: 0,
  maxStore: 0,
  maxStreams: 0,
  maxConsumers: 0,
  maxAckPending: 0,
  memoryMaxStreamBytes: 0,
  storeMaxStreamBytes: 0,
  maxBytesRequired: false
}

interface TierUsage {
  memory: number
  storage: number
  reservedMemory: number
  reservedStorage: number
  streams: number
  consumers: number
}

/**
 * INFO's `tiers` (nats-server JetStreamUsage with tiers): every tier that has limits, and any tier a
 * stream is in, with its stored bytes, reservations, stream and consumer counts and limits; keys sorted
 * (Go marshals maps so). The R1 streams are the ones in the account's own stores, so R1's bytes are
 * those stores' totals (what the publish checks judge by); replicated streams are summed one by one.
 * `withReserved`: 2.10 added `reserved_memory`/`reserved_storage` to each tier.
 */
export const tiersInfo = (
  tiers: Tiers,
  registry: StreamRegistry,
  ownStores: { readonly memory: number; readonly storage: number },
  withReserved: boolean
): Record<string, Record<string, unknown>> => {
  const usage = new Map<string, TierUsage>()
  const of = (tier: string): TierUsage => {
    let u = usage.get(tier)
    if (u === undefined) {
      u = { memory: 0, storage: 0, reservedMemory: 0, reservedStorage: 0, streams: 0, consumers: 0 }
      usage.set(tier, u)
    }
    return u
  }
  for (const t of tiers.keys()) of(t)
  for (const s of registry.all()) {
    const tier = tierName(s.config.num_replicas)
    const u = of(tier)
    u.streams++
    u.consumers += registry.consumersOf(s.name).length
    const memory = s.config.storage === "memory"
    if (s.config.max_bytes > 0) {
      if (memory) u.reservedMemory += s.config.max_bytes
      else u.reservedStorage += s.config.max_bytes
    }
    if (tier === "R1") continue
    const bytes = s.store.state({}).bytes
    if (memory) u.memory += bytes
    else u.storage += bytes
  }
  if (usage.has("R1")) {
    const r1 = usage.get("R1")!
    r1.memory = ownStores.memory
    r1.storage = ownStores.storage
  }
  const out: Record<string, Record<string, unknown>> = {}
  for (const tier of [...usage.keys()].sort()) {
    const u = usage.get(tier)!
    out[tier] = {
      memory: u.memory,
      storage: u.storage,
      ...(withReserved ? { reserved_memory: u.reservedMemory, reserved_storage: u.reservedStorage } : {}),
      streams: u.streams,
      consumers: u.consumers,
      limits: limitsJson(tiers.get(tier) ?? ZERO_LIMITS)
    }
  }
  return out
}
