/**
 * Sourcing and mirroring a WorkQueue / Interest stream through a durable flow-control consumer
 * (2.14, ADR-60), over real sockets with nats.js: the origin drains only as the sourcing stream
 * stores, the consumer is listed on the origin under nats-server's name with its config and
 * metadata, and removing the source deletes it. Limits origins keep the consumer-free path.
 */
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream"
import { describe, expect, it } from "vitest"
import { sleep } from "../../support/Js.ts"
import { apiSuite } from "../../support/JsApi.ts"
import { natsHash, until } from "./SourcingSupport.ts"

const sc = new TextEncoder()

const suite = apiSuite()

describe("sourcing a WorkQueue stream (2.14 durable sourcing)", () => {
  it("drains the origin as the source stores, through JS_SRC_<hash> with nats-server's config", async () => {
    const jsm = await jetstreamManager(suite.nc)
    const js = jetstream(suite.nc)
    await jsm.streams.add({ name: "WQ", subjects: ["wq.>"], retention: RetentionPolicy.Workqueue })
    for (let i = 1; i <= 50; i++) await js.publish(`wq.${i % 3}`, sc.encode(`m${i}`))
    await jsm.streams.add({ name: "AGG", sources: [{ name: "WQ" }] })
    await until(async () => (await jsm.streams.info("AGG")).state.messages === 50)
    await until(async () => (await jsm.streams.info("WQ")).state.messages === 0)

    const name = `JS_SRC_${natsHash("AGG $G")}`
    const list = await jsm.consumers.list("WQ").next()
    expect(list.map((c) => c.name)).toEqual([name])
    const c = list[0]!
    expect(c.config).toMatchObject({
      durable_name: name,
      name,
      ack_policy: "flow_control",
      deliver_policy: "all",
      flow_control: true,
      idle_heartbeat: 1_000_000_000,
      max_deliver: -1,
      sourcing: true,
      metadata: expect.objectContaining({ "_nats.src.stream": "AGG", "_nats.src.acc": "$G" })
    })
    expect(c.config.deliver_subject).toMatch(/^\$JS\.S\./)
    expect(c.config.ack_wait).toBeUndefined()
    expect((c.config as unknown as Record<string, unknown>).direct).toBeUndefined()
    expect(c.ack_floor.stream_seq).toBe(50)

    // Every message once, in order, tagged with its origin sequence.
    const got: Array<string> = []
    for (let seq = 1; seq <= 50; seq++) {
      const m = (await jsm.streams.getMessage("AGG", { seq }))!
      got.push(`${m.subject}:${m.string()}:${m.header.get("Nats-Stream-Source")}`)
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `wq.${(i + 1) % 3}:m${i + 1}:WQ ${i + 1}`))

    // New messages keep flowing and keep being removed.
    for (let i = 51; i <= 60; i++) await js.publish("wq.x", sc.encode(`m${i}`))
    await until(async () => (await jsm.streams.info("AGG")).state.messages === 60)
    await until(async () => (await jsm.streams.info("WQ")).state.messages === 0)

    // A user's consumer still fits beside the sourcing one (it takes no WorkQueue partition).
    await jsm.consumers.add("WQ", { durable_name: "mine", ack_policy: AckPolicy.Explicit })
    await jsm.consumers.delete("WQ", "mine")

    // Removing the source deletes its consumer on the origin.
    await jsm.streams.update("AGG", { sources: [] })
    await until(async () => (await jsm.consumers.list("WQ").next()).length === 0)
    await js.publish("wq.y", sc.encode("after"))
    await sleep(1500)
    expect((await jsm.streams.info("WQ")).state.messages).toBe(1)
    expect((await jsm.streams.info("AGG")).state.messages).toBe(60)
  })

  it("an Interest origin keeps messages until the sourcing stream has them, and mirrors use JS_MIRROR_<hash>", async () => {
    const jsm = await jetstreamManager(suite.nc)
    const js = jetstream(suite.nc)
    await jsm.streams.add({ name: "INT", subjects: ["int.>"], retention: RetentionPolicy.Interest })
    await jsm.streams.add({ name: "MIR", mirror: { name: "INT" } })
    const name = `JS_MIRROR_${natsHash("MIR $G")}`
    await until(async () => (await jsm.consumers.list("INT").next()).some((c) => c.name === name))
    for (let i = 1; i <= 20; i++) await js.publish("int.a", sc.encode(`i${i}`))
    await until(async () => (await jsm.streams.info("MIR")).state.messages === 20)
    await until(async () => (await jsm.streams.info("INT")).state.messages === 0)
    const c = await jsm.consumers.info("INT", name)
    expect(c.config.metadata).toMatchObject({ "_nats.mirror.stream": "MIR", "_nats.mirror.acc": "$G" })
    expect(c.config.ack_policy).toBe("flow_control")
    const m = (await jsm.streams.getMessage("MIR", { seq: 20 }))!
    expect(m.string()).toBe("i20")
  })

  it("a Limits origin is still read directly: no consumer on it", async () => {
    const jsm = await jetstreamManager(suite.nc)
    const js = jetstream(suite.nc)
    await jsm.streams.add({ name: "LIM", subjects: ["lim.>"] })
    for (let i = 1; i <= 5; i++) await js.publish("lim.a", sc.encode(`l${i}`))
    await jsm.streams.add({ name: "LAGG", sources: [{ name: "LIM" }] })
    await until(async () => (await jsm.streams.info("LAGG")).state.messages === 5)
    expect(await jsm.consumers.list("LIM").next()).toEqual([])
    expect((await jsm.streams.info("LIM")).state.messages).toBe(5)
  })
})
