/**
 * The route protocol parser: any stream of valid route operations cut into arbitrary reads parses
 * to the same operations as the whole stream; what `routedMsgLine` writes parses back to what was
 * sent (reply, queue groups, header size); arbitrary bytes never throw; nats-server's layouts.
 */
import { fc, test } from "@fast-check/vitest"
import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { routedMsgLine, RouteParser, type RouteSink } from "../../src/cluster/RouteParser.ts"

type Op =
  | { op: "info"; json: string }
  | { op: "connect"; json: string }
  | { op: "sub"; account: string; subject: string; queue: string | undefined; weight: number }
  | { op: "unsub"; account: string; subject: string; queue: string | undefined }
  | {
    op: "msg"
    account: string
    subject: string
    reply: string | undefined
    queues: ReadonlyArray<string> | undefined
    hdrLen: number
    msg: string
  }
  | { op: "ping" }
  | { op: "pong" }
  | { op: "ok" }
  | { op: "err"; text: string }
  | { op: "fatal"; text: string }

const parseAll = (input: string, cuts: ReadonlyArray<number> = []) => {
  const ops: Array<Op> = []
  const sink: RouteSink = {
    info: (json) => ops.push({ op: "info", json }),
    connect: (json) => ops.push({ op: "connect", json }),
    sub: (account, subject, queue, weight) => ops.push({ op: "sub", account, subject, queue, weight }),
    unsub: (account, subject, queue) => ops.push({ op: "unsub", account, subject, queue }),
    msg: (account, subject, reply, queues, hdrLen, msg) =>
      ops.push({ op: "msg", account, subject, reply, queues, hdrLen, msg: Buffer.from(msg).toString("latin1") }),
    ping: () => ops.push({ op: "ping" }),
    pong: () => ops.push({ op: "pong" }),
    ok: () => ops.push({ op: "ok" }),
    err: (text) => ops.push({ op: "err", text }),
    fatal: (e) => ops.push({ op: "fatal", text: e.text })
  }
  const parser = new RouteParser(sink, { maxPayload: 1024 * 1024, maxControlLine: 64 * 1024 })
  const bytes = Buffer.from(input, "latin1")
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  let prev = 0
  for (const p of [...points, bytes.length]) {
    if (p > prev) parser.feed(Buffer.from(bytes.subarray(prev, p)))
    prev = p
  }
  return ops
}

const token = fc.stringMatching(/^[A-Za-z0-9_\-$]{1,8}$/)
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."))
const account = fc.constantFrom("$G", "$SYS", "ACC", "b2")
const payload = fc.string({ unit: "binary", maxLength: 300 }).map((s) => Buffer.from(s, "utf8").toString("latin1"))

