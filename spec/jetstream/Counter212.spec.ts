/**
 * Counter streams (ADR-49, nats-server 2.12 `allow_msg_counter`) through the real client over a
 * socket. @nats-io/jetstream 3.4 knows the config field but has no counter helper and drops `val`
 * from its PubAck, so increments are raw requests with headers and the PubAck JSON is read as sent.
 * nats-server 2.9.10 has no counters: expected values come from nats-server's current source
 * (stream.go checkStreamCfg / configUpdateCheck / processJetStreamMsg, errors.json).
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { headersOf, until, withJs } from "../support/Js.ts"
import { brokerSuite } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

/** Publishes with `headers` and returns the PubAck exactly as the broker wrote it. */
export const publishRaw = async (
  nc: NatsConnection,
  subject: string,
  hdrs: Record<string, string>,
  payload = ""
): Promise<string> => {
  const h = headers()
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v)
  const r = await nc.request(subject, sc.encode(payload), { headers: h, timeout: 5000 })
  return dc.decode(r.data)
}

/** One increment; the PubAck JSON text. */
export const incr = (nc: NatsConnection, subject: string, by: string, extra: Record<string, string> = {}) =>
  publishRaw(nc, subject, { "Nats-Incr": by, ...extra })

const errorOf = (ack: string): string => {
  const e = (JSON.parse(ack) as { error?: { code: number; err_code: number; description: string } }).error
  return e === undefined ? "ok" : `${e.code} ${e.err_code} ${e.description}`
}

/** The subject's last message: its body and headers. */
const lastOf = async (jsm: JetStreamManager, stream: string, subject: string) => {
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null)
  return m === null ? undefined : { seq: m.seq, data: dc.decode(m.data), headers: headersOf(m) }
}

const api = async (nc: NatsConnection, subject: string, body: unknown): Promise<Record<string, unknown>> => {
  const r = await nc.request(`$JS.API.${subject}`, sc.encode(JSON.stringify(body)), { timeout: 5000 })
  return JSON.parse(dc.decode(r.data)) as Record<string, unknown>
}

const apiError = (reply: Record<string, unknown>): string => {
  const e = reply.error as { code: number; err_code: number; description: string } | undefined
  return e === undefined ? "ok" : `${e.code} ${e.err_code} ${e.description}`
}

const suite = brokerSuite()

