/**
 * A 3-node nats-server JetStream cluster on loopback for the cluster benchmarks (ports base ..
 * base+22: clients base+i, routes base+10+i, monitoring base+20+i), nodes n1..n3 tagged
 * `node:<name>` so streams can be placed on one of them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { JetStreamCluster } from "../spec/support/JsCluster.ts"
import { sleep } from "./support.ts"

export interface BenchNode {
  readonly name: string
  readonly url: () => string
  readonly monitor: number
  kill(): Promise<void>
  start(): Promise<void>
}

/** Our cluster's nodes (spec/support/JsCluster.ts) as the benchmarks drive them. */
export const benchNodesOf = (c: JetStreamCluster): ReadonlyArray<BenchNode> =>
  c.nodes.map((n) => ({
    name: n.name,
    url: () => n.url(),
    monitor: n.monitorPort,
    kill: () => c.kill(n),
    start: () => c.start(n)
  }))

export const waitFor = async <A>(f: () => Promise<A | undefined>, ms = 60_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error("timed out")
    await sleep(50)
  }
}

export const startNatsCluster = async (
  bin: string,
  base: number
): Promise<{ readonly nodes: ReadonlyArray<BenchNode>; stop(): Promise<void> }> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-cluster-"))
  const names = ["n1", "n2", "n3"]
  const procs: Array<ChildProcess | undefined> = [undefined, undefined, undefined]
  const exits: Array<Promise<void> | undefined> = [undefined, undefined, undefined]
  const start = async (i: number) => {
    const routes = names.map((_, j) => `nats://127.0.0.1:${base + 10 + j}`).filter((_, j) => j !== i).join(",")
    const conf = path.join(dir, `${names[i]}.conf`)
    fs.writeFileSync(conf, `server_tags: ["node:${names[i]}"]\n`)
    const p = spawn(bin, [
      ...["-c", conf, "-a", "127.0.0.1", "-p", String(base + i), "-m", String(base + 20 + i)],
      ...["-js", "-sd", path.join(dir, names[i]!), "-n", names[i]!, "--cluster_name", "nc"],
      ...["-cluster", `nats://127.0.0.1:${base + 10 + i}`, "-routes", routes]
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
  const kill = async (i: number) => {
    procs[i]?.kill("SIGKILL")
    await exits[i]
    procs[i] = undefined
  }
  await Promise.all([0, 1, 2].map(start))
  return {
    nodes: names.map((name, i) => ({
      name,
      url: () => `nats://127.0.0.1:${base + i}`,
      monitor: base + 20 + i,
      kill: () => kill(i),
      start: () => start(i)
    })),
    stop: async () => {
      for (let i = 0; i < 3; i++) await kill(i)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
