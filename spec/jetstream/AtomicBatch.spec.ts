/**
 * Atomic batch publish (ADR-50; nats-server 2.12, `eob` 2.14) over a socket: the nats.js 3.4 batch
 * publisher (`js.startBatch`) and raw header publishes for the error cases. nats-server 2.9.10 has no
 * batches, so the expected values come from nats-server's current source (stream.go
 * processJetStreamAtomicBatchMsg, jetstream_batching.go checkMsgHeadersPreClusteredProposal, errors.json).
 */
import { jetstream, type JetStreamManager } from "@nats-io/jetstream"
import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { withJs } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

let broker: RunningBroker
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
})
afterAll(async () => {
  await broker.stop()
})

let streams = 0
/** A new file stream with atomic publish on subject `<name>.>`; returns its name. */
const stream = async (jsm: JetStreamManager, extra: Record<string, unknown> = {}): Promise<string> => {
  const name = `AB${++streams}`
  await jsm.streams.add({ name, subjects: [`${name}.>`], allow_atomic: true, ...extra } as never)
  return name
}

/** One raw batch message; resolves with the reply (empty body or JSON). */
const send = (
  nc: NatsConnection,
  subject: string,
  h: Record<string, string>,
  body = "x"
): Promise<Msg> => {
  const hdrs = headers()
  for (const [k, v] of Object.entries(h)) hdrs.set(k, v)
  return nc.request(subject, sc.encode(body), { headers: hdrs, timeout: 2000 })
}

const json = (m: Msg): Record<string, unknown> => JSON.parse(dc.decode(m.data)) as Record<string, unknown>
const errorOf = (m: Msg) => (json(m).error as { err_code: number; description: string; code: number })
const batchHdr = (id: string, seq: number, commit?: string) => ({
  "Nats-Batch-Id": id,
  "Nats-Batch-Sequence": String(seq),
  ...(commit === undefined ? {} : { "Nats-Batch-Commit": commit })
})
const msgsOf = async (jsm: JetStreamManager, name: string) => (await jsm.streams.info(name)).state.messages

describe("stream config: allow_atomic", () => {
  it("is stored and reported (omitted when false), may be turned off and on, and needs API level 2", () =>
    withJs(broker.url, async (_nc, jsm) => {
      const name = await stream(jsm)
      const si = await jsm.streams.info(name)
      expect((si.config as unknown as Record<string, unknown>).allow_atomic).toBe(true)
      expect(si.config.metadata?.["_nats.req.level"]).toBe("2")
      const off = await jsm.streams.update(name, { allow_atomic: false } as never)
      expect("allow_atomic" in off.config).toBe(false)
      expect(off.config.metadata?.["_nats.req.level"]).toBe("0")
      const on = await jsm.streams.update(name, { allow_atomic: true } as never)
      expect((on.config as unknown as Record<string, unknown>).allow_atomic).toBe(true)
    }))

  it("is refused on a mirror (10198) and refused as a non-boolean", () =>
    withJs(broker.url, async (nc) => {
      const r = await nc.request(
        "$JS.API.STREAM.CREATE.ABM",
        sc.encode(JSON.stringify({ name: "ABM", mirror: { name: "AB1" }, allow_atomic: true })),
        { timeout: 2000 }
      )
      expect(errorOf(r)).toEqual({
        code: 400,
        err_code: 10198,
        description: "stream mirrors can not also use atomic publishing"
      })
      const bad = await nc.request(
        "$JS.API.STREAM.CREATE.ABX",
        sc.encode(JSON.stringify({ name: "ABX", subjects: ["abx"], allow_atomic: "yes" })),
        { timeout: 2000 }
      )
      expect(errorOf(bad).err_code).toBe(10025)
    }))
})

