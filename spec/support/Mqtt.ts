/**
 * MQTT test support: `mqtt {}` settings for in-process brokers, and a raw socket that sends packets
 * (or bytes) and reports what came back and whether the broker closed the connection.
 */
import * as mqttPacket from "mqtt-packet"
import * as net from "node:net"
import type { MqttSettings } from "../../src/config/MqttConfigFile.ts"

export const mqttSettings = (port: number, over: Partial<MqttSettings> = {}): MqttSettings => ({
  host: "127.0.0.1",
  port,
  ackWaitMs: 1000,
  maxAckPending: 1024,
  streamReplicas: 0,
  consumerReplicas: 0,
  consumerMemoryStorage: false,
  consumerInactiveThresholdMs: 0,
  user: undefined,
  password: undefined,
  token: undefined,
  authTimeoutSeconds: undefined,
  noAuthUser: undefined,
  tls: undefined,
  ...over
})

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const until = async (what: string, f: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/**
 * Sends packets on a raw socket; resolves with what came back within `ms` and whether the broker
 * closed it. With `minBytes`, it resolves 100ms after that many bytes arrived (a loaded machine may
 * take longer than `ms` to answer a CONNECT; the extra time shows whether a close follows).
 */
export const raw = async (
  packets: ReadonlyArray<mqttPacket.Packet | Uint8Array>,
  port: number,
  ms = 500,
  minBytes?: number
) => {
  const s = net.connect(port, "127.0.0.1")
  const bytes: Array<number> = []
  let closed = false
  let enough: () => void = () => undefined
  const got = new Promise<void>((r) => (enough = r))
  s.on("data", (d) => {
    bytes.push(...d)
    if (minBytes !== undefined && bytes.length >= minBytes) enough()
  })
  s.on("error", () => undefined)
  const done = new Promise<void>((r) =>
    s.on("close", () => {
      closed = true
      r()
    })
  )
  for (const p of packets) s.write(p instanceof Uint8Array ? p : mqttPacket.generate(p))
  if (minBytes === undefined) await Promise.race([done, sleep(ms)])
  else await Promise.race([done, got.then(() => sleep(100)), sleep(10_000)])
  s.destroy()
  return { bytes, closed }
}
