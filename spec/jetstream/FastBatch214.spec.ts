/**
 * Fast-ingest batches (ADR-50, nats-server 2.14) over real sockets: the raw reply-subject protocol
 * with the exact bodies nats-server's processJetStreamFastBatchMsg sends (nats-server 2.9.10 has no
 * such feature, so the expected values come from its current source and jetstream_batching_test.go),
 * nats.js 3.4's fast-ingest publisher end to end, and the object store's batched chunk upload.
 */
import { jetstream, type JetStreamManager } from "@nats-io/jetstream"
import { startFastIngest } from "@nats-io/jetstream/internal"
import { Objm } from "@nats-io/obj"
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node"
import fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { failure, withJs } from "../support/Js.ts"
import { brokerSuite } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

/** The reply subject of one batch message: `<inbox>.<id>.<flow>.<gap>.<seq>.<op>.$FI`. */
const fi = (inbox: string, id: string, seq: number | bigint, flow: number, gap: string, op: number) =>
  `${inbox}.${id}.${flow}.${gap}.${seq}.${op}.$FI`
const START = 0
const APPEND = 1
const COMMIT = 2
const EOB = 3
const PING = 4

/** A subscription on `<inbox>.>` whose messages are read one at a time, as text. */
class Replies {
  readonly inbox = createInbox()
  private readonly sub: Subscription
  private readonly got: Array<string> = []
  private waiting: ((s: string) => void) | undefined

