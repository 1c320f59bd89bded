/**
 * The nats-server configuration syntax, form by form (behaviour taken from nats-server 2.9.10
 * `conf/lex.go`/`parse.go` and checked against `nats-server -t`, see Differential.spec.ts).
 */
import { fc, test } from "@fast-check/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import * as L from "../../src/config/ConfigLexer.ts"

const parse = (text: string, env: Record<string, string> = {}) => {
  const r = L.parseText(text, "t.conf", { env })
  if (r._tag === "Failure") throw new Error(r.error.render())
  return L.toJs(r.root) as Record<string, unknown>
}
const failure = (text: string, env: Record<string, string> = {}) => {
  const r = L.parseText(text, "t.conf", { env })
  assert.strictEqual(r._tag, "Failure", `expected a syntax error for ${JSON.stringify(text)}`)
  return (r as { error: L.ConfigSyntaxError }).error
}

describe("key/value forms", () => {
  it("accepts `:`, `=` and whitespace separators, `;` and `,` terminators and comments", () => {
    assert.deepStrictEqual(
      parse("a: 1\nb = 2\nc 3\nd:4; e=5, f 6 # comment\n// another\n  g = 7 // trailing\n"),
      { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }
    )
  })

  it("accepts the whole file wrapped in braces and quoted keys", () => {
    assert.deepStrictEqual(parse("{ port: 1, \"my key\": 2, 'k2' = 3 }"), { port: 1, "my key": 2, k2: 3 })
  })

  it("keeps the last of duplicated keys", () => {
    assert.deepStrictEqual(parse("a: 1\na: 2"), { a: 2 })
  })

  it("reads nested blocks with or without a separator, and arrays over several lines", () => {
    assert.deepStrictEqual(
      parse(`jetstream {
  store_dir: "/data" # where
  limits = { a: 1; b: 2 }
}
cluster: { routes: [
  nats://a:1, # first
  "nats://b:2"
  nats://c:3
] }`),
      {
        jetstream: { store_dir: "/data", limits: { a: 1, b: 2 } },
        cluster: { routes: ["nats://a:1", "nats://b:2", "nats://c:3"] }
      }
    )
  })
})

describe("values", () => {
  it("strings: double quotes with escapes, single quotes verbatim, bare", () => {
    assert.deepStrictEqual(parse(String.raw`a: "x\ty\n\"q\"\\\x41"` + "\nb: 'no \\t escape'\nc: bare/path.conf"), {
      a: "x\ty\n\"q\"\\A",
      b: "no \\t escape",
      c: "bare/path.conf"
    })
  })

  it("booleans in every spelling and case, but not when quoted", () => {
    assert.deepStrictEqual(parse("a: true\nb: FALSE\nc: yes\nd: No\ne: on\nf: off\ng: \"true\""), {
      a: true,
      b: false,
      c: true,
      d: false,
      e: true,
      f: false,
      g: "true"
    })
  })

  it("integers, negatives, floats, addresses and dates", () => {
    const v = parse("a: 42\nb: -1\nc: 1.5\nd: 127.0.0.1:4222\ne: 127.0.0.1:-1\nf: 2024-01-02T03:04:05Z\ng: 0.0.0.0")
    assert.deepStrictEqual(v, {
      a: 42,
      b: -1,
      c: 1.5,
      d: "127.0.0.1:4222",
      e: "127.0.0.1:-1",
      f: new Date("2024-01-02T03:04:05Z"),
      g: "0.0.0.0"
    })
  })

  it("size suffixes: k/m/g/t/p/e decimal, kb/ki/kib... binary, any case", () => {
    assert.deepStrictEqual(
      parse("a: 64K\nb: 1KB\nc: 2ki\nd: 512MB\ne: 1G\nf: 1GB\ng: 3gib\nh: 1T\ni: 1tb\nj: -2k\nk: 1m"),
      {
        a: 64_000,
        b: 1024,
        c: 2048,
        d: 512 * 1024 ** 2,
        e: 1e9,
        f: 1024 ** 3,
        g: 3 * 1024 ** 3,
        h: 1e12,
        i: 1024 ** 4,
        j: -2000,
        k: 1_000_000
      }
    )
  })

  it("number-like words stay strings as in nats-server (durations must be quoted or are strings anyway)", () => {
    assert.deepStrictEqual(parse("a: 500ms\nb: 10s\nc: 2h45m\nd: 4222abc\ne: \"2m\""), {
      a: "500ms",
      b: "10s",
      c: "2h45m",
      d: "4222abc",
      e: "2m"
    })
  })

  it("a multi-line ( ... ) block is a string", () => {
    assert.deepStrictEqual(parse("a: (\nline one\n  line two\n)\nb: 1"), { a: "\nline one\n  line two", b: 1 })
  })

  test.prop([
    fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }),
    fc.constantFrom("", "k", "K", "kb", "KiB", "m", "MB", "g", "Gi")
  ])(
    "every integer with every suffix reads back as value × multiplier",
    (n, suffix) => {
      const mult = {
        "": 1,
        k: 1000,
        K: 1000,
        kb: 1024,
        KiB: 1024,
        m: 1e6,
        MB: 1024 ** 2,
        g: 1e9,
        Gi: 1024 ** 3
      }[suffix]!
      assert.strictEqual(parse(`v: ${n}${suffix}`).v, Number(n) * mult)
    }
  )

  test.prop([fc.string({ maxLength: 30 })])("any string survives double-quoting with escapes", (s) => {
    const escaped = [...s].map((c) =>
      c === "\"" ? "\\\"" : c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : c
    ).join("")
    assert.strictEqual(parse(`v: "${escaped}"`).v, s)
  })
})

