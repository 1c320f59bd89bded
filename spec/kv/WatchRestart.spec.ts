import { Kvm } from "@nats-io/kv"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

describe("KV watch across a broker restart", () => {
  it("keeps delivering: the watcher's consumer is recovered with its stream, as in nats-server", async () => {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-watch-restart-"))
    const port = await freePort()
    let broker = await startBroker({ jetstream: true, storeDir, port })
    const nc = await connect({ servers: `127.0.0.1:${port}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 })
    try {
      const kv = await new Kvm(nc).create("watched")
      const seen: Array<string> = []
      const w = await kv.watch()
      void (async () => {
        for await (const e of w) seen.push(`${e.key}=${new TextDecoder().decode(e.value)}`)
      })()
      await kv.put("a", "1")
      const until = async (n: number, ms: number) => {
        const end = Date.now() + ms
        while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
      }
      await until(1, 3000)
      await broker.stop()
      broker = await startBroker({ jetstream: true, storeDir, port })
      // Give the client a moment to reconnect, then write.
      await new Promise((r) => setTimeout(r, 500))
      await kv.put("b", "2")
      await until(2, 8000)
      expect(seen).toEqual(["a=1", "b=2"])
      w.stop()
    } finally {
      await nc.close()
      await broker.stop()
      fs.rmSync(storeDir, { recursive: true, force: true })
    }
  }, 30_000)
})