describe("atomic batch publish", () => {
  it("nats.js startBatch/add/commit: nothing is visible before the commit; the ack has batch and count", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      const js = jetstream(nc)
      const b = await js.startBatch(`${name}.a`, sc.encode("1"))
      await b.add(`${name}.b`, sc.encode("2"), { ack: true })
      b.add(`${name}.a`, sc.encode("3"))
      await nc.flush()
      expect(await msgsOf(jsm, name)).toBe(0)
      const ack = await b.commit(`${name}.c`, sc.encode("4"))
      expect(ack).toEqual({ stream: name, seq: 4, batch: (b as unknown as { id: string }).id, count: 4 })
      expect(await msgsOf(jsm, name)).toBe(4)
      const last = (await jsm.streams.getMessage(name, { seq: 4 }))!
      expect(last.header.get("Nats-Batch-Commit")).toBe("1")
      expect(last.header.get("Nats-Batch-Sequence")).toBe("4")
      expect(dc.decode((await jsm.streams.getMessage(name, { seq: 3 }))!.data)).toBe("3")
    }))

  it("a staged message with a reply gets an empty answer; eob commits without storing the marker (2.14)", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      const r1 = await send(nc, `${name}.x`, batchHdr("e1", 1))
      expect(r1.data.length).toBe(0)
      await send(nc, `${name}.x`, batchHdr("e1", 2))
      const ack = await send(nc, `${name}.x`, batchHdr("e1", 3, "eob"), "")
      expect(dc.decode(ack.data)).toBe(`{"stream":"${name}", "seq":2,"batch":"e1","count":2}`)
      expect(await msgsOf(jsm, name)).toBe(2)
      const last = (await jsm.streams.getMessage(name, { seq: 2 }))!
      expect(last.header.get("Nats-Batch-Commit")).toBe("1")
      expect(last.header.get("Nats-Batch-Sequence")).toBe("2")
      // eob as the first message closes nothing.
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("e2", 1, "eob"))).err_code).toBe(10176)
    }))

  it("refuses batch headers on a stream without allow_atomic (10174)", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { allow_atomic: false })
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("d", 1, "1")))).toEqual({
        code: 400,
        err_code: 10174,
        description: "atomic publish is disabled"
      })
      expect(await msgsOf(jsm, name)).toBe(0)
    }))

  it("answers the header errors with nats-server's codes", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      const s = `${name}.x`
      expect(errorOf(await send(nc, s, { "Nats-Batch-Id": "m" })).err_code).toBe(10175)
      expect(errorOf(await send(nc, s, batchHdr("x".repeat(65), 1))).err_code).toBe(10179)
      expect(errorOf(await send(nc, s, batchHdr("late", 2)))).toEqual({
        code: 400,
        err_code: 10176,
        description: "atomic publish batch is incomplete"
      })
      expect(errorOf(await send(nc, s, batchHdr("big", 1001)))).toEqual({
        code: 400,
        err_code: 10199,
        description: "atomic publish batch is too large: 1000"
      })
      await send(nc, s, batchHdr("bad", 1))
      expect(errorOf(await send(nc, s, batchHdr("bad", 2, "yes"))).err_code).toBe(10200)
      // The invalid commit abandoned the batch.
      expect(errorOf(await send(nc, s, batchHdr("bad", 3, "1"))).err_code).toBe(10176)
      expect(await msgsOf(jsm, name)).toBe(0)
    }))

  it("a gap abandons the batch with the BATCH_ABANDONED advisory", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      const adv = nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.${name}`, { max: 1 })
      await nc.flush()
      await send(nc, `${name}.x`, batchHdr("g", 1))
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("g", 3))).err_code).toBe(10176)
      const it = adv[Symbol.asyncIterator]()
      const a = json((await it.next()).value as Msg)
      expect(a).toMatchObject({
        type: "io.nats.jetstream.advisory.v1.stream_batch_abandoned",
        stream: name,
        batch: "g",
        reason: "incomplete"
      })
      expect(typeof a.id).toBe("string")
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("g", 2, "1"))).err_code).toBe(10176)
      expect(await msgsOf(jsm, name)).toBe(0)
    }))

  it("the commit checks the whole batch: duplicates (10201), unsupported headers (10177), expected sequences", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      const s = `${name}.x`
      await send(nc, s, { ...batchHdr("d1", 1), "Nats-Msg-Id": "A" })
      expect(errorOf(await send(nc, s, { ...batchHdr("d1", 2, "1"), "Nats-Msg-Id": "A" }))).toEqual({
        code: 400,
        err_code: 10201,
        description: "atomic publish batch contains duplicate message id"
      })
      // A duplicate of a stored message fails the batch too.
      const js = jetstream(nc)
      await js.publish(s, sc.encode("0"), { msgID: "B" })
      await send(nc, s, batchHdr("d2", 1))
      expect(errorOf(await send(nc, s, { ...batchHdr("d2", 2, "1"), "Nats-Msg-Id": "B" })).err_code).toBe(10201)
      await send(nc, s, batchHdr("u", 1))
      expect(errorOf(await send(nc, s, { ...batchHdr("u", 2, "1"), "Nats-Expected-Last-Msg-Id": "B" }))).toEqual({
        code: 400,
        err_code: 10177,
        description: "atomic publish unsupported header used: Nats-Expected-Last-Msg-Id"
      })
      // Expected last sequence: the first message against the stream; a later one can only be refused.
      await send(nc, s, { ...batchHdr("q", 1), "Nats-Expected-Last-Sequence": "1" })
      expect(errorOf(await send(nc, s, { ...batchHdr("q", 2, "1"), "Nats-Expected-Last-Sequence": "1" }))).toEqual({
        code: 400,
        err_code: 10164,
        description: "wrong last sequence"
      })
      await send(nc, s, { ...batchHdr("q2", 1), "Nats-Expected-Last-Sequence": "7" })
      expect(errorOf(await send(nc, s, batchHdr("q2", 2, "1"))).description).toBe("wrong last sequence: 1")
      // A subject written earlier in the batch has no last sequence to expect.
      await send(nc, `${name}.k`, batchHdr("p", 1))
      expect(
        errorOf(await send(nc, `${name}.k`, { ...batchHdr("p", 2, "1"), "Nats-Expected-Last-Subject-Sequence": "0" }))
          .err_code
      ).toBe(10164)
      expect(await msgsOf(jsm, name)).toBe(1)
      // Passing expectations commit.
      await send(nc, `${name}.k`, { ...batchHdr("ok", 1), "Nats-Expected-Last-Sequence": "1" })
      const ack = json(
        await send(nc, `${name}.j`, { ...batchHdr("ok", 2, "1"), "Nats-Expected-Last-Subject-Sequence": "0" })
      )
      expect(ack).toEqual({ stream: name, seq: 3, batch: "ok", count: 2 })
    }))

  it("discard new limits count the whole batch: all or nothing", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { discard: "new", max_msgs: 3 })
      for (let i = 1; i <= 3; i++) await send(nc, `${name}.x`, batchHdr("over", i))
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("over", 4, "1")))).toEqual({
        code: 503,
        err_code: 10077,
        description: "maximum messages exceeded"
      })
      expect(await msgsOf(jsm, name)).toBe(0)
      for (let i = 1; i <= 2; i++) await send(nc, `${name}.x`, batchHdr("fits", i))
      expect(json(await send(nc, `${name}.x`, batchHdr("fits", 3, "1"))).count).toBe(3)
    }))

  it("at most 50 open batches per stream (10210, 429)", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm)
      for (let i = 0; i < 50; i++) await send(nc, `${name}.x`, batchHdr(`b${i}`, 1))
      expect(errorOf(await send(nc, `${name}.x`, batchHdr("b50", 1)))).toEqual({
        code: 429,
        err_code: 10210,
        description: "atomic publish too many inflight"
      })
      // Committing one frees its slot.
      await send(nc, `${name}.x`, batchHdr("b0", 2, "1"))
      expect((await send(nc, `${name}.x`, batchHdr("b50", 1))).data.length).toBe(0)
    }))

  it(
    "a batch idle for 10 s is abandoned with reason timeout",
    { timeout: 20_000 },
    () =>
      withJs(broker.url, async (nc, jsm) => {
        const name = await stream(jsm)
        const adv = nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.${name}`, { max: 1 })
        await nc.flush()
        const started = Date.now()
        await send(nc, `${name}.x`, batchHdr("slow", 1))
        const a = json((await adv[Symbol.asyncIterator]().next()).value as Msg)
        expect(Date.now() - started).toBeGreaterThanOrEqual(9_900)
        expect(a).toMatchObject({ stream: name, batch: "slow", reason: "timeout" })
        expect(errorOf(await send(nc, `${name}.x`, batchHdr("slow", 2, "1"))).err_code).toBe(10176)
      })
  )
})

