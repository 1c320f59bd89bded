/**
 * Placement of a new stream: cluster, tags (every one, any case), then the least loaded live node,
 * ties broken by name; nats-server's "no suitable peers for placement" text with its reasons.
 */
import { describe, expect, it } from "vitest"
import { type Candidate, place, placeGroup } from "../../src/jetstream/cluster/Placement.ts"

const node = (
  serverName: string,
  streams: number,
  tags: Array<string> = [],
  alive = true,
  cluster = "c1"
): Candidate => ({
  serverName,
  cluster,
  tags,
  alive,
  streams
})

describe("placement", () => {
  it("picks the live node with the fewest streams, ties by name", () => {
    expect(place("c1", { cluster: undefined, tags: [] }, [node("b", 1), node("a", 1), node("c", 0)])).toEqual({
      ok: true,
      owner: "c"
    })
    expect(place("c1", { cluster: "", tags: [] }, [node("b", 2), node("a", 2)])).toEqual({ ok: true, owner: "a" })
    expect(place("c1", { cluster: undefined, tags: [] }, [node("a", 0, [], false), node("b", 9)])).toEqual({
      ok: true,
      owner: "b"
    })
  })

  it("needs every requested tag, compared without case", () => {
    const nodes = [node("a", 0, ["az:1"]), node("b", 5, ["az:2", "ssd"]), node("c", 0, ["SSD"])]
    expect(place("c1", { cluster: undefined, tags: ["ssd"] }, nodes)).toEqual({ ok: true, owner: "c" })
    expect(place("c1", { cluster: undefined, tags: ["SSD", "az:2"] }, nodes)).toEqual({ ok: true, owner: "b" })
  })

  it("refuses with the reasons: offline peers, unmatched tags, another cluster", () => {
    expect(place("c1", { cluster: undefined, tags: ["gpu"] }, [node("a", 0), node("b", 0, [], false)])).toEqual({
      ok: false,
      error: "no suitable peers for placement, peer offline, tags not matched ['gpu']"
    })
    expect(place("c1", { cluster: "c2", tags: [] }, [node("a", 0)])).toEqual({
      ok: false,
      error: "no suitable peers for placement"
    })
    expect(place("c1", { cluster: "c2", tags: [] }, [node("a", 0), node("z", 0, [], true, "c2")])).toEqual({
      ok: true,
      owner: "z"
    })
  })

  it("a replicated group: the least loaded fit nodes, owner first; too few is refused with the reasons", () => {
    const nodes = [node("a", 2), node("b", 0), node("c", 1), node("d", 0, [], false)]
    expect(placeGroup("c1", { cluster: undefined, tags: [] }, nodes, 3, undefined)).toEqual({
      ok: true,
      peers: ["b", "c", "a"]
    })
    expect(placeGroup("c1", { cluster: undefined, tags: [] }, nodes, 4, undefined)).toEqual({
      ok: false,
      error: "no suitable peers for placement, peer offline"
    })
    // A replacement keeps the group's live peers and adds the best other node.
    expect(placeGroup("c1", { cluster: undefined, tags: [] }, nodes, 3, undefined, ["a", "c"])).toEqual({
      ok: true,
      peers: ["a", "c", "b"]
    })
  })

  it("unique_tag: one peer per value of the tag with that prefix; naming it in the tags turns the check off", () => {
    const nodes = [node("a", 0, ["az:1"]), node("b", 0, ["az:1"]), node("c", 1, ["az:2"]), node("d", 2, [])]
    expect(placeGroup("c1", { cluster: undefined, tags: [] }, nodes, 2, "az:")).toEqual({ ok: true, peers: ["a", "c"] })
    expect(placeGroup("c1", { cluster: undefined, tags: [] }, nodes, 3, "az:")).toEqual({
      ok: false,
      error: "no suitable peers for placement, server tag not unique"
    })
    expect(placeGroup("c1", { cluster: undefined, tags: ["az:1"] }, nodes, 2, "az:")).toEqual({
      ok: true,
      peers: ["a", "b"]
    })
  })
})
