/**
 * restart-durability with a real `--restart-cmd`: a shell script that kill -9s the server process and
 * starts it again on the same port and store directory. Our broker (the CLI) and nats-server when on PATH.
 */
import { execSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { format } from "../../src/conformance/Report.ts"
import { runConformance } from "../../src/conformance/Runner.ts"
import { natsServerPath } from "../support/Broker.ts"
import { BIN } from "../support/Process.ts"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const accepting = async (port: number, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, "127.0.0.1", () => (c.destroy(), r(true))).on("error", () => r(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`port ${port} not accepting`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Writes the restart script, starts the server through it and returns what the kit needs. */
const crashableServer = async (start: (port: number, dir: string) => string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-conf-restart-"))
  const port = await freePort()
  const pidFile = path.join(dir, "pid")
  const script = path.join(dir, "restart.sh")
  fs.writeFileSync(
    script,
    `#!/bin/sh
P=$(cat ${pidFile} 2>/dev/null)
if [ -n "$P" ]; then kill -9 $P 2>/dev/null; while kill -0 $P 2>/dev/null; do sleep 0.05; done; fi
${start(port, path.join(dir, "store"))} >/dev/null 2>&1 &
echo $! > ${pidFile}
`,
    { mode: 0o755 }
  )
  execSync(script)
  await accepting(port, 20_000)
  return {
    url: `nats://127.0.0.1:${port}`,
    restartCmd: script,
    stop: () => {
      try {
        process.kill(Number(fs.readFileSync(pidFile, "utf8").trim()), "SIGKILL")
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

describe("restart-durability: this broker (kill -9 the CLI)", () => {
  let server: Awaited<ReturnType<typeof crashableServer>>
  beforeAll(async () => {
    server = await crashableServer((port, dir) => `${process.execPath} ${BIN} -a 127.0.0.1 -p ${port} -js -sd ${dir}`)
  })
  afterAll(() => server?.stop())

  it("no acknowledged publish and no confirmed ack is lost", async () => {
    const report = await runConformance({
      server: server.url,
      restartCmd: server.restartCmd,
      only: ["restart-durability"],
      runs: 20
    })
    const text = format(report)
    console.log(text)
    expect(report.properties[0]!.status, text).toBe("passed")
    expect(report.properties[0]!.numRuns).toBe(2)
  }, 60_000)
})

describe.skipIf(natsServerPath() === undefined)("restart-durability: nats-server (kill -9)", () => {
  let server: Awaited<ReturnType<typeof crashableServer>>
  beforeAll(async () => {
    server = await crashableServer((port, dir) => `${natsServerPath()} -a 127.0.0.1 -p ${port} -js -sd ${dir}`)
  })
  afterAll(() => server?.stop())

  it("no acknowledged publish is lost (acks: documented difference)", async () => {
    const report = await runConformance({
      server: server.url,
      restartCmd: server.restartCmd,
      only: ["restart-durability"],
      runs: 10
    })
    const text = format(report)
    console.log(text)
    expect(report.properties[0]!.status, text).toBe("passed")
    expect(report.properties[0]!.differences).toContain("asynchronously")
  }, 60_000)
})
