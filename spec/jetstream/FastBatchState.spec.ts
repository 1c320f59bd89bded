/**
 * The fast-ingest batch state machine (stream/FastBatch.ts) without sockets: reply-subject parsing
 * as nats-server's getFastBatch, the in-flight limits (per stream, per server) with idle batches
 * swept first, the idle timeout, and a model property over arbitrary message sequences.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ApiError, ApiErrors } from "../../src/jetstream/model/ApiError.ts"
import {
  FastBatchBudget,
  FastBatches,
  type FastBatchHost,
  parseFastBatchReply
} from "../../src/jetstream/stream/FastBatch.ts"

/** A stream that stores everything and records every answer as text. */
const host = (clock: { now: number }, opts: { refuse?: (n: number) => ApiError | undefined } = {}) => {
  const stored: Array<string> = []
  const answers: Array<string> = []
  const h: FastBatchHost = {
    config: { allow_batched: true, sealed: false, max_msg_size: -1 },
    resourcesRefusal: () => undefined,
    store: (_subject, _hdrLen, msg) => {
      const text = new TextDecoder().decode(msg)
      const e = opts.refuse?.(Number(text))
      if (e !== undefined) return { _tag: "Refused", error: e }
      stored.push(text)
      return { _tag: "Stored", seq: stored.length }
    },
    answers: {
      error: (reply, e) => void answers.push(`${reply} error ${e.err_code}`),
      raw: (reply, body) => void answers.push(`${reply} ${body}`),
      batchStored: (reply, seq, batch, count) => void answers.push(`${reply} puback ${seq} ${batch} ${count}`)
    },
    nowMs: () => clock.now
  }
  return { h, stored, answers }
}

const reply = (id: string, seq: number, op: number, flow = 10, gap = "fail") =>
  `in.${id}.${flow}.${gap}.${seq}.${op}.$FI`
const b = (s: string) => new TextEncoder().encode(s)

describe("parseFastBatchReply (nats-server getFastBatch)", () => {
  it("reads the tokens from the right", () => {
    expect(parseFastBatchReply("_INBOX.abc.a.b.7.ok.3.1.$FI")).toEqual({
      id: "b",
      seq: 3n,
      flow: 7,
      gapOk: true,
      op: 1
    })
    // A flow of 0 or not a number takes 10; more than 65535 is capped.
    expect(parseFastBatchReply("p.id.0.fail.1.0.$FI")?.flow).toBe(10)
    expect(parseFastBatchReply("p.id.x.fail.1.0.$FI")?.flow).toBe(10)
    expect(parseFastBatchReply("p.id.99999.fail.1.0.$FI")?.flow).toBe(65535)
    expect(parseFastBatchReply("p.id.1.fail.1.4.$FI")?.op).toBe(4)
    expect(parseFastBatchReply("p.id.1.fail.1.2.$FI")?.op).toBe(2)
  })

  it("refuses what nats-server refuses", () => {
    for (
      const r of [
        "id.1.fail.1.0.$FI", // no token before the id
        "p.id.1.fail.1.5.$FI", // unknown op
        "p.id.1.fail.1.x.$FI",
        "p.id.1.fail.0.0.$FI", // sequence 0
        "p.id.1.fail.18446744073709551615.1.$FI", // 2^64-1
        "p.id.1.fail.-1.1.$FI",
        "p.id.1.fail.1.3.$FI", // a lone end of batch
        "p.id.1.fail.2.0.$FI", // start past 1
        "p.id.1.fail.1.1.$FI", // append at 1
        "p.id.1.maybe.1.0.$FI"
      ]
    ) expect(parseFastBatchReply(r), r).toBeUndefined()
    expect(parseFastBatchReply("p.id.1.fail.18446744073709551614.1.$FI")?.seq).toBe(2n ** 64n - 2n)
  })
})

