/**
 * The 2.10 stream and consumer fields built so far, as raw `$JS.API` requests over a real socket
 * (nats.js refuses them below an advertised 2.10, and the nats.go on this machine predates them):
 * `metadata` (limit, round trip, update, restart), `first_seq`, `consumer_limits`, durable
 * `inactive_threshold`, and the `action` of CONSUMER.CREATE. Values and errors are nats-server
 * 2.10's (stream.go checkStreamCfg, consumer.go setConsumerConfigDefaults / checkConsumerCfg /
 * addConsumerWithAssignment, errors.json). No differential part: the installed nats-server is
 * 2.9.10, which ignores every one of these fields.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { API_LEVEL } from "../../src/jetstream/model/ApiLevel.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"
import { withoutVersionMetadata } from "../support/Level211.ts"

type ApiReply = {
  error?: { code: number; err_code: number; description: string }
  config?: Record<string, unknown>
  state?: Record<string, unknown>
  streams?: Array<{ config: Record<string, unknown> }>
  consumers?: Array<{ name: string; config: Record<string, unknown> }>
  seq?: number
}

const enc = new TextEncoder()
const dec = new TextDecoder()

const apiOf = (nc: NatsConnection) => async (subject: string, body: unknown): Promise<ApiReply> => {
  const data = typeof body === "string" ? body : JSON.stringify(body)
  const m = await nc.request(`$JS.API.${subject}`, enc.encode(data), { timeout: 5000 })
  return JSON.parse(dec.decode(m.data)) as ApiReply
}

const publish = async (nc: NatsConnection, subject: string): Promise<ApiReply> =>
  JSON.parse(dec.decode((await nc.request(subject, enc.encode("x"), { timeout: 5000 })).data)) as ApiReply

/** A metadata map whose keys and values add up to exactly `bytes` bytes. */
const metadataOf = (bytes: number): Record<string, string> => ({ k: "v".repeat(bytes - 1) })

let broker: RunningBroker
let nc: NatsConnection
let api: ReturnType<typeof apiOf>
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  api = apiOf(nc)
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

