/** writeDecimal puts exactly String(n)'s digits into the buffer, for every safe integer and around every power of ten. */
import { fc, test } from "@fast-check/vitest"
import { Buffer } from "node:buffer"
import { assert, describe, it } from "vitest"
import { writeDecimal } from "../../../src/jetstream/codec/Decimal.ts"

const written = (n: number, at: number): string => {
  const out = Buffer.alloc(at + 20, 0x2e)
  const end = writeDecimal(out, at, n)
  if (at > 0) assert.strictEqual(out[at - 1], 0x2e, "nothing written before `at`")
  assert.strictEqual(out[end], 0x2e, "nothing written past the end it returns")
  return out.toString("latin1", at, end)
}

describe("writeDecimal", () => {
  test.prop([fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer({ min: 0x7fff_fff0, max: 0x8000_0010 })), fc.nat(8)])(
    "writes String(n)",
    (n, at) => {
      assert.strictEqual(written(n, at), String(n))
    }
  )
  it("is exact at the edges of each digit count", () => {
    for (let d = 1; d <= 15; d++) {
      for (const n of [10 ** d - 1, 10 ** d, 10 ** d + 1]) assert.strictEqual(written(n, 3), String(n))
    }
    assert.strictEqual(written(Number.MAX_SAFE_INTEGER, 0), String(Number.MAX_SAFE_INTEGER))
    assert.strictEqual(written(0, 0), "0")
  })
})
