/**
 * Message schedules (ADR-51; nats-server 2.12 `@at`, 2.14 `@every`/cron) through the real client
 * (@nats-io/jetstream 3.4's `schedule` and `cancelSchedule` publish options) over a socket, on memory
 * and file streams, and across a broker restart. nats-server 2.9.10 has no schedules, so expected
 * values are taken from nats-server's current source (stream.go checkStreamCfg, processJetStreamMsg,
 * scheduler.go, errors.json). Firings are real time here (the TestClock specs are in actor/).
 */
import { jetstream } from "@nats-io/jetstream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { failure, headersOf, sleep, until, withJs } from "../support/Js.ts"
import { brokerSuite } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

const suite = brokerSuite()

describe("stream config: allow_msg_schedules", () => {
  it("is stored and reported; it turns roll-ups on, lifts deny_purge and needs API level 2", () =>
    withJs(suite.broker.url, async (_nc, jsm) => {
      const si = await jsm.streams.add({
        name: "SCFG",
        subjects: ["scfg.>"],
        allow_msg_schedules: true,
        deny_purge: true
      })
      expect(si.config.allow_msg_schedules).toBe(true)
      expect(si.config.allow_rollup_hdrs).toBe(true)
      expect(si.config.deny_purge).toBe(false)
      expect(si.config.metadata?.["_nats.req.level"]).toBe("2")
      expect((await jsm.streams.info("SCFG")).config.allow_msg_schedules).toBe(true)
      // omitempty: absent when off.
      const off = await jsm.streams.add({ name: "SCFG_OFF", subjects: ["scfgoff"] })
      expect("allow_msg_schedules" in off.config).toBe(false)
      // Turned on by an update, never off.
      await jsm.streams.update("SCFG_OFF", { ...off.config, allow_msg_schedules: true })
      expect(await failure(jsm.streams.update("SCFG_OFF", { ...off.config, allow_msg_schedules: false }))).toBe(
        "500 10052 message schedules can not be disabled"
      )
    }))

  it("refuses discard new, mirrors, sources, and (pedantic) disabled roll-ups with nats-server's errors", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      expect(
        await failure(
          jsm.streams.add({ name: "SBAD1", subjects: ["sbad1"], allow_msg_schedules: true, discard: "new" as never })
        )
      ).toBe("500 10052 message scheduling cannot use discard new")
      expect(await failure(jsm.streams.add({ name: "SBAD2", mirror: { name: "SCFG" }, allow_msg_schedules: true })))
        .toBe("400 10186 stream mirrors can not also schedule messages")
      expect(
        await failure(jsm.streams.add({ name: "SBAD3", sources: [{ name: "SCFG" }], allow_msg_schedules: true }))
      ).toBe("400 10187 stream source can not also schedule messages")
      const r = await nc.request(
        "$JS.API.STREAM.CREATE.SBAD4",
        JSON.stringify({ name: "SBAD4", subjects: ["sbad4"], allow_msg_schedules: true, pedantic: true })
      )
      expect(JSON.parse(dc.decode(r.data)).error).toEqual({
        code: 500,
        err_code: 10052,
        description: "message scheduling cannot be set if roll-ups are disabled"
      })
    }))
})