describe("stream metadata", () => {
  it("round-trips sorted in CREATE, INFO and LIST, and an update replaces it", async () => {
    const created = await api("STREAM.CREATE.MD", { name: "MD", subjects: ["md.>"], metadata: { b: "2", a: "1" } })
    expect(created.error).toBeUndefined()
    // At 2.11 every reply's metadata also has ADR-44's keys (asserted and taken out: Level211.ts).
    expect(withoutVersionMetadata(created.config?.metadata)).toEqual({ a: "1", b: "2" })
    const info = await nc.request("$JS.API.STREAM.INFO.MD", enc.encode(""), { timeout: 5000 })
    // 2.11 stream.go StreamConfig order: ..., allow_rollup_hdrs, consumer_limits (always),
    // allow_msg_ttl (always), metadata; Go sorts the map's keys.
    expect(dec.decode(info.data)).toContain(
      `"allow_rollup_hdrs":false,"consumer_limits":{},"allow_msg_ttl":false,"metadata":{"_nats.level":"${API_LEVEL}",` +
        `"_nats.req.level":"0","_nats.ver":"${ADVERTISED_NATS_VERSION}","a":"1","b":"2"}}`
    )
    const list = await api("STREAM.LIST", {})
    expect(withoutVersionMetadata(list.streams?.find((s) => s.config.name === "MD")?.config.metadata)).toEqual({
      a: "1",
      b: "2"
    })
    const updated = await api("STREAM.UPDATE.MD", { name: "MD", subjects: ["md.>"], metadata: { c: "3" } })
    expect(updated.error).toBeUndefined()
    expect(withoutVersionMetadata(updated.config?.metadata)).toEqual({ c: "3" })
    // An update without the key clears the client's keys (only ADR-44's remain).
    const cleared = await api("STREAM.UPDATE.MD", { name: "MD", subjects: ["md.>"] })
    expect(withoutVersionMetadata(cleared.config?.metadata)).toBeUndefined()
  })

  it("is limited to 128 KiB of keys and values, counted in bytes, on create and update", async () => {
    expect((await api("STREAM.CREATE.MDMAX", { name: "MDMAX", metadata: metadataOf(131072) })).error)
      .toBeUndefined()
    const over = { code: 500, err_code: 10052, description: "stream metadata exceeds maximum size of 131072 bytes" }
    expect((await api("STREAM.CREATE.MDBIG", { name: "MDBIG", metadata: metadataOf(131073) })).error).toEqual(over)
    // "é" is two bytes in UTF-8: 131071 characters, 131072 + 1 bytes.
    expect((await api("STREAM.CREATE.MDBIG", { name: "MDBIG", metadata: { é: "v".repeat(131071) } })).error)
      .toEqual(over)
    expect((await api("STREAM.INFO.MDBIG", "")).error?.err_code).toBe(10059)
    expect((await api("STREAM.UPDATE.MDMAX", { name: "MDMAX", metadata: metadataOf(131073) })).error).toEqual(over)
    expect(withoutVersionMetadata((await api("STREAM.INFO.MDMAX", "")).config?.metadata)).toEqual(metadataOf(131072))
  })

  it("reserved _nats.* keys a client sends are replaced by the server's (2.11, ADR-44)", async () => {
    const sent = { "_nats.req.level": "7", "_nats.ver": "9.9.9", "_nats.level": "9", keep: "me" }
    const r = await api("STREAM.CREATE.MDNATS", { name: "MDNATS", metadata: sent })
    expect(r.error).toBeUndefined()
    expect(withoutVersionMetadata(r.config?.metadata)).toEqual({ keep: "me" })
    // The level follows the config's features: message TTLs need API level 1.
    const ttl = await api("STREAM.CREATE.MDTTL", { name: "MDTTL", allow_msg_ttl: true, metadata: sent })
    expect(ttl.error).toBeUndefined()
    expect(withoutVersionMetadata(ttl.config?.metadata, "1")).toEqual({ keep: "me" })
    expect(withoutVersionMetadata((await api("STREAM.INFO.MDTTL", "")).config?.metadata, "1")).toEqual({
      keep: "me"
    })
  })
})

describe("consumer metadata", () => {
  beforeAll(async () => {
    expect((await api("STREAM.CREATE.CMD", { name: "CMD", subjects: ["cmd.>"] })).error).toBeUndefined()
  })

  it("round-trips in CREATE, INFO and LIST, and an update changes it", async () => {
    const body = (metadata: Record<string, string>) => ({
      stream_name: "CMD",
      config: { durable_name: "D", ack_policy: "explicit", metadata }
    })
    const created = await api("CONSUMER.CREATE.CMD.D", body({ y: "2", x: "1" }))
    expect(created.error).toBeUndefined()
    const raw = await nc.request("$JS.API.CONSUMER.INFO.CMD.D", enc.encode(""), { timeout: 5000 })
    // At 2.11 with ADR-44's keys, sorted as Go sorts map keys (asserted and taken out below: Level211.ts).
    expect(dec.decode(raw.data)).toContain(
      `"num_replicas":0,"metadata":{"_nats.level":"${API_LEVEL}","_nats.req.level":"0",` +
        `"_nats.ver":"${ADVERTISED_NATS_VERSION}","x":"1","y":"2"}}`
    )
    const list = await api("CONSUMER.LIST.CMD", {})
    expect(withoutVersionMetadata(list.consumers?.find((c) => c.name === "D")?.config.metadata)).toEqual({
      x: "1",
      y: "2"
    })
    const updated = await api("CONSUMER.CREATE.CMD.D", body({ z: "3" }))
    expect(updated.error).toBeUndefined()
    expect(withoutVersionMetadata(updated.config?.metadata)).toEqual({ z: "3" })
    expect(withoutVersionMetadata((await api("CONSUMER.INFO.CMD.D", "")).config?.metadata)).toEqual({ z: "3" })
  })

  it("is limited to 128 KiB: 10135 naming 128KB", async () => {
    const body = (name: string, metadata: Record<string, string>) => ({
      stream_name: "CMD",
      config: { name, metadata }
    })
    expect((await api("CONSUMER.CREATE.CMD.BIG", body("BIG", metadataOf(131072)))).error).toBeUndefined()
    expect((await api("CONSUMER.CREATE.CMD.BIG2", body("BIG2", metadataOf(131073)))).error).toEqual({
      code: 400,
      err_code: 10135,
      description: "consumer metadata exceeds maximum size of 128KB"
    })
    expect((await api("CONSUMER.INFO.CMD.BIG2", "")).error?.err_code).toBe(10014)
  })

  it("an update with an invalid dead_letter key is refused and the metadata stays", async () => {
    const bad = await api("CONSUMER.CREATE.CMD.D", {
      stream_name: "CMD",
      config: { durable_name: "D", ack_policy: "explicit", metadata: { dead_letter: "dl.*" } }
    })
    expect(bad.error?.description).toBe("consumer metadata dead_letter must be a subject without wildcards")
    expect(withoutVersionMetadata((await api("CONSUMER.INFO.CMD.D", "")).config?.metadata)).toEqual({ z: "3" })
  })
})