describe("atomic batches on a counter stream (allow_msg_counter + allow_atomic)", () => {
  it("sums the increments in batch order, per subject, on top of the stored totals", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { allow_msg_counter: true })
      const one = json(await send(nc, `${name}.a`, { "Nats-Incr": "+10" }, ""))
      expect(one.val).toBe("10")
      expect(dc.decode((await send(nc, `${name}.a`, { ...batchHdr("c1", 1), "Nats-Incr": "+1" }, "")).data)).toBe("")
      expect(dc.decode((await send(nc, `${name}.b`, { ...batchHdr("c1", 2), "Nats-Incr": "-4" }, "")).data)).toBe("")
      const commit = json(await send(nc, `${name}.a`, { ...batchHdr("c1", 3, "1"), "Nats-Incr": "+2" }, ""))
      expect(commit).toMatchObject({ stream: name, seq: 4, batch: "c1", count: 3 })
      const vals = []
      for (let seq = 2; seq <= 4; seq++) {
        const m = await jsm.streams.getMessage(name, { seq })
        vals.push([m!.subject, dc.decode(m!.data)])
      }
      expect(vals).toEqual([[`${name}.a`, `{"val":"11"}`], [`${name}.b`, `{"val":"-4"}`], [
        `${name}.a`,
        `{"val":"13"}`
      ]])
    }))

  it("a batch message without Nats-Incr fails the whole batch with 10169; on a non-counter stream Nats-Incr is 10168", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { allow_msg_counter: true })
      await send(nc, `${name}.a`, { ...batchHdr("c2", 1), "Nats-Incr": "+1" }, "")
      const r = await send(nc, `${name}.a`, batchHdr("c2", 2, "1"), "")
      expect(errorOf(r)).toEqual({ code: 400, err_code: 10169, description: "message counter increment is missing" })
      expect(await msgsOf(jsm, name)).toBe(0)
      const plain = await stream(jsm)
      await send(nc, `${plain}.a`, batchHdr("c3", 1))
      const r2 = await send(nc, `${plain}.a`, { ...batchHdr("c3", 2, "1"), "Nats-Incr": "+1" }, "")
      expect(errorOf(r2)).toEqual({ code: 400, err_code: 10168, description: "message counters is disabled" })
      expect(await msgsOf(jsm, plain)).toBe(0)
    }))
})

