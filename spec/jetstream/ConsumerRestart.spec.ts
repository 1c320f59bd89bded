import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startCli } from "../support/Process.ts"

const sc = new TextEncoder()

describe("durable consumer progress survives kill -9", () => {
  it("keeps every confirmed ack and redelivers only what was not acked", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-consumer-kill-"))
    try {
      let broker = await startCli(["-js", "-sd", storeDir])
      let nc = await connect({ servers: `127.0.0.1:${broker.port}` })
      let jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "JOBS", subjects: ["jobs"] })
      const js = jetstream(nc)
      for (let i = 1; i <= 6; i++) await js.publish("jobs", sc.encode(`job${i}`))
      await jsm.consumers.add("JOBS", { durable_name: "w", ack_policy: AckPolicy.Explicit, ack_wait: 1_000_000_000 })
      const c = await js.consumers.get("JOBS", "w")
      const confirmed: Array<number> = []
      for await (const m of await c.fetch({ max_messages: 6, expires: 2000 })) {
        // 1, 2 and 4 are acked with confirmation; 3, 5 and 6 are left pending.
        if (m.seq === 1 || m.seq === 2 || m.seq === 4) {
          if (await m.ackAck()) confirmed.push(m.seq)
        }
      }
      expect(confirmed).toEqual([1, 2, 4])
      const before = await c.info()
      expect([before.num_ack_pending, before.delivered.consumer_seq, before.ack_floor.stream_seq]).toEqual([3, 6, 2])
      nc.close().catch(() => {})
      // No graceful shutdown: the process dies at once.
      expect(await broker.stop("SIGKILL")).toBe(null)

      broker = await startCli(["-js", "-sd", storeDir])
      nc = await connect({ servers: `127.0.0.1:${broker.port}` })
      jsm = await jetstreamManager(nc)
      const after = await jsm.consumers.info("JOBS", "w")
      expect({
        delivered: [after.delivered.consumer_seq, after.delivered.stream_seq],
        ack_floor: [after.ack_floor.consumer_seq, after.ack_floor.stream_seq],
        num_ack_pending: after.num_ack_pending,
        num_pending: after.num_pending
      }).toEqual({ delivered: [6, 6], ack_floor: [2, 2], num_ack_pending: 3, num_pending: 0 })
      const again = await jetstream(nc).consumers.get("JOBS", "w")
      const redelivered: Array<string> = []
      for await (const m of await again.fetch({ max_messages: 3, expires: 3000 })) {
        redelivered.push(`${m.seq}:${m.info.deliveryCount}`)
        await m.ackAck()
      }
      expect(redelivered).toEqual(["3:2", "5:2", "6:2"])
      const end = await jsm.consumers.info("JOBS", "w")
      expect([end.num_ack_pending, end.ack_floor.stream_seq, end.num_redelivered]).toEqual([0, 6, 0])
      await nc.close()
      expect(await broker.stop()).toBe(0)
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })

  it("a deliver_policy new durable that delivered nothing yet keeps its start across kill -9", async () => {
    // nats-server stores the starting sequence when it creates the consumer (SetStarting), so a
    // restart resumes from it instead of resolving "new" again past the messages queued meanwhile.
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-consumer-new-"))
    try {
      let broker = await startCli(["-js", "-sd", storeDir])
      let nc = await connect({ servers: `127.0.0.1:${broker.port}` })
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "NEWS", subjects: ["news"] })
      const js = jetstream(nc)
      await js.publish("news", sc.encode("before"))
      await jsm.consumers.add("NEWS", {
        durable_name: "late",
        ack_policy: AckPolicy.Explicit,
        deliver_policy: "new" as never
      })
      for (const t of ["one", "two", "three"]) await js.publish("news", sc.encode(t))
      nc.close().catch(() => {})
      expect(await broker.stop("SIGKILL")).toBe(null)

      broker = await startCli(["-js", "-sd", storeDir])
      nc = await connect({ servers: `127.0.0.1:${broker.port}` })
      const info = await (await jetstreamManager(nc)).consumers.info("NEWS", "late")
      expect(info.num_pending).toBe(3)
      const c = await jetstream(nc).consumers.get("NEWS", "late")
      const got: Array<string> = []
      for await (const m of await c.fetch({ max_messages: 3, expires: 3000 })) {
        got.push(`${m.seq}:${m.string()}`)
        m.ack()
      }
      expect(got).toEqual(["2:one", "3:two", "4:three"])
      await nc.close()
      expect(await broker.stop()).toBe(0)
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  })
})
