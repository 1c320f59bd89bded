/**
 * MQTT state survives a broker `kill -9`: the real CLI runs as a child process with a config file;
 * a persistent session subscribes at QoS 1 and goes away, QoS 1 messages and a retained message are
 * published, the broker is killed with SIGKILL and started again on the same store, and the session
 * (CONNACK session present) receives the queued messages, a new subscriber the retained one; SIGTERM
 * then stops it cleanly with MQTT clients connected.
 */
import mqtt, { type MqttClient } from "mqtt"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { type BrokerProcess, startCli } from "../support/Process.ts"

const PORT = 30201
const URL = `mqtt://127.0.0.1:${PORT}`
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mqtt-k9-"))
const conf = path.join(dir, "broker.conf")
fs.writeFileSync(
  conf,
  `server_name: k9\njetstream { store_dir: "${dir}/store" }\nmqtt { host: 127.0.0.1, port: ${PORT}, ack_wait: "1s" }\n`
)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const clients: Array<MqttClient> = []
let broker: BrokerProcess | undefined

/** The MQTT listener opens after the client port the harness waits for: retry until it accepts. */
const connectMqtt = async (options: mqtt.IClientOptions) => {
  const end = Date.now() + 15_000
  for (;;) {
    try {
      const c = await mqtt.connectAsync(URL, { reconnectPeriod: 0, connectTimeout: 2000, ...options })
      clients.push(c)
      return c
    } catch (e) {
      if (Date.now() > end) throw e
      await sleep(100)
    }
  }
}

afterAll(async () => {
  for (const c of clients) c.end(true)
  await broker?.stop("SIGKILL")
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("MQTT after kill -9", () => {
  it("a persistent session gets its queued QoS 1 messages and retained messages survive", async () => {
    broker = await startCli(["-c", conf])
    const sub = await connectMqtt({ clientId: "k9-sub", clean: false })
    await sub.subscribeAsync("k9/t", { qos: 1 })
    await sub.endAsync()
    const pub = await connectMqtt({ clientId: "k9-pub" })
    await pub.publishAsync("k9/t", "m1", { qos: 1 })
    await pub.publishAsync("k9/t", "m2", { qos: 1 })
    await pub.publishAsync("k9/state", "on", { qos: 1, retain: true })
    // The retained store is acknowledged asynchronously: give it a moment before the kill.
    await sleep(300)
    pub.end(true)
    expect(await broker.stop("SIGKILL")).toBe(null)

    broker = await startCli(["-c", conf])
    const got: Array<string> = []
    const present = await new Promise<boolean>((resolve, reject) => {
      const tryOnce = () => {
        const c = mqtt.connect(URL, { clientId: "k9-sub", clean: false, reconnectPeriod: 0 })
        c.on("message", (t, p) => got.push(`${t}=${p}`))
        c.on("connect", (ack) => {
          clients.push(c)
          resolve(ack.sessionPresent)
        })
        c.on("error", () => {
          c.end(true)
          setTimeout(tryOnce, 100)
        })
        c.on("close", () => {
          if (!c.connected && got.length === 0) setTimeout(tryOnce, 100)
        })
      }
      tryOnce()
      setTimeout(() => reject(new Error("no CONNACK after restart")), 15_000)
    })
    expect(present).toBe(true)
    const end = Date.now() + 8000
    while (got.length < 2 && Date.now() < end) await sleep(50)
    expect(got).toEqual(["k9/t=m1", "k9/t=m2"])

    const late = await connectMqtt({ clientId: "k9-late" })
    const retained: Array<string> = []
    late.on("message", (t, p, packet) => retained.push(`${t}=${p} retain=${packet.retain}`))
    await late.subscribeAsync("k9/#", { qos: 1 })
    const until = Date.now() + 5000
    while (retained.length < 1 && Date.now() < until) await sleep(50)
    expect(retained).toEqual(["k9/state=on retain=true"])
    // With MQTT clients still connected, SIGTERM shuts down cleanly.
    expect(await broker.stop("SIGTERM")).toBe(0)
    broker = undefined
  })
})