describe("first_seq", () => {
  it("starts the stream's sequence there; state of the empty stream is first_seq N, last_seq N-1", async () => {
    const created = await api("STREAM.CREATE.FS", { name: "FS", subjects: ["fs"], first_seq: 100 })
    expect(created.config?.first_seq).toBe(100)
    expect(created.state).toMatchObject({ messages: 0, first_seq: 100, last_seq: 99 })
    expect((await publish(nc, "fs")).seq).toBe(100)
    expect((await publish(nc, "fs")).seq).toBe(101)
  })

  it("a mirror can not have one: 10143", async () => {
    expect((await api("STREAM.CREATE.FSM", { name: "FSM", mirror: { name: "FS" }, first_seq: 5 })).error).toEqual({
      code: 400,
      err_code: 10143,
      description: "stream mirrors can not have first sequence configured"
    })
  })
})

describe("consumer_limits", () => {
  const limits = { inactive_threshold: 60_000_000_000, max_ack_pending: 10 }
  beforeAll(async () => {
    const r = await api("STREAM.CREATE.CL", { name: "CL", subjects: ["cl.>"], consumer_limits: limits })
    expect(r.error).toBeUndefined()
    expect(r.config?.consumer_limits).toEqual(limits)
  })
  const create = (name: string, config: Record<string, unknown>) =>
    api(`CONSUMER.CREATE.CL.${name}`, { stream_name: "CL", config: { name, ack_policy: "explicit", ...config } })

  it("are the defaults of new consumers, durable and ephemeral", async () => {
    const eph = await create("E", {})
    expect([eph.config?.max_ack_pending, eph.config?.inactive_threshold]).toEqual([10, 60_000_000_000])
    const durable = await create("DUR", { durable_name: "DUR" })
    expect([durable.config?.max_ack_pending, durable.config?.inactive_threshold]).toEqual([10, 60_000_000_000])
    const lower = await create("LOW", { max_ack_pending: 3, inactive_threshold: 1_000_000_000 })
    expect([lower.config?.max_ack_pending, lower.config?.inactive_threshold]).toEqual([3, 1_000_000_000])
  })

  it("cap what a consumer may ask for: 10121 and 10153 with the limit", async () => {
    expect((await create("X1", { max_ack_pending: 11 })).error).toEqual({
      code: 400,
      err_code: 10121,
      description: "consumer max ack pending exceeds system limit of 10"
    })
    expect((await create("X2", { inactive_threshold: 60_000_000_001 })).error).toEqual({
      code: 400,
      err_code: 10153,
      description: "consumer inactive threshold exceeds system limit of 1m0s"
    })
  })

  it("are decoded as Go does: integers only, unknown keys named", async () => {
    for (const l of [{ max_ack_pending: "5" }, { inactive_threshold: 1.5 }, { max_ack_pending: true }]) {
      expect((await api("STREAM.CREATE.CLX", { name: "CLX", consumer_limits: l })).error).toEqual({
        code: 400,
        err_code: 10025,
        description: "invalid JSON"
      })
    }
    expect((await api("STREAM.CREATE.CLX", { name: "CLX", consumer_limits: { max_waiting: 1 } })).error?.description)
      .toBe(`invalid JSON: json: unknown field "max_waiting"`)
    // `null` leaves Go's struct value as it is: no limits, written as `{}` (no omitempty on the struct).
    const r = await api("STREAM.CREATE.CLX", { name: "CLX", consumer_limits: null })
    expect(r.error).toBeUndefined()
    expect(r.config?.consumer_limits).toEqual({})
  })

  it("an ack-none push consumer gets the max_ack_pending default too, and then fails 10082 (as 2.10)", async () => {
    const r = await api("CONSUMER.CREATE.CL.P", {
      stream_name: "CL",
      config: { name: "P", ack_policy: "none", deliver_subject: "cl-push" }
    })
    expect(r.error?.err_code).toBe(10082)
  })

  it("an update to a limit some consumer exceeds is 10069 naming them; one they meet is fine", async () => {
    expect((await create("HI", { max_ack_pending: 8 })).error).toBeUndefined()
    const refused = await api("STREAM.UPDATE.CL", {
      name: "CL",
      subjects: ["cl.>"],
      consumer_limits: { ...limits, max_ack_pending: 5 }
    })
    expect(refused.error).toEqual({
      code: 500,
      err_code: 10069,
      description: "change to limits violates consumers: DUR, E, HI"
    })
    expect((await api("STREAM.INFO.CL", "")).config?.consumer_limits).toEqual(limits)
    const ok = await api("STREAM.UPDATE.CL", {
      name: "CL",
      subjects: ["cl.>"],
      consumer_limits: { ...limits, max_ack_pending: 20 }
    })
    expect(ok.config?.consumer_limits).toEqual({ ...limits, max_ack_pending: 20 })
    // Removing the limits checks nothing.
    const removed = await api("STREAM.UPDATE.CL", { name: "CL", subjects: ["cl.>"], consumer_limits: {} })
    expect(removed.error).toBeUndefined()
    expect(removed.config?.consumer_limits).toEqual({})
  })
})

