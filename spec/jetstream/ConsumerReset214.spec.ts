/**
 * CONSUMER.RESET (2.14, ADR-60) over a real socket, against ours only (nats-server 2.9.10 has no
 * reset): nats.js 3.4 `jsm.consumers.reset()` and raw requests, the reply (consumer info + reset_seq)
 * and consumer info after it, as nats-server's TestJetStreamConsumerResetToSequence* expect them;
 * the deliver-policy constraints and error replies; interest retention letting go of what a forward
 * reset skips; push consumers; the reset surviving a restart. And a property: after random
 * deliveries and acks and a reset to a random sequence, the next deliveries are exactly the model's.
 */
import { fc } from "@fast-check/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnectionImpl } from "@nats-io/nats-core/internal"
import { connect, createInbox, headers, type Msg } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"
import { apiSuite, type Json } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const T = "io.nats.jetstream.api.v1."

const suite = apiSuite((nc) => {
  // nats.js gates reset() on a 2.14 server; we advertise 2.11 until the version flip.
  ;(nc as NatsConnectionImpl).features.update("2.14.0")
})
const { api } = suite

const stream = async (name: string, extra: Json = {}, n = 4) => {
  const r = await api(`STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: "memory", ...extra })
  expect(r.error).toBeUndefined()
  const js = jetstream(suite.nc)
  for (let i = 1; i <= n; i++) await js.publish(`${name}.a`, sc.encode(`msg${i}`))
}

const consumer = async (s: string, config: Json = {}) => {
  const r = await api(`CONSUMER.CREATE.${s}.C`, {
    stream_name: s,
    config: { name: "C", durable_name: "C", ack_policy: "explicit", ...config }
  })
  expect(r.error).toBeUndefined()
}

const fetchOne = async (s: string): Promise<Msg> => {
  const inbox = createInbox()
  const sub = suite.nc.subscribe(inbox, { max: 1 })
  suite.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${s}.C`, JSON.stringify({ batch: 1, expires: 1_000_000_000 }), {
    reply: inbox
  })
  for await (const m of sub) return m
  throw new Error("no message")
}

/** What nats-server's test checks after each step: info counters and both sequence pairs. */
const state = async (s: string) => {
  const i = await api(`CONSUMER.INFO.${s}.C`)
  return {
    num_pending: i.num_pending,
    num_ack_pending: i.num_ack_pending,
    delivered: i.delivered,
    ack_floor: i.ack_floor
  }
}
const at = (consumer_seq: number, stream_seq: number) => ({ consumer_seq, stream_seq })
const withoutLast = (pair: unknown) => {
  const { last_active: _l, ...rest } = pair as Json
  return rest
}

const streamState = async (s: string) => (await api(`STREAM.INFO.${s}`)).state as Json

