/**
 * Replicated log benchmark: `npx tsx bench/replicated-log.bench.ts [--msgs=200000] [--window=512]`.
 *
 * The R3 store path alone (src/store/ReplicatedLog.ts over src/cluster/store/StreamLogSql.ts): a
 * throwaway PostgreSQL 15 on loopback (fsync and synchronous_commit on: what an acknowledged commit
 * costs here), one stream, `window` appends of 128 B outstanding as an async publisher keeps them,
 * each acknowledged when its `sync` resolves. Reports msgs/s, commits, and the mean and largest
 * batch per commit (group commit), beside one-append-per-commit (window 1).
 * No broker and no network between client and broker: the publish path's own costs come on top.
 *
 * `--nats` also measures, for reference, a 3-node nats-server cluster (bench/natsCluster.ts, ports
 * 39100-39122) with a `num_replicas: 3` stream: nats.js async publish, 128 B, the same window, through
 * the stream leader's node — the whole publish path, which our number above is not.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import { streamAsset } from "../src/cluster/store/ClusterSchema.ts"
import { make } from "../src/cluster/store/ClusterStore.ts"
import { makeWriter } from "../src/cluster/store/StreamLogSql.ts"
import { ReplicatedLog } from "../src/store/ReplicatedLog.ts"
import { startPostgres } from "../src/testing/TestPostgres.ts"
import { startNatsCluster, waitFor } from "./natsCluster.ts"
import { findNatsServer } from "./support.ts"

const arg = (name: string, dflt: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt)
const total = arg("msgs", 200_000)
const window = arg("window", 512)

const server = await startPostgres({ port: 39550 + Math.floor(Math.random() * 40) })
const scope = Effect.runSync(Scope.make())
try {
  const store = await Effect.runPromise(Scope.provide(make(server.url), scope))
  const admin = new pg.Client({ connectionString: server.url })
  await admin.connect()
  const data = new Uint8Array(128).fill(120)
  const runOne = async (name: string, outstanding: number, count: number) => {
    await admin.query(
      `INSERT INTO ejs_streams (account, name, config, owner, status, replicas) VALUES ('$G', $1, '{}', 'n1', 'ready', 3)`,
      [name]
    )
    const asset = streamAsset("$G", name)
    const term = (await Effect.runPromise(store.acquire(asset, "n1", 60_000)))!
    const writer = makeWriter(server.url, { account: "$G", name }, { asset, owner: "n1", term })
    const log = ReplicatedLog.create(name, 1, writer)
    let sent = 0
    let acked = 0
    const t0 = performance.now()
    await new Promise<void>((resolve, reject) => {
      const one = (): void => {
        if (sent >= count) return
        sent++
        log.appendBatch([{ subject: "bench.r3", hdr: undefined, data, ts: BigInt(Date.now()) * 1_000_000n }])
        Effect.runPromise(log.sync()).then(() => {
          if (++acked === count) resolve()
          else one()
        }, reject)
      }
      for (let i = 0; i < outstanding; i++) one()
    })
    const s = (performance.now() - t0) / 1000
    await writer.end()
    return {
      case: `window ${outstanding}`,
      msgs: count,
      "msgs/s": Math.round(count / s).toLocaleString("en"),
      commits: log.stats.commits,
      "mean batch": Math.round(log.stats.ops / log.stats.commits),
      "largest batch": log.stats.largest
    }
  }
  const rows = [await runOne("warm", window, 20_000)]
  rows.length = 0
  rows.push(await runOne("r3", window, total))
  rows.push(await runOne("single", 1, 2_000))
  console.table(rows)
  await admin.end()
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await server.stop()
}

const natsR3 = async (): Promise<void> => {
  const bin = findNatsServer()
  if (bin === undefined) return console.log("nats-server not on PATH: no comparison")
  const cluster = await startNatsCluster(bin, 39100)
  try {
    const nc = await connect({ servers: cluster.nodes.map((n) => n.url()), reconnect: false })
    const jsm = await jetstreamManager(nc)
    await waitFor(() =>
      jsm.streams.add({ name: "R3", subjects: ["r3.>"], num_replicas: 3 }).then(() => true, () => undefined)
    )
    const js = jetstream(nc)
    const payload = new Uint8Array(128).fill(120)
    const rate = async (count: number) => {
      let inflight = 0
      let wake: (() => void) | undefined
      const t0 = performance.now()
      for (let i = 0; i < count; i++) {
        while (inflight >= window) await new Promise<void>((r) => (wake = r))
        inflight++
        void js.publish("r3.x", payload).then(() => {
          inflight--
          wake?.()
        })
      }
      while (inflight > 0) await new Promise<void>((r) => (wake = r))
      return count / ((performance.now() - t0) / 1000)
    }
    await rate(10_000)
    const runs = [await rate(50_000), await rate(50_000), await rate(50_000)].sort((a, b) => a - b)
    console.log(
      `nats-server 2.9.10 3-node cluster, num_replicas 3, async publish 128 B window ${window}: ` +
        `${Math.round(runs[1]!).toLocaleString("en")} msgs/s (median of 3 x 50,000)`
    )
    await nc.close()
  } finally {
    await cluster.stop()
  }
}
if (process.argv.includes("--nats")) await natsR3()
