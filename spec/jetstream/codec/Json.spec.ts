import { fc, test } from "@fast-check/vitest"
import { assert, describe, it } from "vitest"
import { parseTime } from "../../../src/jetstream/codec/GoTime.ts"
import { encodeJson, formatTime, parseJson } from "../../../src/jetstream/codec/Json.ts"

describe("encodeJson", () => {
  it("escapes strings like Go's encoding/json", () => {
    assert.strictEqual(encodeJson("a<b>&c"), "\"a\\u003cb\\u003e\\u0026c\"")
    assert.strictEqual(encodeJson("\b\f\n\r\t\u0001\u001f\u007f"), "\"\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\u007f\"")
    assert.strictEqual(encodeJson("\u2028\u2029é😀\"\\/"), "\"\\u2028\\u2029é😀\\\"\\\\/\"")
    assert.strictEqual(encodeJson("x\ud800y\udc00"), "\"x\\ufffdy\\ufffd\"")
  })
  it("writes bigint as integers and otherwise follows JSON.stringify", () => {
    assert.strictEqual(
      encodeJson({ seq: 2n ** 64n - 1n, n: -0, f: 1.5, e: 1e21, s: 1e-7, u: undefined, a: [undefined, null] }),
      "{\"seq\":18446744073709551615,\"n\":-0,\"f\":1.5,\"e\":1e+21,\"s\":1e-7,\"a\":[null,null]}"
    )
    assert.strictEqual(encodeJson(undefined), "null")
    assert.strictEqual(encodeJson(new Date(0)), "\"1970-01-01T00:00:00.000Z\"")
    assert.strictEqual(
      encodeJson({ type: "t", x: [true, false, Infinity] }),
      "{\"type\":\"t\",\"x\":[true,false,null]}"
    )
  })
})

describe("parseJson", () => {
  it("keeps integers past 2^53 exact", () => {
    assert.deepStrictEqual(
      parseJson("[9007199254740991,9007199254740992,-9007199254740993,18446744073709551615,1.5e300,0.1]"),
      [
        9007199254740991,
        9007199254740992n,
        -9007199254740993n,
        18446744073709551615n,
        1.5e300,
        0.1
      ]
    )
  })
  it("returns undefined for invalid JSON", () => {
    for (
      const t of [
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "01",
        "1.",
        ".5",
        "+1",
        "-",
        "1e",
        "\"\\x\"",
        "\"a\nb\"",
        "tru",
        "nul",
        "[1] 2",
        "\ufeff1",
        "{a:1}",
        "'a'",
        "NaN",
        "\"\\u12\""
      ]
    ) {
      assert.strictEqual(parseJson(t), undefined, JSON.stringify(t))
    }
  })
  it("agrees with JSON.parse on valid documents", () => {
    for (
      const t of [
        "null",
        "true",
        " {\"a\" : [1, {\"b\":\"\\u00e9\\n\"}], \"c\": -0.5e-3 } ",
        "\"\\ud83d\\ude00\"",
        "[]",
        "{}",
        "[[[]]]"
      ]
    ) {
      assert.deepStrictEqual(parseJson(t), JSON.parse(t), t)
    }
    assert.deepStrictEqual(Object.keys(parseJson("{\"__proto__\":1}") as object), ["__proto__"])
  })
  it("replaces lone surrogates like Go and survives deep nesting", () => {
    assert.strictEqual(parseJson("\"\\ud800x\""), "\ufffdx")
    const deep = "[".repeat(5000) + "]".repeat(5000)
    assert.isTrue(Array.isArray(parseJson(deep)))
    assert.strictEqual(parseJson("[".repeat(10001) + "]".repeat(10001)), undefined)
  })

  const toNumbers = (v: unknown): unknown =>
    typeof v === "bigint"
      ? Number(v)
      : Array.isArray(v)
      ? v.map(toNumbers)
      : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toNumbers(x)]))
      : v

  // JSON values whose numbers are integers (any size), safe-ish floats, strings without lone surrogates.
  const jsonValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map((
        b
      ) => (b >= -(2n ** 53n) + 1n && b <= 2n ** 53n - 1n ? Number(b) : b)),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
      fc.string({ unit: "grapheme" }),
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(fc.string().filter((k) => k !== "__proto__"), tie("value"), { maxKeys: 5 })
    )
  })).value

  test.prop([jsonValue])("parseJson(encodeJson(v)) deep-equals v", (v) => {
    assert.deepStrictEqual(parseJson(encodeJson(v)), v)
  })
  test.prop([jsonValue])("parseJson accepts what JSON.stringify writes (no bigints)", (v) => {
    const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x))
    assert.deepStrictEqual(toNumbers(parseJson(text)), JSON.parse(text))
  })
})

describe("time", () => {
  it("formats like Go's time.Time MarshalJSON", () => {
    assert.strictEqual(formatTime(0n), "0001-01-01T00:00:00Z")
    assert.strictEqual(formatTime(1795306963454420000n), "2026-11-22T00:22:43.45442Z")
    assert.strictEqual(formatTime(1795306963000000000n), "2026-11-22T00:22:43Z")
    assert.strictEqual(formatTime(1795306963000000001n), "2026-11-22T00:22:43.000000001Z")
    assert.strictEqual(formatTime(-1n), "1969-12-31T23:59:59.999999999Z")
  })
  // The second's text is kept between calls: runs of timestamps in one second, and jumps between seconds, must
  // both format as parseTime reads them back.
  test.prop([fc.array(fc.bigInt({ min: 1n, max: 4102444800n * 1_000_000_000n }), { minLength: 1, maxLength: 20 })])(
    "formatTime round-trips through parseTime, within a second and across seconds",
    (seeds) => {
      for (const ts of seeds.flatMap((t) => [t, t + 1n, t - (t % 1_000_000_000n), t + 999n])) {
        assert.strictEqual(parseTime(formatTime(ts)), ts)
      }
    }
  )
  it("parses RFC 3339 with fraction and offset", () => {
    assert.strictEqual(parseTime("2026-11-22T00:22:43.45442Z"), 1795306963454420000n)
    assert.strictEqual(parseTime("2026-11-22T02:22:43.45442+02:00"), 1795306963454420000n)
    assert.strictEqual(parseTime("2026-11-21T23:22:43.45442-01:00"), 1795306963454420000n)
    assert.strictEqual(parseTime("0001-01-01T00:00:00Z"), 0n)
    assert.strictEqual(parseTime("1970-01-01T00:00:01.1234567891Z"), 1_123_456_789n)
    for (
      const bad of [
        "",
        "2026-11-22",
        "2026-11-22 00:22:43Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T00:22:43",
        "2026-11-22T00:22:43.Z",
        "2026-11-22t00:22:43z"
      ]
    ) {
      assert.strictEqual(parseTime(bad), undefined, bad)
    }
    assert.strictEqual(parseTime("2024-02-29T00:00:00Z"), 1709164800000000000n)
  })
  test.prop([
    fc.bigInt({ min: -62135596800n * 1_000_000_000n + 1n, max: 253402300799999999999n }).filter((n) => n !== 0n)
  ])(
    "parseTime(formatTime(ns)) === ns for years 1..9999",
    (ns) => {
      assert.strictEqual(parseTime(formatTime(ns)), ns)
    }
  )
})
