/**
 * Consumer scenarios through the official `@nats-io/jetstream` client. Each returns what the client
 * observed (no timestamps or generated names) so it can be asserted against our broker and
 * compared with nats-server.
 */
import { AckPolicy, DeliverPolicy, jetstream, type JsMsg } from "@nats-io/jetstream"
import { type NatsConnection } from "@nats-io/transport-node"
import { failure, sleep, withJs } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

const seed = async (nc: NatsConnection, subjects: ReadonlyArray<string>) => {
  const js = jetstream(nc)
  for (const [i, s] of subjects.entries()) await js.publish(s, sc.encode(`${s}#${i + 1}`))
}

const view = (m: JsMsg) => ({
  subject: m.subject,
  data: dc.decode(m.data),
  seq: m.seq,
  redelivered: m.redelivered,
  deliveries: m.info.deliveryCount,
  streamSeq: m.info.streamSequence,
  pending: m.info.pending
})

const counters = (
  ci: {
    delivered: { consumer_seq: number; stream_seq: number }
    ack_floor: { consumer_seq: number; stream_seq: number }
    num_ack_pending: number
    num_redelivered: number
    num_waiting: number
    num_pending: number
  }
) => ({
  delivered: [ci.delivered.consumer_seq, ci.delivered.stream_seq],
  ack_floor: [ci.ack_floor.consumer_seq, ci.ack_floor.stream_seq],
  num_ack_pending: ci.num_ack_pending,
  num_redelivered: ci.num_redelivered,
  num_waiting: ci.num_waiting,
  num_pending: ci.num_pending
})

