/**
 * Failover times of JetStream cluster mode beside a 3-node nats-server 2.9.10 cluster:
 *
 * - meta leader: kill -9 the meta leader, time until another node's /jsz names a new one;
 * - R1 stream owner: kill -9 the owner, time until STREAM.INFO through another node gets an error
 *   reply (we print it; measured here: nats-server 2.9.10 stays silent for at least 30 s).
 *
 *   npx tsx bench/cluster-failover.bench.ts [--rounds 3] [--theirs-only]
 *
 * Ours: three CLI brokers + a temporary PostgreSQL (spec/support/JsCluster.ts); nats-server's
 * three nodes run with -js -cluster -routes on loopback ports 32500+.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { startJetStreamCluster } from "../spec/support/JsCluster.ts"
import { type BenchNode, benchNodesOf, startNatsCluster, waitFor } from "./natsCluster.ts"
import { findNatsServer } from "./support.ts"

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] ?? 3) || 3

const metaLeader = async (n: BenchNode): Promise<string | undefined> => {
  try {
    const j = (await (await fetch(`http://127.0.0.1:${n.monitor}/jsz`)).json()) as {
      meta_cluster?: { leader?: string }
    }
    return j.meta_cluster?.leader
  } catch {
    return undefined
  }
}

const measure = async (label: string, nodes: ReadonlyArray<BenchNode>) => {
  const metaTimes: Array<number> = []
  const ownerTimes: Array<string> = []
  for (let r = 0; r < rounds; r++) {
    const leaderName = await waitFor(async () => {
      const ls = await Promise.all(nodes.map(metaLeader))
      return ls.every((l) => l !== undefined && l === ls[0]) ? ls[0] : undefined
    })
    const leader = nodes.find((n) => n.name === leaderName)!
    const other = nodes.find((n) => n !== leader)!
    const t0 = Date.now()
    await leader.kill()
    await waitFor(async () => {
      const l = await metaLeader(other)
      return l !== undefined && l !== leaderName ? l : undefined
    })
    metaTimes.push(Date.now() - t0)
    console.log(`${label}: round ${r + 1}: meta leader ${leaderName} killed, new leader after ${Date.now() - t0} ms`)
    await leader.start()

    // An R1 stream on a node that is not the meta leader: the time until its offline state is told.
    const nowLeader = await waitFor(async () => {
      const ls = await Promise.all(nodes.map(metaLeader))
      return ls.every((l) => l !== undefined && l === ls[0]) ? ls[0] : undefined
    })
    const victim = nodes.find((n) => n.name !== nowLeader)!
    const asker = nodes.find((n) => n !== victim)!
    const nc = await connect({ servers: asker.url(), reconnect: false })
    const jsm = await jetstreamManager(nc)
    const name = `R${r}`
    // A node that just came back is placed on once the meta leader has seen its heartbeat.
    await waitFor(() =>
      jsm.streams.add({ name, subjects: [`r${r}.>`], placement: { cluster: "", tags: [`node:${victim.name}`] } })
        .then(() => true, () => undefined)
    )
    const t1 = Date.now()
    await victim.kill()
    const said = await waitFor<string>(async () => {
      if (Date.now() - t1 > 30_000) return "no error reply within 30 s"
      try {
        await jsm.streams.info(name, { timeout: 500 } as never)
        return undefined
      } catch (e) {
        const api = (e as { apiError?: () => { err_code: number; description: string } }).apiError?.()
        return api === undefined ? undefined : `${api.err_code} ${api.description}`
      }
    })
    ownerTimes.push(`${Date.now() - t1} ms (${said})`)
    await nc.close()
    await victim.start()
  }
  console.log(`${label}: meta leader failover ${metaTimes.map((t) => `${t} ms`).join(", ")}`)
  console.log(`${label}: R1 owner down reported ${ownerTimes.join(", ")}`)
}

const ours = async () => {
  const c = await startJetStreamCluster([["node:n1"], ["node:n2"], ["node:n3"]])
  try {
    await measure(
      "effect-jetstream",
      benchNodesOf(c)
    )
  } finally {
    await c.stop()
  }
}

const theirs = async (bin: string) => {
  const c = await startNatsCluster(bin, 32500)
  try {
    await measure("nats-server 2.9.10", c.nodes)
  } finally {
    await c.stop()
  }
}

if (!process.argv.includes("--theirs-only")) await ours()
const bin = findNatsServer()
if (bin === undefined) console.log("nats-server not on PATH: no comparison")
else await theirs(bin)
