/**
 * MQTT 3.1.1 over real sockets with MQTT.js and Debian's mosquitto clients, beside NATS clients on
 * the same broker: QoS 0/1/2, wildcards, NATS <-> MQTT in both directions, retained messages, the
 * will on an abrupt close, persistent sessions (QoS 1 queued while away), clean sessions, session
 * takeover, client id rules and keepalive.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import fc from "fast-check"
import mqtt, { type MqttClient } from "mqtt"
import * as mqttPacket from "mqtt-packet"
import { execFile, spawnSync } from "node:child_process"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { topicToSubject } from "../../src/mqtt/Topic.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { mqttSettings, raw, sleep, until } from "../support/Mqtt.ts"

const PORT = 30101
const URL = `mqtt://127.0.0.1:${PORT}`
interface Got {
  readonly topic: string
  readonly payload: string
  readonly qos: number
  readonly retain: boolean
  readonly dup: boolean
}
const open = async (options: mqtt.IClientOptions = {}) => {
  const c = await mqtt.connectAsync(URL, { reconnectPeriod: 0, ...options })
  const got: Array<Got> = []
  c.on(
    "message",
    (topic, payload, p) => got.push({ topic, payload: payload.toString(), qos: p.qos, retain: p.retain, dup: p.dup })
  )
  clients.push(c)
  return { c, got }
}
const clients: Array<MqttClient> = []

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true, serverName: "mqtt-spec", httpPort: -1, mqtt: mqttSettings(PORT) })
  nc = await connect({ servers: broker.url })
})
afterAll(async () => {
  for (const c of clients) c.end(true)
  await nc?.close()
  await broker?.stop()
})

describe("MQTT publish/subscribe", () => {
  it("QoS 0 and 1 between MQTT clients, with + and # filters", async () => {
    const sub = await open({ clientId: "ps-sub" })
    const granted = await sub.c.subscribeAsync({ "ps/+/x": { qos: 0 }, "ps/deep/#": { qos: 1 } })
    expect(granted.map((g) => g.qos)).toEqual([0, 1])
    const pub = await open({ clientId: "ps-pub" })
    await pub.c.publishAsync("ps/a/x", "zero", { qos: 0 })
    await pub.c.publishAsync("ps/deep/1/2", "one", { qos: 1 })
    // `#` includes the parent level (MQTT-4.7.1-2).
    await pub.c.publishAsync("ps/deep", "parent", { qos: 1 })
    await pub.c.publishAsync("ps/b/y", "nomatch", { qos: 0 })
    await until("3 messages", () => sub.got.length >= 3)
    await sleep(100)
    expect(sub.got.map((g) => `${g.topic}=${g.payload}@${g.qos}`).sort()).toEqual([
      "ps/a/x=zero@0",
      "ps/deep/1/2=one@1",
      "ps/deep=parent@1"
    ])
  })

  it("QoS 2 end to end: PUBREC/PUBREL/PUBCOMP both ways, delivered once at QoS 2", async () => {
    const sub = await open({ clientId: "q2-sub" })
    const subPackets: Array<string> = []
    sub.c.on("packetsend", (p) => subPackets.push(`>${p.cmd}`))
    sub.c.on("packetreceive", (p) => subPackets.push(`<${p.cmd}`))
    const granted = await sub.c.subscribeAsync({ "q2/t": { qos: 2 }, "q2/low": { qos: 2 } })
    expect(granted.map((g) => g.qos)).toEqual([2, 2])
    const pub = await open({ clientId: "q2-pub" })
    const received: Array<string> = []
    pub.c.on("packetreceive", (p) => received.push(p.cmd))
    await pub.c.publishAsync("q2/t", "exactly", { qos: 2 })
    await until("pubcomp", () => received.includes("pubcomp"))
    expect(received.filter((c) => c.startsWith("pub"))).toEqual(["pubrec", "pubcomp"])
    // A QoS 1 publish reaches a QoS 2 subscription at QoS 1 (the lower of the two).
    await pub.c.publishAsync("q2/low", "one", { qos: 1 })
    await until("2 messages", () => sub.got.length === 2)
    await until("subscriber's pubcomp", () => subPackets.includes(">pubcomp"))
    await sleep(200)
    expect(sub.got.map((g) => `${g.topic} ${g.payload} q${g.qos}`)).toEqual(["q2/t exactly q2", "q2/low one q1"])
    expect(subPackets.filter((c) => /pub(rec|rel|comp|ack)/.test(c))).toEqual([
      ">pubrec",
      "<pubrel",
      ">pubcomp",
      ">puback"
    ])
  })

  it("an outbound QoS 2 PUBREL not completed is resent to the resumed session", async () => {
    const connect: mqttPacket.IConnectPacket = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "q2o",
      clean: false,
      keepalive: 30
    }
    const first = await raw(
      [connect, {
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [{ topic: "q2o/t", qos: 2 }]
      }],
      PORT,
      500,
      9
    )
    expect(first.bytes).toEqual([0x20, 2, 0, 0, 0x90, 3, 0, 1, 2])
    const pub = await open({ clientId: "q2o-pub" })
    await pub.c.publishAsync("q2o/t", "x", { qos: 2 })
    // Resumed: take the PUBLISH (QoS 2), answer PUBREC, get PUBREL, drop before PUBCOMP.
    const s = net.connect(PORT, "127.0.0.1")
    const bytes: Array<number> = []
    s.on("data", (d) => bytes.push(...d))
    s.write(mqttPacket.generate(connect))
    // CONNACK (4) + PUBLISH: 2 header bytes, topic "q2o/t" (2 + 5), packet id (2), payload "x" (1).
    await until("PUBLISH", () => bytes.length >= 4 + 12)
    expect(bytes.slice(0, 4)).toEqual([0x20, 2, 1, 0])
    expect(bytes[4]! & 0x06).toBe(0x04) // QoS 2
    const pi = bytes.slice(4 + 9, 4 + 11)
    s.write(Uint8Array.from([0x50, 2, ...pi]))
    await until("PUBREL", () => bytes.length >= 16 + 4)
    expect(bytes.slice(16)).toEqual([0x62, 2, ...pi])
    s.destroy()
    await sleep(200)
    // The next resume gets the PUBREL again (MQTT-4.4.0-1), not the PUBLISH; PUBCOMP ends it.
    const third = await raw([connect], PORT, 500, 8)
    expect(third.bytes).toEqual([0x20, 2, 1, 0, 0x62, 2, ...pi])
    const fourth = await raw([connect, Uint8Array.from([0x70, 2, ...pi])], PORT, 500, 8)
    expect(fourth.bytes.slice(0, 8)).toEqual([0x20, 2, 1, 0, 0x62, 2, ...pi])
    const fifth = await raw([connect], PORT, 1500)
    expect(fifth.bytes).toEqual([0x20, 2, 1, 0])
  })

  it("an MQTT publish reaches a NATS subscriber with the Nmqtt-Pub header, and back", async () => {
    const natsGot: Array<string> = []
    nc.subscribe("iot.dev1.temp", {
      callback: (_e, m) => void natsGot.push(`${m.subject}=${m.string()} qos=${m.headers?.get("Nmqtt-Pub")}`)
    })
    nc.subscribe("/.lead", { callback: (_e, m) => void natsGot.push(`${m.subject}=${m.string()}`) })
    await nc.flush()
    const dev = await open({ clientId: "iot-dev" })
    await dev.c.subscribeAsync("cmd/#", { qos: 1 })
    await dev.c.publishAsync("iot/dev1/temp", "21.5", { qos: 1 })
    await dev.c.publishAsync("/lead", "empty first level", { qos: 0 })
    await until("NATS got 2", () => natsGot.length === 2)
    expect(natsGot.sort()).toEqual(["/.lead=empty first level", "iot.dev1.temp=21.5 qos=1"])
    nc.publish("cmd.dev1.reboot", "now")
    await until("MQTT got cmd", () => dev.got.length === 1)
    // A plain NATS publish is delivered at QoS 0 (it is not stored in $MQTT_msgs).
    expect(dev.got[0]).toMatchObject({ topic: "cmd/dev1/reboot", payload: "now", qos: 0 })
  })

  it("any accepted topic arrives unchanged at an MQTT subscriber and as its mapped subject at a NATS one", async () => {
    const sub = await open({ clientId: "prop-sub" })
    await sub.c.subscribeAsync("prop/#", { qos: 0 })
    const pub = await open({ clientId: "prop-pub" })
    const subjects: Array<string> = []
    nc.subscribe("prop.>", { callback: (_e, m) => void subjects.push(m.subject) })
    await nc.flush()
    const level = fc.stringMatching(/^[a-zA-Z0-9_\-é]{0,3}$/)
    let n = 0
    await fc.assert(
      fc.asyncProperty(fc.array(level, { minLength: 1, maxLength: 4 }), async (levels) => {
        const topic = `prop/${levels.join("/")}`
        const before = sub.got.length
        const natsBefore = subjects.length
        await pub.c.publishAsync(topic, `m${++n}`, { qos: 0 })
        await until("both", () => sub.got.length > before && subjects.length > natsBefore)
        expect(sub.got[before]!.topic).toBe(topic)
        const mapped = topicToSubject(topic)
        expect(mapped.ok && subjects[natsBefore]).toBe(mapped.ok ? mapped.subject : false)
      }),
      { numRuns: 40 }
    )
  })

  it("QoS 1 publishes are stored in $MQTT_msgs and the three MQTT streams exist", async () => {
    const jsm = await (await import("@nats-io/jetstream")).jetstreamManager(nc)
    const names: Array<string> = []
    for await (const s of jsm.streams.list()) names.push(s.config.name)
    expect(names).toEqual(expect.arrayContaining(["$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs"]))
    const msgs = await jsm.streams.info("$MQTT_msgs")
    expect(msgs.config.subjects).toEqual(["$MQTT.msgs.>"])
    expect(msgs.config.retention).toBe("interest")
    const sess = await jsm.streams.info("$MQTT_sess")
    expect(sess.config.max_msgs_per_subject).toBe(1)
    expect((await jsm.streams.info("$MQTT_rmsgs")).config.subjects).toEqual(["$MQTT.rmsgs"])
  })

  it("unsubscribe stops delivery", async () => {
    const s = await open({ clientId: "unsub" })
    await s.c.subscribeAsync("un/t", { qos: 1 })
    await s.c.publishAsync("un/t", "1", { qos: 1 })
    await until("first", () => s.got.length === 1)
    await s.c.unsubscribeAsync("un/t")
    await s.c.publishAsync("un/t", "2", { qos: 1 })
    await sleep(300)
    expect(s.got.map((g) => g.payload)).toEqual(["1"])
  })
})

describe("MQTT limits", () => {
  it("QoS 1 subscriptions past 65535 max_ack_pending in total are refused (0x80), the others granted", async () => {
    const subscriptions = Array.from({ length: 65 }, (_, i) => ({ topic: `lim/${i}`, qos: 1 as const }))
    const r = await raw(
      [
        { cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "limits", clean: true, keepalive: 30 },
        { cmd: "subscribe", messageId: 1, subscriptions }
      ],
      PORT,
      500,
      73
    )
    // 63 x 1024 fit in 65535, a 64th would make 65536 (nats-server mqttMaxAckTotalLimit).
    expect(r.bytes.slice(4, 8)).toEqual([0x90, 67, 0, 1])
    expect(r.bytes.slice(8)).toEqual([...Array.from({ length: 63 }, () => 1), 0x80, 0x80])
  })

  it("a PUBLISH over max_payload closes the connection", async () => {
    const c = await open({ clientId: "too-big" })
    const closed = new Promise<void>((r) => c.c.on("close", () => r()))
    c.c.publish("big/t", Buffer.alloc(1024 * 1024 + 1), { qos: 0 })
    await closed
  })
})

describe("MQTT monitoring", () => {
  it("/varz shows the mqtt listener", async () => {
    const varz = await (await fetch(`http://127.0.0.1:${broker.monitorPort}/varz`)).json() as { mqtt: unknown }
    expect(varz.mqtt).toEqual({ host: "127.0.0.1", port: PORT, ack_wait: 1_000_000_000, max_ack_pending: 1024 })
  })
})

describe("MQTT retained messages", () => {
  it("a new subscriber gets the last retained message of each topic with the retain flag", async () => {
    const pub = await open({ clientId: "ret-pub" })
    await pub.c.publishAsync("ret/a", "old", { qos: 1, retain: true })
    await pub.c.publishAsync("ret/a", "new", { qos: 1, retain: true })
    await pub.c.publishAsync("ret/b", "b", { qos: 0, retain: true })
    await pub.c.publishAsync("ret/c", "c", { qos: 1, retain: true })
    // An empty retained payload clears the topic (MQTT-3.3.1-10).
    await pub.c.publishAsync("ret/c", "", { qos: 1, retain: true })
    await sleep(200)
    const sub = await open({ clientId: "ret-sub" })
    await sub.c.subscribeAsync("ret/+", { qos: 1 })
    await until("2 retained", () => sub.got.length >= 2)
    await sleep(100)
    expect(sub.got.map((g) => `${g.topic}=${g.payload} r=${g.retain} q=${g.qos}`).sort()).toEqual([
      "ret/a=new r=true q=1",
      "ret/b=b r=true q=0"
    ])
    // Live delivery of a retained publish to an existing subscriber has retain=0 (MQTT-3.3.1-9).
    await pub.c.publishAsync("ret/a", "live", { qos: 1, retain: true })
    await until("live", () => sub.got.some((g) => g.payload === "live"))
    expect(sub.got.find((g) => g.payload === "live")!.retain).toBe(false)
  })
})

describe("MQTT will", () => {
  it("is published when the connection drops without DISCONNECT, not after a DISCONNECT", async () => {
    const watcher = await open({ clientId: "will-watch" })
    await watcher.c.subscribeAsync("will/#", { qos: 1 })
    const natsWill: Array<string> = []
    nc.subscribe("will.>", { callback: (_e, m) => void natsWill.push(`${m.subject}=${m.string()}`) })
    await nc.flush()
    const polite = await open({
      clientId: "will-polite",
      will: { topic: "will/polite", payload: Buffer.from("x"), qos: 1, retain: false }
    })
    await polite.c.endAsync()
    const rude = await open({
      clientId: "will-rude",
      will: { topic: "will/rude", payload: Buffer.from("gone"), qos: 1, retain: false }
    }) // Abrupt: destroy the socket under the client.
    ;(rude.c.stream as net.Socket).destroy()
    await until("will", () => watcher.got.length === 1)
    await sleep(200)
    expect(watcher.got.map((g) => `${g.topic}=${g.payload}`)).toEqual(["will/rude=gone"])
    expect(natsWill).toEqual(["will.rude=gone"])
  })
})

describe("MQTT sessions", () => {
  it("a persistent session keeps its QoS 1 subscription: messages sent while away arrive on reconnect", async () => {
    const first = await open({ clientId: "persist-1", clean: false })
    await first.c.subscribeAsync("persist/t", { qos: 1 })
    await first.c.endAsync()
    const pub = await open({ clientId: "persist-pub" })
    for (let i = 1; i <= 3; i++) await pub.c.publishAsync("persist/t", `m${i}`, { qos: 1 })
    // The queued messages may come in the same read as the CONNACK (as from nats-server): the handler must be
    // there before the connection is, or mqtt.js emits them to nobody before connectAsync's caller resumes.
    const again = mqtt.connect(URL, { clientId: "persist-1", clean: false, reconnectPeriod: 0 })
    clients.push(again)
    const got: Array<string> = []
    again.on("message", (_t, p) => got.push(p.toString()))
    await new Promise<void>((resolve, reject) => {
      again.once("connect", () => resolve())
      again.once("error", reject)
    })
    await until("3 queued", () => got.length === 3)
    expect(got).toEqual(["m1", "m2", "m3"])
    // The CONNACK said the session was present.
    const present = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(URL, { clientId: "persist-1", clean: false, reconnectPeriod: 0 })
      clients.push(c)
      c.on("connect", (ack) => resolve(ack.sessionPresent))
    })
    expect(present).toBe(true)
  })

  it("an unacknowledged QoS 1 message is redelivered with DUP after reconnect", async () => {
    const s = await open({ clientId: "redeliver", clean: false })
    await s.c.subscribeAsync("redeliver/t", { qos: 1 })
    // Drop PUBACKs: the raw socket is closed as soon as the message arrives.
    s.c.on("message", () => (s.c.stream as net.Socket).destroy())
    const pub = await open({ clientId: "redeliver-pub" })
    await pub.c.publishAsync("redeliver/t", "again", { qos: 1 })
    await until("first delivery", () => s.got.length === 1)
    const back = await open({ clientId: "redeliver", clean: false })
    // ack_wait is 1s in this suite: JetStream redelivers, and the broker resends it.
    await until("redelivery", () => back.got.length >= 1, 8000)
    expect(back.got[0]).toMatchObject({ topic: "redeliver/t", payload: "again", qos: 1, dup: true })
  })

  it("a QoS 2 PUBLISH resent to a resumed session before PUBREL is routed once (MQTT-4.3.3-2)", async () => {
    const sub = await open({ clientId: "q2s-sub" })
    await sub.c.subscribeAsync("q2s/t", { qos: 1 })
    const connect = {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "q2s",
      clean: false,
      keepalive: 30
    } as const
    const publish = {
      cmd: "publish",
      topic: "q2s/t",
      payload: Buffer.from("once"),
      qos: 2,
      messageId: 5,
      retain: false,
      dup: false
    } as const
    // CONNACK (no session yet) + PUBREC, then the connection drops before PUBREL.
    const first = await raw([connect, publish], PORT, 500, 8)
    expect(first.bytes).toEqual([0x20, 2, 0, 0, 0x50, 2, 0, 5])
    // Resumed: CONNACK session present, PUBREC for the resent PUBLISH, PUBCOMP for PUBREL.
    const second = await raw([connect, { ...publish, dup: true }, { cmd: "pubrel", messageId: 5 }], PORT, 500, 12)
    expect(second.bytes).toEqual([0x20, 2, 1, 0, 0x50, 2, 0, 5, 0x70, 2, 0, 5])
    await sleep(300)
    expect(sub.got.map((g) => g.payload)).toEqual(["once"])
  })

  it("a clean session starts empty and discards the old persistent state", async () => {
    const a = await open({ clientId: "cleaner", clean: false })
    await a.c.subscribeAsync("cleaner/t", { qos: 1 })
    await a.c.endAsync()
    const present = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(URL, { clientId: "cleaner", clean: true, reconnectPeriod: 0 })
      clients.push(c)
      c.on("connect", (ack) => resolve(ack.sessionPresent))
    })
    expect(present).toBe(false)
    const pub = await open({ clientId: "cleaner-pub" })
    await pub.c.publishAsync("cleaner/t", "lost", { qos: 1 })
    const b = await open({ clientId: "cleaner", clean: false })
    await sleep(500)
    expect(b.got).toEqual([])
  })

  it("a second CONNECT with the same client id takes the session over and closes the first", async () => {
    const a = await open({ clientId: "takeover" })
    const closed = new Promise<void>((r) => a.c.on("close", () => r()))
    const b = await open({ clientId: "takeover" })
    await closed
    await b.c.subscribeAsync("to/t", { qos: 0 })
    await b.c.publishAsync("to/t", "alive", { qos: 0 })
    await until("b works", () => b.got.length === 1)
  })

  it("an empty client id needs the clean flag (CONNACK 2), and is given one with it", async () => {
    // mqtt-packet will not encode this CONNECT (empty id, clean 0): the bytes by hand.
    const connect = Uint8Array.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 60, 0, 0])
    const reply = await raw([connect], PORT)
    expect(reply.bytes).toEqual([0x20, 0x02, 0x00, 0x02])
    expect(reply.closed).toBe(true)
    const ok = await open({ clientId: "", clean: true })
    expect(ok.c.connected).toBe(true)
  })

  it("a client silent past 1.5 x keepalive is disconnected and its will published", async () => {
    const watcher = await open({ clientId: "ka-watch" })
    await watcher.c.subscribeAsync("ka/will", { qos: 0 })
    // A raw CONNECT with keepalive 1s, then silence.
    const s = net.connect(PORT, "127.0.0.1")
    // Read the CONNACK: an unread socket never reports the broker's close.
    s.resume()
    const closed = new Promise<number>((r) => {
      const t = Date.now()
      s.on("close", () => r(Date.now() - t))
    })
    s.write(mqttPacket.generate({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "ka-raw",
      clean: true,
      keepalive: 1,
      will: { topic: "ka/will", payload: Buffer.from("timeout"), qos: 0, retain: false }
    }))
    const took = await closed
    expect(took).toBeGreaterThanOrEqual(1400)
    expect(took).toBeLessThan(4000)
    await until("will", () => watcher.got.length === 1)
    expect(watcher.got[0]!.payload).toBe("timeout")
  })
})

const mosquitto = spawnSync("which", ["mosquitto_pub"]).status === 0
if (!mosquitto) {
  console.log("mosquitto client tests skipped: mosquitto_pub not installed (apt-get install mosquitto-clients)")
}
describe.skipIf(!mosquitto)("mosquitto clients", () => {
  const run = (cmd: string, args: ReadonlyArray<string>) =>
    new Promise<string>((resolve, reject) =>
      execFile(cmd, [...args], { timeout: 10_000 }, (e, out) => (e ? reject(e) : resolve(out)))
    )

  it("mosquitto_pub QoS 1 reaches NATS and MQTT.js; mosquitto_sub gets a retained and a NATS message", async () => {
    const natsGot: Array<string> = []
    nc.subscribe("mosq.in", { callback: (_e, m) => void natsGot.push(m.string()) })
    await nc.flush()
    const js = await open({ clientId: "mosq-js" })
    await js.c.subscribeAsync("mosq/in", { qos: 1 })
    await run("mosquitto_pub", [
      "-h",
      "127.0.0.1",
      "-p",
      String(PORT),
      "-q",
      "1",
      "-t",
      "mosq/in",
      "-m",
      "from-mosquitto"
    ])
    await until("both", () => natsGot.length === 1 && js.got.length === 1)
    expect(natsGot).toEqual(["from-mosquitto"])
    expect(js.got[0]).toMatchObject({ payload: "from-mosquitto", qos: 1 })

    await run("mosquitto_pub", ["-h", "127.0.0.1", "-p", String(PORT), "-q", "1", "-r", "-t", "mosq/ret", "-m", "kept"])
    await sleep(200)
    const out = run("mosquitto_sub", [
      "-h",
      "127.0.0.1",
      "-p",
      String(PORT),
      "-q",
      "1",
      "-t",
      "mosq/#",
      "-v",
      "-C",
      "2",
      "-W",
      "8"
    ])
    await sleep(500)
    nc.publish("mosq.live", "from-nats")
    expect((await out).trim().split("\n").sort()).toEqual(["mosq/live from-nats", "mosq/ret kept"])
  })
})
