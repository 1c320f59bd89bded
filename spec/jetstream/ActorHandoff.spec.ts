/**
 * A publish's PubAck and what it sets off in other actors leave together (core/BrokerScheduler.ts): a push
 * consumer's delivery of the message is written in the same turn as the PubAck, so a client that acts on the
 * PubAck (nats.c drains its subscription right after `js_Publish`) has the message already. With a loop turn
 * between the stream actor and the consumer actor, the client's UNSUB could be read first and the message
 * was delivered to nobody (nats.c JetStreamSubscribeSync "Drain does not delete consumer").
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { describe, expect, it } from "vitest"
import { apiSuite } from "../support/JsApi.ts"

const suite = apiSuite()

describe("actor hand-off in one turn", () => {
  it("a push consumer's delivery has reached the publisher's connection when its PubAck resolves", async () => {
    const nc = suite.nc
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "HAND", subjects: ["hand.>"] })
    await jsm.consumers.add("HAND", { durable_name: "P", deliver_subject: "hand-deliver", ack_policy: AckPolicy.None })
    let received = 0
    nc.subscribe("hand-deliver", { callback: () => void received++ })
    await nc.flush()
    const js = jetstream(nc)
    const behind: Array<number> = []
    for (let i = 1; i <= 50; i++) {
      await js.publish("hand.x", `m${i}`)
      if (received !== i) behind.push(i)
    }
    expect(behind).toEqual([])
    expect(received).toBe(50)
  })
})
