/**
 * The header side of message tracing (MsgTrace.ts): which blocks start a trace (nats-server
 * genHeaderMapIfTraceHeadersPresent: `Nats-Trace-Dest` in exact case and not disabled, or a
 * `traceparent` in any case with the sampled flag), the header map the event reports, and
 * `setHeader`, which the hop and disabled markers are written with.
 */
import { fc, test } from "@fast-check/vitest"
import { Buffer } from "node:buffer"
import { assert, describe, it } from "vitest"
import { findTraceHeaders, setHeader } from "../../src/core/TraceHeaders.ts"
import { decodeHeaders, headerValue } from "../../src/protocol/Headers.ts"

const block = (lines: ReadonlyArray<string>, status = "") =>
  Buffer.from(`NATS/1.0${status}\r\n${lines.map((l) => l + "\r\n").join("")}\r\n`, "latin1")
const find = (lines: ReadonlyArray<string>) => {
  const b = block(lines)
  return findTraceHeaders(Buffer.concat([b, Buffer.from("payload")]), b.length)
}

describe("findTraceHeaders", () => {
  it("Nats-Trace-Dest: the whole header map, names in their case, values trimmed", () => {
    assert.deepStrictEqual(find(["Nats-Msg-Id: 1", "Nats-Trace-Dest:  t.d ", "X: a", "X: b"]), {
      header: { "Nats-Msg-Id": ["1"], "Nats-Trace-Dest": ["t.d"], X: ["a", "b"] },
      external: false
    })
  })

  it("exact case for Nats-Trace-Dest; a disabled destination starts nothing, even beside a traceparent", () => {
    assert.strictEqual(find(["nats-trace-dest: t.d"]), undefined)
    assert.strictEqual(find(["Nats-Trace-Dest: trace disabled"]), undefined)
    assert.strictEqual(
      find(["traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "Nats-Trace-Dest: trace disabled"]),
      undefined
    )
  })

  it("traceparent in any case, only with the sampled bit; external when it is alone", () => {
    const tp = (flags: string) => `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-${flags}`
    assert.deepStrictEqual(find([`TRACEPARENT: ${tp("01")}`]), {
      header: { TRACEPARENT: [tp("01")] },
      external: true
    })
    assert.strictEqual(find([`traceparent: ${tp("03")}`])?.external, true)
    assert.strictEqual(find([`traceparent: ${tp("00")}`]), undefined)
    assert.strictEqual(find([`traceparent: ${tp("02")}`]), undefined)
    assert.strictEqual(find([`traceparent: ${tp("1")}`]), undefined)
    assert.strictEqual(find(["traceparent: 00-01"]), undefined)
    assert.strictEqual(find([`traceparent: ${tp("01")}`, "Nats-Trace-Dest: t.d"])?.external, false)
  })

  test.prop([
    fc.array(
      fc.tuple(
        fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
        fc.stringMatching(/^[ -~]{0,30}$/)
      ),
      { maxLength: 8 }
    )
  ])("blocks without trace keys start nothing; adding Nats-Trace-Dest always does", (entries) => {
    const lines = entries
      .filter(([k]) => k !== "Nats-Trace-Dest" && k.toLowerCase() !== "traceparent")
      .map(([k, v]) => `${k}: ${v}`)
    assert.strictEqual(find(lines), undefined)
    const found = find([...lines, "Nats-Trace-Dest: t.x"])
    assert.deepStrictEqual(found?.header["Nats-Trace-Dest"], ["t.x"])
    assert.strictEqual(found?.external, false)
  })
})

describe("setHeader", () => {
  test.prop([
    fc.array(fc.tuple(fc.stringMatching(/^X-[a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9]{1,10}$/)), { maxLength: 6 }),
    fc.stringMatching(/^[0-9.]{1,8}$/),
    fc.boolean()
  ])("sets one key (replacing or adding), keeps the other entries in order and the payload", (entries, v, present) => {
    const lines = entries.map(([k, x]) => `${k}: ${x}`)
    if (present) lines.splice(Math.floor(lines.length / 2), 0, "Nats-Trace-Hop: old")
    const b = block(lines, " 200")
    const msg = Buffer.concat([b, Buffer.from("body")])
    const out = setHeader(msg, b.length, "Nats-Trace-Hop", v)
    const head = out.msg.subarray(0, out.hdrLen)
    assert.strictEqual(headerValue(head, "Nats-Trace-Hop"), v)
    assert.strictEqual(Buffer.from(out.msg.subarray(out.hdrLen)).toString(), "body")
    const decoded = decodeHeaders(head)
    assert.strictEqual(decoded.status, "200")
    assert.deepStrictEqual(
      decoded.entries.filter(([k]) => k !== "Nats-Trace-Hop"),
      entries.map(([k, x]) => [k, x])
    )
    assert.strictEqual(decoded.entries.filter(([k]) => k === "Nats-Trace-Hop").length, 1)
  })
})
