/**
 * The short Jepsen run (src/testing/jepsen/): three brokers (in network namespaces when they can
 * be made) on a throwaway PostgreSQL, three publishers and two consumer workers on an R3 stream,
 * and every fault kind once on a seeded schedule (JEPSEN_SEED repeats one): kill -9 of the owner,
 * SIGSTOP past its lease, a partition of the owner. Nothing acked may be lost or stored twice,
 * no confirmed consumer ack may be undone; failover times are recorded (not asserted).
 */
import { expect, it } from "vitest"
import { runJepsen } from "../../src/testing/jepsen/Jepsen.ts"
import { summary } from "../../src/testing/jepsen/Report.ts"
import { freshSeed } from "../../src/testing/jepsen/Rng.ts"
import { describePostgres } from "../support/Postgres.ts"

describePostgres("Jepsen: an R3 stream under owner faults", () => {
  it("every PubAcked message is stored once in ack order, every confirmed consumer ack stays", async () => {
    const seed = process.env.JEPSEN_SEED === undefined ? freshSeed() : Number(process.env.JEPSEN_SEED)
    const report = await runJepsen({ durationMs: 0, seed, log: (l) => console.log(l) })
    console.log(summary(report))
    if (!report.check.valid) console.log(JSON.stringify(report.logs, null, 2))
    expect(report.seed).toBe(seed)
    const offered = report.mode === "netns" ? ["kill", "partition", "stop"] : ["kill", "stop"]
    expect([...new Set(report.faults.map((f) => f.kind))].sort()).toEqual(offered)
    expect(report.faults.every((f) => f.node !== undefined && f.heldMs !== undefined)).toBe(true)
    // Each failover was timed: PubAcks came again and the stream answered again (a killed owner
    // restarted before its lease ran out may have taken it back itself).
    for (const f of report.faults) {
      expect(f.firstAckMs, `${f.kind}: no PubAck after it`).toBeGreaterThan(0)
      expect(f.infoMs, `${f.kind}: no stream info after it`).toBeGreaterThan(0)
      expect(f.movedTo).toMatch(/^n[123]$/)
    }
    expect(report.check.acked).toBeGreaterThan(0)
    expect(report.check.confirmedConsumerAcks).toBeGreaterThan(0)
    expect([report.check.lost, report.check.duplicated]).toEqual([0, 0])
    expect(report.check.violations).toEqual([])
  }, 240_000)
})
