/**
 * `jetstream { limits { batch {} } }` (nats-server 2.12 opts.go, stream.go processJetStreamAtomicBatchMsg /
 * processJetStreamFastBatchMsg, jetstream_batching.go getCleanupTimeout) from a config file, over a socket:
 * the message past `max_msgs`, the batch past `max_inflight_per_stream` or `max_inflight_total` and a batch
 * idle past `timeout` get nats-server's codes; the in-flight limits bound fast-ingest batches too; /varz and
 * /jsz show the limits as nats-server's JSLimitOpts. nats-server 2.9.10 has no batches: the expected values
 * come from nats-server's source.
 */
import { createInbox, headers, type Msg, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { withJs } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

const CONFIG = `
jetstream {
  limits {
    batch {
      max_msgs: 3
      max_inflight_per_stream: 2
      max_inflight_total: 3
      timeout: "600ms"
    }
  }
}
`

let broker: RunningBroker
beforeAll(async () => {
  const r = ConfigFile.load("/etc/limits.conf", { readFile: () => CONFIG, env: {} })
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  broker = await startBroker({ ...r.config, httpPort: -1, httpHost: "127.0.0.1" })
})
afterAll(async () => {
  await broker.stop()
})

const send = (nc: NatsConnection, subject: string, h: Record<string, string>): Promise<Msg> => {
  const hdrs = headers()
  for (const [k, v] of Object.entries(h)) hdrs.set(k, v)
  return nc.request(subject, sc.encode("x"), { headers: hdrs, timeout: 2000 })
}
const json = (m: Msg) => JSON.parse(dc.decode(m.data)) as Record<string, unknown>
const batchHdr = (id: string, seq: number, commit?: string) => ({
  "Nats-Batch-Id": id,
  "Nats-Batch-Sequence": String(seq),
  ...(commit === undefined ? {} : { "Nats-Batch-Commit": commit })
})
const TOO_MANY = { code: 429, err_code: 10210, description: "atomic publish too many inflight" }

describe("atomic batch limits from the config file", () => {
  it("max_msgs: a batch of 3 commits; the 4th message abandons the batch with 10199 naming the limit", () =>
    withJs(broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BL1", subjects: ["bl1.>"], allow_atomic: true } as never)
      for (const seq of [1, 2]) expect(dc.decode((await send(nc, "bl1.a", batchHdr("ok", seq))).data)).toBe("")
      expect(json(await send(nc, "bl1.a", batchHdr("ok", 3, "1")))).toEqual({
        stream: "BL1",
        seq: 3,
        batch: "ok",
        count: 3
      })
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.BL1", { max: 1 })
      await nc.flush()
      for (const seq of [1, 2, 3]) await send(nc, "bl1.a", batchHdr("big", seq))
      expect(json(await send(nc, "bl1.a", batchHdr("big", 4, "1"))).error).toEqual({
        code: 400,
        err_code: 10199,
        description: "atomic publish batch is too large: 3"
      })
      expect(json((await adv[Symbol.asyncIterator]().next()).value as Msg)).toMatchObject({
        batch: "big",
        reason: "large"
      })
      // An end-of-batch marker is not counted: 3 messages and `eob` as the 4th commit.
      for (const seq of [1, 2, 3]) await send(nc, "bl1.a", batchHdr("eob", seq))
      expect(json(await send(nc, "bl1.a", batchHdr("eob", 4, "eob")))).toMatchObject({ batch: "eob", count: 3 })
      // An unknown batch at a sequence past the limit is "too large", not "incomplete".
      expect((json(await send(nc, "bl1.a", batchHdr("never", 5))).error as { err_code: number }).err_code).toBe(10199)
      expect((json(await send(nc, "bl1.a", batchHdr("never", 3))).error as { err_code: number }).err_code).toBe(10176)
      expect((await jsm.streams.info("BL1")).state.messages).toBe(6)
      await jsm.streams.delete("BL1")
    }))

  it("max_inflight_per_stream and max_inflight_total: the batch past either gets 10210", () =>
    withJs(broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BL2", subjects: ["bl2.>"], allow_atomic: true } as never)
      await jsm.streams.add({ name: "BL3", subjects: ["bl3.>"], allow_atomic: true } as never)
      await send(nc, "bl2.a", batchHdr("a", 1))
      await send(nc, "bl2.a", batchHdr("b", 1))
      expect(json(await send(nc, "bl2.a", batchHdr("c", 1))).error).toEqual(TOO_MANY)
      // Three open on the server: the next stream's second batch is past the total.
      await send(nc, "bl3.a", batchHdr("a", 1))
      expect(json(await send(nc, "bl3.a", batchHdr("b", 1))).error).toEqual(TOO_MANY)
      // A commit frees a place.
      expect(json(await send(nc, "bl2.a", batchHdr("a", 2, "1")))).toMatchObject({ batch: "a", count: 2 })
      expect(dc.decode((await send(nc, "bl3.a", batchHdr("b", 1))).data)).toBe("")
      await jsm.streams.delete("BL2")
      await jsm.streams.delete("BL3")
    }))

  it("timeout: a batch idle past 600 ms is abandoned with reason timeout; its commit gets 10176", () =>
    withJs(broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BL4", subjects: ["bl4.>"], allow_atomic: true } as never)
      const adv = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.BL4", { max: 1 })
      await nc.flush()
      const started = Date.now()
      await send(nc, "bl4.a", batchHdr("slow", 1))
      const a = json((await adv[Symbol.asyncIterator]().next()).value as Msg)
      const waited = Date.now() - started
      expect(a).toMatchObject({ stream: "BL4", batch: "slow", reason: "timeout" })
      expect(waited).toBeGreaterThanOrEqual(550)
      expect(waited).toBeLessThan(5_000)
      expect((json(await send(nc, "bl4.a", batchHdr("slow", 2, "1"))).error as { err_code: number }).err_code).toBe(
        10176
      )
      expect((await jsm.streams.info("BL4")).state.messages).toBe(0)
      await jsm.streams.delete("BL4")
    }))
})

