/**
 * Where a Jepsen run's three brokers live: each in its own network namespace with a veth onto a
 * bridge in the root namespace (so a partition is real: the owner's link goes down and it loses
 * the store, its peers and its clients), or, without CAP_NET_ADMIN, all on loopback (no
 * partitions). The store listens on the bridge address (or loopback). Names are unique per run
 * and everything is removed by `stop`, also after a failure and on process exit.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { JepsenStore, StoreFactory } from "./Store.ts"

const BIN = path.resolve(import.meta.dirname, "../../../bin/effect-jetstream")

export interface BrokerNode {
  readonly name: string
  /** The address its client, route and monitoring listeners are on. */
  readonly host: string
  readonly clientUrl: string
  readonly monitorUrl: string
  /** Killed (not yet restarted), frozen or cut off. */
  state: "up" | "killed" | "frozen" | "partitioned"
  log(): string
}

export interface Topology {
  readonly mode: "netns" | "loopback"
  /** Why the run is on loopback (namespaces could not be created). */
  readonly loopbackReason: string | undefined
  readonly store: JepsenStore
  readonly nodes: ReadonlyArray<BrokerNode>
  start(node: BrokerNode): Promise<void>
  kill(node: BrokerNode): Promise<void>
  freeze(node: BrokerNode): void
  thaw(node: BrokerNode): void
  /** Undefined on loopback. */
  readonly partition: ((node: BrokerNode) => void) | undefined
  readonly heal: ((node: BrokerNode) => void) | undefined
  stop(): Promise<void>
}

const ip = (...args: Array<string>) => execFileSync("ip", args, { stdio: "pipe", encoding: "utf8" })

interface Net {
  readonly tag: string
  readonly bridge: string
  readonly bridgeAddress: string
  readonly namespaces: ReadonlyArray<string>
  readonly hostVeths: ReadonlyArray<string>
  readonly addresses: ReadonlyArray<string>
}

const removeNet = (net: Net) => {
  for (const ns of net.namespaces) {
    try {
      ip("netns", "del", ns)
    } catch {
      // not created (a failed setup) or already gone
    }
  }
  try {
    ip("link", "del", net.bridge)
  } catch {
    // idem
  }
}

/** A free 10.77.x.0/24 (another run may hold one), or a reason namespaces cannot be used. */
const makeNet = (count: number): Net | string => {
  if (process.platform !== "linux") return "not Linux"
  if (process.getuid?.() !== 0) return "not root (no CAP_NET_ADMIN)"
  let taken: string
  try {
    taken = ip("-4", "addr")
  } catch (e) {
    return `ip addr failed: ${e instanceof Error ? e.message : e}`
  }
  const free = Array.from({ length: 250 }, (_, i) => i + 1).filter((x) => !taken.includes(`10.77.${x}.`))
  if (free.length === 0) return "no free 10.77.x.0/24 subnet"
  const x = free[Math.floor(Math.random() * free.length)]!
  const tag = `${(process.pid % 1296).toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`
  const net: Net = {
    tag,
    bridge: `ejb${tag}`,
    bridgeAddress: `10.77.${x}.1`,
    namespaces: Array.from({ length: count }, (_, i) => `ejs-${tag}-n${i + 1}`),
    hostVeths: Array.from({ length: count }, (_, i) => `ejv${tag}${i + 1}`),
    addresses: Array.from({ length: count }, (_, i) => `10.77.${x}.${11 + i}`)
  }
  try {
    ip("link", "add", net.bridge, "type", "bridge")
    ip("addr", "add", `${net.bridgeAddress}/24`, "dev", net.bridge)
    ip("link", "set", net.bridge, "up")
    net.namespaces.forEach((ns, i) => {
      const peer = `ejp${tag}${i + 1}`
      ip("netns", "add", ns)
      ip("link", "add", net.hostVeths[i]!, "type", "veth", "peer", "name", peer)
      ip("link", "set", peer, "netns", ns)
      ip("link", "set", net.hostVeths[i]!, "master", net.bridge)
      ip("link", "set", net.hostVeths[i]!, "up")
      ip("netns", "exec", ns, "ip", "addr", "add", `${net.addresses[i]}/24`, "dev", peer)
      ip("netns", "exec", ns, "ip", "link", "set", peer, "up")
      ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
    })
    return net
  } catch (e) {
    removeNet(net)
    const err = e as { stderr?: unknown; message?: string }
    return `network namespaces cannot be created: ${String(err.stderr ?? err.message).trim()}`
  }
}

/**
 * Loopback ports: three blocks of three (clients, routes, monitoring) from 24000-24899, below the
 * ephemeral range and clear of the other specs' ranges (25400+, 26000-29999).
 */
const loopbackBase = () => 24000 + Math.floor(Math.random() * 90) * 10

export interface TopologyOptions {
  readonly store: StoreFactory
  /** false: loopback even when namespaces could be made. */
  readonly namespaces?: boolean
  /** Characters of broker output kept per node (for the report of a failed run). */
  readonly logChars?: number
}

