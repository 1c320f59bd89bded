#!/usr/bin/env node
// Core NATS across routes: publisher on node 1, subscriber on node 2 of a 3-node cluster, beside
// the same load on one server, for this broker and for nats-server, on loopback. Prints medians
// and the ratios that matter (cluster vs single, ours vs nats-server).
//
//   node bench/cluster/run.mjs                 # REPS=3, 200k msgs pub/sub, 10k requests
//   REPS=5 MSGS=400000 REQS=20000 node bench/cluster/run.mjs
//   BENCH_PORT_BASE=31900 (default): ports used are BASE..BASE+40 on 127.0.0.1
//
// Needs Go and Debian's nats.go (apt-get install golang-go golang-github-nats-io-go-nats-dev)
// for the load generator, and nats-server on PATH for the comparison (skipped without it).
import { execFileSync, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { buildRouteBench } from "./goGenerator.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const REPS = Number(process.env.REPS ?? 3)
const MSGS = Number(process.env.MSGS ?? 200_000)
const REQS = Number(process.env.REQS ?? 10_000)
const BASE = Number(process.env.BENCH_PORT_BASE ?? 31900)
const work = fs.mkdtempSync(path.join(os.tmpdir(), "routebench-"))

const which = (cmd) => {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" })
  return r.status === 0 ? r.stdout.trim() : undefined
}

const buildGenerator = () => {
  const bin = buildRouteBench(work)
  if (bin === undefined) {
    console.error("bench: needs go and golang-github-nats-io-go-nats-dev (apt-get install golang-go golang-github-nats-io-go-nats-dev)")
    process.exit(2)
  }
  return bin
}

const children = []
const start = (cmd, args, log) => {
  const out = fs.openSync(path.join(work, log), "w")
  const child = spawn(cmd, args, { stdio: ["ignore", out, out] })
  children.push(child)
  return child
}
const stopAll = async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null) continue
    c.kill("SIGTERM")
    await new Promise((r) => c.once("exit", r))
  }
}
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const routez = async (port) => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/routez`)
    return (await r.json()).num_routes
  } catch {
    return -1
  }
}
const ready = async (monitorPorts, routes) => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const n = await Promise.all(monitorPorts.map(routez))
    if (n.every((x) => x === routes)) return
    await sleep(100)
  }
  throw new Error(`servers on ${monitorPorts} did not reach ${routes} route(s)`)
}

const ours = [path.join(root, "bin/effect-jetstream")]
const implementations = [
  { name: "effect-jetstream", cmd: process.execPath, pre: ours },
  ...(which("nats-server") === undefined ? [] : [{ name: "nats-server", cmd: which("nats-server"), pre: [] }])
]
if (implementations.length === 1) console.error("bench: nats-server not on PATH, measuring this broker only")

/** Starts one implementation as a single server or a 3-node cluster; returns client URLs. */
const topology = async (impl, kind, offset) => {
  const p = BASE + offset
  if (kind === "single") {
    start(impl.cmd, [...impl.pre, "-a", "127.0.0.1", "-p", String(p), "-m", String(p + 10)], `${impl.name}-single.log`)
    await ready([p + 10], 0)
    return [`nats://127.0.0.1:${p}`, `nats://127.0.0.1:${p}`]
  }
  for (let i = 0; i < 3; i++) {
    start(impl.cmd, [
      ...impl.pre,
      "-a",
      "127.0.0.1",
      "-p",
      String(p + i),
      "-m",
      String(p + 10 + i),
      "--cluster",
      `nats://127.0.0.1:${p + 20 + i}`,
      "--cluster_name",
      "bench",
      ...(i === 0 ? [] : ["--routes", `nats://127.0.0.1:${p + 20}`])
    ], `${impl.name}-cluster-${i}.log`)
  }
  await ready([p + 10, p + 11, p + 12], 2)
  return [`nats://127.0.0.1:${p}`, `nats://127.0.0.1:${p + 1}`]
}

const run = (bin, workload, [pub, sub]) => {
  const out = execFileSync(bin, [
    "-workload",
    workload,
    "-pub",
    pub,
    "-sub",
    sub,
    "-msgs",
    String(workload === "pubsub" ? MSGS : REQS)
  ], { encoding: "utf8" })
  return JSON.parse(out.trim().split("\n").pop())
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const bin = buildGenerator()
const results = {}
try {
  let offset = 0
  for (const impl of implementations) {
    for (const kind of ["single", "cluster"]) {
      const urls = await topology(impl, kind, offset)
      offset += 0
      for (const workload of ["pubsub", "reqrep"]) {
        const key = `${impl.name} ${kind} ${workload}`
        results[key] = []
        for (let r = 0; r < REPS; r++) {
          const res = run(bin, workload, urls)
          results[key].push(res)
          console.error(
            `${key.padEnd(40)} rep ${r + 1}: ${Math.round(res.msgs_per_s).toLocaleString()} msg/s` +
              (res.p50_us === undefined ? "" : ` p50 ${res.p50_us.toFixed(1)}us p99 ${res.p99_us.toFixed(1)}us`)
          )
        }
      }
      await stopAll()
      await sleep(300)
    }
  }
} finally {
  await stopAll()
}

const m = (key, field = "msgs_per_s") => (results[key] === undefined ? undefined : median(results[key].map((r) => r[field])))
const fmt = (v, d = 0) => (v === undefined ? "-" : v.toLocaleString(undefined, { maximumFractionDigits: d }))
const ratio = (a, b) => (a === undefined || b === undefined ? "-" : (a / b).toFixed(3))
console.log(`\nroutes bench  ${new Date().toISOString()}  ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
console.log(`medians of ${REPS} reps; pub/sub ${MSGS} x 128 B; req/rep ${REQS} sequential x 128 B; cluster: pub node 1, sub node 2\n`)
console.log("workload  metric    ours single   ours cluster  nats single   nats cluster  ours c/s  nats c/s  ours/nats cluster")
for (const w of ["pubsub", "reqrep"]) {
  const metrics = w === "pubsub" ? [["msgs/s", "msgs_per_s"]] : [["msgs/s", "msgs_per_s"], ["p50 us", "p50_us"], ["p99 us", "p99_us"]]
  for (const [label, field] of metrics) {
    const os1 = m(`effect-jetstream single ${w}`, field)
    const oc = m(`effect-jetstream cluster ${w}`, field)
    const ns = m(`nats-server single ${w}`, field)
    const nc = m(`nats-server cluster ${w}`, field)
    console.log(
      `${w.padEnd(9)} ${label.padEnd(8)} ${fmt(os1, 1).padStart(12)} ${fmt(oc, 1).padStart(13)} ${fmt(ns, 1).padStart(12)} ${
        fmt(nc, 1).padStart(13)
      } ${ratio(oc, os1).padStart(9)} ${ratio(nc, ns).padStart(9)} ${ratio(oc, nc).padStart(18)}`
    )
  }
}
fs.rmSync(work, { recursive: true, force: true })
