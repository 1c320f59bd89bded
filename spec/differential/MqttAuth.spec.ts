/**
 * MQTT CONNECT credentials and user permissions against nats-server 2.9.10, one config text on both
 * servers: CONNACK return codes for good, bad, bcrypt and missing passwords, an empty user name, the
 * password as token, `no_auth_user`, `allowed_connection_types`, the `mqtt { authorization,
 * no_auth_user }` override, and what a user's publish/subscribe permissions do to MQTT PUBLISH
 * (dropped, still PUBACKed) and SUBSCRIBE (SUBACK 0x80), and `mqtt { tls }` (mqtts with MQTT.js,
 * mutual TLS, a plain client on the TLS port). Our side runs without nats-server; the
 * comparison is skipped with the reason printed when it is not on PATH.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import mqtt, { type MqttClient } from "mqtt"
import type * as mqttPacket from "mqtt-packet"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import {
  natsServerPath,
  type RunningBroker,
  type RunningNatsServer,
  startBroker,
  startNatsServer
} from "../support/Broker.ts"
import { raw, sleep, until } from "../support/Mqtt.ts"
import { makeCerts, type TestCerts } from "../tls/TlsCerts.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("MQTT auth differential skipped: nats-server is not on PATH")

// bcryptjs.hashSync("dpass", 4), with Go's `$2a$` prefix.
const DAVE = "$2a$04$wDmSDj8J/PK4JjELf/sffO935Prf0iJLrBdwpWLFGlGD0obhdkqBa"

const dirs: Array<string> = []
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mqtt-auth-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

interface Side {
  readonly mqttPort: number
  readonly natsUrl: string
  readonly stop: () => Promise<void>
}

/** Our broker (through the config-file loader, as `-c` would) and nats-server on the same text. */
const both = (name: string, ports: readonly [number, number], body: (store: string, port: number) => string) => {
  const sides: { ours?: Side; theirs?: Side } = {}
  beforeAll(async () => {
    const ourFile = path.join(tmp(), `${name}.conf`)
    fs.writeFileSync(ourFile, body(tmp(), ports[0]))
    const loaded = ConfigFile.load(ourFile)
    if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
    const b: RunningBroker = await startBroker({ ...loaded.config, host: "127.0.0.1", port: -1 })
    sides.ours = { mqttPort: ports[0], natsUrl: b.url, stop: b.stop }
    if (natsServer !== undefined) {
      const theirFile = path.join(tmp(), `${name}-nats.conf`)
      fs.writeFileSync(theirFile, body(tmp(), ports[1]))
      const n: RunningNatsServer = await startNatsServer(["-c", theirFile])
      sides.theirs = { mqttPort: ports[1], natsUrl: n.url, stop: n.stop }
    }
  })
  afterAll(async () => {
    await sides.ours?.stop()
    await sides.theirs?.stop()
  })
  return sides
}

const connectPacket = (
  clientId: string,
  creds: { username?: string; password?: string }
): mqttPacket.IConnectPacket => ({
  cmd: "connect",
  protocolId: "MQTT",
  protocolVersion: 4,
  clientId,
  clean: true,
  keepalive: 30,
  ...(creds.username !== undefined ? { username: creds.username } : {}),
  ...(creds.password !== undefined ? { password: Buffer.from(creds.password) } : {})
})

/** CONNACK bytes and whether the server closed the connection after it. */
const connack = async (port: number, clientId: string, creds: { username?: string; password?: string }) => {
  const r = await raw([connectPacket(clientId, creds)], port, 500, 4)
  return { bytes: r.bytes, closed: r.closed }
}

const clients: Array<MqttClient> = []
afterAll(() => {
  for (const c of clients) c.end(true)
})
const open = async (port: number, options: mqtt.IClientOptions) => {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, ...options })
  clients.push(c)
  return c
}

