/**
 * Per-message TTL, subject delete markers and KV limit markers (ADR-43, ADR-48; nats-server 2.11)
 * through the real clients (@nats-io/jetstream, @nats-io/kv) over a socket. nats-server 2.9.10 has
 * none of this, so the expected values are taken from nats-server's current source (stream.go
 * checkStreamCfg / processJetStreamMsg, memstore.go expireMsgs, sdm.go, errors.json). TTLs are
 * at least one second, so these wait in real time, polling rather than sleeping a fixed time.
 */
import { jetstream, type JetStreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { failure, headersOf, sleep, until, withJs } from "../support/Js.ts"
import { brokerSuite } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const SEC = 1_000_000_000

const seqs = async (jsm: JetStreamManager, stream: string): Promise<Array<number>> => {
  const si = await jsm.streams.info(stream)
  const out: Array<number> = []
  for (let s = si.state.first_seq; s <= si.state.last_seq; s++) {
    if ((await jsm.streams.getMessage(stream, { seq: s }).catch(() => null)) !== null) out.push(s)
  }
  return out
}

const suite = brokerSuite()

describe("stream config: allow_msg_ttl and subject_delete_marker_ttl", () => {
  it("are stored and reported; markers turn on TTLs and roll-ups, and lift deny_purge", () =>
    withJs(suite.broker.url, async (_nc, jsm) => {
      const a = await jsm.streams.add({ name: "CFG_TTL", subjects: ["cfg.ttl"], allow_msg_ttl: true })
      expect(a.config.allow_msg_ttl).toBe(true)
      expect(a.config.subject_delete_marker_ttl).toBeUndefined()
      const b = await jsm.streams.add({
        name: "CFG_SDM",
        subjects: ["cfg.sdm"],
        subject_delete_marker_ttl: 90 * SEC,
        deny_purge: true
      })
      expect([
        b.config.allow_msg_ttl,
        b.config.subject_delete_marker_ttl,
        b.config.allow_rollup_hdrs,
        b.config.deny_purge
      ]).toEqual([true, 90 * SEC, true, false])
      expect((await jsm.streams.info("CFG_SDM")).config.subject_delete_marker_ttl).toBe(90 * SEC)
    }))

  it("refuses what nats-server refuses, with its texts", () =>
    withJs(suite.broker.url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "ORIGIN", subjects: ["origin"] })
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ subject_delete_marker_ttl: 999_999_999 }, "subject delete marker TTL must be at least 1 second"],
        [{ subject_delete_marker_ttl: -1 }, "subject delete marker TTL must not be negative"],
        [
          { subject_delete_marker_ttl: SEC, allow_rollup_hdrs: true, deny_purge: true },
          "roll-ups require the purge permission"
        ],
        [
          { subjects: [], mirror: { name: "ORIGIN" }, subject_delete_marker_ttl: SEC },
          "subject delete markers forbidden on mirrors"
        ]
      ]
      let i = 0
      for (const [extra, text] of cases) {
        const name = `BAD_${i++}`
        expect(await failure(jsm.streams.add({ name, subjects: [`bad.${i}`], ...extra }))).toBe(`500 10052 ${text}`)
        expect(await failure(jsm.streams.info(name))).toBe("404 10059 stream not found")
      }
    }))

  it("allow_msg_ttl can be turned on by an update, not off", () =>
    withJs(suite.broker.url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "UPD_TTL", subjects: ["upd.ttl"] })
      const on = await jsm.streams.update("UPD_TTL", { allow_msg_ttl: true })
      expect(on.config.allow_msg_ttl).toBe(true)
      expect(await failure(jsm.streams.update("UPD_TTL", { allow_msg_ttl: false }))).toBe(
        "500 10052 message TTL status can not be disabled"
      )
      expect((await jsm.streams.info("UPD_TTL")).config.allow_msg_ttl).toBe(true)
    }))
})