  constructor(nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.inbox}.>`, {
      callback: (_e, m: Msg) => {
        const s = dc.decode(m.data)
        if (this.waiting !== undefined) {
          const w = this.waiting
          this.waiting = undefined
          w(s)
        } else this.got.push(s)
      }
    })
  }

  next(ms = 2000): Promise<string> {
    const s = this.got.shift()
    if (s !== undefined) return Promise.resolve(s)
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting = undefined
        reject(new Error("no reply"))
      }, ms)
      this.waiting = (x) => {
        clearTimeout(t)
        resolve(x)
      }
    })
  }

  /** Nothing more arrives within `ms`. */
  async none(ms = 200): Promise<boolean> {
    return this.next(ms).then(() => false, () => true)
  }

  close(): void {
    this.sub.unsubscribe()
  }
}

const errBody = (stream: string, code: number, errCode: number, description: string) =>
  JSON.stringify({ error: { code, err_code: errCode, description }, stream, seq: 0 })
const pubAck = (stream: string, seq: number, batch: string, count: number | bigint) =>
  `{"stream":"${stream}", "seq":${seq},"batch":"${batch}","count":${count}}`

const subjectsOf = async (jsm: JetStreamManager, stream: string): Promise<Array<string>> => {
  const si = await jsm.streams.info(stream)
  const out: Array<string> = []
  for (let s = si.state.first_seq; s <= si.state.last_seq && si.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s })
    if (m !== null) out.push(`${m.subject}:${dc.decode(m.data)}`)
  }
  return out
}

const suite = brokerSuite()

describe("stream config: allow_batched", () => {
  it("is stored, reported, needs API level 4, can be turned off and on; mirrors refuse it (10209)", () =>
    withJs(suite.broker.url, async (_nc, jsm) => {
      const a = await jsm.streams.add({ name: "CFG_FB", subjects: ["cfg.fb"], allow_batched: true })
      expect(a.config.allow_batched).toBe(true)
      expect(a.config.metadata?.["_nats.req.level"]).toBe("4")
      const off = await jsm.streams.update("CFG_FB", { allow_batched: false })
      expect(off.config.allow_batched).toBeUndefined()
      expect(off.config.metadata?.["_nats.req.level"]).toBe("0")
      const on = await jsm.streams.update("CFG_FB", { allow_batched: true })
      expect(on.config.allow_batched).toBe(true)
      expect(await failure(jsm.streams.add({ name: "CFG_FB_M", mirror: { name: "CFG_FB" }, allow_batched: true })))
        .toBe("400 10209 stream mirrors can not also use batch publishing")
      expect(await failure(jsm.streams.add({ name: "CFG_FB_T", subjects: ["cfg.fbt"], allow_batched: 1 as never })))
        .toBe("400 10025 invalid JSON")
    }))

  it("survives a restart", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-fb-"))
    try {
      const b1 = await startBroker({ jetstream: true, storeDir: dir })
      await withJs(
        b1.url,
        (_nc, jsm) => jsm.streams.add({ name: "KEEP_FB", subjects: ["keep.fb"], allow_batched: true })
      )
      await b1.stop()
      const b2 = await startBroker({ jetstream: true, storeDir: dir })
      const info = await withJs(b2.url, (_nc, jsm) => jsm.streams.info("KEEP_FB"))
      await b2.stop()
      expect(info.config.allow_batched).toBe(true)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("the .$FI reply protocol (raw)", () => {
  it("refuses batches on a stream without allow_batched (10205), then honours them once enabled", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_OFF", subjects: ["raw.off.*"] })
      const r = new Replies(nc)
      nc.publish("raw.off.0", sc.encode("x"), { reply: fi(r.inbox, "uuid", 0, 0, "fail", START) })
      expect(await r.next()).toBe(errBody("RAW_OFF", 400, 10205, "batch publish is disabled"))
      expect((await jsm.streams.info("RAW_OFF")).state.messages).toBe(0)
      await jsm.streams.update("RAW_OFF", { allow_batched: true })

      const invalid = errBody("RAW_OFF", 400, 10206, "batch publish pattern is invalid")
      // Sequence 0, a lone end-of-batch, an unknown gap mode, an unknown operation, a start past 1,
      // an append at 1, and no token before the id.
      const bad = createInbox()
      for (
        const reply of [
          fi(bad, "uuid", 0, 0, "fail", START),
          fi(bad, "uuid", 1, 0, "fail", EOB),
          fi(bad, "uuid", 1, 0, "maybe", START),
          fi(bad, "uuid", 1, 0, "fail", 5),
          fi(bad, "uuid", 2, 0, "fail", START),
          fi(bad, "uuid", 1, 0, "fail", APPEND),
          `${bad}.ok.1.0.$FI`.replace(".", "_")
        ]
      ) {
        const sub = nc.subscribe(reply, { max: 1 })
        nc.publish("raw.off.0", sc.encode("x"), { reply })
        for await (const m of sub) expect(dc.decode(m.data)).toBe(invalid)
      }
      nc.publish("raw.off.0", sc.encode("x"), { reply: fi(r.inbox, "A".repeat(65), 1, 0, "fail", START) })
      expect(await r.next()).toBe(errBody("RAW_OFF", 400, 10207, "batch publish ID is invalid"))
      nc.publish("raw.off.0", sc.encode("x"), { reply: fi(r.inbox, "uuid", 2, 0, "fail", APPEND) })
      expect(await r.next()).toBe(errBody("RAW_OFF", 400, 10208, "batch publish ID unknown"))
      expect((await jsm.streams.info("RAW_OFF")).state.messages).toBe(0)

      // A lone committing message gets only its PubAck; a 64-character id is fine.
      const id64 = "B".repeat(64)
      nc.publish("raw.off.0", sc.encode("raw.off.0"), { reply: fi(r.inbox, id64, 1, 0, "fail", COMMIT) })
      expect(await r.next()).toBe(pubAck("RAW_OFF", 1, id64, 1))
      // Five messages: the first gets the flow it starts with (the client's 10 when alone), the last the PubAck.
      for (let seq = 1; seq <= 5; seq++) {
        const op = seq === 5 ? COMMIT : seq === 1 ? START : APPEND
        nc.publish(`raw.off.${seq}`, sc.encode(`raw.off.${seq}`), { reply: fi(r.inbox, "uuid", seq, 0, "fail", op) })
      }
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
      expect(await r.next()).toBe(pubAck("RAW_OFF", 6, "uuid", 5))
      expect(await r.none()).toBe(true)
      expect(await subjectsOf(jsm, "RAW_OFF")).toEqual(
        [0, 1, 2, 3, 4, 5].map((i) => `raw.off.${i}:raw.off.${i}`)
      )
      r.close()
    }))

  it("sends a flow ack every `msgs` persisted messages", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_FLOW", subjects: ["raw.flow"], allow_batched: true })
      const r = new Replies(nc)
      const got: Array<string> = []
      for (let seq = 1; seq <= 5; seq++) {
        const op = seq === 5 ? COMMIT : seq === 1 ? START : APPEND
        nc.publish("raw.flow", sc.encode(`${seq}`), { reply: fi(r.inbox, "f", seq, 2, "fail", op) })
        if (seq === 1 || seq % 2 === 0 || seq === 5) got.push(await r.next())
      }
      expect(got).toEqual([
        `{"type":"ack","seq":0,"msgs":2}`,
        `{"type":"ack","seq":2,"msgs":2}`,
        `{"type":"ack","seq":4,"msgs":2}`,
        pubAck("RAW_FLOW", 5, "f", 5)
      ])
      r.close()
    }))

  it("gap fail: reports the gap and ends the batch with what was stored", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_GAPF", subjects: ["raw.gapf"], allow_batched: true })
      const r = new Replies(nc)
      nc.publish("raw.gapf", sc.encode("1"), { reply: fi(r.inbox, "g", 1, 0, "fail", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
      nc.publish("raw.gapf", sc.encode("3"), { reply: fi(r.inbox, "g", 3, 0, "fail", APPEND) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":2,"seq":3}`)
      expect(await r.next()).toBe(pubAck("RAW_GAPF", 1, "g", 1))
      // The batch is gone.
      nc.publish("raw.gapf", sc.encode("4"), { reply: fi(r.inbox, "g", 4, 0, "fail", APPEND) })
      expect(await r.next()).toBe(errBody("RAW_GAPF", 400, 10208, "batch publish ID unknown"))
      expect((await jsm.streams.info("RAW_GAPF")).state.messages).toBe(1)
      r.close()
    }))

  it("gap ok: reports the gap and goes on; a backward sequence ends the batch without a gap report", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_GAPO", subjects: ["raw.gapo"], allow_batched: true })
      const r = new Replies(nc)
      nc.publish("raw.gapo", sc.encode("1"), { reply: fi(r.inbox, "g", 1, 0, "ok", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
      nc.publish("raw.gapo", sc.encode("3"), { reply: fi(r.inbox, "g", 3, 0, "ok", APPEND) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":2,"seq":3}`)
      nc.publish("raw.gapo", sc.encode("eob"), { reply: fi(r.inbox, "g", 4, 0, "ok", EOB) })
      expect(await r.next()).toBe(pubAck("RAW_GAPO", 2, "g", 3))

      nc.publish("raw.gapo", sc.encode("1"), { reply: fi(r.inbox, "h", 1, 0, "ok", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
      nc.publish("raw.gapo", sc.encode("5"), { reply: fi(r.inbox, "h", 5, 0, "ok", APPEND) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":2,"seq":5}`)
      nc.publish("raw.gapo", sc.encode("3"), { reply: fi(r.inbox, "h", 3, 0, "ok", APPEND) })
      expect(await r.next()).toBe(pubAck("RAW_GAPO", 4, "h", 5))
      expect(await r.none()).toBe(true)
      expect((await subjectsOf(jsm, "RAW_GAPO")).map((s) => s.split(":")[1])).toEqual(["1", "3", "1", "5"])
      r.close()
    }))

  it("a failed header check is an err flow message; gap fail ends the batch, gap ok goes on", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      for (const gap of ["fail", "ok"]) {
        const name = `RAW_HDR_${gap.toUpperCase()}`
        await jsm.streams.add({ name, subjects: [`raw.hdr.${gap}`], allow_batched: true })
        const r = new Replies(nc)
        nc.publish(`raw.hdr.${gap}`, sc.encode("1"), { reply: fi(r.inbox, "e", 1, 0, gap, START) })
        const h = headers()
        h.set("Nats-Expected-Last-Sequence", "100")
        nc.publish(`raw.hdr.${gap}`, sc.encode("2"), { reply: fi(r.inbox, "e", 2, 0, gap, APPEND), headers: h })
        expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
        expect(await r.next()).toBe(
          `{"type":"err","seq":2,"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"}}`
        )
        if (gap === "ok") nc.publish(`raw.hdr.${gap}`, sc.encode("3"), { reply: fi(r.inbox, "e", 3, 0, gap, EOB) })
        expect(await r.next()).toBe(pubAck(name, 1, "e", gap === "ok" ? 2 : 1))
        expect((await jsm.streams.info(name)).state.messages).toBe(1)
        r.close()
      }
    }))

  it("a lone failing message answers like a publish; duplicates count but are not stored", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_DUP", subjects: ["raw.dup"], allow_batched: true })
      const js = jetstream(nc)
      await js.publish("raw.dup", sc.encode("orig"), { msgID: "m1" })
      const r = new Replies(nc)
      const dup = headers()
      dup.set("Nats-Msg-Id", "m1")
      nc.publish("raw.dup", sc.encode("again"), { reply: fi(r.inbox, "d", 1, 0, "fail", COMMIT), headers: dup })
      expect(await r.next()).toBe(`{"stream":"RAW_DUP", "seq":1,"duplicate": true,"batch":"d","count":1}`)
      const bad = headers()
      bad.set("Nats-Expected-Last-Sequence", "100")
      nc.publish("raw.dup", sc.encode("x"), { reply: fi(r.inbox, "d", 1, 0, "fail", COMMIT), headers: bad })
      expect(await r.next()).toBe(errBody("RAW_DUP", 400, 10071, "wrong last sequence: 1"))
      // Five duplicates with flow 3: one flow ack at 3, and a PubAck for nothing stored.
      for (let seq = 1; seq <= 5; seq++) {
        const op = seq === 5 ? COMMIT : seq === 1 ? START : APPEND
        nc.publish("raw.dup", sc.encode("again"), { reply: fi(r.inbox, "dd", seq, 3, "fail", op), headers: dup })
      }
      expect([await r.next(), await r.next(), await r.next()]).toEqual([
        `{"type":"ack","seq":0,"msgs":3}`,
        `{"type":"ack","seq":3,"msgs":3}`,
        pubAck("RAW_DUP", 0, "dd", 5)
      ])
      expect((await jsm.streams.info("RAW_DUP")).state.messages).toBe(1)
      r.close()
    }))

  it("ping: repeats the flow ack, reports a gap up to its sequence, and never counts as a message", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_PING", subjects: ["raw.ping"], allow_batched: true })
      const r = new Replies(nc)
      nc.publish("raw.ping", sc.encode("1"), { reply: fi(r.inbox, "p", 1, 2, "ok", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":2}`)
      nc.publish("raw.ping", sc.encode("2"), { reply: fi(r.inbox, "p", 2, 2, "ok", APPEND) })
      expect(await r.next()).toBe(`{"type":"ack","seq":2,"msgs":2}`)
      nc.publish("raw.ping", undefined, { reply: fi(r.inbox, "p", 2, 2, "ok", PING) })
      expect(await r.next()).toBe(`{"type":"ack","seq":2,"msgs":2}`)
      nc.publish("raw.ping", undefined, { reply: fi(r.inbox, "p", 3, 2, "ok", PING) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":3,"seq":4}`)
      expect(await r.next()).toBe(`{"type":"ack","seq":2,"msgs":2}`)
      nc.publish("raw.ping", sc.encode("4"), { reply: fi(r.inbox, "p", 4, 2, "ok", APPEND) })
      expect(await r.next()).toBe(`{"type":"ack","seq":4,"msgs":2}`)
      nc.publish("raw.ping", undefined, { reply: fi(r.inbox, "p", 100, 2, "ok", PING) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":5,"seq":101}`)
      expect(await r.next()).toBe(`{"type":"ack","seq":100,"msgs":2}`)
      nc.publish("raw.ping", undefined, { reply: fi(r.inbox, "p", 101, 2, "ok", EOB) })
      expect(await r.next()).toBe(pubAck("RAW_PING", 3, "p", 100))
      expect((await jsm.streams.info("RAW_PING")).state.messages).toBe(3)
      r.close()
    }))

  it("sequences up to 2^64-2 are exact; 2^64-1 is refused (10206)", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_BIG", subjects: ["raw.big"], allow_batched: true })
      const r = new Replies(nc)
      const max = 2n ** 64n - 1n
      nc.publish("raw.big", sc.encode("1"), { reply: fi(r.inbox, "b", 1, 1, "ok", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":1}`)
      expect(await r.next()).toBe(`{"type":"ack","seq":1,"msgs":1}`)
      nc.publish("raw.big", sc.encode("2"), { reply: fi(r.inbox, "b", max - 1n, 1, "ok", APPEND) })
      expect(await r.next()).toBe(`{"type":"gap","last_seq":2,"seq":${max - 1n}}`)
      expect(await r.next()).toBe(`{"type":"ack","seq":${max - 1n},"msgs":1}`)
      nc.publish("raw.big", sc.encode("3"), { reply: fi(r.inbox, "b", max, 1, "ok", COMMIT) })
      expect(await r.next()).toBe(errBody("RAW_BIG", 400, 10206, "batch publish pattern is invalid"))
      r.close()
    }))

  it("a second concurrent batch starts at one message per ack and ramps up", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_TWO", subjects: ["raw.two"], allow_batched: true })
      const r = new Replies(nc)
      nc.publish("raw.two", sc.encode("a1"), { reply: fi(r.inbox, "a", 1, 100, "fail", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":100}`)
      nc.publish("raw.two", sc.encode("b1"), { reply: fi(r.inbox, "b", 1, 100, "fail", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":1}`)
      expect(await r.next()).toBe(`{"type":"ack","seq":1,"msgs":2}`)
      for (let seq = 2; seq <= 7; seq++) {
        nc.publish("raw.two", sc.encode(`b${seq}`), { reply: fi(r.inbox, "b", seq, 100, "fail", APPEND) })
      }
      expect([await r.next(), await r.next()]).toEqual([
        `{"type":"ack","seq":3,"msgs":4}`,
        `{"type":"ack","seq":7,"msgs":8}`
      ])
      r.close()
    }))

  it("turning allow_batched off ends the batches in flight", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RAW_TOGGLE", subjects: ["raw.toggle"], allow_batched: true })
      const r = new Replies(nc)
      nc.publish("raw.toggle", sc.encode("1"), { reply: fi(r.inbox, "t", 1, 0, "fail", START) })
      expect(await r.next()).toBe(`{"type":"ack","seq":0,"msgs":10}`)
      await jsm.streams.update("RAW_TOGGLE", { allow_batched: false })
      await jsm.streams.update("RAW_TOGGLE", { allow_batched: true })
      nc.publish("raw.toggle", sc.encode("2"), { reply: fi(r.inbox, "t", 2, 0, "fail", APPEND) })
      expect(await r.next()).toBe(errBody("RAW_TOGGLE", 400, 10208, "batch publish ID unknown"))
      r.close()
    }))
})

describe("nats.js 3.4 fast-ingest publisher", () => {
  it("stores every message once, in order, and ends with the batch PubAck", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NJS_FI", subjects: ["njs.fi.>"], allow_batched: true })
      const n = 2000
      const batch = await startFastIngest(nc, "njs.fi.a", sc.encode("0"), { allowGaps: false })
      let maxAhead = 0
      for (let i = 1; i < n - 1; i++) {
        const p = await batch.add(`njs.fi.${i % 2 === 0 ? "a" : "b"}`, sc.encode(`${i}`))
        maxAhead = Math.max(maxAhead, p.batchSeq - p.ackSeq)
      }
      const ack = await batch.last("njs.fi.a", sc.encode(`${n - 1}`))
      expect(ack).toMatchObject({ stream: "NJS_FI", seq: n, batch: expect.any(String), count: n })
      // The default window: 10 messages per ack, two acks outstanding.
      expect(maxAhead).toBeLessThanOrEqual(20)
      const si = await jsm.streams.info("NJS_FI")
      expect(si.state.messages).toBe(n)
      const js = jetstream(nc)
      const c = await js.consumers.get("NJS_FI")
      const got: Array<string> = []
      const iter = await c.fetch({ max_messages: n, expires: 5000 })
      for await (const m of iter) {
        got.push(dc.decode(m.data))
        if (got.length === n) break
      }
      expect(got).toEqual(Array.from({ length: n }, (_, i) => `${i}`))
    }))

  it("slows a publisher that outruns the store instead of dropping messages (several batches at once)", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NJS_MANY", subjects: ["njs.many.*"], allow_batched: true })
      const payload = new Uint8Array(4096)
      const per = 1500
      const run = async (k: number) => {
        const b = await startFastIngest(nc, `njs.many.${k}`, payload, {
          allowGaps: false,
          ackInterval: 50,
          maxOutstandingAcks: 1
        })
        let blocked = 0
        for (let i = 1; i < per - 1; i++) {
          const p = await b.add(`njs.many.${k}`, payload)
          if (p.batchSeq - p.ackSeq > 50) throw new Error(`window overrun at ${p.batchSeq}/${p.ackSeq}`)
          if (p.ackSeq > 0) blocked++
        }
        const ack = await b.last(`njs.many.${k}`, payload)
        return { count: ack.count, blocked }
      }
      const results = await Promise.all([0, 1, 2, 3].map(run))
      for (const r of results) {
        expect(r.count).toBe(per)
        // Flow acks arrived along the way (the publisher waited for the store).
        expect(r.blocked).toBeGreaterThan(0)
      }
      const si = await jsm.streams.info("NJS_MANY", { subjects_filter: ">" })
      expect(si.state.messages).toBe(4 * per)
      expect(si.state.subjects).toEqual({
        "njs.many.0": per,
        "njs.many.1": per,
        "njs.many.2": per,
        "njs.many.3": per
      })
    }))

  it("a stream without allow_batched fails the start with 10205", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NJS_OFF", subjects: ["njs.off"] })
      expect(await failure(startFastIngest(nc, "njs.off", sc.encode("x"), { allowGaps: false }))).toBe(
        "400 10205 batch publish is disabled"
      )
      expect((await jsm.streams.info("NJS_OFF")).state.messages).toBe(0)
    }))

  it("end() commits without storing the end marker", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NJS_EOB", subjects: ["njs.eob"], allow_batched: true })
      const b = await startFastIngest(nc, "njs.eob", sc.encode("0"), { allowGaps: false, ackInterval: 3 })
      for (let i = 1; i < 7; i++) await b.add("njs.eob", sc.encode(`${i}`))
      const ack = await b.end()
      expect(ack).toMatchObject({ stream: "NJS_EOB", seq: 7, count: 7 })
      expect((await jsm.streams.info("NJS_EOB")).state.messages).toBe(7)
    }))

  it(
    "property: whatever the batch size, ack interval and window, every message is stored once in order",
    () =>
      withJs(suite.broker.url, async (nc, jsm) => {
        let run = 0
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 250 }),
            fc.integer({ min: 1, max: 40 }),
            fc.integer({ min: 1, max: 3 }),
            fc.boolean(),
            fc.boolean(),
            async (size, ackInterval, maxOutstandingAcks, eob, allowGaps) => {
              const name = `PROP_FI_${run++}`
              await jsm.streams.add({ name, subjects: [`prop.fi.${name}`], allow_batched: true })
              const subj = `prop.fi.${name}`
              const b = await startFastIngest(nc, subj, sc.encode("0"), { ackInterval, maxOutstandingAcks, allowGaps })
              for (let i = 1; i < size - (eob ? 0 : 1); i++) {
                const p = await b.add(subj, sc.encode(`${i}`))
                if (p.batchSeq - p.ackSeq > ackInterval * maxOutstandingAcks) return false
              }
              const ack = size === 1 && !eob
                ? undefined
                : eob
                ? await b.end()
                : await b.last(subj, sc.encode(`${size - 1}`))
              if (size === 1 && !eob) await b.end()
              if (ack !== undefined && ack.count !== size) return false
              const stored = (await subjectsOf(jsm, name)).map((s) => s.slice(subj.length + 1))
              await jsm.streams.delete(name)
              return JSON.stringify(stored) === JSON.stringify(Array.from({ length: size }, (_, i) => `${i}`))
            }
          ),
          { numRuns: 25 }
        )
      }),
    60_000
  )
})

