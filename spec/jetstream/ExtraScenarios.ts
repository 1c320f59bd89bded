/**
 * Behaviours the nats.js test suites exercise beyond the basic flows: stream/consumer action
 * advisories, stream list filters that overlap, pull max_bytes after a partial batch, request
 * limits (max_expires, max_bytes), and byte-based push flow control.
 */
import { AckPolicy, jetstream } from "@nats-io/jetstream"
import { createInbox, type NatsConnection } from "@nats-io/transport-node"
import { rawPull as rawPullShowing, sizedStatusOf, sleep, withJs } from "../support/Js.ts"

const dc = new TextDecoder()

/** This file's pulls show messages by size: see `sizedStatusOf`. */
const rawPull = (nc: NatsConnection, stream: string, consumer: string, body: unknown, ms: number) =>
  rawPullShowing(nc, stream, consumer, body, ms, sizedStatusOf)

export const extraScenarios = {
  async advisories(url: string) {
    return withJs(url, async (nc, jsm) => {
      const seen: Array<string> = []
      nc.subscribe("$JS.EVENT.ADVISORY.>", {
        callback: (_e, m) => {
          const a = JSON.parse(dc.decode(m.data)) as {
            type: string
            stream: string
            consumer?: string
            action?: string
            id: string
            timestamp: string
          }
          if (a.action === undefined) return
          seen.push(
            `${m.subject} ${a.type} ${a.stream} ${a.consumer ?? "-"} ${a.action} ${a.id.length > 0} ${
              a.timestamp.endsWith("Z")
            }`
          )
        }
      })
      await nc.flush()
      await jsm.streams.add({ name: "ADV", subjects: ["adv"] })
      await jsm.streams.update("ADV", { subjects: ["adv", "adv2"] })
      await jsm.consumers.add("ADV", { durable_name: "c", ack_policy: AckPolicy.Explicit })
      await jsm.consumers.delete("ADV", "c")
      await jsm.streams.delete("ADV")
      await sleep(100)
      return { seen }
    })
  },

  async listFilterOverlap(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "LF1", subjects: ["lf.B"] })
      await jsm.streams.add({ name: "LF2", subjects: ["lfx.*"] })
      await jsm.streams.add({ name: "LF3", subjects: ["lfy.A"] })
      const names: Array<string> = []
      for await (const n of jsm.streams.names("*.A")) names.push(n)
      const listed: Array<string> = []
      for await (const si of jsm.streams.list("lfx.>")) listed.push(si.config.name)
      for (const s of ["LF1", "LF2", "LF3"]) await jsm.streams.delete(s)
      return { names: names.sort(), listed }
    })
  },

  async pullLimits(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PL", subjects: ["pl"] })
      const js = jetstream(nc)
      await js.publish("pl", new Uint8Array(10))
      await js.publish("pl", new Uint8Array(100))
      await jsm.consumers.add("PL", { durable_name: "d", ack_policy: AckPolicy.None })
      const partial = await rawPull(nc, "PL", "d", { batch: 5, max_bytes: 60, expires: 500_000_000 }, 300)
      await jsm.consumers.add(
        "PL",
        { durable_name: "lim", ack_policy: AckPolicy.None, max_expires: 1_000_000_000, max_bytes: 1000 } as never
      )
      const tooLong = await rawPull(nc, "PL", "lim", { batch: 1, expires: 2_000_000_000 }, 150)
      const tooBig = await rawPull(nc, "PL", "lim", { batch: 1, max_bytes: 2000, expires: 500_000_000 }, 150)
      await jsm.streams.delete("PL")
      return { partial, tooLong, tooBig }
    })
  },

  async flowControlBytes(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "FCB", subjects: ["fcb"] })
      const js = jetstream(nc)
      const payload = new Uint8Array(100_000)
      for (let i = 0; i < 30; i++) await js.publish("fcb", payload)
      const events: Array<string> = []
      const deliver = createInbox()
      nc.subscribe(deliver, {
        callback: (_e, m) => {
          if (m.headers !== undefined && m.data.length === 0) {
            events.push(`${m.headers.code} ${m.headers.description}`)
            if (m.reply) m.respond()
          } else {
            events.push("msg")
          }
        }
      })
      await jsm.consumers.add("FCB", {
        durable_name: "p",
        ack_policy: AckPolicy.None,
        deliver_subject: deliver,
        flow_control: true,
        idle_heartbeat: 5_000_000_000
      })
      const deadline = Date.now() + 5000
      while (events.filter((e) => e === "msg").length < 30 && Date.now() < deadline) await sleep(20)
      await jsm.streams.delete("FCB")
      const firstFc = events.indexOf("100 FlowControl Request")
      return {
        messages: events.filter((e) => e === "msg").length,
        firstFcAfter: firstFc,
        fcCount: events.filter((e) => e.startsWith("100 FlowControl")).length > 0
      }
    })
  }
}

export type ExtraScenarioName = keyof typeof extraScenarios
