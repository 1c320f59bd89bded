/**
 * The real CLI with `--ports_file_dir`: the ports file appears within a second of start with the
 * bound URLs (random ports), the monitoring URL answers, and the file is removed on shutdown.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startCli } from "../support/Process.ts"

describe("ports file from the CLI", () => {
  it("writes nats-server_<pid>.ports with the bound URLs and removes it on shutdown", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ports-"))
    const broker = await startCli(["-m", "-1", "--ports_file_dir", dir])
    try {
      const file = path.join(dir, `nats-server_${broker.child.pid}.ports`)
      const deadline = Date.now() + 1000
      while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      expect(fs.readdirSync(dir)).toEqual([`nats-server_${broker.child.pid}.ports`])
      const ports = JSON.parse(fs.readFileSync(file, "utf8")) as { nats: Array<string>; monitoring: Array<string> }
      expect(Object.keys(ports)).toEqual(["nats", "monitoring"])
      expect(ports.nats).toEqual([`nats://127.0.0.1:${broker.port}`])
      // The CLI's monitor listens on 0.0.0.0 (http_host default), so every IPv4 interface address is
      // listed, loopback first, as nats-server does for a wildcard listener.
      const m = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(ports.monitoring[0]!)
      expect(m).not.toBeNull()
      for (const u of ports.monitoring) expect(u).toMatch(new RegExp(`^http://[0-9.]+:${m![1]}$`))
      expect(broker.log()).toMatch(new RegExp(`\\[INF\\] Starting http monitor on [0-9.]+:${m![1]}`))
      const health = await fetch(`${ports.monitoring[0]}/healthz`)
      expect([health.status, await health.text()]).toEqual([200, "{\"status\":\"ok\"}"])
      expect(await broker.stop()).toBe(0)
      expect(fs.existsSync(file)).toBe(false)
    } finally {
      broker.child.kill("SIGKILL")
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
