/**
 * How a cluster forms and heals: gossip turns one seed into a full mesh, route authorization is
 * enforced (with nats-server's -ERR, compared on the wire), and a node killed and restarted while
 * official clients fail over keeps every subscription working.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import bcrypt from "bcryptjs"
import * as net from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import { natsServerPath, startNatsServer } from "../support/Broker.ts"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"
import { type BrokerProcess, startCli } from "../support/Process.ts"

// Every listener is on a port the kernel picks (-1): a fixed port left bound by a failed run, or by
// another spec, would fail the next run.
const nodes: Array<ClusterNode> = []
const clients: Array<NatsConnection> = []
const children: Array<BrokerProcess> = []
afterEach(async () => {
  for (const nc of clients.splice(0)) await nc.close().catch(() => {})
  for (const n of nodes.splice(0)) await n.stop().catch(() => {})
  // A child broker is killed whatever the test did: an assertion failure must not leave it running.
  await Promise.all(children.splice(0).map((p) => p.child.exitCode === null ? p.stop("SIGKILL") : undefined))
})
const node = async (o: Omit<Parameters<typeof startNode>[0], "routePort"> & { routePort?: number }) => {
  const n = await startNode({ routePort: -1, ...o })
  nodes.push(n)
  return n
}
const child = async (args: ReadonlyArray<string>) => {
  const p = await startCli(args)
  children.push(p)
  return p
}
/** A port nothing listens on now (for a server that must be named by a peer before it starts). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

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
    const a = await node({ name: "A", config: { httpPort: -1 } })
    const b = await node({ name: "B", routes: [a.routePort], config: { httpPort: -1 } })
    await untilMesh([a, b])
    const c = await node({ name: "C", routes: [a.routePort], config: { httpPort: -1 } })
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
    // B dials A's port before A listens there (route dials are retried every second).
    const aPort = await freePort()
    const b = await node({ name: "B", routes: [aPort] })
    const a = await node({ name: "A", routePort: aPort, routes: [b.routePort] })
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

describe("client INFO", () => {
  const infos = (wire: string) =>
    wire.split("\r\n").filter((l) => l.startsWith("INFO ")).map((l) =>
      JSON.parse(l.slice(5)) as { connect_urls?: Array<string> }
    )
  /** A raw client: its greeting is read, then `between` runs, then it sends `connect` and a PING. */
  const greetThenConnect = async (port: number, between: () => Promise<void>, connect: string) => {
    const s = net.connect(port, "127.0.0.1")
    let wire = ""
    s.on("data", (d) => (wire += d.toString("latin1")))
    try {
      await until("the greeting", () => wire.includes("\r\n"))
      await between()
      s.write(`CONNECT ${connect}\r\nPING\r\n`)
      await until("PONG", () => wire.includes("PONG\r\n"))
      await sleep(100)
      return infos(wire)
    } finally {
      s.destroy()
    }
  }

  it("a route formed between a client's greeting and its CONNECT reaches the client in an INFO", async () => {
    // Under load a client's CONNECT comes late; a cluster change in between used to be lost for good
    // (async INFO goes only to clients past CONNECT), so its connect_urls missed a node.
    const a = await node({ name: "A" })
    let b: ClusterNode | undefined
    const got = await greetThenConnect(a.port, async () => {
      b = await node({ name: "B", routes: [a.routePort] })
      await untilMesh([a, b])
    }, `{"protocol":1,"verbose":false}`)
    assert.strictEqual(got.length, 2)
    assert.deepStrictEqual(got[0]!.connect_urls, [`127.0.0.1:${a.port}`])
    assert.sameMembers(got[1]!.connect_urls ?? [], [`127.0.0.1:${a.port}`, `127.0.0.1:${b!.port}`])
    // Without a change in between there is nothing to send again.
    const same = await greetThenConnect(a.port, async () => {}, `{"protocol":1,"verbose":false}`)
    assert.strictEqual(same.length, 1)
    // A protocol 0 client takes no async INFO.
    const old = await greetThenConnect(a.port, async () => {
      await b!.stop()
      nodes.splice(nodes.indexOf(b!), 1)
      await until("A drops B", () => a.cluster.routes().length === 0)
    }, `{"protocol":0,"verbose":false}`)
    assert.strictEqual(old.length, 1)
  })
})

describe("cluster names", () => {
  it("a generated name yields to a peer's configured one; two configured names never route", async () => {
    const a = await node({ name: "A", cluster: { name: undefined } })
    const b = await node({ name: "B", routes: [a.routePort], clusterName: "fixed" })
    await untilMesh([a, b])
    assert.strictEqual(a.cluster.name(), "fixed")
    const nc = await connect({ servers: a.url })
    clients.push(nc)
    assert.strictEqual(nc.info?.cluster, "fixed")
    const other = await node({ name: "O", routes: [a.routePort], clusterName: "other" })
    await sleep(1500)
    assert.strictEqual(other.cluster.routes().length, 0)
    assert.strictEqual(a.cluster.routes().length, 1)
  })
})

