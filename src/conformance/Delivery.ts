/**
 * Consumer delivery: at-least-once under random nak / ack-timeout schedules, and first deliveries in
 * stream order.
 */
import { AckPolicy } from "@nats-io/jetstream"
import * as fc from "fast-check"
import { define, expectEqual, violation } from "./Property.ts"
import { addStream, fetchBatch, fetchEach, nanos, sc, withSession } from "./Wire.ts"

type Action = "nak" | "timeout"

interface AloCase {
  /** Per message, what the client does on its deliveries before the one it acks. */
  readonly schedule: ReadonlyArray<ReadonlyArray<Action>>
  readonly batch: number
}

const ACK_WAIT_MS = 400

export const atLeastOnce = define({
  name: "at-least-once",
  description:
    "with explicit acks, short ack_wait and a random nak / ack-timeout schedule, every message is redelivered until acked, the delivery count grows, no message is lost, and none comes back after a confirmed ack (ackAck)",
  cost: "slow",
  arbitrary: fc.record({
    schedule: fc.array(fc.array(fc.constantFrom<Action>("nak", "timeout"), { maxLength: 2 }), {
      minLength: 1,
      maxLength: 8
    }),
    batch: fc.integer({ min: 1, max: 8 })
  }),
  render: (c: AloCase) => [
    `add stream storage=memory; publish ${c.schedule.length} messages`,
    `add consumer ack_policy=explicit ack_wait=${ACK_WAIT_MS}ms max_deliver=-1`,
    `loop: fetch max_messages=${c.batch} expires=1s; per delivery:`,
    ...c.schedule.map((a, i) =>
      `  seq ${i + 1}: ${[...a.map((x) => (x === "nak" ? "nak" : "no reply (ack timeout)")), "ackAck"].join(", then ")}`
    ),
    `after all confirmed: wait ${ACK_WAIT_MS}ms+, fetch must be empty; consumer info num_ack_pending=0 num_pending=0`
  ],
  check: async (ctx, c) => {
    const name = ctx.name("ALO")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      const n = c.schedule.length
      for (let i = 0; i < n; i++) await s.js.publish(`${name}.a`, sc.encode(String(i + 1)))
      await s.jsm.consumers.add(name, {
        durable_name: "alo",
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ACK_WAIT_MS),
        max_deliver: -1
      })
      const consumer = await s.js.consumers.get(name, "alo")
      const seen = new Map<number, number>()
      const lastCount = new Map<number, number>()
      const acked = new Set<number>()
      const deadline = Date.now() + 20_000
      while (acked.size < n && Date.now() < deadline) {
        await fetchEach(consumer, c.batch, 1000, async (m) => {
          const seq = m.info.streamSequence
          if (acked.has(seq)) violation(`seq ${seq} delivered again after its ack was confirmed`)
          const k = (seen.get(seq) ?? 0) + 1
          seen.set(seq, k)
          const dc = m.info.deliveryCount
          if (dc < k || dc <= (lastCount.get(seq) ?? 0)) {
            violation(
              `seq ${seq}: delivery count ${dc} on observed delivery ${k} (previous ${lastCount.get(seq) ?? 0})`
            )
          }
          lastCount.set(seq, dc)
          expectEqual(`seq ${seq}: redelivered flag on delivery ${dc}`, m.redelivered, dc > 1)
          const action = c.schedule[seq - 1]?.[k - 1]
          if (action === "nak") m.nak()
          else if (action === undefined) {
            const ok = await m.ackAck({ timeout: 3000 })
            if (!ok) violation(`seq ${seq}: ackAck not confirmed`)
            acked.add(seq)
          }
        })
      }
      const missing = Array.from({ length: n }, (_, i) => i + 1).filter((q) => !acked.has(q))
      if (missing.length > 0) {
        violation(
          `never delivered-and-acked within 20s: seqs ${missing.join(",")} (deliveries seen: ${
            JSON.stringify([...seen])
          })`
        )
      }
      await new Promise((r) => setTimeout(r, ACK_WAIT_MS + 100))
      const late = await fetchBatch(consumer, n, 1000)
      if (late.length > 0) {
        violation(`redelivered after confirmed acks: seqs ${late.map((m) => m.info.streamSequence).join(",")}`)
      }
      const info = await s.jsm.consumers.info(name, "alo")
      expectEqual("consumer info", {
        num_ack_pending: info.num_ack_pending,
        num_pending: info.num_pending,
        ack_floor_stream_seq: info.ack_floor.stream_seq
      }, { num_ack_pending: 0, num_pending: 0, ack_floor_stream_seq: n })
    })
  }
})

