/**
 * Moving a replicated stream to another node: the meta leader does it when the owner is offline
 * (its heartbeat older than the lease time, so its lease has expired or is about to), the owner
 * does it on a stepdown. The new owner is the first live peer of the stream's group in its order,
 * or, with none left, another live node that fits the stream's placement (the dead peer is
 * replaced). The move is one fenced UPDATE of the assignment; the new owner learns it from the
 * hint (or the next tick), takes the lease and reloads the stream from the store.
 */
import { Effect } from "effect"
import {
  type ClusterStoreError,
  type Fence,
  Sql,
  type StaleTerm,
  type StreamRow
} from "../../cluster/store/ClusterStore.ts"
import { type ClusterView, key } from "./ClusterView.ts"
import { placeGroup } from "./Placement.ts"

/** The placement a stream was created with, as the assignment's config holds it. */
const placementOf = (row: StreamRow): { cluster: string | undefined; tags: ReadonlyArray<string> } => {
  const p = (row.config as { placement?: { cluster?: unknown; tags?: unknown } } | null)?.placement
  return {
    cluster: typeof p?.cluster === "string" ? p.cluster : undefined,
    tags: Array.isArray(p?.tags) ? p.tags.filter((t): t is string => typeof t === "string") : []
  }
}

export interface Move {
  readonly row: StreamRow
  readonly owner: string
  readonly peers: ReadonlyArray<string>
}

/** Where `row` goes when its owner (and `also`) cannot have it; undefined when no node can. */
export const nextOwner = (view: ClusterView, row: StreamRow, also: ReadonlyArray<string> = []): Move | undefined => {
  const excluded = new Set([row.owner, ...also])
  const alive = new Set(view.nodes.filter((n) => n.alive).map((n) => n.serverName))
  let owner = row.peers.find((p) => !excluded.has(p) && alive.has(p))
  if (owner === undefined) {
    const counts = new Map<string, number>()
    for (const r of view.streams.values()) counts.set(r.owner, (counts.get(r.owner) ?? 0) + 1)
    const g = placeGroup(
      view.options.clusterName,
      placementOf(row),
      view.nodes.filter((n) => !excluded.has(n.serverName)).map((n) => ({
        ...n,
        streams: counts.get(n.serverName) ?? 0
      })),
      1,
      undefined
    )
    if (!g.ok) return undefined
    owner = g.peers[0]!
  }
  const rest = row.peers.filter((p) => p !== owner && p !== row.owner)
  const peers = [owner, ...rest, row.owner].slice(0, Math.max(row.replicas, 1))
  return { row, owner, peers }
}

/** Replicated streams whose owner is offline, with where each goes (the meta leader's duty). */
export const orphans = (view: ClusterView): Array<Move> => {
  const out: Array<Move> = []
  const alive = new Set(view.nodes.filter((n) => n.alive).map((n) => n.serverName))
  for (const row of view.streams.values()) {
    if (row.status !== "ready" || row.replicas <= 1 || alive.has(row.owner)) continue
    const move = nextOwner(view, row)
    if (move !== undefined) out.push(move)
  }
  return out
}

/** Writes a move under `fence` (the meta lease, or the stream's own for a stepdown); false when the row changed meanwhile. */
export const applyMove = (
  view: ClusterView,
  fence: Fence,
  move: Move,
  handOver: boolean
): Effect.Effect<boolean, ClusterStoreError | StaleTerm> =>
  Effect.gen(function*() {
    const { row } = move
    const { store } = view
    const moved = yield* store.fenced(fence, (tx) =>
      Effect.gen(function*() {
        const rows = yield* tx.query(Sql.moveStream, [
          row.account,
          row.name,
          move.owner,
          JSON.stringify(move.peers),
          row.owner
        ])
        // A stepdown hands the lease over at once; a dead owner's lease has expired by itself.
        if (rows.length > 0 && handOver) yield* tx.query(Sql.expireLease, [fence.asset])
        return rows.length > 0
      }))
    if (!moved) return false
    view.streams.set(key(row.account, row.name), { ...row, owner: move.owner, peers: move.peers })
    yield* Effect.ignore(store.notify({ kind: "assigned", account: row.account, stream: row.name, owner: move.owner }))
    return true
  })