describe("publishing schedules", () => {
  for (const storage of ["memory", "file"] as const) {
    it(`@at publishes once to the target and purges the schedule (${storage})`, () =>
      withJs(suite.broker.url, async (nc, jsm) => {
        const name = `SAT_${storage}`
        await jsm.streams.add({ name, subjects: [`${name}.>`], storage: storage as never, allow_msg_schedules: true })
        const js = jetstream(nc)
        const ack = await js.publish(`${name}.sched.one`, sc.encode("later"), {
          schedule: { specification: new Date(Date.now() + 1000), target: `${name}.orders` }
        })
        expect(ack.seq).toBe(1)
        const produced = await until(async () =>
          (await jsm.streams.getMessage(name, { last_by_subj: `${name}.orders` }).catch(() => null)) ?? undefined
        )
        expect(dc.decode(produced.data)).toBe("later")
        expect(headersOf(produced)).toEqual({
          "Nats-Scheduler": `${name}.sched.one`,
          "Nats-Schedule-Next": "purge"
        })
        const si = await jsm.streams.info(name)
        expect([si.state.messages, si.state.last_seq]).toEqual([1, 2])
      }))
  }

  it("@every repeats and cancelSchedule ends it atomically with a publish", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SEV", subjects: ["sev.>"], storage: "memory" as never, allow_msg_schedules: true })
      const js = jetstream(nc)
      await js.publish("sev.sched", sc.encode("tick"), {
        schedule: { specification: { every: "1s" }, target: "sev.out" }
      })
      const first = await until(async () =>
        (await jsm.streams.getMessage("SEV", { last_by_subj: "sev.out" }).catch(() => null)) ?? undefined
      )
      const next = headersOf(first)["Nats-Schedule-Next"]!
      expect(next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      await until(async () => (await jsm.streams.info("SEV")).state.last_seq >= 3 ? true : undefined)
      const ack = await js.publish("sev.stopped", sc.encode("done"), {
        cancelSchedule: { scheduleSubject: "sev.sched" }
      })
      await sleep(1500)
      const si = await jsm.streams.info("SEV")
      expect(si.state.last_seq).toBe(ack.seq)
      expect(await jsm.streams.getMessage("SEV", { last_by_subj: "sev.sched" }).catch(() => null)).toBeNull()
    }))

  it("answers invalid schedules with nats-server's err_codes", () =>
    withJs(suite.broker.url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SERR", subjects: ["serr.>"], allow_msg_schedules: true })
      await jsm.streams.add({ name: "SOFF", subjects: ["soff.>"] })
      const js = jetstream(nc)
      const pub = (subject: string, spec: string, target: string, extra: Record<string, string> = {}) =>
        failure(js.publish(subject, sc.encode("x"), {
          schedule: { specification: spec, target, ...extra }
        }))
      expect(await pub("serr.a", "@every 100ms", "serr.out")).toBe("400 10189 message schedules pattern is invalid")
      expect(await pub("serr.a", "@daily", "other.out")).toBe("400 10190 message schedules target is invalid")
      expect(await pub("serr.a", "@daily", "serr.out", { ttl: "5m" })).toBe("400 10166 per-message TTL is disabled")
      expect(await pub("serr.a", "@daily", "serr.out", { timezone: "Nowhere/City" })).toBe(
        "400 10223 message schedules time zone is invalid"
      )
      expect(await pub("soff.a", "@daily", "soff.out")).toBe("400 10188 message schedules is disabled")
      expect((await jsm.streams.info("SERR")).state.messages).toBe(0)
    }))
})

describe("schedules across a restart", () => {
  it("an @at that fell due while the suite.broker was down fires once on recovery (file store)", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-sched-restart-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      await withJs(b.url, async (nc, jsm) => {
        await jsm.streams.add({ name: "SRST", subjects: ["srst.>"], allow_msg_schedules: true })
        await jetstream(nc).publish("srst.sched", sc.encode("after restart"), {
          schedule: { specification: new Date(Date.now() + 1000), target: "srst.out" }
        })
      })
      await b.stop()
      await sleep(1500)
      b = await startBroker({ jetstream: true, storeDir })
      try {
        await withJs(b.url, async (_nc, jsm) => {
          const produced = await until(async () =>
            (await jsm.streams.getMessage("SRST", { last_by_subj: "srst.out" }).catch(() => null)) ?? undefined
          )
          expect(dc.decode(produced.data)).toBe("after restart")
          await sleep(500)
          const si = await jsm.streams.info("SRST")
          expect([si.state.messages, si.state.last_seq]).toEqual([1, 2])
        })
      } finally {
        await b.stop()
      }
      // And not again after another restart.
      b = await startBroker({ jetstream: true, storeDir })
      try {
        await sleep(300)
        await withJs(b.url, async (_nc, jsm) => {
          expect((await jsm.streams.info("SRST")).state.last_seq).toBe(2)
        })
      } finally {
        await b.stop()
      }
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  }, 20_000)
})
