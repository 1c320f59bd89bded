/**
 * Delivery guarantees as properties, over the wire with the official client against the broker:
 * random schedules of acks, NAKs (with and without delay), ack timeouts and TERMs must still give
 * at-least-once delivery, first deliveries in stream order, exact num_pending/num_ack_pending at
 * every step, and (workqueue) exactly one successful ack per message across competing pullers.
 */
import { fc } from "@fast-check/vitest"
import { AckPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

const sc = new TextEncoder()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Delivery {
  readonly seq: number
  readonly count: number
  readonly reply: string
}

/** One no-wait pull of up to `batch` messages through a raw inbox (fast: no client-side expiry floor). */
const pull = (nc: NatsConnection, stream: string, consumer: string, batch: number): Promise<Array<Delivery>> =>
  new Promise((resolve) => {
    const inbox = createInbox()
    const got: Array<Delivery> = []
    const sub = nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (m.headers !== undefined && m.data.length === 0 && m.headers.code >= 100) {
          sub.unsubscribe()
          return resolve(got)
        }
        const t = m.reply!.split(".")
        got.push({ seq: Number(t[5]), count: Number(t[4]), reply: m.reply! })
        if (got.length === batch) {
          sub.unsubscribe()
          resolve(got)
        }
      }
    })
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, sc.encode(JSON.stringify({ batch, no_wait: true })), {
      reply: inbox
    })
  })

type Action = "ack" | "nak" | "nakDelay" | "timeout" | "term"
const action: fc.Arbitrary<Action> = fc.constantFrom<Action>("ack", "ack", "nak", "nakDelay", "timeout", "term")

let runId = 0

describe("delivery guarantees (property, over the wire)", () => {
  let broker: RunningBroker
  let nc: NatsConnection
  let jsm: JetStreamManager
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true }, { storage: "memory" })
    nc = await connect({ servers: broker.url })
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    await nc.close()
    await broker.stop()
  })

  it("at-least-once, ordered first delivery and exact counters under random ack schedules", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.array(action, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (n, schedule, batch) => {
          const name = `P${++runId}`
          await jsm.streams.add({ name, subjects: [`p${runId}`], storage: "memory" as never })
          for (let i = 0; i < n; i++) nc.publish(`p${runId}`, sc.encode(`m${i + 1}`))
          await nc.flush()
          const maxDeliver = 4
          await jsm.consumers.add(name, {
            durable_name: "c",
            ack_policy: AckPolicy.Explicit,
            ack_wait: 120_000_000,
            max_deliver: maxDeliver
          })
          const firstDeliveries: Array<number> = []
          const lastCount = new Map<number, number>()
          const resolved = new Map<number, "acked" | "termed">()
          let step = 0
          const deadline = Date.now() + 8_000
          while (Date.now() < deadline) {
            const gaveUp = [...lastCount].filter(([s, c]) => c >= maxDeliver && !resolved.has(s)).length
            if (resolved.size + gaveUp === n) break
            const got = await pull(nc, name, "c", batch)
            for (const d of got) {
              // Never redelivered after a successful ack or term.
              expect(resolved.has(d.seq)).toBe(false)
              const prev = lastCount.get(d.seq)
              if (prev === undefined) firstDeliveries.push(d.seq)
              // Delivery counts go up by one per delivery.
              expect(d.count).toBe((prev ?? 0) + 1)
              lastCount.set(d.seq, d.count)
              const a = schedule[step++ % schedule.length]!
              // The last allowed delivery is always acked so every run terminates.
              const act: Action = d.count >= maxDeliver ? "ack" : a
              if (act === "ack") {
                nc.publish(d.reply, sc.encode("+ACK"))
                resolved.set(d.seq, "acked")
              } else if (act === "term") {
                nc.publish(d.reply, sc.encode("+TERM"))
                resolved.set(d.seq, "termed")
              } else if (act === "nak") {
                nc.publish(d.reply, sc.encode("-NAK"))
              } else if (act === "nakDelay") {
                nc.publish(d.reply, sc.encode(JSON.stringify({ delay: 50_000_000 }).replace(/^/, "-NAK ")))
              }
            }
            await nc.flush()
            const info = await jsm.consumers.info(name, "c")
            const delivered = firstDeliveries.length
            expect(info.num_pending).toBe(n - delivered)
            expect(info.num_ack_pending).toBe(delivered - resolved.size)
            if (got.length === 0) await sleep(40)
          }
          // At-least-once: every message was delivered and resolved.
          expect([...resolved.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
          // First deliveries in stream order.
          expect(firstDeliveries).toEqual(Array.from({ length: n }, (_, i) => i + 1))
          const end = await jsm.consumers.info(name, "c")
          expect([end.num_pending, end.num_ack_pending, end.ack_floor.stream_seq]).toEqual([0, 0, n])
          await jsm.streams.delete(name)
        }
      ),
      { numRuns: 12, endOnFailure: true }
    )
  }, 120_000)

  it("workqueue: competing pullers ack each message exactly once and the stream empties", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        async (n, drops) => {
          const name = `W${++runId}`
          await jsm.streams.add({
            name,
            subjects: [`w${runId}`],
            retention: "workqueue" as never,
            storage: "memory" as never
          })
          for (let i = 0; i < n; i++) nc.publish(`w${runId}`, sc.encode(`job${i + 1}`))
          await nc.flush()
          await jsm.consumers.add(name, { durable_name: "q", ack_policy: AckPolicy.Explicit, ack_wait: 100_000_000 })
          const pullers = await Promise.all([0, 1, 2].map(() => connect({ servers: broker.url })))
          const acked = new Map<number, number>()
          let k = 0
          const deadline = Date.now() + 8_000
          try {
            while (acked.size < n && Date.now() < deadline) {
              const rounds = await Promise.all(pullers.map((p) => pull(p, name, "q", 3)))
              for (const [i, got] of rounds.entries()) {
                for (const d of got) {
                  // Some deliveries are "lost" (never acked) and must come back to someone.
                  if (drops[k++ % drops.length]! && d.count < 3) continue
                  acked.set(d.seq, (acked.get(d.seq) ?? 0) + 1)
                  pullers[i]!.publish(d.reply, sc.encode("+ACK"))
                }
              }
              await Promise.all(pullers.map((p) => p.flush()))
              if (rounds.every((r) => r.length === 0)) await sleep(30)
            }
            expect([...acked.values()].every((c) => c === 1)).toBe(true)
            expect(acked.size).toBe(n)
            await sleep(20)
            const info = await jsm.streams.info(name)
            expect(info.state.messages).toBe(0)
          } finally {
            await Promise.all(pullers.map((p) => p.close()))
            await jsm.streams.delete(name)
          }
        }
      ),
      { numRuns: 10, endOnFailure: true }
    )
  }, 120_000)
})