describe("durable inactive_threshold (2.10: durables are removed after inactivity too)", () => {
  it("removes an idle durable that set one and keeps one that did not", async () => {
    expect((await api("STREAM.CREATE.IT", { name: "IT", subjects: ["it"] })).error).toBeUndefined()
    const durable = (name: string, extra: Record<string, unknown>) =>
      api(`CONSUMER.CREATE.IT.${name}`, {
        stream_name: "IT",
        config: { durable_name: name, ack_policy: "explicit", ...extra }
      })
    const gone = await durable("GONE", { inactive_threshold: 300_000_000 })
    expect(gone.config?.inactive_threshold).toBe(300_000_000)
    expect((await durable("KEPT", {})).config).not.toHaveProperty("inactive_threshold")
    await sleep(1200)
    expect((await api("CONSUMER.INFO.IT.GONE", "")).error?.err_code).toBe(10014)
    expect((await api("CONSUMER.INFO.IT.KEPT", "")).error).toBeUndefined()
  })

  it("a pull request in time keeps it", async () => {
    const r = await api("CONSUMER.CREATE.IT.BUSY", {
      stream_name: "IT",
      config: { durable_name: "BUSY", ack_policy: "explicit", inactive_threshold: 600_000_000 }
    })
    expect(r.error).toBeUndefined()
    const inbox = nc.subscribe("busy.inbox")
    for (let i = 0; i < 4; i++) {
      await sleep(300)
      nc.publish("$JS.API.CONSUMER.MSG.NEXT.IT.BUSY", enc.encode(JSON.stringify({ batch: 1, expires: 1_000_000 })), {
        reply: "busy.inbox"
      })
    }
    await nc.flush()
    inbox.unsubscribe()
    expect((await api("CONSUMER.INFO.IT.BUSY", "")).error).toBeUndefined()
  })
})

