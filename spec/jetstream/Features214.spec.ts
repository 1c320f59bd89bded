/**
 * The smaller 2.12/2.14 pieces, over a real client and raw requests: `persist_mode` (stream.go
 * checkStreamCfg / configUpdateCheck), `no_hdr` on MSG.GET and DIRECT.GET (ADR-52), unknown API
 * subjects such as the removed stream templates (jetstream_api.go apiDispatch: 10003), both ack
 * subject forms (consumer.go ackReplyInfo) and the `js_ack_fc_v2` feature flag. Expected values are
 * from nats-server 2.14.5's source (2.9.10 on PATH has none of them).
 */
import { AckPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AT_LEVEL_211 } from "../../src/config/BrokerConfig.ts"
import { featureFlag, mergedFeatureFlags } from "../../src/config/FeatureFlags.ts"
import { ackTarget } from "../../src/jetstream/consumer/AckProcessing.ts"
import { apiLevelOf } from "../../src/jetstream/model/ApiLevel.ts"
import { consumerRequiredLevel, streamRequiredLevel } from "../../src/jetstream/model/VersionMetadata.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

type Json = Record<string, unknown>

const rawRequest = async (nc: NatsConnection, subject: string, body: string): Promise<Msg> =>
  nc.request(subject, body, { timeout: 2000 })

/** One pulled message (a mux-inbox request would not match it: deliveries keep the stored subject). */
const pullOne = async (nc: NatsConnection, stream: string, consumer: string): Promise<Msg> => {
  const inbox = `_INBOX.pull.${stream}.${consumer}.${Math.random().toString(36).slice(2)}`
  const sub = nc.subscribe(inbox, { max: 1, timeout: 2000 })
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch: 1 }), { reply: inbox })
  for await (const m of sub) return m
  throw new Error("no message")
}

const jsonRequest = async (nc: NatsConnection, subject: string, body: string | object): Promise<Json> =>
  (await rawRequest(nc, subject, typeof body === "string" ? body : JSON.stringify(body))).json<Json>()

const invalid = (type: string, description: string) => ({
  type: `io.nats.jetstream.api.v1.${type}`,
  error: { code: 500, err_code: 10052, description }
})

describe("API levels and required levels (jetstream_versioning.go)", () => {
  it("the level of each release: 2.11 → 1, 2.12 → 2, 2.14 → 4", () => {
    expect(["2.10.29", "2.11.17", "2.12.15", "2.14.5"].map(apiLevelOf)).toEqual([0, 1, 2, 4])
  })

  it("streams: TTLs 1; counters, atomic, schedules, async persist 2; fast batches 4", () => {
    expect(streamRequiredLevel({})).toBe(0)
    expect(streamRequiredLevel({ persist_mode: "default" })).toBe(0)
    expect(streamRequiredLevel({ allow_msg_ttl: true })).toBe(1)
    expect(streamRequiredLevel({ subject_delete_marker_ttl: 1 })).toBe(1)
    for (const f of ["allow_msg_counter", "allow_atomic", "allow_msg_schedules"] as const) {
      expect(streamRequiredLevel({ [f]: true, allow_msg_ttl: true })).toBe(2)
    }
    expect(streamRequiredLevel({ persist_mode: "async" })).toBe(2)
    expect(streamRequiredLevel({ allow_batched: true, allow_msg_counter: true })).toBe(4)
  })

  it("consumers: pause and any priority policy (prioritized too) 1, ack_policy flow_control 4", () => {
    expect(consumerRequiredLevel({ ack_policy: "explicit" })).toBe(0)
    expect(consumerRequiredLevel({ priority_policy: "prioritized", priority_groups: ["g"] })).toBe(1)
    expect(consumerRequiredLevel({ pause_until: "2030-01-01T00:00:00Z" })).toBe(1)
    expect(consumerRequiredLevel({ ack_policy: "flow_control", priority_timeout: 5 })).toBe(4)
  })
})

