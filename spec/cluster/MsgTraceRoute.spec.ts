/**
 * Message tracing across a route (2.11, ADR-41): the origin's event names the route as an egress
 * (kind 1, the peer's name, hop "1") and counts the hop; the peer sends its own event, whose request
 * headers carry `Nats-Trace-Hop: 1` and whose ingress is the route. Trace-only travels too: the peer
 * names its subscriber without delivering. Expected values are nats-server's msgtrace.go.
 */
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"

const BASE = 31950

type Event = {
  server: Record<string, unknown>
  request: { header?: Record<string, Array<string>>; msgsize?: number }
  hops?: number
  events: Array<Record<string, unknown>>
}

const untimed = (e: Record<string, unknown>) => {
  const { ts: _ts, ...rest } = e
  return rest
}

const waitFor = async <T>(what: string, f: () => T | undefined, ms = 5_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

let a: ClusterNode
let b: ClusterNode
let pub: NatsConnection
let watcher: NatsConnection
let remote: NatsConnection
beforeAll(async () => {
  a = await startNode({ name: "A", routePort: BASE + 1, routes: [BASE + 2] })
  b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1] })
  await untilMesh([a, b])
  pub = await connect({ servers: a.url, name: "pub-a", reconnect: false })
  watcher = await connect({ servers: a.url, reconnect: false })
  remote = await connect({ servers: b.url, name: "sub-b", reconnect: false })
})
afterAll(async () => {
  await pub?.close()
  await watcher?.close()
  await remote?.close()
  await b?.stop()
  await a?.stop()
})

const run = async (dest: string, subject: string, extra: Record<string, string>) => {
  const events: Array<Event> = []
  watcher.subscribe(dest, { callback: (_e, m) => void events.push(m.json<Event>()) })
  const got: Array<Msg> = []
  remote.subscribe(subject, { callback: (_e, m) => void got.push(m) })
  await watcher.flush()
  await remote.flush()
  await settle([a, b])
  const h = headers()
  h.set("Nats-Trace-Dest", dest)
  for (const [k, v] of Object.entries(extra)) h.set(k, v)
  pub.publish(subject, "routed", { headers: h })
  await waitFor("both events", () => (events.length === 2 ? true : undefined))
  const fromA = events.find((e) => e.server["name"] === "A")!
  const fromB = events.find((e) => e.server["name"] === "B")!
  return { fromA, fromB, got }
}

const routeCid = (from: ClusterNode, to: ClusterNode) => {
  const r = from.cluster.routes().find((x) => x.remoteId === to.server.serverId)
  return r!.rid
}

describe("a traced message through a route", () => {
  it("origin: route egress with hop 1; peer: route ingress and its client's egress", async () => {
    const { fromA, fromB, got } = await run("rt.1", "rt.foo", {})
    await waitFor("the delivery", () => got[0])
    expect(got.map((m) => m.string())).toEqual(["routed"])
    expect(fromA.hops).toBe(1)
    expect(fromA.request.header).toEqual({ "Nats-Trace-Dest": ["rt.1"] })
    expect(fromA.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "pub-a", acc: "$G", subj: "rt.foo" },
      { type: "eg", kind: 1, cid: routeCid(a, b), name: "B", hop: "1" }
    ])
    expect(fromB.hops).toBeUndefined()
    expect(fromB.request.header).toEqual({ "Nats-Trace-Dest": ["rt.1"], "Nats-Trace-Hop": ["1"] })
    expect(fromB.events.map(untimed)).toEqual([
      { type: "in", kind: 1, cid: routeCid(b, a), name: "A", acc: "$G", subj: "rt.foo" },
      { type: "eg", kind: 0, cid: remote.info!.client_id, name: "sub-b", sub: "rt.foo" }
    ])
  })

  it("trace-only crosses the route and the peer does not deliver", async () => {
    const { fromA, fromB, got } = await run("rt.2", "rt.only", { "Nats-Trace-Only": "true" })
    expect(fromA.events.map(untimed)[1]).toEqual({ type: "eg", kind: 1, cid: routeCid(a, b), name: "B", hop: "1" })
    expect(fromB.events.map(untimed)).toEqual([
      { type: "in", kind: 1, cid: routeCid(b, a), name: "A", acc: "$G", subj: "rt.only" },
      { type: "eg", kind: 0, cid: remote.info!.client_id, name: "sub-b", sub: "rt.only" }
    ])
    pub.publish("rt.only", "plain")
    await waitFor("the untraced message", () => got[0])
    expect(got.map((m) => m.string())).toEqual(["plain"])
  })
})

describe("a peer that does not trace (a 2.9.10 route, proto 2)", () => {
  it("gets no trace-only message; a delivered one is named with nats-server's no-support error", async () => {
    const node = await startNode({ name: "X", routePort: BASE + 3 })
    const peer = net.connect(BASE + 3, "127.0.0.1")
    let received = ""
    try {
      await new Promise<void>((r) => peer.once("connect", () => r()))
      peer.on("error", () => {})
      peer.on("data", (d) => (received += d.toString("latin1")))
      const info = {
        server_id: "NFAKEPEER000000000000000000000000000000000000000000000000",
        server_name: "old",
        version: "2.9.10",
        proto: 2,
        host: "127.0.0.1",
        port: BASE + 4,
        headers: true,
        max_payload: 1048576,
        cluster: "test"
      }
      peer.write(`CONNECT {"name":"${info.server_id}","cluster":"test","headers":true}\r\n`)
      peer.write(`INFO ${JSON.stringify(info)}\r\nRS+ $G old.>\r\n`)
      await until("the fake route", () => node.cluster.routes().length === 1 && node.router.hasInterest("old.x"))
      const rid = node.cluster.routes()[0]!.rid
      const nc = await connect({ servers: node.url, reconnect: false })
      const events: Array<Event> = []
      nc.subscribe("old.trace.dest", { callback: (_e, m) => void events.push(m.json<Event>()) })
      await nc.flush()
      const h = (only: boolean) => {
        const x = headers()
        x.set("Nats-Trace-Dest", "old.trace.dest")
        if (only) x.set("Nats-Trace-Only", "true")
        return x
      }
      nc.publish("old.x", "only", { headers: h(true) })
      nc.publish("old.x", "both", { headers: h(false) })
      await waitFor("two events", () => (events.length === 2 ? true : undefined))
      expect(events.map((e) => e.events.map(untimed)[1])).toEqual([
        {
          type: "eg",
          kind: 1,
          cid: rid,
          name: "old",
          hop: "1",
          error: "Not delivered because remote does not support message tracing"
        },
        {
          type: "eg",
          kind: 1,
          cid: rid,
          name: "old",
          hop: "1",
          error: "Message delivered but remote does not support message tracing so no trace event generated from there"
        }
      ])
      await until("the delivered message at the peer", () => received.includes("both"))
      expect(received.includes("only")).toBe(false)
      expect(received).toContain("Nats-Trace-Hop: 1")
      await nc.close()
    } finally {
      peer.destroy()
      await node.stop()
    }
  })
})
