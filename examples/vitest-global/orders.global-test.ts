/**
 * Tests of a project that uses the global setup: the server's URL arrives through `inject` and
 * `process.env.NATS_URL`; every test file of the run talks to the same server.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { expect, inject, it } from "vitest"

declare module "vitest" {
  export interface ProvidedContext {
    natsUrl: string
  }
}

it("reaches the shared server by inject('natsUrl') and NATS_URL", async () => {
  expect(inject("natsUrl")).toBe(process.env.NATS_URL)
  const nc = await connect({ servers: inject("natsUrl") })
  await (await jetstreamManager(nc)).streams.add({ name: "GLOBAL", subjects: ["global"] })
  expect((await jetstream(nc).publish("global", "x")).seq).toBe(1)
  await nc.close()
})