describe("feature flags (feature_flags.go)", () => {
  it("configured values over the defaults; unknown names are off and not reported", () => {
    expect(mergedFeatureFlags({})).toEqual({ js_ack_fc_v2: false, js_raft_delete_range: false })
    expect(mergedFeatureFlags({ js_ack_fc_v2: true, nope: true })).toEqual({
      js_ack_fc_v2: true,
      js_raft_delete_range: false
    })
    expect(featureFlag({ nope: true }, "nope")).toBe(false)
  })

  it("ackTarget reads v1 (9 tokens) and v2 (11 or more) subjects, nothing else", () => {
    expect(ackTarget("$JS.ACK.S.C.1.5.3.100.0")).toEqual({ sseq: 5, dseq: 3 })
    expect(ackTarget("$JS.ACK._.HASH.S.C.1.5.3.100.0")).toEqual({ sseq: 5, dseq: 3 })
    expect(ackTarget("$JS.ACK.d.HASH.S.C.2.7.4.100.0.extra")).toEqual({ sseq: 7, dseq: 4 })
    expect(ackTarget("$JS.ACK.x.S.C.1.5.3.100.0")).toBeUndefined()
    expect(ackTarget("$JS.ACK.S.C.1.5.3.100")).toBeUndefined()
  })
})