describe("variables", () => {
  it("resolve against earlier keys, enclosing blocks first, then the environment", () => {
    assert.deepStrictEqual(
      parse("PORT: 4222\nport: $PORT\nouter: 1\nb { outer: 2, x: $outer }\nc { y: $outer }\nd: $FROM_ENV\ne: $SIZE", {
        FROM_ENV: "hello",
        SIZE: "1MB"
      }),
      { PORT: 4222, port: 4222, outer: 1, b: { outer: 2, x: 2 }, c: { y: 1 }, d: "hello", e: 1024 ** 2 }
    )
  })

  it("marks the referenced entry as used", () => {
    const r = L.parseText("X: 1\nport: $X\nY: 2", "t.conf")
    assert(r._tag === "Success")
    assert.strictEqual(r.root.entries.get("X")!.usedAsVariable, true)
    assert.strictEqual(r.root.entries.get("Y")!.usedAsVariable, false)
  })

  it("a missing variable names it and the line", () => {
    const e = failure("a: 1\nport: $NOPE")
    assert.strictEqual(
      e.render(),
      `t.conf:2:7: variable reference for 'NOPE' on line 2 can not be found (at key "port")`
    )
  })

  it("bcrypt hashes are not variables", () => {
    assert.deepStrictEqual(parse("p: $2a$11$abc"), { p: "$2a$11$abc" })
  })
})

describe("include", () => {
  it("merges the included keys, relative to the including file, with their own positions", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfg-"))
    fs.mkdirSync(path.join(dir, "sub"))
    fs.writeFileSync(path.join(dir, "sub", "js.conf"), "store_dir: \"/x\"\nmax_mem: 1G\n")
    fs.writeFileSync(path.join(dir, "sub", "more.conf"), "include 'js.conf'\nextra: true\n")
    fs.writeFileSync(
      path.join(dir, "main.conf"),
      "port: 1\njetstream {\n  include sub/more.conf\n}\ninclude \"sub/js.conf\"\n"
    )
    const r = L.parseFile(path.join(dir, "main.conf"))
    assert(r._tag === "Success")
    assert.deepStrictEqual(L.toJs(r.root), {
      port: 1,
      jetstream: { store_dir: "/x", max_mem: 1e9, extra: true },
      store_dir: "/x",
      max_mem: 1e9
    })
    assert.deepStrictEqual(r.root.entries.get("max_mem")!.keyPos, {
      file: path.join(dir, "sub", "js.conf"),
      line: 2,
      column: 1
    })
  })

  it("a missing include and a syntax error inside one name the file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfg-"))
    fs.writeFileSync(path.join(dir, "main.conf"), "port: 1\ninclude nope.conf\n")
    const r = L.parseFile(path.join(dir, "main.conf"))
    assert(r._tag === "Failure")
    assert.match(r.error.render(), /main\.conf:2:9: error opening include file 'nope\.conf'.*ENOENT/)
    fs.writeFileSync(path.join(dir, "bad.conf"), "a: 1\nb: [1, 2\n")
    fs.writeFileSync(path.join(dir, "main.conf"), "include bad.conf\n")
    const r2 = L.parseFile(path.join(dir, "main.conf"))
    assert(r2._tag === "Failure")
    assert.strictEqual(r2.error.pos.file, path.join(dir, "bad.conf"))
  })

  it("an include cycle is an error, not a stack overflow", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfg-"))
    fs.writeFileSync(path.join(dir, "a.conf"), "include b.conf\n")
    fs.writeFileSync(path.join(dir, "b.conf"), "include a.conf\n")
    const r = L.parseFile(path.join(dir, "a.conf"))
    assert(r._tag === "Failure")
    assert.match(r.error.message, /nested too deeply/)
  })
})

describe("syntax errors name file, line, column and key", () => {
  const cases: ReadonlyArray<[string, string]> = [
    [
      "port: 1 2",
      `t.conf:1:9: Expected a top-level value to end with a new line, comment or EOF, but got '2' instead.`
    ],
    ["a {\n  b: 1\n  c: [1, 2\n", `t.conf:4:1: Unexpected EOF processing array. (at key "a.c")`],
    ["jetstream {\n  store_dir: /x\n", `t.conf:3:1: Unexpected EOF processing map. (at key "jetstream")`],
    ["a: \"unterminated", `t.conf:1:17: Unexpected EOF. (at key "a")`],
    ["x: 1.5s", `t.conf:1:7: Expected a top-level value to end with a new line, comment or EOF, but got 's' instead.`],
    ["a = \n1", `t.conf:1:5: Expected value but found new line (at key "a")`],
    ["= 1", `t.conf:1:1: Unexpected key separator '='.`],
    ["a: [1,,2]", `t.conf:1:7: Unexpected array value terminator ','. (at key "a")`],
    [
      String.raw`a: "\q"`,
      String
        .raw`t.conf:1:7: Invalid escape character 'q'. Only the following escape characters are allowed: \xXX, \t, \n, \r, \", \\. (at key "a")`
    ],
    ["a: 99999999999999999999", `t.conf:1:4: integer '99999999999999999999' is out of the range (at key "a")`],
    ["a: 12-01", `t.conf:1:6: All ISO8601 dates must be in full Zulu form. (at key "a")`],
    ["a: 2024-1-02", `t.conf:1:11: Expected digit in ISO8601 datetime, but found '-' instead. (at key "a")`],
    ["a: -x", `t.conf:1:5: Expected a digit but got 'x'. (at key "a")`],
    ["a: .5", `t.conf:1:4: Floats must start with a digit (at key "a")`],
    ["a { b }", `t.conf:1:7: key "b" has no value (at key "a.b")`]
  ]
  for (const [text, message] of cases) {
    it(JSON.stringify(text), () => assert.strictEqual(failure(text).render(), message))
  }
})
