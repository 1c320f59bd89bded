/**
 * Stream state as a property: random interleavings of publishes (with and without Nats-Msg-Id and
 * expected-last-sequence headers), purges (all, by subject, keep, up to seq), message deletes and
 * max_msgs changes keep STREAM.INFO equal to a simple model after every step.
 */
import { fc } from "@fast-check/vitest"
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

type Cmd =
  | { c: "pub"; subject: string; id: string | undefined; expectLast: "none" | "right" | "wrong" }
  | { c: "purge"; how: "all" | "subject" | "keep" | "seq"; subject: string; n: number }
  | { c: "delete"; pick: number }
  | { c: "maxMsgs"; max: number }

const subject = fc.constantFrom("s.a", "s.b", "s.c")
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      c: fc.constant("pub" as const),
      subject,
      id: fc.option(fc.constantFrom("i1", "i2", "i3", "i4", "i5", "i6"), { nil: undefined }),
      expectLast: fc.constantFrom("none" as const, "none" as const, "right" as const, "wrong" as const)
    })
  },
  {
    weight: 1,
    arbitrary: fc.record({
      c: fc.constant("purge" as const),
      how: fc.constantFrom("all" as const, "subject" as const, "keep" as const, "seq" as const),
      subject,
      n: fc.integer({ min: 0, max: 6 })
    })
  },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("maxMsgs" as const), max: fc.integer({ min: -1, max: 6 }) }) }
)

interface Msg {
  readonly seq: number
  readonly subject: string
}

class Model {
  msgs: Array<Msg> = []
  lastSeq = 0
  maxMsgs = -1
  readonly ids = new Map<string, number>()
  lastId = ""

  enforce() {
    if (this.maxMsgs > 0) { while (this.msgs.length > this.maxMsgs) this.msgs.shift() }
  }

  state() {
    const first = this.msgs.length > 0 ? this.msgs[0]!.seq : this.lastSeq === 0 ? 0 : this.lastSeq + 1
    // Deleting the newest message keeps last_seq, so deletes are counted up to the stream's last seq.
    const numDeleted = this.msgs.length > 0 ? this.lastSeq - first + 1 - this.msgs.length : 0
    return {
      messages: this.msgs.length,
      first_seq: first,
      last_seq: this.lastSeq,
      num_deleted: numDeleted > 0 ? numDeleted : undefined,
      num_subjects: this.msgs.length > 0 ? new Set(this.msgs.map((m) => m.subject)).size : undefined
    }
  }
}

let run = 0

describe("stream state (property, over the wire)", () => {
  let broker: RunningBroker
  let nc: NatsConnection
  let jsm: JetStreamManager
  let js: JetStreamClient
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
    nc = await connect({ servers: broker.url })
    jsm = await jetstreamManager(nc)
    js = jetstream(nc)
  })
  afterAll(async () => {
    await nc.close()
    await broker.stop()
  })

  it("STREAM.INFO equals the model after every publish, purge, delete and limit change", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 25 }), async (cmds) => {
        const name = `SS${++run}`
        await jsm.streams.add({ name, subjects: ["s.*"].map((s) => s.replace("s", `s${run}`)) })
        const prefix = `s${run}`
        const m = new Model()
        try {
          for (const x of cmds) {
            if (x.c === "pub") {
              const subj = x.subject.replace("s", prefix)
              const expectLast = x.expectLast === "right"
                ? m.lastSeq
                : x.expectLast === "wrong"
                ? m.lastSeq + 7
                : undefined
              const opts = {
                ...(x.id ? { msgID: x.id } : {}),
                ...(expectLast !== undefined ? { expect: { lastSequence: expectLast } } : {})
              }
              let outcome: string
              try {
                const ack = await js.publish(subj, new Uint8Array(3), opts)
                outcome = ack.duplicate ? `dup:${ack.seq}` : `ok:${ack.seq}`
              } catch {
                outcome = "error"
              }
              // Model: dedup first, then the expected-last-sequence check, then append.
              let want: string
              if (x.id !== undefined && m.ids.has(x.id)) want = `dup:${m.ids.get(x.id)}`
              else if (expectLast !== undefined && expectLast !== m.lastSeq) want = "error"
              else {
                m.lastSeq++
                m.msgs.push({ seq: m.lastSeq, subject: subj })
                if (x.id !== undefined) m.ids.set(x.id, m.lastSeq)
                m.enforce()
                want = `ok:${m.lastSeq}`
              }
              expect(outcome).toBe(want)
            } else if (x.c === "purge") {
              const subj = x.subject.replace("s", prefix)
              let r
              if (x.how === "all") {
                r = await jsm.streams.purge(name)
                m.msgs = []
              } else if (x.how === "subject") {
                r = await jsm.streams.purge(name, { filter: subj })
                m.msgs = m.msgs.filter((q) => q.subject !== subj)
              } else if (x.how === "keep") {
                r = await jsm.streams.purge(name, { keep: x.n })
                m.msgs = x.n === 0 ? [] : m.msgs.slice(-x.n)
              } else {
                r = await jsm.streams.purge(name, { seq: x.n })
                // seq 0 means "not set" and seq 1 purges everything, as nats-server does; past the end
                // it moves the sequence on (compact semantics: first = n, last = n - 1).
                m.msgs = x.n <= 1 ? [] : m.msgs.filter((q) => q.seq >= x.n)
                if (x.n > 1) m.lastSeq = Math.max(m.lastSeq, x.n - 1)
              }
              expect(r.success).toBe(true)
            } else if (x.c === "delete") {
              if (m.msgs.length === 0) continue
              const victim = m.msgs[x.pick % m.msgs.length]!
              expect(await jsm.streams.deleteMessage(name, victim.seq)).toBe(true)
              m.msgs = m.msgs.filter((q) => q.seq !== victim.seq)
            } else {
              await jsm.streams.update(name, { max_msgs: x.max })
              m.maxMsgs = x.max
              m.enforce()
            }
            const info = await jsm.streams.info(name)
            const s = info.state
            expect({
              messages: s.messages,
              first_seq: s.first_seq,
              last_seq: s.last_seq,
              num_deleted: s.num_deleted,
              num_subjects: s.num_subjects
            }).toEqual(m.state())
          }
        } finally {
          await jsm.streams.delete(name)
        }
      }),
      { numRuns: 25, endOnFailure: true }
    )
  }, 180_000)
})
