import { assert, describe, it } from "vitest"
import { parseGoDuration } from "../../../src/jetstream/codec/GoTime.ts"
import { ackKind, ackTarget, nakDelayMs, nextPullRequest } from "../../../src/jetstream/consumer/AckProcessing.ts"

const b = (s: string) => new TextEncoder().encode(s)

describe("ackKind (nats-server's processAck)", () => {
  it("whole-body verbs match exactly; +NXT and -NAK take an argument", () => {
    assert.strictEqual(ackKind(b("")), "ack")
    assert.strictEqual(ackKind(b("+ACK")), "ack")
    assert.strictEqual(ackKind(b("+OK")), "ack")
    assert.strictEqual(ackKind(b("+WPI")), "progress")
    assert.strictEqual(ackKind(b("+TERM")), "term")
    assert.strictEqual(ackKind(b("+TERM no longer needed")), "term")
    assert.strictEqual(ackKind(b("+NXT {\"batch\":2}")), "next")
    assert.strictEqual(ackKind(b("-NAK {\"delay\":5}")), "nak")
    for (const other of ["+ACKS", "+ACK ", "+OKAY", "+WPI2", "+TERMINATE", "ack", "+nak", "{}"]) {
      assert.strictEqual(ackKind(b(other)), undefined, other)
    }
  })
})

describe("ackTarget (nats-server's ackReplyInfo)", () => {
  it("reads the stream and consumer sequence of a nine-token ack subject", () => {
    assert.deepStrictEqual(ackTarget("$JS.ACK.S.C.1.42.7.1700000000000000000.0"), { sseq: 42, dseq: 7 })
    assert.deepStrictEqual(ackTarget("$JS.ACK.ORDERS.c-1.3.9007199254740991.12.1.5"), {
      sseq: 9007199254740991,
      dseq: 12
    })
    // A consumer sequence that is not digits names no delivery of its own (the stream sequence still counts).
    assert.deepStrictEqual(ackTarget("$JS.ACK.S.C.1.42.x.1.0"), { sseq: 42, dseq: -1 })
  })
  it("names nothing for other token counts, empty or non-decimal stream sequences, or zero", () => {
    for (
      const s of [
        "$JS.ACK.S.C.1.42.7.1",
        "$JS.ACK.S.C.1.42.7.1.0.9",
        "$JS.ACK.S.C.1..7.1.0",
        "$JS.ACK.S.C.1.4a.7.1.0",
        "$JS.ACK.S.C.1. 42.7.1.0",
        "$JS.ACK.S.C.1.0x10.7.1.0",
        "$JS.ACK.S.C.1.0.7.1.0",
        "$JS.ACK.S.C.1.99999999999999999999.7.1.0"
      ]
    ) assert.strictEqual(ackTarget(s), undefined, s)
  })
})

describe("nakDelayMs (ConsumerNakOptions or a Go duration)", () => {
  const delay = (s: string) => {
    const warned: Array<string> = []
    return [nakDelayMs(b(s), (t) => warned.push(t)), warned.length] as const
  }
  it("reads the JSON delay in ns and Go durations", () => {
    assert.deepStrictEqual(delay(" {\"delay\":2000000000}"), [2000, 0])
    assert.deepStrictEqual(delay(" {\"DELAY\":1000000}"), [1, 0])
    assert.deepStrictEqual(delay(" {\"delay\":null}"), [0, 0])
    assert.deepStrictEqual(delay(" 1.5s"), [1500, 0])
    assert.deepStrictEqual(delay(" 1h30m"), [5_400_000, 0])
    assert.deepStrictEqual(delay(" -2m"), [-120_000, 0])
    assert.deepStrictEqual(delay(""), [undefined, 0])
    assert.deepStrictEqual(delay("   "), [undefined, 0])
  })
  it("a malformed argument is a plain NAK with a warning, never some other delay", () => {
    for (
      const bad of [
        " {\"delay\":\"5s\"}",
        " {\"delay\":1.5}",
        " {\"delay\":1e9}",
        " {\"delay\":5,\"x\":1}",
        " {\"delay\":",
        " 5",
        " 1.5",
        " 5 s",
        " s",
        " 1d"
      ]
    ) {
      assert.deepStrictEqual(delay(bad), [undefined, 1], bad)
    }
  })
  it("parseGoDuration follows time.ParseDuration", () => {
    assert.strictEqual(parseGoDuration("0"), 0)
    assert.strictEqual(parseGoDuration(".5s"), 500)
    assert.strictEqual(parseGoDuration("300ms"), 300)
    assert.strictEqual(parseGoDuration("1500us"), 1.5)
    assert.strictEqual(parseGoDuration("+1m"), 60_000)
    for (const bad of ["", "-", "1", "ms", "1.s.", "1s ", "1 s"]) {
      assert.strictEqual(parseGoDuration(bad), undefined, bad)
    }
  })
})

describe("nextPullRequest (+NXT)", () => {
  it("is a pull request body, refused with nats-server's statuses", () => {
    assert.deepStrictEqual(nextPullRequest(true, b(" {\"batch\":3,\"no_wait\":true}")), {
      batch: 3,
      expiresNs: 0,
      noWait: true,
      maxBytes: 0,
      heartbeatNs: 0,
      // A JSON body carries the (2.11) priority group members, zero here.
      group: { group: "", minPending: 0, minAckPending: 0, id: "", priority: 0 }
    })
    assert.deepStrictEqual(nextPullRequest(true, b("")), {
      batch: 1,
      expiresNs: 0,
      noWait: false,
      maxBytes: 0,
      heartbeatNs: 0
    })
    assert.deepStrictEqual(nextPullRequest(true, b(" 4")), {
      batch: 4,
      expiresNs: 0,
      noWait: false,
      maxBytes: 0,
      heartbeatNs: 0
    })
    assert.strictEqual(
      nextPullRequest(true, b(" {\"batch\":\"3\"}")),
      "400 Bad Request - json: cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int"
    )
    assert.strictEqual(
      nextPullRequest(true, b(" {\"batch\":3,\"x\":1}")),
      "400 Bad Request - json: unknown field \"x\""
    )
    assert.strictEqual(nextPullRequest(true, b(" {\"batch\":")), "400 Bad Request - unexpected end of JSON input")
    assert.strictEqual(nextPullRequest(false, b(" {\"batch\":3}")), "409 Consumer is push based")
  })
})
