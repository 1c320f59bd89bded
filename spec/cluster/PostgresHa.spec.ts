/**
 * The cluster store on a replicated PostgreSQL (src/testing/TestPostgresHa.ts: pg_auto_failover,
 * one primary and two synchronous-quorum standbys) reached with the multi-host URL: when the
 * primary is killed with SIGKILL, a standby is promoted, no commit that was acknowledged is lost or
 * doubled, and the log writers, the ClusterStore's heartbeats and leases, and a broker resume by
 * themselves on the new primary.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type pg from "pg"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { streamAsset } from "../../src/cluster/store/ClusterSchema.ts"
import type { ClusterStoreShape, NodeInfo } from "../../src/cluster/store/ClusterStore.ts"
import { openClient } from "../../src/cluster/store/PrimaryConnector.ts"
import { makeWriter } from "../../src/cluster/store/StreamLogSql.ts"
import { findPostgresBin } from "../../src/testing/TestPostgres.ts"
import { startPostgresHa, type TestPostgresHa } from "../../src/testing/TestPostgresHa.ts"
import { sleep } from "../support/Js.ts"
import { openStore } from "../support/Postgres.ts"
import { type BrokerProcess, startCli } from "../support/Process.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()
/** Not the broker's account, and an owner that is not the broker: the broker test's account sees none of this. */
const ACCOUNT = "HA"
const OWNER = "w1"
/** How long writes may stall before the test gives up on them resuming by themselves (a liveness bound, not a measurement). */
const RESUME_WITHIN_MS = 30_000

const available = findPostgresBin() !== undefined && fs.existsSync("/usr/bin/pg_autoctl")
if (!available) {
  console.log("PostgreSQL HA: skipped, needs postgresql and pg_autoctl (apt-get install postgresql-15-auto-failover)")
}
const describeHa = available ? describe : describe.skip

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

