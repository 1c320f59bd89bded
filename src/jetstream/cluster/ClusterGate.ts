/**
 * What an account's JetStream asks the cluster before it serves a `$JS.API` request, in cluster
 * mode (`jetstream { cluster_store }`): every node's `$JS.API.>` subscription receives every
 * request (routes propagate interest), and exactly one node must answer it — the meta leader for
 * account-level requests, the stream's owner for stream-scoped ones (nats-server: the meta leader
 * and the stream leader).
 *
 * Without cluster mode there is no gate, and the API serves exactly as a single server does.
 */
import { Context, type Effect } from "effect"
import type { JetStreamLimits } from "../../accounts/AccountSettings.ts"
import type { ApiBody, ApiContext } from "../api/StreamApi.ts"
import type { ApiError } from "../model/ApiError.ts"
import type { StreamRegistry } from "../StreamRegistry.ts"

export type Decision =
  /** Serve with the account's own handler; `wrap` (a mutation of an owned stream) fences it. */
  | {
    readonly _tag: "Local"
    readonly wrap?: (handler: Effect.Effect<ApiBody, ApiError>) => Effect.Effect<ApiBody, ApiError>
  }
  /** Another node answers. */
  | { readonly _tag: "Silent" }
  /**
   * Serve locally only if `confirm` (a look at the store) says so: the meta leader's view of a
   * stream may be a moment behind its owner's delete, and then nobody else would answer.
   */
  | { readonly _tag: "Confirm"; readonly confirm: Effect.Effect<boolean> }
  /** The cluster answers (meta leader requests, an offline stream); run apart from the API fiber. */
  | { readonly _tag: "Cluster"; readonly run: Effect.Effect<ApiBody, ApiError> }

export interface AccountGate {
  readonly decide: (subject: string, body: Uint8Array) => Decision
  /** Adds `cluster { name, leader }` to the stream and consumer info this node answers. */
  readonly decorate: (type: string, body: ApiBody) => ApiBody
}

/** What the cluster needs of one account's local JetStream. */
export interface LocalAccount {
  readonly account: string
  readonly registry: StreamRegistry
  /** The account's API context: the owner runs an assigned create through the ordinary handler. */
  readonly ctx: ApiContext
  readonly limits: JetStreamLimits
  /** The local account INFO body (limits, api totals); the meta leader replaces the usage with the cluster's. */
  readonly accountInfo: () => ApiBody
  /** A request as the server over the account's subject space (answered locally or over a route). */
  readonly request: (subject: string, body: string, timeoutMs: number) => Promise<string | undefined>
  readonly usage: () => { readonly memory: number; readonly storage: number }
}

/** One entry of `cluster.replicas` (see ReplicaInfo.ts for what the values mean here). */
export interface PeerInfo {
  readonly name: string
  readonly current: boolean
  readonly offline?: true
  /** Nanoseconds since the peer's last heartbeat. */
  readonly active: number
}

export interface NotCurrent {
  readonly account?: string
  readonly stream?: string
  readonly error: string
}

export interface MetaClusterInfo {
  readonly name: string
  readonly leader: string | undefined
  readonly cluster_size: number
}

export interface ClusterModeShape {
  readonly serverName: string
  readonly clusterName: string
  /** Connects an account's JetStream to the cluster (once, after its streams are recovered). */
  readonly attach: (local: LocalAccount) => Effect.Effect<AccountGate>
  /** `/jsz` `meta_cluster`. */
  readonly metaCluster: () => MetaClusterInfo
  /** A replicated stream's other peers (`cluster.replicas`); undefined for R1 streams. */
  readonly replicas: (account: string, stream: string) => ReadonlyArray<PeerInfo> | undefined
  /** `/healthz`: why this node is not current (the store unreachable, a replicated stream assigned here not served). */
  readonly notCurrent: (checkStreams: boolean) => NotCurrent | undefined
}

export class ClusterMode extends Context.Service<ClusterMode, ClusterModeShape>()(
  "effect-jetstream/jetstream/cluster/ClusterMode"
) {}
