/**
 * `npm run cluster`: a local JetStream cluster on loopback — a throwaway PostgreSQL 15 (the
 * cluster store) and three brokers with routes to each other — until Ctrl-C, which stops the
 * brokers, then PostgreSQL, and removes the temporary directory.
 *
 *   npm run cluster [-- --port 4222 --route-port 6222 --http-port 8222 --pg-port 55432 --keep --ha]
 *
 * Each port is the first of three (n1, n2, n3). `--keep` leaves the data directory afterwards.
 * `--ha` replaces the single PostgreSQL by a replicated one (src/testing/TestPostgresHa.ts: a
 * pg_auto_failover monitor on --pg-port and three data nodes on the next three ports), reached with
 * the multi-host URL; kill its primary (`kill -9` of the postgres shown by `pg_autoctl show state`)
 * to watch a failover.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import { startPostgres } from "../src/testing/TestPostgres.ts"
import { startPostgresHa } from "../src/testing/TestPostgresHa.ts"

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4222" },
    "route-port": { type: "string", default: "6222" },
    "http-port": { type: "string", default: "8222" },
    "pg-port": { type: "string", default: "55432" },
    keep: { type: "boolean", default: false },
    ha: { type: "boolean", default: false }
  }
})
const port = Number(values.port)
const routePort = Number(values["route-port"])
const httpPort = Number(values["http-port"])
const pgPort = Number(values["pg-port"])
if (![port, routePort, httpPort, pgPort].every((p) => Number.isInteger(p) && p > 0 && p < 65534)) {
  console.error("--port, --route-port, --http-port and --pg-port must be port numbers")
  process.exit(2)
}
const bin = path.resolve(import.meta.dirname, "../bin/effect-jetstream")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-local-cluster-"))

const pg = values.ha
  ? await (async () => {
    console.log(`starting pg_auto_failover (monitor on 127.0.0.1:${pgPort}, nodes on the next three ports) ...`)
    const started = Date.now()
    const ha = await startPostgresHa({ ports: [pgPort, pgPort + 1, pgPort + 2, pgPort + 3] })
    console.log(`replicated PostgreSQL ready in ${Date.now() - started} ms, primary ${(await ha.primary())?.name}`)
    console.log(`pg_autoctl state: HOME=${ha.dir} XDG_CONFIG_HOME=${ha.dir}/config XDG_DATA_HOME=${ha.dir}/share ` +
      `pg_autoctl show state --pgdata ${ha.dir}/monitor`)
    return ha
  })()
  : await (async () => {
    console.log(`starting PostgreSQL on 127.0.0.1:${pgPort} ...`)
    return startPostgres({ port: pgPort })
  })()
console.log(`cluster store: ${pg.url}`)

const names = ["n1", "n2", "n3"]
const children: Array<ChildProcess> = []
names.forEach((name, i) => {
  const routes = names.map((_, j) => `"nats://127.0.0.1:${routePort + j}"`).filter((_, j) => j !== i)
  const file = path.join(dir, `${name}.conf`)
  fs.writeFileSync(
    file,
    [
      `server_name: ${name}`,
      `listen: "127.0.0.1:${port + i}"`,
      `http: "127.0.0.1:${httpPort + i}"`,
      `server_tags: ["node:${name}"]`,
      `jetstream { store_dir: ${JSON.stringify(path.join(dir, name))}, cluster_store: ${JSON.stringify(pg.url)} }`,
      `cluster { name: local, listen: "127.0.0.1:${routePort + i}", routes: [${routes.join(", ")}] }`
    ].join("\n") + "\n"
  )
  const child = spawn(process.execPath, [bin, "-c", file], { stdio: ["ignore", "pipe", "pipe"] })
  const prefix = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line !== "") process.stdout.write(`[${name}] ${line}\n`)
  }
  child.stdout!.on("data", prefix)
  child.stderr!.on("data", prefix)
  children.push(child)
})

console.log("")
console.log(`clients:    ${names.map((_, i) => `nats://127.0.0.1:${port + i}`).join(",")}`)
console.log(`monitoring: ${names.map((_, i) => `http://127.0.0.1:${httpPort + i}/jsz`).join(" ")}`)
console.log(`data:       ${dir}`)
console.log("Ctrl-C stops everything")

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  console.log("stopping the brokers ...")
  await Promise.all(children.map((c) =>
    c.exitCode !== null ? undefined : new Promise<void>((r) => {
      c.once("exit", () => r())
      c.kill("SIGTERM")
    })
  ))
  console.log("stopping PostgreSQL ...")
  await pg.stop()
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}
process.on("SIGINT", () => void stop())
process.on("SIGTERM", () => void stop())
