/**
 * effect-jetstream/testing as a test suite outside Effect would use it: plain async/await, the
 * official nats.js v3 packages and the legacy `nats` v2 client over real loopback sockets.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect } from "@nats-io/transport-node"
import * as natsV2 from "nats"
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { startTestServer } from "../../src/testing/index.ts"
import setup from "../../src/testing/VitestGlobalSetup.ts"

describe("startTestServer", () => {
  it("listens on a random loopback port and serves JetStream to nats.js v3 from memory", async () => {
    await using srv = await startTestServer()
    expect(srv.host).toBe("127.0.0.1")
    expect(srv.port).toBeGreaterThan(0)
    expect(srv.url).toBe(`nats://127.0.0.1:${srv.port}`)
    expect(srv.storeDir).toBeUndefined()
    expect(srv.clock).toBeUndefined()
    const nc = await connect({ servers: srv.url })
    const jsm = await jetstreamManager(nc)
    const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
    expect(si.config.storage).toBe("file")
    const js = jetstream(nc)
    expect((await js.publish("orders.1", "apples", { msgID: "o1" })).seq).toBe(1)
    expect((await js.publish("orders.1", "apples", { msgID: "o1" })).duplicate).toBe(true)
    const kv = await new Kvm(nc).create("cfg")
    await kv.put("a", "1")
    expect((await kv.get("a"))?.string()).toBe("1")
    await nc.close()
  })

  it("two servers are independent, and close() frees the port (twice is fine)", async () => {
    const a = await startTestServer()
    const b = await startTestServer()
    expect(a.port).not.toBe(b.port)
    const na = await connect({ servers: a.url })
    const nb = await connect({ servers: b.url })
    await (await jetstreamManager(na)).streams.add({ name: "S", subjects: ["s"] })
    expect((await (await jetstreamManager(nb)).streams.names().next()).length).toBe(0)
    await na.close()
    await nb.close()
    await a.close()
    await a.close()
    await b.close()
    await expect(connect({ servers: a.url, reconnect: false, timeout: 1000 })).rejects.toThrow()
  })

  it("file storage in a temp dir survives nothing after close (the dir is removed)", async () => {
    const srv = await startTestServer({ storage: "file" })
    const dir = srv.storeDir!
    expect(fs.existsSync(dir)).toBe(true)
    const nc = await connect({ servers: srv.url })
    await (await jetstreamManager(nc)).streams.add({ name: "F", subjects: ["f"] })
    await jetstream(nc).publish("f", "x")
    expect(fs.readdirSync(`${dir}/streams`)).toContain("F")
    await nc.close()
    await srv.close()
    expect(fs.existsSync(dir)).toBe(false)
  })

  it("core only with jetstream: false", async () => {
    await using srv = await startTestServer({ jetstream: false })
    const nc = await connect({ servers: srv.url })
    expect(nc.info?.jetstream).toBeUndefined()
    const sub = nc.subscribe("hi", { max: 1 })
    nc.publish("hi", "there")
    for await (const m of sub) expect(m.string()).toBe("there")
    await nc.close()
  })

  it("rejects unknown keys and out-of-range values instead of defaulting", async () => {
    await expect(startTestServer({ storage: "disk" } as never)).rejects.toMatchObject({ _tag: "BrokerConfigError" })
    await expect(startTestServer({ jetstrem: true } as never)).rejects.toMatchObject({ _tag: "BrokerConfigError" })
    await expect(startTestServer({ port: 70000 })).rejects.toMatchObject({ _tag: "BrokerConfigError" })
  })

  it("serves monitoring on a random port when asked", async () => {
    await using srv = await startTestServer({ monitoring: true })
    const varz = await (await fetch(`${srv.monitorUrl}/varz`)).json() as { port: number; version: string }
    expect(varz.port).toBe(srv.port)
    expect(varz.version).toBe(ADVERTISED_NATS_VERSION)
  })
})

describe("clock: \"test\"", () => {
  it("redelivers an unacked message only when the test moves the clock past ack_wait", async () => {
    await using srv = await startTestServer({ clock: "test" })
    const clock = srv.clock!
    const t0 = clock.now()
    expect(Math.abs(t0 - Date.now())).toBeLessThan(60_000)
    const nc = await connect({ servers: srv.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "PAY", subjects: ["pay"] })
    await jsm.consumers.add("PAY", { durable_name: "w", ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 })
    await jetstream(nc).publish("pay", "charge")
    const c = await jetstream(nc).consumers.get("PAY", "w")
    const first = await c.next({ expires: 1000 })
    expect(first?.info.deliveryCount).toBe(1)
    await clock.adjust("29 seconds")
    expect((await jsm.consumers.info("PAY", "w")).num_ack_pending).toBe(1)
    expect((await jsm.consumers.info("PAY", "w")).num_redelivered).toBe(0)
    await clock.adjust(2000)
    expect(clock.now() - t0).toBe(31_000)
    const again = await c.next({ expires: 1000 })
    expect(again?.string()).toBe("charge")
    expect(again?.info.deliveryCount).toBe(2)
    again?.ack()
    await nc.close()
  })

  it("expires messages by max_age when the clock passes it", async () => {
    await using srv = await startTestServer({ clock: "test" })
    const nc = await connect({ servers: srv.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "TTL", subjects: ["ttl"], max_age: 60_000_000_000 })
    await jetstream(nc).publish("ttl", "x")
    await srv.clock!.adjust("59 seconds")
    expect((await jsm.streams.info("TTL")).state.messages).toBe(1)
    await srv.clock!.adjust("2 seconds")
    expect((await jsm.streams.info("TTL")).state.messages).toBe(0)
    await nc.close()
  })
})

describe("legacy nats v2 client", () => {
  it("publishes with dedup, fetches and acks against the test server", async () => {
    await using srv = await startTestServer()
    const nc = await natsV2.connect({ servers: srv.url })
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: "V2", subjects: ["v2.>"] })
    const js = nc.jetstream()
    const sc = natsV2.StringCodec()
    expect((await js.publish("v2.a", sc.encode("one"), { msgID: "m1" })).seq).toBe(1)
    expect((await js.publish("v2.a", sc.encode("one"), { msgID: "m1" })).duplicate).toBe(true)
    await jsm.consumers.add("V2", { durable_name: "d", ack_policy: natsV2.AckPolicy.Explicit })
    const c = await js.consumers.get("V2", "d")
    const m = await c.next({ expires: 1000 })
    expect(m === null ? undefined : sc.decode(m.data)).toBe("one")
    await m?.ackAck()
    expect((await jsm.consumers.info("V2", "d")).num_ack_pending).toBe(0)
    await nc.close()
  })
})

describe("vitest global setup", () => {
  it("rejects an unknown EFFECT_JETSTREAM_STORAGE instead of defaulting", async () => {
    process.env.EFFECT_JETSTREAM_STORAGE = "disk"
    try {
      await expect(setup()).rejects.toMatchObject({ _tag: "BrokerConfigError" })
    } finally {
      delete process.env.EFFECT_JETSTREAM_STORAGE
    }
  })

  it("starts one server, exports NATS_URL, provides natsUrl, and tears it down", async () => {
    const provided = new Map<string, unknown>()
    const before = process.env.NATS_URL
    const teardown = await setup({ provide: (k, v) => void provided.set(k, v) })
    try {
      expect(process.env.NATS_URL).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/)
      expect(provided.get("natsUrl")).toBe(process.env.NATS_URL)
      const nc = await connect({ servers: process.env.NATS_URL! })
      expect(nc.info?.jetstream).toBe(true)
      await nc.close()
    } finally {
      await teardown()
      if (before === undefined) delete process.env.NATS_URL
      else process.env.NATS_URL = before
    }
  })
})