describe("publishing with Nats-TTL", () => {
  it("answers nats-server's PubAck errors: TTLs disabled, invalid values", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NOTTL", subjects: ["nottl"] })
      await jsm.streams.add({ name: "TTLERR", subjects: ["ttlerr"], allow_msg_ttl: true })
      const js = jetstream(nc)
      expect(await failure(js.publish("nottl", sc.encode("x"), { ttl: "5s" }))).toBe(
        "400 10166 per-message TTL is disabled"
      )
      expect(await failure(js.publish("nottl", sc.encode("x"), { ttl: "never" }))).toBe(
        "400 10166 per-message TTL is disabled"
      )
      for (const ttl of ["500ms", "0", "soon", "-2s"]) {
        expect(await failure(js.publish("ttlerr", sc.encode("x"), { ttl })), ttl).toBe(
          "400 10165 invalid per-message TTL"
        )
      }
      expect((await jsm.streams.info("NOTTL")).state.messages).toBe(0)
      expect((await jsm.streams.info("TTLERR")).state.messages).toBe(0)
    }))

  it("removes a message at its TTL; the header stays on it for get, direct get and consumers", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({
        name: "TTL1",
        subjects: ["ttl1.>"],
        allow_msg_ttl: true,
        allow_direct: true,
        storage: "memory" as never
      })
      const js = jetstream(nc)
      const pa = await js.publish("ttl1.a", sc.encode("short"), { ttl: "1s" })
      await js.publish("ttl1.b", sc.encode("long"), { ttl: "1h" })
      await js.publish("ttl1.c", sc.encode("plain"))
      expect(pa.seq).toBe(1)
      expect(headersOf(await jsm.streams.getMessage("TTL1", { seq: 1 }))).toEqual({ "Nats-TTL": "1s" })
      const direct = await jsm.direct.getMessage("TTL1", { seq: 2 })
      expect(direct?.header.get("Nats-TTL")).toBe("1h")
      await jsm.consumers.add("TTL1", { durable_name: "c", ack_policy: "explicit" as never })
      const c = await js.consumers.get("TTL1", "c")
      const first = await c.next({ expires: 2000 })
      expect([first?.subject, first?.headers?.get("Nats-TTL")]).toEqual(["ttl1.a", "1s"])
      first?.ack()
      expect(await until(async () => (await seqs(jsm, "TTL1")).length === 2 ? true : undefined)).toBe(true)
      expect(await seqs(jsm, "TTL1")).toEqual([2, 3])
    }))

  it("a never message outlives max_age; the others age out", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NEVER", subjects: ["never.>"], allow_msg_ttl: true, max_age: SEC })
      const js = jetstream(nc)
      await js.publish("never.a", sc.encode("forever"), { ttl: "never" })
      await js.publish("never.b", sc.encode("aging"))
      await until(async () => (await jsm.streams.info("NEVER")).state.messages === 1 ? true : undefined)
      await sleep(1200)
      expect(await seqs(jsm, "NEVER")).toEqual([1])
      expect(dc.decode((await jsm.streams.getMessage("NEVER", { seq: 1 }))!.data)).toBe("forever")
    }))
})

describe("sources and mirrors (ADR-43)", () => {
  it("a source stores TTL'd messages even without allow_msg_ttl and keeps them; with it, they expire", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "ORIG", subjects: ["orig.>"], allow_msg_ttl: true })
      await jsm.streams.add({ name: "SRC_KEEP", sources: [{ name: "ORIG" }] })
      await jsm.streams.add({ name: "SRC_TTL", sources: [{ name: "ORIG" }], allow_msg_ttl: true })
      await jsm.streams.add({ name: "MIR_TTL", mirror: { name: "ORIG" }, allow_msg_ttl: true })
      await jetstream(nc).publish("orig.a", sc.encode("v"), { ttl: "1s" })
      const count = async (s: string) => (await jsm.streams.info(s)).state.messages
      for (const s of ["SRC_KEEP", "SRC_TTL", "MIR_TTL"]) {
        await until(async () => (await jsm.streams.info(s)).state.last_seq === 1 ? true : undefined)
      }
      await until(async () =>
        (await count("ORIG")) + (await count("SRC_TTL")) + (await count("MIR_TTL")) === 0 ? true : undefined
      )
      await sleep(300)
      const kept = await jsm.streams.getMessage("SRC_KEEP", { seq: 1 })
      expect([kept?.subject, kept?.header.get("Nats-TTL")]).toEqual(["orig.a", "1s"])
    }))
})

describe("subject delete markers", () => {
  it("a TTL that empties a subject leaves a MaxAge marker, which expires in turn", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SDM", subjects: ["sdm.>"], subject_delete_marker_ttl: SEC })
      const js = jetstream(nc)
      await js.publish("sdm.k", sc.encode("v"), { ttl: "1s" })
      await js.publish("sdm.other", sc.encode("stays"))
      const marker = await until(async () => {
        const m = await jsm.streams.getMessage("SDM", { last_by_subj: "sdm.k" }).catch(() => null)
        return m !== null && m.seq === 3 ? m : undefined
      })
      expect([marker.subject, marker.data.length]).toEqual(["sdm.k", 0])
      expect(headersOf(marker)).toEqual({ "Nats-Marker-Reason": "MaxAge", "Nats-TTL": "1s", "Nats-Rollup": "sub" })
      expect(await seqs(jsm, "SDM")).toEqual([2, 3])
      await until(async () => (await jsm.streams.info("SDM")).state.messages === 1 ? true : undefined)
      expect(await seqs(jsm, "SDM")).toEqual([2])
      expect((await jsm.streams.info("SDM")).state.last_seq).toBe(3)
    }))
})

