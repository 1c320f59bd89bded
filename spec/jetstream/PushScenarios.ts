/**
 * Push consumers and pull status messages, through the official client and a raw inbox, for
 * comparison with nats-server: idle heartbeats, flow control, deliver groups, the client's push and
 * ordered push consumers, max_bytes pulls and the 409/408 statuses.
 */
import { AckPolicy, jetstream } from "@nats-io/jetstream"
import { createInbox } from "@nats-io/transport-node"
import { rawPull, sleep, statusOf, withJs } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

export const pushScenarios = {
  /** Pull statuses: no_wait, expiry with pending counts, max_bytes, max_waiting, heartbeats. */
  async pullStatuses(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "ST", subjects: ["st"] })
      for (let i = 0; i < 3; i++) await jetstream(nc).publish("st", sc.encode(`m${i}`))
      await jsm.consumers.add("ST", { durable_name: "d", ack_policy: AckPolicy.None, max_waiting: 1 })
      const noWaitSome = await rawPull(nc, "ST", "d", { batch: 5, no_wait: true }, 150)
      const noWaitNone = await rawPull(nc, "ST", "d", { batch: 5, no_wait: true }, 150)
      const expired = await rawPull(nc, "ST", "d", { batch: 4, expires: 200_000_000 }, 400)
      await jetstream(nc).publish("st", sc.encode("0123456789abcdef"))
      const tooSmall = await rawPull(nc, "ST", "d", { batch: 2, max_bytes: 10, expires: 200_000_000 }, 350)
      const inbox = createInbox()
      const first: Array<string> = []
      const s1 = nc.subscribe(inbox, { callback: (_e, m) => void first.push(statusOf(m)) })
      nc.publish("$JS.API.CONSUMER.MSG.NEXT.ST.d", sc.encode(JSON.stringify({ batch: 1, expires: 1_000_000_000 })), {
        reply: inbox
      })
      await nc.flush()
      const second = await rawPull(nc, "ST", "d", { batch: 1, expires: 1_000_000_000 }, 150)
      s1.unsubscribe()
      await jsm.consumers.add("ST", { durable_name: "hb", ack_policy: AckPolicy.None, deliver_policy: "new" as never })
      const heartbeats = await rawPull(nc, "ST", "hb", {
        batch: 1,
        expires: 1_200_000_000,
        idle_heartbeat: 500_000_000
      }, 1300)
      const bad = await rawPull(nc, "ST", "d", { batch: "x" }, 150)
      await jsm.streams.delete("ST")
      return { noWaitSome, noWaitNone, expired, tooSmall, second, heartbeats: heartbeats.slice(0, 2), bad }
    })
  },

  /** A push consumer with idle heartbeats: statuses carry the last consumer/stream sequences. */
  async idleHeartbeat(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "HB", subjects: ["hb"] })
      await jetstream(nc).publish("hb", sc.encode("one"))
      const got: Array<string> = []
      nc.subscribe("deliver.hb", { callback: (_e, m) => void got.push(statusOf(m)) })
      await nc.flush()
      await jsm.consumers.add("HB", {
        durable_name: "p",
        ack_policy: AckPolicy.None,
        deliver_subject: "deliver.hb",
        idle_heartbeat: 300_000_000
      })
      await sleep(800)
      await jsm.streams.delete("HB")
      return { first: got.slice(0, 2) }
    })
  },

  /** deliver_group spreads messages over a queue group; each message reaches one member. */
  async deliverGroup(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DG2", subjects: ["dg2"] })
      const a: Array<string> = []
      const b: Array<string> = []
      nc.subscribe("deliver.dg2", { queue: "workers", callback: (_e, m) => void a.push(dc.decode(m.data)) })
      nc.subscribe("deliver.dg2", { queue: "workers", callback: (_e, m) => void b.push(dc.decode(m.data)) })
      await nc.flush()
      await jsm.consumers.add("DG2", {
        durable_name: "g",
        ack_policy: AckPolicy.None,
        deliver_subject: "deliver.dg2",
        deliver_group: "workers"
      })
      for (let i = 0; i < 40; i++) await jetstream(nc).publish("dg2", sc.encode(`m${i}`))
      await sleep(200)
      await jsm.streams.delete("DG2")
      const all = [...a, ...b].sort()
      return { total: all.length, distinct: new Set(all).size }
    })
  },

  /** The client's push consumer and ordered push consumer, with flow control, over 3,000 messages. */
  async clientPushConsumers(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PC", subjects: ["pc.*"] })
      const js = jetstream(nc)
      for (let i = 0; i < 3000; i++) js.publish(`pc.${i % 3}`, sc.encode(`m${i}`)).catch(() => {})
      await sleep(300)
      while ((await jsm.streams.info("PC")).state.messages < 3000) await sleep(50)
      await jsm.consumers.add("PC", {
        durable_name: "push",
        ack_policy: AckPolicy.Explicit,
        deliver_subject: createInbox(),
        flow_control: true,
        idle_heartbeat: 1_000_000_000
      })
      const pc = await js.consumers.getPushConsumer("PC", "push")
      const msgs = await pc.consume()
      let n = 0
      let inOrder = true
      for await (const m of msgs) {
        if (m.seq !== n + 1) inOrder = false
        m.ack()
        if (++n === 3000) break
      }
      const ordered = await js.consumers.getPushConsumer("PC")
      const om = await ordered.consume()
      let k = 0
      for await (const m of om) {
        if (m.seq !== k + 1) inOrder = false
        if (++k === 3000) break
      }
      await sleep(100)
      const info = await jsm.consumers.info("PC", "push")
      await jsm.streams.delete("PC")
      return { pushed: n, ordered: k, inOrder, numAckPending: info.num_ack_pending, numPending: info.num_pending }
    })
  },

  /**
   * A push durable's deliver subject moves only while nobody listens on the old one: concurrent
   * subscribers to one durable (each with its own inbox) see one winner, the rest 10013.
   */
  async deliverSubjectMove(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "MV", subjects: ["mv"] })
      const sub = nc.subscribe("deliver.mv.a")
      await nc.flush()
      const create = async (deliver: string) => {
        const body = {
          stream_name: "MV",
          config: { durable_name: "mv", ack_policy: "explicit", deliver_subject: deliver }
        }
        const r = await nc.request("$JS.API.CONSUMER.DURABLE.CREATE.MV.mv", sc.encode(JSON.stringify(body)))
        const reply = JSON.parse(dc.decode(r.data)) as { error?: unknown; config?: { deliver_subject?: string } }
        return reply.error ?? reply.config?.deliver_subject
      }
      const first = await create("deliver.mv.a")
      const whileBound = await create("deliver.mv.b")
      sub.unsubscribe()
      await nc.flush()
      const afterUnsub = await create("deliver.mv.b")
      await jsm.streams.delete("MV")
      return { first, whileBound, afterUnsub }
    })
  }
}
