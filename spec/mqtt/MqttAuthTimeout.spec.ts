/**
 * The block's `authorization.timeout` (seconds, fractions allowed) closes an MQTT connection that
 * sends no CONNECT, as nats-server's auth timer does; a client that connects in time stays.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { raw } from "../support/Mqtt.ts"

const PORT = 38520
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mqtt-timeout-"))
let broker: RunningBroker | undefined

beforeAll(async () => {
  const file = path.join(dir, "c.conf")
  fs.writeFileSync(
    file,
    `server_name: s
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

  it("closes a connection without CONNECT after the block's authorization timeout", async () => {
    const r = await raw([], PORT, 3000)
    expect(r).toEqual({ bytes: [], closed: true })
  })
})
