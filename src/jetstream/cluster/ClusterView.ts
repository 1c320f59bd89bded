/**
 * The cluster state a node keeps in memory (the tick of MetaCluster.ts refreshes it), read
 * synchronously by every API decision, and the fences built from it.
 */
import type { Effect } from "effect"
import { META_ASSET, streamAsset } from "../../cluster/store/ClusterSchema.ts"
import type { ClusterStoreShape, Fence, NodeRow, StreamRow } from "../../cluster/store/ClusterStore.ts"
import type { Logger } from "../../log/Log.ts"
import { ApiError } from "../model/ApiError.ts"
import type { LocalAccount } from "./ClusterGate.ts"

/** Lease lifetime and heartbeat window; renewals run every TICK_MS. */
export const LEASE_MS = 5_000
export const TICK_MS = 1_000

export interface MetaClusterOptions {
  readonly url: string
  readonly serverName: string
  readonly serverId: string
  readonly clusterName: string
  readonly clientUrl: string
  readonly tags: ReadonlyArray<string>
  /** `jetstream { unique_tag }` (lowercase): the peers of a replicated stream differ in it. */
  readonly uniqueTag?: string | undefined
  readonly log: Logger
}

export const key = (account: string, name: string): string => `${account}\u0000${name}`

/** The state the gates read: refreshed by the tick and by hints, never awaited by a decision. */
export interface ClusterView {
  readonly options: MetaClusterOptions
  readonly store: ClusterStoreShape
  nodes: ReadonlyArray<NodeRow>
  streams: Map<string, StreamRow>
  /** The meta lease holder as last read (undefined: nobody holds it live). */
  metaLeader: string | undefined
  /** This node's meta term while it leads. */
  metaTerm: bigint | undefined
  /** When the meta lease was last renewed (Date.now()): a leader that cannot renew stops leading. */
  metaRenewedAt: number
  /** Since when (Date.now()) the store has been failing this node; undefined while it answers. */
  storeDownSince: number | undefined
  /** Terms of the stream leases this node holds, by key. */
  readonly terms: Map<string, bigint>
  /**
   * Until when (Date.now()) each held stream lease is surely still this node's: its last
   * acquisition or renewal was sent before this minus LEASE_MS. Deliveries stop past it, so a node
   * frozen or cut off longer than a lease hands out nothing its successor may have taken over.
   */
  readonly leaseUntil: Map<string, number>
  readonly accounts: Map<string, LocalAccount>
  /** Runs cluster work (hints, creates) supervised by the cluster's scope. */
  readonly fork: (effect: Effect.Effect<unknown>) => void
  /** Re-reads nodes and assignments and acts on them now. */
  readonly refresh: () => Effect.Effect<void>
}

export const isMetaLeader = (v: ClusterView): boolean =>
  v.metaTerm !== undefined && Date.now() - v.metaRenewedAt < LEASE_MS - TICK_MS

/**
 * While the store is unreachable nobody can lead: after a lease time (so any former leader has
 * stopped), the first live node by name, in the last view every node shares, says so (nats-server
 * answers 10008 when it has no meta leader).
 */
export const speaksForLeaderless = (v: ClusterView): boolean => {
  if (v.storeDownSince === undefined || Date.now() - v.storeDownSince < LEASE_MS) return false
  const first = v.nodes.filter((n) => n.alive).map((n) => n.serverName).sort()[0]
  return first === v.options.serverName
}

export const nodeAlive = (v: ClusterView, name: string): boolean =>
  v.nodes.some((n) => n.serverName === name && n.alive)

export const metaFence = (v: ClusterView): Fence | undefined =>
  v.metaTerm === undefined ? undefined : { asset: META_ASSET, owner: v.options.serverName, term: v.metaTerm }

/** Whether this node may still act as the owner of `k`'s stream (its lease cannot have expired yet). */
export const holdsLease = (v: ClusterView, k: string): boolean =>
  v.terms.has(k) && Date.now() < (v.leaseUntil.get(k) ?? 0) - LEASE_MARGIN_MS

/** Clock rates differ a little between this node and PostgreSQL: stop this much before the lease ends. */
const LEASE_MARGIN_MS = 500

export const streamFence = (v: ClusterView, account: string, name: string): Fence | undefined => {
  const term = v.terms.get(key(account, name))
  return term === undefined ? undefined : { asset: streamAsset(account, name), owner: v.options.serverName, term }
}

/** An error reply a node stored in the store (an owner refusing a create), as an ApiError again. */
export const storedError = (u: unknown): ApiError | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const e = (u as { error?: { code?: unknown; err_code?: unknown; description?: unknown } }).error
  if (e === undefined || typeof e.code !== "number" || typeof e.err_code !== "number") return undefined
  return new ApiError({ code: e.code, err_code: e.err_code, description: String(e.description ?? "") })
}
