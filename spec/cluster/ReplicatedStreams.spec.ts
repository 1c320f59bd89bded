/**
 * R3 streams in JetStream cluster mode: three brokers (real CLI processes) on one PostgreSQL
 * cluster store, through nats.js v3. A replicated stream's log and its durable consumers' states
 * are in the store; when the owner dies (kill -9), freezes (SIGSTOP) or steps down, another peer
 * takes the stream over with every acknowledged message, the duplicate window and the acks.
 */
import { AckPolicy, jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest"
import { failure, sleep } from "../support/Js.ts"
import {
  awaitMetaLeader,
  brokerLogs,
  type ClusterNode,
  type JetStreamCluster,
  startJetStreamCluster
} from "../support/JsCluster.ts"
import { describePostgres } from "../support/Postgres.ts"

const dc = new TextDecoder()

describePostgres("R3 replicated streams (3 brokers + PostgreSQL)", () => {
  let cluster: JetStreamCluster
  const conns: Array<NatsConnection> = []
  const nc = async (node: ClusterNode) => {
    const c = await connect({ servers: node.url(), reconnect: false })
    conns.push(c)
    return c
  }
  const nodeNamed = (name: string | undefined) => cluster.nodes.find((n) => n.name === name)!
  /** Retries `f` until it succeeds (a failover in progress answers nothing or an error). */
  const eventually = async <A>(f: () => Promise<A>, ms = 30_000): Promise<A> => {
    const deadline = Date.now() + ms
    for (;;) {
      try {
        return await f()
      } catch (e) {
        if (Date.now() > deadline) throw e
        await sleep(250)
      }
    }
  }
  const leaderOf = async (jsm: JetStreamManager, stream: string) => (await jsm.streams.info(stream)).cluster?.leader

  beforeAll(async () => {
    cluster = await startJetStreamCluster()
    await awaitMetaLeader(cluster)
  }, 60_000)
  beforeEach((ctx) => ctx.onTestFailed(() => brokerLogs(cluster)))
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)))
    await cluster?.stop()
  })

  it("num_replicas 3 is placed on three peers; 4 on three nodes is refused with 10005", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[0]!))
    const created = await jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 })
    expect(created.config.num_replicas).toBe(3)
    const leader = created.cluster?.leader
    expect(leader).toMatch(/^n[123]$/)
    const info = await jsm.streams.info("R3")
    const replicas = (info.cluster?.replicas ?? []).map((r) => [r.name, r.current])
    expect(replicas.sort()).toEqual(["n1", "n2", "n3"].filter((n) => n !== leader).map((n) => [n, true]))
    expect(await failure(jsm.streams.add({ name: "R4", subjects: ["r4.>"], num_replicas: 4 }))).toBe(
      "400 10005 no suitable peers for placement"
    )
    // R1 and R3 keep their stores apart: changing between them is refused, and nothing changes.
    expect(await failure(jsm.streams.update("R3", { num_replicas: 1 }))).toMatch(/^500 10052 /)
    expect((await jsm.streams.info("R3")).config.num_replicas).toBe(3)
  })

  it(
    "kill -9 of the owner: another peer serves every acked message, the dedup window and the consumer's acks",
    async () => {
      const jsm = await jetstreamManager(await nc(cluster.nodes[0]!), { checkAPI: false })
      const owner = nodeNamed(await leaderOf(jsm, "R3"))
      const other = cluster.nodes.find((n) => n !== owner)!
      const js = jetstream(await nc(other))
      for (let i = 1; i <= 50; i++) {
        expect(await js.publish(`r3.${i % 5}`, `m${i}`, { msgID: `id-${i}` })).toEqual({
          stream: "R3",
          seq: i,
          duplicate: false
        })
      }
      const jsmo = await jetstreamManager(await nc(other), { checkAPI: false })
      await jsmo.consumers.add("R3", { durable_name: "work", ack_policy: AckPolicy.Explicit, ack_wait: 2_000_000_000 })
      const consumer = await js.consumers.get("R3", "work")
      const first = await consumer.fetch({ max_messages: 20, expires: 3000 })
      // A double ack waits for the cluster store's commit: on a loaded CI machine that took over 5 s once.
      for await (const m of first) await m.ackAck({ timeout: 15_000 })

      await cluster.kill(owner)
      try {
        const survivor = cluster.nodes.find((n) => n !== owner && n !== other)!
        const jsmS = await jetstreamManager(await nc(survivor), { timeout: 1000, checkAPI: false })
        const info = await eventually(async () => {
          const i = await jsmS.streams.info("R3")
          if (i.cluster?.leader === owner.name) throw new Error("not moved yet")
          return i
        })
        expect(info.cluster?.leader).not.toBe(owner.name)
        expect([info.state.messages, info.state.first_seq, info.state.last_seq]).toEqual([50, 1, 50])
        // A retried publish is a duplicate; a new one continues the sequence.
        const jsS = jetstream(await nc(survivor))
        expect(await eventually(() => jsS.publish("r3.0", "m50", { msgID: "id-50", timeout: 1000 }))).toEqual({
          stream: "R3",
          seq: 50,
          duplicate: true
        })
        expect(await jsS.publish("r3.1", "m51", { msgID: "id-51" })).toEqual({
          stream: "R3",
          seq: 51,
          duplicate: false
        })
        // The durable resumes after its confirmed acks.
        const ci = await jsmS.consumers.info("R3", "work")
        expect([ci.ack_floor.stream_seq, ci.num_ack_pending, ci.num_pending]).toEqual([20, 0, 31])
        const next = await (await jsS.consumers.get("R3", "work")).next({ expires: 3000 })
        expect([next?.seq, next?.string()]).toEqual([21, "m21"])
        await next?.ackAck({ timeout: 15_000 })
      } finally {
        await cluster.start(owner)
      }
    },
    90_000
  )

  it("STREAM.LEADER.STEPDOWN moves the stream to another peer, which serves the same log", async () => {
    const c = await nc(cluster.nodes[1]!)
    const jsm = await jetstreamManager(c, { checkAPI: false })
    const before = await eventually(() => leaderOf(jsm, "R3"))
    const reply = await eventually(() => c.request("$JS.API.STREAM.LEADER.STEPDOWN.R3", "", { timeout: 2000 }))
    expect(JSON.parse(dc.decode(reply.data))).toEqual({
      type: "io.nats.jetstream.api.v1.stream_leader_stepdown_response",
      success: true
    })
    const after = await eventually(async () => {
      const l = await leaderOf(jsm, "R3")
      if (l === undefined || l === before) throw new Error("not moved yet")
      return l
    })
    expect(after).not.toBe(before)
    const info = await jsm.streams.info("R3")
    expect([info.state.messages, info.state.last_seq]).toEqual([51, 51])
    const js = jetstream(c)
    expect(await eventually(() => js.publish("r3.2", "m52", { msgID: "id-52", timeout: 1000 }))).toEqual({
      stream: "R3",
      seq: 52,
      duplicate: false
    })
  }, 60_000)

  it("SIGSTOP of the owner: a peer takes over; the woken zombie stops serving and commits nothing", async () => {
    const c = await nc(cluster.nodes[0]!)
    const jsm = await jetstreamManager(c, { checkAPI: false })
    const owner = nodeNamed(await eventually(() => leaderOf(jsm, "R3")))
    const watcher = cluster.nodes.find((n) => n !== owner)!
    const jsmW = await jetstreamManager(await nc(watcher), { checkAPI: false })
    owner.proc!.child.kill("SIGSTOP")
    let resumed = false
    try {
      const moved = await eventually(async () => {
        const l = await leaderOf(jsmW, "R3")
        if (l === undefined || l === owner.name) throw new Error("not moved yet")
        return l
      })
      const jsW = jetstream(await nc(watcher))
      const ack = await eventually(() => jsW.publish("r3.3", "m53", { msgID: "id-53", timeout: 1000 }))
      expect(ack).toEqual({ stream: "R3", seq: 53, duplicate: false })
      owner.proc!.child.kill("SIGCONT")
      resumed = true
      // Within a renewal or two the zombie finds its lease gone and lets the stream go.
      await eventually(async () => {
        if (!owner.proc!.log().includes("stopped serving stream $G > R3")) throw new Error("still serving")
      }, 15_000)
      const info = await jsmW.streams.info("R3")
      expect([info.cluster?.leader, info.state.messages, info.state.last_seq]).toEqual([moved, 53, 53])
    } finally {
      if (!resumed) owner.proc!.child.kill("SIGCONT")
    }
  }, 90_000)

  it("/healthz is ok on every node; the leader's /jsz counts the stream and its consumer as HA assets", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[0]!), { checkAPI: false })
    const leader = nodeNamed(await eventually(() => leaderOf(jsm, "R3")))
    for (const n of cluster.nodes) {
      const res = await eventually(async () => {
        const r = await fetch(`http://127.0.0.1:${n.monitorPort}/healthz`)
        if (r.status !== 200) throw new Error(`${n.name}: ${r.status} ${await r.text()}`)
        return r
      })
      expect(await res.json()).toEqual({ status: "ok" })
    }
    // A node that was down a moment ago is current again once the leader's view has seen its heartbeat (≤ 1 s).
    const jszOf = async () =>
      (await (await fetch(`http://127.0.0.1:${leader.monitorPort}/jsz?accounts=true&streams=true`)).json()) as {
        ha_assets: number
        account_details: Array<
          {
            stream_detail?: Array<
              { name: string; cluster: { leader: string; replicas?: Array<{ name: string; current: boolean }> } }
            >
          }
        >
      }
    const j = await eventually(async () => {
      const x = await jszOf()
      const r = x.account_details[0]?.stream_detail?.find((d) => d.name === "R3")?.cluster.replicas ?? []
      if (r.length !== 2 || !r.every((p) => p.current)) throw new Error(`replicas ${JSON.stringify(r)}`)
      return x
    }, 10_000)
    expect(j.ha_assets).toBe(2)
    const detail = j.account_details[0]!.stream_detail!.find((d) => d.name === "R3")!
    expect(detail.cluster.leader).toBe(leader.name)
    expect(detail.cluster.replicas!.map((r) => [r.name, r.current]).sort()).toEqual(
      cluster.nodes.filter((n) => n !== leader).map((n) => [n.name, true])
    )
  }, 60_000)

  it(
    "the cluster store stops and comes back: no PubAck meanwhile, then the owner reloads and serves again",
    async () => {
      const c = await nc(cluster.nodes[2]!)
      const jsm = await jetstreamManager(c, { timeout: 1500, checkAPI: false })
      const js = jetstream(c, { timeout: 1500 })
      const before = (await eventually(() => jsm.streams.info("R3"))).state.last_seq
      await cluster.pg.halt()
      let acked = 0
      try {
        for (let i = 0; i < 3; i++) {
          if ((await failure(js.publish("r3.4", `down${i}`, { msgID: `down-${i}` }))) === "ok") acked++
        }
      } finally {
        await cluster.pg.resume()
      }
      expect(acked).toBe(0)
      // Every attempt is retried with its id: committed exactly once, right after what the store had.
      for (let i = 0; i < 3; i++) {
        const ack = await eventually(() => js.publish("r3.4", `down${i}`, { msgID: `down-${i}` }), 45_000)
        console.log(`down-${i}: ${JSON.stringify(ack)}`)
        expect([ack.stream, ack.seq > before]).toEqual(["R3", true])
      }
      const info = await eventually(() => jsm.streams.info("R3"))
      expect([info.state.messages, info.state.last_seq]).toEqual([before + 3, before + 3])
    },
    120_000
  )

  it("a KV bucket with replicas 3 keeps its values and revisions across a stepdown", async () => {
    const c = await nc(cluster.nodes[0]!)
    const kvm = new Kvm(c)
    const kv = await eventually(() => kvm.create("cfg", { replicas: 3, history: 5 }))
    expect(await kv.put("a", "1")).toBe(1)
    expect(await kv.put("a", "2")).toBe(2)
    expect(await kv.create("b", "x")).toBe(3)
    const reply = await eventually(() => c.request("$JS.API.STREAM.LEADER.STEPDOWN.KV_cfg", "", { timeout: 2000 }))
    expect(JSON.parse(dc.decode(reply.data)).success).toBe(true)
    const a = await eventually(async () => {
      const e = await kv.get("a")
      if (e === null) throw new Error("no entry")
      return e
    })
    expect([a.string(), a.revision]).toEqual(["2", 2])
    // Optimistic concurrency survives the move: a create of an existing key fails, an update at its revision works.
    expect(await failure(kv.create("b", "y"))).toMatch(/wrong last sequence/)
    expect(await eventually(() => kv.update("b", "z", 3))).toBe(4)
    const history: Array<string> = []
    for await (const e of await kv.history({ key: "a" })) history.push(`${e.revision}:${e.string()}`)
    expect(history).toEqual(["1:1", "2:2"])
  }, 60_000)
})
