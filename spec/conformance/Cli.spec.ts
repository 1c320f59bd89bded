/**
 * `effect-jetstream conformance` as a user runs it: exit codes and report lines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { runCli } from "../support/Process.ts"

describe("effect-jetstream conformance (CLI)", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
  })
  afterAll(() => broker?.stop())

  it("runs the properties and exits 0 when all pass", async () => {
    const only = "publish-sequence,dedup-window,expected-headers,replay-by-sequence,kv-cas"
    const r = await runCli(["conformance", "--server", broker.url, "--runs", "2", "--only", only, "--seed", "99"])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(
      /^JetStream conformance against nats:\/\/127\.0\.0\.1:\d+ \(effect-jetstream .*\), seed 99$/m
    )
    expect(r.stdout).toMatch(/^PASS publish-sequence \(2 runs, \d+\.\ds\)$/m)
    expect(r.stdout).toMatch(/^PASS kv-cas \(2 runs/m)
    expect(r.stdout).toMatch(/^5 passed, 0 failed, 0 skipped in /m)
  })

  it("--json prints the report as JSON", async () => {
    const r = await runCli(["conformance", "--server", broker.url, "--runs", "1", "--only", "dedup-window", "--json"])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout) as { passed: number; properties: Array<{ name: string; status: string }> }
    expect(report.properties).toEqual([expect.objectContaining({ name: "dedup-window", status: "passed" })])
  })

  it("exits 2 on an unknown flag, naming it", async () => {
    const r = await runCli(["conformance", "--server", broker.url, "--bogus"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("unknown flag --bogus")
  })

  it("exits 2 without --server and 1 when the server is unreachable", async () => {
    const missing = await runCli(["conformance"])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("--server is required")
    const down = await runCli(["conformance", "--server", "nats://127.0.0.1:1", "--runs", "1"])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain("cannot connect")
  })
})
