/**
 * The legacy `nats` v2 package (still the most installed NATS client, and what older NestJS and
 * community JetStream transports load) against the broker over a real socket: core pub/sub,
 * request/reply, headers, no-responders, JetStream publish with dedup, pull fetch/consume/next,
 * ordered and push consumers, KV and the object store.
 */
import {
  AckPolicy,
  connect,
  consumerOpts,
  createInbox,
  DeliverPolicy,
  ErrorCode,
  headers,
  type NatsConnection,
  type NatsError,
  StringCodec
} from "nats"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { startTestServer, type TestServer } from "../../src/testing/index.ts"

const sc = StringCodec()
let srv: TestServer
let nc: NatsConnection

beforeAll(async () => {
  srv = await startTestServer()
  nc = await connect({ servers: srv.url })
})
afterAll(async () => {
  await nc.close()
  await srv.close()
})

describe("nats v2: core", () => {
  it("announces the nats-server level and JetStream", () => {
    expect(nc.info?.version).toBe(ADVERTISED_NATS_VERSION)
    expect(nc.info?.jetstream).toBe(true)
    expect(nc.info?.headers).toBe(true)
  })

  it("delivers to wildcard and queue subscribers, with headers", async () => {
    const got: Array<string> = []
    const wild = nc.subscribe("v2core.*", { max: 2 })
    const q1 = nc.subscribe("v2core.a", { queue: "q" })
    const q2 = nc.subscribe("v2core.a", { queue: "q" })
    let queued = 0
    const count = async (s: typeof q1) => {
      for await (const _ of s) queued++
    }
    const c1 = count(q1)
    const c2 = count(q2)
    const h = headers()
    h.set("X-Order", "7")
    h.append("X-Tag", "a")
    h.append("X-Tag", "b")
    nc.publish("v2core.a", sc.encode("one"), { headers: h })
    nc.publish("v2core.b", sc.encode("two"))
    for await (const m of wild) {
      got.push(`${m.subject}=${sc.decode(m.data)}`)
      if (m.subject === "v2core.a") {
        expect(m.headers?.get("X-Order")).toBe("7")
        expect(m.headers?.values("X-Tag")).toEqual(["a", "b"])
      } else expect(m.headers).toBeUndefined()
    }
    await nc.flush()
    q1.unsubscribe()
    q2.unsubscribe()
    await Promise.all([c1, c2])
    expect(got).toEqual(["v2core.a=one", "v2core.b=two"])
    expect(queued).toBe(1)
  })

  it("request/reply, and no-responders is 503 at once", async () => {
    const svc = nc.subscribe("v2core.echo")
    void (async () => {
      for await (const m of svc) m.respond(sc.encode(`echo ${sc.decode(m.data)}`))
    })()
    const r = await nc.request("v2core.echo", sc.encode("hi"), { timeout: 2000 })
    expect(sc.decode(r.data)).toBe("echo hi")
    svc.unsubscribe()
    const t0 = Date.now()
    const err = await nc.request("v2core.nobody", sc.encode("x"), { timeout: 5000 }).catch((e: NatsError) => e)
    expect((err as NatsError).code).toBe(ErrorCode.NoResponders)
    expect(Date.now() - t0).toBeLessThan(4000)
  })
})

