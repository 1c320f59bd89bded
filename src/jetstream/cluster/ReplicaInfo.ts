/**
 * What this node reports about replicated streams: `cluster.replicas` in stream and consumer info
 * and /jsz, and the /healthz check of the streams assigned here.
 *
 * A replicated stream's peers hold no copy of their own: the cluster store holds the log, and any
 * live peer serves all of it as soon as it takes the stream. So a peer is `current` while it is
 * live (heartbeat within the lease time) and this node reaches the store; `lag` is always 0
 * (omitted), `active` is the time since the peer's last heartbeat.
 */
import type { LocalAccount, NotCurrent, PeerInfo } from "./ClusterGate.ts"
import { type ClusterView, key } from "./ClusterView.ts"

/** The stream's other peers, or undefined for an R1 stream (nats-server has no replicas to list). */
export const replicasOf = (view: ClusterView, account: string, stream: unknown): Array<PeerInfo> | undefined => {
  if (typeof stream !== "string") return undefined
  const row = view.streams.get(key(account, stream))
  if (row === undefined || row.replicas <= 1) return undefined
  return row.peers.filter((p) => p !== view.options.serverName).map((p) => {
    const n = view.nodes.find((x) => x.serverName === p)
    const current = n?.alive === true && view.storeDownSince === undefined
    return { name: p, current, ...(current ? {} : { offline: true as const }), active: (n?.heartbeatAgeMs ?? 0) * 1e6 }
  })
}

/**
 * nats-server's clustered health check, our way: the store must answer (it is the meta group), and
 * every replicated stream assigned here must be running here with a log that accepts writes.
 */
export const notCurrent = (view: ClusterView, checkStreams: boolean): NotCurrent | undefined => {
  if (view.storeDownSince !== undefined) return { error: "JetStream is not current with the meta leader" }
  if (!checkStreams) return undefined
  for (const row of view.streams.values()) {
    if (row.owner !== view.options.serverName || row.status !== "ready" || row.replicas <= 1) continue
    const local: LocalAccount | undefined = view.accounts.get(row.account)
    const actor = local?.registry.get(row.name)
    if (actor === undefined || actor.store.failure !== undefined || !view.terms.has(key(row.account, row.name))) {
      return {
        account: row.account,
        stream: row.name,
        error: `JetStream stream '${row.account} > ${row.name}' is not current`
      }
    }
  }
  return undefined
}
