/**
 * Three brokers joined by routes, used through the official client with publisher and subscriber
 * on different nodes: every message reaches each interested subscriber exactly once, queue groups
 * spread across the cluster with one delivery per message, request/reply and no-responders see the
 * whole cluster, interest follows subscribe/unsubscribe/auto-unsubscribe and late joiners.
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const BASE = 31300

let a: ClusterNode
let b: ClusterNode
let c: ClusterNode
const clients: Array<NatsConnection> = []
const open = async (n: ClusterNode) => {
  const nc = await connect({ servers: n.url, reconnect: false })
  clients.push(nc)
  return nc
}

beforeAll(async () => {
  a = await startNode({ name: "A", routePort: BASE + 1 })
  b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1] })
  c = await startNode({ name: "C", routePort: BASE + 3, routes: [BASE + 1, BASE + 2] })
  await untilMesh([a, b, c])
}, 30_000)

// Each test's clients (and so their interest) are gone before the next test.
afterEach(async () => {
  for (const nc of clients.splice(0)) await nc.close().catch(() => {})
  await settle([a, b, c])
})

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()])
})

describe("core NATS across routes", () => {
  it("forms one mesh: each node has one route to each other node", () => {
    for (const n of [a, b, c]) {
      const peers = n.cluster.routes().map((r) => r.remoteInfo?.server_name).sort()
      assert.deepStrictEqual(peers, ["A", "B", "C"].filter((x) => x !== n.name))
    }
  })

  it("pub/sub: a subscriber on every other node gets each message once, in order", async () => {
    const [pa, sb, sc2] = await Promise.all([open(a), open(b), open(c)])
    const gotB: Array<string> = []
    const gotC: Array<string> = []
    sb.subscribe("greet.joe", { callback: (_e, m) => void gotB.push(dc.decode(m.data)) })
    sc2.subscribe("greet.joe", { callback: (_e, m) => void gotC.push(dc.decode(m.data)) })
    await Promise.all([sb.flush(), sc2.flush()])
    await settle([a, b, c])
    for (const p of ["1", "2", "3", "4"]) pa.publish("greet.joe", sc.encode(p))
    await pa.flush()
    await until("deliveries", () => gotB.length === 4 && gotC.length === 4)
    await sleep(100)
    assert.deepStrictEqual(gotB, ["1", "2", "3", "4"])
    assert.deepStrictEqual(gotC, ["1", "2", "3", "4"])
  })

  it("several matching subscriptions on one node: the route carries one copy, each subscription gets it", async () => {
    const [pa, sb] = await Promise.all([open(a), open(b)])
    const seen: Record<string, Array<string>> = {}
    for (const p of ["w.*", "w.>", "*.x", ">"]) {
      seen[p] = []
      sb.subscribe(p, { callback: (_e, m) => void seen[p]!.push(m.subject) })
    }
    await sb.flush()
    await settle([a, b, c])
    const route = a.cluster.routes().find((r) => r.remoteInfo?.server_name === "B")!
    const before = route.stats.outMsgs
    for (const s of ["w.x", "w.y.z", "q.x"]) pa.publish(s)
    await pa.flush()
    await until("wildcard deliveries", () => seen[">"]!.length === 3)
    await sleep(100)
    assert.deepStrictEqual(seen["w.*"], ["w.x"])
    assert.deepStrictEqual(seen["w.>"], ["w.x", "w.y.z"])
    assert.deepStrictEqual(seen["*.x"], ["w.x", "q.x"])
    assert.deepStrictEqual(seen[">"], ["w.x", "w.y.z", "q.x"])
    assert.strictEqual(route.stats.outMsgs - before, 3)
  })

  it("headers and binary payloads cross intact (HMSG on the route)", async () => {
    const [pa, sc2] = await Promise.all([open(a), open(c)])
    const sub = sc2.subscribe("h.test", { max: 1 })
    await sc2.flush()
    await settle([a, b, c])
    const h = headers()
    h.set("X-Trace", "abc")
    h.append("X-Multi", "1")
    h.append("X-Multi", "2")
    const binary = new Uint8Array(300).map((_, i) => i % 256)
    pa.publish("h.test", binary, { headers: h })
    for await (const m of sub) {
      assert.strictEqual(m.headers?.get("X-Trace"), "abc")
      assert.deepStrictEqual(m.headers?.values("X-Multi"), ["1", "2"])
      assert.deepStrictEqual([...m.data], [...binary])
    }
  })

  it("queue groups span nodes: each message to exactly one member cluster-wide, members on every node used", async () => {
    const [pa, sa, sb, sc2] = await Promise.all([open(a), open(a), open(b), open(c)])
    const counts = { A: 0, B: 0, C: 0 }
    const ids = new Set<string>()
    let dup = 0
    const member = (nc: NatsConnection, who: keyof typeof counts) =>
      nc.subscribe("work", {
        queue: "workers",
        callback: (_e, m) => {
          counts[who]++
          const id = dc.decode(m.data)
          if (ids.has(id)) dup++
          ids.add(id)
        }
      })
    member(sa, "A")
    member(sb, "B")
    member(sc2, "C")
    await Promise.all([sa.flush(), sb.flush(), sc2.flush()])
    await settle([a, b, c])
    const total = 300
    for (let i = 0; i < total; i++) pa.publish("work", sc.encode(String(i)))
    await pa.flush()
    await until("queue deliveries", () => ids.size === total)
    await sleep(150)
    assert.strictEqual(dup, 0)
    assert.strictEqual(counts.A + counts.B + counts.C, total)
    // Weighted by members: each of the three servers has one, so each gets a real share.
    for (const n of [counts.A, counts.B, counts.C]) assert.isAbove(n, total / 10)
  })

  it("a queue group on one remote node only: that node's members share every message", async () => {
    const [pa, s1, s2] = await Promise.all([open(a), open(b), open(b)])
    let n1 = 0
    let n2 = 0
    s1.subscribe("only.b", { queue: "g", callback: () => void n1++ })
    s2.subscribe("only.b", { queue: "g", callback: () => void n2++ })
    await Promise.all([s1.flush(), s2.flush()])
    await settle([a, b, c])
    const group = a.router.sublist.match("only.b").qsubs[0]!
    assert.strictEqual(group.length, 1)
    assert.strictEqual(group[0]!.weight, 2)
    for (let i = 0; i < 100; i++) pa.publish("only.b")
    await pa.flush()
    await until("all delivered", () => n1 + n2 === 100)
    await sleep(100)
    assert.strictEqual(n1 + n2, 100)
    assert.isAbove(n1, 10)
    assert.isAbove(n2, 10)
  })

  it("request/reply across nodes, and no-responders only when no node has interest", async () => {
    const [ra, sc2] = await Promise.all([open(a), open(c)])
    sc2.subscribe("svc.echo", { callback: (_e, m) => void m.respond(sc.encode(`echo:${dc.decode(m.data)}`)) })
    await sc2.flush()
    await settle([a, b, c])
    const r = await ra.request("svc.echo", sc.encode("hi"), { timeout: 2000 })
    assert.strictEqual(dc.decode(r.data), "echo:hi")
    const err = await ra.request("svc.nobody", sc.encode("x"), { timeout: 2000 }).then(
      () => undefined,
      (e: Error) => e
    )
    assert.match(String(err?.message), /no responders/)
  })

  it("unsubscribe withdraws interest from the other nodes", async () => {
    const sb = await open(b)
    const sub = sb.subscribe("gone.soon")
    await sb.flush()
    await settle([a, b, c])
    assert.isTrue(a.router.hasInterest("gone.soon"))
    assert.isTrue(c.router.hasInterest("gone.soon"))
    sub.unsubscribe()
    await sb.flush()
    await settle([a, b, c])
    assert.isFalse(a.router.hasInterest("gone.soon"))
    assert.isFalse(c.router.hasInterest("gone.soon"))
  })

  it("auto-unsubscribe after max: exactly max delivered, then the interest goes away everywhere", async () => {
    const [pa, sb] = await Promise.all([open(a), open(b)])
    let n = 0
    sb.subscribe("limited", { max: 3, callback: () => void n++ })
    await sb.flush()
    await settle([a, b, c])
    for (let i = 0; i < 6; i++) pa.publish("limited")
    await pa.flush()
    await until("three deliveries", () => n === 3)
    await settle([a, b, c])
    await sleep(100)
    assert.strictEqual(n, 3)
    assert.isFalse(a.router.hasInterest("limited"))
  })

  it("a client closing withdraws all its interest", async () => {
    const sb = await connect({ servers: b.url, reconnect: false })
    sb.subscribe("bye.1")
    sb.subscribe("bye.2", { queue: "q" })
    await sb.flush()
    await settle([a, b, c])
    assert.isTrue(a.router.hasInterest("bye.2"))
    await sb.close()
    await until("the close to reach B", () => !b.router.hasInterest("bye.1"))
    await settle([a, b, c])
    assert.isFalse(a.router.hasInterest("bye.1"))
    assert.isFalse(a.router.hasInterest("bye.2"))
  })

  it("client INFO lists every node's client URL and the cluster name", async () => {
    const nc = await open(a)
    const info = nc.info!
    assert.strictEqual(info.cluster, "test")
    assert.sameMembers(info.connect_urls ?? [], [a, b, c].map((n) => `127.0.0.1:${n.port}`))
  })
})

describe("a node that joins late", () => {
  it("gets the existing interest in the initial RS+ burst, and announces its own", async () => {
    const [sa, sb] = await Promise.all([open(a), open(b)])
    const got: Array<string> = []
    sa.subscribe("late.>", { callback: (_e, m) => void got.push(`A:${m.subject}`) })
    sb.subscribe("late.q", { queue: "lq", callback: (_e, m) => void got.push(`B:${m.subject}`) })
    await Promise.all([sa.flush(), sb.flush()])
    const watcher = await open(c)
    const d = await startNode({
      name: "D",
      routePort: BASE + 4,
      routes: [BASE + 2],
      config: { pingIntervalMs: 120_000 }
    })
    try {
      const sd = await connect({ servers: d.url, reconnect: false })
      clients.push(sd)
      const fromD: Array<string> = []
      sd.subscribe("back.to.d", { callback: (_e, m) => void fromD.push(m.subject) })
      await sd.flush()
      await untilMesh([a, b, c, d])
      // Clients already connected hear of the new server by an async INFO with its client URL.
      await until("the async INFO", () => watcher.getServers().some((s) => s.listen === `127.0.0.1:${d.port}`))
      await settle([a, b, c, d])
      sd.publish("late.q")
      sd.publish("late.x")
      await sd.flush()
      await until("late deliveries", () => got.length === 3)
      assert.sameMembers(got, ["A:late.q", "A:late.x", "B:late.q"])
      sa.publish("back.to.d")
      await sa.flush()
      await until("D's own subscription served", () => fromD.length === 1)
    } finally {
      await d.stop()
    }
    await until("D gone from every node", () => [a, b, c].every((n) => n.cluster.routes().length === 2))
  })
})