export const consumerScenarios = {
  /** Durable pull consumer: create, info, fetch a batch, ack some, info counters, delete. */
  async pullFetchAck(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PF", subjects: ["pf.*"] })
      await seed(nc, ["pf.a", "pf.b", "pf.a", "pf.c", "pf.a"])
      const created = await jsm.consumers.add("PF", { durable_name: "worker", ack_policy: AckPolicy.Explicit })
      const js = jetstream(nc)
      const c = await js.consumers.get("PF", "worker")
      const batch = await c.fetch({ max_messages: 3, expires: 1000 })
      const got: Array<ReturnType<typeof view>> = []
      for await (const m of batch) {
        got.push(view(m))
        if (m.seq !== 2) m.ack()
      }
      await nc.flush()
      await sleep(50)
      const info = await c.info()
      const rest = await c.fetch({ max_messages: 10, expires: 1000 })
      const more: Array<number> = []
      for await (const m of rest) {
        more.push(m.seq)
        m.ack()
      }
      await nc.flush()
      await sleep(50)
      const end = await c.info()
      const deleted = await jsm.consumers.delete("PF", "worker")
      const gone = await failure(jsm.consumers.info("PF", "worker"))
      await jsm.streams.delete("PF")
      return {
        createdConfig: created.config,
        createdCounters: counters(created),
        got,
        info: counters(info),
        more,
        end: counters(end),
        deleted,
        gone
      }
    })
  },

  /** next() with nothing to deliver times out; no_wait fetch ends at once. */
  async pullEmpty(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PE", subjects: ["pe"] })
      await jsm.consumers.add("PE", { durable_name: "d", ack_policy: AckPolicy.Explicit })
      const c = await jetstream(nc).consumers.get("PE", "d")
      const started = Date.now()
      const none = await c.next({ expires: 1000 })
      const waited = Date.now() - started
      await seed(nc, ["pe"])
      const one = await c.next({ expires: 1000 })
      one?.ack()
      await jsm.streams.delete("PE")
      return { none, waitedAtLeastExpires: waited >= 900, one: one === null ? null : view(one) }
    })
  },

  /** NAK redelivers at once; TERM never again; redeliveries carry the count. */
  async nakTermRedeliver(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "NT", subjects: ["nt"] })
      await seed(nc, ["nt", "nt", "nt"])
      await jsm.consumers.add("NT", { durable_name: "d", ack_policy: AckPolicy.Explicit, ack_wait: 5_000_000_000 })
      const c = await jetstream(nc).consumers.get("NT", "d")
      const seen: Array<string> = []
      const first = await c.fetch({ max_messages: 3, expires: 1000 })
      for await (const m of first) {
        seen.push(`${m.seq}:${m.info.deliveryCount}`)
        if (m.seq === 1) m.nak()
        else if (m.seq === 2) m.term()
        else m.ack()
      }
      await nc.flush()
      const second = await c.fetch({ max_messages: 3, expires: 1000 })
      for await (const m of second) {
        seen.push(`${m.seq}:${m.info.deliveryCount}:${m.redelivered}`)
        m.ack()
      }
      await nc.flush()
      await sleep(50)
      const info = counters(await c.info())
      await jsm.streams.delete("NT")
      return { seen, info }
    })
  },

  /** Unacked messages come back after ack_wait; max_deliver stops them with an advisory. */
  async ackWaitMaxDeliver(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "AW", subjects: ["aw"] })
      await seed(nc, ["aw"])
      const advisories: Array<string> = []
      nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AW.d", {
        callback: (_e, m) => {
          const a = JSON.parse(dc.decode(m.data)) as {
            type: string
            stream: string
            consumer: string
            stream_seq: number
            deliveries: number
          }
          advisories.push(`${a.type} ${a.stream} ${a.consumer} ${a.stream_seq} ${a.deliveries}`)
        }
      })
      await jsm.consumers.add("AW", {
        durable_name: "d",
        ack_policy: AckPolicy.Explicit,
        ack_wait: 300_000_000,
        max_deliver: 2
      })
      const c = await jetstream(nc).consumers.get("AW", "d")
      const deliveries: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const m = await c.next({ expires: 1000 })
        if (m !== null) deliveries.push(m.info.deliveryCount)
      }
      await sleep(100)
      const info = counters(await c.info())
      await jsm.streams.delete("AW")
      return { deliveries, advisories, info }
    })
  },

  /** Ack-all acknowledges everything up to the acked message. */
  async ackAll(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "AA", subjects: ["aa"] })
      await seed(nc, ["aa", "aa", "aa", "aa"])
      await jsm.consumers.add("AA", { durable_name: "d", ack_policy: AckPolicy.All })
      const c = await jetstream(nc).consumers.get("AA", "d")
      const batch = await c.fetch({ max_messages: 4, expires: 1000 })
      for await (const m of batch) if (m.seq === 3) m.ack()
      await nc.flush()
      await sleep(50)
      const info = counters(await c.info())
      await jsm.streams.delete("AA")
      return { info }
    })
  },

  /** Deliver policies and filters pick the right starting point and num_pending. */
  async deliverPolicies(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DP", subjects: ["dp.*"] })
      await seed(nc, ["dp.a", "dp.b", "dp.a", "dp.b", "dp.c"])
      const js = jetstream(nc)
      const out: Record<string, unknown> = {}
      const cases: Array<[string, Record<string, unknown>]> = [
        ["all", { deliver_policy: DeliverPolicy.All }],
        ["last", { deliver_policy: DeliverPolicy.Last }],
        ["new", { deliver_policy: DeliverPolicy.New }],
        ["seq3", { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 3 }],
        ["filterB", { deliver_policy: DeliverPolicy.All, filter_subject: "dp.b" }],
        ["lastPerSubject", { deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: "dp.*" }]
      ]
      for (const [name, cfg] of cases) {
        const ci = await jsm.consumers.add("DP", { durable_name: name, ack_policy: AckPolicy.Explicit, ...cfg })
        const c = await js.consumers.get("DP", name)
        const got: Array<number> = []
        const batch = await c.fetch({ max_messages: 10, expires: 1000 })
        for await (const m of batch) {
          got.push(m.seq)
          m.ack()
        }
        out[name] = { pendingAtCreate: ci.num_pending, got }
      }
      await jsm.streams.delete("DP")
      return out
    })
  },

  /** consume() keeps pulling as messages arrive. */
  async consumeContinuously(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "CC", subjects: ["cc"] })
      await jsm.consumers.add("CC", { durable_name: "d", ack_policy: AckPolicy.Explicit })
      const c = await jetstream(nc).consumers.get("CC", "d")
      const msgs = await c.consume({ max_messages: 10 })
      const got: Array<string> = []
      const done = (async () => {
        for await (const m of msgs) {
          got.push(dc.decode(m.data))
          m.ack()
          if (got.length === 25) break
        }
      })()
      const js = jetstream(nc)
      for (let i = 0; i < 25; i++) await js.publish("cc", sc.encode(`v${i}`))
      await done
      await sleep(100)
      const info = counters(await c.info())
      await jsm.streams.delete("CC")
      return { got: got.length, inOrder: got.every((v, i) => v === `v${i}`), info: { ...info, num_waiting: undefined } }
    })
  },

  /** Ordered consumer reads the whole stream in order. */
  async ordered(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "OC", subjects: ["oc.>"] })
      await seed(nc, ["oc.a", "oc.b", "oc.c", "oc.a"])
      const c = await jetstream(nc).consumers.get("OC")
      const msgs = await c.fetch({ max_messages: 4, expires: 1000 })
      const got: Array<string> = []
      for await (const m of msgs) got.push(`${m.subject}:${m.seq}`)
      await jsm.streams.delete("OC")
      return { got }
    })
  },

  /** Workqueue retention: acked messages are removed; a second unfiltered consumer is refused. */
  async workqueue(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "WQ", subjects: ["wq.*"], retention: "workqueue" as never })
      await seed(nc, ["wq.a", "wq.b", "wq.a"])
      await jsm.consumers.add("WQ", { durable_name: "w", ack_policy: AckPolicy.Explicit })
      const second = await failure(jsm.consumers.add("WQ", { durable_name: "w2", ack_policy: AckPolicy.Explicit }))
      const c = await jetstream(nc).consumers.get("WQ", "w")
      const batch = await c.fetch({ max_messages: 2, expires: 1000 })
      for await (const m of batch) await m.ackAck()
      const info = await jsm.streams.info("WQ")
      await jsm.streams.delete("WQ")
      return { second, messages: info.state.messages, first: info.state.first_seq }
    })
  },

  /** Interest retention: a message goes once every interested consumer acked it. */
  async interest(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "IN", subjects: ["in"], retention: "interest" as never })
      await seed(nc, ["in"])
      const before = (await jsm.streams.info("IN")).state.messages
      await jsm.consumers.add("IN", { durable_name: "a", ack_policy: AckPolicy.Explicit })
      await jsm.consumers.add("IN", { durable_name: "b", ack_policy: AckPolicy.Explicit })
      await seed(nc, ["in", "in"])
      const js = jetstream(nc)
      const a = await js.consumers.get("IN", "a")
      for await (const m of await a.fetch({ max_messages: 2, expires: 1000 })) await m.ackAck()
      const afterA = (await jsm.streams.info("IN")).state.messages
      const b = await js.consumers.get("IN", "b")
      for await (const m of await b.fetch({ max_messages: 1, expires: 1000 })) await m.ackAck()
      const afterB = (await jsm.streams.info("IN")).state.messages
      await jsm.streams.delete("IN")
      return { before, afterA, afterB }
    })
  },

  /** Push consumer delivering to a subject; double ack confirms. */
  async push(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PU", subjects: ["pu"] })
      await seed(nc, ["pu", "pu", "pu"])
      await jsm.consumers.add("PU", {
        durable_name: "p",
        ack_policy: AckPolicy.Explicit,
        deliver_subject: "deliver.pu"
      })
      const got: Array<string> = []
      const sub = nc.subscribe("deliver.pu", { max: 3 })
      for await (const m of sub) {
        got.push(`${m.subject}:${dc.decode(m.data)}:${m.reply?.split(".").slice(0, 4).join(".")}`)
        m.respond()
      }
      await nc.flush()
      await sleep(50)
      const info = counters(await jsm.consumers.info("PU", "p"))
      await jsm.streams.delete("PU")
      return { got, info }
    })
  },

  /** Consumer API errors. */
  async errors(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "ER", subjects: ["er.>"] })
      const missingStream = await failure(
        jsm.consumers.add("NOPE", { durable_name: "x", ack_policy: AckPolicy.Explicit })
      )
      const missingConsumer = await failure(jsm.consumers.info("ER", "nope"))
      const badFilter = await failure(
        jsm.consumers.add("ER", { durable_name: "f", ack_policy: AckPolicy.Explicit, filter_subject: "other" })
      )
      // From 2.10 that filter is accepted (Level210.ts): the consumer goes again, so both list the same.
      await jsm.consumers.delete("ER", "f").catch(() => undefined)
      await jsm.consumers.add("ER", { durable_name: "same", ack_policy: AckPolicy.Explicit })
      // nats.js's add() sends action "create", which a 2.10 server (and we) answer with 10148 for a
      // changed config; "update" reaches the update rules on both 2.9.10 and us.
      const changedPolicy = await failure(
        jsm.consumers.add("ER", {
          durable_name: "same",
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New
        }, "update" as never)
      )
      const names: Array<string> = []
      for await (const n of jsm.consumers.list("ER")) names.push(n.name)
      await jsm.streams.delete("ER")
      return { missingStream, missingConsumer, badFilter, changedPolicy, names }
    })
  }
}

export type ConsumerScenarioName = keyof typeof consumerScenarios
