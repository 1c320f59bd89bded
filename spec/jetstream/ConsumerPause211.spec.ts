/**
 * Consumer pause (2.11) over a real socket, against ours only (nats-server 2.9.10 has no pause):
 * `jsm.consumers.pause/resume` of nats.js (not gated on the server version), the raw
 * `$JS.API.CONSUMER.PAUSE` request/response JSON and errors as nats-server's jsConsumerPauseRequest,
 * consumer info `paused` / `pause_remaining`, the pause advisory, push and pull consumers holding
 * back while paused (pull heartbeats go on), the deadline resuming by itself, `pause_until` on
 * create kept on update, and the pause surviving a restart (file store durable).
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, createInbox, type Msg } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"
import { apiSuite, type Json } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const T = "io.nats.jetstream.api.v1."

const suite = apiSuite()
const { api } = suite

const stream = async (name: string) => {
  const r = await api(`STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: "memory" })
  expect(r.error).toBeUndefined()
  const js = jetstream(suite.nc)
  for (let i = 1; i <= 3; i++) await js.publish(`${name}.a`, sc.encode(`m${i}`))
}

const pull = async (name: string, config: Json = {}) => {
  const r = await api(`CONSUMER.CREATE.${name}.C`, {
    stream_name: name,
    config: { name: "C", durable_name: "C", ack_policy: "explicit", ...config }
  })
  expect(r.error).toBeUndefined()
  return r
}

/** Collects what arrives on `subject` until `f` is done. */
const collect = async (subject: string, f: (got: ReadonlyArray<Msg>) => Promise<void>): Promise<Array<Msg>> => {
  const got: Array<Msg> = []
  const sub = suite.nc.subscribe(subject, { callback: (_e, m) => void got.push(m) })
  await suite.nc.flush()
  try {
    await f(got)
    await suite.nc.flush()
  } finally {
    sub.unsubscribe()
  }
  return got
}

const future = (ms: number) => new Date(Date.now() + ms)

