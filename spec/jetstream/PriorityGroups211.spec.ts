/**
 * Priority groups (ADR-42, 2.11) over a real socket, against ours only (nats-server 2.9.10 has none),
 * expected values from nats-server's current consumer.go / jetstream_api.go / errors.json: the
 * config rules and errors, the pull request group checks and their 400/423 statuses, overflow
 * (`min_pending` / `min_ack_pending`), pinned_client (the `Nats-Pin-Id` header, the pin moving
 * after `priority_timeout`, CONSUMER.UNPIN, the pinned/unpinned advisories, consumer info
 * `priority_groups`), and nats.js `fetch`/`consume` with `group`.
 */
import { AckPolicy, jetstream, jetstreamManager, type JsMsg, type PriorityPolicy } from "@nats-io/jetstream"
import { createInbox, type Msg } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { sleep } from "../support/Js.ts"
import { apiSuite, type Json } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const T = "io.nats.jetstream.api.v1."
const ZERO_TIME = "0001-01-01T00:00:00Z"

const suite = apiSuite()
const { api } = suite

let streams = 0
/** A memory stream with `n` messages m1..mn. */
const stream = async (n: number): Promise<string> => {
  const name = `PG${streams++}`
  expect((await api(`STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: "memory" })).error)
    .toBeUndefined()
  const js = jetstream(suite.nc)
  for (let i = 1; i <= n; i++) await js.publish(`${name}.a`, sc.encode(`m${i}`))
  return name
}

const create = (s: string, config: Json) =>
  api(`CONSUMER.CREATE.${s}.C`, { stream_name: s, config: { name: "C", ack_policy: "explicit", ...config } })

/** A raw pull: what the inbox got (statuses as "code description", messages as "data pin=<id>") by `waitMs`. */
const rawPull = async (s: string, body: Json | string, waitMs = 300): Promise<Array<string>> => {
  const inbox = createInbox()
  const got: Array<Msg> = []
  const sub = suite.nc.subscribe(inbox, { callback: (_e, m) => void got.push(m) })
  suite.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${s}.C`, typeof body === "string" ? body : JSON.stringify(body), {
    reply: inbox
  })
  await suite.nc.flush()
  await sleep(waitMs)
  sub.unsubscribe()
  return got.map(show)
}

const show = (m: Msg): string =>
  m.data.length === 0 && m.headers !== undefined
    ? `${m.headers.code} ${m.headers.description}`
    : `${dc.decode(m.data)}${m.headers?.has("Nats-Pin-Id") ? ` pin=${m.headers.get("Nats-Pin-Id")}` : ""}`

describe("priority group config (checkConsumerCfg)", () => {
  it("refuses what nats-server refuses, with its errors", async () => {
    const s = await stream(0)
    const err = async (config: Json) => (await create(s, config)).error
    expect(await err({ priority_policy: "overflow", priority_groups: ["A"], deliver_subject: "dx" })).toEqual({
      code: 400,
      err_code: 10178,
      description: "priority groups can not be used with push consumers"
    })
    expect(await err({ priority_policy: "pinned_client" })).toEqual({
      code: 400,
      err_code: 10159,
      description: "Setting PriorityPolicy requires at least one PriorityGroup to be set"
    })
    expect(await err({ priority_policy: "overflow", priority_groups: ["A", ""] })).toEqual({
      code: 400,
      err_code: 10161,
      description: "Group name cannot be an empty string"
    })
    for (const bad of ["a.b", "x".repeat(17), "a b", "é"]) {
      expect((await err({ priority_policy: "overflow", priority_groups: [bad] }) as Json).err_code, bad).toBe(10162)
    }
    expect(await err({ priority_groups: ["A"] })).toEqual({
      code: 400,
      err_code: 10196,
      description: "consumer can not have priority groups when policy is none"
    })
    expect(await err({ priority_timeout: 1_000_000_000 })).toEqual({
      code: 400,
      err_code: 10197,
      description: "PinnedTTL cannot be set when PriorityPolicy is none"
    })
    expect(await err({ priority_policy: "fastest", priority_groups: ["A"] })).toEqual({
      code: 400,
      err_code: 10025,
      description: `invalid JSON: unknown priority policy: "fastest"`
    })
    // Nothing was created by any of these.
    expect((await api(`CONSUMER.INFO.${s}.C`)).error).toEqual({
      code: 404,
      err_code: 10014,
      description: "consumer not found"
    })
  })

  it("pinned_client defaults priority_timeout to 2m; info shows the group state after ts", async () => {
    const s = await stream(0)
    const r = await create(s, { priority_policy: "pinned_client", priority_groups: ["A", "B/x=_-"] })
    expect(r.error).toBeUndefined()
    const config = r.config as Json
    expect([config.priority_groups, config.priority_policy, config.priority_timeout]).toEqual([
      ["A", "B/x=_-"],
      "pinned_client",
      120_000_000_000
    ])
    const keys = Object.keys(r)
    expect(keys.slice(-2)).toEqual(["ts", "priority_groups"])
    expect(r.priority_groups).toEqual([{ group: "A", pinned_ts: ZERO_TIME }])
    // A negative timeout is 0 (then the default), as outside pedantic mode.
    const o = await api(`CONSUMER.CREATE.${s}.O`, {
      stream_name: s,
      config: {
        name: "O",
        ack_policy: "explicit",
        priority_policy: "overflow",
        priority_groups: ["A"],
        priority_timeout: -5
      }
    })
    expect((o.config as Json).priority_timeout).toBeUndefined()
  })
})

describe("pull requests to a consumer with groups", () => {
  it("are checked as processNextMsgRequest does", async () => {
    const s = await stream(1)
    expect((await create(s, { priority_policy: "pinned_client", priority_groups: ["A"] })).error).toBeUndefined()
    expect(await rawPull(s, { batch: 1 })).toEqual(["400 Bad Request - Priority Group missing"])
    expect(await rawPull(s, { batch: 1, group: "Z" })).toEqual(["400 Bad Request - Invalid Priority Group"])
    expect(await rawPull(s, { batch: 1, group: "A", min_pending: 1 })).toEqual([
      "400 Bad Request - Not a Overflow Priority consumer"
    ])
    expect(await rawPull(s, { batch: 1, group: "A", priority: 10 })).toEqual([
      "400 Bad Request - Priority must be between 0 and 9"
    ])
    // A priority in range is taken by every policy; only prioritized orders by it.
    expect((await rawPull(s, { batch: 1, group: "A", priority: 1 }))[0]).toMatch(/^m1 pin=/)
    expect(await rawPull(s, { batch: 1, group: "A", id: 5 })).toEqual([
      "400 Bad Request - json: cannot unmarshal number into Go struct field JSApiConsumerGetNextRequest.id of type string"
    ])
    const o = await stream(1)
    expect((await create(o, { priority_policy: "overflow", priority_groups: ["A"] })).error).toBeUndefined()
    expect(await rawPull(o, { batch: 1, group: "A", id: "X" })).toEqual([
      "400 Bad Request - Not a Pinned Client Priority consumer"
    ])
    // A consumer without a policy ignores the group members, as nats-server.
    const n = await stream(1)
    expect((await create(n, {})).error).toBeUndefined()
    expect(await rawPull(n, { batch: 1, group: "A" })).toEqual(["m1"])
  })
})

describe("overflow", () => {
  it("min_pending: served while num_pending (the message included) is at least it", async () => {
    const s = await stream(10)
    expect((await create(s, { priority_policy: "overflow", priority_groups: ["A"] })).error).toBeUndefined()
    expect(await rawPull(s, { batch: 10, group: "A", min_pending: 11, no_wait: true })).toEqual(["404 No Messages"])
    const got = await rawPull(s, { batch: 10, group: "A", min_pending: 5, expires: 400_000_000 }, 600)
    expect(got).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "408 Request Timeout"])
    // A request without thresholds is always served (ending with 404 from 2.11.11: PullNoWait211.spec.ts).
    expect(await rawPull(s, { batch: 10, group: "A", no_wait: true })).toEqual([
      "m7",
      "m8",
      "m9",
      "m10",
      "404 No Messages"
    ])
  })

  it("min_ack_pending: served while that many are waiting for an ack", async () => {
    const s = await stream(6)
    expect((await create(s, { priority_policy: "overflow", priority_groups: ["A"] })).error).toBeUndefined()
    expect(await rawPull(s, { batch: 3, group: "A", min_ack_pending: 2, no_wait: true })).toEqual(["404 No Messages"])
    expect(await rawPull(s, { batch: 2, group: "A" })).toEqual(["m1", "m2"])
    expect(await rawPull(s, { batch: 3, group: "A", min_ack_pending: 2 })).toEqual(["m3", "m4", "m5"])
  })

  it("nats.js fetch with group and min_pending", async () => {
    const s = await stream(4)
    const jsm = await jetstreamManager(suite.nc)
    await jsm.consumers.add(s, {
      durable_name: "F",
      ack_policy: AckPolicy.Explicit,
      priority_policy: "overflow" as PriorityPolicy,
      priority_groups: ["A"]
    })
    const c = await jetstream(suite.nc).consumers.get(s, "F")
    const take = async (opts: Json) => {
      const out: Array<string> = []
      for await (const m of await c.fetch({ max_messages: 4, expires: 1000, group: "A", ...opts })) {
        out.push(dc.decode(m.data))
        m.ack()
      }
      return out
    }
    expect(await take({ min_pending: 10 })).toEqual([])
    expect(await take({ min_pending: 3 })).toEqual(["m1", "m2"])
    expect(await take({})).toEqual(["m3", "m4"])
  })
})

