/**
 * The counter arithmetic of stream/Counter.ts on its own (ADR-49; nats-server stream.go
 * processJetStreamMsg): header rewriting as nats-server's setHeader, `Nats-Counter-Sources` as Go's
 * json.Marshal writes the map, and the source-aware aggregation as a property: whatever a source
 * delivers or loses, the aggregate ends at the sum of each origin subject's last total plus its own
 * increments.
 */
import { fc } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { ApiError } from "../../../src/jetstream/model/ApiError.ts"
import { applyIncrement, checkIncrement, type Counted } from "../../../src/jetstream/stream/Counter.ts"
import { decodeHeaders, encodeHeaders, headerValue } from "../../../src/protocol/Headers.ts"
import type { StoredMessage } from "../../../src/store/MessageLog.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()

const stored = (c: Counted, seq = 1): StoredMessage => ({ seq, subject: "s", hdr: c.hdr, data: c.data, ts: 0n })
const ok = (r: Counted | ApiError): Counted => {
  if (r instanceof ApiError) throw new Error(r.description)
  return r
}

describe("checkIncrement", () => {
  it("reads big.Int SetString's grammar; refusals in nats-server's order", () => {
    const h = (pairs: Array<[string, string]>) => encodeHeaders(undefined, pairs)
    expect(checkIncrement(h([["Nats-Incr", "+12345678901234567890123"]]), 0, true, false)).toBe(
      12345678901234567890123n
    )
    expect(checkIncrement(h([["Nats-Incr", "-3"]]), 0, true, false)).toBe(-3n)
    expect(checkIncrement(h([["Other", "x"]]), 0, true, false)).toBeUndefined()
    const code = (r: unknown) => (r instanceof ApiError ? r.err_code : r)
    expect(code(checkIncrement(h([["Nats-Incr", "x"]]), 5, false, false))).toBe(10171)
    expect(code(checkIncrement(h([["Nats-Incr", "+1"]]), 5, false, false))).toBe(10168)
    expect(code(checkIncrement(h([["Nats-Incr", "+1"]]), 5, true, false))).toBe(10170)
    // A sourced increment is taken as is (payload and all).
    expect(checkIncrement(h([["Nats-Incr", "+1"], ["Nats-Rollup", "sub"]]), 5, false, true)).toBe(1n)
  })
})

describe("applyIncrement", () => {
  it("rewrites Nats-Incr in place (its single space kept) and adds Nats-Counter-Sources last, sorted bytewise", () => {
    const first = ok(
      applyIncrement(
        undefined,
        encodeHeaders(undefined, [["Nats-Incr", "7"], ["Nats-Stream-Source", "ORIG 4"], ["X", "y"]]),
        enc.encode(`{"val":"7"}`),
        7n,
        "o.9"
      )
    )
    expect(dec.decode(first.hdr)).toBe(
      `NATS/1.0\r\nNats-Incr: 7\r\nNats-Stream-Source: ORIG 4\r\nX: y\r\nNats-Counter-Sources: {"ORIG":{"o.9":"7"}}\r\n\r\n`
    )
    const second = ok(
      applyIncrement(
        stored(first),
        encodeHeaders(undefined, [["Nats-Incr", "+100"], ["Nats-Stream-Source", "ORIG 5"]]),
        enc.encode(`{"val":"100"}`),
        100n,
        "o.10"
      )
    )
    // "o.10" sorts before "o.9" (Go sorts map keys as bytes, not as numbers).
    expect(headerValue(second.hdr, "Nats-Counter-Sources")).toBe(`{"ORIG":{"o.10":"100","o.9":"7"}}`)
    expect(headerValue(second.hdr, "Nats-Incr")).toBe("100")
    expect([second.val, dec.decode(second.data)]).toEqual(["107", `{"val":"107"}`])
    // A local increment carries the sources along unchanged, and keeps its own Nats-Incr text.
    const local = ok(
      applyIncrement(stored(second), encodeHeaders(undefined, [["Nats-Incr", "+1"]]), enc.encode(""), 1n, undefined)
    )
    expect(decodeHeaders(local.hdr).entries).toEqual([
      ["Nats-Incr", "+1"],
      ["Nats-Counter-Sources", `{"ORIG":{"o.10":"100","o.9":"7"}}`]
    ])
    expect(local.val).toBe("108")
  })

  it("a last message that is not a counter is broken; Go's decoding rules decide what is one", () => {
    const last = (body: string, hdr?: Uint8Array): StoredMessage => ({
      seq: 1,
      subject: "s",
      hdr,
      data: enc.encode(body),
      ts: 0n
    })
    const h = encodeHeaders(undefined, [["Nats-Incr", "+1"]])
    const val = (body: string, lastHdr?: Uint8Array) => {
      const r = applyIncrement(last(body, lastHdr), h, enc.encode(""), 1n, undefined)
      return r instanceof ApiError ? r.err_code : r.val
    }
    expect(val(`{"val":"41"}`)).toBe("42")
    expect(val(`{"VAL":"41","other":[1]}`)).toBe("42")
    expect(val(`null`)).toBe("1")
    expect(val(`{"val":41}`)).toBe(10172)
    expect(val(``)).toBe(10172)
    expect(val(`[]`)).toBe(10172)
    expect(val(`{"val":"1"} x`)).toBe(10172)
    expect(val(`{"val":"1"}`, encodeHeaders(undefined, [["Nats-Counter-Sources", `{"a":{"b":1}}`]]))).toBe(10172)
    expect(val(`{"val":"1"}`, encodeHeaders(undefined, [["Nats-Counter-Sources", `{"a":null}`]]))).toBe("2")
  })

  it("aggregates any delivery of source totals (lost, repeated, interleaved) to the last total per origin subject", () => {
    const event = fc.oneof(
      fc.record({
        kind: fc.constant("sourced" as const),
        stream: fc.constantFrom("A", "B"),
        subject: fc.constantFrom("x", "y"),
        total: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })
      }),
      fc.record({ kind: fc.constant("local" as const), by: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }) })
    )
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let last: StoredMessage | undefined
        const seen = new Map<string, bigint>()
        let local = 0n
        let recount = 0n
        for (const [i, e] of events.entries()) {
          const r = e.kind === "local"
            ? applyIncrement(
              last,
              encodeHeaders(undefined, [["Nats-Incr", `${e.by}`]]),
              enc.encode(""),
              e.by,
              undefined
            )
            : applyIncrement(
              last,
              encodeHeaders(undefined, [["Nats-Incr", "+999"], ["Nats-Stream-Source", `${e.stream} ${i}`]]),
              enc.encode(`{"val":"${e.total}"}`),
              999n,
              e.subject
            )
          const c = ok(r)
          if (e.kind === "local") local += e.by
          else seen.set(`${e.stream}/${e.subject}`, e.total)
          recount += BigInt(headerValue(c.hdr, "Nats-Incr")!)
          last = stored(c, i + 1)
          let want = local
          for (const v of seen.values()) want += v
          expect(c.val).toBe(want.toString())
          // Nats-Incr is rewritten to what the aggregate added: recounting the headers gives the total.
          expect(recount.toString()).toBe(c.val)
        }
      }),
      { numRuns: 200 }
    )
  })
})
