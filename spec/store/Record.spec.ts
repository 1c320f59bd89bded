/** The pure pieces: CRC-32 known answers, record framing round trip, subject filter semantics. */
import { assert, describe, it } from "@effect/vitest"
import { test } from "@fast-check/vitest"
import fc from "fast-check"
import { crc32 } from "../../src/store/Crc32.ts"
import * as Record from "../../src/store/Record.ts"
import { isLiteral, matches } from "../../src/store/SubjectFilter.ts"

describe("crc32", () => {
  it("matches the standard check values", () => {
    assert.strictEqual(crc32(Buffer.from("123456789")), 0xcbf43926)
    assert.strictEqual(crc32(Buffer.alloc(0)), 0)
    assert.strictEqual(crc32(Buffer.from("The quick brown fox jumps over the lazy dog")), 0x414fa339)
  })
  test.prop([fc.uint8Array({ maxLength: 100 }), fc.nat(100)])(
    "chains: crc(a ++ b) = crc(b, seed crc(a))",
    (bytes, cut) => {
      const k = Math.min(cut, bytes.length)
      assert.strictEqual(crc32(bytes), crc32(bytes, k, bytes.length, crc32(bytes, 0, k)))
    }
  )
  // Long ranges go to zlib's native crc32, short ones to the JS tables: chaining a long range from short pieces
  // crosses between the two, so both must compute the same function (and honour start/end/seed).
  test.prop([fc.uint8Array({ minLength: 400, maxLength: 3000 }), fc.nat(3000), fc.nat(3000)])(
    "the native and JS paths agree: long ranges chain from short pieces",
    (bytes, a, b) => {
      const lo = Math.min(a, b, bytes.length)
      const hi = Math.min(Math.max(a, b), bytes.length)
      let seed = 0
      for (let i = lo; i < hi; i += 7) seed = crc32(bytes, i, Math.min(i + 7, hi), seed)
      assert.strictEqual(crc32(bytes, lo, hi), seed)
    }
  )
  it("a long range is the standard CRC-32", () => {
    const big = Buffer.alloc(20_000, "The quick brown fox jumps over the lazy dog")
    let seed = 0
    for (let i = 0; i < big.length; i += 100) seed = crc32(big, i, i + 100, seed)
    assert.strictEqual(crc32(big), seed)
    assert.strictEqual(crc32(big, 0, 43), 0x414fa339)
  })
})

describe("record framing", () => {
  test.prop([
    fc.string({
      minLength: 1,
      maxLength: 40,
      unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c))
    }),
    fc.option(fc.uint8Array({ maxLength: 50 }), { nil: undefined }),
    fc.uint8Array({ maxLength: 200 }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })
  ])("encode then check/decode round-trips every field", (subject, hdr, data, ts, seq) => {
    const len = Record.frameLength(subject.length, hdr?.length ?? 0, data.length)
    const buf = Buffer.alloc(len + 8)
    assert.strictEqual(Record.encode(buf, 8, seq, subject, hdr, data, ts), len + 8)
    assert.strictEqual(Record.check(buf, 8, len, true), Record.Check.Live)
    assert.deepStrictEqual(Record.checked, { len, seq })
    const m = Record.decode(buf, 8, seq)!
    assert.strictEqual(m.subject, subject)
    assert.strictEqual(m.ts, ts)
    assert.deepStrictEqual([...m.data], [...data])
    assert.deepStrictEqual(m.hdr === undefined ? undefined : [...m.hdr], hdr === undefined ? undefined : [...hdr])
    assert.strictEqual(Record.check(buf, 8, len - 1, true), Record.Check.Torn)
    buf.writeUInt32LE(Record.DEAD, 8 + Record.STATE_OFFSET)
    assert.strictEqual(Record.check(buf, 8, len, true), Record.Check.Dead)
  })

  // decode reuses the previous subject's string when the bytes are the same: a same-length different subject, or
  // the same one in another buffer, must still come out exactly.
  test.prop([fc.array(fc.constantFrom("bench.data", "bench.date", "bench.dat", "orders.eu", "bench.data"), {
    minLength: 1,
    maxLength: 20
  })])("consecutive decodes of similar subjects each return their own subject", (subjects) => {
    for (const [i, subject] of subjects.entries()) {
      const buf = Buffer.alloc(Record.frameLength(subject.length, 0, 1))
      Record.encode(buf, 0, i + 1, subject, undefined, new Uint8Array([i]), 1n)
      assert.strictEqual(Record.decode(buf, 0, i + 1)!.subject, subject)
    }
  })

  it("a state word that is neither LIVE nor DEAD is corruption", () => {
    const buf = Buffer.alloc(64)
    const end = Record.encode(buf, 0, 1, "a", undefined, new Uint8Array([1, 2]), 5n)
    buf[Record.STATE_OFFSET] = buf[Record.STATE_OFFSET]! ^ 1
    assert.strictEqual(Record.check(buf, 0, end, true), Record.Check.Corrupt)
  })
})

/** Naive reference: split into tokens. */
const naive = (filter: string, subject: string): boolean => {
  if (filter === "" || filter === ">") return true
  const f = filter.split(".")
  const s = subject.split(".")
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">" && i === f.length - 1) return s.length > i
    if (i >= s.length) return false
    if (f[i] !== "*" && f[i] !== s[i]) return false
  }
  return f.length === s.length
}

describe("subject filters", () => {
  it("matches NATS wildcard semantics", () => {
    const cases: Array<[string, string, boolean]> = [
      ["a.b", "a.b", true],
      ["a.*", "a.b", true],
      ["a.*", "a.b.c", false],
      ["a.>", "a.b.c", true],
      ["a.>", "a", false],
      ["*", "a.b", false],
      [">", "x.y", true],
      ["a.b", "a.bc", false],
      ["*.b.*", "x.b.y", true]
    ]
    for (const [f, s, want] of cases) assert.strictEqual(matches(f, s), want, `${f} ~ ${s}`)
    assert.deepStrictEqual([isLiteral("a.b"), isLiteral("a.*"), isLiteral("a*b"), isLiteral(">")], [
      true,
      false,
      true,
      false
    ])
  })

  const token = fc.constantFrom("a", "b", "cc", "*", ">")
  test.prop([
    fc.array(token, { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom("a", "b", "cc"), { minLength: 1, maxLength: 4 })
  ])(
    "agrees with a naive token-split matcher",
    (f, s) => {
      const filter = f.join(".")
      assert.strictEqual(matches(filter, s.join(".")), naive(filter, s.join(".")))
    }
  )
})