describe("KV limit markers (@nats-io/kv)", () => {
  it("markerTTL buckets: create with a TTL, watch sees the MaxAge marker as a purge", () =>
    withJs(suite.broker.url, async (nc) => {
      const kvm = new Kvm(nc)
      const kv = await kvm.create("marked", { markerTTL: 1000 })
      expect((await kv.status()).markerTTL).toBe(1000)
      const seen: Array<string> = []
      const w = await kv.watch({ key: "k" })
      const done = (async () => {
        for await (const e of w) {
          seen.push(`${e.operation}@${e.revision}`)
          if (seen.length === 2) break
        }
      })()
      expect(await kv.create("k", sc.encode("v"), "1s")).toBe(1)
      await done
      expect(seen).toEqual(["PUT@1", "PURGE@2"])
      expect(await kv.get("k")).toMatchObject({ operation: "PURGE", revision: 2 })
      // A key removed by its limit can be created again.
      expect(await kv.create("k", sc.encode("again"))).toBe(3)
    }))

  it("purge with a TTL leaves a purge marker that goes without another", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      const kv = await new Kvm(nc).create("purged", { markerTTL: 1000 })
      await kv.put("p", sc.encode("v"))
      await kv.purge("p", { ttl: "1s" })
      const entry = await kv.get("p")
      expect([entry?.operation, entry?.revision]).toEqual(["PURGE", 2])
      const m = await jsm.streams.getMessage("KV_purged", { seq: 2 })
      expect(m?.header.get("Nats-TTL")).toBe("1s")
      await until(async () => (await jsm.streams.info("KV_purged")).state.messages === 0 ? true : undefined)
      expect((await jsm.streams.info("KV_purged")).state.last_seq).toBe(2)
      expect(await kv.get("p")).toBeNull()
    }))

  it("a bucket without markerTTL refuses create with a TTL", () =>
    withJs(suite.broker.url, async (nc) => {
      const kv = await new Kvm(nc).create("plain")
      expect(await failure(kv.create("k", sc.encode("v"), "5s"))).toBe("400 10166 per-message TTL is disabled")
    }))
})

describe("file streams across a restart", () => {
  it("rebuild the TTL schedule from the stored headers: the message still expires, with its marker", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ttl-restart-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      await withJs(b.url, async (nc, jsm) => {
        // max_age far beyond the TTL: only the rebuilt TTL schedule can remove r.a in time. (A marker TTL
        // above 2s would raise r.a's TTL to it.)
        await jsm.streams.add({ name: "RTTL", subjects: ["r.>"], subject_delete_marker_ttl: SEC, max_age: 600 * SEC })
        await jsm.streams.add({ name: "RNEVER", subjects: ["n.>"], allow_msg_ttl: true, max_age: SEC })
        const js = jetstream(nc)
        await js.publish("r.a", sc.encode("timed"), { ttl: "2s" })
        await js.publish("r.b", sc.encode("plain"))
        await js.publish("n.a", sc.encode("kept"), { ttl: "never" })
        await js.publish("n.b", sc.encode("aging"))
      })
      await b.stop()
      b = await startBroker({ jetstream: true, storeDir })
      try {
        await withJs(b.url, async (_nc, jsm) => {
          const si = await jsm.streams.info("RTTL")
          expect([si.config.allow_msg_ttl, si.config.subject_delete_marker_ttl]).toEqual([true, SEC])
          const marker = await until(async () => {
            const m = await jsm.streams.getMessage("RTTL", { last_by_subj: "r.a" }).catch(() => null)
            return m !== null && m.seq === 3 ? m : undefined
          })
          expect(headersOf(marker)).toEqual({ "Nats-Marker-Reason": "MaxAge", "Nats-TTL": "1s", "Nats-Rollup": "sub" })
          // (The marker itself lives 1s: only the rest is checked.)
          expect(await jsm.streams.getMessage("RTTL", { seq: 1 }).catch(() => null)).toBeNull()
          expect(dc.decode((await jsm.streams.getMessage("RTTL", { seq: 2 }))!.data)).toBe("plain")
          // After the restart max_age still passes over the never message.
          await until(async () => (await jsm.streams.info("RNEVER")).state.messages === 1 ? true : undefined)
          expect(await seqs(jsm, "RNEVER")).toEqual([1])
        })
      } finally {
        await b.stop()
      }
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
