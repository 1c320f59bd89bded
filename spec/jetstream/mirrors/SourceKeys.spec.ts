/**
 * How a sourcing stream tells its sources apart and finds where each one resumes: nats-server's
 * composeIName (stream name, then filters and destinations when it filters) and the
 * `Nats-Stream-Source` tag (`<name> <seq>` for a stream's only source, as nats-server 2.9.10 writes
 * it; `<name> <seq> <filters> <dests>` for a stream sourced twice, as 2.10+ does).
 */
import { describe, expect, it } from "vitest"
import { sourceKey } from "../../../src/jetstream/model/StreamConfig.ts"
import { sourcedSeq, withSourceHeader } from "../../../src/jetstream/stream/StreamSource.ts"

const tagOf = (hdr: Uint8Array) => /Nats-Stream-Source: ([^\r]*)/.exec(Buffer.from(hdr).toString("latin1"))?.[1]

describe("source keys and tags", () => {
  it("keys: the name alone without filters, else name, filters and destinations", () => {
    expect(sourceKey({ name: "O" })).toBe("O")
    expect(sourceKey({ name: "O", filter_subject: "o.a" })).toBe("O o.a >")
    expect(sourceKey({ name: "O", subject_transforms: [{ src: "o.a", dest: "x" }, { src: "", dest: "" }] }))
      .toBe("O o.a\f> x\f>")
  })

  it("tags round-trip, and each source finds only its own (or an earlier sole-source tag)", () => {
    const a = sourceKey({ name: "O", filter_subject: "o.a" })
    const b = sourceKey({ name: "O", filter_subject: "o.b" })
    const tagged = withSourceHeader(undefined, a, 7)
    expect(tagOf(tagged)).toBe("O 7 o.a >")
    expect(sourcedSeq(tagged, a)).toBe(7)
    expect(sourcedSeq(tagged, b)).toBeUndefined()
    expect(sourcedSeq(tagged, b, true)).toBe(7)
    // Written while O had one source: any source of O resumes after it.
    const sole = withSourceHeader(undefined, "O", 5)
    expect(tagOf(sole)).toBe("O 5")
    expect([sourcedSeq(sole, a), sourcedSeq(sole, b), sourcedSeq(sole, "O")]).toEqual([5, 5, 5])
    expect(sourcedSeq(sole, "P")).toBeUndefined()
    // An earlier hop's tag is replaced, the message's own headers kept.
    const hop = withSourceHeader(new TextEncoder().encode("NATS/1.0\r\nX: 1\r\nNats-Stream-Source: Q 9\r\n\r\n"), a, 8)
    expect(Buffer.from(hop).toString("latin1")).toBe("NATS/1.0\r\nX: 1\r\nNats-Stream-Source: O 8 o.a >\r\n\r\n")
  })
})
