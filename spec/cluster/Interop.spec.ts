/**
 * Interop (differential): our broker as a route peer of nats-server 2.9.10, both ways (we dial a
 * nats-server cluster; nats-server dials us), and a third server that names only one seed and
 * must reach the other through gossip across the two implementations. Core NATS traffic in both
 * directions: pub/sub with headers, queue groups with members on both implementations (each
 * message to exactly one member), request/reply and no-responders.
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import { type ChildProcess, spawn } from "node:child_process"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import { natsServerPath } from "../support/Broker.ts"
import { type ClusterNode, sleep, startNode, until } from "../support/Cluster.ts"

const BASE = 31500
const exe = natsServerPath()
if (exe === undefined) {
  console.log("differential route interop tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}
const sc = new TextEncoder()
const dc = new TextDecoder()

interface NatsNode {
  readonly port: number
  readonly child: ChildProcess
  stop(): Promise<void>
}

const startNats = async (name: string, port: number, routePort: number, routes: ReadonlyArray<number>) => {
  const child = spawn(exe!, [
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-n",
    name,
    "--cluster",
    `nats://127.0.0.1:${routePort}`,
    "--cluster_name",
    "mixed",
    ...(routes.length === 0 ? [] : ["--routes", routes.map((r) => `nats://127.0.0.1:${r}`).join(",")])
  ], { stdio: "ignore" })
  // Ready once it accepts clients.
  for (let i = 0; i < 100; i++) {
    const ok = await connect({ servers: `127.0.0.1:${port}`, reconnect: false }).then(
      async (nc) => (await nc.close(), true),
      () => false
    )
    if (ok) break
    await sleep(50)
  }
  return {
    port,
    child,
    stop: async () => {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
    }
  } satisfies NatsNode
}

const clients: Array<NatsConnection> = []
const open = async (port: number) => {
  const nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false })
  clients.push(nc)
  return nc
}
afterEach(async () => {
  for (const nc of clients.splice(0)) await nc.close().catch(() => {})
})

/** Waits until a subscription made on one side is visible from a publisher on the other (interest crossed). */
const crossed = async (pub: NatsConnection, sub: NatsConnection, subject: string) => {
  const probe = `${subject}.probe`
  let seen = false
  const s = sub.subscribe(probe, { callback: () => void (seen = true) })
  await sub.flush()
  await until(`interest in ${probe}`, () => {
    pub.publish(probe)
    return seen
  })
  s.unsubscribe()
}

const traffic = (label: string, ours: () => number, theirs: () => number) => {
  it(`${label}: pub/sub with headers both ways`, async () => {
    const [o, t] = await Promise.all([open(ours()), open(theirs())])
    const gotT: Array<string> = []
    const gotO: Array<string> = []
    t.subscribe("x.to.nats", { callback: (_e, m) => void gotT.push(`${dc.decode(m.data)}|${m.headers?.get("K")}`) })
    o.subscribe("x.to.ours", { callback: (_e, m) => void gotO.push(`${dc.decode(m.data)}|${m.headers?.get("K")}`) })
    await crossed(o, t, "x.to.nats")
    await crossed(t, o, "x.to.ours")
    const h = headers()
    h.set("K", "v1")
    o.publish("x.to.nats", sc.encode("hello"), { headers: h })
    o.publish("x.to.nats", sc.encode("plain"))
    t.publish("x.to.ours", sc.encode("back"), { headers: h })
    await until(`deliveries ${JSON.stringify([gotT, gotO])}`, () => gotT.length === 2 && gotO.length === 1, 3000).catch(
      (e) => {
        throw new Error(`${e.message} ${JSON.stringify([gotT, gotO])}`)
      }
    )
    await sleep(100)
    assert.deepStrictEqual(gotT, ["hello|v1", "plain|undefined"])
    assert.deepStrictEqual(gotO, ["back|v1"])
  })

  it(`${label}: a queue group with members on both implementations gets each message once`, async () => {
    const [o, t, p1, p2] = await Promise.all([open(ours()), open(theirs()), open(ours()), open(theirs())])
    const seen = new Map<string, number>()
    let onOurs = 0
    let onTheirs = 0
    const member = (nc: NatsConnection, count: () => void) =>
      nc.subscribe("jobs", {
        queue: "w",
        callback: (_e, m) => {
          count()
          const id = dc.decode(m.data)
          seen.set(id, (seen.get(id) ?? 0) + 1)
        }
      })
    member(o, () => onOurs++)
    member(t, () => onTheirs++)
    await crossed(p2, o, "jobs.o")
    await crossed(p1, t, "jobs.t")
    // Both servers know both members once a plain probe crossed; then publish from each side.
    const total = 200
    // Some with headers: RMSG and HMSG with a queue list (`| <queue> [<hdr>] <size>`) both ways.
    const h = headers()
    h.set("Job", "x")
    for (let i = 0; i < total / 2; i++) p1.publish("jobs", sc.encode(`a${i}`), i % 2 === 0 ? {} : { headers: h })
    for (let i = 0; i < total / 2; i++) p2.publish("jobs", sc.encode(`b${i}`), { headers: h })
    await Promise.all([p1.flush(), p2.flush()])
    await until("queue deliveries", () => seen.size === total)
    await sleep(150)
    assert.isTrue([...seen.values()].every((n) => n === 1), "a message reached two members")
    assert.strictEqual(onOurs + onTheirs, total)
    assert.isAbove(onOurs, 0)
    assert.isAbove(onTheirs, 0)
  })

  it(`${label}: request/reply both ways, no-responders when nobody listens`, async () => {
    const [o, t] = await Promise.all([open(ours()), open(theirs())])
    t.subscribe("svc.nats", { callback: (_e, m) => void m.respond(sc.encode(`nats:${dc.decode(m.data)}`)) })
    o.subscribe("svc.ours", { callback: (_e, m) => void m.respond(sc.encode(`ours:${dc.decode(m.data)}`)) })
    await crossed(o, t, "svc.nats")
    await crossed(t, o, "svc.ours")
    assert.strictEqual(dc.decode((await o.request("svc.nats", sc.encode("1"), { timeout: 2000 })).data), "nats:1")
    assert.strictEqual(dc.decode((await t.request("svc.ours", sc.encode("2"), { timeout: 2000 })).data), "ours:2")
    for (const nc of [o, t]) {
      const err = await nc.request("svc.none", sc.encode("x"), { timeout: 2000 }).then(() => undefined, (e: Error) => e)
      assert.match(String(err?.message), /no responders/)
    }
  })
}

