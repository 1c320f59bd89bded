/**
 * How a no-wait pull ends once the stream has nothing more for it, as nats-server 2.11.11 / 2.12.2
 * (consumer.go `processWaiting`): `404 No Messages` whether it got messages or not, with or
 * without an expiry, where 2.9.10 ended a partly filled one with `408 Request Timeout` and the
 * pending counts (Push.spec.ts keeps that comparison through Level211.ts). nats.c's
 * JetStreamSubscribePullAsync gates on the version for it.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { rawPull } from "../support/Js.ts"

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "NW", subjects: ["nw"], storage: "memory" as never })
  for (let i = 1; i <= 4; i++) await jetstream(nc).publish("nw", `m${i}`)
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

const consumer = async (name: string) =>
  (await jetstreamManager(nc)).consumers.add("NW", { durable_name: name, ack_policy: AckPolicy.None })

describe("a no-wait pull that got some of its batch", () => {
  it("ends with 404 No Messages and no pending counts, without an expiry", async () => {
    await consumer("a")
    expect(await rawPull(nc, "NW", "a", { batch: 10, no_wait: true }, 200)).toEqual([
      "msg:m1",
      "msg:m2",
      "msg:m3",
      "msg:m4",
      "404 No Messages"
    ])
    // Nothing left: refused at once with the same status.
    expect(await rawPull(nc, "NW", "a", { batch: 10, no_wait: true }, 150)).toEqual(["404 No Messages"])
  })

  it("ends with 404 No Messages with an expiry too", async () => {
    await consumer("b")
    expect(await rawPull(nc, "NW", "b", { batch: 6, no_wait: true, expires: 2_000_000_000 }, 200)).toEqual([
      "msg:m1",
      "msg:m2",
      "msg:m3",
      "msg:m4",
      "404 No Messages"
    ])
  })

  it("a filled one ends with its last message, no status", async () => {
    await consumer("c")
    expect(await rawPull(nc, "NW", "c", { batch: 2, no_wait: true }, 200)).toEqual(["msg:m1", "msg:m2"])
  })
})