describe("stream config: allow_msg_counter", () => {
  it("is stored and reported, and makes the stream need API level 2", () =>
    withJs(suite.broker.url, async (nc) => {
      const created = await api(nc, "STREAM.CREATE.CFG_C", {
        name: "CFG_C",
        subjects: ["cfg.c"],
        allow_msg_counter: true
      })
      const config = created.config as Record<string, unknown>
      expect(config.allow_msg_counter).toBe(true)
      expect((config.metadata as Record<string, string>)["_nats.req.level"]).toBe("2")
      const info = await api(nc, "STREAM.INFO.CFG_C", {})
      expect((info.config as Record<string, unknown>).allow_msg_counter).toBe(true)
      // omitempty: a stream without counters does not show the key.
      const plain = await api(nc, "STREAM.CREATE.CFG_P", { name: "CFG_P", subjects: ["cfg.p"] })
      expect("allow_msg_counter" in (plain.config as Record<string, unknown>)).toBe(false)
      // An identical create is idempotent.
      const again = await api(nc, "STREAM.CREATE.CFG_C", {
        name: "CFG_C",
        subjects: ["cfg.c"],
        allow_msg_counter: true
      })
      expect(apiError(again)).toBe("ok")
    }))

  it("refuses what nats-server's checkStreamCfg refuses, with its texts, and creates nothing", () =>
    withJs(suite.broker.url, async (nc) => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ discard: "new" }, "500 10052 counter stream cannot use discard new"],
        [
          { discard: "new", discard_new_per_subject: true, max_msgs_per_subject: 1 },
          "500 10052 counter stream cannot use discard new"
        ],
        [{ allow_msg_ttl: true }, "500 10052 counter stream cannot use message TTLs"],
        [{ retention: "workqueue" }, "500 10052 counter stream can only use limits retention"],
        [{ retention: "interest" }, "500 10052 counter stream can only use limits retention"],
        [
          { subjects: undefined, mirror: { name: "CFG_C" } },
          "400 10173 stream mirrors can not also calculate counters"
        ],
        [{ allow_msg_counter: "yes" }, "400 10025 invalid JSON"]
      ]
      let i = 0
      for (const [extra, want] of cases) {
        const name = `CFG_BAD${i++}`
        const body = { name, subjects: [`bad.${name}`], allow_msg_counter: true, ...extra }
        expect([extra, apiError(await api(nc, `STREAM.CREATE.${name}`, body))]).toEqual([extra, want])
        expect(apiError(await api(nc, `STREAM.INFO.${name}`, {}))).toBe("404 10059 stream not found")
      }
    }))

  it("can be neither turned on nor off by an update; other changes keep it", () =>
    withJs(suite.broker.url, async (nc) => {
      await api(nc, "STREAM.CREATE.UPD_C", { name: "UPD_C", subjects: ["upd.c"], allow_msg_counter: true })
      await api(nc, "STREAM.CREATE.UPD_P", { name: "UPD_P", subjects: ["upd.p"] })
      const fixed = "500 10052 stream configuration update can not change message counter setting"
      expect(apiError(await api(nc, "STREAM.UPDATE.UPD_C", { name: "UPD_C", subjects: ["upd.c"] }))).toBe(fixed)
      expect(
        apiError(await api(nc, "STREAM.UPDATE.UPD_P", { name: "UPD_P", subjects: ["upd.p"], allow_msg_counter: true }))
      ).toBe(fixed)
      const info = await api(nc, "STREAM.INFO.UPD_P", {})
      expect((info.config as Record<string, unknown>).allow_msg_counter).toBeUndefined()
      const updated = await api(nc, "STREAM.UPDATE.UPD_C", {
        name: "UPD_C",
        subjects: ["upd.c", "upd.d"],
        allow_msg_counter: true
      })
      expect((updated.config as Record<string, unknown>).allow_msg_counter).toBe(true)
      expect(JSON.parse(await incr(nc, "upd.d", "+4"))).toEqual({ stream: "UPD_C", seq: 1, val: "4" })
    }))
})