describe("atomic batches and message schedules (nats-server checks them as on a single publish)", () => {
  /** `@at` a whole second at least `ms` from now (schedule times are in seconds). */
  const atIn = (ms: number) =>
    `@at ${new Date(Math.ceil((Date.now() + ms) / 1000) * 1000).toISOString().replace(".000Z", "Z")}`
  const delivered = async (jsm: JetStreamManager, name: string, subject: string, withinMs: number) => {
    const deadline = Date.now() + withinMs
    for (;;) {
      // null (or a 404) while there is none.
      const m = await jsm.streams.getMessage(name, { last_by_subj: subject }).catch(() => null)
      if (m !== null) return m
      if (Date.now() > deadline) return undefined
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  it(
    "a schedule in a committed batch is stored as a roll-up of its subject and fires",
    () =>
      withJs(broker.url, async (nc, jsm) => {
        const name = await stream(jsm, { allow_msg_schedules: true })
        await send(nc, `${name}.a`, batchHdr("s1", 1))
        const ack = await send(nc, `${name}.s`, {
          ...batchHdr("s1", 2, "1"),
          "Nats-Schedule": atIn(1000),
          "Nats-Schedule-Target": `${name}.t`
        }, "payload")
        expect(json(ack)).toEqual({ stream: name, seq: 2, batch: "s1", count: 2 })
        const stored = await jsm.streams.getMessage(name, { seq: 2 })
        expect(stored?.header.get("Nats-Rollup")).toBe("sub")
        const fired = await delivered(jsm, name, `${name}.t`, 4000)
        expect(fired?.header.get("Nats-Scheduler")).toBe(`${name}.s`)
        expect(fired?.header.get("Nats-Schedule-Next")).toBe("purge")
        expect(dc.decode(fired!.data)).toBe("payload")
      }),
    10_000
  )

  it("a schedule in an abandoned batch never fires", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { allow_msg_schedules: true })
      const schedule = { "Nats-Schedule": atIn(1000), "Nats-Schedule-Target": `${name}.t` }
      expect(dc.decode((await send(nc, `${name}.s`, { ...batchHdr("gone", 1), ...schedule })).data)).toBe("")
      // A gap abandons it.
      expect(errorOf(await send(nc, `${name}.a`, batchHdr("gone", 3, "1"))).err_code).toBe(10176)
      // Never committed: the batch idles out (the broker's timeout is 10 s; this one is never finished).
      await send(nc, `${name}.s2`, { ...batchHdr("open", 1), ...schedule, "Nats-Schedule-Target": `${name}.u` })
      expect(await delivered(jsm, name, `${name}.t`, 2500)).toBe(undefined)
      expect(await delivered(jsm, name, `${name}.u`, 0)).toBe(undefined)
      expect(await msgsOf(jsm, name)).toBe(0)
    }), 10_000)

  it("schedule errors refuse the whole batch with the single publish's codes", () =>
    withJs(broker.url, async (nc, jsm) => {
      const name = await stream(jsm, { allow_msg_schedules: true })
      await send(nc, `${name}.a`, batchHdr("t1", 1))
      const badTarget = await send(nc, `${name}.s`, {
        ...batchHdr("t1", 2, "1"),
        "Nats-Schedule": atIn(60_000),
        "Nats-Schedule-Target": "elsewhere.t"
      })
      expect(errorOf(badTarget)).toEqual({
        code: 400,
        err_code: 10190,
        description: "message schedules target is invalid"
      })
      // The schedule's roll-up: its subject must not have an earlier message in the batch.
      await send(nc, `${name}.s`, batchHdr("t2", 1))
      const second = await send(nc, `${name}.s`, {
        ...batchHdr("t2", 2, "1"),
        "Nats-Schedule": atIn(60_000),
        "Nats-Schedule-Target": `${name}.t`
      })
      expect(errorOf(second)).toEqual({ code: 500, err_code: 10111, description: "batch rollup sub invalid" })
      // Ending a schedule names a subject whose last message (here earlier in the batch) is a schedule.
      await send(nc, `${name}.p`, batchHdr("t3", 1))
      const end = await send(nc, `${name}.q`, {
        ...batchHdr("t3", 2, "1"),
        "Nats-Schedule-Next": "purge",
        "Nats-Scheduler": `${name}.p`
      })
      expect(errorOf(end)).toEqual({ code: 400, err_code: 10212, description: "message schedules invalid scheduler" })
      // Without allow_msg_schedules: 10188.
      const plain = await stream(jsm)
      await send(nc, `${plain}.a`, batchHdr("t4", 1))
      const off = await send(nc, `${plain}.s`, {
        ...batchHdr("t4", 2, "1"),
        "Nats-Schedule": atIn(60_000),
        "Nats-Schedule-Target": `${plain}.t`
      })
      expect(errorOf(off)).toEqual({ code: 400, err_code: 10188, description: "message schedules is disabled" })
      expect(await msgsOf(jsm, name)).toBe(0)
      expect(await msgsOf(jsm, plain)).toBe(0)
    }))

  it(
    "a batch can end a schedule it starts no earlier message of: the purge removes the stored schedule",
    () =>
      withJs(broker.url, async (nc, jsm) => {
        const name = await stream(jsm, { allow_msg_schedules: true })
        await send(nc, `${name}.s`, { "Nats-Schedule": atIn(1500), "Nats-Schedule-Target": `${name}.t` })
        await send(nc, `${name}.a`, batchHdr("end", 1))
        const ack = await send(nc, `${name}.q`, {
          ...batchHdr("end", 2, "1"),
          "Nats-Schedule-Next": "purge",
          "Nats-Scheduler": `${name}.s`
        })
        expect(json(ack)).toMatchObject({ batch: "end", count: 2 })
        expect(await delivered(jsm, name, `${name}.t`, 3000)).toBe(undefined)
        expect(await delivered(jsm, name, `${name}.s`, 0)).toBe(undefined)
      }),
    10_000
  )
})

