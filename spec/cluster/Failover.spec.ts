/**
 * Where the meta leader moves a replicated stream whose owner is offline, and where a stepdown
 * sends it (src/jetstream/cluster/Failover.ts): the first live peer of the group in its order,
 * else another live node fitting the placement, the dead owner kept last in the group.
 */
import { describe, expect, it } from "vitest"
import type { NodeRow, StreamRow } from "../../src/cluster/store/ClusterStore.ts"
import type { ClusterView } from "../../src/jetstream/cluster/ClusterView.ts"
import { nextOwner, orphans } from "../../src/jetstream/cluster/Failover.ts"

const node = (serverName: string, alive: boolean, tags: Array<string> = []): NodeRow => ({
  serverName,
  serverId: serverName,
  cluster: "c1",
  clientUrl: "",
  tags,
  usage: {},
  alive,
  heartbeatAgeMs: alive ? 100 : 9000
})

const row = (name: string, owner: string, peers: Array<string>, config: unknown = {}): StreamRow => ({
  account: "$G",
  name,
  config,
  owner,
  status: "ready",
  result: undefined,
  replicas: peers.length,
  peers
})

const viewOf = (nodes: Array<NodeRow>, rows: Array<StreamRow>): ClusterView =>
  ({
    options: { serverName: "n1", clusterName: "c1" },
    nodes,
    streams: new Map(rows.map((r) => [`${r.account}\u0000${r.name}`, r]))
  }) as unknown as ClusterView

describe("failover choices", () => {
  it("an offline owner's stream goes to its first live peer; live owners and R1 streams stay", () => {
    const v = viewOf([node("n1", false), node("n2", false), node("n3", true), node("n4", true)], [
      row("A", "n1", ["n1", "n2", "n3"]),
      row("B", "n3", ["n3", "n1", "n2"]),
      { ...row("C", "n2", []), replicas: 1 }
    ])
    expect(orphans(v).map((m) => [m.row.name, m.owner, m.peers])).toEqual([["A", "n3", ["n3", "n2", "n1"]]])
  })

  it("with no live peer, a live node that fits the placement replaces the group's dead ones", () => {
    const v = viewOf([node("n1", false), node("n2", false), node("n3", true, ["ssd"]), node("n4", true)], [
      row("A", "n1", ["n1", "n2"], { placement: { tags: ["ssd"] } })
    ])
    expect(orphans(v).map((m) => [m.owner, m.peers])).toEqual([["n3", ["n3", "n2"]]])
    const none = viewOf([node("n1", false), node("n2", false), node("n4", true)], [
      row("A", "n1", ["n1", "n2"], { placement: { tags: ["ssd"] } })
    ])
    expect(orphans(none)).toEqual([])
  })

  it("a stepdown picks the next live peer other than the owner", () => {
    const v = viewOf([node("n1", true), node("n2", false), node("n3", true)], [])
    const r = row("A", "n1", ["n1", "n2", "n3"])
    expect(nextOwner(v, r)).toEqual({ row: r, owner: "n3", peers: ["n3", "n2", "n1"] })
    expect(nextOwner(viewOf([node("n1", true)], []), row("A", "n1", ["n1"]))).toBeUndefined()
  })
})
