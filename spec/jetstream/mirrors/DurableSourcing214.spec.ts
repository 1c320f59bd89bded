/**
 * Durable sourcing (2.14, ADR-60): a mirror or source following a consumer the user created on the
 * origin (`consumer { name, deliver_subject }`), over real sockets with nats.js 3.4: nats.js's own
 * ADR-60 acceptance scenarios, nats-server's config checks (10213, 10215, 10216) with their exact
 * codes, the flow-control ack requirement reported in the source's info (10214, 10217), a WorkQueue
 * origin drained only as the follower stores, a deleted / re-created consumer, and a consumer in
 * another account reached through `external`.
 */
import {
  AckPolicy,
  type ConsumerConfig,
  jetstream,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy
} from "@nats-io/jetstream"
import { nanos } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBrokerWithConf } from "../../auth/AuthServers.ts"
import { sleep } from "../../support/Js.ts"
import { apiSuite } from "../../support/JsApi.ts"
import { crossAccountConf, withUser } from "./CrossAccountScenarios.ts"
import { natsHash, until } from "./SourcingSupport.ts"

const sc = new TextEncoder()

const suite = apiSuite()

/** The raw reply of a STREAM.CREATE (the exact error members, not nats.js's rendering). */
const createRaw = async (config: Record<string, unknown>): Promise<Record<string, unknown>> => {
  const r = await suite.nc.request(`$JS.API.STREAM.CREATE.${String(config.name)}`, JSON.stringify(config))
  return r.json()
}

const fcConsumer = (name: string, deliver: string, extra: Partial<ConsumerConfig> = {}): Partial<ConsumerConfig> => ({
  durable_name: name,
  deliver_subject: deliver,
  ack_policy: AckPolicy.FlowControl,
  idle_heartbeat: nanos(1000),
  ...extra
})

const payloads = async (jsm: JetStreamManager, stream: string): Promise<Array<string>> => {
  const st = (await jsm.streams.info(stream)).state
  const out: Array<string> = []
  for (let seq = st.first_seq; seq <= st.last_seq && st.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (m !== null) out.push(m.string())
  }
  return out
}

