/**
 * `handshake_first` (nats-server 2.10; 2.9.10 has no such key, so there is nothing to compare
 * against): no plaintext INFO, the client starts with a TLS handshake and reads INFO inside it.
 */
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as net from "node:net"
import * as tls from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { writeConf } from "../auth/AuthServers.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { makeCerts, type TestCerts } from "./TlsCerts.ts"

describe("tls handshake_first", () => {
  let certs: TestCerts
  let broker: RunningBroker
  beforeAll(async () => {
    certs = makeCerts()
    const conf = `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", handshake_first: true }`
    const loaded = ConfigFile.load(writeConf(conf))
    if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
    broker = await startBroker(loaded.config)
  })
  afterAll(async () => {
    await broker.stop()
    certs.remove()
  })

  it("sends nothing in plaintext", async () => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(broker.port, "127.0.0.1")
      let data = ""
      s.on("data", (d) => (data += d.toString("latin1")))
      s.on("error", () => {})
      setTimeout(() => {
        s.destroy()
        resolve(data)
      }, 300)
    })
    expect(got).toBe("")
  })

  it("sends INFO with tls_required inside the session", async () => {
    const line = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port: broker.port, host: "127.0.0.1", ca: fs.readFileSync(certs.ca) })
      let data = ""
      s.on("data", (d) => {
        data += d.toString("latin1")
        if (data.includes("\r\n")) {
          s.destroy()
          resolve(data.slice(0, data.indexOf("\r\n")))
        }
      })
      s.on("error", reject)
    })
    expect(line.startsWith("INFO ")).toBe(true)
    expect(JSON.parse(line.slice(5)).tls_required).toBe(true)
  })

  it("pub/sub with a client configured for handshakeFirst", async () => {
    const nc = await connect({
      servers: `127.0.0.1:${broker.port}`,
      reconnect: false,
      tls: { caFile: certs.ca, handshakeFirst: true }
    })
    const sub = nc.subscribe("first", { max: 1 })
    nc.publish("first", "early")
    let got = ""
    for await (const m of sub) got = m.string()
    await nc.close()
    expect(got).toBe("early")
  })
})
