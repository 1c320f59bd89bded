/**
 * `/routez` and the cluster parts of `/varz` on two routed brokers, beside the same two-server
 * cluster of nats-server 2.9.10: the same keys in the same order, the same JSON types, and
 * values that describe the routes we made.
 */
import { spawn } from "node:child_process"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { natsServerPath } from "../support/Broker.ts"
import { type ClusterNode, startNode, untilMesh } from "../support/Cluster.ts"

const BASE = 31400
const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`)
  return (await r.json()) as Record<string, unknown>
}
const shape = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shape(v[0])]
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, shape(x)]))
  }
  return typeof v
}

let a: ClusterNode
let b: ClusterNode
const exe = natsServerPath()
const children: Array<ReturnType<typeof spawn>> = []

beforeAll(async () => {
  a = await startNode({ name: "A", routePort: BASE + 1, routes: [BASE + 2], config: { httpPort: -1 } })
  b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1] })
  await untilMesh([a, b])
  if (exe !== undefined) {
    for (const [p, r, m] of [[BASE + 11, BASE + 12, BASE + 80], [BASE + 13, BASE + 14, 0]]) {
      const peer = r === BASE + 12 ? BASE + 14 : BASE + 12
      children.push(spawn(exe, [
        "-a",
        "127.0.0.1",
        "-p",
        String(p),
        ...(m === 0 ? [] : ["-m", String(m)]),
        "--cluster",
        `nats://127.0.0.1:${r}`,
        "--cluster_name",
        "test",
        "--routes",
        `nats://127.0.0.1:${peer}`
      ], { stdio: "ignore" }))
    }
  }
}, 30_000)

afterAll(async () => {
  for (const c of children) {
    c.kill("SIGTERM")
    await new Promise((r) => c.once("exit", r))
  }
  await Promise.all([a?.stop(), b?.stop()])
})

describe("/routez", () => {
  it("lists each route with its counters and, with subs=1, the peer's subscriptions", async () => {
    const r = await get(a.monitorPort!, "/routez?subs=1")
    assert.strictEqual(r.server_id, a.server.serverId)
    assert.strictEqual(r.num_routes, 1)
    const [route] = r.routes as Array<Record<string, unknown>>
    assert.strictEqual(route!.remote_id, b.server.serverId)
    assert.strictEqual(route!.ip, "127.0.0.1")
    assert.isTrue((route!.subscriptions as number) > 0)
    // B's system account services are interest A holds for B.
    assert.include(route!.subscriptions_list as Array<string>, `$SYS.REQ.SERVER.${b.server.serverId}.VARZ`)
    const detail = await get(a.monitorPort!, "/routez?subs=detail")
    const d = (detail.routes as Array<Record<string, unknown>>)[0]!
    const first = (d.subscriptions_list_detail as Array<Record<string, unknown>>)[0]!
    assert.match(first.sid as string, /^\$SYS \$SYS\./)
  })

  it("rejects a bad subs value as nats-server does", async () => {
    const r = await fetch(`http://127.0.0.1:${a.monitorPort}/routez?subs=maybe`)
    assert.strictEqual(r.status, 400)
  })

  it("/varz reports the cluster, the route count and every node's client URL", async () => {
    const v = await get(a.monitorPort!, "/varz")
    assert.deepStrictEqual(v.cluster, {
      name: "test",
      addr: "127.0.0.1",
      cluster_port: BASE + 1,
      auth_timeout: 2,
      urls: [`127.0.0.1:${BASE + 2}`],
      tls_timeout: 2
    })
    assert.strictEqual(v.routes, 1)
    assert.sameMembers(v.connect_urls as Array<string>, [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`])
  })
})

if (exe === undefined) {
  console.log("differential routez tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

describe.skipIf(exe === undefined)("beside nats-server 2.9.10", () => {
  it("/routez and /varz have nats-server's keys, order and types", async () => {
    const mp = BASE + 80
    let theirs: Record<string, unknown> | undefined
    for (let i = 0; i < 100 && (theirs === undefined || theirs.num_routes !== 1); i++) {
      theirs = await get(mp, "/routez?subs=1").catch(() => undefined)
      if (theirs?.num_routes !== 1) await new Promise((r) => setTimeout(r, 100))
    }
    const ours = await get(a.monitorPort!, "/routez?subs=1")
    assert.deepStrictEqual(shape(ours), shape(theirs))
    assert.deepStrictEqual(Object.keys(ours), Object.keys(theirs!))
    const ourVarz = await get(a.monitorPort!, "/varz")
    const theirVarz = await get(mp, "/varz")
    assert.deepStrictEqual(shape(ourVarz.cluster), shape(theirVarz.cluster))
    assert.deepStrictEqual(Object.keys(ourVarz.cluster as object), Object.keys(theirVarz.cluster as object))
    assert.deepStrictEqual(
      Object.keys(ourVarz).filter((k) => k === "connect_urls" || k === "routes" || k === "remotes"),
      Object.keys(theirVarz).filter((k) => k === "connect_urls" || k === "routes" || k === "remotes")
    )
    assert.strictEqual(Object.keys(ourVarz).indexOf("connect_urls"), Object.keys(theirVarz).indexOf("connect_urls"))
  })
})
