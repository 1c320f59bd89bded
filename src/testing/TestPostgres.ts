/**
 * A throwaway PostgreSQL server on loopback (or another local address), for the cluster specs and `npm run cluster`: initdb
 * into a temporary directory, `postgres` on the given port, one database, and a `stop` that
 * shuts it down and removes the directory.
 *
 * PostgreSQL refuses to run as root; as root the data directory is given to the `postgres` user
 * (Debian's package creates it) or `nobody`, and initdb and postgres are spawned with that user's
 * uid and gid (not through runuser/su, which would stand between the signals and postgres).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import pg from "pg"

export interface TestPostgres {
  /** `postgres://ejs@127.0.0.1:<port>/<database>` */
  readonly url: string
  readonly port: number
  readonly dir: string
  log(): string
  stop(): Promise<void>
  /** Stops the server, keeping its data (an outage of the store); `resume` starts it again. */
  halt(): Promise<void>
  resume(): Promise<void>
}

export interface TestPostgresOptions {
  readonly port: number
  readonly database?: string
  /** Turns off fsync (tests: durability of a throwaway server does not matter). */
  readonly fast?: boolean
  /**
   * The address to listen on and to put in `url` (default `127.0.0.1`). Any other address (a
   * bridge to network namespaces) also admits, without a password, every subnet the server's
   * interfaces are on (pg_hba `samenet`): initdb's pg_hba admits loopback only.
   */
  readonly host?: string
}

/** The newest installed server binaries (`PG_BIN` overrides), or undefined when none is installed. */
export const findPostgresBin = (): string | undefined => {
  const env = process.env.PG_BIN
  if (env !== undefined && fs.existsSync(path.join(env, "initdb"))) return env
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : path.join(root, versions[0], "bin")
}

export interface Ids {
  readonly uid: number
  readonly gid: number
  readonly name: string
}

/** As root, the user PostgreSQL runs as (undefined: not root, it runs as the current user). */
export const unprivilegedUser = (): Ids | undefined => {
  if (process.getuid?.() !== 0) return undefined
  for (const user of ["postgres", "nobody"]) {
    try {
      const id = (flag: string) => Number(execFileSync("id", [flag, user], { encoding: "utf8" }).trim())
      return { uid: id("-u"), gid: id("-g"), name: user }
    } catch {
      // try the next one
    }
  }
  throw new Error("running as root and neither a postgres nor a nobody user exists to run PostgreSQL")
}

export const startPostgres = async (options: TestPostgresOptions): Promise<TestPostgres> => {
  const bin = findPostgresBin()
  if (bin === undefined) throw new Error("PostgreSQL server binaries not found (install postgresql)")
  const user = unprivilegedUser()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pg-"))
  const data = path.join(dir, "data")
  if (user !== undefined) fs.chownSync(dir, user.uid, user.gid)
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid }
  execFileSync(path.join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "ejs",
    "--auth=trust",
    "-E",
    "UTF8",
    "--no-sync"
  ], { stdio: "pipe", cwd: dir, ...ids })
  const host = options.host ?? "127.0.0.1"
  if (host !== "127.0.0.1") fs.appendFileSync(path.join(data, "pg_hba.conf"), "host all all samenet trust\n")
  const settings = [
    "-p",
    String(options.port),
    "-k",
    dir,
    "-c",
    `listen_addresses=${host}`,
    ...(options.fast === true ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [])
  ]
  let log = ""
  let child: ChildProcess
  let exited: Promise<void>
  let running = false
  const launch = () => {
    child = spawn(path.join(bin, "postgres"), ["-D", data, ...settings], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: dir,
      ...ids
    })
    child.stdout!.on("data", (d) => (log += d))
    child.stderr!.on("data", (d) => (log += d))
    running = true
    exited = new Promise<void>((r) => child.once("exit", () => r()))
    void exited.then(() => (running = false))
  }
  // SIGINT is PostgreSQL's fast shutdown: sessions are ended, nothing is left behind.
  const halt = async () => {
    if (running) child.kill("SIGINT")
    await exited
  }
  const stop = async () => {
    await halt()
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const base = `postgres://ejs@${host}:${options.port}`
  const db = options.database ?? "ejs"
  /** Until the server accepts a session (then `first` runs on it). */
  const ready = async (first: (c: pg.Client) => Promise<unknown>) => {
    const deadline = Date.now() + 30_000
    for (;;) {
      if (!running) {
        await stop()
        throw new Error(`postgres exited during start:\n${log}`)
      }
      const c = new pg.Client({ connectionString: `${base}/postgres` })
      try {
        await c.connect()
        await first(c)
        await c.end()
        return
      } catch (e) {
        await c.end().catch(() => undefined)
        if (Date.now() > deadline) {
          await stop()
          throw new Error(`postgres did not accept connections: ${e instanceof Error ? e.message : e}\n${log}`)
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    }
  }
  launch()
  await ready((c) => c.query(`CREATE DATABASE "${db.replaceAll("\"", "\"\"")}"`))
  return {
    url: `${base}/${db}`,
    port: options.port,
    dir,
    log: () => log,
    stop,
    halt,
    resume: async () => {
      launch()
      await ready(() => Promise.resolve())
    }
  }
}
