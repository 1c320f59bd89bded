/**
 * CI runs the global-setup example as its own vitest project (its config and test file are not
 * part of the main run) and requires its test to pass.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

it("a vitest project with effect-jetstream's globalSetup passes", () => {
  const repo = path.resolve(import.meta.dirname, "../..")
  const vitest = path.join(repo, "node_modules", "vitest", "vitest.mjs")
  const r = spawnSync(process.execPath, [vitest, "run", "--config", "examples/vitest-global/global.vitest.config.ts"], {
    cwd: repo,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NATS_URL: "", CI: "1" }
  })
  expect(r.status, r.stdout + r.stderr).toBe(0)
  // vitest colours its summary even when piped; compare the plain text.
  const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, "")
  expect(plain).toMatch(/Tests\s+1 passed \(1\)/)
})
