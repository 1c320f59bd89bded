/**
 * The 2.11 request rules on the API: `Nats-Required-Api-Level` (refused with 10185 above our level,
 * jetstream_api.go errorOnRequiredApiLevel), `api.level` in account INFO (gated on the 2.11 level, so
 * the reply is unchanged while we advertise 2.10), and `Nats-Expected-Last-Subject-Sequence-Subject`
 * (stream.go processJetStreamMsg). 2.9.10 has none of these: expected values are from nats-server's source.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AT_LEVEL_211 } from "../../src/config/BrokerConfig.ts"
import { apiSection } from "../../src/jetstream/AccountJetStream.ts"
import { API_LEVEL } from "../../src/jetstream/model/ApiLevel.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

let broker: RunningBroker
let nc: NatsConnection
let jsm: JetStreamManager
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  jsm = await jetstreamManager(nc)
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

const request = async (subject: string, body: string, hdr?: Record<string, string>) => {
  const h = natsHeaders()
  for (const [k, v] of Object.entries(hdr ?? {})) h.set(k, v)
  const m = await nc.request(subject, body, { timeout: 2000, ...(hdr === undefined ? {} : { headers: h }) })
  return { json: m.data.length > 0 ? m.json<Record<string, unknown>>() : undefined, status: m.headers?.code ?? 0 }
}

describe("INFO api.level", () => {
  it("is reported from the 2.11 level only, as the API level of the advertised release", () => {
    expect(apiSection({ total: 3, errors: 1 }, true)).toEqual({ level: API_LEVEL, total: 3, errors: 1 })
    expect(apiSection({ total: 3, errors: 1 }, false)).toEqual({ total: 3, errors: 1 })
  })

  it("on the wire follows AT_LEVEL_211", async () => {
    const { json } = await request("$JS.API.INFO", "")
    const api = json!["api"] as Record<string, unknown>
    expect("level" in api).toBe(AT_LEVEL_211)
    if (AT_LEVEL_211) expect(api["level"]).toBe(API_LEVEL)
  })
})

describe("Nats-Required-Api-Level on API requests", () => {
  it("above our level: 412 / 10185 with the route's response type, nothing created", async () => {
    const { json } = await request("$JS.API.STREAM.CREATE.LV", JSON.stringify({ name: "LV", subjects: ["lv.>"] }), {
      "Nats-Required-Api-Level": String(API_LEVEL + 1)
    })
    expect(json).toEqual({
      type: "io.nats.jetstream.api.v1.stream_create_response",
      error: { code: 412, err_code: 10185, description: "JetStream minimum api level required" }
    })
    const names = await jsm.streams.names().next()
    expect(names).not.toContain("LV")
    const info = await request("$JS.API.INFO", "", { "Nats-Required-Api-Level": "nine" })
    expect((info.json!["error"] as Record<string, unknown>)["err_code"]).toBe(10185)
  })

  it("at or below our level the request is served", async () => {
    const { json } = await request("$JS.API.STREAM.CREATE.LV", JSON.stringify({ name: "LV", subjects: ["lv.>"] }), {
      "Nats-Required-Api-Level": String(API_LEVEL)
    })
    expect(json!["error"]).toBeUndefined()
    expect((json!["config"] as Record<string, unknown>)["name"]).toBe("LV")
  })

  it("a pull request above our level is a 412 Required Api Level status", async () => {
    await jsm.consumers.add("LV", { durable_name: "P", ack_policy: "explicit" })
    const { status } = await request("$JS.API.CONSUMER.MSG.NEXT.LV.P", JSON.stringify({ batch: 1, no_wait: true }), {
      "Nats-Required-Api-Level": "7"
    })
    expect(status).toBe(412)
  })
})

describe("Nats-Expected-Last-Subject-Sequence-Subject", () => {
  it("checks the last sequence of the named subject (wildcards too) instead of the message's", async () => {
    await jsm.streams.add({ name: "EX", subjects: ["ex.>"] })
    const js = jsm.jetstream()
    await js.publish("ex.a.1")
    await js.publish("ex.b.1")
    await js.publish("ex.a.2")
    const pub = (subject: string, hdr: Record<string, string>) => request(subject, "x", hdr)
    // The last message on ex.a.* is 3; the message's own subject (ex.a.9) has none.
    const ok = await pub("ex.a.9", {
      "Nats-Expected-Last-Subject-Sequence": "3",
      "Nats-Expected-Last-Subject-Sequence-Subject": "ex.a.*"
    })
    expect(ok.json).toEqual({ stream: "EX", seq: 4 })
    const wrong = await pub("ex.a.9", {
      "Nats-Expected-Last-Subject-Sequence": "3",
      "Nats-Expected-Last-Subject-Sequence-Subject": "ex.b.1"
    })
    expect(wrong.json).toEqual({
      stream: "EX",
      seq: 0,
      error: { code: 400, err_code: 10071, description: "wrong last sequence: 2" }
    })
    const none = await pub("ex.c", {
      "Nats-Expected-Last-Subject-Sequence": "0",
      "Nats-Expected-Last-Subject-Sequence-Subject": "ex.none.>"
    })
    expect(none.json).toEqual({ stream: "EX", seq: 5 })
  })

  it("without the sequence header it is refused with 10193", async () => {
    const r = await request("ex.z", "x", { "Nats-Expected-Last-Subject-Sequence-Subject": "ex.a.*" })
    expect(r.json).toEqual({
      stream: "EX",
      seq: 0,
      error: { code: 400, err_code: 10193, description: "missing sequence for expected last sequence per subject" }
    })
    const info = await jsm.streams.info("EX")
    expect(info.state.last_seq).toBe(5)
  })
})

describe("pedantic on the wire", () => {
  it("nats.js consumers.add with { pedantic: true } is refused where the stream's limits would fill in", async () => {
    await jsm.streams.add({ name: "PD", subjects: ["pd.>"], consumer_limits: { max_ack_pending: 20 } })
    await expect(jsm.consumers.add("PD", { name: "C1", ack_policy: "explicit" }, { pedantic: true }))
      .rejects.toThrow("pedantic mode: max_ack_pending must be set if it's configured in stream limits")
    const ok = await jsm.consumers.add(
      "PD",
      { name: "C2", ack_policy: "explicit", max_ack_pending: 5 },
      { pedantic: true }
    )
    expect(ok.config.max_ack_pending).toBe(5)
    const adjusted = await jsm.consumers.add("PD", { name: "C3", ack_policy: "explicit" })
    expect(adjusted.config.max_ack_pending).toBe(20)
  })

  it("a pedantic STREAM.CREATE is refused with 10157 and creates nothing", async () => {
    const { json } = await request(
      "$JS.API.STREAM.CREATE.PS",
      JSON.stringify({ name: "PS", subjects: ["ps"], max_age: 60_000_000_000, pedantic: true })
    )
    expect(json!["error"]).toEqual({
      code: 400,
      err_code: 10157,
      description: "pedantic mode: pedantic mode: duplicate window cannot be bigger than max age"
    })
    const info = await request("$JS.API.STREAM.INFO.PS", "")
    expect((info.json!["error"] as Record<string, unknown>)["err_code"]).toBe(10059)
  })
})

describe("pull requests to a missing consumer or stream (2.11 client.go processServiceImport)", () => {
  it("a pull for a consumer or stream that does not exist gets no-responders (503)", async () => {
    await jsm.streams.add({ name: "NR", subjects: ["nr.>"] })
    for (const subject of ["$JS.API.CONSUMER.MSG.NEXT.NR.NOPE", "$JS.API.CONSUMER.MSG.NEXT.NOSTREAM.C"]) {
      await expect(nc.request(subject, JSON.stringify({ batch: 1 }), { timeout: 2000 })).rejects.toThrow(
        /no responders/i
      )
    }
    // A direct get no stream answers (missing, or without allow_direct) is no-responders too.
    await expect(nc.request("$JS.API.DIRECT.GET.NR", JSON.stringify({ seq: 1 }), { timeout: 2000 })).rejects.toThrow(
      /no responders/i
    )
  })

  it("a waiting pull is told 409 Consumer Deleted when its consumer, or its stream, is deleted", async () => {
    for (const deleteWhat of ["consumer", "stream"] as const) {
      const stream = `WD${deleteWhat}`
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] })
      await jsm.consumers.add(stream, { durable_name: "W", ack_policy: "explicit" })
      const pending = nc.request(`$JS.API.CONSUMER.MSG.NEXT.${stream}.W`, JSON.stringify({ batch: 1, expires: 5e9 }), {
        timeout: 4000
      })
      await new Promise((r) => setTimeout(r, 100))
      if (deleteWhat === "consumer") await jsm.consumers.delete(stream, "W")
      else await jsm.streams.delete(stream)
      const m = await pending
      expect([deleteWhat, m.headers?.code, m.headers?.description]).toEqual([deleteWhat, 409, "Consumer Deleted"])
    }
  })
})