describe("limits and expiry", () => {
  it("refuses a batch past the stream's limit (10211) until an idle one times out", () => {
    const clock = { now: 0 }
    const budget = new FastBatchBudget({ perStream: 2, total: 10, timeoutMs: 1000 })
    const s = new FastBatches(budget)
    const { h, answers } = host(clock)
    s.process(h, "x", reply("a", 1, 0), 0, b("1"))
    s.process(h, "x", reply("b", 1, 0), 0, b("1"))
    s.process(h, "x", reply("c", 1, 0), 0, b("1"))
    expect(answers.at(-1)).toBe(`${reply("c", 1, 0)} error 10211`)
    expect(budget.inflight).toBe(2)
    clock.now = 500
    s.process(h, "x", reply("a", 2, 1), 0, b("2"))
    clock.now = 1200
    // b idled for 1200 ms (swept), a for 700 ms (kept).
    s.process(h, "x", reply("c", 1, 0), 0, b("1"))
    // Beside another batch it starts at one message per ack (and ramps up after the first).
    expect(answers.slice(-2)).toEqual([
      `${reply("c", 1, 0)} {"type":"ack","seq":0,"msgs":1}`,
      `${reply("c", 1, 0)} {"type":"ack","seq":1,"msgs":2}`
    ])
    expect(s.size).toBe(2)
    // b is gone: its next message is for an unknown batch.
    s.process(h, "x", reply("b", 2, 1), 0, b("2"))
    expect(answers.at(-1)).toBe(`${reply("b", 2, 1)} error 10208`)
  })

  it("the server-wide total sweeps idle batches of every stream before refusing", () => {
    const clock = { now: 0 }
    const budget = new FastBatchBudget({ perStream: 10, total: 2, timeoutMs: 1000 })
    const s1 = new FastBatches(budget)
    const s2 = new FastBatches(budget)
    const { h, answers } = host(clock)
    s1.process(h, "x", reply("a", 1, 0), 0, b("1"))
    s1.process(h, "x", reply("b", 1, 0), 0, b("1"))
    s2.process(h, "x", reply("c", 1, 0), 0, b("1"))
    expect(answers.at(-1)).toBe(`${reply("c", 1, 0)} error 10211`)
    clock.now = 1000
    s2.process(h, "x", reply("c", 1, 0), 0, b("1"))
    expect(answers.at(-1)).toBe(`${reply("c", 1, 0)} {"type":"ack","seq":0,"msgs":10}`)
    expect([s1.size, s2.size, budget.inflight]).toEqual([0, 1, 1])
    // A committed batch gives its place back; so does clearing a stream.
    s2.process(h, "x", reply("c", 2, 2), 0, b("2"))
    expect(budget.inflight).toBe(0)
    s1.process(h, "x", reply("d", 1, 0), 0, b("1"))
    s1.clear()
    expect([s1.size, budget.inflight, budget.holders.size]).toEqual([0, 0, 0])
  })

  it("allow_batched off, a sealed stream and an oversized message answer before the batch is looked at", () => {
    const s = new FastBatches(new FastBatchBudget())
    const { h, answers } = host({ now: 0 })
    const off = { ...h, config: { ...h.config, allow_batched: false } }
    const sealed = { ...h, config: { ...h.config, sealed: true } }
    const small = { ...h, config: { ...h.config, max_msg_size: 1 } }
    s.process(off, "x", "not.a.batch.$FI", 0, b("1"))
    s.process(sealed, "x", reply("a", 1, 0), 0, b("1"))
    s.process(small, "x", reply("a", 1, 0), 0, b("12"))
    s.process(h, "x", "not.a.batch.$FI", 0, b("1"))
    expect(answers).toEqual([
      "not.a.batch.$FI error 10205",
      `${reply("a", 1, 0)} error 10109`,
      `${reply("a", 1, 0)} error 10054`,
      "not.a.batch.$FI error 10206"
    ])
    expect(s.size).toBe(0)
  })

  it("Nats-Required-Api-Level above ours ends the batch (10185); an acceptable one is not stored", () => {
    const s = new FastBatches(new FastBatchBudget())
    const seen: Array<string> = []
    const { h, answers } = host({ now: 0 })
    const h2: FastBatchHost = {
      ...h,
      store: (subject, hdrLen, msg) => {
        seen.push(new TextDecoder().decode(msg.subarray(0, hdrLen)))
        return h.store(subject, hdrLen, msg.subarray(hdrLen))
      }
    }
    const hdr = (level: string) => `NATS/1.0\r\nNats-Required-Api-Level: ${level}\r\nX: y\r\n\r\n`
    const msg = (level: string, body: string) => b(hdr(level) + body)
    s.process(h2, "x", reply("a", 1, 0), hdr("0").length, msg("0", "1"))
    expect(seen).toEqual(["NATS/1.0\r\nX: y\r\n\r\n"])
    s.process(h2, "x", reply("a", 2, 1), hdr("99").length, msg("99", "2"))
    expect(answers.at(-1)).toBe(`${reply("a", 2, 1)} error 10185`)
    expect(s.size).toBe(0)
  })
})

/** What a gap-fail batch must end with for a sequence of sent batch sequences (the model). */
describe("property", () => {
  it("gap fail: the stored messages are exactly the in-order prefix before the first gap or refusal", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.integer({ min: 2, max: 60 }), { nil: undefined }),
        fc.option(fc.integer({ min: 2, max: 60 }), { nil: undefined }),
        (n, flow, lost, refusedAt) => {
          // A lost message, or one past the batch, is never refused.
          const refused = refusedAt === lost || (refusedAt ?? 0) > n ? undefined : refusedAt
          const s = new FastBatches(new FastBatchBudget())
          const { h, stored, answers } = host({ now: 0 }, {
            refuse: (k) => (k === refused ? ApiErrors.streamWrongLastSequence(k - 1) : undefined)
          })
          for (let seq = 1; seq <= n; seq++) {
            if (seq === lost) continue
            const op = seq === 1 ? (n === 1 ? 2 : 0) : seq === n ? 2 : 1
            s.process(h, "x", reply("p", seq, op, flow), 0, b(`${seq}`))
          }
          const end = Math.min(n + 1, lost ?? Infinity, refused ?? Infinity)
          const expected = Array.from({ length: end - 1 }, (_, i) => `${i + 1}`)
          const acks = answers.filter((a) => a.includes("puback"))
          // Exactly one PubAck, counting the stored prefix, unless the last message was lost.
          const pubAckExpected = lost === n && refused === undefined ? 0 : 1
          return JSON.stringify(stored) === JSON.stringify(expected) && acks.length === pubAckExpected &&
            (pubAckExpected === 0 || acks[0]!.endsWith(` ${expected.length} p ${expected.length}`)) &&
            // Flow acks never claim more than is stored and never go backwards.
            answers.filter((a) => a.includes(`"type":"ack"`)).map((a) => Number(/"seq":(\d+)/.exec(a)![1]))
              .every((q, i, all) => q <= expected.length && (i === 0 || q >= all[i - 1]!))
        }
      ),
      { numRuns: 300 }
    )
  })
})