describe("fast-ingest batches share the in-flight limits", () => {
  it("max_inflight_per_stream: a third open fast batch on a stream gets 10211", () =>
    withJs(broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BLF", subjects: ["blf"], allow_batched: true } as never)
      const inbox = createInbox()
      const got: Array<string> = []
      const sub = nc.subscribe(`${inbox}.>`, { callback: (_e, m) => void got.push(dc.decode(m.data)) })
      for (const id of ["f1", "f2", "f3"]) nc.publish("blf", sc.encode("x"), { reply: `${inbox}.${id}.1.fail.1.0.$FI` })
      await nc.flush()
      const refused = JSON.stringify({
        error: { code: 429, err_code: 10211, description: "batch publish too many inflight" },
        stream: "BLF",
        seq: 0
      })
      const deadline = Date.now() + 2000
      while (!got.includes(refused) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      await nc.flush()
      sub.unsubscribe()
      // Two batches started (each acked), the third refused and its message not stored.
      expect(got.filter((s) => s.includes("error"))).toEqual([refused])
      expect((await jsm.streams.info("BLF")).state.messages).toBe(2)
      await jsm.streams.delete("BLF")
    }))
})

describe("monitoring", () => {
  it("/varz jetstream.limits and /jsz limits are nats-server's JSLimitOpts (timeout in ns)", async () => {
    const limits = {
      max_batch_inflight_per_stream: 2,
      max_batch_inflight_total: 3,
      max_batch_size: 3,
      max_batch_timeout: 600_000_000
    }
    const get = async (p: string) =>
      (await (await fetch(`http://127.0.0.1:${broker.monitorPort}${p}`)).json()) as Record<string, any>
    const varz = await get("/varz")
    expect(Object.keys(varz.jetstream)).toEqual(["config", "stats", "limits"])
    expect(varz.jetstream.limits).toEqual(limits)
    const jsz = await get("/jsz")
    expect(jsz.limits).toEqual(limits)
    expect(Object.keys(jsz).indexOf("limits")).toBe(Object.keys(jsz).indexOf("config") + 1)
  })
})