describe("durable sourcing: nats.js ADR-60 acceptance", () => {
  it("mirror/source consumer: the config keeps `consumer`, messages flow through the user's consumers", async () => {
    const jsm = await jetstreamManager(suite.nc)
    const js = jetstream(suite.nc)
    await jsm.streams.add({ name: "O", subjects: ["o.>"] })
    await jsm.consumers.add("O", fcConsumer("C", "deliver.mirror"))
    await jsm.consumers.add("O", fcConsumer("C2", "deliver.source"))
    const mi = await jsm.streams.add({
      name: "M",
      mirror: { name: "O", consumer: { name: "C", deliver_subject: "deliver.mirror" } }
    })
    const si = await jsm.streams.add({
      name: "S",
      sources: [{ name: "O", consumer: { name: "C2", deliver_subject: "deliver.source" } }]
    })
    expect(mi.config.mirror).toEqual({ name: "O", consumer: { name: "C", deliver_subject: "deliver.mirror" } })
    expect(si.config.sources).toEqual([{ name: "O", consumer: { name: "C2", deliver_subject: "deliver.source" } }])

    await js.publish("o.a", "1")
    await js.publish("o.b", "2")
    await js.publish("o.c", "3")
    await until(async () => (await jsm.streams.info("M")).state.messages === 3)
    await until(async () => (await jsm.streams.info("S")).state.messages === 3)
    // No consumer of the follower's own: only the user's two.
    expect((await jsm.consumers.list("O").next()).map((c) => c.name).sort()).toEqual(["C", "C2"])
    // A mirror keeps the origin's sequences; a source tags each copy with its index name `O:C=<hash>`.
    const m3 = (await jsm.streams.getMessage("M", { seq: 3 }))!
    expect([m3.subject, m3.string()]).toEqual(["o.c", "3"])
    const tags: Array<string | undefined> = []
    for (let seq = 1; seq <= 3; seq++) {
      tags.push((await jsm.streams.getMessage("S", { seq }))!.header.get("Nats-Stream-Source"))
    }
    const iname = `O:C=${natsHash("C2")}`
    expect(tags).toEqual([`${iname} 1`, `${iname} 2`, `${iname} 3`])
    // The flow-control answers ack the user's consumers.
    await until(async () => (await jsm.consumers.info("O", "C2")).ack_floor.stream_seq === 3)
    expect((await jsm.consumers.info("O", "C")).ack_floor.stream_seq).toBe(3)
    // Info of the mirror and sources: nats-server's StreamSourceInfo has no `consumer`.
    const info = await jsm.streams.info("S")
    expect(Object.keys(info.sources![0]!).sort()).toEqual(["active", "lag", "name"])
    expect(info.sources![0]!.name).toBe("O")
  })

  it("mirror/source consumer requires name and deliver_subject", async () => {
    const jsm = await jetstreamManager(suite.nc)
    await jsm.streams.add({ name: "O2", subjects: ["o2.>"] })
    const m10213 = { code: 400, err_code: 10213, description: "stream mirror consumer config is invalid" }
    const s10215 = { code: 400, err_code: 10215, description: "stream source consumer config is invalid" }
    const mirror = (consumer: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      createRaw({ name: "M1", mirror: { name: "O2", consumer, ...extra } })
    const source = (consumer: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      createRaw({ name: "S1", sources: [{ name: "O2", consumer, ...extra }] })
    const ok = { name: "C", deliver_subject: "d.x" }
    const bad: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ name: "", deliver_subject: "d.x" }, {}],
      [{ name: "C", deliver_subject: "" }, {}],
      [{}, {}],
      [{ name: "C.b", deliver_subject: "d.x" }, {}],
      [{ name: "C/b", deliver_subject: "d.x" }, {}],
      [{ name: "C", deliver_subject: "deliver.." }, {}],
      [{ name: "C", deliver_subject: "d.*" }, {}],
      [ok, { opt_start_seq: 1 }],
      [ok, { opt_start_time: "2024-01-01T00:00:00Z" }],
      [ok, { filter_subject: "o2.a" }]
    ]
    for (const [consumer, extra] of bad) {
      expect((await mirror(consumer, extra)).error).toEqual(m10213)
      expect((await source(consumer, extra)).error).toEqual(s10215)
    }
    // nats.js's rendering of the same.
    await expect(
      jsm.streams.add({ name: "M2", mirror: { name: "O2", consumer: { name: "", deliver_subject: "d.x" } } })
    )
      .rejects.toThrow("stream mirror consumer config is invalid")
    await expect(
      jsm.streams.add({ name: "S2", sources: [{ name: "O2", consumer: { name: "C", deliver_subject: "" } }] })
    )
      .rejects.toThrow("stream source consumer config is invalid")
    // Nothing was created by the refused requests.
    expect((await jsm.streams.names().next()).filter((n) => /^[MS][12]$/.test(n))).toEqual([])

    // Two sources of one stream (told apart by their transforms) may not follow one consumer.
    const dup = await createRaw({
      name: "S3",
      sources: [
        { name: "O2", subject_transforms: [{ src: ">", dest: "a.>" }], consumer: { name: "C", deliver_subject: "a" } },
        { name: "O2", subject_transforms: [{ src: ">", dest: "b.>" }], consumer: { name: "C", deliver_subject: "b" } }
      ]
    })
    expect(dup.error).toEqual({ code: 400, err_code: 10216, description: "duplicate stream source consumer detected" })
    // Other consumers of one stream are fine.
    const two = await createRaw({
      name: "S4",
      sources: [
        { name: "O2", subject_transforms: [{ src: ">", dest: "a.>" }], consumer: { name: "C", deliver_subject: "a" } },
        { name: "O2", subject_transforms: [{ src: ">", dest: "b.>" }], consumer: { name: "D", deliver_subject: "b" } }
      ]
    })
    expect(two.error).toBeUndefined()
    await jsm.streams.delete("S4")
    // An unknown field inside `consumer` is refused like any other unknown field.
    const unknown = await mirror({ ...ok, ack_policy: "flow_control" })
    expect((unknown.error as { err_code: number }).err_code).toBe(10025)
  })
})

