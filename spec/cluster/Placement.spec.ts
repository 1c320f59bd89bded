/**
 * Placement of a new stream: cluster, tags (every one, any case), then the least loaded live node,
 * ties broken by name; nats-server's "no suitable peers for placement" text with its reasons.
 */
import { describe, expect, it } from "vitest"
import { type Candidate, place } from "../../src/jetstream/cluster/Placement.ts"

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
})
