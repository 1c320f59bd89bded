/**
 * How a cluster forms and heals: gossip turns one seed into a full mesh, route authorization is
 * enforced (with nats-server's -ERR, compared on the wire), and a node killed and restarted while
 * official clients fail over keeps every subscription working.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import bcrypt from "bcryptjs"
import { spawn } from "node:child_process"
import * as net from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import { natsServerPath } from "../support/Broker.ts"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"
import { startCli } from "../support/Process.ts"

const BASE = 31600
const nodes: Array<ClusterNode> = []
const clients: Array<NatsConnection> = []
afterEach(async () => {
  for (const nc of clients.splice(0)) await nc.close().catch(() => {})
  for (const n of nodes.splice(0)) await n.stop().catch(() => {})
})
const node = async (o: Parameters<typeof startNode>[0]) => {
  const n = await startNode(o)
  nodes.push(n)
  return n
}

/** What a server's route port answers to a CONNECT: everything it sends until it closes (or 1 s). */
const routeHandshake = (port: number, connect: Record<string, unknown>) =>
  new Promise<string>((resolve) => {
    let got = ""
    const s = net.connect(port, "127.0.0.1", () => s.write(`CONNECT ${JSON.stringify(connect)}\r\n`))
    s.on("data", (d) => (got += d.toString("latin1")))
    s.on("close", () => resolve(got))
    s.on("error", () => {})
    setTimeout(() => {
      s.destroy()
      resolve(got)
    }, 1000)
  })
const errLines = (wire: string) => wire.split("\r\n").filter((l) => l.startsWith("-ERR"))

describe("gossip", () => {
  it("C names only A as its seed, and the three form a full mesh (routez shows 2 routes on every node)", async () => {
    const a = await node({ name: "A", routePort: BASE + 1, config: { httpPort: -1 } })
    const b = await node({ name: "B", routePort: BASE + 2, routes: [BASE + 1], config: { httpPort: -1 } })
    await untilMesh([a, b])
    const c = await node({ name: "C", routePort: BASE + 3, routes: [BASE + 1], config: { httpPort: -1 } })
    await untilMesh([a, b, c])
    for (const n of [a, b, c]) {
      const r = (await (await fetch(`http://127.0.0.1:${n.monitorPort}/routez`)).json()) as {
        num_routes: number
        routes: Array<{ remote_id: string; is_configured: boolean; did_solicit: boolean }>
      }
      assert.strictEqual(r.num_routes, 2, `${n.name}'s routez`)
      const others = [a, b, c].filter((x) => x !== n).map((x) => x.server.serverId)
      assert.sameMembers(r.routes.map((x) => x.remote_id), others)
    }
    // B and C found each other by gossip: the route between them is not a configured one.
    const bc = b.cluster.routes().find((r) => r.remoteId === c.server.serverId)!
    const cb = c.cluster.routes().find((r) => r.remoteId === b.server.serverId)!
    assert.isFalse(bc.configured && cb.configured)
    assert.isTrue(bc.didSolicit !== cb.didSolicit)
  })

  it("two servers that both name each other keep exactly one connection between them", async () => {
    const a = await node({ name: "A", routePort: BASE + 4, routes: [BASE + 5] })
    const b = await node({ name: "B", routePort: BASE + 5, routes: [BASE + 4] })
    await untilMesh([a, b])
    await sleep(1500)
    assert.strictEqual(a.cluster.routes().length, 1)
    assert.strictEqual(b.cluster.routes().length, 1)
    const [ra] = a.cluster.routes()
    const [rb] = b.cluster.routes()
    // The same TCP connection seen from both ends: one dialled it, the other accepted it.
    assert.notStrictEqual(ra!.didSolicit, rb!.didSolicit)
  })
})

describe("no_advertise", () => {
  it("keeps other servers' client URLs out of client INFO; the routes still carry traffic", async () => {
    const a = await node({ name: "A", routePort: BASE + 71, cluster: { noAdvertise: true } })
    const b = await node({ name: "B", routePort: BASE + 72, routes: [BASE + 71], cluster: { noAdvertise: true } })
    await untilMesh([a, b])
    const [pa, sb] = [await connect({ servers: a.url }), await connect({ servers: b.url })]
    clients.push(pa, sb)
    assert.isUndefined(pa.info?.connect_urls)
    assert.deepStrictEqual(pa.getServers().map((s) => s.listen), [`127.0.0.1:${a.port}`])
    const sub = sb.subscribe("na.x", { max: 1 })
    await sb.flush()
    await settle([a, b])
    pa.publish("na.x")
    for await (const m of sub) assert.strictEqual(m.subject, "na.x")
  })
})

