import { fc, test } from "@fast-check/vitest"
import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { Parser, type ParserSink, type ProtocolViolation } from "../../src/protocol/Parser.ts"

type Op =
  | { op: "connect"; json: string }
  | { op: "pub"; subject: string; reply: string | undefined; hdrLen: number; msg: string }
  | { op: "sub"; subject: string; queue: string | undefined; sid: string }
  | { op: "unsub"; sid: string; max: number | undefined }
  | { op: "ping" }
  | { op: "pong" }
  | { op: "fatal"; text: string }

const collect = (limits = { maxPayload: 1024 * 1024, maxControlLine: 4096 }) => {
  const ops: Array<Op> = []
  const sink: ParserSink = {
    connect: (json) => ops.push({ op: "connect", json }),
    pub: (subject, reply, hdrLen, msg) =>
      ops.push({ op: "pub", subject, reply, hdrLen, msg: Buffer.from(msg).toString("latin1") }),
    sub: (subject, queue, sid) => ops.push({ op: "sub", subject, queue, sid }),
    unsub: (sid, max) => ops.push({ op: "unsub", sid, max }),
    ping: () => ops.push({ op: "ping" }),
    pong: () => ops.push({ op: "pong" }),
    fatal: (e: ProtocolViolation) => ops.push({ op: "fatal", text: e.text })
  }
  return { ops, parser: new Parser(sink, limits) }
}

const parseAll = (input: string, cuts: ReadonlyArray<number> = []) => {
  const { ops, parser } = collect()
  const bytes = Buffer.from(input, "latin1")
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let prev = 0
  for (const p of [...points, bytes.length]) {
    // Copy each piece, as a socket would hand us separate buffers.
    if (p > prev) parser.feed(Buffer.from(bytes.subarray(prev, p)))
    prev = p
  }
  return ops
}