describe("nats v2: JetStream", () => {
  it("publishes with msgID dedup and Nats-Expected-* checks", async () => {
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: "V2PUB", subjects: ["v2pub.>"] })
    const js = nc.jetstream()
    const a = await js.publish("v2pub.1", sc.encode("a"), { msgID: "id-1" })
    expect(a).toMatchObject({ stream: "V2PUB", seq: 1, duplicate: false })
    expect(await js.publish("v2pub.1", sc.encode("a"), { msgID: "id-1" })).toMatchObject({ seq: 1, duplicate: true })
    expect((await js.publish("v2pub.2", sc.encode("b"), { expect: { lastSequence: 1 } })).seq).toBe(2)
    const err = await js.publish("v2pub.3", sc.encode("c"), { expect: { lastSequence: 1 } }).catch((e: NatsError) => e)
    expect((err as NatsError).api_error?.err_code).toBe(10071)
    expect((await jsm.streams.info("V2PUB")).state.messages).toBe(2)
    const m = await jsm.streams.getMessage("V2PUB", { seq: 2 })
    expect(sc.decode(m.data)).toBe("b")
  })

  it("pull consumer: fetch, next, consume with explicit acks", async () => {
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: "V2PULL", subjects: ["v2pull"] })
    const js = nc.jetstream()
    for (let i = 1; i <= 5; i++) await js.publish("v2pull", sc.encode(`m${i}`))
    await jsm.consumers.add("V2PULL", { durable_name: "w", ack_policy: AckPolicy.Explicit })
    const c = await js.consumers.get("V2PULL", "w")
    const fetched: Array<string> = []
    for await (const m of await c.fetch({ max_messages: 2, expires: 2000 })) {
      fetched.push(sc.decode(m.data))
      m.ack()
    }
    expect(fetched).toEqual(["m1", "m2"])
    const n = await c.next({ expires: 2000 })
    expect(n?.seq).toBe(3)
    expect(n?.info.pending).toBe(2)
    await n?.ackAck()
    const consumed: Array<number> = []
    const msgs = await c.consume({ max_messages: 10 })
    for await (const m of msgs) {
      consumed.push(m.seq)
      m.ack()
      if (m.seq === 5) break
    }
    expect(consumed).toEqual([4, 5])
    await nc.flush()
    const info = await jsm.consumers.info("V2PULL", "w")
    expect(info.num_pending).toBe(0)
    expect(info.delivered.stream_seq).toBe(5)
  })

  it("ordered consumer and a push consumer on a deliver subject", async () => {
    const jsm = await nc.jetstreamManager()
    await jsm.streams.add({ name: "V2PUSH", subjects: ["v2push.*"] })
    const js = nc.jetstream()
    for (const s of ["a", "b", "a"]) await js.publish(`v2push.${s}`, sc.encode(s))
    // A single filter: with an array the v2 client needs 2.10's filter_subjects and never
    // fetches (it hangs the same way against nats-server 2.9.10).
    const oc = await js.consumers.get("V2PUSH", { filterSubjects: "v2push.a" })
    const ordered: Array<number> = []
    for await (const m of await oc.fetch({ max_messages: 2, expires: 2000 })) ordered.push(m.seq)
    expect(ordered).toEqual([1, 3])

    const opts = consumerOpts()
    opts.durable("pusher")
    opts.deliverTo(createInbox())
    opts.ackExplicit()
    opts.deliverAll()
    const sub = await js.subscribe("v2push.*", opts)
    const pushed: Array<string> = []
    for await (const m of sub) {
      pushed.push(`${m.subject}#${m.info.streamSequence}`)
      m.ack()
      if (pushed.length === 3) break
    }
    expect(pushed).toEqual(["v2push.a#1", "v2push.b#2", "v2push.a#3"])
    const ci = await jsm.consumers.info("V2PUSH", "pusher")
    expect(ci.config.deliver_policy).toBe(DeliverPolicy.All)
    expect(ci.config.deliver_subject).toMatch(/^_INBOX\./)
  })

  it("KV: put, get, history, CAS update, delete, keys, watch", async () => {
    const kv = await nc.jetstream().views.kv("v2cfg", { history: 5 })
    expect(await kv.put("color", sc.encode("red"))).toBe(1)
    expect(await kv.put("color", sc.encode("blue"))).toBe(2)
    expect(await kv.create("size", sc.encode("L"))).toBe(3)
    const e = await kv.get("color")
    expect(e === null ? undefined : sc.decode(e.value)).toBe("blue")
    expect(await kv.update("color", sc.encode("green"), 2)).toBe(4)
    const stale = await kv.update("color", sc.encode("pink"), 2).catch((err: NatsError) => err)
    expect(stale).toBeInstanceOf(Error)
    const hist: Array<string> = []
    for await (const h of await kv.history({ key: "color" })) hist.push(sc.decode(h.value))
    expect(hist).toEqual(["red", "blue", "green"])
    await kv.delete("size")
    expect((await kv.get("size"))?.operation).toBe("DEL")
    const keys: Array<string> = []
    for await (const k of await kv.keys()) keys.push(k)
    expect(keys).toEqual(["color"])
    const watch = await kv.watch({ key: "color" })
    await kv.put("color", sc.encode("black"))
    const seen: Array<string> = []
    for await (const w of watch) {
      seen.push(sc.decode(w.value))
      if (seen.length === 2) break
    }
    expect(seen).toEqual(["green", "black"])
  })

  it("object store: multi-chunk put/get, info, list, delete", async () => {
    const os = await nc.jetstream().views.os("v2files")
    const data = new Uint8Array(300_000).map((_, i) => i % 251)
    const info = await os.putBlob({ name: "big.bin", options: { max_chunk_size: 64 * 1024 } }, data)
    expect(info.size).toBe(300_000)
    expect(info.chunks).toBe(5)
    const back = await os.getBlob("big.bin")
    expect(back?.length).toBe(300_000)
    expect(Buffer.from(back!).equals(Buffer.from(data))).toBe(true)
    await os.putBlob({ name: "small.txt" }, sc.encode("hello"))
    expect((await os.list()).map((o) => o.name).sort()).toEqual(["big.bin", "small.txt"])
    await os.delete("small.txt")
    expect(await os.getBlob("small.txt")).toBeNull()
  })
})