interface OrderCase {
  readonly subjects: ReadonlyArray<number>
  readonly filter: number | null
  readonly batches: ReadonlyArray<number>
  /** Indexes (into the stream) of messages nak'ed on their first delivery. */
  readonly nak: ReadonlyArray<boolean>
}

export const firstDeliveryOrder = define({
  name: "first-delivery-order",
  description:
    "a consumer delivers each message for the first time in stream-sequence order (naks and redeliveries in between do not reorder first deliveries), consumer sequences of first deliveries strictly increase",
  cost: "fast",
  arbitrary: fc.integer({ min: 1, max: 15 }).chain((n) =>
    fc.record({
      subjects: fc.array(fc.nat(1), { minLength: n, maxLength: n }),
      filter: fc.option(fc.nat(1), { nil: null }),
      batches: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      nak: fc.array(fc.boolean(), { minLength: n, maxLength: n })
    })
  ),
  render: (c: OrderCase) => [
    `add stream storage=memory; publish subjects ${c.subjects.map((x) => `s${x}`).join(",")}`,
    `add consumer ack_policy=explicit ack_wait=30s${c.filter !== null ? ` filter_subject=s${c.filter}` : ""}`,
    `loop: fetch batches of ${c.batches.join(",")} (cycling); nak on first delivery: seqs ${
      c.nak.flatMap((b, i) => (b ? [i + 1] : [])).join(",") || "none"
    }; ack everything else`
  ],
  check: async (ctx, c) => {
    const name = ctx.name("ORD")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      for (const [i, x] of c.subjects.entries()) await s.js.publish(`${name}.s${x}`, sc.encode(String(i + 1)))
      const filter = c.filter === null ? undefined : `${name}.s${c.filter}`
      await s.jsm.consumers.add(name, {
        durable_name: "ord",
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(30_000),
        ...(filter !== undefined ? { filter_subject: filter } : {})
      })
      const expected = c.subjects.flatMap((x, i) => (filter === undefined || `${name}.s${x}` === filter ? [i + 1] : []))
      const consumer = await s.js.consumers.get(name, "ord")
      const first: Array<number> = []
      const acked = new Set<number>()
      let lastConsumerSeq = 0
      let round = 0
      const deadline = Date.now() + 15_000
      while (acked.size < expected.length && Date.now() < deadline) {
        await fetchEach(consumer, c.batches[round++ % c.batches.length]!, 1000, async (m) => {
          const seq = m.info.streamSequence
          if (m.info.deliveryCount === 1) {
            // A redelivery keeps its first consumer sequence on nats-server; first deliveries get new ones.
            if (m.seq <= lastConsumerSeq) {
              violation(`first delivery of seq ${seq} has consumer sequence ${m.seq} after ${lastConsumerSeq}`)
            }
            lastConsumerSeq = m.seq
            if (first.length > 0 && seq <= first[first.length - 1]!) {
              violation(`first delivery of seq ${seq} after first delivery of seq ${first[first.length - 1]}`)
            }
            first.push(seq)
          }
          if (m.info.deliveryCount === 1 && c.nak[seq - 1] === true) m.nak()
          else {
            await m.ackAck({ timeout: 3000 })
            acked.add(seq)
          }
        })
      }
      expectEqual("first deliveries (stream sequences)", first, expected)
      expectEqual("acked", [...acked].sort((a, b) => a - b), expected)
    })
  }
})