const token = fc.stringMatching(/^[A-Za-z0-9_\-$]{1,8}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."))
const wildSubject = fc.array(fc.oneof(token, fc.constant("*")), { minLength: 1, maxLength: 4 })
  .chain((t) => fc.boolean().map((fwc) => (fwc ? [...t, ">"] : t).join(".")))
const payload = fc.string({ unit: "binary", maxLength: 300 }).map((s) => Buffer.from(s, "utf8").toString("latin1"))
/** Publishers repeat subjects: equal-length near-misses exercise the parser's last-subject reuse. */
const pubSubject = fc.oneof(subject, fc.constantFrom("orders.eu", "orders.us", "orderz.eu", "o"))
const verbCase = (verb: string) => fc.boolean().map((lower) => (lower ? verb.toLowerCase() : verb))

/** A valid op and its wire text. */
const opArb: fc.Arbitrary<{ text: string; op: Op }> = fc.oneof(
  fc.tuple(verbCase("PUB"), pubSubject, fc.option(subject, { nil: undefined }), payload).map(([v, s, r, p]) => ({
    text: `${v} ${s}${r === undefined ? "" : " " + r} ${p.length}\r\n${p}\r\n`,
    op: { op: "pub", subject: s, reply: r, hdrLen: -1, msg: p } as Op
  })),
  fc.tuple(
    pubSubject,
    fc.option(subject, { nil: undefined }),
    fc.array(fc.tuple(token, token), { maxLength: 3 }),
    payload
  )
    .map(([s, r, hs, p]) => {
      const hdr = `NATS/1.0\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`
      return {
        text: `HPUB ${s}${r === undefined ? "" : " " + r} ${hdr.length} ${hdr.length + p.length}\r\n${hdr}${p}\r\n`,
        op: { op: "pub", subject: s, reply: r, hdrLen: hdr.length, msg: hdr + p } as Op
      }
    }),
  fc.tuple(verbCase("SUB"), wildSubject, fc.option(token, { nil: undefined }), token).map(([v, s, q, sid]) => ({
    text: `${v} ${s}${q === undefined ? "" : " " + q} ${sid}\r\n`,
    op: { op: "sub", subject: s, queue: q, sid } as Op
  })),
  fc.tuple(token, fc.option(fc.nat({ max: 1000 }), { nil: undefined })).map(([sid, max]) => ({
    text: `UNSUB ${sid}${max === undefined ? "" : " " + max}\r\n`,
    op: { op: "unsub", sid, max } as Op
  })),
  verbCase("PING").map((v) => ({ text: `${v}\r\n`, op: { op: "ping" } as Op })),
  verbCase("PONG").map((v) => ({ text: `${v}\r\n`, op: { op: "pong" } as Op })),
  fc.record({ verbose: fc.boolean(), name: token }).map((o) => ({
    text: `CONNECT ${JSON.stringify(o)}\r\n`,
    op: { op: "connect", json: JSON.stringify(o) } as Op
  }))
)

describe("Parser", () => {
  test.prop([fc.array(opArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 })], { numRuns: 300 })(
    "any valid op stream cut into arbitrary chunks parses to the same ops as the whole stream",
    (items, cuts) => {
      const text = items.map((i) => i.text).join("")
      const whole = parseAll(text)
      expect(whole).toEqual(items.map((i) => i.op))
      expect(parseAll(text, cuts)).toEqual(whole)
    }
  )

  test.prop([fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 10 })], { numRuns: 500 })(
    "arbitrary bytes never throw, and nothing is reported after a fatal error",
    (bytes, cuts) => {
      const ops = parseAll(Buffer.from(bytes).toString("latin1"), cuts)
      const fatal = ops.findIndex((o) => o.op === "fatal")
      if (fatal >= 0) expect(fatal).toBe(ops.length - 1)
    }
  )

  it("returns payloads as views of the read buffer when they arrive whole", () => {
    const views: Array<Uint8Array> = []
    const sink: ParserSink = {
      connect() {},
      pub: (_s, _r, _h, msg) => void views.push(msg),
      sub() {},
      unsub() {},
      ping() {},
      pong() {},
      fatal() {}
    }
    const chunk = Buffer.from("PUB a 5\r\nhello\r\nPUB b 2\r\nhi\r\n")
    new Parser(sink, { maxPayload: 100, maxControlLine: 100 }).feed(chunk)
    expect(views.map((v) => Buffer.from(v).toString())).toEqual(["hello", "hi"])
    expect(views[0]!.buffer).toBe(chunk.buffer)
  })

  const fatalCases: Array<[string, string]> = [
    ["FOO\r\n", "Unknown Protocol Operation"],
    ["PUB a 2\r\nhello\r\n", "Unknown Protocol Operation"],
    ["PUB a 1\nx\nPING\n", "Unknown Protocol Operation"],
    ["PUB a 5000\r\n", "Maximum Payload Violation"],
    [`PUB ${"a".repeat(200)} 1\r\n`, "maximum control line exceeded"],
    [`SUB ${"a".repeat(200)}`, "maximum control line exceeded"],
    ["SUB foo\r\n", "Invalid Protocol Arguments"],
    ["PUB a -1\r\n", "Invalid Protocol Arguments"],
    ["HPUB a 5 2\r\n", "Invalid Protocol Arguments"],
    ["HPUB a 3 2\r\n", "Invalid Protocol Arguments"],
    ["UNSUB\r\n", "Invalid Protocol Arguments"],
    ["\r\n", "Unknown Protocol Operation"],
    ["PINGX\r\n", "Unknown Protocol Operation"]
  ]
  for (const [input, text] of fatalCases) {
    it(`${JSON.stringify(input.slice(0, 24))} → -ERR '${text}'`, () => {
      const { ops, parser } = collect({ maxPayload: 1024, maxControlLine: 128 })
      parser.feed(Buffer.from(input, "latin1"))
      parser.feed(Buffer.from("PING\r\n"))
      expect(ops).toEqual([{ op: "fatal", text }])
      expect(parser.isDead).toBe(true)
    })
  }

  it("accepts LF-only control lines and tabs between arguments, like nats-server", () => {
    expect(parseAll("PING\nSUB\ta\t1\nPUB a 1\r\nx\r\n")).toEqual([
      { op: "ping" },
      { op: "sub", subject: "a", queue: undefined, sid: "1" },
      { op: "pub", subject: "a", reply: undefined, hdrLen: -1, msg: "x" }
    ])
  })

  it("keeps subject bytes exact through latin1 (UTF-8 subjects round-trip)", () => {
    const subject = Buffer.from("caf\u00e9.\u4e16", "utf8").toString("latin1")
    const ops = parseAll(`SUB ${subject} 1\r\n`)
    expect(ops).toEqual([{ op: "sub", subject, queue: undefined, sid: "1" }])
    expect(Buffer.from((ops[0] as { subject: string }).subject, "latin1").toString("utf8")).toBe("caf\u00e9.\u4e16")
  })
})
