import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { rawExchange } from "../support/Raw.ts"
import { rawCases } from "./RawCases.ts"

describe("protocol errors and flags on the wire", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker()
  })
  afterAll(() => broker.stop())

  for (const c of rawCases) {
    it(c.name, async () => {
      const r = await rawExchange(broker.port, c.input)
      expect({ text: r.text, closed: r.closed }).toEqual({ text: c.text, closed: c.closed })
    })
  }

  it("strips headers for a subscriber that did not negotiate them", async () => {
    const sub = rawExchange(broker.port, "CONNECT {\"verbose\":false}\r\nSUB h.strip 7\r\nPING\r\n", 400)
    await new Promise((r) => setTimeout(r, 100))
    await rawExchange(
      broker.port,
      "CONNECT {\"verbose\":false,\"headers\":true}\r\nHPUB h.strip 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
      50
    )
    expect((await sub).text).toBe("PONG\r\nMSG h.strip 7 2\r\nhi\r\n")
  })

  it("sends INFO with the fields the clients read", async () => {
    const r = await rawExchange(broker.port, "PING\r\n")
    const info = r.info!
    expect(Object.keys(info).sort()).toEqual(
      [
        // 2.12 server.go: the JetStream API level.
        "api_lvl",
        "client_id",
        "client_ip",
        "go",
        "headers",
        "host",
        "max_payload",
        "port",
        "proto",
        "server_id",
        "server_name",
        "version"
      ].sort()
    )
    expect(info).toMatchObject({
      api_lvl: 4,
      version: ADVERTISED_NATS_VERSION,
      proto: 1,
      headers: true,
      max_payload: 1048576,
      port: broker.port,
      client_ip: "127.0.0.1"
    })
    expect(info.server_id).toMatch(/^N[A-Z2-7]{55}$/)
  })
})

describe("limits", () => {
  it("closes a stale connection that stops answering PINGs", async () => {
    const broker = await startBroker({ pingIntervalMs: 60, pingMax: 2 })
    try {
      const r = await rawExchange(broker.port, "CONNECT {\"verbose\":false}\r\n", 1500)
      expect(r).toMatchObject({ text: "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n", closed: true })
    } finally {
      await broker.stop()
    }
  })

  it("refuses connections past max_connections", async () => {
    const broker = await startBroker({ maxConnections: 1 })
    try {
      const first = rawExchange(broker.port, "PING\r\n", 400)
      await new Promise((r) => setTimeout(r, 50))
      const second = await rawExchange(broker.port, "PING\r\n", 200)
      expect(second).toMatchObject({ text: "-ERR 'maximum connections exceeded'\r\n", closed: true })
      expect((await first).text).toBe("PONG\r\n")
    } finally {
      await broker.stop()
    }
  })

  it("applies a configured max_payload", async () => {
    const broker = await startBroker({ maxPayload: 10 })
    try {
      const r = await rawExchange(broker.port, "PUB a 11\r\n")
      expect(r.info!.max_payload).toBe(10)
      expect(r).toMatchObject({ text: "-ERR 'Maximum Payload Violation'\r\n", closed: true })
    } finally {
      await broker.stop()
    }
  })
})
