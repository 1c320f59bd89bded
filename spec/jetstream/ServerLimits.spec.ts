import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

describe("server-wide store limits", () => {
  it("rejects publishes once max_memory_store is used up, with nats-server's insufficient resources error", async () => {
    const broker = await startBroker({ jetstream: true, maxMemoryStore: 2_000 })
    try {
      const nc = await connect({ servers: broker.url })
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "SMALL", subjects: ["small"], storage: "memory" as never })
      const js = jetstream(nc)
      let accepted = 0
      let error = ""
      for (let i = 0; i < 100 && error === ""; i++) {
        try {
          await js.publish("small", new Uint8Array(100))
          accepted++
        } catch (e) {
          const api = (e as { apiError?: () => { code: number; err_code: number; description: string } }).apiError?.()
          error = api ? `${api.code} ${api.err_code} ${api.description}` : String(e)
        }
      }
      // Each message counts 5 + 100 + 16 = 121 bytes: 17 fit under 2,000, the 18th crosses it.
      expect(accepted).toBe(17)
      expect(error).toBe("503 10023 insufficient resources")
      // File streams are not limited by the memory budget.
      await jsm.streams.add({ name: "DISK", subjects: ["disk"] })
      expect((await js.publish("disk", new Uint8Array(100))).seq).toBe(1)
      await nc.close()
    } finally {
      await broker.stop()
    }
  })
})