export const makeTopology = async (options: TopologyOptions): Promise<Topology> => {
  const names = ["n1", "n2", "n3"]
  const net = options.namespaces === false ? "namespaces turned off" : makeNet(names.length)
  const netns = typeof net === "string" ? undefined : net
  const procs = new Map<string, ChildProcess>()
  // Also on a failure or Ctrl-C (the script exits on SIGINT): no broker, namespace or bridge is left.
  const cleanupOnExit = () => {
    for (const child of procs.values()) child.kill("SIGKILL")
    if (netns !== undefined) removeNet(netns)
  }
  process.once("exit", cleanupOnExit)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-jepsen-"))
  let store: JepsenStore
  try {
    store = await options.store(netns?.bridgeAddress ?? "127.0.0.1")
  } catch (e) {
    cleanupOnExit()
    process.removeListener("exit", cleanupOnExit)
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const base = loopbackBase()
  const hostOf = (i: number) => netns?.addresses[i] ?? "127.0.0.1"
  const port = (kind: 0 | 1 | 2, i: number) => netns !== undefined ? [4222, 6222, 8222][kind]! : base + kind * 3 + i
  const keep = options.logChars ?? 200_000
  const logs = new Map<string, string>()
  const nodes: Array<BrokerNode> = names.map((name, i) => {
    const routes = names.map((_, j) => `"nats://${hostOf(j)}:${port(1, j)}"`).filter((_, j) => j !== i)
    fs.writeFileSync(
      path.join(dir, `${name}.conf`),
      [
        `server_name: ${name}`,
        `listen: "${hostOf(i)}:${port(0, i)}"`,
        `http: "${hostOf(i)}:${port(2, i)}"`,
        `jetstream { store_dir: ${JSON.stringify(path.join(dir, name))}, cluster_store: ${JSON.stringify(store.url)} }`,
        `cluster { name: jepsen, listen: "${hostOf(i)}:${port(1, i)}", routes: [${routes.join(", ")}] }`
      ].join("\n") + "\n"
    )
    return {
      name,
      host: hostOf(i),
      clientUrl: `nats://${hostOf(i)}:${port(0, i)}`,
      monitorUrl: `http://${hostOf(i)}:${port(2, i)}`,
      state: "killed",
      log: () => logs.get(name) ?? ""
    }
  })
  const indexOf = (node: BrokerNode) => names.indexOf(node.name)

  const start = (node: BrokerNode) =>
    new Promise<void>((resolve, reject) => {
      const conf = path.join(dir, `${node.name}.conf`)
      // `ip netns exec` execs the broker in place: the child's pid is the broker's, so signals reach it.
      const child = netns !== undefined
        ? spawn("ip", ["netns", "exec", netns.namespaces[indexOf(node)]!, process.execPath, BIN, "-c", conf], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        : spawn(process.execPath, [BIN, "-c", conf], { stdio: ["ignore", "pipe", "pipe"] })
      procs.set(node.name, child)
      let started = false
      const timer = setTimeout(
        () => reject(new Error(`${node.name} did not start:\n${node.log().slice(-4000)}`)),
        60_000
      )
      const onData = (d: Buffer) => {
        const log = (logs.get(node.name) ?? "") + d.toString()
        logs.set(node.name, log.length > keep ? log.slice(-keep) : log)
        if (!started && log.includes("Listening for client connections")) {
          started = true
          clearTimeout(timer)
          node.state = "up"
          resolve()
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code, signal) => {
        logs.set(node.name, `${node.log()}\n[jepsen] ${node.name} exited (${code ?? signal})\n`)
        if (procs.get(node.name) === child) procs.delete(node.name)
        if (!started) {
          clearTimeout(timer)
          reject(new Error(`${node.name} exited during start:\n${node.log().slice(-4000)}`))
        }
      })
    })
  const signal = (node: BrokerNode, sig: NodeJS.Signals) => procs.get(node.name)?.kill(sig)
  const kill = async (node: BrokerNode) => {
    const child = procs.get(node.name)
    node.state = "killed"
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((r) => child.once("exit", () => r()))
    child.kill("SIGKILL")
    await exited
  }
  const link = netns === undefined
    ? undefined
    : (up: boolean) => (node: BrokerNode) => {
      ip("link", "set", netns.hostVeths[indexOf(node)]!, up ? "up" : "down")
      node.state = up ? "up" : "partitioned"
    }

  const stop = async () => {
    for (const n of nodes) signal(n, "SIGCONT")
    await Promise.all(nodes.map(kill))
    await store.stop().catch(() => undefined)
    cleanupOnExit()
    process.removeListener("exit", cleanupOnExit)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    await Promise.all(nodes.map(start))
  } catch (e) {
    await stop()
    throw e
  }
  return {
    mode: netns === undefined ? "loopback" : "netns",
    loopbackReason: typeof net === "string" ? net : undefined,
    store,
    nodes,
    start,
    kill,
    freeze: (node) => {
      signal(node, "SIGSTOP")
      node.state = "frozen"
    },
    thaw: (node) => {
      signal(node, "SIGCONT")
      node.state = "up"
    },
    partition: link?.(false),
    heal: link?.(true),
    stop
  }
}
