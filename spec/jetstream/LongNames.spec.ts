import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

describe("255-byte stream and consumer names on the file store", () => {
  it("creates, persists and recovers them", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-long-"))
    const stream = "s".repeat(255)
    const consumer = "c".repeat(255)
    try {
      let broker = await startBroker({ jetstream: true, storeDir })
      let nc = await connect({ servers: broker.url })
      let jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: stream, subjects: ["long"] })
      await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit })
      expect((await jetstream(nc).publish("long", new Uint8Array(1))).seq).toBe(1)
      await nc.close()
      await broker.stop()
      broker = await startBroker({ jetstream: true, storeDir })
      nc = await connect({ servers: broker.url })
      jsm = await jetstreamManager(nc)
      expect((await jsm.streams.info(stream)).state.messages).toBe(1)
      expect((await jsm.consumers.info(stream, consumer)).num_pending).toBe(1)
      await nc.close()
      await broker.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