/** SUBACK codes; MQTT.js rejects a SUBACK with a 0x80 in it, so it is read off the packet. */
const suback = (c: MqttClient, filters: Record<string, { qos: 0 | 1 }>): Promise<Array<number>> =>
  new Promise((resolve) => {
    const on = (p: mqttPacket.Packet) => {
      if (p.cmd !== "suback") return
      c.off("packetreceive", on)
      resolve(p.granted.map((g) => (typeof g === "number" ? g : (g as { qos: number }).qos)))
    }
    c.on("packetreceive", on)
    c.subscribe(filters, () => undefined)
  })

const compare = async (sides: { ours?: Side; theirs?: Side }, scenario: (s: Side) => Promise<unknown>) => {
  const ours = await scenario(sides.ours!)
  if (sides.theirs === undefined) return ours
  const theirs = await scenario(sides.theirs)
  expect(ours).toEqual(theirs)
  return ours
}

const ACCEPTED = [0x20, 0x02, 0x00, 0x00]
const NOT_AUTHORIZED = [0x20, 0x02, 0x00, 0x05]
const BAD_USER = [0x20, 0x02, 0x00, 0x04]

describe("MQTT with server users", () => {
  const sides = both("users", [30501, 30601], (store, port) =>
    `server_name: s
jetstream { store_dir: "${store}" }
authorization {
  users: [
    { user: admin, password: apass }
    { user: alice, password: apass, permissions: { publish: ["a.>"], subscribe: ["a.>"] } }
    { user: bob, password: bpass, permissions: { publish: { deny: ["secret.>"] } } }
    { user: carol, password: cpass, allowed_connection_types: ["STANDARD"] }
    { user: dave, password: "${DAVE}" }
    { user: erin, password: epass, allowed_connection_types: ["MQTT"] }
  ]
}
no_auth_user: bob
mqtt { host: 127.0.0.1, port: ${port} }
`)

  it("answers CONNECT credentials with nats-server's CONNACK codes", async () => {
    const got = await compare(sides, async (s) => ({
      good: await connack(s.mqttPort, "u1", { username: "alice", password: "apass" }),
      badPassword: await connack(s.mqttPort, "u2", { username: "alice", password: "nope" }),
      unknownUser: await connack(s.mqttPort, "u3", { username: "zed", password: "apass" }),
      noPassword: await connack(s.mqttPort, "u4", { username: "alice" }),
      emptyUser: await connack(s.mqttPort, "u5", { username: "" }),
      bcrypt: await connack(s.mqttPort, "u6", { username: "dave", password: "dpass" }),
      bcryptWrong: await connack(s.mqttPort, "u7", { username: "dave", password: "apass" }),
      standardOnly: await connack(s.mqttPort, "u8", { username: "carol", password: "cpass" }),
      mqttOnly: await connack(s.mqttPort, "u9", { username: "erin", password: "epass" }),
      noAuthUser: await connack(s.mqttPort, "u10", {})
    }))
    expect(got).toEqual({
      good: { bytes: ACCEPTED, closed: false },
      badPassword: { bytes: NOT_AUTHORIZED, closed: true },
      unknownUser: { bytes: NOT_AUTHORIZED, closed: true },
      noPassword: { bytes: NOT_AUTHORIZED, closed: true },
      emptyUser: { bytes: BAD_USER, closed: true },
      bcrypt: { bytes: ACCEPTED, closed: false },
      bcryptWrong: { bytes: NOT_AUTHORIZED, closed: true },
      standardOnly: { bytes: NOT_AUTHORIZED, closed: true },
      mqttOnly: { bytes: ACCEPTED, closed: false },
      noAuthUser: { bytes: ACCEPTED, closed: false }
    })
  })

  it("applies the user's permissions: denied SUBSCRIBE is 0x80, denied PUBLISH (or will) is dropped but acknowledged", async () => {
    const got = await compare(sides, async (s) => {
      const nc: NatsConnection = await connect({ servers: s.natsUrl, user: "admin", pass: "apass" })
      const seen: Array<string> = []
      for (const f of ["a.>", "b.>", "open.>", "secret.>"]) {
        nc.subscribe(f, { callback: (_e, m) => void seen.push(m.subject) })
      }
      await nc.flush()
      const alice = await open(s.mqttPort, { clientId: "p-alice", username: "alice", password: "apass" })
      const granted = await suback(alice, { "a/+": { qos: 0 }, "b/x": { qos: 0 }, "a/#": { qos: 0 } })
      const inbox: Array<string> = []
      alice.on("message", (t) => inbox.push(t))
      await alice.publishAsync("a/one", "x", { qos: 1 })
      await alice.publishAsync("b/two", "x", { qos: 1 })
      await alice.publishAsync("b/three", "x", { qos: 0 })
      // The anonymous client is no_auth_user bob: everything but secret.>.
      const bob = await open(s.mqttPort, { clientId: "p-bob" })
      await bob.publishAsync("secret/x", "x", { qos: 1 })
      await bob.publishAsync("open/x", "x", { qos: 0 })
      // Wills go through the same check when the socket drops without DISCONNECT.
      for (const topic of ["secret/w", "open/w"]) {
        const packet = {
          ...connectPacket(`w-${topic}`, {}),
          will: { topic, payload: Buffer.from("w"), qos: 0 as const, retain: false }
        }
        await raw([packet], s.mqttPort, 500, 4)
      }
      await until("the allowed will", () => seen.includes("open.w"))
      nc.publish("b.x", "from nats")
      nc.publish("a.z", "from nats")
      await until("a.z at alice", () => inbox.includes("a/z"))
      await sleep(200)
      await alice.endAsync()
      await bob.endAsync()
      await nc.close()
      return { granted, seen: seen.sort(), inbox: inbox.sort() }
    })
    expect(got).toEqual({
      // "a/#" is "a.>" and "a" to both servers; "a" is outside alice's subscribe permission.
      granted: [0, 128, 128],
      seen: ["a.one", "a.z", "b.x", "open.w", "open.x"],
      inbox: ["a/one", "a/z"]
    })
  })

  // nats-server 2.9.10 subscribes the consumer's `$MQTT.sub.<id>` deliver subject under the user's
  // permissions, so a QoS 1 SUBSCRIBE inside them gets 0x80 unless `$MQTT.sub.>` is allowed too;
  // nats-server 2.12+ (PR 7637) allows `$MQTT.` implicitly for MQTT clients, as here.
  it("grants a QoS 1 SUBSCRIBE inside the user's permissions and delivers at QoS 1 (as nats-server 2.12+)", async () => {
    const s = sides.ours!
    const alice = await open(s.mqttPort, { clientId: "q-alice", username: "alice", password: "apass" })
    expect(await suback(alice, { "a/q": { qos: 1 }, "b/q": { qos: 1 } })).toEqual([1, 128])
    const got = new Promise<string>((r) => alice.once("message", (t, p, pk) => r(`${t} ${p} q${pk.qos}`)))
    const pub = await open(s.mqttPort, { clientId: "q-admin", username: "admin", password: "apass" })
    await pub.publishAsync("a/q", "one", { qos: 1 })
    expect(await got).toBe("a/q one q1")
    await alice.endAsync()
    await pub.endAsync()
  })
})