describe("CONSUMER.PAUSE (2.11)", () => {
  it("nats.js pause/resume: the reply, consumer info paused/pause_remaining, and nothing delivered while paused", async () => {
    await stream("PA")
    await pull("PA")
    const jsm = await jetstreamManager(suite.nc)
    const until = future(60_000)
    // nats.js types the reply without pause_remaining; nats-server sends it while paused.
    const paused = (await jsm.consumers.pause("PA", "C", until)) as {
      paused: boolean
      pause_until?: string
      pause_remaining?: number
    }
    expect(paused.paused).toBe(true)
    expect(paused.pause_until).toBe(until.toISOString().replace(".000Z", "Z").replace(/(\.\d*?)0+Z$/, "$1Z"))
    expect(paused.pause_remaining).toBeGreaterThan(50_000_000_000)
    expect(paused.pause_remaining).toBeLessThanOrEqual(60_000_000_000)
    const info = await jsm.consumers.info("PA", "C")
    expect(info.paused).toBe(true)
    expect(info.pause_remaining).toBeGreaterThan(50_000_000_000)
    expect(info.config.pause_until).toBe(paused.pause_until)

    // A pull request waits (with its heartbeats) and expires with nothing.
    const inbox = createInbox()
    const got = await collect(inbox, async () => {
      suite.nc.publish(
        "$JS.API.CONSUMER.MSG.NEXT.PA.C",
        JSON.stringify({ batch: 2, expires: 700_000_000, idle_heartbeat: 200_000_000 }),
        {
          reply: inbox
        }
      )
      await sleep(1000)
    })
    const statuses = got.map((m) => `${m.headers?.code ?? "msg"}`)
    expect(statuses.filter((s) => s === "msg")).toEqual([])
    expect(statuses.filter((s) => s === "100").length).toBeGreaterThanOrEqual(2)
    expect(statuses[statuses.length - 1]).toBe("408")

    // nats.js resumes with the epoch (not Go's zero time): nats-server stores and echoes that deadline.
    const resumed = await jsm.consumers.resume("PA", "C")
    expect(resumed).toEqual({ type: T + "consumer_pause_response", paused: false, pause_until: "1970-01-01T00:00:00Z" })
    const after = await jsm.consumers.info("PA", "C")
    expect([after.paused, after.pause_remaining, after.config.pause_until]).toEqual([
      undefined,
      undefined,
      "1970-01-01T00:00:00Z"
    ])
    const c = await jetstream(suite.nc).consumers.get("PA", "C")
    const data: Array<string> = []
    for await (const m of await c.fetch({ max_messages: 3, expires: 2000 })) {
      data.push(dc.decode(m.data))
      m.ack()
    }
    expect(data).toEqual(["m1", "m2", "m3"])
  })

  it("the raw reply: JSON members as nats-server sends them, resume with no body, and the errors", async () => {
    await stream("PB")
    await pull("PB")
    const r = await api("CONSUMER.PAUSE.PB.C", { pause_until: "2099-01-02T04:04:05.5+01:00" })
    expect(Object.keys(r)).toEqual(["type", "paused", "pause_until", "pause_remaining"])
    expect([r.type, r.paused, r.pause_until]).toEqual([T + "consumer_pause_response", true, "2099-01-02T03:04:05.5Z"])
    // No body (not a JSON object) resumes; the zero time is written back.
    expect(await api("CONSUMER.PAUSE.PB.C", "")).toEqual({
      type: T + "consumer_pause_response",
      paused: false,
      pause_until: "0001-01-01T00:00:00Z"
    })
    // A deadline already past: stored, not paused.
    const past = await api("CONSUMER.PAUSE.PB.C", { pause_until: "2001-01-01T00:00:00Z" })
    expect([past.paused, past.pause_remaining]).toEqual([false, undefined])
    expect(((await api("CONSUMER.INFO.PB.C")).config as Json).pause_until).toBe("2001-01-01T00:00:00Z")
    const zero = { paused: false, pause_until: "0001-01-01T00:00:00Z" }
    const error = (code: number, err_code: number, description: string) => ({
      type: T + "consumer_pause_response",
      error: { code, err_code, description },
      ...zero
    })
    expect(await api("CONSUMER.PAUSE.PB.NOPE", {})).toEqual(error(404, 10014, "consumer not found"))
    expect(await api("CONSUMER.PAUSE.NOPE.C", {})).toEqual(error(404, 10059, "stream not found"))
    expect(await api("CONSUMER.PAUSE.PB.C", { pause_until: "soon" })).toEqual(error(400, 10025, "invalid JSON"))
    expect(await api("CONSUMER.PAUSE.PB.C", { pause: 1 })).toEqual(
      error(400, 10025, `invalid JSON: json: unknown field "pause"`)
    )
    // The body is decoded before the stream is looked up.
    expect(await api("CONSUMER.PAUSE.NOPE.C", "[1]")).toEqual(error(400, 10025, "invalid JSON"))
  })

  it("advisories: on pause, on resume and when the deadline passes; the consumer then delivers by itself", async () => {
    await stream("PC")
    await pull("PC")
    const adv: Array<Json> = []
    const sub = suite.nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.PC.C", {
      callback: (_e, m) => void adv.push(JSON.parse(dc.decode(m.data)) as Json)
    })
    await suite.nc.flush()
    const r = await api("CONSUMER.PAUSE.PC.C", { pause_until: future(600).toISOString() })
    expect(r.paused).toBe(true)
    // A pull request waiting through the pause gets the messages once it ends.
    const inbox = createInbox()
    const got = await collect(inbox, async (seen) => {
      suite.nc.publish("$JS.API.CONSUMER.MSG.NEXT.PC.C", JSON.stringify({ batch: 3, expires: 3_000_000_000 }), {
        reply: inbox
      })
      await sleep(300)
      expect(seen.length).toBe(0)
      await sleep(900)
    })
    expect(got.map((m) => dc.decode(m.data))).toEqual(["m1", "m2", "m3"])
    await api("CONSUMER.PAUSE.PC.C", { pause_until: future(60_000).toISOString() })
    await api("CONSUMER.PAUSE.PC.C", {})
    await suite.nc.flush()
    await sleep(50)
    sub.unsubscribe()
    expect(adv.map((a) => [a.type, a.stream, a.consumer, a.paused])).toEqual([
      ["io.nats.jetstream.advisory.v1.consumer_pause", "PC", "C", true],
      ["io.nats.jetstream.advisory.v1.consumer_pause", "PC", "C", false],
      ["io.nats.jetstream.advisory.v1.consumer_pause", "PC", "C", true],
      ["io.nats.jetstream.advisory.v1.consumer_pause", "PC", "C", false]
    ])
    expect(adv[0]!.pause_until).toBe(r.pause_until)
    expect(adv[3]!.pause_until).toBe("0001-01-01T00:00:00Z")
    expect(Object.keys(adv[0]!)).toEqual(["type", "id", "timestamp", "stream", "consumer", "paused", "pause_until"])
  })

  it("a push consumer created paused sends nothing but heartbeats, then delivers", async () => {
    await stream("PD")
    const deliver = createInbox()
    const got = await collect(deliver, async (seen) => {
      const r = await api("CONSUMER.CREATE.PD.P", {
        stream_name: "PD",
        config: {
          name: "P",
          deliver_subject: deliver,
          ack_policy: "none",
          idle_heartbeat: 200_000_000,
          pause_until: future(800).toISOString()
        }
      })
      expect(r.error).toBeUndefined()
      expect(r.paused).toBe(true)
      await sleep(600)
      expect(seen.filter((m) => m.headers?.code !== 100)).toEqual([])
      expect(seen.length).toBeGreaterThanOrEqual(1)
      await sleep(700)
    })
    expect(got.filter((m) => m.headers?.code !== 100).map((m) => dc.decode(m.data))).toEqual(["m1", "m2", "m3"])
  })

  it("an update (CONSUMER.CREATE of an existing name) keeps the stored pause_until", async () => {
    await stream("PE")
    await pull("PE", { pause_until: "2099-01-01T00:00:00Z" })
    const r = await api("CONSUMER.CREATE.PE.C", {
      stream_name: "PE",
      config: {
        name: "C",
        durable_name: "C",
        ack_policy: "explicit",
        description: "x",
        pause_until: "2098-01-01T00:00:00Z"
      }
    })
    expect(r.error).toBeUndefined()
    expect([(r.config as Json).description, (r.config as Json).pause_until]).toEqual(["x", "2099-01-01T00:00:00Z"])
    // Without it as well: the pause stays.
    const again = await api("CONSUMER.CREATE.PE.C", {
      stream_name: "PE",
      config: { name: "C", durable_name: "C", ack_policy: "explicit", description: "y" }
    })
    expect((again.config as Json).pause_until).toBe("2099-01-01T00:00:00Z")
    expect(again.paused).toBe(true)
  })
})