describe("counter publishes", () => {
  it("store the subject's new total as {\"val\"}, keep Nats-Incr, and ack the total", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "CNT", subjects: ["cnt.>"], allow_msg_counter: true })
      // nats-server's PubAck text, byte for byte.
      expect(await incr(nc, "cnt.a", "+1")).toBe(`{"stream":"CNT", "seq":1,"val":"1"}`)
      expect(await incr(nc, "cnt.a", "+2")).toBe(`{"stream":"CNT", "seq":2,"val":"3"}`)
      expect(await incr(nc, "cnt.b", "-10")).toBe(`{"stream":"CNT", "seq":3,"val":"-10"}`)
      expect(await incr(nc, "cnt.a", "-10")).toBe(`{"stream":"CNT", "seq":4,"val":"-7"}`)
      // big.Int SetString(s, 10): the sign is optional, zero is an increment.
      expect(JSON.parse(await incr(nc, "cnt.a", "7")).val).toBe("0")
      expect(JSON.parse(await incr(nc, "cnt.a", "+0")).val).toBe("0")
      expect(JSON.parse(await incr(nc, "cnt.a", "-0")).val).toBe("0")
      expect(JSON.parse(await incr(nc, "cnt.a", "+007")).val).toBe("7")
      const last = await lastOf(jsm, "CNT", "cnt.a")
      expect(last).toEqual({ seq: 8, data: `{"val":"7"}`, headers: { "Nats-Incr": "+007" } })
      expect((await lastOf(jsm, "CNT", "cnt.b"))?.data).toBe(`{"val":"-10"}`)
    }))

  it("count exactly beyond 2^53 and 2^64", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BIG", subjects: ["big"], allow_msg_counter: true })
      const i64 = "9223372036854775807"
      expect(JSON.parse(await incr(nc, "big", `+${i64}`)).val).toBe(i64)
      expect(JSON.parse(await incr(nc, "big", `+${i64}`)).val).toBe("18446744073709551614")
      expect(JSON.parse(await incr(nc, "big", "+2")).val).toBe("18446744073709551616")
      const huge = "1" + "0".repeat(60)
      expect(JSON.parse(await incr(nc, "big", `-${huge}`)).val).toBe(
        (18446744073709551616n - 10n ** 60n).toString()
      )
    }))

  it("refuse what nats-server refuses, with its codes, and store nothing", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "REF", subjects: ["ref.>"], allow_msg_counter: true, allow_rollup_hdrs: true })
      await jsm.streams.add({ name: "PLAIN", subjects: ["plain"] })
      const cases: Array<[string, Record<string, string>, string, string]> = [
        ["plain", { "Nats-Incr": "+1" }, "", "400 10168 message counters is disabled"],
        // An unparsable increment is refused on any stream, before it is found disabled.
        ["plain", { "Nats-Incr": "abc" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Msg-Id": "m" }, "", "400 10169 message counter increment is missing"],
        ["ref.x", { "Nats-Incr": "" }, "", "400 10169 message counter increment is missing"],
        ["ref.x", { "Nats-Incr": "+1" }, "body", "400 10170 message counter has payload"],
        ["ref.x", { "Nats-Incr": "+" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "1.5" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "1e3" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "--1" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "1_000" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "0x10" }, "", "400 10171 message counter increment is invalid"],
        ["ref.x", { "Nats-Incr": "+1", "Nats-Rollup": "sub" }, "", "400 10171 message counter increment is invalid"],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Expected-Stream": "REF" },
          "",
          "400 10171 message counter increment is invalid"
        ],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Expected-Last-Msg-Id": "m" },
          "",
          "400 10171 message counter increment is invalid"
        ],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Expected-Last-Sequence": "0" },
          "",
          "400 10171 message counter increment is invalid"
        ],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Expected-Last-Subject-Sequence": "0" },
          "",
          "400 10171 message counter increment is invalid"
        ],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Expected-Last-Subject-Sequence-Subject": "ref.y" },
          "",
          "400 10171 message counter increment is invalid"
        ],
        [
          "ref.x",
          { "Nats-Incr": "+1", "Nats-Stream-Source": "X 1" },
          "",
          "400 10227 message stream source header is not allowed"
        ],
        // A roll-up without an increment: refused as a missing increment (roll-ups are permitted here).
        ["ref.x", { "Nats-Rollup": "all" }, "", "400 10169 message counter increment is missing"]
      ]
      for (const [subject, hdrs, payload, want] of cases) {
        expect([subject, hdrs, errorOf(await publishRaw(nc, subject, hdrs, payload))]).toEqual([subject, hdrs, want])
      }
      // Without any header at all.
      const bare = dc.decode((await nc.request("ref.x", sc.encode(""), { timeout: 5000 })).data)
      expect(errorOf(bare)).toBe("400 10169 message counter increment is missing")
      expect(JSON.parse(bare)).toMatchObject({ stream: "REF", seq: 0 })
      expect((await jsm.streams.info("REF")).state).toMatchObject({ messages: 0, last_seq: 0 })
      expect((await jsm.streams.info("PLAIN")).state).toMatchObject({ messages: 0, last_seq: 0 })
      // nats-server's order: a roll-up is checked for permission before the missing increment.
      await jsm.streams.add({ name: "NOROLL", subjects: ["noroll"], allow_msg_counter: true })
      expect(errorOf(await publishRaw(nc, "noroll", { "Nats-Rollup": "sub" }))).toBe("500 10111 rollup not permitted")
    }))

  it("deduplicate by Nats-Msg-Id: the duplicate's ack names the original and counts nothing", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DUP", subjects: ["dup"], allow_msg_counter: true })
      expect(await incr(nc, "dup", "+5", { "Nats-Msg-Id": "a" })).toBe(`{"stream":"DUP", "seq":1,"val":"5"}`)
      expect(await incr(nc, "dup", "+5", { "Nats-Msg-Id": "a" })).toBe(`{"stream":"DUP", "seq":1,"duplicate": true}`)
      expect(JSON.parse(await incr(nc, "dup", "+1", { "Nats-Msg-Id": "b" })).val).toBe("6")
    }))

  it("a counter whose last message cannot be read is broken (10172), until that message is gone", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "BRK", subjects: ["brk"], allow_msg_counter: true })
      expect(JSON.parse(await incr(nc, "brk", "+1")).val).toBe("1")
      // A client's own Nats-Counter-Sources is stored as sent (nats-server only rewrites it when it
      // tracks sources), and the next increment must read it.
      expect(JSON.parse(await incr(nc, "brk", "+1", { "Nats-Counter-Sources": "not json" })).val).toBe("2")
      expect(errorOf(await incr(nc, "brk", "+1"))).toBe("400 10172 message counter is broken")
      expect((await jsm.streams.info("BRK")).state.last_seq).toBe(2)
      await jsm.streams.deleteMessage("BRK", 2)
      expect(JSON.parse(await incr(nc, "brk", "+1")).val).toBe("2")
    }))

  it("start again from zero after a purge of the subject, and go on after a purge that keeps the last", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PRG", subjects: ["prg.>"], allow_msg_counter: true })
      await incr(nc, "prg.a", "+10")
      await incr(nc, "prg.a", "+5")
      await incr(nc, "prg.b", "+1")
      await jsm.streams.purge("PRG", { filter: "prg.a", keep: 1 })
      expect(JSON.parse(await incr(nc, "prg.a", "+1")).val).toBe("16")
      await jsm.streams.purge("PRG", { filter: "prg.a" })
      expect(JSON.parse(await incr(nc, "prg.a", "+1")).val).toBe("1")
      expect(JSON.parse(await incr(nc, "prg.b", "+1")).val).toBe("2")
      // Deleting the subject's last message makes the one before it the total again.
      const seq = (await lastOf(jsm, "PRG", "prg.b"))!.seq
      await jsm.streams.deleteMessage("PRG", seq)
      expect(JSON.parse(await incr(nc, "prg.b", "+1")).val).toBe("2")
    }))

  it("work with max_msgs_per_subject 1 (only the total is kept) and on the transformed subject", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({
        name: "ONE",
        subjects: ["one.>"],
        allow_msg_counter: true,
        max_msgs_per_subject: 1,
        subject_transform: { src: "one.*", dest: "one.all" }
      })
      await incr(nc, "one.x", "+3")
      await incr(nc, "one.y", "+4")
      expect(JSON.parse(await incr(nc, "one.z", "-1")).val).toBe("6")
      expect((await jsm.streams.info("ONE")).state).toMatchObject({ messages: 1, last_seq: 3 })
      expect((await lastOf(jsm, "ONE", "one.all"))?.data).toBe(`{"val":"6"}`)
    }))
})