describeHa("cluster store on a replicated PostgreSQL (pg_auto_failover)", () => {
  let ha: TestPostgresHa
  let store: ClusterStoreShape
  let close: () => Promise<void>
  beforeAll(async () => {
    ha = await startPostgresHa()
    ;({ store, close } = await openStore(ha.url))
  }, 150_000)
  afterAll(async () => {
    await close?.()
    await ha?.stop()
  }, 60_000)
  beforeEach((ctx) => ctx.onTestFailed(() => console.log(ha.log().slice(-8000))))

  /** A query on whichever node accepts writes now. */
  const onPrimary = async <T>(body: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = await openClient(ha.url)
    try {
      return await body(c)
    } finally {
      await c.end()
    }
  }

  it(
    "SIGKILL of the primary during a stream of commits: every acknowledged batch is on the promoted primary exactly once, writes and the store's heartbeats and leases resume",
    async () => {
      const first = await ha.primary()
      expect(first).toBeDefined()
      // Every commit waits for a standby: the guarantee this test relies on.
      expect(await onPrimary(async (c) => (await c.query("SHOW synchronous_standby_names")).rows[0])).toEqual({
        synchronous_standby_names: expect.stringMatching(
          /^ANY 1 \(pgautofailover_standby_\d, pgautofailover_standby_\d\)$/
        )
      })
      const name = "ha1"
      await run(store.exec(
        `INSERT INTO ejs_streams (account, name, config, owner, status, replicas) VALUES ($1, $2, '{}', $3, 'ready', 3)`,
        [ACCOUNT, name, OWNER]
      ))
      const asset = streamAsset(ACCOUNT, name)
      // A lease outliving the failover: the writer's fence must still hold on the promoted primary.
      const term = await run(store.acquire(asset, OWNER, 120_000))
      expect(term).toBe(1n)
      const fence = { asset, owner: OWNER, term: term! }
      const writer = makeWriter(ha.url, { account: ACCOUNT, name }, fence)

      // Batches of 5 appends; a failed batch's sequences are never reused (its outcome is unknown:
      // the connection may have died after COMMIT reached the server), so the next batch skips them.
      const BATCH = 5
      const acked: Array<number> = []
      const failed: Array<number> = []
      let killedAt: number | undefined
      let resumedAt: number | undefined
      let stop = false
      let next = 1
      let batchNo = 0
      let lastError = ""
      const writing = (async () => {
        while (!stop) {
          const id = batchNo++
          const firstSeq = next
          next += BATCH
          const msgs = Array.from({ length: BATCH }, (_, i) => ({
            seq: firstSeq + i,
            subject: "ha.x",
            hdr: undefined,
            data: enc.encode(`b${id}`),
            ts: BigInt(id)
          }))
          const started = Date.now()
          try {
            await writer.write({
              ops: [{ kind: "append", msgs }],
              firstSeq: 1,
              lastSeq: firstSeq + BATCH - 1,
              lastTs: BigInt(id)
            })
            acked.push(id)
            if (killedAt !== undefined && started > killedAt && resumedAt === undefined) resumedAt = Date.now()
          } catch (e) {
            failed.push(id)
            lastError = String(e)
            await sleep(50)
          }
        }
      })()
      // The store's own traffic next to the writer: heartbeats and renewals of the lease, as a node's tick.
      const node: NodeInfo = { serverName: OWNER, serverId: "ID1", cluster: "ejs", clientUrl: "nats://x:1", tags: [] }
      let beatsAfter = 0
      let renewedAfter = 0
      const ticking = (async () => {
        while (!stop) {
          const started = Date.now()
          const beat = await Effect.runPromiseExit(store.heartbeat(node, {}))
          const renewed = await Effect.runPromiseExit(store.renew(OWNER, [{ asset, term: fence.term }], 120_000))
          if (killedAt !== undefined && started > killedAt) {
            if (beat._tag === "Success") beatsAfter++
            if (renewed._tag === "Success" && renewed.value.has(asset)) renewedAfter++
          }
          await sleep(200)
        }
      })()

      const progress = async (what: string, done: () => boolean) => {
        const until = Date.now() + RESUME_WITHIN_MS
        while (!done()) {
          if (Date.now() > until) {
            throw new Error(`${what}: ${acked.length} acked, ${failed.length} failed, last error ${lastError}`)
          }
          await sleep(20)
        }
      }
      await progress("first commits", () => acked.length >= 40)
      await ha.kill(first!)
      killedAt = Date.now()
      const ackedBefore = acked.length
      await progress("writes resuming", () => resumedAt !== undefined && renewedAfter >= 2)
      // Some more commits on the new primary, then stop.
      const target = acked.length + 40
      await progress("commits after the failover", () => acked.length >= target)
      stop = true
      await Promise.all([writing, ticking])
      await writer.end()
      console.log(
        `PostgreSQL failover: writes accepted again ${resumedAt! - killedAt} ms after SIGKILL of the primary ` +
          `(${failed.length} batches failed meanwhile, ${ackedBefore} acked before, ${acked.length} in all)`
      )

      let promoted = await ha.primary()
      // The monitor may still be recording the promotion the writer already uses.
      for (let i = 0; i < 40 && promoted === undefined; i++) {
        await sleep(250)
        promoted = await ha.primary()
      }
      expect(promoted).toBeDefined()
      expect(promoted!.name).not.toBe(first!.name)
      expect(failed.length).toBeGreaterThan(0)
      expect(beatsAfter).toBeGreaterThan(0)
      expect(renewedAfter).toBeGreaterThan(0)
      const rows = await onPrimary(async (c) => {
        expect(Number((await c.query("SELECT inet_server_port() AS p")).rows[0].p)).toBe(promoted!.port)
        return (await c.query(
          `SELECT seq::int AS seq, data FROM ejs_msgs WHERE account = $1 AND name = $2 ORDER BY seq`,
          [
            ACCOUNT,
            name
          ]
        )).rows as Array<{ seq: number; data: Buffer }>
      })
      const bySeq = new Map<number, Array<string>>()
      for (const r of rows) bySeq.set(r.seq, [...(bySeq.get(r.seq) ?? []), dec.decode(r.data)])
      // Every acknowledged batch: all its sequences, once each, with its bytes.
      for (const id of acked) {
        for (let i = 0; i < BATCH; i++) expect(bySeq.get(id * BATCH + 1 + i)).toEqual([`b${id}`])
      }
      // A failed batch is all there or not at all (one transaction), and nothing else is.
      const ids = new Set(rows.map((r) => (r.seq - 1 - ((r.seq - 1) % BATCH)) / BATCH))
      for (const id of failed) {
        const present = Array.from({ length: BATCH }, (_, i) => bySeq.has(id * BATCH + 1 + i))
        expect(present.every((p) => p) || present.every((p) => !p)).toBe(true)
      }
      for (const id of ids) expect(acked.includes(id) || failed.includes(id)).toBe(true)
      expect(rows.length).toBe(bySeq.size)

      // The writer's node row would be a (dead) peer of the broker of the next test.
      await run(store.exec(`DELETE FROM ejs_nodes WHERE server_name = $1`, [OWNER]))

      // The killed node comes back as a standby of the promoted one.
      await ha.restart(first!)
      await ha.healthy(60_000)
      expect((await ha.primary())!.name).toBe(promoted!.name)
      expect((await ha.states()).find((s) => s.name === first!.name)).toMatchObject({ reported: "secondary" })
    },
    120_000
  )

  describe("a broker on the multi-host URL", () => {
    let broker: BrokerProcess
    let nc: NatsConnection
    let dir: string
    let monitorPort: number
    const jsz = async () =>
      (await (await fetch(`http://127.0.0.1:${monitorPort}/jsz`)).json()) as { meta_cluster?: { leader?: string } }
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pgha-broker-"))
      // 28000-28999: below the ephemeral range, clear of the HA nodes' ports and JsCluster's.
      monitorPort = 28000 + Math.floor(Math.random() * 900)
      const file = path.join(dir, "n1.conf")
      fs.writeFileSync(
        file,
        [
          "server_name: n1",
          `http: "127.0.0.1:${monitorPort}"`,
          `jetstream { store_dir: ${JSON.stringify(path.join(dir, "n1"))}, cluster_store: ${JSON.stringify(ha.url)} }`,
          `cluster { name: ejs, listen: "127.0.0.1:${monitorPort + 50}" }`
        ].join("\n")
      )
      broker = await startCli(["-c", file])
      nc = await connect({ servers: `nats://127.0.0.1:${broker.port}` })
      const deadline = Date.now() + 20_000
      while ((await jsz()).meta_cluster?.leader !== "n1") {
        if (Date.now() > deadline) throw new Error(`no meta leader:\n${broker.log()}`)
        await sleep(200)
      }
    }, 60_000)
    afterAll(async () => {
      await nc?.close()
      await broker?.stop("SIGTERM")
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })

    it(
      "keeps answering across a failover: $JS.API.INFO, an R1 stream's publishes, a stream created after it, its meta leadership",
      async () => {
        await ha.healthy(60_000)
        const jsm = await jetstreamManager(nc, { timeout: 3_000 })
        await jsm.streams.add({ name: "R1", subjects: ["r1.>"], num_replicas: 1 })
        const js = jsm.jetstream()
        for (let i = 0; i < 5; i++) await js.publish("r1.a", `before ${i}`)
        const primary = (await ha.primary())!
        await ha.kill(primary)
        const killedAt = Date.now()
        // Until the store answers again: the API needs it (account info reads the cluster's view).
        let info: Awaited<ReturnType<typeof jsm.getAccountInfo>> | undefined
        let created = false
        const deadline = Date.now() + RESUME_WITHIN_MS + 10_000
        while (!created && Date.now() < deadline) {
          try {
            info = await jsm.getAccountInfo()
            await jsm.streams.add({ name: "AFTER", subjects: ["after.>"], num_replicas: 1 })
            created = true
          } catch {
            await sleep(250)
          }
        }
        console.log(`broker: a stream created again ${Date.now() - killedAt} ms after SIGKILL of the primary`)
        expect(created).toBe(true)
        expect(info!.streams).toBeGreaterThanOrEqual(1)
        for (let i = 0; i < 5; i++) await js.publish("r1.a", `after ${i}`)
        expect((await js.publish("after.x", "one")).seq).toBe(1)
        const r1 = await jsm.streams.info("R1")
        expect(r1.state.messages).toBe(10)
        expect((await jsm.streams.getMessage("R1", { seq: 6 }))!.string()).toBe("after 0")
        expect((await jsm.getAccountInfo()).streams).toBe(2)
        expect((await jsz()).meta_cluster?.leader).toBe("n1")
        expect(broker.child.exitCode).toBeNull()
      },
      90_000
    )
  })
})
