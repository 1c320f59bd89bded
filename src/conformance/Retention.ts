/**
 * Retention policies: workqueue (exactly one delivery-and-ack per message across competing pullers,
 * acked messages leave the stream) and interest (a message stays until every interested consumer acked it).
 */
import { AckPolicy, type JsMsg } from "@nats-io/jetstream"
import * as fc from "fast-check"
import { define, expectEqual, violation } from "./Property.ts"
import { addStream, eventually, fetchBatch, fetchEach, nanos, open, sc, withSession } from "./Wire.ts"

interface WqCase {
  readonly messages: number
  /** Per puller: pull batch size and "nak every k-th delivery" (0 = never). */
  readonly pullers: ReadonlyArray<{ readonly batch: number; readonly nakEvery: number }>
}

export const workqueueExactlyOnce = define({
  name: "workqueue-exactly-once",
  description:
    "a workqueue stream with one consumer and several competing pullers (separate connections, random batches and naks): every message is delivered-and-acked exactly once overall, never outstanding at two pullers, and acked messages leave the stream",
  cost: "fast",
  arbitrary: fc.record({
    messages: fc.integer({ min: 1, max: 20 }),
    pullers: fc.array(fc.record({ batch: fc.integer({ min: 1, max: 4 }), nakEvery: fc.constantFrom(0, 2, 3) }), {
      minLength: 2,
      maxLength: 3
    })
  }),
  render: (c: WqCase) => [
    `add stream storage=memory retention=workqueue; publish ${c.messages} messages`,
    "add consumer ack_policy=explicit ack_wait=30s",
    ...c.pullers.map((p, i) =>
      `puller ${i} (own connection): loop fetch max_messages=${p.batch} expires=1s; ${
        p.nakEvery === 0 ? "ackAck every delivery" : `nak every ${p.nakEvery}th delivery, ackAck the rest`
      }`
    ),
    "until all acked; then stream must be empty, consumer num_pending=0 num_ack_pending=0"
  ],
  check: async (ctx, c) => {
    const name = ctx.name("WQ")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`], retention: "workqueue" as never })
      for (let i = 0; i < c.messages; i++) await s.js.publish(`${name}.job`, sc.encode(String(i + 1)))
      await s.jsm.consumers.add(name, {
        durable_name: "workers",
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(30_000)
      })
      const ackedBy = new Map<number, number>()
      const outstanding = new Map<number, number>()
      const deadline = Date.now() + 15_000
      let failure: string | undefined
      const sessions = await Promise.all(c.pullers.map(() => open(ctx.url)))
      try {
        await Promise.all(c.pullers.map(async (p, who) => {
          const consumer = await sessions[who]!.js.consumers.get(name, "workers")
          let deliveries = 0
          while (ackedBy.size < c.messages && failure === undefined && Date.now() < deadline) {
            await fetchEach(consumer, p.batch, 1000, async (m: JsMsg) => {
              if (failure !== undefined) return
              const seq = m.info.streamSequence
              if (ackedBy.has(seq)) {
                failure = `seq ${seq} delivered to puller ${who} after puller ${ackedBy.get(seq)} acked it`
              } else if (outstanding.has(seq)) {
                failure = `seq ${seq} delivered to puller ${who} while outstanding at puller ${outstanding.get(seq)}`
              }
              if (failure !== undefined) return
              deliveries++
              if (p.nakEvery > 0 && deliveries % p.nakEvery === 0) m.nak()
              else {
                outstanding.set(seq, who)
                const ok = await m.ackAck({ timeout: 3000 })
                if (!ok) failure = `seq ${seq}: ackAck not confirmed`
                outstanding.delete(seq)
                ackedBy.set(seq, who)
              }
            })
          }
        }))
      } finally {
        await Promise.all(sessions.map((x) => x.nc.close().catch(() => undefined)))
      }
      if (failure !== undefined) violation(failure)
      if (ackedBy.size < c.messages) {
        const missing = Array.from({ length: c.messages }, (_, i) => i + 1).filter((q) => !ackedBy.has(q))
        violation(`never delivered-and-acked within 15s: seqs ${missing.join(",")}`)
      }
      await eventually(2000, async () => {
        const st = (await s.jsm.streams.info(name)).state
        expectEqual("workqueue stream state after every ack", { messages: st.messages }, { messages: 0 })
      })
      const info = await s.jsm.consumers.info(name, "workers")
      expectEqual("consumer info", { num_pending: info.num_pending, num_ack_pending: info.num_ack_pending }, {
        num_pending: 0,
        num_ack_pending: 0
      })
    })
  }
})

interface InterestCase {
  readonly subjects: ReadonlyArray<number>
  readonly consumers: ReadonlyArray<{ readonly filter: number | null; readonly acks: ReadonlyArray<boolean> }>
}

export const interestRetention = define({
  name: "interest-retention",
  description:
    "an interest stream keeps a message exactly while some consumer whose filter matches it has not acked it (and never stores one nobody is interested in)",
  cost: "fast",
  arbitrary: fc.integer({ min: 1, max: 10 }).chain((n) =>
    fc.record({
      subjects: fc.array(fc.nat(1), { minLength: n, maxLength: n }),
      consumers: fc.array(
        fc.record({
          filter: fc.option(fc.nat(1), { nil: null }),
          acks: fc.array(fc.boolean(), { minLength: n, maxLength: n })
        }),
        { minLength: 1, maxLength: 3 }
      )
    })
  ),
  render: (c: InterestCase) => [
    "add stream storage=memory retention=interest",
    ...c.consumers.map((k, i) =>
      `add consumer c${i} ack_policy=explicit ack_wait=30s${k.filter !== null ? ` filter_subject=s${k.filter}` : ""}`
    ),
    `publish subjects ${c.subjects.map((x) => `s${x}`).join(",")}`,
    ...c.consumers.map((k, i) =>
      `c${i}: fetch all pending, ackAck seqs ${k.acks.flatMap((b, j) => (b ? [j + 1] : [])).join(",") || "none"}`
    ),
    "stream must keep exactly the seqs some interested consumer has not acked"
  ],
  check: async (ctx, c) => {
    const name = ctx.name("INT")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`], retention: "interest" as never })
      for (const [i, k] of c.consumers.entries()) {
        await s.jsm.consumers.add(name, {
          durable_name: `c${i}`,
          ack_policy: AckPolicy.Explicit,
          ack_wait: nanos(30_000),
          ...(k.filter !== null ? { filter_subject: `${name}.s${k.filter}` } : {})
        })
      }
      for (const [i, x] of c.subjects.entries()) await s.js.publish(`${name}.s${x}`, sc.encode(String(i + 1)))
      const interested = (k: InterestCase["consumers"][number], i: number) =>
        k.filter === null || k.filter === c.subjects[i]
      const expected = c.subjects.flatMap((_, i) =>
        c.consumers.some((k) => interested(k, i) && !k.acks[i]) ? [i + 1] : []
      )
      for (const [ci, k] of c.consumers.entries()) {
        const wants = c.subjects.flatMap((_, i) => (interested(k, i) ? [i + 1] : []))
        const consumer = await s.js.consumers.get(name, `c${ci}`)
        const got: Array<number> = []
        while (got.length < wants.length) {
          const batch = await fetchBatch(consumer, wants.length - got.length, 1000)
          if (batch.length === 0) break
          for (const m of batch) {
            got.push(m.info.streamSequence)
            if (k.acks[m.info.streamSequence - 1] === true) await m.ackAck({ timeout: 3000 })
          }
        }
        expectEqual(`consumer c${ci} deliveries`, got, wants)
      }
      let lost: string | undefined
      await eventually(2000, async () => {
        const st = (await s.jsm.streams.info(name)).state
        // Too few is a safety violation at once; too many may be acks still being applied.
        if (st.messages < expected.length) {
          lost ??= `stream holds ${st.messages} messages but ${expected.length} are unacked by an interested consumer`
        }
        if (lost === undefined) expectEqual("interest stream message count", st.messages, expected.length)
      })
      if (lost !== undefined) violation(lost)
      const kept: Array<number> = []
      for (let seq = 1; seq <= c.subjects.length; seq++) {
        if ((await s.jsm.streams.getMessage(name, { seq }).catch(() => null)) !== null) kept.push(seq)
      }
      expectEqual("retained sequences", kept, expected)
    })
  }
})
