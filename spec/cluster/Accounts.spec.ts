/**
 * Accounts across routes: interest and messages carry the account (RS+ / RMSG), so accounts stay
 * apart across nodes; stream and service imports work with the two ends on different nodes, and
 * a message crosses an import once (cross-node traffic flows in the importing account; an import's
 * own subscription is neither announced nor fed from a route, so nothing loops or doubles).
 * JetStream's API is an ordinary subscription: a client on another node reaches it.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"

const BASE = 31800
const sc = new TextEncoder()
const dc = new TextDecoder()

const accountsConfig = () => {
  const text = `accounts {
  A: { jetstream: enabled, users: [ { user: a, password: a } ], exports: [ { stream: "ev.>" }, { service: "svc.>" } ] }
  B: {
    users: [ { user: b, password: b } ]
    imports: [ { stream: { account: A, subject: "ev.>" } }, { service: { account: A, subject: "svc.>" } } ]
  }
  SYS: { users: [ { user: sys, password: sys } ] }
}
system_account: SYS`
  const r = ConfigFile.load("/virtual/accounts.conf", { readFile: () => text, env: {} })
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  return r.config
}

let n1: ClusterNode
let n2: ClusterNode
let n3: ClusterNode
const clients: Array<NatsConnection> = []
const as = async (n: ClusterNode, user: "a" | "b" | "sys") => {
  const nc = await connect({ servers: n.url, user, pass: user, reconnect: false })
  clients.push(nc)
  return nc
}
afterEach(async () => {
  for (const nc of clients.splice(0)) await nc.close().catch(() => {})
})

beforeAll(async () => {
  const config = accountsConfig()
  n1 = await startNode({ name: "N1", routePort: BASE + 1, config })
  n2 = await startNode({ name: "N2", routePort: BASE + 2, routes: [BASE + 1], config: { ...config, jetstream: true } })
  n3 = await startNode({ name: "N3", routePort: BASE + 3, routes: [BASE + 1], config })
  await untilMesh([n1, n2, n3])
}, 30_000)

afterAll(async () => {
  await Promise.all([n1?.stop(), n2?.stop(), n3?.stop()])
})

/** Waits until `subject` in the account of `pub` reaches the subscriber `sub` (interest crossed the routes). */
const crossed = async (pub: NatsConnection, sub: NatsConnection, subject: string) => {
  let seen = false
  const s = sub.subscribe(subject, { callback: () => void (seen = true) })
  await sub.flush()
  await until(`interest in ${subject}`, () => {
    pub.publish(subject)
    return seen
  })
  s.unsubscribe()
  await sub.flush()
}

describe("accounts across routes", () => {
  it("keep their subject spaces apart on every node", async () => {
    const [pa, sa, sb] = await Promise.all([as(n1, "a"), as(n2, "a"), as(n2, "b")])
    const gotA: Array<string> = []
    const gotB: Array<string> = []
    sa.subscribe("plain.x", { callback: (_e, m) => void gotA.push(m.subject) })
    sb.subscribe("plain.x", { callback: (_e, m) => void gotB.push(m.subject) })
    await crossed(pa, sa, "plain.probe")
    pa.publish("plain.x")
    await until("A's delivery", () => gotA.length === 1)
    await sleep(100)
    assert.deepStrictEqual(gotB, [])
    const route = n1.cluster.routes().find((r) => r.remoteId === n2.server.serverId)!
    const accounts = new Set([...route.remoteSubscriptions()].map((s) => s.sid.split(" ")[0]))
    assert.isTrue(accounts.has("A") && accounts.has("B"))
  })

  it("a stream import delivers once to importers on every node, wherever the exporter publishes", async () => {
    const pub = await as(n1, "a")
    const subs = await Promise.all([as(n1, "b"), as(n2, "b"), as(n3, "b")])
    const got = subs.map(() => [] as Array<string>)
    subs.forEach((nc, i) => nc.subscribe("ev.>", { callback: (_e, m) => void got[i]!.push(dc.decode(m.data)) }))
    await Promise.all(subs.map((nc) => nc.flush()))
    await settle([n1, n2, n3])
    for (let i = 0; i < 5; i++) pub.publish("ev.thing", sc.encode(String(i)))
    await pub.flush()
    await until("imported deliveries", () => got.every((g) => g.length >= 5))
    await sleep(200)
    for (const g of got) assert.deepStrictEqual(g, ["0", "1", "2", "3", "4"])
  })

  it("a service import answers a requester on one node from a responder on another", async () => {
    const [responder, requester] = await Promise.all([as(n3, "a"), as(n2, "b")])
    let calls = 0
    responder.subscribe("svc.echo", {
      callback: (_e, m) => {
        calls++
        m.respond(sc.encode(`echo:${dc.decode(m.data)}`))
      }
    })
    await responder.flush()
    await settle([n1, n2, n3])
    const r = await requester.request("svc.echo", sc.encode("hi"), { timeout: 3000 })
    assert.strictEqual(dc.decode(r.data), "echo:hi")
    await sleep(100)
    assert.strictEqual(calls, 1)
  })
})