describe("on a broker", () => {
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

  describe("AckNone consumers take no acks (2.10+)", () => {
    it("nobody listens on their ack subject: a double ack gets no-responders, an explicit consumer's is confirmed", async () => {
      await jsm.streams.add({ name: "AN", subjects: ["an"] })
      await jsm.jetstream().publish("an", "x")
      await jsm.consumers.add("AN", { durable_name: "none", ack_policy: AckPolicy.None })
      await jsm.consumers.add("AN", { durable_name: "expl", ack_policy: AckPolicy.Explicit })
      const none = await pullOne(nc, "AN", "none")
      const refused = await nc.request(none.reply!, "", { timeout: 1000 }).then(
        () => "answered",
        (e: Error) => e.message
      )
      expect(refused).toBe(`no responders: '${none.reply!}'`)
      const expl = await pullOne(nc, "AN", "expl")
      const confirmed = await nc.request(expl.reply!, "", { timeout: 1000 })
      expect(confirmed.data.length).toBe(0)
      await jsm.streams.delete("AN")
    })
  })

  describe("persist_mode", () => {
    it("async on an R1 file stream: reported, required level 2; default is omitted", async () => {
      const r = await jsonRequest(nc, "$JS.API.STREAM.CREATE.PA", {
        name: "PA",
        subjects: ["pa"],
        persist_mode: "async"
      })
      const cfg = r.config as Json
      expect(cfg.persist_mode).toBe("async")
      expect((cfg.metadata as Json)["_nats.req.level"]).toBe(AT_LEVEL_211 ? "2" : undefined)
      const d = await jsonRequest(nc, "$JS.API.STREAM.CREATE.PD", {
        name: "PD",
        subjects: ["pd"],
        persist_mode: "default"
      })
      expect("persist_mode" in (d.config as Json)).toBe(false)
      expect(((d.config as Json).metadata as Json)["_nats.req.level"]).toBe(AT_LEVEL_211 ? "0" : undefined)
      const e = await jsonRequest(nc, "$JS.API.STREAM.CREATE.PE", `{"name":"PE","subjects":["pe"],"persist_mode":""}`)
      expect(e.error).toBeUndefined()
    })

    it("refused on memory and replicated streams, and for an unknown mode (10025)", async () => {
      expect(
        await jsonRequest(nc, "$JS.API.STREAM.CREATE.PM", { name: "PM", storage: "memory", persist_mode: "async" })
      ).toEqual(invalid("stream_create_response", "async persist mode is only supported on file storage"))
      expect(
        await jsonRequest(nc, "$JS.API.STREAM.CREATE.PR", { name: "PR", num_replicas: 3, persist_mode: "async" })
      ).toEqual(invalid("stream_create_response", "async persist mode is not supported on replicated streams"))
      const bad = await jsonRequest(nc, "$JS.API.STREAM.CREATE.PX", { name: "PX", persist_mode: "sync" })
      expect((bad.error as Json).err_code).toBe(10025)
      expect(await jsm.streams.names().next()).not.toContain("PX")
    })

    it("can not change on update, either way", async () => {
      expect(await jsonRequest(nc, "$JS.API.STREAM.UPDATE.PA", { name: "PA", subjects: ["pa"] })).toEqual(
        invalid("stream_update_response", "stream configuration update can not change persist mode")
      )
      expect(
        await jsonRequest(nc, "$JS.API.STREAM.UPDATE.PD", { name: "PD", subjects: ["pd"], persist_mode: "async" })
      ).toEqual(invalid("stream_update_response", "stream configuration update can not change persist mode"))
      const same = await jsonRequest(nc, "$JS.API.STREAM.UPDATE.PA", {
        name: "PA",
        subjects: ["pa", "pa2"],
        persist_mode: "async"
      })
      expect((same.config as Json).subjects).toEqual(["pa", "pa2"])
    })
  })

  describe("no_hdr", () => {
    beforeAll(async () => {
      await jsm.streams.add({ name: "NH", subjects: ["nh.>"], allow_direct: true })
      const h = natsHeaders()
      h.set("X-Mine", "1")
      await nc.request("nh.a", "one", { headers: h, timeout: 2000 })
      await nc.request("nh.b", "two", { timeout: 2000 })
    })

    it("MSG.GET: the message without hdrs; without no_hdr they are there", async () => {
      const r = await jsonRequest(nc, "$JS.API.STREAM.MSG.GET.NH", { seq: 1, no_hdr: true })
      expect(r.message).toEqual({
        subject: "nh.a",
        seq: 1,
        data: Buffer.from("one").toString("base64"),
        time: (r.message as Json).time
      })
      const full = await jsonRequest(nc, "$JS.API.STREAM.MSG.GET.NH", { seq: 1 })
      expect(Buffer.from((full.message as Json).hdrs as string, "base64").toString()).toBe(
        "NATS/1.0\r\nX-Mine: 1\r\n\r\n"
      )
      expect((await jsonRequest(nc, "$JS.API.STREAM.MSG.GET.NH", `{"seq":1,"no_hdr":1}`)).error).toEqual({
        code: 400,
        err_code: 10025,
        description: "invalid JSON"
      })
    })

    it("DIRECT.GET: a plain message with the payload only, single, by subject and in a batch", async () => {
      const one = await rawRequest(nc, "$JS.API.DIRECT.GET.NH", JSON.stringify({ seq: 1, no_hdr: true }))
      expect(one.headers).toBeUndefined()
      expect(one.string()).toBe("one")
      const last = await rawRequest(nc, "$JS.API.DIRECT.GET.NH.nh.b", JSON.stringify({ no_hdr: true }))
      expect([last.headers, last.string()]).toEqual([undefined, "two"])
      const withHdr = await rawRequest(nc, "$JS.API.DIRECT.GET.NH", JSON.stringify({ seq: 1 }))
      expect(withHdr.headers?.get("Nats-Sequence")).toBe("1")

      const got: Array<Msg> = []
      const inbox = `_INBOX.nh.${Date.now()}`
      const sub = nc.subscribe(inbox, { max: 3 })
      nc.publish("$JS.API.DIRECT.GET.NH", JSON.stringify({ seq: 1, batch: 5, no_hdr: true }), { reply: inbox })
      for await (const m of sub) got.push(m)
      expect(got.map((m) => [m.headers === undefined, m.string()])).toEqual([[true, "one"], [true, "two"], [
        false,
        ""
      ]])
      // nats-server counts pending down only on replies that carry headers: the EOB keeps the first count.
      const eob = got[2]!.headers!
      expect([eob.code, eob.get("Nats-Num-Pending"), eob.get("Nats-Last-Sequence")]).toEqual([204, "2", "2"])
    })
  })

  describe("unknown API subjects", () => {
    it("stream templates (removed in 2.14) and other unknown subjects: system_response 10003 from 2.11", async () => {
      for (const subject of ["$JS.API.STREAM.TEMPLATE.CREATE.T", "$JS.API.STREAM.TEMPLATE.NAMES", "$JS.API.NOPE"]) {
        if (!AT_LEVEL_211) continue
        expect(await jsonRequest(nc, subject, "{}")).toEqual({
          type: "io.nats.jetstream.api.v1.system_response",
          error: { code: 400, err_code: 10003, description: "bad request" }
        })
      }
    })

    it("system directives are not answered from an account", async () => {
      await expect(rawRequest(nc, "$JS.API.META.LEADER.STEPDOWN", "")).rejects.toThrow()
      await expect(rawRequest(nc, "$JS.API.ACCOUNT.PURGE.X", "")).rejects.toThrow()
    })
  })

  describe("ack subjects", () => {
    it("a v1 delivery is acked through its v2 form (domain `_`, account hash)", async () => {
      await jsm.streams.add({ name: "AK", subjects: ["ak"] })
      await jsm.consumers.add("AK", { durable_name: "C", ack_policy: AckPolicy.Explicit })
      await nc.request("ak", "x", { timeout: 2000 })
      const m = await pullOne(nc, "AK", "C")
      const t = m.reply!.split(".")
      expect(t.length).toBe(9)
      const hash = hash8("$G")
      const v2 = ["$JS", "ACK", "_", hash, ...t.slice(2)].join(".")
      await nc.request(v2, "+ACK", { timeout: 2000 })
      const info = await jsm.consumers.info("AK", "C")
      expect([info.num_ack_pending, info.ack_floor.stream_seq]).toEqual([0, 1])
    })
  })
})

