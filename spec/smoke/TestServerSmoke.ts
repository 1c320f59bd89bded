/**
 * Smoke leg for `effect-jetstream/testing` inside Bun and Deno (run directly by the runtime, as a
 * Bun or Deno test suite would): start the in-process server, create a stream, publish with dedup
 * and fetch with nats.js v3, move the test clock past max_age, close. Exits non-zero on failure.
 * Usage: bun spec/smoke/TestServerSmoke.ts | deno run --allow-all spec/smoke/TestServerSmoke.ts
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as assert from "node:assert/strict"
import { startTestServer } from "../../src/testing/index.ts"

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node"
const srv = await startTestServer({ clock: "test" })
try {
  const nc = await connect({ servers: srv.url })
  const jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "SMOKE", subjects: ["smoke"], max_age: 10_000_000_000 })
  const js = jetstream(nc)
  assert.equal((await js.publish("smoke", "a", { msgID: "1" })).seq, 1)
  assert.equal((await js.publish("smoke", "a", { msgID: "1" })).duplicate, true)
  await jsm.consumers.add("SMOKE", { durable_name: "c", ack_policy: AckPolicy.Explicit })
  const m = await (await js.consumers.get("SMOKE", "c")).next({ expires: 1000 })
  assert.equal(m?.string(), "a")
  m?.ack()
  await srv.clock!.adjust("11 seconds")
  assert.equal((await jsm.streams.info("SMOKE")).state.messages, 0)
  await nc.close()
  console.log(`  ok   ${runtime}: startTestServer (JetStream, dedup, fetch, test clock)`)
} finally {
  await srv.close()
}
