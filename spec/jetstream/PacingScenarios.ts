/**
 * replay_policy original, rate_limit_bps and sample_freq through the official client, reduced to
 * facts that do not depend on timer jitter, for comparison with nats-server.
 */
import { AckPolicy, jetstream, ReplayPolicy } from "@nats-io/jetstream"
import { createInbox } from "@nats-io/transport-node"
import { sleep, withJs } from "../support/Js.ts"

export const pacingScenarios = {
  /** Deliveries are spaced like the original publishes (300 ms apart), not sent at once. */
  async replayOriginal(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RO", subjects: ["ro"] })
      const js = jetstream(nc)
      for (let i = 0; i < 3; i++) {
        await js.publish("ro", new Uint8Array(1))
        if (i < 2) await sleep(300)
      }
      const at: Array<number> = []
      const deliver = createInbox()
      nc.subscribe(deliver, { callback: () => void at.push(Date.now()) })
      await jsm.consumers.add("RO", {
        durable_name: "r",
        ack_policy: AckPolicy.None,
        deliver_subject: deliver,
        replay_policy: ReplayPolicy.Original
      })
      const deadline = Date.now() + 3000
      while (at.length < 3 && Date.now() < deadline) await sleep(20)
      await jsm.streams.delete("RO")
      const gaps = at.slice(1).map((t, i) => t - at[i]!)
      return { delivered: at.length, spaced: gaps.every((g) => g >= 200 && g <= 600) }
    })
  },

  /** Limited to 8 Mbit/s (1 MB/s) with a 1 MiB burst, 1.6 MB arrive in roughly 0.6 s, not at once. */
  async rateLimit(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RL", subjects: ["rl"] })
      const js = jetstream(nc)
      for (let i = 0; i < 80; i++) await js.publish("rl", new Uint8Array(20_000))
      const at: Array<number> = []
      const deliver = createInbox()
      nc.subscribe(deliver, { callback: () => void at.push(Date.now()) })
      const start = Date.now()
      await jsm.consumers.add("RL", {
        durable_name: "r",
        ack_policy: AckPolicy.None,
        deliver_subject: deliver,
        rate_limit_bps: 8_000_000
      })
      const deadline = Date.now() + 6000
      while (at.length < 80 && Date.now() < deadline) await sleep(20)
      await jsm.streams.delete("RL")
      const took = at.length === 80 ? at[79]! - start : Infinity
      return { delivered: at.length, paced: took >= 350 && took <= 3000 }
    })
  },

  /** sample_freq 100% publishes a consumer_ack metric for an ack. */
  async sampleFrequency(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SF", subjects: ["sf"] })
      await jetstream(nc).publish("sf", new Uint8Array(1))
      const metrics: Array<string> = []
      nc.subscribe("$JS.EVENT.METRIC.CONSUMER.ACK.SF.s", {
        callback: (_e, m) => {
          const j = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>
          metrics.push(
            `${m.subject} ${j.type} ${j.stream} ${j.consumer} ${j.consumer_seq} ${j.stream_seq} ${j.deliveries} ${typeof j
              .ack_time}`
          )
        }
      })
      await jsm.consumers.add("SF", { durable_name: "s", ack_policy: AckPolicy.Explicit, sample_freq: "100%" })
      const c = await jetstream(nc).consumers.get("SF", "s")
      const m = await c.next({ expires: 1000 })
      await m?.ackAck()
      await sleep(100)
      await jsm.streams.delete("SF")
      return { metrics }
    })
  }
}

export type PacingScenarioName = keyof typeof pacingScenarios