describe("route authorization", () => {
  const auth = { user: "ruser", password: "s3cret", timeoutMs: 1000 }

  it("refuses a route with wrong or no credentials, accepts the right ones from the route URL", async () => {
    const a = await node({ name: "A", routePort: BASE + 11, cluster: { auth } })
    const bad = await node({ name: "Bad", routePort: BASE + 12, routes: [`nats://ruser:wrong@127.0.0.1:${BASE + 11}`] })
    const none = await node({ name: "None", routePort: BASE + 13, routes: [BASE + 11] })
    await sleep(1500)
    assert.strictEqual(a.cluster.routes().length, 0)
    assert.strictEqual(bad.cluster.routes().length, 0)
    assert.strictEqual(none.cluster.routes().length, 0)
    const good = await node({
      name: "Good",
      routePort: BASE + 14,
      routes: [`nats://ruser:s3cret@127.0.0.1:${BASE + 11}`]
    })
    await untilMesh([a, good])
    const [pa, sg] = [await connect({ servers: a.url }), await connect({ servers: good.url })]
    clients.push(pa, sg)
    const sub = sg.subscribe("auth.ok", { max: 1 })
    await sg.flush()
    await settle([a, good])
    pa.publish("auth.ok")
    for await (const m of sub) assert.strictEqual(m.subject, "auth.ok")
  })

  it("takes a bcrypt hash as the route password, as nats-server", async () => {
    const hashed = { ...auth, password: bcrypt.hashSync("s3cret", 4) }
    const a = await node({ name: "A", routePort: BASE + 16, cluster: { auth: hashed } })
    const b = await node({ name: "B", routePort: BASE + 17, routes: [`nats://ruser:s3cret@127.0.0.1:${BASE + 16}`] })
    await untilMesh([a, b])
    const wrong = await routeHandshake(a.routePort, {
      user: "ruser",
      pass: hashed.password,
      name: "X",
      cluster: "test"
    })
    assert.deepStrictEqual(errLines(wrong), ["-ERR 'Authorization Violation'"])
  })

  it("answers a bad route CONNECT with nats-server's -ERR, on the wire", async () => {
    const a = await node({ name: "A", routePort: BASE + 15, cluster: { auth } })
    const ours = await routeHandshake(a.routePort, { user: "ruser", pass: "nope", name: "X", cluster: "test" })
    assert.deepStrictEqual(errLines(ours), ["-ERR 'Authorization Violation'"])
    const client = await routeHandshake(a.routePort, { lang: "node", user: "ruser", pass: "s3cret" })
    assert.deepStrictEqual(errLines(client), ["-ERR 'attempted to connect to route port'"])
    const exe = natsServerPath()
    if (exe === undefined) {
      console.log("differential route authorization check skipped: nats-server is not on PATH")
      return
    }
    const conf = `/tmp/ejs-route-auth-${process.pid}.conf`
    const fs = await import("node:fs")
    fs.writeFileSync(
      conf,
      `port: ${BASE + 90}\nhost: 127.0.0.1\ncluster { name: test, listen: "127.0.0.1:${BASE + 91}", ` +
        `authorization { user: ruser, password: s3cret, timeout: 1 } }\n`
    )
    const child = spawn(exe, ["-c", conf], { stdio: "ignore" })
    try {
      let theirs = ""
      for (let i = 0; i < 50 && theirs === ""; i++) {
        await sleep(100)
        theirs = await routeHandshake(BASE + 91, { user: "ruser", pass: "nope", name: "X", cluster: "test" })
      }
      assert.deepStrictEqual(errLines(ours), errLines(theirs))
      const theirClient = await routeHandshake(BASE + 91, { lang: "node", user: "ruser", pass: "s3cret" })
      assert.deepStrictEqual(errLines(client), errLines(theirClient))
    } finally {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
      fs.rmSync(conf, { force: true })
    }
  })
})

