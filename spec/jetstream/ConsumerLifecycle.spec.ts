import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

const sc = new TextEncoder()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("consumer lifecycle and flow limits", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true }, { storage: "memory" })
  })
  afterAll(() => broker.stop())

  it("removes an ephemeral consumer after its inactive threshold, and a durable one that set one (2.10); a durable without one stays", async () => {
    const nc = await connect({ servers: broker.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "LIFE", subjects: ["life"] })
    const eph = await jsm.consumers.add("LIFE", { ack_policy: AckPolicy.Explicit, inactive_threshold: 300_000_000 })
    await jsm.consumers.add("LIFE", {
      durable_name: "goes",
      ack_policy: AckPolicy.Explicit,
      inactive_threshold: 300_000_000
    })
    await jsm.consumers.add("LIFE", { durable_name: "stays", ack_policy: AckPolicy.Explicit })
    expect(eph.config.durable_name).toBeUndefined()
    expect(eph.config.inactive_threshold).toBe(300_000_000)
    await sleep(900)
    const names: Array<string> = []
    for await (const n of jsm.consumers.list("LIFE")) names.push(n.name)
    expect(names).toEqual(["stays"])
    await jsm.streams.delete("LIFE")
    await nc.close()
  })

  it("pauses delivery at max_ack_pending until acks arrive", async () => {
    const nc = await connect({ servers: broker.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "MAP", subjects: ["map"] })
    const js = jetstream(nc)
    for (let i = 0; i < 10; i++) await js.publish("map", sc.encode(`m${i}`))
    await jsm.consumers.add("MAP", { durable_name: "d", ack_policy: AckPolicy.Explicit, max_ack_pending: 3 })
    const c = await js.consumers.get("MAP", "d")
    const first: Array<number> = []
    const held = []
    for await (const m of await c.fetch({ max_messages: 10, expires: 1000 })) {
      first.push(m.seq)
      held.push(m)
    }
    expect(first).toEqual([1, 2, 3])
    expect((await c.info()).num_ack_pending).toBe(3)
    const paused: Array<number> = []
    for await (const m of await c.fetch({ max_messages: 10, expires: 1000 })) paused.push(m.seq)
    expect(paused).toEqual([])
    for (const m of held) m.ack()
    const next: Array<number> = []
    for await (const m of await c.fetch({ max_messages: 10, expires: 1000 })) next.push(m.seq)
    expect(next).toEqual([4, 5, 6])
    await jsm.streams.delete("MAP")
    await nc.close()
  })

  it("ends waiting pulls with 409 Consumer Deleted when the consumer is deleted", async () => {
    const nc = await connect({ servers: broker.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "GONE", subjects: ["gone"] })
    await jsm.consumers.add("GONE", { durable_name: "d", ack_policy: AckPolicy.Explicit })
    const statuses: Array<string> = []
    const sub = nc.subscribe("_INBOX.gone", {
      callback: (_e, m) => void statuses.push(`${m.headers?.code} ${m.headers?.description}`)
    })
    nc.publish("$JS.API.CONSUMER.MSG.NEXT.GONE.d", sc.encode(JSON.stringify({ batch: 1, expires: 5_000_000_000 })), {
      reply: "_INBOX.gone"
    })
    await nc.flush()
    await sleep(50)
    await jsm.consumers.delete("GONE", "d")
    await sleep(50)
    expect(statuses).toEqual(["409 Consumer Deleted"])
    sub.unsubscribe()
    await jsm.streams.delete("GONE")
    await nc.close()
  })
})
