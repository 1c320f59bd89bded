/**
 * Native dead letters (consumer metadata `dead_letter`, our extension; consumer/DeadLetter.ts)
 * through the official client: a message that reaches max_deliver or is terminated lands once in a
 * stream capturing the subject, with its payload, headers and the why/where headers; the
 * advisories still fire; bad subjects are refused; and a `kill -9` between the last delivery and
 * the give-up still ends with exactly one copy.
 *
 * nats.js refuses to send consumer `metadata` to a server below 2.10 (we advertise 2.9.10), so the
 * consumer is created with a raw `$JS.API.CONSUMER.DURABLE.CREATE` request, as nats.go (which does
 * not gate) would send it; everything else goes through the client.
 */
import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"
import { startCli } from "../support/Process.ts"
import { contents, waitFor } from "./mirrors/MirrorScenarios.ts"

/** CONSUMER.DURABLE.CREATE as a raw request: "ok" or "<code> <err_code> <description>". */
const createRaw = async (nc: NatsConnection, name: string, config: Record<string, unknown>) => {
  const r = await nc.request(
    `$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.${name}`,
    JSON.stringify({ stream_name: "ORDERS", config: { durable_name: name, ack_policy: "explicit", ...config } })
  )
  const body = JSON.parse(new TextDecoder().decode(r.data)) as {
    error?: { code: number; err_code: number; description: string }
  }
  return body.error === undefined ? "ok" : `${body.error.code} ${body.error.err_code} ${body.error.description}`
}

const setup = async (nc: NatsConnection, jsm: JetStreamManager, maxDeliver: number, ackWaitMs: number) => {
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*"] })
  await jsm.streams.add({ name: "DLQ", subjects: ["dlq.>"] })
  const created = await createRaw(nc, "billing", {
    max_deliver: maxDeliver,
    ack_wait: ackWaitMs * 1_000_000,
    metadata: { dead_letter: "dlq.orders" }
  })
  assert.strictEqual(created, "ok")
}