describe("pinned_client", () => {
  it("the first request's client is pinned; its deliveries carry the pin; others wait; a wrong id gets 423", async () => {
    const s = await stream(3)
    expect((await create(s, { priority_policy: "pinned_client", priority_groups: ["A"] })).error).toBeUndefined()
    const adv: Array<Json> = []
    const sub = suite.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.*.${s}.C`, {
      callback: (_e, m) => void adv.push(JSON.parse(dc.decode(m.data)) as Json)
    })
    const first = await rawPull(s, { batch: 1, group: "A" })
    expect(first.length).toBe(1)
    const pin = /pin=(\w+)$/.exec(first[0]!)?.[1]
    expect(pin).toMatch(/^\w{22}$/)
    expect(first).toEqual([`m1 pin=${pin}`])
    const info = await api(`CONSUMER.INFO.${s}.C`)
    const state = (info.priority_groups as Array<Json>)[0]!
    expect([state.group, state.pinned_client_id]).toEqual(["A", pin])
    expect(Date.parse(state.pinned_ts as string)).toBeGreaterThan(Date.now() - 10_000)
    // Without the id: waits (the pinned client is served instead).
    expect(await rawPull(s, { batch: 1, group: "A", expires: 200_000_000 }, 400)).toEqual(["408 Request Timeout"])
    expect(await rawPull(s, { batch: 1, group: "A", id: "WRONG" })).toEqual(["423 Nats-Pin-Id mismatch"])
    expect(await rawPull(s, { batch: 1, group: "A", id: pin! })).toEqual([`m2 pin=${pin}`])

    // UNPIN: wrong bodies and groups first, then the pin goes (admin) and a stale id is dropped with 423.
    const unpin = (body: Json | string, c = "C") => api(`CONSUMER.UNPIN.${s}.${c}`, body)
    const e = (code: number, err_code: number, description: string) => ({
      type: T + "consumer_unpin_response",
      error: { code, err_code, description }
    })
    expect(await unpin({})).toEqual(e(400, 10025, "invalid JSON: consumer group not specified"))
    const badName = "Valid priority group name must match A-Z, a-z, 0-9, -_/=)+ and may not exceed 16 characters"
    expect(await unpin({ group: "a.b" })).toEqual(e(400, 10162, badName))
    expect(await unpin({ group: "x".repeat(17) })).toEqual(e(400, 10162, badName))
    expect(await unpin({ group: "Z" })).toEqual(
      e(400, 10160, "Provided priority group does not exist for this consumer")
    )
    expect(await unpin({ group: "A" }, "NOPE")).toEqual(e(404, 10014, "consumer not found"))
    expect(await unpin({ group: "A" })).toEqual({ type: T + "consumer_unpin_response" })
    expect((await api(`CONSUMER.INFO.${s}.C`)).priority_groups).toEqual([{ group: "A", pinned_ts: ZERO_TIME }])
    // The stale pin is told so when a message is there for it; a fresh request takes a new pin.
    const pulls = await Promise.all([
      rawPull(s, { batch: 1, group: "A", id: pin! }),
      sleep(50).then(() => rawPull(s, { batch: 1, group: "A" }))
    ])
    expect(pulls[0]).toEqual(["423 Nats-Wrong-Pin-Id"])
    expect(pulls[1]).toHaveLength(1)
    expect(pulls[1]![0]).toMatch(/^m3 pin=\w{22}$/)
    expect(pulls[1]![0]).not.toContain(pin)
    await suite.nc.flush()
    sub.unsubscribe()
    expect(adv.map((a) => [a.type, a.group, a.reason ?? a.pinned_id])).toEqual([
      ["io.nats.jetstream.advisory.v1.consumer_group_pinned", "A", pin],
      ["io.nats.jetstream.advisory.v1.consumer_group_unpinned", "A", "admin"],
      ["io.nats.jetstream.advisory.v1.consumer_group_pinned", "A", /pin=(\w+)$/.exec(pulls[1]![0]!)![1]]
    ])
  })

  it("the pin moves after priority_timeout without pull requests from the pinned client", async () => {
    const s = await stream(2)
    expect(
      (await create(s, { priority_policy: "pinned_client", priority_groups: ["A"], priority_timeout: 400_000_000 }))
        .error
    ).toBeUndefined()
    const first = await rawPull(s, { batch: 1, group: "A" }, 100)
    const pin = /pin=(\w+)$/.exec(first[0]!)![1]!
    // Another client waits; the pinned one sends nothing more: after 400ms the other is served.
    const other = await rawPull(s, { batch: 1, group: "A", expires: 2_000_000_000 }, 900)
    expect(other).toHaveLength(1)
    expect(other[0]).toMatch(/^m2 pin=\w{22}$/)
    expect(other[0]).not.toContain(pin)
  })

  it("nats.js consume with group: two clients, one receives everything while pinned", async () => {
    const s = await stream(0)
    const jsm = await jetstreamManager(suite.nc)
    await jsm.consumers.add(s, {
      durable_name: "P",
      ack_policy: AckPolicy.Explicit,
      priority_policy: "pinned_client" as PriorityPolicy,
      priority_groups: ["A"]
    })
    const byClient: Array<Array<string>> = [[], []]
    const iters = await Promise.all([0, 1].map(async (i) => {
      const c = await jetstream(suite.nc).consumers.get(s, "P")
      const it = await c.consume({ group: "A", max_messages: 5, expires: 2000 })
      ;(async () => {
        for await (const m of it) {
          byClient[i]!.push(dc.decode((m as JsMsg).data))
          m.ack()
        }
      })().catch(() => {})
      return it
    }))
    await sleep(200)
    const js = jetstream(suite.nc)
    for (let i = 1; i <= 12; i++) await js.publish(`${s}.a`, sc.encode(`n${i}`))
    await sleep(800)
    for (const it of iters) await it.close()
    const all = [...byClient[0]!, ...byClient[1]!].sort()
    expect(all).toEqual(Array.from({ length: 12 }, (_, i) => `n${i + 1}`).sort())
    expect(byClient.filter((c) => c.length > 0)).toHaveLength(1)
  })
})
