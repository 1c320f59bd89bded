/**
 * An R3 counter stream (ADR-49) in JetStream cluster mode (three brokers on one PostgreSQL cluster
 * store): the owner computes each total from the replicated log, so after a stepdown the new owner
 * goes on from the last acknowledged total.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest"
import { sleep } from "../support/Js.ts"
import { awaitMetaLeader, brokerLogs, type JetStreamCluster, startJetStreamCluster } from "../support/JsCluster.ts"
import { describePostgres } from "../support/Postgres.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

describePostgres("R3 counter stream (3 brokers + PostgreSQL)", () => {
  let cluster: JetStreamCluster
  const conns: Array<NatsConnection> = []
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
  const incr = async (nc: NatsConnection, by: string): Promise<Record<string, unknown>> => {
    const h = headers()
    h.set("Nats-Incr", by)
    const r = await nc.request("rc.hits", sc.encode(""), { headers: h, timeout: 2000 })
    const ack = JSON.parse(dc.decode(r.data)) as Record<string, unknown>
    if (ack.error !== undefined) throw new Error(JSON.stringify(ack.error))
    return ack
  }

  beforeAll(async () => {
    cluster = await startJetStreamCluster()
    await awaitMetaLeader(cluster)
    for (const n of cluster.nodes) conns.push(await connect({ servers: n.url(), reconnect: false }))
  }, 60_000)
  beforeEach((ctx) => ctx.onTestFailed(() => brokerLogs(cluster)))
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)))
    await cluster?.stop()
  })

  it("counts through any node, and the next owner continues the total after a stepdown", async () => {
    const jsm = await jetstreamManager(conns[0]!, { checkAPI: false })
    const created = await jsm.streams.add({
      name: "RC",
      subjects: ["rc.>"],
      num_replicas: 3,
      allow_msg_counter: true
    })
    expect(created.config.allow_msg_counter).toBe(true)
    const before = created.cluster?.leader
    let want = 0n
    for (let i = 0; i < 12; i++) {
      const by = BigInt(i) * 10n ** 20n - 7n
      want += by
      const ack = await eventually(() => incr(conns[i % 3]!, by < 0n ? `${by}` : `+${by}`))
      expect([ack.seq, ack.val]).toEqual([i + 1, want.toString()])
    }
    const reply = await eventually(() => conns[1]!.request("$JS.API.STREAM.LEADER.STEPDOWN.RC", "", { timeout: 2000 }))
    expect((JSON.parse(dc.decode(reply.data)) as { success?: boolean }).success).toBe(true)
    await eventually(async () => {
      const l = (await jsm.streams.info("RC")).cluster?.leader
      if (l === undefined || l === before) throw new Error("not moved yet")
    })
    const ack = await eventually(() => incr(conns[2]!, "+1"))
    expect(ack).toEqual({ stream: "RC", seq: 13, val: (want + 1n).toString() })
    const info = await jsm.streams.info("RC")
    expect(info.config.allow_msg_counter).toBe(true)
  }, 90_000)
})
