/**
 * The 2.12 `prioritized` priority policy (ADR-42) over a real socket, against ours only (nats-server
 * 2.9.10 has none); expected values from nats-server's current consumer.go (`checkConsumerCfg`,
 * `processNextMsgRequest`, `addPrioritized` / `popAndRequeue`): the config is accepted with the
 * usual group rules, waiting pull requests are served lowest `priority` first, first come first
 * served within one priority, and a request that still wants more goes back behind its equals.
 */
import { jetstream } from "@nats-io/jetstream"
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

const suite = apiSuite()
const { api } = suite

let streams = 0
const stream = async (): Promise<string> => {
  const name = `PR${streams++}`
  expect((await api(`STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: "memory" })).error)
    .toBeUndefined()
  return name
}

const create = (s: string, config: Json) =>
  api(`CONSUMER.CREATE.${s}.C`, { stream_name: s, config: { name: "C", ack_policy: "explicit", ...config } })

const publish = async (s: string, n: number): Promise<void> => {
  const js = jetstream(suite.nc)
  for (let i = 1; i <= n; i++) await js.publish(`${s}.a`, sc.encode(`m${i}`))
}

/** Pull requests that wait (no no_wait, long expiry); each label collects what its inbox got. */
const pulls = (s: string, requests: ReadonlyArray<readonly [string, Json | string]>) => {
  const got: Record<string, Array<string>> = {}
  const subs = requests.map(([label, body]) => {
    got[label] = []
    const inbox = createInbox()
    const sub = suite.nc.subscribe(inbox, { callback: (_e, m: Msg) => void got[label]!.push(show(m)) })
    suite.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${s}.C`, typeof body === "string" ? body : JSON.stringify(body), {
      reply: inbox
    })
    return sub
  })
  return { got, done: () => subs.forEach((sub) => sub.unsubscribe()) }
}

const show = (m: Msg): string =>
  m.data.length === 0 && m.headers !== undefined ? `${m.headers.code} ${m.headers.description}` : dc.decode(m.data)

const EXPIRES = 5_000_000_000

