/** The outbound buffer writes exactly the protocol bytes it is given, whatever path a string takes. */
import { test } from "@fast-check/vitest"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { assert, describe, it } from "vitest"
import { Outbound } from "../../src/core/Outbound.ts"

const latin1 = fc.string({ maxLength: 300, unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) })
const drain = (o: Outbound): string => Buffer.concat(o.take()).toString("latin1")

describe("Outbound", () => {
  // Short strings are copied in JS and long ones by the native encoder: both must give the latin1 bytes.
  test.prop([
    latin1,
    fc.option(latin1, { nil: undefined }),
    fc.integer({ min: -1, max: 1e9 }),
    fc.oneof(fc.nat(2e9), fc.nat(120_000), fc.maxSafeNat())
  ])(
    "text and msgLine write the latin1 bytes of short and long strings",
    (line, reply, hdrLen, total) => {
      const o = new Outbound()
      o.text(line)
      o.msgLine(Buffer.from("MSG a.b 7 ", "latin1"), reply, hdrLen, total)
      const tail = `${reply === undefined ? "" : `${reply} `}${hdrLen >= 0 ? `${hdrLen} ` : ""}${total}\r\n`
      const expected = `${line}MSG a.b 7 ${tail}`
      assert.strictEqual(o.pending, expected.length)
      assert.strictEqual(drain(o), expected)
    }
  )

  it("keeps order across many messages spanning several slabs", () => {
    const o = new Outbound()
    let expected = ""
    for (let i = 0; i < 5000; i++) {
      const reply = `$JS.ACK.S.C.1.${i}.${i}.1700000000000000000.${5000 - i}`
      o.msgLine(Buffer.from("MSG bench.data 1 ", "latin1"), reply, -1, 3)
      o.bytes(Buffer.from("abc"))
      o.crlf()
      expected += `MSG bench.data 1 ${reply} 3\r\nabc\r\n`
    }
    assert.strictEqual(drain(o), expected)
  })
})
