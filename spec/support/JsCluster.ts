/**
 * Three brokers joined by routes, in JetStream cluster mode on a temporary PostgreSQL: each node a
 * real CLI process (it can be killed and restarted with its store), route ports from 29000-29999
 * (fixed, so a restarted node is found where its peers dial it; below the kernel's ephemeral range).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { TestPostgres } from "../../src/testing/TestPostgres.ts"
import { startTestPostgres } from "./Postgres.ts"
import { type BrokerProcess, startCli } from "./Process.ts"

export interface ClusterNode {
  readonly name: string
  readonly tags: ReadonlyArray<string>
  readonly configFile: string
  readonly monitorPort: number
  proc: BrokerProcess | undefined
  /** `nats://127.0.0.1:<client port>` of the running process. */
  url(): string
}

export interface JetStreamCluster {
  readonly pg: TestPostgres
  readonly nodes: ReadonlyArray<ClusterNode>
  start(node: ClusterNode): Promise<void>
  kill(node: ClusterNode): Promise<void>
  stop(): Promise<void>
}

let base = 29000 + Math.floor(Math.random() * 90) * 10

/** Until every node's /jsz names the same meta leader of a cluster of all the nodes (the first ticks). */
export const awaitMetaLeader = async (cluster: JetStreamCluster, ms = 15_000): Promise<void> => {
  const deadline = Date.now() + ms
  for (;;) {
    const metas = await Promise.all(
      cluster.nodes.map(async (n) =>
        ((await (await fetch(`http://127.0.0.1:${n.monitorPort}/jsz`)).json()) as { meta_cluster?: unknown })
          .meta_cluster
      )
    )
    const m = metas.map((l) => l as { leader?: string; cluster_size: number })
    const size = cluster.nodes.length
    if (m.every((l) => l.leader !== undefined && l.leader === m[0]!.leader && l.cluster_size === size)) return
    if (Date.now() > deadline) throw new Error(`no agreed meta leader: ${JSON.stringify(metas)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/**
 * Until every node's /routez lists a route to every other node. A node logs its client port (and
 * startCli returns) before its routes are up, and a request on a node that has no route to the meta
 * leader yet gets no answer at all: the client times out.
 */
export const awaitRoutes = async (nodes: ReadonlyArray<ClusterNode>, ms = 30_000): Promise<void> => {
  const deadline = Date.now() + ms
  for (;;) {
    const counts = await Promise.all(
      nodes.map(async (n) =>
        ((await (await fetch(`http://127.0.0.1:${n.monitorPort}/routez`)).json()) as { num_routes: number }).num_routes
      )
    )
    if (counts.every((c) => c === nodes.length - 1)) return
    if (Date.now() > deadline) throw new Error(`no full route mesh: ${JSON.stringify(counts)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A failure shows what the brokers logged (the interesting part of a cluster failure is there). */
export const brokerLogs = (cluster: JetStreamCluster): void => {
  for (const n of cluster.nodes) console.log(`--- ${n.name}\n${n.proc?.log().slice(-4000) ?? "(not running)"}`)
}

export const startJetStreamCluster = async (
  tags: ReadonlyArray<ReadonlyArray<string>> = [[], [], []],
  /** More config lines for every node (accounts, limits). */
  extra = ""
): Promise<JetStreamCluster> => {
  const pg = await startTestPostgres()
  base = base >= 29980 ? 29000 : base + 10
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-cluster-"))
  const routePort = (i: number) => base + i
  const nodes: Array<ClusterNode> = tags.map((t, i) => {
    const name = `n${i + 1}`
    const configFile = path.join(dir, `${name}.conf`)
    const routes = tags.map((_, j) => `"nats://127.0.0.1:${routePort(j)}"`).filter((_, j) => j !== i)
    fs.writeFileSync(
      configFile,
      [
        `server_name: ${name}`,
        `http: "127.0.0.1:${base + 5 + i}"`,
        `server_tags: [${t.map((x) => JSON.stringify(x)).join(", ")}]`,
        `jetstream { store_dir: ${JSON.stringify(path.join(dir, name))}, cluster_store: ${JSON.stringify(pg.url)} }`,
        `cluster { name: ejs, listen: "127.0.0.1:${routePort(i)}", routes: [${routes.join(", ")}] }`,
        extra
      ].join("\n")
    )
    const node: ClusterNode = {
      name,
      tags: t,
      configFile,
      monitorPort: base + 5 + i,
      proc: undefined,
      url: () => `nats://127.0.0.1:${node.proc!.port}`
    }
    return node
  })
  const start = async (node: ClusterNode) => {
    node.proc = await startCli(["-c", node.configFile])
  }
  const kill = async (node: ClusterNode) => {
    await node.proc?.stop("SIGKILL")
    node.proc = undefined
  }
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.proc?.stop("SIGTERM")))
    await pg.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await Promise.all(nodes.map(start))
    await awaitRoutes(nodes)
  } catch (e) {
    // The caller gets no cluster to stop: what did start must not outlive the failure.
    await Promise.allSettled(nodes.map((n) => n.proc?.stop("SIGKILL")))
    await stop()
    throw e
  }
  return { pg, nodes, start, kill, stop }
}
