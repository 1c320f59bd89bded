/**
 * Broker bugs the kit found, replayed by seed and path after their fix (regression tests).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runConformance } from "../../src/conformance/Runner.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

describe("conformance kit: known broker bugs", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
  })
  afterAll(() => broker?.stop())

  it("limits-discard: discard new at max_msgs lets a subject at its per-subject limit replace its oldest (as nats-server)", async () => {
    // Seed 7 path 31:2:9:8:11:13:13 once failed: max_msgs=2 max_msgs_per_subject=2 discard=new; publish s2 ×3.
    const report = await runConformance({
      server: broker.url,
      only: ["limits-discard"],
      runs: 300,
      seed: 7,
      path: "31:2:9:8:11:13:13"
    })
    const p = report.properties[0]!
    expect(p.status).toBe("passed")
    expect(p.counterexample).toBeUndefined()
  })
})