describe("pause survives a restart (file store durable)", () => {
  it("the deadline is config: after a restart the consumer is still paused and delivers nothing", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pause-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      let c = await connect({ servers: b.url, reconnect: false })
      let jsm = await jetstreamManager(c)
      await jsm.streams.add({ name: "PR", subjects: ["pr.>"] })
      await jetstream(c).publish("pr.a", sc.encode("x"))
      await jsm.consumers.add("PR", { durable_name: "D", ack_policy: AckPolicy.Explicit })
      const until = future(3_600_000)
      await jsm.consumers.pause("PR", "D", until)
      await c.close()
      await b.stop()

      b = await startBroker({ jetstream: true, storeDir })
      c = await connect({ servers: b.url, reconnect: false })
      jsm = await jetstreamManager(c)
      const info = await jsm.consumers.info("PR", "D")
      expect(info.paused).toBe(true)
      expect(Date.parse(info.config.pause_until!)).toBe(until.getTime())
      const consumer = await jetstream(c).consumers.get("PR", "D")
      const got: Array<string> = []
      for await (const m of await consumer.fetch({ max_messages: 1, expires: 1000 })) got.push(dc.decode(m.data))
      expect(got).toEqual([])
      await jsm.consumers.resume("PR", "D")
      for await (const m of await consumer.fetch({ max_messages: 1, expires: 2000 })) got.push(dc.decode(m.data))
      expect(got).toEqual(["x"])
      await c.close()
      await b.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
