/**
 * A throwaway replicated PostgreSQL on loopback, for the HA specs and `npm run cluster -- --ha`:
 * a pg_auto_failover monitor and three data nodes (one primary, two synchronous-quorum standbys:
 * `synchronous_commit = on`, `synchronous_standby_names = 'ANY 1 (...)'`, so every acknowledged
 * commit is on two of the three nodes), reached with libpq's multi-host URL.
 *
 * The monitor's health checks are tightened (checked every second, a node unhealthy 2 s after its
 * last report, the old primary given 1 s to demote) so that a killed primary is replaced within a few
 * seconds instead of pg_auto_failover's default ~30 s. A short demote timeout is only safe because
 * the commits are synchronous: a partitioned old primary that still runs cannot commit anything
 * without a standby, and the standbys follow the new primary.
 *
 * As root, everything runs as the `postgres` user (see src/testing/TestPostgres.ts), with HOME and
 * the XDG directories inside the cluster's temporary directory (pg_autoctl keeps its configuration
 * and state files there) and the sockets there too.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"
import { findPostgresBin, unprivilegedUser } from "./TestPostgres.ts"

export interface HaNode {
  readonly name: string
  readonly port: number
  readonly pgdata: string
}

export interface HaNodeState {
  readonly name: string
  readonly reported: string
  readonly goal: string
}

export interface TestPostgresHa {
  /** `postgres://ejs@127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/ejs?target_session_attrs=read-write` */
  readonly url: string
  readonly nodes: ReadonlyArray<HaNode>
  readonly dir: string
  /** The node the monitor has as primary now (undefined during a failover). */
  primary(): Promise<HaNode | undefined>
  /** Every node's state as the monitor sees it. */
  states(): Promise<Array<HaNodeState>>
  /**
   * SIGKILL: the node's keeper and its PostgreSQL with every backend, at once (a crashed host).
   * Other signals go to the keeper, which stops its PostgreSQL (SIGTERM/SIGINT: a stopped node).
   */
  kill(node: HaNode, signal?: NodeJS.Signals): Promise<void>
  /** Starts a killed node's keeper again; it rejoins (as a standby when another was promoted). */
  restart(node: HaNode): Promise<void>
  /** Until one primary and two secondaries are settled. */
  healthy(timeoutMs?: number): Promise<void>
  log(): string
  stop(): Promise<void>
}

export interface TestPostgresHaOptions {
  /** Ports of the monitor and the three nodes (default: four free ports of 26000-27999). */
  readonly ports?: readonly [number, number, number, number]
  readonly database?: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A port of 26000-27999 (below the kernel's ephemeral range, and clear of the ranges other specs
 * take theirs from) that nothing listens on now.
 */
const freePort = async (taken: ReadonlyArray<number>): Promise<number> => {
  for (;;) {
    const port = 26000 + Math.floor(Math.random() * 2000)
    if (taken.includes(port)) continue
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer()
      s.once("error", () => resolve(false))
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** Every process below `pid` (by the parent pid of /proc/<pid>/stat). */
const descendants = (pid: number): Array<number> => {
  const parent = new Map<number, number>()
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      parent.set(Number(entry), ppid)
    } catch {
      // the process ended meanwhile
    }
  }
  const out: Array<number> = []
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child)
        walk(child)
      }
    }
  }
  walk(pid)
  return out
}

const signal = (pids: ReadonlyArray<number>, sig: NodeJS.Signals) => {
  for (const p of pids) {
    try {
      process.kill(p, sig)
    } catch {
      // already gone
    }
  }
}

