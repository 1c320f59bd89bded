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

  it("keeps a durable consumer with several filter subjects, its filters and its progress", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-restart-"))
    const createBody = JSON.stringify({
      stream_name: "MULTI",
      config: { durable_name: "two", ack_policy: "explicit", filter_subjects: ["m.a", "m.c"] }
    })
    try {
      let broker = await startBroker({ jetstream: true, storeDir })
      let nc = await connect({ servers: broker.url })
      let jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "MULTI", subjects: ["m.*"] })
      const js = jetstream(nc)
      for (const s of ["m.a", "m.b", "m.c", "m.b", "m.a"]) await js.publish(s, sc.encode(s))
      // nats.js refuses to send filter_subjects to a 2.9 server, so the consumer is created raw.
      const created = JSON.parse(
        dc.decode((await nc.request("$JS.API.CONSUMER.DURABLE.CREATE.MULTI.two", createBody)).data)
      )
      expect(created.config.filter_subjects).toEqual(["m.a", "m.c"])
      const first = await (await js.consumers.get("MULTI", "two")).next()
      expect([first!.subject, first!.seq]).toEqual(["m.a", 1])
      await first!.ackAck()
      await nc.close()
      await broker.stop()

      broker = await startBroker({ jetstream: true, storeDir })
      nc = await connect({ servers: broker.url })
      jsm = await jetstreamManager(nc)
      const info = await jsm.consumers.info("MULTI", "two")
      expect(info.config.filter_subjects).toEqual(["m.a", "m.c"])
      expect([info.num_pending, info.ack_floor.stream_seq]).toEqual([2, 1])
      const c = await jetstream(nc).consumers.get("MULTI", "two")
      const rest: Array<string> = []
      for (let i = 0; i < 2; i++) {
        const m = await c.next()
        rest.push(`${m!.subject}@${m!.seq}`)
        m!.ack()
      }
      expect(rest).toEqual(["m.c@3", "m.a@5"])
      await nc.close()
      await broker.stop()
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
