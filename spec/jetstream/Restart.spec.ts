import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

describe("file streams survive a broker restart", () => {
  it("keeps configuration, messages, deleted sequences and the duplicate window", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-restart-"))
    try {
      let broker = await startBroker({ jetstream: true, storeDir })
      let nc = await connect({ servers: broker.url })
      let jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "KEEP", subjects: ["keep.>"], max_msgs_per_subject: 3, description: "kept" })
      await jsm.streams.add({ name: "MEM", subjects: ["mem"], storage: "memory" as never })
      let js = jetstream(nc)
      for (let i = 1; i <= 5; i++) await js.publish(`keep.${i % 2}`, sc.encode(`v${i}`), { msgID: `id-${i}` })
      await jsm.streams.deleteMessage("KEEP", 2)
      const before = await jsm.streams.info("KEEP", { deleted_details: true })
      await nc.close()
      await broker.stop()

      broker = await startBroker({ jetstream: true, storeDir })
      nc = await connect({ servers: broker.url })
      jsm = await jetstreamManager(nc)
      js = jetstream(nc)
      const after = await jsm.streams.info("KEEP", { deleted_details: true })
      expect(after.config).toEqual(before.config)
      expect(after.created).toEqual(before.created)
      expect(after.state).toEqual(before.state)
      expect(after.state).toMatchObject({ messages: 4, first_seq: 1, last_seq: 5, deleted: [2], num_deleted: 1 })
      // The duplicate window came back from the stored Nats-Msg-Id headers.
      const dup = await js.publish("keep.1", sc.encode("again"), { msgID: "id-5" })
      expect([dup.seq, dup.duplicate]).toEqual([5, true])
      const next = await js.publish("keep.1", sc.encode("v6"), { msgID: "id-6" })
      expect([next.seq, next.duplicate]).toEqual([6, false])
      const m = await jsm.streams.getMessage("KEEP", { seq: 3 })
      expect(dc.decode(m!.data)).toBe("v3")
      // Memory streams do not survive a restart, as in nats-server.
      const names: Array<string> = []
      for await (const n of jsm.streams.names()) names.push(n)
      expect(names).toEqual(["KEEP"])
      await nc.close()
      await broker.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
