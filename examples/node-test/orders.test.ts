/**
 * Testing an application against the in-process broker with Node's own test runner and the legacy
 * `nats` v2 client: no vitest, no Effect code, no Docker. Node 24 runs this TypeScript directly:
 *
 *   node --test examples/node-test/orders.test.ts
 *
 * (From the npm package the import is `effect-jetstream/testing`.)
 */
import { AckPolicy, connect, type NatsConnection, StringCodec } from "nats"
import assert from "node:assert/strict"
import { after, before, test } from "node:test"
import { startTestServer, type TestServer } from "../../src/testing/index.ts"

const sc = StringCodec()

/** The application code under test: reserve stock for an order, once per order id. */
const reserve = async (nc: NatsConnection, orderId: string, sku: string) => {
  const ack = await nc.jetstream().publish(`stock.reserve.${sku}`, sc.encode(orderId), { msgID: `reserve-${orderId}` })
  return ack.duplicate ? "already-reserved" : "reserved"
}

let srv: TestServer
let nc: NatsConnection

before(async () => {
  srv = await startTestServer({ clock: "test" })
  nc = await connect({ servers: srv.url })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: "STOCK", subjects: ["stock.>"], duplicate_window: 60_000_000_000 })
  await jsm.consumers.add("STOCK", {
    durable_name: "warehouse",
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000_000_000
  })
})

after(async () => {
  await nc.close()
  await srv.close()
})

test("a retried reservation is stored once", async () => {
  assert.equal(await reserve(nc, "o-1", "apple"), "reserved")
  assert.equal(await reserve(nc, "o-1", "apple"), "already-reserved")
  const info = await (await nc.jetstreamManager()).streams.info("STOCK")
  assert.equal(info.state.messages, 1)
})

test("a reservation the warehouse does not ack comes back after ack_wait", async () => {
  const warehouse = await nc.jetstream().consumers.get("STOCK", "warehouse")
  const first = await warehouse.next({ expires: 1000 })
  assert.equal(first === null ? undefined : sc.decode(first.data), "o-1")
  // 31 seconds pass on the broker's clock, instantly.
  await srv.clock!.adjust("31 seconds")
  const again = await warehouse.next({ expires: 1000 })
  assert.equal(again?.info.redeliveryCount, 2)
  again?.ack()
})
