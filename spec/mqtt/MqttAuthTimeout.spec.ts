/**
 * The block's `authorization.timeout` (seconds, fractions allowed) closes an MQTT connection that
 * sends no CONNECT, as nats-server's auth timer does; a client that connects in time stays; /varz
 * shows it under mqtt.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { raw } from "../support/Mqtt.ts"

const PORT = 30520
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mqtt-timeout-"))
let broker: RunningBroker | undefined

beforeAll(async () => {
  const file = path.join(dir, "c.conf")
  fs.writeFileSync(
    file,
    `server_name: s
http: "127.0.0.1:-1"
jetstream { store_dir: "${dir}/js" }
authorization { users: [{ user: g, password: gp }] }
mqtt { host: 127.0.0.1, port: ${PORT}, authorization { timeout: 0.5 } }
`
  )
  const loaded = ConfigFile.load(file)
  if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
  broker = await startBroker({ ...loaded.config, host: "127.0.0.1", port: -1 })
})
afterAll(async () => {
  await broker?.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

const connect = (clientId: string, username: string, password: string) => ({
  cmd: "connect" as const,
  protocolId: "MQTT" as const,
  protocolVersion: 4 as const,
  clientId,
  clean: true,
  keepalive: 30,
  username,
  password: Buffer.from(password)
})

describe("MQTT authorization timeout", () => {
  it("keeps a client that sent CONNECT in time past the timeout", async () => {
    const r = await raw([connect("t-g", "g", "gp")], PORT, 1500)
    expect(r).toEqual({ bytes: [0x20, 0x02, 0x00, 0x00], closed: false })
  })

  it("shows the block's auth timeout in /varz as nats-server does", async () => {
    const varz = (await (await fetch(`http://127.0.0.1:${broker!.monitorPort}/varz`)).json()) as { mqtt: unknown }
    expect(varz.mqtt).toEqual({
      host: "127.0.0.1",
      port: PORT,
      auth_timeout: 0.5,
      ack_wait: 30_000_000_000,
      max_ack_pending: 1024
    })
  })

  it("closes a connection without CONNECT after the block's authorization timeout", async () => {
    const r = await raw([], PORT, 3000)
    expect(r).toEqual({ bytes: [], closed: true })
  })
})