describe("CONSUMER.RESET (2.14)", () => {
  it("nats.js reset(): back to the ack floor, then forward to a sequence (nats-server's scenario)", async () => {
    await stream("RA", { retention: "interest" }, 0)
    await consumer("RA", { max_ack_pending: 1 })
    const js = jetstream(suite.nc)
    for (let i = 1; i <= 4; i++) await js.publish("RA.a", sc.encode(`msg${i}`))
    const m1 = await fetchOne("RA")
    expect(dc.decode(m1.data)).toBe("msg1")
    await m1.respond("+ACK")
    await suite.nc.flush()
    await sleep(50)
    const s1 = await state("RA")
    expect(s1).toMatchObject({ num_pending: 3, num_ack_pending: 0 })
    expect(withoutLast(s1.delivered)).toEqual(at(1, 1))
    expect(withoutLast(s1.ack_floor)).toEqual(at(1, 1))
    expect(dc.decode((await fetchOne("RA")).data)).toBe("msg2")
    const s2 = await state("RA")
    expect(s2).toMatchObject({ num_pending: 2, num_ack_pending: 1 })
    expect(withoutLast(s2.delivered)).toEqual(at(2, 2))

    const jsm = await jetstreamManager(suite.nc)
    // Empty body: the ack floor stays, delivery restarts above it with consumer sequence 1.
    const r = await jsm.consumers.reset("RA", "C")
    expect(r.reset_seq).toBe(2)
    expect(r.name).toBe("C")
    expect(r.stream_name).toBe("RA")
    expect(r.delivered).toEqual(at(0, 1))
    expect(r.ack_floor).toEqual(at(0, 1))
    expect(r.num_pending).toBe(3)
    expect(r.num_ack_pending).toBe(0)
    expect(r.num_redelivered).toBe(0)
    expect(await state("RA")).toEqual({ num_pending: 3, num_ack_pending: 0, delivered: at(0, 1), ack_floor: at(0, 1) })
    // seq 0 is the same as no body.
    const zero = await jsm.consumers.reset("RA", "C", 0)
    expect(zero.reset_seq).toBe(2)
    expect(zero.delivered).toEqual(at(0, 1))

    // Forward to 4: 2 and 3 lose their only interest and go.
    const fwd = await jsm.consumers.reset("RA", "C", 4)
    expect(fwd.reset_seq).toBe(4)
    expect(fwd.delivered).toEqual(at(0, 3))
    expect(fwd.ack_floor).toEqual(at(0, 3))
    expect(fwd.num_pending).toBe(1)
    expect(await streamState("RA")).toMatchObject({ messages: 1, first_seq: 4 })
    const m4 = await fetchOne("RA")
    expect(dc.decode(m4.data)).toBe("msg4")
    // Its ack subject: first delivery, stream seq 4, consumer seq 1, nothing pending after it.
    expect(m4.reply?.split(".").slice(4, 7)).toEqual(["1", "4", "1"])
    expect(await state("RA")).toMatchObject({ num_pending: 0, num_ack_pending: 1 })
    expect(withoutLast((await state("RA")).delivered)).toEqual(at(1, 4))
    await m4.respond("+ACK")
    await suite.nc.flush()
    await sleep(50)
    const s4 = await state("RA")
    expect(withoutLast(s4.ack_floor)).toEqual(at(1, 4))
    expect(await streamState("RA")).toMatchObject({ messages: 0, first_seq: 5 })
  })

  it("the raw reply: type, consumer info members in order, config metadata, reset_seq last", async () => {
    await stream("RB")
    await consumer("RB")
    const m = await suite.nc.request("$JS.API.CONSUMER.RESET.RB.C", "", { timeout: 2000 })
    const text = dc.decode(m.data)
    const r = JSON.parse(text) as Json
    expect(Object.keys(r)).toEqual([
      "type",
      "stream_name",
      "name",
      "created",
      "config",
      "delivered",
      "ack_floor",
      "num_ack_pending",
      "num_redelivered",
      "num_waiting",
      "num_pending",
      "ts",
      "reset_seq"
    ])
    expect(r.type).toBe(`${T}consumer_reset_response`)
    expect(r.reset_seq).toBe(1)
    expect(r.delivered).toEqual(at(0, 0))
    expect(r.num_pending).toBe(4)
    expect((r.config as Json).ack_policy).toBe("explicit")
  })

  it("pull or push, a reset to a sequence behind the cursor redelivers from there, consumer sequences from 1", async () => {
    await stream("RP")
    const deliver = createInbox()
    const got: Array<Msg> = []
    const sub = suite.nc.subscribe(deliver, { callback: (_e, m) => void got.push(m) })
    await consumer("RP", { deliver_subject: deliver })
    await sleep(200)
    expect(got.map((m) => dc.decode(m.data))).toEqual(["msg1", "msg2", "msg3", "msg4"])
    got.length = 0
    const r = await api("CONSUMER.RESET.RP.C", { seq: 2 })
    expect(r.reset_seq).toBe(2)
    await sleep(200)
    sub.unsubscribe()
    expect(got.map((m) => dc.decode(m.data))).toEqual(["msg2", "msg3", "msg4"])
    // delivery count, stream seq, consumer seq of each redelivered message: first deliveries again.
    expect(got.map((m) => m.reply!.split(".").slice(4, 7).join("."))).toEqual(["1.2.1", "1.3.2", "1.4.3"])
  })

  it("by_start_sequence / by_start_time refuse going below the start; last/new refuse any sequence (10204)", async () => {
    await stream("RS")
    await consumer("RS", { deliver_policy: "by_start_sequence", opt_start_seq: 3 })
    const below = await api("CONSUMER.RESET.RS.C", { seq: 2 })
    expect(below).toEqual({
      type: `${T}consumer_reset_response`,
      error: { code: 400, err_code: 10204, description: "invalid reset: below start seq" },
      reset_seq: 0
    })
    const ok = await api("CONSUMER.RESET.RS.C", { seq: 3 })
    expect(ok.reset_seq).toBe(3)
    expect(ok.delivered).toEqual(at(0, 2))
    expect(dc.decode((await fetchOne("RS")).data)).toBe("msg3")

    await stream("RT", {}, 2)
    await sleep(5)
    const js = jetstream(suite.nc)
    for (const b of ["msg3", "msg4"]) await js.publish("RT.a", sc.encode(b))
    // The start time is msg3's own (the suite.broker's clock), so the start is exactly sequence 3.
    const start = ((await api("STREAM.MSG.GET.RT", { seq: 3 })).message as Json).time as string
    await consumer("RT", { deliver_policy: "by_start_time", opt_start_time: start })
    expect((await api("CONSUMER.RESET.RT.C", { seq: 2 })).error).toEqual({
      code: 400,
      err_code: 10204,
      description: "invalid reset: below start time"
    })
    expect((await api("CONSUMER.RESET.RT.C", { seq: 3 })).reset_seq).toBe(3)
    expect(dc.decode((await fetchOne("RT")).data)).toBe("msg3")

    await stream("RL")
    for (const [name, policy] of [["L", "last"], ["N", "new"]] as const) {
      const r = await api(`CONSUMER.CREATE.RL.${name}`, {
        stream_name: "RL",
        config: { name, ack_policy: "explicit", deliver_policy: policy }
      })
      expect(r.error).toBeUndefined()
      expect((await api(`CONSUMER.RESET.RL.${name}`, { seq: 1 })).error).toEqual({
        code: 400,
        err_code: 10204,
        description: "invalid reset: not allowed"
      })
      // Back to the ack floor is always allowed.
      expect((await api(`CONSUMER.RESET.RL.${name}`, { seq: 0 })).error).toBeUndefined()
    }
  })

  it("bad bodies are 10025 and change nothing; the API level header is 412; a missing consumer does not answer", async () => {
    await stream("RE")
    await consumer("RE")
    expect(dc.decode((await fetchOne("RE")).data)).toBe("msg1")
    const before = await state("RE")
    const invalid = { code: 400, err_code: 10025, description: "invalid JSON" }
    for (const body of ["{", `{"seq":-1}`, `{"seq":"2"}`, `{"seq":1.5}`, "[1]", " "]) {
      expect((await api("CONSUMER.RESET.RE.C", body)).error, body).toEqual(invalid)
    }
    expect(await api("CONSUMER.RESET.RE.C", { seq: 1, time: "x" })).toEqual({
      type: `${T}consumer_reset_response`,
      error: { code: 400, err_code: 10025, description: `invalid JSON: json: unknown field "time"` },
      reset_seq: 0
    })
    expect(await state("RE")).toEqual(before)
    const h = headers()
    h.set("Nats-Required-Api-Level", "99")
    const m = await suite.nc.request("$JS.API.CONSUMER.RESET.RE.C", "", { timeout: 2000, headers: h })
    expect((JSON.parse(dc.decode(m.data)) as Json).error).toEqual({
      code: 412,
      err_code: 10185,
      description: "JetStream minimum api level required"
    })
    expect(await state("RE")).toEqual(before)
    // `null` and `{}` are the empty request.
    expect((await api("CONSUMER.RESET.RE.C", "null")).reset_seq).toBe(1)
    expect((await api("CONSUMER.RESET.RE.C", "{}")).reset_seq).toBe(1)
    // No consumer (or no stream): nobody answers, as nats-server's per-consumer subscription.
    for (const subject of ["CONSUMER.RESET.RE.NOPE", "CONSUMER.RESET.NOPE.C"]) {
      await expect(suite.nc.request(`$JS.API.${subject}`, "", { timeout: 300 })).rejects.toThrow(/timeout/i)
    }
  })

  it("a reset survives a restart (file store journal)", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-reset-"))
    try {
      let b = await startBroker({ jetstream: true, storeDir })
      let c = await connect({ servers: b.url, reconnect: false })
      expect((await api("STREAM.CREATE.RF", { name: "RF", subjects: ["RF.>"] }, c)).error).toBeUndefined()
      const js = jetstream(c)
      for (let i = 1; i <= 5; i++) await js.publish("RF.a", sc.encode(`msg${i}`))
      const cr = await api("CONSUMER.CREATE.RF.C", {
        stream_name: "RF",
        config: { name: "C", durable_name: "C", ack_policy: "explicit" }
      }, c)
      expect(cr.error).toBeUndefined()
      expect((await api("CONSUMER.RESET.RF.C", { seq: 4 }, c)).reset_seq).toBe(4)
      await c.close()
      await b.stop()
      b = await startBroker({ jetstream: true, storeDir })
      c = await connect({ servers: b.url, reconnect: false })
      const i = await api("CONSUMER.INFO.RF.C", "", c)
      expect(i.delivered).toEqual(at(0, 3))
      expect(i.ack_floor).toEqual(at(0, 3))
      expect(i.num_pending).toBe(2)
      await c.close()
      await b.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })

  it("property: after random deliveries and acks, a reset to a random sequence delivers exactly the model's next sequences", async () => {
    const N = 8
    let run = 0
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 0, maxLength: N }),
        fc.integer({ min: 0, max: N + 1 }),
        async (acks, target) => {
          const s = `RQ${run++}`
          await stream(s, {}, N)
          await consumer(s, { ack_wait: 60_000_000_000 })
          // Deliver acks.length messages, acking those marked.
          for (const ack of acks) {
            const m = await fetchOne(s)
            if (ack) await m.respond("+ACK")
          }
          await suite.nc.flush()
          await sleep(20)
          // Model of nats-server's ack floor: the highest delivered sequence with every one below acked.
          let floor = 0
          while (floor < acks.length && acks[floor]) floor++
          const start = target === 0 ? floor + 1 : target
          const r = await api(`CONSUMER.RESET.${s}.C`, target === 0 ? "" : { seq: target })
          expect(r.reset_seq).toBe(start)
          expect(r.ack_floor).toEqual(at(0, start - 1))
          expect(r.delivered).toEqual(at(0, start - 1))
          expect(r.num_ack_pending).toBe(0)
          expect(r.num_pending).toBe(Math.max(0, N - start + 1))
          const next: Array<string> = []
          for (let want = start; want <= N; want++) {
            const m = await fetchOne(s)
            next.push(m.reply!.split(".").slice(5, 7).join("."))
          }
          const model = Array.from({ length: Math.max(0, N - start + 1) }, (_, i) => `${start + i}.${i + 1}`)
          expect(next).toEqual(model)
          await api(`STREAM.DELETE.${s}`)
        }
      ),
      { numRuns: 12 }
    )
  })
})
