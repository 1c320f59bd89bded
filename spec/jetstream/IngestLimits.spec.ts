/**
 * Stream ingest limits (2.11 `jetstream { max_buffered_msgs, max_buffered_size }`): a flood of core
 * publishes into a stream with a tiny limit gets `429 Too Many Requests` answers carrying the PubAck
 * error 10167 for what did not fit the queue, and every publish acked is stored, in ack order. The
 * limit is nats-server 2.11's (stream.go queueInbound); 2.9.10 has none, so ours only.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, describe, expect, it } from "vitest"
import { enterProducer, FlagProducer } from "../../src/core/Backpressure.ts"
import { IngestQueue } from "../../src/jetstream/stream/IngestLimit.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

const opened: Array<{ broker: RunningBroker; nc: NatsConnection }> = []
afterAll(async () => {
  for (const o of opened) {
    await o.nc.close()
    await o.broker.stop()
  }
})

const open = async (limits: { maxBufferedMsgs?: number; maxBufferedSize?: number }) => {
  const broker = await startBroker({ jetstream: true, ...limits })
  const nc = await connect({ servers: broker.url, reconnect: false })
  opened.push({ broker, nc })
  return { broker, nc, jsm: await jetstreamManager(nc) }
}

/** Publishes `n` messages without waiting, each with its own reply subject; resolves with every answer. */
const flood = async (nc: NatsConnection, subject: string, n: number, payload: Uint8Array) => {
  const answers = new Map<number, Msg>()
  nc.subscribe("_FLOOD.>", { callback: (_e, m) => void answers.set(Number(m.subject.slice(7)), m) })
  await nc.flush()
  for (let i = 0; i < n; i++) nc.publish(subject, payload, { reply: `_FLOOD.${i}` })
  const deadline = Date.now() + 20_000
  while (answers.size < n) {
    if (Date.now() > deadline) throw new Error(`only ${answers.size} of ${n} answers`)
    await sleep(20)
  }
  return [...answers.entries()].sort((x, y) => x[0] - y[0]).map(([, m]) => m)
}

const TOO_MANY = { stream: "ING", seq: 0, error: { code: 429, err_code: 10167, description: "too many requests" } }

describe("max_buffered_msgs", () => {
  it("a flood over the limit: 429 answers, and exactly the acked messages are stored", async () => {
    const { nc, jsm } = await open({ maxBufferedMsgs: 10 })
    await jsm.streams.add({ name: "ING", subjects: ["ing.>"] })
    const answers = await flood(nc, "ing.x", 3_000, new Uint8Array(16))
    const refused = answers.filter((m) => m.headers?.code === 429)
    const acked = answers.filter((m) => m.headers === undefined)
    expect(refused.length + acked.length).toBe(3_000)
    expect(refused.length).toBeGreaterThan(0)
    for (const m of refused.slice(0, 3)) {
      expect(m.headers!.description).toBe("Too Many Requests")
      expect(m.json()).toEqual(TOO_MANY)
    }
    // Acked in publish order with consecutive sequences: every ack names a stored message.
    const seqs = acked.map((m) => m.json<{ seq: number }>().seq)
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
    const state = (await jsm.streams.info("ING")).state
    expect([state.messages, state.last_seq]).toEqual([acked.length, acked.length])
  })

  it("under the limit nothing is refused", async () => {
    const { nc, jsm } = await open({})
    await jsm.streams.add({ name: "ING", subjects: ["ing.>"] })
    const answers = await flood(nc, "ing.y", 2_000, new Uint8Array(16))
    expect(answers.filter((m) => m.headers !== undefined).length).toBe(0)
    expect((await jsm.streams.info("ING")).state.messages).toBe(2_000)
  })
})

describe("max_buffered_size", () => {
  it("bytes queued (subject, reply, headers and payload) past the limit are refused", async () => {
    const { nc, jsm } = await open({ maxBufferedSize: 4096 })
    await jsm.streams.add({ name: "ING", subjects: ["ing.>"] })
    const answers = await flood(nc, "ing.z", 500, new Uint8Array(1024))
    const refused = answers.filter((m) => m.headers?.code === 429)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0]!.json()).toEqual(TOO_MANY)
    const acked = answers.length - refused.length
    expect((await jsm.streams.info("ING")).state.messages).toBe(acked)
  })
})

describe("IngestQueue", () => {
  it("holds the publishing connection past half a limit and refuses at the limit; a taken batch resets both", () => {
    const q = new IngestQueue({ msgs: 10, bytes: 1_000 })
    let resumed = 0
    const producer = new FlagProducer(() => resumed++)
    const prev = enterProducer(producer)
    const admitted: Array<boolean> = []
    for (let i = 0; i < 12; i++) {
      admitted.push(q.admit(10))
      if (i === 4) expect(producer.isHeld).toBe(false)
      if (i === 5) expect(producer.isHeld).toBe(true)
    }
    enterProducer(prev)
    expect(admitted).toEqual([...Array(10).fill(true), false, false])
    q.taken()
    expect([producer.isHeld, resumed]).toEqual([false, 1])
    // Bytes: 600 of 1,000 is over half; 1,001 is refused whatever the count.
    const p2 = new FlagProducer(() => {})
    const prev2 = enterProducer(p2)
    expect(q.admit(600)).toBe(true)
    expect(p2.isHeld).toBe(true)
    expect(q.admit(401)).toBe(false)
    expect(q.admit(400)).toBe(true)
    enterProducer(prev2)
    q.taken()
    const unlimited = new IngestQueue({ msgs: -1, bytes: 0 })
    for (let i = 0; i < 50_000; i++) expect(unlimited.admit(1 << 20)).toBe(true)
  })
})
