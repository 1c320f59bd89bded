/**
 * A cluster tells each kind of client where it can go: TCP clients get every server's client URLs,
 * WebSocket clients every server's WebSocket URLs (nats-server gossips them in the route INFO as
 * `ws_connect_urls` and gives a WebSocket client those as its `connect_urls`).
 */
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type ClusterNode, startNode, untilMesh } from "../support/Cluster.ts"
import { rawWs } from "../websocket/WsServers.ts"

const BASE = 31870

const websocketBlock = () => {
  const loaded = ConfigFile.load("/ws.conf", {
    readFile: () => "websocket { host: 127.0.0.1, port: -1, no_tls: true }",
    env: {}
  })
  if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
  return loaded.config.websocket
}

let a: ClusterNode
let b: ClusterNode

beforeAll(async () => {
  a = await startNode({ name: "A", routePort: BASE + 1, config: { websocket: websocketBlock() } })
  b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1], config: { websocket: websocketBlock() } })
  await untilMesh([a, b])
})

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
})

const wsPort = (n: ClusterNode) => n.server.websocket!.port

describe("connect URLs per kind of client", () => {
  it("a WebSocket client learns every server's WebSocket URL, a TCP client every client URL", async () => {
    const wsUrls = [`127.0.0.1:${wsPort(a)}`, `127.0.0.1:${wsPort(b)}`]
    const tcpUrls = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]
    // The route INFO carrying B's WebSocket URLs may land just after the mesh forms: ask again.
    const wsInfoOf = async () => {
      const c = await rawWs(`ws://127.0.0.1:${wsPort(a)}`)
      const line = await c.waitFor(/INFO \{.*\} ?\r\n/)
      c.ws.close()
      return JSON.parse(line.slice(5).trim()) as Record<string, unknown>
    }
    let wsInfo = await wsInfoOf()
    for (let i = 0; i < 100 && (wsInfo.connect_urls as Array<string> | undefined)?.length !== 2; i++) {
      await new Promise((r) => setTimeout(r, 50))
      wsInfo = await wsInfoOf()
    }
    expect([...(wsInfo.connect_urls as Array<string>)].sort()).toEqual([...wsUrls].sort())
    expect(wsInfo.ws_connect_urls).toBeUndefined()

    const nc = await connect({ servers: a.url, reconnect: false })
    try {
      const info = nc.info as unknown as Record<string, unknown>
      expect([...(info.connect_urls as Array<string>)].sort()).toEqual([...tcpUrls].sort())
      expect(info.ws_connect_urls).toBeUndefined()
    } finally {
      await nc.close()
    }
  })
})
