import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

describe("JetStream domain", () => {
  it("answers on $JS.<domain>.API, reports the domain in INFO, account info and PubAcks", async () => {
    const broker = await startBroker({ jetstream: true, domain: "hub" })
    try {
      const nc = await connect({ servers: broker.url })
      expect((nc.info as { domain?: string }).domain).toBe("hub")
      const jsm = await jetstreamManager(nc, { domain: "hub" })
      const account = await jsm.getAccountInfo()
      expect(account.domain).toBe("hub")
      await jsm.streams.add({ name: "D", subjects: ["d"] })
      const ack = await jetstream(nc, { domain: "hub" }).publish("d", new TextEncoder().encode("x"))
      expect([ack.stream, ack.seq, ack.domain]).toEqual(["D", 1, "hub"])
      const raw = await nc.request("d", new Uint8Array(0))
      expect(new TextDecoder().decode(raw.data)).toBe(`{"stream":"D", "domain":"hub", "seq":2}`)
      await nc.close()
    } finally {
      await broker.stop()
    }
  })
})
