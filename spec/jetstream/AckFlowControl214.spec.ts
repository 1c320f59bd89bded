/**
 * `ack_policy: "flow_control"` (2.14, ADR-60) over a real socket, against ours only (nats-server
 * 2.9.10 has no such policy): the config rules of nats-server's setConsumerConfigDefaults /
 * checkConsumerCfg with their exact errors, the normalized config (flow control and the 1s heartbeat
 * forced outside pedantic mode, API level 4), and the acks: only answers to flow-control requests
 * carrying Nats-Last-Stream / Nats-Last-Consumer ack (up to them, as ack-all), which on a
 * WorkQueue stream removes the messages; a request is forced at max_ack_pending and on an idle
 * heartbeat while messages are pending; the $JS.ACK subject has no responder.
 */
import { jetstream } from "@nats-io/jetstream"
import { createInbox, headers, type Msg } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { sleep } from "../support/Js.ts"
import { apiSuite, type Json } from "../support/JsApi.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

const suite = apiSuite()
const { api } = suite

const stream = async (name: string, extra: Json = {}) => {
  const r = await api(`STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: "memory", ...extra })
  expect(r.error).toBeUndefined()
}

const create = (s: string, config: Json, pedantic = false) =>
  api(`CONSUMER.CREATE.${s}.C`, {
    stream_name: s,
    config: { name: "C", durable_name: "C", ack_policy: "flow_control", ...config },
    ...(pedantic ? { pedantic: true } : {})
  })

const SECOND = 1_000_000_000

describe("ack_policy flow_control (2.14)", () => {
  it("config rules, in nats-server's order, with its errors", async () => {
    await stream("FA")
    const deliver = { deliver_subject: "fa.deliver" }
    const cases: Array<[Json, boolean, Json]> = [
      [{}, false, {
        code: 400,
        err_code: 10218,
        description: "flow control ack policy requires a push based consumer"
      }],
      // Pedantic: nothing is filled in, so flow control and the heartbeat must be sent.
      [deliver, true, { code: 400, err_code: 10219, description: "flow control ack policy requires flow control" }],
      [{ ...deliver, flow_control: true, idle_heartbeat: 2 * SECOND }, true, {
        code: 500,
        err_code: 10052,
        description: "flow control ack policy heartbeat needs to be 1s"
      }],
      [{ ...deliver, max_ack_pending: -1 }, false, {
        code: 400,
        err_code: 10220,
        description: "flow control ack policy requires max ack pending"
      }],
      [{ ...deliver, ack_wait: 5 * SECOND }, false, {
        code: 400,
        err_code: 10221,
        description: "flow control ack policy requires unset ack wait"
      }],
      [{ ...deliver, backoff: [SECOND] }, false, {
        code: 400,
        err_code: 10221,
        description: "flow control ack policy requires unset ack wait"
      }],
      [{ ...deliver, max_deliver: 5 }, false, {
        code: 400,
        err_code: 10222,
        description: "flow control ack policy requires unset max deliver"
      }]
    ]
    for (const [config, pedantic, error] of cases) {
      expect((await create("FA", config, pedantic)).error, JSON.stringify(config)).toEqual(error)
    }
    expect((await api("CONSUMER.INFO.FA.C")).error).toMatchObject({ err_code: 10014 })
  })

  it("the stored config: flow control and a 1s heartbeat forced, no ack wait, API level 4; allowed on WorkQueue", async () => {
    await stream("FB", { retention: "workqueue" })
    const r = await create("FB", { deliver_subject: "fb.deliver", idle_heartbeat: 5 * SECOND })
    expect(r.error).toBeUndefined()
    const config = r.config as Json
    expect(config).toMatchObject({
      ack_policy: "flow_control",
      flow_control: true,
      idle_heartbeat: SECOND,
      max_ack_pending: 1000,
      max_deliver: -1
    })
    expect(config.ack_wait).toBeUndefined()
    expect((config.metadata as Json)["_nats.req.level"]).toBe("4")
    // Pedantic with everything as required is accepted as sent.
    await stream("FC")
    const p = await create("FC", { deliver_subject: "fc.deliver", flow_control: true, idle_heartbeat: SECOND }, true)
    expect(p.error).toBeUndefined()
    // The ack policy stays what it is.
    const up = await create("FC", {
      deliver_subject: "fc.deliver",
      ack_policy: "explicit",
      flow_control: true,
      idle_heartbeat: SECOND
    })
    expect(up.error).toEqual({ code: 500, err_code: 10012, description: "ack policy can not be updated" })
  })

  it("acks by flow-control answers: requests at max_ack_pending and on heartbeats; WorkQueue removes what is acked", async () => {
    await stream("FW", { retention: "workqueue" })
    const js = jetstream(suite.nc)
    for (let i = 1; i <= 5; i++) await js.publish("FW.a", sc.encode(`m${i}`))
    const deliver = createInbox()
    const got: Array<Msg> = []
    const sub = suite.nc.subscribe(deliver, { callback: (_e, m) => void got.push(m) })
    const r = await create("FW", { deliver_subject: deliver, max_ack_pending: 2 })
    expect(r.error).toBeUndefined()
    await sleep(150)
    const show = (m: Msg) => (m.headers?.code === 100 ? `${m.headers.description}` : dc.decode(m.data))
    // Two messages, then the request max_ack_pending forces; nothing more until it is answered.
    expect(got.map(show)).toEqual(["m1", "m2", "FlowControl Request"])
    const fc1 = got[2]!
    expect(fc1.reply).toMatch(/^\$JS\.FC\.FW\.C\./)
    // Acks on the ack subject reach nobody: the consumer has none.
    await expect(suite.nc.request(got[0]!.reply!, "+ACK", { timeout: 500 })).rejects.toThrow(/503|no responders/i)
    let info = await api("CONSUMER.INFO.FW.C")
    expect(info.num_ack_pending).toBe(2)
    expect(((await api("STREAM.INFO.FW")).state as Json).messages).toBe(5)

    const answer = (m: Msg, stream: number, consumer: number) => {
      const h = headers()
      h.set("Nats-Last-Stream", String(stream))
      h.set("Nats-Last-Consumer", String(consumer))
      suite.nc.publish(m.reply!, new Uint8Array(0), { headers: h })
    }
    got.length = 0
    answer(fc1, 2, 2)
    await sleep(150)
    info = await api("CONSUMER.INFO.FW.C")
    expect(info.ack_floor).toMatchObject({ consumer_seq: 2, stream_seq: 2 })
    expect((await api("STREAM.INFO.FW")).state).toMatchObject({ messages: 3, first_seq: 3 })
    expect(got.map(show)).toEqual(["m3", "m4", "FlowControl Request"])
    // An answer without the headers (a plain client's) opens the flow but acks nothing.
    const fc2 = got[2]!
    got.length = 0
    suite.nc.publish(fc2.reply!, new Uint8Array(0))
    await sleep(150)
    expect(got.map(show)).toEqual([])
    expect((await api("CONSUMER.INFO.FW.C")).num_ack_pending).toBe(2)
    // Not the outstanding request any more: a late answer with headers is ignored too.
    answer(fc2, 4, 4)
    await sleep(100)
    expect((await api("CONSUMER.INFO.FW.C")).ack_floor).toMatchObject({ consumer_seq: 2, stream_seq: 2 })

    // The idle heartbeat (1s) comes with a request while messages are pending.
    await sleep(1200)
    const shown = got.map(show)
    expect(shown.slice(0, 2)).toEqual(["Idle Heartbeat", "FlowControl Request"])
    const fc3 = got[1]!
    got.length = 0
    answer(fc3, 4, 4)
    await sleep(150)
    expect((await api("CONSUMER.INFO.FW.C")).ack_floor).toMatchObject({ consumer_seq: 4, stream_seq: 4 })
    expect((await api("STREAM.INFO.FW")).state).toMatchObject({ messages: 1, first_seq: 5 })
    expect(got.map(show)).toEqual(["m5"])
    sub.unsubscribe()
  })
})
