/**
 * Start-to-ready time of a test server: `npx tsx bench/testserver.bench.ts [runs]`.
 *
 * "Ready" = a TCP client on 127.0.0.1 has received the server's INFO line, with JetStream enabled.
 * Compared: startTestServer() in this process (memory and temp-dir file storage), nats-server as a
 * child process (what `nats-memory-server`-style harnesses do), and our CLI as a child process.
 * The first in-process start also pays for loading the module; that is reported on its own.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { freePort, HOST, nowMs, sleep } from "./support.ts"

const runs = Number(process.argv[2] ?? 20)
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Resolves once the server at `port` sends INFO; retries refused connections every 2 ms. */
const waitInfo = async (port: number): Promise<void> => {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, HOST)
      s.once("data", (d) => {
        s.destroy()
        resolve(d.toString().startsWith("INFO "))
      })
      s.once("error", () => resolve(false))
    })
    if (ok) return
    await sleep(2)
  }
}

const stats = (xs: Array<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, min ${s[0]!.toFixed(1)} ms (n=${s.length})`
}

const child = async (cmd: string, args: Array<string>): Promise<number> => {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-bench-start-"))
  const t0 = nowMs()
  const p: ChildProcess = spawn(cmd, [...args, "-a", HOST, "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" })
  await waitInfo(port)
  const t = nowMs() - t0
  p.kill("SIGKILL")
  await new Promise((r) => p.once("exit", r))
  fs.rmSync(dir, { recursive: true, force: true })
  return t
}

const tImport = nowMs()
const { startTestServer } = await import("../src/testing/index.ts")
const importMs = nowMs() - tImport

const inProcess = async (storage: "memory" | "file", n: number) => {
  const out: Array<number> = []
  for (let i = 0; i < n; i++) {
    const t0 = nowMs()
    const srv = await startTestServer({ storage })
    await waitInfo(srv.port)
    out.push(nowMs() - t0)
    await srv.close()
  }
  return out
}

console.log(`test server start-to-ready, node ${process.version}, ${os.cpus().length} cpus, ${runs} runs each`)
console.log(`  loading effect-jetstream/testing (once per process): ${importMs.toFixed(1)} ms`)
const first = await inProcess("memory", 1)
console.log(`  startTestServer, first start after load:            ${first[0]!.toFixed(1)} ms`)
console.log(`  startTestServer({ storage: "memory" }):             ${stats(await inProcess("memory", runs))}`)
console.log(`  startTestServer({ storage: "file" }):               ${stats(await inProcess("file", runs))}`)

const nats = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => fs.existsSync(p))
if (nats !== undefined) {
  const xs: Array<number> = []
  for (let i = 0; i < runs; i++) xs.push(await child(nats, []))
  console.log(`  nats-server -js child process:                      ${stats(xs)}`)
} else console.log("  nats-server: not installed, skipped")

const cli: Array<number> = []
for (let i = 0; i < Math.min(runs, 5); i++) {
  cli.push(await child(process.execPath, [path.join(root, "bin", "effect-jetstream")]))
}
console.log(`  effect-jetstream CLI child process (bundle):        ${stats(cli)}`)