const msgArb = fc.tuple(
  account,
  subject,
  fc.option(subject, { nil: undefined }),
  fc.option(fc.array(token, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  payload
).map(([acc, subj, reply, queues, hdr, body]) => {
  const hdrLen = hdr === undefined ? -1 : Math.min(hdr, body.length)
  return {
    text: `${routedMsgLine(acc, subj, reply, queues, hdrLen, body.length)}${body}\r\n`,
    op: { op: "msg", account: acc, subject: subj, reply, queues, hdrLen, msg: body } as Op
  }
})

const opArb: fc.Arbitrary<{ text: string; op: Op }> = fc.oneof(
  msgArb,
  fc.tuple(account, subject, fc.option(fc.tuple(token, fc.integer({ min: 1, max: 999 })), { nil: undefined })).map((
    [acc, subj, q]
  ) => ({
    text: q === undefined ? `RS+ ${acc} ${subj}\r\n` : `RS+ ${acc} ${subj} ${q[0]} ${q[1]}\r\n`,
    op: { op: "sub", account: acc, subject: subj, queue: q?.[0], weight: q?.[1] ?? 1 } as Op
  })),
  fc.tuple(account, subject, fc.option(token, { nil: undefined })).map(([acc, subj, q]) => ({
    text: q === undefined ? `RS- ${acc} ${subj}\r\n` : `RS- ${acc} ${subj} ${q}\r\n`,
    op: { op: "unsub", account: acc, subject: subj, queue: q } as Op
  })),
  fc.record({ server_id: token, port: fc.nat({ max: 65535 }) }).map((o) => ({
    text: `INFO ${JSON.stringify(o)}\r\n`,
    op: { op: "info", json: JSON.stringify(o) } as Op
  })),
  fc.constantFrom(
    { text: "PING\r\n", op: { op: "ping" } as Op },
    { text: "PONG\r\n", op: { op: "pong" } as Op },
    { text: "+OK\r\n", op: { op: "ok" } as Op },
    { text: "-ERR 'Authorization Violation'\r\n", op: { op: "err", text: "Authorization Violation" } as Op }
  )
)

describe("RouteParser", () => {
  test.prop([fc.array(opArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 })], { numRuns: 300 })(
    "any valid route stream cut into arbitrary reads parses to the same ops as the whole stream",
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

  it("reads nats-server's layouts: reply, `+ reply queues`, `| queues`, HMSG, LS+", () => {
    const ops = parseAll(
      "RMSG $G foo 2\r\nhi\r\n" +
        "RMSG $G foo _INBOX.1 2\r\nhi\r\n" +
        "RMSG $G foo + _INBOX.1 q1 q2 2\r\nhi\r\n" +
        "RMSG $G foo | q1 2\r\nhi\r\n" +
        "HMSG $G foo _INBOX.2 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
        "LS+ origin $G bar q 3\r\n"
    )
    expect(ops).toEqual([
      { op: "msg", account: "$G", subject: "foo", reply: undefined, queues: undefined, hdrLen: -1, msg: "hi" },
      { op: "msg", account: "$G", subject: "foo", reply: "_INBOX.1", queues: undefined, hdrLen: -1, msg: "hi" },
      { op: "msg", account: "$G", subject: "foo", reply: "_INBOX.1", queues: ["q1", "q2"], hdrLen: -1, msg: "hi" },
      { op: "msg", account: "$G", subject: "foo", reply: undefined, queues: ["q1"], hdrLen: -1, msg: "hi" },
      {
        op: "msg",
        account: "$G",
        subject: "foo",
        reply: "_INBOX.2",
        queues: undefined,
        hdrLen: 12,
        msg: "NATS/1.0\r\n\r\nhi"
      },
      { op: "sub", account: "$G", subject: "bar", queue: "q", weight: 3 }
    ])
  })

  it("writes what nats-server writes", () => {
    expect(routedMsgLine("$G", "foo", undefined, undefined, -1, 5)).toBe("RMSG $G foo 5\r\n")
    expect(routedMsgLine("$G", "foo", "r", undefined, -1, 5)).toBe("RMSG $G foo r 5\r\n")
    expect(routedMsgLine("$G", "foo", "r", ["a", "b"], -1, 5)).toBe("RMSG $G foo + r a b 5\r\n")
    expect(routedMsgLine("$G", "foo", undefined, ["a"], -1, 5)).toBe("RMSG $G foo | a 5\r\n")
    expect(routedMsgLine("A", "foo", "r", undefined, 3, 5)).toBe("HMSG A foo r 3 5\r\n")
  })

  it("a bad reply indicator, a bad size or an unknown verb is fatal", () => {
    expect(parseAll("RMSG $G foo x q 2\r\nhi\r\n")).toEqual([{ op: "fatal", text: "Invalid Protocol Arguments" }])
    expect(parseAll("RMSG $G foo -1\r\n")).toEqual([{ op: "fatal", text: "Invalid Protocol Arguments" }])
    expect(parseAll("RS+ $G foo q 0\r\n")).toEqual([{ op: "fatal", text: "Invalid Protocol Arguments" }])
    expect(parseAll("SUB foo 1\r\n")).toEqual([{ op: "fatal", text: "Unknown Protocol Operation" }])
  })
})