describe("the system account across routes", () => {
  it("$SYS.REQ.SERVER.PING is answered by every node, each listing its routes", async () => {
    const sys = await as(n1, "sys")
    const inbox = sys.subscribe("_INBOX.ping.>")
    const answers: Array<{ server: { name: string }; statsz: Record<string, unknown> }> = []
    void (async () => {
      for await (const m of inbox) answers.push(JSON.parse(dc.decode(m.data)))
    })()
    await sys.flush()
    await settle([n1, n2, n3])
    sys.publish("$SYS.REQ.SERVER.PING", sc.encode(""), { reply: "_INBOX.ping.1" })
    await until("three answers", () => answers.length === 3)
    await sleep(200)
    assert.sameMembers(answers.map((a) => a.server.name), ["N1", "N2", "N3"])
    for (const a of answers) {
      const routes = a.statsz.routes as Array<{ name: string; sent: { msgs: number } }>
      assert.strictEqual(routes.length, 2)
      assert.sameMembers(routes.map((r) => r.name), ["N1", "N2", "N3"].filter((n) => n !== a.server.name))
      assert.strictEqual(a.statsz.active_servers, 3)
    }
    inbox.unsubscribe()
  })
})

describe("JetStream through another node", () => {
  it("a client on N1 manages and uses a stream that lives on N2", async () => {
    const nc = await as(n1, "a")
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "ROUTED", subjects: ["routed.>"] })
    const js = jetstream(nc)
    const ack = await js.publish("routed.one", sc.encode("x"))
    assert.strictEqual(ack.stream, "ROUTED")
    assert.strictEqual(ack.seq, 1)
    const info = await jsm.streams.info("ROUTED")
    assert.strictEqual(info.state.messages, 1)
    // A push consumer on N2 delivers to a subscriber on N3: the message keeps its stream subject and
    // its ack reply (nats-server carries the subject after an `@` in the reply across the route).
    const far = await as(n3, "a")
    const got: Array<{ subject: string; reply: string | undefined }> = []
    far.subscribe("push.here", {
      callback: (_e, m) => {
        got.push({ subject: m.subject, reply: m.reply })
        m.respond()
      }
    })
    await far.flush()
    await settle([n1, n2, n3])
    await jsm.consumers.add("ROUTED", { durable_name: "pusher", deliver_subject: "push.here", ack_policy: "explicit" })
    await until("the push delivery", () => got.length === 1)
    assert.strictEqual(got[0]!.subject, "routed.one")
    assert.match(got[0]!.reply ?? "", /^\$JS\.ACK\.ROUTED\.pusher\.1\.1\.1\.\d+\.0$/)
    // The ack travels back over the route to the consumer on N2.
    let acked = 0
    for (let i = 0; i < 100 && acked !== 1; i++) {
      acked = (await jsm.consumers.info("ROUTED", "pusher")).ack_floor.stream_seq
      if (acked !== 1) await sleep(50)
    }
    assert.strictEqual(acked, 1)
    await jsm.streams.delete("ROUTED")
  })
})