describe("js_ack_fc_v2 on", () => {
  it("deliveries carry v2 ack subjects with the domain and account hash, and v1 acks still work", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ackv2-"))
    const broker = await startBroker({
      jetstream: true,
      storeDir: dir,
      domain: "hub",
      featureFlags: { js_ack_fc_v2: true }
    })
    const nc = await connect({ servers: broker.url, reconnect: false })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "V2", subjects: ["v2"] })
      await jsm.consumers.add("V2", { durable_name: "C", ack_policy: AckPolicy.Explicit })
      await nc.request("v2", "a", { timeout: 2000 })
      await nc.request("v2", "b", { timeout: 2000 })
      const m = await pullOne(nc, "V2", "C")
      const t = m.reply!.split(".")
      expect(t.slice(0, 7)).toEqual(["$JS", "ACK", "hub", hash8("$G"), "V2", "C", "1"])
      expect([t.length, t[7], t[8], t[10]]).toEqual([11, "1", "1", "1"])
      await nc.request(m.reply!, "+ACK", { timeout: 2000 })
      const m2 = await pullOne(nc, "V2", "C")
      const v1 = ["$JS", "ACK", ...m2.reply!.split(".").slice(4)].join(".")
      await nc.request(v1, "+ACK", { timeout: 2000 })
      const info = await jsm.consumers.info("V2", "C")
      expect([info.num_ack_pending, info.ack_floor.stream_seq]).toEqual([0, 2])
    } finally {
      await nc.close()
      await broker.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** nats-server getHash, written out here so the spec does not share the code it checks. */
const hash8 = (s: string): string => {
  const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
  const b = createHash("sha256").update(s).digest()
  return [...b.subarray(0, 8)].map((x) => digits[x % 62]).join("")
}
