/**
 * `effect-jetstream/testing`: a NATS + JetStream server in your test process, no Effect needed.
 *
 * @example
 * import { startTestServer } from "effect-jetstream/testing"
 * import { connect } from "@nats-io/transport-node"
 *
 * const srv = await startTestServer({ storage: "memory", clock: "test" })
 * const nc = await connect({ servers: srv.url })
 * // ... publish, consume; then move the broker's time: await srv.clock!.adjust("31 seconds")
 * await nc.close()
 * await srv.close()
 *
 * @module
 */
export { startTestServer, type TestServer, type TestServerClock, TestServerOptions } from "./TestServer.ts"