describe("mqtt { authorization } overrides the top-level token", () => {
  const sides = both("override", [30502, 30602], (store, port) =>
    `server_name: s
jetstream { store_dir: "${store}" }
authorization { token: toptok }
mqtt { host: 127.0.0.1, port: ${port}, authorization { user: m, password: mp, timeout: 3 } }
`)

  it("checks MQTT clients against the block, NATS clients against the top level", async () => {
    const got = await compare(sides, async (s) => {
      const nc = await connect({ servers: s.natsUrl, token: "toptok" })
      await nc.close()
      return {
        blockUser: await connack(s.mqttPort, "o1", { username: "m", password: "mp" }),
        topToken: await connack(s.mqttPort, "o2", { username: "t", password: "toptok" }),
        none: await connack(s.mqttPort, "o3", {})
      }
    })
    expect(got).toEqual({
      blockUser: { bytes: ACCEPTED, closed: false },
      topToken: { bytes: NOT_AUTHORIZED, closed: true },
      none: { bytes: NOT_AUTHORIZED, closed: true }
    })
  })
})

// MQTT 3.1.1 sends no password without a user name (MQTT-3.1.2-22): the token rides with any name.
describe("top-level token for MQTT clients (the password is the token)", () => {
  const sides = both("token", [30503, 30603], (store, port) =>
    `server_name: s
jetstream { store_dir: "${store}" }
authorization { token: toptok }
mqtt { host: 127.0.0.1, port: ${port} }
`)

  it("accepts the token as the password, whatever the user name", async () => {
    const got = await compare(sides, async (s) => ({
      token: await connack(s.mqttPort, "t1", { username: "a", password: "toptok" }),
      withUser: await connack(s.mqttPort, "t2", { username: "any", password: "toptok" }),
      wrong: await connack(s.mqttPort, "t3", { username: "a", password: "nope" }),
      none: await connack(s.mqttPort, "t4", {})
    }))
    expect(got).toEqual({
      token: { bytes: ACCEPTED, closed: false },
      withUser: { bytes: ACCEPTED, closed: false },
      wrong: { bytes: NOT_AUTHORIZED, closed: true },
      none: { bytes: NOT_AUTHORIZED, closed: true }
    })
  })
})