describe("object store: batched chunk upload", () => {
  it("puts and reads back an object through fast ingest when the server says api_lvl 4", () =>
    withJs(suite.broker.url, async (nc, _jsm) => {
      // Our advertised 2.11 sends no api_lvl; INFO says 4 once we advertise 2.14 (Server.ts: AT_LEVEL_212).
      // The client gates the feature on its INFO only, so this stands in for that INFO.
      const info = nc.info as { api_lvl?: number }
      info.api_lvl = 4
      const objm = new Objm(nc)
      const os = await objm.create("fbobj", { allowBatched: true } as never)
      const data = new Uint8Array(1_000_000).map((_, i) => (i * 7) % 251)
      const put = await os.putBlob({ name: "blob", options: { max_chunk_size: 16 * 1024 } }, data)
      expect(put.chunks).toBe(Math.ceil(data.length / (16 * 1024)))
      expect(put.size).toBe(data.length)
      const back = await os.getBlob("blob")
      expect(back).toEqual(data)
      const si = await (await jetstream(nc).jetstreamManager()).streams.info("OBJ_fbobj")
      expect(si.config.allow_batched).toBe(true)
      // Chunks plus the meta message, nothing else.
      expect(si.state.messages).toBe(put.chunks + 1)
      // Replacing it purges the old chunks; an empty object is a single publish.
      const put2 = await os.putBlob({ name: "blob" }, new Uint8Array(0))
      expect(put2.size).toBe(0)
      expect((await (await jetstream(nc).jetstreamManager()).streams.info("OBJ_fbobj")).state.messages).toBe(1)
    }))
})