describe("CONSUMER.CREATE action", () => {
  beforeAll(async () => {
    expect((await api("STREAM.CREATE.ACT", { name: "ACT", subjects: ["act.>"] })).error).toBeUndefined()
  })
  const req = (name: string, action: string, config: Record<string, unknown> = {}) =>
    api(`CONSUMER.CREATE.ACT.${name}`, {
      stream_name: "ACT",
      action,
      config: { durable_name: name, ack_policy: "explicit", ...config }
    })

  // At the advertised 2.10 level the action is acted on (nats-server 2.10 stream.go addConsumerWithAction:
  // "create" may not change a consumer, "update" must find one). 2.9.10 ignored it; that level's rule is
  // unit-checked in spec/jetstream/model/ConsumerConfig.spec.ts.
  it("create refuses a changed config, update an absent consumer; each does its own job", async () => {
    expect((await req("A", "create")).error).toBeUndefined()
    expect((await req("A", "create")).config?.durable_name).toBe("A")
    expect((await req("A", "create", { description: "other" })).error).toEqual({
      code: 400,
      err_code: 10148,
      description: "consumer already exists"
    })
    expect((await req("B", "update")).error).toEqual({
      code: 400,
      err_code: 10149,
      description: "consumer does not exist"
    })
    expect((await req("A", "update", { description: "other" })).config?.description).toBe("other")
    // The update rules still apply.
    expect((await req("A", "update", { deliver_policy: "new" })).error?.description).toBe(
      "deliver policy can not be updated"
    )
  })

  it("no action creates or updates; an unknown one is invalid JSON", async () => {
    expect((await req("C", "")).error).toBeUndefined()
    expect((await req("C", "", { description: "d" })).config?.description).toBe("d")
    expect((await req("C", "upsert")).error).toEqual({ code: 400, err_code: 10025, description: "invalid JSON" })
  })

  it("a one-token filter in the subject is compared with the config's (2.10)", async () => {
    expect((await api("STREAM.CREATE.ONE", { name: "ONE", subjects: ["one"] })).error).toBeUndefined()
    const create = (config: Record<string, unknown>) =>
      api("CONSUMER.CREATE.ONE.C.one", { stream_name: "ONE", config: { name: "C", ...config } })
    expect((await create({})).error).toEqual({
      code: 400,
      err_code: 10131,
      description: "Consumer create request did not match filtered subject from create subject"
    })
    expect((await create({ filter_subject: "one" })).config?.filter_subject).toBe("one")
  })
})

describe("ts (2.10: the server time of an info reply)", () => {
  it("ends every stream and consumer info: create, update, info, list", async () => {
    const before = Date.now()
    const replies: Array<string> = []
    const raw = async (subject: string, body: unknown) => {
      const m = await nc.request(
        `$JS.API.${subject}`,
        enc.encode(typeof body === "string" ? body : JSON.stringify(body)),
        {
          timeout: 5000
        }
      )
      replies.push(dec.decode(m.data))
      return JSON.parse(dec.decode(m.data)) as Record<string, unknown>
    }
    await raw("STREAM.CREATE.TS", { name: "TS", subjects: ["ts"] })
    await raw("STREAM.UPDATE.TS", { name: "TS", subjects: ["ts"], description: "d" })
    await raw("STREAM.INFO.TS", "")
    const streams = (await raw("STREAM.LIST", {})).streams as Array<Record<string, unknown>>
    await raw("CONSUMER.CREATE.TS.C", { stream_name: "TS", config: { durable_name: "C", ack_policy: "explicit" } })
    await raw("CONSUMER.INFO.TS.C", "")
    const consumers = (await raw("CONSUMER.LIST.TS", {})).consumers as Array<Record<string, unknown>>
    const after = Date.now()
    const stamps = replies.flatMap((r) => [...r.matchAll(/"ts":"([^"]+)"/g)].map((m) => m[1]!))
    // One per reply, plus one per stream and consumer in the lists (the lists' items carry it).
    expect(stamps.length).toBe(replies.length - 2 + streams.length + consumers.length)
    for (const t of stamps) {
      expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      const ms = Date.parse(t)
      expect(ms).toBeGreaterThanOrEqual(before - 1)
      expect(ms).toBeLessThanOrEqual(after + 1)
    }
    // Where 2.10 puts it: last member of the info, before the create response's did_create.
    expect(replies[0]).toMatch(/"ts":"[^"]+","did_create":true}$/)
    expect(replies[2]).toMatch(/"consumer_count":0},"ts":"[^"]+"}$/)
    expect(replies[5]).toMatch(/"num_pending":0,"ts":"[^"]+"}$/)
  })
})