const postmasterPid = (node: HaNode): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(path.join(node.pgdata, "postmaster.pid"), "utf8").split("\n")[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

export const startPostgresHa = async (options: TestPostgresHaOptions = {}): Promise<TestPostgresHa> => {
  const bin = findPostgresBin()
  if (bin === undefined) throw new Error("PostgreSQL server binaries not found (install postgresql)")
  if (!fs.existsSync("/usr/bin/pg_autoctl") && process.env.PG_AUTOCTL === undefined) {
    throw new Error("pg_autoctl not found (install postgresql-15-auto-failover)")
  }
  const autoctl = process.env.PG_AUTOCTL ?? "/usr/bin/pg_autoctl"
  const user = unprivilegedUser()
  const superuser = user?.name ?? os.userInfo().username
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pgha-"))
  if (user !== undefined) fs.chownSync(dir, user.uid, user.gid)
  const ports: Array<number> = [...(options.ports ?? [])]
  while (ports.length < 4) ports.push(await freePort(ports))
  const [monitorPort, ...nodePorts] = ports as [number, number, number, number]
  const db = options.database ?? "ejs"
  const env = {
    PATH: `${bin}:/usr/bin:/bin`,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, "config"),
    XDG_DATA_HOME: path.join(dir, "share"),
    XDG_RUNTIME_DIR: path.join(dir, "run"),
    // Sockets in the cluster's own directory (pg_autoctl's keepers connect to their PostgreSQL there).
    PGHOST: dir,
    PG_REGRESS_SOCK_DIR: dir
  }
  for (const d of ["config", "share", "run"]) {
    fs.mkdirSync(path.join(dir, d))
    if (user !== undefined) fs.chownSync(path.join(dir, d), user.uid, user.gid)
  }
  let log = ""
  const keepers = new Map<string, { child: ChildProcess; exited: Promise<void> }>()
  const launch = (name: string, args: ReadonlyArray<string>) => {
    const child = spawn(autoctl, args, { stdio: ["ignore", "pipe", "pipe"], cwd: dir, env, ...ids })
    const prefix = (d: Buffer) => (log += d.toString().replace(/^(?=.)/gm, `[${name}] `))
    child.stdout!.on("data", prefix)
    child.stderr!.on("data", prefix)
    const exited = new Promise<void>((r) => child.once("exit", () => r()))
    keepers.set(name, { child, exited })
  }
  const monitorData = path.join(dir, "monitor")
  const nodes: Array<HaNode> = nodePorts.map((port, i) => ({
    name: `n${i + 1}`,
    port,
    pgdata: path.join(dir, `n${i + 1}`)
  }))
  const monitorUri = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover`

  /** One statement as the monitor's superuser, over its socket. */
  const onMonitor = async (sql: string, params: Array<unknown> = []) => {
    const c = new pg.Client({ host: dir, port: monitorPort, user: superuser, database: "pg_auto_failover" })
    c.on("error", () => {})
    try {
      await c.connect()
      return (await c.query(sql, params)).rows as Array<Record<string, unknown>>
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  const states = async (): Promise<Array<HaNodeState>> =>
    (await onMonitor(`SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid`))
      .map((r) => ({ name: r.nodename as string, reported: r.reportedstate as string, goal: r.goalstate as string }))
  const until = async (
    what: string,
    ok: () => Promise<boolean>,
    timeoutMs: number,
    meanwhile?: () => Promise<void>
  ) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await ok().catch(() => false)) return
      if (Date.now() > deadline) {
        const now = await states().catch((e: unknown) => String(e))
        throw new Error(`pg_auto_failover: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(now)}\n${log}`)
      }
      await meanwhile?.().catch(() => undefined)
      await sleep(250)
    }
  }
  const settled = (name: string, state: string) => async () =>
    (await states()).some((s) => s.name === name && s.reported === state && s.goal === state)
  const primary = async () => {
    const rows = await states()
    const p = rows.find((s) => s.reported === s.goal && ["primary", "wait_primary", "single"].includes(s.reported))
    return nodes.find((n) => n.name === p?.name)
  }
  /**
   * A standby's base backup waits for a checkpoint, by default a spread one (minutes on an idle
   * server): an explicit CHECKPOINT on the primary completes it at once.
   */
  const checkpoint = async () => {
    const p = await primary()
    if (p === undefined) return
    const c = new pg.Client({ host: "127.0.0.1", port: p.port, user: db, database: db })
    c.on("error", () => {})
    try {
      await c.connect()
      await c.query("CHECKPOINT")
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  const healthy = (timeoutMs = 60_000) =>
    until(
      "one primary and two secondaries",
      async () => {
        const rows = await states()
        const steady = rows.filter((s) => s.reported === s.goal)
        return rows.length === 3 && steady.filter((s) => s.reported === "primary").length === 1 &&
          steady.filter((s) => s.reported === "secondary").length === 2
      },
      timeoutMs,
      checkpoint
    )

  const stopAll = async () => {
    // The data nodes first (their keepers report to the monitor), then the monitor.
    for (const group of [nodes.map((n) => n.name), ["monitor"]]) {
      await Promise.all(group.map(async (name) => {
        const k = keepers.get(name)
        if (k === undefined || k.child.exitCode !== null || k.child.signalCode !== null) return
        k.child.kill("SIGTERM")
        const done = await Promise.race([k.exited.then(() => true), sleep(15_000).then(() => false)])
        if (!done) signal([k.child.pid!, ...descendants(k.child.pid!)], "SIGKILL")
        await k.exited
      }))
    }
  }
  const fail = async (e: unknown): Promise<never> => {
    await stopAll()
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }

  try {
    launch("monitor", [
      "create",
      "monitor",
      "--pgdata",
      monitorData,
      "--pgport",
      String(monitorPort),
      "--hostname",
      "127.0.0.1",
      "--listen",
      "127.0.0.1",
      "--auth",
      "trust",
      "--no-ssl",
      "--run"
    ])
    await until("the monitor", async () => {
      await onMonitor("SELECT 1 FROM pgautofailover.formation")
      return true
    }, 30_000)
    for (
      const [name, value] of [
        ["health_check_period", 1000],
        ["health_check_timeout", 1000],
        ["health_check_max_retries", 1],
        ["health_check_retry_delay", 200],
        ["node_considered_unhealthy_timeout", 2000],
        ["primary_demote_timeout", 1000]
      ] as const
    ) await onMonitor(`ALTER SYSTEM SET pgautofailover.${name} = ${value}`)
    await onMonitor("SELECT pg_reload_conf()")
    const create = (node: HaNode) =>
      launch(node.name, [
        "create",
        "postgres",
        "--pgdata",
        node.pgdata,
        "--pgport",
        String(node.port),
        "--hostname",
        "127.0.0.1",
        "--listen",
        "127.0.0.1",
        "--name",
        node.name,
        "--auth",
        "trust",
        "--no-ssl",
        "--dbname",
        db,
        "--username",
        db,
        "--monitor",
        monitorUri,
        "--run"
      ])
    // The first node initialises the database alone; the standbys are then cloned from it.
    create(nodes[0]!)
    await until("the first node as single", settled(nodes[0]!.name, "single"), 60_000)
    create(nodes[1]!)
    create(nodes[2]!)
    await healthy(90_000)
    await onMonitor(`SELECT pgautofailover.set_formation_number_sync_standbys('default', 1)`).catch(() => undefined)
    await until("number_sync_standbys 1", async () => {
      const rows = await onMonitor(
        `SELECT number_sync_standbys FROM pgautofailover.formation WHERE formationid = 'default'`
      )
      return Number(rows[0]?.number_sync_standbys) === 1
    }, 10_000)
    await healthy()
  } catch (e) {
    return fail(e)
  }

  const kill = async (node: HaNode, sig: NodeJS.Signals = "SIGKILL") => {
    const k = keepers.get(node.name)
    if (k === undefined || k.child.exitCode !== null || k.child.signalCode !== null) return
    if (sig === "SIGKILL") {
      // Frozen first, so that neither the keeper restarts its services nor the postmaster forks
      // while the tree is read, then killed together.
      // The postmaster is started by pg_ctl, detached from the keeper: found by its pid file.
      const tree = () => {
        const postmaster = postmasterPid(node)
        return [
          k.child.pid!,
          ...descendants(k.child.pid!),
          ...(postmaster === undefined ? [] : [postmaster, ...descendants(postmaster)])
        ]
      }
      const first = tree()
      signal(first, "SIGSTOP")
      const all = [...new Set([...first, ...tree()])]
      signal(all, "SIGSTOP")
      signal(all, "SIGKILL")
    } else k.child.kill(sig)
    await k.exited
  }
  const restart = async (node: HaNode) => {
    const k = keepers.get(node.name)
    if (k !== undefined && k.child.exitCode === null && k.child.signalCode === null) return
    // A killed postmaster leaves its pid file; the keeper's `pg_ctl start` handles a stale one.
    launch(node.name, ["run", "--pgdata", node.pgdata])
  }
  return {
    url: `postgres://${db}@${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}/${db}?target_session_attrs=read-write`,
    nodes,
    dir,
    primary,
    states,
    kill,
    restart,
    healthy,
    log: () => log,
    stop: async () => {
      await stopAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