describe("a node killed and restarted while clients fail over", () => {
  it("clients learn every node from connect_urls, reconnect elsewhere, and keep their subscriptions", async () => {
    // Fixed ports: the restarted node is found where its peers and clients knew it.
    const ports = { A: [BASE + 41, BASE + 31], B: [BASE + 42, BASE + 32], C: [BASE + 43, BASE + 33] } as const
    const start = (name: keyof typeof ports) =>
      startNode({
        name,
        clientPort: ports[name][0],
        routePort: ports[name][1],
        routes: Object.values(ports).map((p) => p[1]).filter((p) => p !== ports[name][1])
      })
    const a = await start("A")
    let b = await start("B")
    const c = await start("C")
    nodes.push(a, c)
    await untilMesh([a, b, c])
    // The subscriber names only B: A and C come from B's INFO.
    const sub = await connect({
      servers: b.url,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      pingInterval: 500
    })
    const pub = await connect({ servers: a.url })
    clients.push(sub, pub)
    await until("connect_urls", () => (sub.info?.connect_urls ?? []).length === 3)
    const got: Array<string> = []
    sub.subscribe("fo.>", { callback: (_e, m) => void got.push(m.subject) })
    const q: Array<string> = []
    sub.subscribe("fo.q", { queue: "g", callback: (_e, m) => void q.push(m.subject) })
    await sub.flush()
    await settle([a, b, c])
    pub.publish("fo.before")
    await until("first delivery", () => got.includes("fo.before"))

    await b.stop()
    // The client moves to A or C; its subscriptions are sent again there.
    await until("the subscriber to reconnect", () => sub.getServer() !== b.url.replace("nats://", ""), 15_000)
    await until("interest restored on A", () => a.router.hasInterest("fo.after"), 15_000)
    pub.publish("fo.after")
    pub.publish("fo.q")
    await until("delivery after failover", () => got.includes("fo.after") && q.length === 1, 10_000)

    b = await start("B")
    nodes.push(b)
    await untilMesh([a, b, c])
    const fromB = await connect({ servers: b.url })
    clients.push(fromB)
    await until("B to learn the subscriber's interest", () => b.router.hasInterest("fo.back"))
    fromB.publish("fo.back")
    await until("delivery from the restarted node", () => got.includes("fo.back"))
    await sleep(100)
    assert.strictEqual(got.filter((s) => s === "fo.back").length, 1)
    assert.strictEqual(got.filter((s) => s === "fo.after").length, 1)
  }, 60_000)

  it("a node killed with SIGKILL (child process): the others drop it, its clients move, it rejoins", async () => {
    const a = await node({ name: "A", routePort: BASE + 51 })
    const c = await node({ name: "C", routePort: BASE + 53, routes: [BASE + 51] })
    await untilMesh([a, c])
    const bArgs = [
      "-p",
      String(BASE + 62),
      "-n",
      "B",
      "--cluster",
      `nats://127.0.0.1:${BASE + 52}`,
      "--cluster_name",
      "test",
      "--routes",
      `nats://127.0.0.1:${BASE + 51}`
    ]
    let b = await startCli(bArgs)
    await until("B in the mesh", () => a.cluster.routes().length === 2 && c.cluster.routes().length === 2, 15_000)
    const sub = await connect({ servers: `127.0.0.1:${BASE + 62}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 })
    const pub = await connect({ servers: c.url })
    clients.push(sub, pub)
    await until("connect_urls", () => (sub.info?.connect_urls ?? []).length === 3)
    const got: Array<string> = []
    sub.subscribe("k9.>", { callback: (_e, m) => void got.push(m.subject) })
    await sub.flush()
    await until("interest on C", () => c.router.hasInterest("k9.x"))
    pub.publish("k9.before")
    await until("delivery through B", () => got.includes("k9.before"))

    await b.stop("SIGKILL")
    await until("A and C drop B", () => a.cluster.routes().length === 1 && c.cluster.routes().length === 1, 15_000)
    await until("the subscriber on A or C", () => !sub.getServer().endsWith(`:${BASE + 62}`), 15_000)
    await until("interest restored on C", () => c.router.hasInterest("k9.x"), 15_000)
    pub.publish("k9.after")
    await until("delivery after the kill", () => got.includes("k9.after"))

    b = await startCli(bArgs)
    try {
      await until(
        "B back in the mesh",
        () => a.cluster.routes().length === 2 && c.cluster.routes().length === 2,
        20_000
      )
      const fromB = await connect({ servers: `127.0.0.1:${BASE + 62}` })
      clients.push(fromB)
      let ok = false
      for (let i = 0; i < 100 && !ok; i++) {
        fromB.publish("k9.back")
        await fromB.flush()
        await sleep(50)
        ok = got.includes("k9.back")
      }
      assert.isTrue(ok, "a publish on the restarted node reached the moved subscriber")
      assert.strictEqual(got.filter((s) => s === "k9.after").length, 1)
    } finally {
      await b.stop("SIGKILL")
    }
  }, 90_000)
})