describe("durable sourcing: the followed consumer", () => {
  it("a consumer not acked by flow control is reported in the source's info (10214, 10217); the mirror stays unchangeable", async () => {
    const jsm = await jetstreamManager(suite.nc)
    await jsm.streams.add({ name: "OX", subjects: ["ox.>"], retention: RetentionPolicy.Workqueue })
    await jsm.consumers.add("OX", { durable_name: "C", deliver_subject: "dx", ack_policy: AckPolicy.Explicit })
    await jsm.streams.add({ name: "MX", mirror: { name: "OX", consumer: { name: "C", deliver_subject: "dx" } } })
    await until(async () => (await jsm.streams.info("MX")).mirror?.error !== undefined)
    expect((await jsm.streams.info("MX")).mirror!.error).toEqual({
      code: 400,
      err_code: 10214,
      description: "stream mirror consumer requires flow control ack policy"
    })
    const upd = await suite.nc.request(
      "$JS.API.STREAM.UPDATE.MX",
      JSON.stringify({
        name: "MX",
        mirror: {
          name: "OX",
          subject_transforms: [{ src: ">", dest: "a.>" }],
          consumer: { name: "C", deliver_subject: "dx" }
        }
      })
    )
    expect(upd.json<{ error: unknown }>().error).toEqual({
      code: 400,
      err_code: 10055,
      description: "stream mirror configuration can not be updated"
    })
    await jsm.streams.delete("MX")

    await jsm.streams.add({ name: "SX", sources: [{ name: "OX", consumer: { name: "C", deliver_subject: "dx" } }] })
    await until(async () => (await jsm.streams.info("SX")).sources?.[0]?.error !== undefined)
    expect((await jsm.streams.info("SX")).sources![0]!.error).toEqual({
      code: 400,
      err_code: 10217,
      description: "stream source consumer requires flow control ack policy"
    })
    // Each refused reset still reset the user's consumer: retries back off (nats-server: 10 s per failure),
    // instead of wiping its state every second.
    let resets = 0
    const wiretap = suite.nc.subscribe("$JS.API.CONSUMER.RESET.OX.C", { callback: () => void resets++ })
    // Nothing taken from a WorkQueue through a consumer that would not be acked by what is stored.
    await jetstream(suite.nc).publish("ox.a", "x")
    await sleep(3500)
    wiretap.unsubscribe()
    expect(resets).toBe(0)
    expect((await jsm.streams.info("SX")).state.messages).toBe(0)
    expect((await jsm.streams.info("OX")).state.messages).toBe(1)
    await jsm.streams.delete("SX")
  })

  it("a WorkQueue origin drains only as the source stores; removing the source leaves the user's consumer", async () => {
    const jsm = await jetstreamManager(suite.nc)
    const js = jetstream(suite.nc)
    await jsm.streams.add({ name: "WQ", subjects: ["wq.>"], retention: RetentionPolicy.Workqueue })
    for (let i = 1; i <= 30; i++) await js.publish(`wq.${i % 2}`, sc.encode(`m${i}`))
    // The consumer takes only wq.1: the source may not filter, the consumer does.
    await jsm.consumers.add("WQ", fcConsumer("ODD", "wqd.deliver", { filter_subject: "wq.1" }))
    await jsm.streams.add({
      name: "AGG",
      sources: [{ name: "WQ", consumer: { name: "ODD", deliver_subject: "wqd.deliver" } }]
    })
    await until(async () => (await jsm.streams.info("AGG")).state.messages === 15)
    await until(async () => (await jsm.streams.info("WQ")).state.messages === 15)
    expect(await payloads(jsm, "AGG")).toEqual(Array.from({ length: 15 }, (_, i) => `m${2 * i + 1}`))
    expect(await payloads(jsm, "WQ")).toEqual(Array.from({ length: 15 }, (_, i) => `m${2 * i + 2}`))
    const c = await jsm.consumers.info("WQ", "ODD")
    expect(c.ack_floor.stream_seq).toBe(29)
    expect(c.num_ack_pending).toBe(0)

    await jsm.streams.update("AGG", { sources: [] })
    await sleep(300)
    expect((await jsm.consumers.list("WQ").next()).map((x) => x.name)).toEqual(["ODD"])
    await jsm.streams.delete("AGG")
    await jsm.streams.delete("WQ")
  })

  it(
    "a consumer delivering elsewhere gives nothing; a deleted one stops the flow without an error, a re-created one resumes it without duplicates",
    async () => {
      const jsm = await jetstreamManager(suite.nc)
      const js = jetstream(suite.nc)
      await jsm.streams.add({ name: "LO", subjects: ["lo.>"] })
      await jsm.consumers.add("LO", fcConsumer("C", "lod.elsewhere"))
      await jsm.streams.add({
        name: "LS",
        sources: [{ name: "LO", consumer: { name: "C", deliver_subject: "lod.here" } }]
      })
      await js.publish("lo.a", "1")
      await sleep(1500)
      expect((await jsm.streams.info("LS")).state.messages).toBe(0)
      await jsm.consumers.delete("LO", "C")

      await jsm.consumers.add("LO", fcConsumer("C", "lod.here"))
      await until(async () => (await jsm.streams.info("LS")).state.messages === 1, 12000)
      await js.publish("lo.a", "2")
      await until(async () => (await jsm.streams.info("LS")).state.messages === 2)

      // Deleted: the reset is not answered (nats-server serves it on the consumer's own subscription),
      // so the source reports no error, only no contact; messages stay in the origin.
      await jsm.consumers.delete("LO", "C")
      await js.publish("lo.a", "3")
      await sleep(4000)
      const gone = (await jsm.streams.info("LS")).sources![0]!
      expect(gone.error).toBeUndefined()
      expect(gone.active).toBeGreaterThan(nanos(2500))
      expect((await jsm.streams.info("LS")).state.messages).toBe(2)

      // Re-created from the origin's start: what the source already has is not stored again.
      await jsm.consumers.add("LO", fcConsumer("C", "lod.here"))
      await until(async () => (await jsm.streams.info("LS")).state.messages === 3, 15000)
      await js.publish("lo.a", "4")
      await until(async () => (await jsm.streams.info("LS")).state.messages === 4)
      await sleep(500)
      expect(await payloads(jsm, "LS")).toEqual(["1", "2", "3", "4"])
      await until(async () => (await jsm.consumers.info("LO", "C")).ack_floor.stream_seq === 4)
    },
    40000
  )
})

