import { Clock, Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { BrokerClock } from "../../src/core/BrokerClock.ts"

/** A clock whose nanosecond reading runs `skewNs` off its millisecond (wall) reading, as Effect's live one may. */
const skewed = (wall: { ms: number }, skewNs: bigint): Clock.Clock => {
  const nanos = () => BigInt(wall.ms) * 1_000_000n + 123_456n + skewNs
  return {
    currentTimeMillisUnsafe: () => wall.ms,
    currentTimeMillis: Effect.sync(() => wall.ms),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: nanos,
    monotonicTimeNanos: Effect.sync(nanos),
    sleep: () => Effect.void
  }
}

const readings = (clock: Clock.Clock, n: number, wall: { ms: number }) =>
  Effect.runSync(
    Effect.gen(function*() {
      const bc = yield* BrokerClock
      const out: Array<{ readonly ns: bigint; readonly wallMs: number }> = []
      for (let i = 0; i < n; i++) {
        if (i % 100 === 99) wall.ms += 1
        out.push({ ns: bc.nowNs(), wallMs: wall.ms })
      }
      return out
    }).pipe(Effect.provide(BrokerClock.layer.pipe(Layer.provide(Layer.succeed(Clock.Clock, clock)))), Effect.scoped)
  )

describe("BrokerClock.nowNs", () => {
  it("stays inside the wall clock's millisecond when the nanosecond clock has drifted behind or ahead", () => {
    for (const skew of [-6_000_000n, -999_000_000n, 40_000_000n]) {
      const wall = { ms: 1_780_000_000_000 }
      const out = readings(skewed(wall, skew), 2000, wall)
      // The first reading is corrected already; later ones within 256 reads of the last check.
      expect(out[0]!.ns / 1_000_000n).toBe(BigInt(out[0]!.wallMs))
      for (const { ns, wallMs } of out) expect(Number(ns / 1_000_000n) - wallMs).toBeGreaterThanOrEqual(-3)
      for (const { ns, wallMs } of out) expect(Number(ns / 1_000_000n) - wallMs).toBeLessThanOrEqual(3)
      for (let i = 1; i < out.length; i++) expect(out[i]!.ns > out[i - 1]!.ns).toBe(true)
    }
  })

  it("leaves agreeing clocks alone (TestClock): the sub-millisecond part is the clock's own", () => {
    const wall = { ms: 1_780_000_000_000 }
    const out = readings(skewed(wall, 0n), 3, wall)
    expect(out.map((r) => r.ns)).toEqual([
      1_780_000_000_000_123_456n,
      1_780_000_000_000_123_457n,
      1_780_000_000_000_123_458n
    ])
  })
})
