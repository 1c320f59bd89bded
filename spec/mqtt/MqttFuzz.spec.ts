/**
 * Bad MQTT input never crashes the broker: fixed protocol violations are answered with the close
 * MQTT 3.1.1 specifies (no reply, MQTT-4.8.0-1; CONNACK with a return code where one exists), and
 * fast-check throws random bytes and corrupted packets at the port while a sentinel MQTT.js client
 * keeps publishing to itself through the same broker.
 */
import fc from "fast-check"
import mqtt, { type MqttClient } from "mqtt"
import * as mqttPacket from "mqtt-packet"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { mqttSettings, raw, until } from "../support/Mqtt.ts"

const PORT = 30301
const CONNECT: mqttPacket.IConnectPacket = {
  cmd: "connect",
  protocolId: "MQTT",
  protocolVersion: 4,
  clientId: "fuzz",
  clean: true,
  keepalive: 30
}
const CONNACK_OK = [0x20, 0x02, 0x00, 0x00]

let broker: RunningBroker
let sentinel: MqttClient
const echoed: Array<string> = []
beforeAll(async () => {
  broker = await startBroker({ jetstream: true, serverName: "fuzz", mqtt: mqttSettings(PORT) })
  sentinel = await mqtt.connectAsync(`mqtt://127.0.0.1:${PORT}`, { clientId: "sentinel", reconnectPeriod: 0 })
  sentinel.on("message", (_t, p) => echoed.push(p.toString()))
  await sentinel.subscribeAsync("sentinel/echo", { qos: 1 })
})
afterAll(async () => {
  sentinel?.end(true)
  await broker?.stop()
})

const stillServing = async (n: number) => {
  await sentinel.publishAsync("sentinel/echo", `ping-${n}`, { qos: 1 })
  await until(`echo ${n}`, () => echoed.includes(`ping-${n}`))
}

describe("MQTT protocol violations", () => {
  it("a first packet other than CONNECT: closed, nothing sent", async () => {
    const r = await raw([{ cmd: "pingreq" }], PORT)
    expect(r).toEqual({ bytes: [], closed: true })
  })

  it("a second CONNECT: closed after the first CONNACK", async () => {
    const r = await raw([CONNECT, { ...CONNECT, clientId: "fuzz2" }], PORT)
    expect(r).toEqual({ bytes: CONNACK_OK, closed: true })
  })

  it("protocol level 5 gets CONNACK 1, 3.1 (MQIsdp) nothing; both closed", async () => {
    expect(await raw([{ ...CONNECT, protocolVersion: 5, properties: {} }], PORT)).toEqual({
      bytes: [0x20, 0x02, 0x00, 0x01],
      closed: true
    })
    expect(await raw([{ ...CONNECT, protocolId: "MQIsdp", protocolVersion: 3 }], PORT)).toEqual({
      bytes: [],
      closed: true
    })
  })

  it("wildcards in a PUBLISH topic, QoS 3, and a reserved CONNECT flag: closed", async () => {
    const pub = await raw(
      [CONNECT, { cmd: "publish", topic: "a/+", payload: "x", qos: 0, retain: false, dup: false }],
      PORT
    )
    expect(pub).toEqual({ bytes: CONNACK_OK, closed: true })
    // PUBLISH with both QoS bits set (QoS 3) is malformed (MQTT-3.3.1-4).
    const qos3 = await raw([CONNECT, Uint8Array.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01])], PORT)
    expect(qos3).toEqual({ bytes: CONNACK_OK, closed: true })
    const connect = mqttPacket.generate(CONNECT)
    connect[9] = connect[9]! | 1 // reserved flag bit (MQTT-3.1.2-3)
    expect(await raw([connect], PORT)).toEqual({ bytes: [], closed: true })
    await stillServing(0)
  })

  it("an invalid SUBSCRIBE filter is refused in SUBACK (0x80) without closing", async () => {
    const r = await raw(
      [CONNECT, {
        cmd: "subscribe",
        messageId: 7,
        subscriptions: [{ topic: "ok/+", qos: 1 }, { topic: "bad.dot", qos: 0 }, { topic: "a/#/b", qos: 0 }]
      }],
      PORT,
      500,
      11
    )
    expect(r.bytes).toEqual([...CONNACK_OK, 0x90, 0x05, 0x00, 0x07, 0x01, 0x80, 0x80])
    expect(r.closed).toBe(false)
  })
})

describe("MQTT fuzzing", () => {
  it("random bytes before or after CONNECT never crash the broker; nothing but CONNACK is sent for garbage", async () => {
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        async (connectFirst, junk) => {
          const r = connectFirst ? await raw([CONNECT, junk], PORT, 150, 4) : await raw([junk], PORT, 150)
          if (!connectFirst) {
            // Garbage first: either a (lucky) valid CONNECT got its CONNACK, or nothing came back.
            expect(r.bytes.length === 0 || r.bytes[0] === 0x20).toBe(true)
          } else {
            expect(r.bytes.slice(0, 4)).toEqual(CONNACK_OK)
          }
          if (++round % 20 === 0) await stillServing(round)
        }
      ),
      { numRuns: 120 }
    )
    await stillServing(-1)
  })

  it("valid packets with one byte corrupted never crash the broker", async () => {
    const samples: Array<mqttPacket.Packet> = [
      { cmd: "publish", topic: "fz/a", payload: Buffer.from("hello"), qos: 1, messageId: 3, retain: false, dup: false },
      { cmd: "subscribe", messageId: 4, subscriptions: [{ topic: "fz/#", qos: 1 }] },
      { cmd: "unsubscribe", messageId: 5, unsubscriptions: ["fz/#"] },
      { cmd: "pingreq" },
      { cmd: "pubrel", messageId: 6 }
    ]
    const encoded = samples.map((p) => mqttPacket.generate(p))
    let round = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: encoded.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        async (which, at, value) => {
          const bytes = Uint8Array.from(encoded[which]!)
          bytes[at % bytes.length] = value
          const r = await raw([CONNECT, bytes], PORT, 150, 4)
          expect(r.bytes.slice(0, 4)).toEqual(CONNACK_OK)
          if (++round % 20 === 0) await stillServing(1000 + round)
        }
      ),
      { numRuns: 120 }
    )
    await stillServing(-2)
  })
})