describe("mqtt { no_auth_user } overrides the top-level one", () => {
  const sides = both("noauth", [30504, 30604], (store, port) =>
    `server_name: s
jetstream { store_dir: "${store}" }
authorization { users: [ { user: x, password: xp }, { user: y, password: yp, permissions: { subscribe: ["y.>"] } } ] }
no_auth_user: x
mqtt { host: 127.0.0.1, port: ${port}, no_auth_user: y }
`)

  it("an MQTT client without credentials is the block's user", async () => {
    const got = await compare(sides, async (s) => {
      const c = await open(s.mqttPort, { clientId: "n1" })
      const granted = await suback(c, { "y/a": { qos: 0 }, "x/a": { qos: 0 } })
      await c.endAsync()
      return granted
    })
    expect(got).toEqual([0, 128])
  })
})

describe("mqtt { tls }", () => {
  const certs: TestCerts = makeCerts()
  afterAll(() => certs.remove())
  const sides = both("tls", [30505, 30605], (store, port) =>
    `server_name: s
jetstream { store_dir: "${store}" }
authorization { users: [ { user: u, password: up } ] }
mqtt {
  host: 127.0.0.1, port: ${port}
  tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.ca}", verify: true, timeout: 1 }
}
`)

  /** How an MQTT.js connection attempt ends: "connected", or the CONNACK code / "failed". */
  const attempt = async (url: string, options: mqtt.IClientOptions): Promise<string> => {
    // MQTT.js neither resolves nor rejects when the socket closes before CONNACK: end events decide.
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, ...options })
    clients.push(c)
    const outcome = await new Promise<string>((resolve) => {
      c.once("connect", () => resolve("connected"))
      c.once("error", (e) => {
        const code = (e as { code?: unknown }).code
        resolve(typeof code === "number" ? `connack ${code}` : "failed")
      })
      c.once("close", () => resolve("failed"))
    })
    c.end(true)
    return outcome
  }

  it("serves mqtts with client certificates, and CONNECT credentials still apply", async () => {
    const got = await compare(sides, async (s) => {
      const secure = {
        ca: fs.readFileSync(certs.ca),
        cert: fs.readFileSync(certs.clientCert),
        key: fs.readFileSync(certs.clientKey)
      }
      const url = `mqtts://127.0.0.1:${s.mqttPort}`
      return {
        good: await attempt(url, { ...secure, clientId: "tls1", username: "u", password: "up" }),
        badPassword: await attempt(url, { ...secure, clientId: "tls2", username: "u", password: "no" }),
        noClientCert: await attempt(url, { ca: secure.ca, clientId: "tls3", username: "u", password: "up" }),
        plain: await attempt(`mqtt://127.0.0.1:${s.mqttPort}`, { clientId: "tls4", username: "u", password: "up" })
      }
    })
    expect(got).toEqual({ good: "connected", badPassword: "connack 5", noClientCert: "failed", plain: "failed" })
  })
})
