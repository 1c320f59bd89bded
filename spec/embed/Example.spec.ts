/**
 * CI runs the embedding example exactly as the README tells users to: `npx tsx examples/embedded.ts`.
 */
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")

describe("examples/embedded.ts", () => {
  it("runs to completion and exits 0", () => {
    const r = spawnSync(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), "examples/embedded.ts"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000
    })
    expect(r.stderr).not.toContain("failed")
    expect(r.status).toBe(0)
    expect(r.stdout).toContain("consumer: ack orders.1, nak orders.2, ack orders.3, ack orders.2 (redelivered)")
    expect(r.stdout).toContain("embedded example: ok")
  }, 60_000)
})