describe("an open batch across a restart", () => {
  it("is gone, silently: its commit gets 10176 and nothing is stored; the id may start over", async () => {
    // nats-server R1 (jetstream.go, stream recovery) deletes every staged batch at start and finishes
    // only a commit a crash cut short; the later messages of a batch it no longer has are "incomplete".
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ab-restart-"))
    try {
      const first = await startBroker({ jetstream: true, storeDir: dir })
      await withJs(first.url, async (nc, jsm) => {
        await jsm.streams.add({ name: "ABR", subjects: ["abr.>"], allow_atomic: true } as never)
        for (const seq of [1, 2]) expect(dc.decode((await send(nc, "abr.x", batchHdr("open", seq))).data)).toBe("")
      })
      await first.stop()
      const second = await startBroker({ jetstream: true, storeDir: dir })
      try {
        await withJs(second.url, async (nc, jsm) => {
          const adv = nc.subscribe("$JS.EVENT.ADVISORY.STREAM.BATCH_ABANDONED.ABR", { max: 1 })
          await nc.flush()
          expect(errorOf(await send(nc, "abr.x", batchHdr("open", 3, "1")))).toEqual({
            code: 400,
            err_code: 10176,
            description: "atomic publish batch is incomplete"
          })
          expect(await msgsOf(jsm, "ABR")).toBe(0)
          for (const seq of [1, 2]) await send(nc, "abr.x", batchHdr("open", seq))
          expect(json(await send(nc, "abr.x", batchHdr("open", 3, "1")))).toEqual({
            stream: "ABR",
            seq: 3,
            batch: "open",
            count: 3
          })
          await nc.flush()
          // The restart abandoned it without an advisory (nats-server has none either).
          expect(adv.getProcessed()).toBe(0)
        })
      } finally {
        await second.stop()
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
