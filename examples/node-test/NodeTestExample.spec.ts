/**
 * CI runs the node:test example as the README tells users to (`node --test <file>`, Node 24
 * running the TypeScript directly) and requires every test in it to pass.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { expect, it } from "vitest"

it("node --test examples/node-test/orders.test.ts passes both tests", () => {
  const file = path.join(import.meta.dirname, "orders.test.ts")
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", file], { encoding: "utf8", timeout: 60_000 })
  expect(r.stderr).not.toMatch(/Error/)
  expect(r.status).toBe(0)
  expect(r.stdout).toMatch(/^# pass 2$/m)
  expect(r.stdout).toMatch(/^# fail 0$/m)
})