describe("priority_policy prioritized", () => {
  it("is accepted with a group and reported as sent; the group rules are the other policies'", async () => {
    const s = await stream()
    const created = await create(s, { priority_policy: "prioritized", priority_groups: ["A"] })
    expect(created.error).toBeUndefined()
    const config = created.config as Json
    expect([config.priority_policy, config.priority_groups, config.priority_timeout]).toEqual([
      "prioritized",
      ["A"],
      undefined
    ])
    expect(created.priority_groups).toEqual([{ group: "A", pinned_ts: "0001-01-01T00:00:00Z" }])
    const t = await stream()
    expect((await create(t, { priority_policy: "prioritized" })).error).toEqual({
      code: 400,
      err_code: 10159,
      description: "Setting PriorityPolicy requires at least one PriorityGroup to be set"
    })
    expect((await create(t, { priority_policy: "prioritized", priority_groups: ["A"], deliver_subject: "d.x" })).error)
      .toEqual({ code: 400, err_code: 10178, description: "priority groups can not be used with push consumers" })
    expect((await api(`CONSUMER.INFO.${t}.C`, {})).error).toEqual({
      code: 404,
      err_code: 10014,
      description: "consumer not found"
    })
  })

  it("checks a pull request's group and priority range as processNextMsgRequest", async () => {
    const s = await stream()
    await create(s, { priority_policy: "prioritized", priority_groups: ["A"] })
    const p = pulls(s, [
      ["missing", { batch: 1, expires: EXPIRES }],
      ["wrong", { batch: 1, expires: EXPIRES, group: "Z" }],
      ["range", { batch: 1, expires: EXPIRES, group: "A", priority: 10 }],
      ["overflow", { batch: 1, expires: EXPIRES, group: "A", min_pending: 1 }],
      ["pin", { batch: 1, expires: EXPIRES, group: "A", id: "X" }]
    ])
    await suite.nc.flush()
    await sleep(200)
    p.done()
    expect(p.got).toEqual({
      missing: ["400 Bad Request - Priority Group missing"],
      wrong: ["400 Bad Request - Invalid Priority Group"],
      range: ["400 Bad Request - Priority must be between 0 and 9"],
      overflow: ["400 Bad Request - Not a Overflow Priority consumer"],
      pin: ["400 Bad Request - Not a Pinned Client Priority consumer"]
    })
  })

  it("serves the lowest priority first, in arrival order within one, a plain batch last", async () => {
    const s = await stream()
    await create(s, { priority_policy: "prioritized", priority_groups: ["A"] })
    const p = pulls(s, [
      ["plain", "1"],
      ["p5a", { batch: 1, expires: EXPIRES, group: "A", priority: 5 }],
      ["p1", { batch: 1, expires: EXPIRES, group: "A", priority: 1 }],
      ["p5b", { batch: 1, expires: EXPIRES, group: "A", priority: 5 }],
      ["p0", { batch: 1, expires: EXPIRES, group: "A" }]
    ])
    await suite.nc.flush()
    await sleep(100)
    await publish(s, 5)
    await sleep(200)
    p.done()
    expect(p.got).toEqual({ p0: ["m1"], p1: ["m2"], p5a: ["m3"], p5b: ["m4"], plain: ["m5"] })
  })

  it("puts a request that wants more behind the others of its priority, never behind a later one", async () => {
    const s = await stream()
    await create(s, { priority_policy: "prioritized", priority_groups: ["A"] })
    const p = pulls(s, [
      ["a", { batch: 2, expires: EXPIRES, group: "A", priority: 2 }],
      ["b", { batch: 2, expires: EXPIRES, group: "A", priority: 2 }],
      ["late", { batch: 5, expires: EXPIRES, group: "A", priority: 3 }]
    ])
    await suite.nc.flush()
    await sleep(100)
    await publish(s, 6)
    await sleep(200)
    p.done()
    expect(p.got).toEqual({ a: ["m1", "m3"], b: ["m2", "m4"], late: ["m5", "m6"] })
  })

  it("takes a priority from nats.js fetch, and on other policies a priority is accepted and ignored", async () => {
    const s = await stream()
    await create(s, { priority_policy: "prioritized", priority_groups: ["A"] })
    await publish(s, 2)
    const c = await jetstream(suite.nc).consumers.get(s, "C")
    const seen: Array<string> = []
    for await (const m of await c.fetch({ max_messages: 2, expires: 1000, group: "A", priority: 4 })) {
      seen.push(dc.decode(m.data))
      m.ack()
    }
    expect(seen).toEqual(["m1", "m2"])
    const o = await stream()
    await create(o, { priority_policy: "overflow", priority_groups: ["A"] })
    await publish(o, 1)
    const p = pulls(o, [["x", { batch: 1, expires: EXPIRES, group: "A", priority: 7 }]])
    await suite.nc.flush()
    await sleep(150)
    p.done()
    expect(p.got).toEqual({ x: ["m1"] })
  })

  it("survives a restart of a file store", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-prioritized-"))
    try {
      const first = await startBroker({ jetstream: true, storeDir: dir })
      const c1 = await connect({ servers: first.url, reconnect: false })
      await api("STREAM.CREATE.PF", { name: "PF", subjects: ["pf"] }, c1)
      await api("CONSUMER.CREATE.PF.C", {
        stream_name: "PF",
        config: { name: "C", ack_policy: "explicit", priority_policy: "prioritized", priority_groups: ["A"] }
      }, c1)
      await c1.close()
      await first.stop()
      const second = await startBroker({ jetstream: true, storeDir: dir })
      const c2 = await connect({ servers: second.url, reconnect: false })
      const info = await api("CONSUMER.INFO.PF.C", {}, c2)
      await c2.close()
      await second.stop()
      const config = info.config as Json
      expect([config.priority_policy, config.priority_groups]).toEqual(["prioritized", ["A"]])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