describe("no_advertise", () => {
  it("keeps other servers' client URLs out of client INFO; the routes still carry traffic", async () => {
    const a = await node({ name: "A", cluster: { noAdvertise: true } })
    const b = await node({ name: "B", routes: [a.routePort], cluster: { noAdvertise: true } })
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
    const a = await node({ name: "A", cluster: { auth } })
    const bad = await node({ name: "Bad", routes: [`nats://ruser:wrong@127.0.0.1:${a.routePort}`] })
    const none = await node({ name: "None", routes: [a.routePort] })
    await sleep(1500)
    assert.strictEqual(a.cluster.routes().length, 0)
    assert.strictEqual(bad.cluster.routes().length, 0)
    assert.strictEqual(none.cluster.routes().length, 0)
    const good = await node({ name: "Good", routes: [`nats://ruser:s3cret@127.0.0.1:${a.routePort}`] })
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
    const a = await node({ name: "A", cluster: { auth: hashed } })
    const b = await node({ name: "B", routes: [`nats://ruser:s3cret@127.0.0.1:${a.routePort}`] })
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
    const a = await node({ name: "A", cluster: { auth } })
    const ours = await routeHandshake(a.routePort, { user: "ruser", pass: "nope", name: "X", cluster: "test" })
    assert.deepStrictEqual(errLines(ours), ["-ERR 'Authorization Violation'"])
    const client = await routeHandshake(a.routePort, { lang: "node", user: "ruser", pass: "s3cret" })
    assert.deepStrictEqual(errLines(client), ["-ERR 'attempted to connect to route port'"])
    const exe = natsServerPath()
    if (exe === undefined) {
      console.log("differential route authorization check skipped: nats-server is not on PATH")
      return
    }
    const fs = await import("node:fs")
    const conf = `/tmp/ejs-route-auth-${process.pid}.conf`
    fs.writeFileSync(
      conf,
      `cluster { name: test, listen: "127.0.0.1:-1", authorization { user: ruser, password: s3cret, timeout: 1 } }\n`
    )
    const theirServer = await startNatsServer(["-c", conf])
    try {
      const port = theirServer.routePort!
      const theirs = await routeHandshake(port, { user: "ruser", pass: "nope", name: "X", cluster: "test" })
      assert.deepStrictEqual(errLines(ours), errLines(theirs))
      const theirClient = await routeHandshake(port, { lang: "node", user: "ruser", pass: "s3cret" })
      assert.deepStrictEqual(errLines(client), errLines(theirClient))
    } finally {
      await theirServer.stop()
      fs.rmSync(conf, { force: true })
    }
  })
})

describe("a node killed and restarted while clients fail over", () => {
  it("clients learn every node from connect_urls, reconnect elsewhere, and keep their subscriptions", async () => {
    // B and C name A; the restarted B dials A again and learns C from it (gossip).
    const a = await node({ name: "A" })
    let b = await startNode({ name: "B", routePort: -1, routes: [a.routePort] })
    let bStopped = false
    const c = await node({ name: "C", routes: [a.routePort] })
    try {
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

      bStopped = true
      await b.stop()
      // The client moves to A or C; its subscriptions are sent again there.
      await until("the subscriber to reconnect", () => sub.getServer() !== b.url.replace("nats://", ""), 15_000)
      await until("interest restored on A", () => a.router.hasInterest("fo.after"), 15_000)
      pub.publish("fo.after")
      pub.publish("fo.q")
      await until("delivery after failover", () => got.includes("fo.after") && q.length === 1, 10_000)

      b = await node({ name: "B", routes: [a.routePort] })
      await untilMesh([a, b, c])
      const fromB = await connect({ servers: b.url })
      clients.push(fromB)
      await until("B to learn the subscriber's interest", () => b.router.hasInterest("fo.back"))
      fromB.publish("fo.back")
      await until("delivery from the restarted node", () => got.includes("fo.back"))
      await sleep(100)
      assert.strictEqual(got.filter((s) => s === "fo.back").length, 1)
      assert.strictEqual(got.filter((s) => s === "fo.after").length, 1)
    } finally {
      if (!bStopped) await b.stop()
    }
  }, 60_000)

  it("a node killed with SIGKILL (child process): the others drop it, its clients move, it rejoins", async () => {
    const a = await node({ name: "A" })
    const c = await node({ name: "C", routes: [a.routePort] })
    await untilMesh([a, c])
    // B's client and route ports are the kernel's pick (-p -1 from startCli, route port 0).
    const bArgs = [
      "-n",
      "B",
      "--cluster",
      "nats://127.0.0.1:0",
      "--cluster_name",
      "test",
      "--routes",
      `nats://127.0.0.1:${a.routePort}`
    ]
    const b = await child(bArgs)
    await until("B in the mesh", () => a.cluster.routes().length === 2 && c.cluster.routes().length === 2, 15_000)
    const sub = await connect({ servers: `127.0.0.1:${b.port}`, reconnectTimeWait: 100, maxReconnectAttempts: -1 })
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
    await until("the subscriber on A or C", () => !sub.getServer().endsWith(`:${b.port}`), 15_000)
    await until("interest restored on C", () => c.router.hasInterest("k9.x"), 15_000)
    pub.publish("k9.after")
    await until("delivery after the kill", () => got.includes("k9.after"))

    const again = await child(bArgs)
    await until("B back in the mesh", () => a.cluster.routes().length === 2 && c.cluster.routes().length === 2, 20_000)
    const fromB = await connect({ servers: `127.0.0.1:${again.port}` })
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
  }, 90_000)
})