describe("durable sourcing across accounts", () => {
  it("a mirror in B follows A's consumer through the imported API prefix and deliver subject", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-durable-xacc-"))
    const b = await startBrokerWithConf(crossAccountConf(dir))
    try {
      await withUser(b.url, "a", async (_nc, jsm) => {
        await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], retention: RetentionPolicy.Workqueue })
        await jsm.consumers.add("ORDERS", fcConsumer("FORB", "A.DELIVER.durable"))
        for (let i = 1; i <= 5; i++) await jsm.jetstream().publish("orders.x", sc.encode(`o${i}`))
      })
      await withUser(b.url, "b", async (_nc, jsm) => {
        await jsm.streams.add({
          name: "BM",
          mirror: {
            name: "ORDERS",
            external: { api: "JS.A.API", deliver: "" },
            consumer: { name: "FORB", deliver_subject: "A.DELIVER.durable" }
          }
        })
        await until(async () => (await jsm.streams.info("BM")).state.messages === 5)
        expect(await payloads(jsm, "BM")).toEqual(["o1", "o2", "o3", "o4", "o5"])
      })
      // The flow-control answers reached A through its `$JS.FC.>` export: the WorkQueue drained.
      await withUser(b.url, "a", async (_nc, jsm) => {
        await until(async () => (await jsm.streams.info("ORDERS")).state.messages === 0)
        expect((await jsm.consumers.list("ORDERS").next()).map((c) => c.name)).toEqual(["FORB"])
      })
    } finally {
      await b.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
