/**
 * Where a new stream goes: among the live nodes of the requested cluster that carry every
 * requested tag, the `replicas` least loaded (fewest streams owned; ties by name, so every meta
 * leader picks the same), the first of them the owner. With `unique_tag` the peers of one group
 * differ in the value of their tag with that prefix (nats-server: one replica per availability
 * zone). nats-server's selectPeerGroup refuses with "no suitable peers for placement" and the
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

export type PlacedGroup =
  | { readonly ok: true; readonly peers: ReadonlyArray<string> }
  | { readonly ok: false; readonly error: string }

const byLoad = (a: Candidate, b: Candidate): number =>
  a.streams - b.streams || (a.serverName < b.serverName ? -1 : a.serverName > b.serverName ? 1 : 0)

/** The tag with the unique prefix a node carries ("" when none: such nodes cannot share a group either). */
const uniqueValue = (n: Candidate, prefix: string): string =>
  n.tags.map((t) => t.toLowerCase()).find((t) => t.startsWith(prefix)) ?? ""

/**
 * Picks `replicas` peers; `keep` are peers already in the group (a replacement after a failure keeps
 * them, and they count against the unique tag), never picked twice.
 */
export const placeGroup = (
  ourCluster: string,
  request: PlacementRequest,
  nodes: ReadonlyArray<Candidate>,
  replicas: number,
  uniqueTag: string | undefined,
  keep: ReadonlyArray<string> = []
): PlacedGroup => {
  const cluster = request.cluster === undefined || request.cluster === "" ? ourCluster : request.cluster
  // nats-server: a unique tag named in the placement tags turns the uniqueness check off.
  const prefix = uniqueTag !== undefined && !request.tags.some((t) => t.toLowerCase().startsWith(uniqueTag))
    ? uniqueTag
    : undefined
  let offline = false
  let notUnique = false
  const missing = new Set<string>()
  const fit: Array<Candidate> = []
  for (const n of nodes) {
    if (n.cluster !== cluster || keep.includes(n.serverName)) continue
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
  fit.sort(byLoad)
  const peers = [...keep]
  const taken = new Set(
    prefix === undefined ? [] : nodes.filter((n) => keep.includes(n.serverName)).map((n) => uniqueValue(n, prefix))
  )
  for (const n of fit) {
    if (peers.length >= replicas) break
    if (prefix !== undefined) {
      const v = uniqueValue(n, prefix)
      if (v === "" || taken.has(v)) {
        notUnique = true
        continue
      }
      taken.add(v)
    }
    peers.push(n.serverName)
  }
  if (peers.length < replicas) {
    let text = "no suitable peers for placement"
    if (offline) text += ", peer offline"
    if (notUnique) text += ", server tag not unique"
    if (missing.size > 0) text += `, tags not matched [${[...missing].map((t) => `'${t}'`).join(", ")}]`
    return { ok: false, error: text }
  }
  return { ok: true, peers }
}

/** An R1 stream's owner. */
export const place = (ourCluster: string, request: PlacementRequest, nodes: ReadonlyArray<Candidate>): Placed => {
  const g = placeGroup(ourCluster, request, nodes, 1, undefined)
  return g.ok ? { ok: true, owner: g.peers[0]! } : g
}
