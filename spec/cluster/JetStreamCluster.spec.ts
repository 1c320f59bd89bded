/**
 * JetStream cluster mode: three brokers with routes and a PostgreSQL cluster store, used through
 * the official nats.js v3 clients connected to different nodes.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node"
import pg from "pg"
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

describePostgres("JetStream cluster mode (3 brokers + PostgreSQL)", () => {
  let cluster: JetStreamCluster
  const conns: Array<NatsConnection> = []
  const nc = async (node: ClusterNode) => {
    const c = await connect({ servers: node.url(), reconnect: false })
    conns.push(c)
    return c
  }
  const jsz = async (node: ClusterNode) =>
    (await (await fetch(`http://127.0.0.1:${node.monitorPort}/jsz`)).json()) as Record<string, unknown>
  /** Every reply a raw API request gets within `ms` (exactly one node must answer). */
  const replies = async (node: ClusterNode, subject: string, body = "", ms = 700): Promise<Array<string>> => {
    const c = await nc(node)
    const inbox = createInbox()
    const got: Array<string> = []
    const sub = c.subscribe(inbox, { callback: (_e, m) => void got.push(dc.decode(m.data)) })
    await c.flush()
    c.publish(subject, body, { reply: inbox })
    await sleep(ms)
    sub.unsubscribe()
    return got
  }

  beforeAll(async () => {
    cluster = await startJetStreamCluster([["az:a"], ["az:b", "ssd"], ["az:c"]])
    // The first ticks elect a meta leader and fill every node's view of the others.
    await awaitMetaLeader(cluster)
  }, 60_000)
  beforeEach((ctx) => ctx.onTestFailed(() => brokerLogs(cluster)))
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)))
    await cluster?.stop()
  })

  it("/jsz meta_cluster: every node names the same leader, cluster ejs, size 3", async () => {
    const metas = await Promise.all(cluster.nodes.map(async (n) => (await jsz(n)).meta_cluster))
    expect(metas[0]).toEqual({ name: "ejs", leader: expect.stringMatching(/^n[123]$/), cluster_size: 3 })
    expect(metas[1]).toEqual(metas[0])
    expect(metas[2]).toEqual(metas[0])
  })

  it("a stream and a consumer created through n1, published to through n2, consumed through n3", async () => {
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode]
    const jsm1 = await jetstreamManager(await nc(n1))
    const created = await jsm1.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
    expect(created.config.name).toBe("ORDERS")
    expect(created.cluster?.name).toBe("ejs")
    const owner = created.cluster?.leader
    expect(owner).toMatch(/^n[123]$/)
    await jsm1.consumers.add("ORDERS", { durable_name: "proc", ack_policy: AckPolicy.Explicit })

    const js2 = jetstream(await nc(n2))
    for (let i = 1; i <= 5; i++) {
      const ack = await js2.publish(`orders.${i}`, `order ${i}`)
      expect(ack).toEqual({ stream: "ORDERS", seq: i, duplicate: false })
    }

    const js3 = jetstream(await nc(n3))
    const consumer = await js3.consumers.get("ORDERS", "proc")
    const batch = await consumer.fetch({ max_messages: 5, expires: 3000 })
    const seen: Array<string> = []
    for await (const m of batch) {
      seen.push(`${m.subject}=${m.string()}`)
      await m.ackAck()
    }
    expect(seen).toEqual([1, 2, 3, 4, 5].map((i) => `orders.${i}=order ${i}`))

    const jsm3 = await jetstreamManager(await nc(n3))
    const info = await jsm3.streams.info("ORDERS")
    expect(info.state.messages).toBe(5)
    expect(info.cluster).toEqual({ name: "ejs", leader: owner })
    const ci = await jsm3.consumers.info("ORDERS", "proc")
    expect([ci.num_ack_pending, ci.num_pending, ci.delivered.stream_seq]).toEqual([0, 0, 5])
  })

  it("every API request gets exactly one answer, whichever node it enters", async () => {
    for (const node of cluster.nodes) {
      const info = await replies(node, "$JS.API.STREAM.INFO.ORDERS")
      expect(info.length).toBe(1)
      expect(JSON.parse(info[0]!).state.messages).toBe(5)
      const names = await replies(node, "$JS.API.STREAM.NAMES")
      expect(names.map((r) => JSON.parse(r).streams)).toEqual([["ORDERS"]])
      const missing = await replies(node, "$JS.API.STREAM.INFO.NOPE")
      expect(missing.map((r) => JSON.parse(r).error)).toEqual([{
        code: 404,
        err_code: 10059,
        description: "stream not found"
      }])
    }
  })

  it("placement by tags: the tagged node gets the stream; unmatched tags are refused with 10005", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[0]!))
    const ssd = await jsm.streams.add({
      name: "FAST",
      subjects: ["fast.>"],
      placement: { cluster: "ejs", tags: ["ssd"] }
    })
    expect(ssd.cluster?.leader).toBe("n2")
    const c = await jsm.streams.add({
      name: "ZONEC",
      subjects: ["zonec.>"],
      placement: { cluster: "", tags: ["az:c"] }
    })
    expect(c.cluster?.leader).toBe("n3")
    expect(
      await failure(
        jsm.streams.add({ name: "NOWHERE", subjects: ["nowhere.>"], placement: { cluster: "", tags: ["gpu"] } })
      )
    )
      .toBe("400 10005 no suitable peers for placement, tags not matched ['gpu']")
    expect(await failure(jsm.streams.info("NOWHERE"))).toBe("404 10059 stream not found")
  })

  it("two nodes racing to create one name: one stream, and the different config gets 10058", async () => {
    const a = await jetstreamManager(await nc(cluster.nodes[0]!))
    const b = await jetstreamManager(await nc(cluster.nodes[2]!))
    const results = await Promise.all([
      failure(a.streams.add({ name: "RACE", subjects: ["race.a"] })),
      failure(b.streams.add({ name: "RACE", subjects: ["race.b"] }))
    ])
    expect(results.sort()).toEqual(["400 10058 stream name already in use with a different configuration", "ok"])
    // The same config twice at once: both succeed, one stream.
    const same = await Promise.all([
      failure(a.streams.add({ name: "TWIN", subjects: ["twin.>"] })),
      failure(b.streams.add({ name: "TWIN", subjects: ["twin.>"] }))
    ])
    expect(same).toEqual(["ok", "ok"])
    const names: Array<string> = []
    for await (const n of a.streams.names()) names.push(n)
    expect(names.sort()).toEqual(["FAST", "ORDERS", "RACE", "TWIN", "ZONEC"])
  })

  it(
    "the owner killed: STREAM.INFO through another node says offline (10118); restarted: serves its data again",
    async () => {
      const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode]
      const js = jetstream(await nc(n1))
      for (let i = 0; i < 3; i++) await js.publish("zonec.x", `z${i}`)
      // Made before the kill: if n3 led the meta group, account requests wait for the next leader (up to ~5 s).
      const jsm = await jetstreamManager(await nc(n2))
      await cluster.kill(n3)
      try {
        // The owner's heartbeat ages out within the lease time (5 s); a new meta leader, if n3 led, as fast.
        let answer = ""
        const deadline = Date.now() + 20_000
        while (Date.now() < deadline) {
          answer = await failure(jsm.streams.info("ZONEC", { timeout: 1000 } as never))
          if (answer.startsWith("500")) break
          await sleep(300)
        }
        expect(answer).toBe("500 10118 stream is offline")
        // A list names the stream it could not get from its owner.
        const list = await replies(n2, "$JS.API.STREAM.LIST", "", 3000)
        expect(list.length).toBe(1)
        const listed = JSON.parse(list[0]!) as { missing?: Array<string>; streams: Array<{ config: { name: string } }> }
        expect(listed.missing).toEqual(["ZONEC"])
        expect(listed.streams.map((x) => x.config.name)).toEqual(["FAST", "ORDERS", "RACE", "TWIN"])
        // Streams on live nodes keep serving meanwhile.
        expect((await jsm.streams.info("FAST")).cluster?.leader).toBe("n2")
      } finally {
        await cluster.start(n3)
      }
      let info: Awaited<ReturnType<typeof jsm.streams.info>> | undefined
      const back = Date.now() + 20_000
      while (Date.now() < back) {
        try {
          info = await jsm.streams.info("ZONEC")
          break
        } catch {
          await sleep(300)
        }
      }
      expect(info?.state.messages).toBe(3)
      expect(info?.cluster).toEqual({ name: "ejs", leader: "n3" })
      const jsz3 = await jsz(n3)
      expect((jsz3.meta_cluster as { cluster_size: number }).cluster_size).toBe(3)
    },
    60_000
  )

  it("$JS.API.INFO through any node counts the cluster's streams and consumers", async () => {
    for (const node of cluster.nodes) {
      const jsm = await jetstreamManager(await nc(node))
      const info = await jsm.getAccountInfo()
      expect([info.streams, info.consumers]).toEqual([5, 1])
    }
  })

  it("STREAM.LIST through any node gathers every owner's stream info", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[2]!))
    const listed: Array<[string, number, string | undefined]> = []
    for await (const si of jsm.streams.list()) listed.push([si.config.name, si.state.messages, si.cluster?.leader])
    expect(listed.map(([n, m]) => [n, m])).toEqual([["FAST", 0], ["ORDERS", 5], ["RACE", 0], ["TWIN", 0], ["ZONEC", 3]])
    expect(listed.find(([n]) => n === "FAST")?.[2]).toBe("n2")
    expect(listed.find(([n]) => n === "ZONEC")?.[2]).toBe("n3")
  })

  it("an update through a non-owner is made by the owner and recorded in the store", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[0]!))
    const updated = await jsm.streams.update("FAST", { subjects: ["fast.>"], max_msgs: 100 })
    expect([updated.config.max_msgs, updated.cluster?.leader]).toEqual([100, "n2"])
    const db = new pg.Client({ connectionString: cluster.pg.url })
    await db.connect()
    try {
      const { rows } = await db.query("SELECT config->>'max_msgs' AS m FROM ejs_streams WHERE name = 'FAST'")
      expect(rows).toEqual([{ m: "100" }])
    } finally {
      await db.end()
    }
  })

  it("a consumer pause (2.11) through any node is made by the owner and its deadline recorded in the store", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[2]!))
    const until = new Date(Date.now() + 3_600_000)
    const paused = await jsm.consumers.pause("ORDERS", "proc", until)
    expect(paused.paused).toBe(true)
    expect((await jsm.consumers.info("ORDERS", "proc")).paused).toBe(true)
    const db = new pg.Client({ connectionString: cluster.pg.url })
    await db.connect()
    try {
      const { rows } = await db.query(
        "SELECT config->'config'->>'pause_until' AS p FROM ejs_consumers WHERE stream = 'ORDERS' AND name = 'proc'"
      )
      expect(rows.map((r: { p: string }) => Date.parse(r.p))).toEqual([until.getTime()])
    } finally {
      await db.end()
    }
    await jsm.consumers.pause("ORDERS", "proc", new Date(Date.now() - 1000))
  })

  it("fencing: while another holder has the stream's lease, the owner's mutations commit nothing (10008)", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[1]!))
    const db = new pg.Client({ connectionString: cluster.pg.url })
    await db.connect()
    try {
      // An intruder takes the lease (as a node that believed n2 dead would): the term moves on.
      await db.query(
        "UPDATE ejs_leases SET owner = 'intruder', term = term + 1, expires_at = now() + interval '1 hour' WHERE asset = $1",
        ["stream:%24G:FAST"]
      )
      expect(await failure(jsm.streams.update("FAST", { subjects: ["fast.>"], max_msgs: 7 })))
        .toBe("503 10008 JetStream system temporarily unavailable")
      expect(await failure(jsm.streams.delete("FAST"))).toBe("503 10008 JetStream system temporarily unavailable")
      expect((await jsm.streams.info("FAST")).config.max_msgs).toBe(100)
      const { rows } = await db.query("SELECT config->>'max_msgs' AS m FROM ejs_streams WHERE name = 'FAST'")
      expect(rows).toEqual([{ m: "100" }])
      // The intruder's lease expires: the owner takes it back with a new term and mutates again.
      await db.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [
        "stream:%24G:FAST"
      ])
      let answer = ""
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        answer = await failure(jsm.streams.update("FAST", { subjects: ["fast.>"], max_msgs: 7 }))
        if (answer === "ok") break
        await sleep(200)
      }
      expect(answer).toBe("ok")
      const lease = await db.query("SELECT owner FROM ejs_leases WHERE asset = $1", ["stream:%24G:FAST"])
      expect(lease.rows).toEqual([{ owner: "n2" }])
    } finally {
      await db.end()
    }
  })

  it("a stream deleted through one node is gone on all of them", async () => {
    const jsm = await jetstreamManager(await nc(cluster.nodes[1]!))
    expect(await jsm.streams.delete("TWIN")).toBe(true)
    for (const node of cluster.nodes) {
      const j = await jetstreamManager(await nc(node))
      expect(await failure(j.streams.info("TWIN"))).toBe("404 10059 stream not found")
    }
  })

  it("the meta leader killed: another node leads and creates again; back, it follows; /healthz ok", async () => {
    const meta = async (n: ClusterNode) => (await jsz(n)).meta_cluster as { leader?: string; cluster_size: number }
    const first = (await meta(cluster.nodes[0]!)).leader
    const leader = cluster.nodes.find((n) => n.name === first)!
    const other = cluster.nodes.find((n) => n !== leader)!
    const jsm = await jetstreamManager(await nc(other))
    const killed = Date.now()
    await cluster.kill(leader)
    let next: string | undefined
    try {
      while (Date.now() - killed < 20_000) {
        next = (await meta(other)).leader
        if (next !== undefined && next !== first) break
        await sleep(100)
      }
      expect(next).toMatch(/^n[123]$/)
      expect(next).not.toBe(first)
      // Not an assertion on time (no wall-clock asserts); printed for the record.
      console.log(`meta leader failover after kill -9: ${Date.now() - killed} ms`)
      const created = await jsm.streams.add({ name: "AFTER", subjects: ["after.>"] })
      expect(created.cluster?.leader).not.toBe(first)
    } finally {
      // Back in any case: the tests after this one use all three nodes.
      await cluster.start(leader)
    }
    const deadline = Date.now() + 20_000
    let metas: Array<{ leader?: string; cluster_size: number }> = []
    while (Date.now() < deadline) {
      metas = await Promise.all(cluster.nodes.map(meta))
      if (metas.every((m) => m.leader === next)) break
      await sleep(200)
    }
    expect(metas.map((m) => m.leader)).toEqual([next, next, next])
    for (const n of cluster.nodes) {
      const r = await fetch(`http://127.0.0.1:${n.monitorPort}/healthz`)
      expect([r.status, await r.json()]).toEqual([200, { status: "ok" }])
    }
  }, 60_000)

  it("a create whose owner never confirms (SIGSTOPped) fails after the timeout and leaves nothing", async () => {
    const leader = ((await jsz(cluster.nodes[0]!)).meta_cluster as { leader: string }).leader
    const victim = cluster.nodes.find((n) => n.name !== leader)!
    const asker = cluster.nodes.find((n) => n !== victim)!
    const jsm = await jetstreamManager(await nc(asker), { timeout: 30_000 })
    // The node restarted by the test before is a candidate once the leader's view has its heartbeat (1 s ticks).
    await sleep(1500)
    victim.proc!.child.kill("SIGSTOP")
    let answer: string
    try {
      // Placed on the frozen node: its heartbeat is still fresh, so it is still a candidate.
      answer = await failure(
        jsm.streams.add({ name: "FROZEN", subjects: ["frozen.>"], placement: { cluster: "", tags: [victim.tags[0]!] } })
      )
    } finally {
      victim.proc!.child.kill("SIGCONT")
    }
    expect(answer).toBe(`500 10049 timed out waiting for server ${victim.name} to create the stream`)
    // Thawed, the node finds no assignment: it creates nothing, and nobody knows the stream.
    await sleep(3000)
    for (const node of cluster.nodes) {
      const r = await replies(node, "$JS.API.STREAM.INFO.FROZEN")
      expect(r.map((x) => JSON.parse(x).error?.err_code)).toEqual([10059])
    }
  }, 60_000)

  it("PostgreSQL down: owners keep serving their streams; back up, the cluster carries on by itself", async () => {
    const orders = cluster.nodes.find((n) => n.name === "n1")!
    const jsm = await jetstreamManager(await nc(orders))
    const owner = (await jsm.streams.info("ORDERS")).cluster!.leader
    const viaOwner = await nc(cluster.nodes.find((n) => n.name === owner)!)
    const before = (await (await jetstreamManager(viaOwner)).streams.info("ORDERS")).state.messages
    await cluster.pg.halt()
    try {
      const js = jetstream(viaOwner)
      for (let i = 0; i < 3; i++) expect((await js.publish("orders.during", "x")).seq).toBe(before + i + 1)
      // Once the meta lease could have expired, one node says there is no meta leader (as nats-server does).
      await sleep(6500)
      for (const node of cluster.nodes) {
        const r = await replies(node, "$JS.API.INFO")
        expect(r.map((x) => JSON.parse(x).error)).toEqual([{
          code: 503,
          err_code: 10008,
          description: "JetStream system temporarily unavailable"
        }])
      }
    } finally {
      await cluster.pg.resume()
    }
    let answer = ""
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      answer = await failure(jsm.streams.add({ name: "AFTERPG", subjects: ["afterpg.>"] }))
      if (answer === "ok") break
      await sleep(300)
    }
    expect(answer).toBe("ok")
    expect((await jsm.streams.info("ORDERS")).state.messages).toBe(before + 3)
  }, 60_000)
})