describe("counters through sources (Nats-Counter-Sources)", () => {
  it("aggregate by the last total seen per origin stream and subject, with local increments on top", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SRC_A", subjects: ["a.>"], allow_msg_counter: true })
      await jsm.streams.add({ name: "SRC_B", subjects: ["b.>"], allow_msg_counter: true })
      // A source that already counts, taken from its last message on: the aggregate's first
      // increment from it is its whole total.
      await incr(nc, "a.hits", "+5")
      await incr(nc, "a.hits", "+3")
      await jsm.streams.add({
        name: "AGG",
        subjects: ["hits"],
        allow_msg_counter: true,
        sources: [
          { name: "SRC_A", opt_start_seq: 2, subject_transforms: [{ src: "a.hits", dest: "hits" }] },
          { name: "SRC_B", subject_transforms: [{ src: "b.*", dest: "hits" }] }
        ]
      })
      const first = await until(async () => {
        const m = await lastOf(jsm, "AGG", "hits")
        return m?.data === `{"val":"8"}` ? m : undefined
      })
      expect(first.headers["Nats-Incr"]).toBe("8")
      expect(first.headers["Nats-Counter-Sources"]).toBe(`{"SRC_A":{"a.hits":"8"}}`)
      // Two origin subjects of one stream renamed to one subject are tracked apart.
      await incr(nc, "b.x", "+10")
      await incr(nc, "b.y", "+1")
      // A local increment carries the sources along.
      await until(async () => (await lastOf(jsm, "AGG", "hits"))?.data === `{"val":"19"}` || undefined)
      expect(JSON.parse(await incr(nc, "hits", "+100")).val).toBe("119")
      await incr(nc, "b.x", "-4")
      await incr(nc, "a.hits", "+2")
      const last = await until(async () => {
        const m = await lastOf(jsm, "AGG", "hits")
        return m?.data === `{"val":"117"}` ? m : undefined
      })
      expect(last.headers["Nats-Incr"]).toBe("2")
      expect(last.headers["Nats-Stream-Source"]).toBe("SRC_A 3")
      expect(last.headers["Nats-Counter-Sources"]).toBe(
        `{"SRC_A":{"a.hits":"10"},"SRC_B":{"b.x":"6","b.y":"1"}}`
      )
      // Every stored Nats-Incr of the aggregate sums to its total (a recount from the headers).
      const si = await jsm.streams.info("AGG")
      let recount = 0n
      for (let s = si.state.first_seq; s <= si.state.last_seq; s++) {
        const m = await jsm.streams.getMessage("AGG", { seq: s })
        recount += BigInt(m!.header!.get("Nats-Incr"))
      }
      expect(recount).toBe(117n)
    }))

  it("are stored verbatim by a stream that does not count (source or mirror)", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "VSRC", subjects: ["v.>"], allow_msg_counter: true })
      await incr(nc, "v.a", "+2")
      await incr(nc, "v.a", "+3")
      await jsm.streams.add({ name: "VCOPY", sources: [{ name: "VSRC" }] })
      await jsm.streams.add({ name: "VMIRROR", mirror: { name: "VSRC" } })
      for (const name of ["VCOPY", "VMIRROR"]) {
        const m = await until(async () => {
          const x = await lastOf(jsm, name, "v.a")
          return x?.data === `{"val":"5"}` ? x : undefined
        })
        expect(m.headers["Nats-Incr"]).toBe("+3")
        expect(m.headers["Nats-Counter-Sources"]).toBeUndefined()
      }
    }))
})

describe("counters across a restart", () => {
  it("keep the setting and the totals (file storage)", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-counter-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      let nc = await connect({ servers: b.url })
      let jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "KEEPC", subjects: ["keepc.>"], allow_msg_counter: true })
      await incr(nc, "keepc.a", "+40")
      await incr(nc, "keepc.a", "+2")
      await nc.close()
      await b.stop()
      b = await startBroker({ jetstream: true, storeDir })
      nc = await connect({ servers: b.url })
      jsm = await jetstreamManager(nc)
      expect((await jsm.streams.info("KEEPC")).config.allow_msg_counter).toBe(true)
      expect(await incr(nc, "keepc.a", "-1")).toBe(`{"stream":"KEEPC", "seq":3,"val":"41"}`)
      expect(errorOf(await publishRaw(nc, "keepc.a", {}, "x"))).toBe("400 10169 message counter increment is missing")
      await nc.close()
      await b.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
