/**
 * `+TERM <reason>` (nats-server 2.11, consumer.go `processAckMsg` / `processTerm`): the reason,
 * space-trimmed, is the `reason` member of the MSG_TERMINATED advisory (jetstream_events.go
 * `JSConsumerDeliveryTerminatedAdvisory`, omitempty); nats.js's test "jetstream - term reason"
 * sends it with `term(reason)`. Ours only: nats-server 2.9.10's advisory has no reason.
 */
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

type Json = Record<string, unknown>

/** Three messages fetched from a fresh consumer; `act` terms them; returns the advisories' bodies. */
const terminated = async (stream: string, act: (ms: Array<JsMsg>) => void): Promise<Array<Json>> => {
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: stream, subjects: [stream], storage: "memory" as never })
  const js = jetstream(nc)
  for (let i = 1; i <= 3; i++) await js.publish(stream, `m${i}`)
  await jsm.consumers.add(stream, { durable_name: "C", ack_policy: AckPolicy.Explicit })
  const got: Array<Json> = []
  const sub = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${stream}.C`, {
    callback: (_e, m) => void got.push(m.json<Json>())
  })
  const c = await js.consumers.get(stream, "C")
  const ms: Array<JsMsg> = []
  for await (const m of await c.fetch({ max_messages: 3, expires: 1000 })) ms.push(m)
  act(ms)
  await nc.flush()
  await sleep(200)
  sub.unsubscribe()
  return got.map(({ id, timestamp, ...rest }) => {
    expect(typeof id).toBe("string")
    expect(typeof timestamp).toBe("string")
    return rest
  })
}

const advisory = (stream: string, seq: number, reason?: string): Json => ({
  type: "io.nats.jetstream.advisory.v1.terminated",
  stream,
  consumer: "C",
  consumer_seq: seq,
  stream_seq: seq,
  deliveries: 1,
  ...(reason === undefined ? {} : { reason })
})

describe("the MSG_TERMINATED advisory", () => {
  it("carries the reason nats.js term(reason) sends, trimmed; none without one", async () => {
    const got = await terminated("TR", (ms) => {
      ms[0]!.term("bad payload")
      ms[1]!.term()
      // A raw body, as nats-server reads it: Go's TrimSpace around the text after +TERM.
      // (The ack subject: nats.js's JsMsg implementation has a `reply` getter its interface omits.)
      nc.publish((ms[2] as unknown as { readonly reply: string }).reply, "+TERM \t spaced reason \r\n")
    })
    expect(got).toEqual([advisory("TR", 1, "bad payload"), advisory("TR", 2), advisory("TR", 3, "spaced reason")])
  })

  it("is sent once and the termed messages are not redelivered", async () => {
    const got = await terminated("TS", (ms) => {
      for (const m of ms) m.term("done with it")
    })
    expect(got.map((a) => [a.stream_seq, a.reason])).toEqual([[1, "done with it"], [2, "done with it"], [
      3,
      "done with it"
    ]])
    const info = await (await jetstreamManager(nc)).consumers.info("TS", "C")
    expect([info.num_ack_pending, info.num_redelivered, info.ack_floor.stream_seq]).toEqual([0, 0, 3])
  })
})
