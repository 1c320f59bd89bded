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
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startJetStreamCluster } from "../spec/support/JsCluster.ts"
import { findNatsServer, sleep } from "./support.ts"

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] ?? 3) || 3

interface Node {
  readonly name: string
  readonly url: () => string
  readonly monitor: number
  kill(): Promise<void>
  start(): Promise<void>
}

const metaLeader = async (n: Node): Promise<string | undefined> => {
  try {
    const j = (await (await fetch(`http://127.0.0.1:${n.monitor}/jsz`)).json()) as {
      meta_cluster?: { leader?: string }
    }
    return j.meta_cluster?.leader
  } catch {
    return undefined
  }
}

const waitFor = async <A>(f: () => Promise<A | undefined>, ms = 60_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error("timed out")
    await sleep(50)
  }
}

const measure = async (label: string, nodes: ReadonlyArray<Node>) => {
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
      c.nodes.map((n) => ({
        name: n.name,
        url: () => n.url(),
        monitor: n.monitorPort,
        kill: () => c.kill(n),
        start: () => c.start(n)
      }))
    )
  } finally {
    await c.stop()
  }
}

const theirs = async (bin: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-cluster-"))
  const base = 32500
  const procs: Array<ChildProcess | undefined> = [undefined, undefined, undefined]
  const exits: Array<Promise<void> | undefined> = [undefined, undefined, undefined]
  const names = ["n1", "n2", "n3"]
  const start = async (i: number) => {
    const routes = names.map((_, j) => `nats://127.0.0.1:${base + 10 + j}`).filter((_, j) => j !== i).join(",")
    const conf = path.join(dir, `${names[i]}.conf`)
    fs.writeFileSync(conf, `server_tags: ["node:${names[i]}"]\n`)
    const p = spawn(bin, [
      "-c",
      conf,
      "-a",
      "127.0.0.1",
      "-p",
      String(base + i),
      "-m",
      String(base + 20 + i),
      "-js",
      "-sd",
      path.join(dir, names[i]!),
      "-n",
      names[i]!,
      "--cluster_name",
      "nc",
      "-cluster",
      `nats://127.0.0.1:${base + 10 + i}`,
      "-routes",
      routes
    ], { stdio: "ignore" })
    procs[i] = p
    exits[i] = new Promise((r) => p.once("exit", () => r()))
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${base + 20 + i}/healthz`)).ok ? true : undefined
      } catch {
        return undefined
      }
    })
  }
  await Promise.all([0, 1, 2].map(start))
  try {
    await measure(
      "nats-server 2.9.10",
      names.map((name, i) => ({
        name,
        url: () => `nats://127.0.0.1:${base + i}`,
        monitor: base + 20 + i,
        kill: async () => {
          procs[i]?.kill("SIGKILL")
          await exits[i]
        },
        start: () => start(i)
      }))
    )
  } finally {
    for (let i = 0; i < 3; i++) {
      procs[i]?.kill("SIGKILL")
      await exits[i]
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (!process.argv.includes("--theirs-only")) await ours()
const bin = findNatsServer()
if (bin === undefined) console.log("nats-server not on PATH: no comparison")
else await theirs(bin)
