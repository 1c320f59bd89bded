import { connect } from "@nats-io/transport-node"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

describe("connection lifecycle", () => {
  it("the client reconnects after a broker restart and its subscriptions resume", async () => {
    const port = await freePort()
    let broker = await startBroker({ port })
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnectTimeWait: 50, maxReconnectAttempts: -1 })
    const got: Array<string> = []
    nc.subscribe("after.restart", { callback: (_e, m) => void got.push(new TextDecoder().decode(m.data)) })
    await nc.flush()
    const statuses: Array<string> = []
    const reconnected = (async () => {
      for await (const s of nc.status()) {
        statuses.push(s.type)
        if (s.type === "reconnect") return
      }
    })()
    await broker.stop()
    broker = await startBroker({ port })
    await reconnected
    nc.publish("after.restart", new TextEncoder().encode("back"))
    await nc.flush()
    expect(got).toEqual(["back"])
    expect(statuses).toContain("disconnect")
    expect(broker.server.connections.size).toBe(1)
    await nc.close()
    await broker.stop()
  })

  it("cuts off a slow consumer alone; the publisher and other subscribers are unaffected", async () => {
    // The publisher is held while the non-reader is congested, until the write deadline cuts it off.
    const broker = await startBroker({ maxPending: 2 * 1024 * 1024, writeDeadlineMs: 1_000 })
    try {
      // A subscriber that never reads: its kernel buffer fills, then our outbound buffer.
      const slow = net.connect(broker.port, "127.0.0.1")
      let slowClosed = false
      slow.on("close", () => (slowClosed = true))
      slow.on("error", () => {})
      slow.write("CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
      await new Promise<void>((r) => slow.once("data", () => r()))
      slow.pause()
      await new Promise((r) => setTimeout(r, 50))

      const good = await connect({ servers: broker.url })
      let goodCount = 0
      good.subscribe("flood", { callback: () => void goodCount++ })
      await good.flush()
      const pub = await connect({ servers: broker.url })
      const payload = new Uint8Array(1024)
      const total = 40_000 // 40 MiB: far more than loopback socket buffers hold
      for (let i = 0; i < total; i++) {
        pub.publish("flood", payload)
        if (i % 100 === 0) await pub.flush()
      }
      await pub.flush()
      await good.flush()
      expect(goodCount).toBe(total)
      expect(pub.isClosed()).toBe(false)
      expect(broker.server.connections.size).toBe(2)
      await new Promise((r) => setTimeout(r, 100))
      slow.resume()
      await new Promise((r) => setTimeout(r, 300))
      expect(slowClosed).toBe(true)
      await pub.close()
      await good.close()
      slow.destroy()
    } finally {
      await broker.stop()
    }
  })
})
