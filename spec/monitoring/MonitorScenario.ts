/**
 * The monitoring scenario shared by the endpoint tests and the differential test: one stream with
 * two consumers in known states, and a client connection that stays open with subscriptions.
 */
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"

export interface Scenario {
  readonly nc: NatsConnection
  close(): Promise<void>
}

/**
 * Stream ORDERS (orders.>, memory storage: its byte count is the same in every store implementation)
 * with 5 messages of 10 bytes; pull consumer "worker" fetched 3,
 * acked 1 (so num_ack_pending 2, num_pending 2); consumer "idle" untouched (num_pending 5).
 * The connection "monitor-test" also holds two plain subscriptions (`mon.a`, `mon.b` in queue `q`).
 */
export const runScenario = async (url: string): Promise<Scenario> => {
  const nc = await connect({ servers: url, name: "monitor-test" })
  nc.subscribe("mon.a")
  nc.subscribe("mon.b", { queue: "q" })
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], storage: StorageType.Memory })
  const js = jetstream(nc)
  for (let i = 1; i <= 5; i++) {
    await js.publish(`orders.${i % 2 === 0 ? "b" : "a"}`, `payload-${String(i).padStart(2, "0")}`)
  }
  await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit })
  await jsm.consumers.add("ORDERS", { durable_name: "idle", ack_policy: AckPolicy.Explicit })
  const c = await js.consumers.get("ORDERS", "worker")
  const batch = await c.fetch({ max_messages: 3, expires: 1000 })
  let first = true
  for await (const m of batch) {
    if (first) m.ack()
    first = false
  }
  await nc.flush()
  // Wait until the ack was processed so every server reports the same counters.
  for (let i = 0; i < 50; i++) {
    const info = await jsm.consumers.info("ORDERS", "worker")
    if (info.num_ack_pending === 2) break
    await new Promise((r) => setTimeout(r, 20))
  }
  return { nc, close: () => nc.close() }
}