describe("dead letters", () => {
  let broker: RunningBroker
  let nc: NatsConnection
  let jsm: JetStreamManager
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
    nc = await connect({ servers: broker.url, reconnect: false })
    jsm = await jetstreamManager(nc)
    await setup(nc, jsm, 2, 300)
  })
  afterAll(async () => {
    await nc.close()
    await broker.stop()
  })

  it("a message past max_deliver is copied once to the dead-letter stream; the advisory still fires", async () => {
    const advisories: Array<string> = []
    const sub = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.billing", {
      callback: (_e, m) => void advisories.push(m.subject)
    })
    const js = jetstream(nc)
    const h = headers()
    h.set("X-Order", "42")
    await js.publish("orders.new", "poison", { headers: h, msgID: "order-42" })
    const c = await js.consumers.get("ORDERS", "billing")
    for (let i = 0; i < 2; i++) {
      const m = await c.next({ expires: 2000 })
      assert.strictEqual(m?.info.deliveryCount, i + 1)
    }
    // As for the advisory, the give-up happens when the consumer next tries to deliver (a pull waits).
    assert.strictEqual(await c.next({ expires: 1000 }), null)
    const dlq = await waitFor(jsm, "DLQ", (si) => si.state.messages === 1)
    await sleep(700) // more ack waits: no second copy
    assert.strictEqual((await jsm.streams.info("DLQ")).state.messages, 1)
    const [copy] = (await contents(jsm, "DLQ")) as Array<
      { subject: string; headers: Array<[string, string]>; data: string }
    >
    assert.strictEqual(copy!.subject, "dlq.orders")
    assert.strictEqual(copy!.data, "poison")
    assert.deepStrictEqual(copy!.headers, [
      ["X-Order", "42"],
      ["Nats-Dead-Letter-Msg-Id", "order-42"],
      ["Nats-Msg-Id", "dlq:ORDERS:billing:1:max_deliveries"],
      ["Nats-Dead-Letter-Reason", "max_deliveries"],
      ["Nats-Dead-Letter-Stream", "ORDERS"],
      ["Nats-Dead-Letter-Consumer", "billing"],
      ["Nats-Dead-Letter-Subject", "orders.new"],
      ["Nats-Dead-Letter-Sequence", "1"],
      ["Nats-Dead-Letter-Deliveries", "2"]
    ])
    assert.strictEqual(dlq.state.messages, 1)
    assert.deepStrictEqual(advisories, ["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.billing"])
    const info = await jsm.consumers.info("ORDERS", "billing")
    assert.strictEqual(info.num_ack_pending, 0)
    sub.unsubscribe()
  })

  it("a terminated message is copied with reason terminated and counts as done", async () => {
    const js = jetstream(nc)
    await js.publish("orders.bad", "broken")
    const c = await js.consumers.get("ORDERS", "billing")
    const m = await c.next({ expires: 2000 })
    assert.strictEqual(m?.seq, 2)
    m!.term()
    await waitFor(jsm, "DLQ", (si) => si.state.messages === 2)
    const copies = (await contents(jsm, "DLQ")) as Array<{ headers: Array<[string, string]>; data: string }>
    const reason = copies[1]!.headers.find(([k]) => k === "Nats-Dead-Letter-Reason")
    assert.deepStrictEqual([copies[1]!.data, reason?.[1]], ["broken", "terminated"])
    await sleep(500)
    const info = await jsm.consumers.info("ORDERS", "billing")
    assert.strictEqual(info.num_ack_pending, 0)
    assert.strictEqual(info.ack_floor.stream_seq, 2)
  })

  it("refuses a dead-letter subject with wildcards or one the consumer itself would take", async () => {
    const add = (dead_letter: string, filter?: string) =>
      createRaw(nc, "x", { ...(filter !== undefined ? { filter_subject: filter } : {}), metadata: { dead_letter } })
    assert.strictEqual(
      await add("dlq.*"),
      "500 10012 consumer metadata dead_letter must be a subject without wildcards"
    )
    assert.strictEqual(
      await add("orders.dlq"),
      "500 10012 consumer metadata dead_letter would be consumed by this consumer again"
    )
    assert.strictEqual(await add("orders.dlq", "orders.new"), "ok")
  })
})

describe("dead letters across kill -9", () => {
  it("a kill -9 after the last delivery, before the give-up, still ends with exactly one copy", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-dlq-kill-"))
    try {
      let broker = await startCli(["-js", "-sd", dir])
      let nc = await connect({ servers: `127.0.0.1:${broker.port}`, reconnect: false })
      let jsm = await jetstreamManager(nc)
      await setup(nc, jsm, 1, 1000)
      const js = jetstream(nc)
      await js.publish("orders.new", "poison")
      const m = await (await js.consumers.get("ORDERS", "billing")).next({ expires: 2000 })
      assert.strictEqual(m?.info.deliveryCount, 1)
      // The last delivery is journaled; its give-up (after the 1 s ack wait) has not happened yet.
      await sleep(100)
      await nc.close()
      await broker.stop("SIGKILL")
      broker = await startCli(["-js", "-sd", dir])
      nc = await connect({ servers: `127.0.0.1:${broker.port}`, reconnect: false })
      jsm = await jetstreamManager(nc)
      const again = await (await jetstream(nc).consumers.get("ORDERS", "billing")).next({ expires: 2500 })
      assert.strictEqual(again, null)
      await waitFor(jsm, "DLQ", (si) => si.state.messages === 1)
      // And once more, right after the copy: the give-up or the duplicate window keeps it single.
      await nc.close()
      await broker.stop("SIGKILL")
      broker = await startCli(["-js", "-sd", dir])
      nc = await connect({ servers: `127.0.0.1:${broker.port}`, reconnect: false })
      jsm = await jetstreamManager(nc)
      assert.strictEqual(await (await jetstream(nc).consumers.get("ORDERS", "billing")).next({ expires: 2500 }), null)
      assert.strictEqual((await jsm.streams.info("DLQ")).state.messages, 1)
      assert.strictEqual((await jsm.consumers.info("ORDERS", "billing")).num_ack_pending, 0)
      await nc.close()
      await broker.stop()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
