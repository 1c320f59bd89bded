/**
 * NestJS 11 (its Transport.NATS loads the legacy `nats` v2 client) against the broker. The example
 * has its own package.json and lockfile next to this spec, because the root installs NestJS 12;
 * they are installed here from the lockfile (preferring the npm cache) on first run.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, expect, it } from "vitest"
import { startTestServer } from "../../src/testing/index.ts"

const dir = import.meta.dirname

beforeAll(() => {
  if (!fs.existsSync(path.join(dir, "node_modules", "@nestjs", "microservices"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], {
      cwd: dir,
      env: { ...process.env, npm_config_prefer_offline: "true" },
      stdio: "ignore",
      timeout: 240_000
    })
  }
}, 300_000)

it("request/response and queue-grouped events over nats v2", async () => {
  await using srv = await startTestServer({ jetstream: false })
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    // Asynchronous: the broker runs in this process and must keep serving while the app talks to it.
    const child = spawn(process.execPath, [path.join(dir, "nest11-app.cjs"), srv.url], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d) => (stdout += d))
    child.stderr!.on("data", (d) => (stderr += d))
    child.on("exit", (status) => resolve({ status, stdout, stderr }))
  })
  expect(r.status, r.stderr).toBe(0)
  expect(JSON.parse(r.stdout)).toEqual({
    nats: "2.29.3",
    replies: [1, 2, 3].map((i) => ({ id: `o-${i}`, total: i * 250 })),
    events: [{ id: "e-1" }, { id: "e-2" }]
  })
})