describe("restart", () => {
  it("keeps stream and consumer metadata, first_seq and consumer_limits", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-210-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      let c = await connect({ servers: b.url, reconnect: false })
      let call = apiOf(c)
      const stream = {
        name: "RS",
        subjects: ["rs"],
        metadata: { owner: "team", "_nats.x": "y" },
        first_seq: 42,
        consumer_limits: { inactive_threshold: 3_600_000_000_000, max_ack_pending: 50 }
      }
      expect((await call("STREAM.CREATE.RS", stream)).error).toBeUndefined()
      const consumer = await call("CONSUMER.CREATE.RS.D", {
        stream_name: "RS",
        config: { durable_name: "D", ack_policy: "explicit", metadata: { dead_letter: "rs.dlq", k: "v" } }
      })
      expect(consumer.error).toBeUndefined()
      const beforeStream = (await call("STREAM.INFO.RS", "")).config
      const beforeConsumer = (await call("CONSUMER.INFO.RS.D", "")).config
      await c.close()
      await b.stop()

      b = await startBroker({ jetstream: true, storeDir })
      c = await connect({ servers: b.url, reconnect: false })
      call = apiOf(c)
      const afterStream = (await call("STREAM.INFO.RS", "")).config
      expect(afterStream).toEqual(beforeStream)
      expect(afterStream).toMatchObject({
        metadata: { owner: "team", "_nats.x": "y" },
        first_seq: 42,
        consumer_limits: { inactive_threshold: 3_600_000_000_000, max_ack_pending: 50 }
      })
      const afterConsumer = (await call("CONSUMER.INFO.RS.D", "")).config
      expect(afterConsumer).toEqual(beforeConsumer)
      expect(afterConsumer).toMatchObject({
        metadata: { dead_letter: "rs.dlq", k: "v" },
        max_ack_pending: 50,
        inactive_threshold: 3_600_000_000_000
      })
      expect((await publish(c, "rs")).seq).toBe(42)
      await c.close()
      await b.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})

describe("account INFO at 2.10 (JetStreamTier reserved_memory, reserved_storage)", () => {
  it("reports the streams' positive max_bytes by storage, after memory and storage", async () => {
    expect((await api("STREAM.CREATE.RSM", { name: "RSM", storage: "memory", max_bytes: 1000 })).error)
      .toBeUndefined()
    expect((await api("STREAM.CREATE.RSF", { name: "RSF", max_bytes: 5000 })).error).toBeUndefined()
    expect((await api("STREAM.CREATE.RSU", { name: "RSU" })).error).toBeUndefined()
    const list = (await api("STREAM.LIST", {})).streams!.map((s) => s.config)
    const sum = (storage: string) =>
      list.filter((c) => c.storage === storage && Number(c.max_bytes) > 0).reduce((n, c) => n + Number(c.max_bytes), 0)
    const m = await nc.request("$JS.API.INFO", enc.encode(""), { timeout: 5000 })
    const info = JSON.parse(dec.decode(m.data)) as Record<string, unknown>
    expect(Object.keys(info).slice(0, 7)).toEqual([
      "type",
      "memory",
      "storage",
      "reserved_memory",
      "reserved_storage",
      "streams",
      "consumers"
    ])
    // Unlimited streams (max_bytes -1) count nothing: nats-server's later fix (#7024) of 2.10.29's wrap-around.
    expect([info.reserved_memory, info.reserved_storage]).toEqual([sum("memory"), sum("file")])
    expect(sum("memory")).toBeGreaterThanOrEqual(1000)
    expect(sum("file")).toBeGreaterThanOrEqual(5000)
  })
})
