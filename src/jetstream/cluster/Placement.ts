/**
 * Where a new R1 stream goes: among the live nodes of the requested cluster that carry every
 * requested tag, the one that owns the fewest streams (ties: by name, so every meta leader picks
 * the same). nats-server's selectPeerGroup refuses with "no suitable peers for placement" and the
 * reasons it found; we give the same text for the same reasons.
 */
export interface Candidate {
  readonly serverName: string
  readonly cluster: string
  readonly tags: ReadonlyArray<string>
  readonly alive: boolean
  /** Streams it owns now. */
  readonly streams: number
}

export interface PlacementRequest {
  readonly cluster: string | undefined
  readonly tags: ReadonlyArray<string>
}

export type Placed = { readonly ok: true; readonly owner: string } | { readonly ok: false; readonly error: string }

export const place = (ourCluster: string, request: PlacementRequest, nodes: ReadonlyArray<Candidate>): Placed => {
  const cluster = request.cluster === undefined || request.cluster === "" ? ourCluster : request.cluster
  let offline = false
  const missing = new Set<string>()
  const fit: Array<Candidate> = []
  for (const n of nodes) {
    if (n.cluster !== cluster) continue
    if (!n.alive) {
      offline = true
      continue
    }
    // Tags compare case-insensitively (nats-server lowercases server_tags and placement tags).
    const have = new Set(n.tags.map((t) => t.toLowerCase()))
    const lacking = request.tags.filter((t) => !have.has(t.toLowerCase()))
    if (lacking.length > 0) {
      for (const t of lacking) missing.add(t)
      continue
    }
    fit.push(n)
  }
  if (fit.length === 0) {
    let text = "no suitable peers for placement"
    if (offline) text += ", peer offline"
    if (missing.size > 0) text += `, tags not matched [${[...missing].map((t) => `'${t}'`).join(", ")}]`
    return { ok: false, error: text }
  }
  fit.sort((a, b) => a.streams - b.streams || (a.serverName < b.serverName ? -1 : a.serverName > b.serverName ? 1 : 0))
  return { ok: true, owner: fit[0]!.serverName }
}