describe.skipIf(exe === undefined)("our broker dials a nats-server cluster", () => {
  let n1: NatsNode
  let ours: ClusterNode
  beforeAll(async () => {
    n1 = await startNats("N1", BASE + 1, BASE + 11, [])
    ours = await startNode({ name: "E1", routePort: BASE + 12, routes: [BASE + 11], clusterName: "mixed" })
    await until("the route", () => ours.cluster.routes().length === 1)
  }, 30_000)
  afterAll(async () => {
    await ours?.stop()
    await n1?.stop()
  })
  traffic("we dialled", () => ours.port, () => n1.port)

  it("a nats-server that names only nats-server as seed reaches us by gossip, and the reverse", async () => {
    const n2 = await startNats("N2", BASE + 2, BASE + 13, [BASE + 11])
    try {
      await until("N2 learnt of us", () => ours.cluster.routes().length === 2, 15_000)
      const names = ours.cluster.routes().map((r) => r.remoteInfo?.server_name).sort()
      assert.deepStrictEqual(names, ["N1", "N2"])
      const [o, t] = await Promise.all([open(ours.port), open(n2.port)])
      const got: Array<string> = []
      o.subscribe("g.x", { callback: (_e, m) => void got.push(m.subject) })
      await crossed(t, o, "g.x")
      t.publish("g.x")
      await until("delivery from N2", () => got.length === 1)
      await sleep(200)
      // Full mesh: one copy, straight from N2 (N1 never forwards a routed message).
      assert.deepStrictEqual(got, ["g.x"])
    } finally {
      await n2.stop()
    }
  })
})

describe.skipIf(exe === undefined)("nats-server dials our broker", () => {
  let ours: ClusterNode
  let n3: NatsNode
  beforeAll(async () => {
    ours = await startNode({ name: "E2", routePort: BASE + 21, clusterName: "mixed" })
    n3 = await startNats("N3", BASE + 3, BASE + 23, [BASE + 21])
    await until("the route", () => ours.cluster.routes().length === 1)
  }, 30_000)
  afterAll(async () => {
    await n3?.stop()
    await ours?.stop()
  })
  traffic("nats-server dialled", () => ours.port, () => n3.port)

  it("the route's peer is nats-server, accepted (not solicited) on our side", () => {
    const [r] = ours.cluster.routes()
    assert.strictEqual(r!.remoteInfo?.server_name, "N3")
    assert.isFalse(r!.didSolicit)
    assert.strictEqual(r!.remoteInfo?.version, "2.9.10")
  })
})
