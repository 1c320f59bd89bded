/**
 * The kit must catch a broken server: a proxy in front of our broker rewrites PubAck sequences from 3
 * on (the stored message keeps its real sequence). publish-sequence must fail with a shrunk
 * counterexample (the minimal one is three publishes), a seed and a path that replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { format } from "../../src/conformance/Report.ts"
import { runConformance } from "../../src/conformance/Runner.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { type Proxy, startProxy } from "./Proxy.ts"

describe("conformance kit: planted bug", () => {
  let broker: RunningBroker
  let proxy: Proxy
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
    proxy = await startProxy({ host: "127.0.0.1", port: broker.port })
  })
  afterAll(async () => {
    await proxy?.close()
    await broker?.stop()
  })

  it("passes through a transparent proxy", async () => {
    proxy.bug = false
    const report = await runConformance({ server: proxy.url, runs: 10, only: ["publish-sequence"] })
    expect(report.failed, format(report)).toBe(0)
  })

  it("catches rewritten PubAck sequences with a shrunk, replayable counterexample", async () => {
    proxy.bug = true
    const report = await runConformance({ server: proxy.url, runs: 30, only: ["publish-sequence"], seed: 1234 })
    const text = format(report)
    const p = report.properties.find((x) => x.name === "publish-sequence")!
    expect(p.status, text).toBe("failed")
    expect(p.seed).toBe(1234)
    expect(p.path).toMatch(/^\d+(:\d+)*$/)
    expect(p.error).toMatch(/ack/)
    // Shrunk to the minimum: three publishes (the third ack is the first one rewritten).
    expect(p.counterexample).toEqual([
      expect.stringMatching(/^#0 publish/),
      expect.stringMatching(/^#1 publish/),
      expect.stringMatching(/^#2 publish/)
    ])
    expect(text).toContain("FAIL publish-sequence")
    expect(text).toContain(`--seed 1234 --path "${p.path}"`)
    // The seed and path replay exactly that counterexample.
    const replay = await runConformance({
      server: proxy.url,
      runs: 30,
      only: ["publish-sequence"],
      seed: 1234,
      path: p.path
    })
    expect(replay.properties[0]!.status).toBe("failed")
    expect(replay.properties[0]!.counterexample).toEqual(p.counterexample)
  })
})
