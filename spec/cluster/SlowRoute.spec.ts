/**
 * A route whose peer stops reading is cut off by the write deadline, as a slow client is; the
 * publisher and a healthy local subscriber of the same subject keep their connections and every
 * message. The peer here is a raw socket speaking the route handshake, then never reading again.
 */
import { connect } from "@nats-io/transport-node"
import * as net from "node:net"
import { afterAll, assert, describe, it } from "vitest"
import { type ClusterNode, sleep, startNode, until } from "../support/Cluster.ts"

const BASE = 31850
let node: ClusterNode | undefined
afterAll(async () => {
  await node?.stop()
})

describe("a slow route", () => {
  it("is cut off by the write deadline; healthy clients keep going", async () => {
    node = await startNode({ name: "X", routePort: BASE + 1, config: { writeDeadlineMs: 1000 } })
    const peer = net.connect(BASE + 1, "127.0.0.1")
    await new Promise<void>((r) => peer.once("connect", () => r()))
    peer.on("error", () => {})
    const info = {
      server_id: "NFAKEPEER000000000000000000000000000000000000000000000000",
      server_name: "fake",
      version: "2.9.10",
      proto: 2,
      host: "127.0.0.1",
      port: BASE + 2,
      headers: true,
      max_payload: 1048576,
      cluster: "test"
    }
    peer.write(`CONNECT {"name":"${info.server_id}","cluster":"test","headers":true}\r\n`)
    peer.write(`INFO ${JSON.stringify(info)}\r\nRS+ $G slow.>\r\n`)
    await until("the fake route", () => node!.cluster.routes().length === 1 && node!.router.hasInterest("slow.x"))
    // From now on the peer reads nothing.
    peer.pause()

    const pub = await connect({ servers: node.url })
    const healthy = await connect({ servers: node.url })
    let got = 0
    healthy.subscribe("slow.>", { callback: () => void got++ })
    await healthy.flush()
    const total = 20_000
    const body = new Uint8Array(1024)
    for (let i = 0; i < total; i++) {
      pub.publish("slow.x", body)
      if (i % 1000 === 0) await sleep(0)
    }
    await pub.flush()
    await until("the healthy subscriber's messages", () => got === total, 20_000)
    await until("the route to be cut off", () => node!.cluster.routes().length === 0, 15_000)
    assert.isFalse(pub.isClosed())
    assert.isFalse(healthy.isClosed())
    // Still a working server for its clients.
    const after = healthy.subscribe("after", { max: 1 })
    await healthy.flush()
    pub.publish("after")
    for await (const m of after) assert.strictEqual(m.subject, "after")
    peer.destroy()
    await pub.close()
    await healthy.close()
  }, 60_000)
})
