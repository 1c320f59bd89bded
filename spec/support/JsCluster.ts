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
  await Promise.all(nodes.map(start))
  return {
    pg,
    nodes,
    start,
    kill,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.proc?.stop("SIGTERM")))
      await pg.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
