/**
 * The high/low-water logic of src/core/Backpressure.ts against a model: random sequences of
 * deliveries (with or without a running producer), partial drains, stall-cap releases and
 * receivers going away. A producer is held exactly when it delivered into a backlog over the
 * high-water mark and nothing released it since; crossing below the low-water mark releases all.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { enterProducer, Gate, type Producer, runningProducer } from "../../src/core/Backpressure.ts"

class FakeProducer implements Producer {
  isHeld = false
  holds = 0
  hold(): void {
    if (!this.isHeld) this.holds++
    this.isHeld = true
  }
  release(): void {
    this.isHeld = false
  }
}

type Op =
  | { readonly op: "fill"; readonly backlog: number; readonly producer: number | undefined }
  | { readonly op: "drain"; readonly backlog: number }
  | { readonly op: "cap"; readonly producer: number }
  | { readonly op: "gone" }

const HIGH = 100
const LOW = 40
const PRODUCERS = 3

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("fill" as const),
    backlog: fc.integer({ min: 0, max: 200 }),
    producer: fc.option(fc.integer({ min: 0, max: PRODUCERS - 1 }), { nil: undefined })
  }),
  fc.record({ op: fc.constant("drain" as const), backlog: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ op: fc.constant("cap" as const), producer: fc.integer({ min: 0, max: PRODUCERS - 1 }) }),
  fc.constant({ op: "gone" as const })
)

describe("Gate (high/low water)", () => {
  test.prop([fc.array(opArb, { maxLength: 60 })])("holds and releases producers as the model says", (ops) => {
    const gate = new Gate(HIGH, LOW)
    const ps = Array.from({ length: PRODUCERS }, () => new FakeProducer())
    let congested = false
    const held = new Set<number>()
    let clock = 1
    for (const o of ops) {
      clock++
      switch (o.op) {
        case "fill": {
          const prev = enterProducer(o.producer === undefined ? undefined : ps[o.producer])
          gate.filled(o.backlog, () => clock)
          enterProducer(prev)
          if (o.backlog > HIGH) {
            congested = true
            if (o.producer !== undefined) held.add(o.producer)
          }
          break
        }
        case "drain":
          gate.drained(o.backlog)
          if (congested && o.backlog <= LOW) {
            congested = false
            held.clear()
          }
          break
        case "cap":
          // The producer's own stall cap let it go; the gate may hold it again later.
          ps[o.producer]!.release()
          held.delete(o.producer)
          break
        case "gone":
          gate.open()
          congested = false
          held.clear()
          break
      }
      expect(gate.congested).toBe(congested)
      for (let i = 0; i < PRODUCERS; i++) expect(ps[i]!.isHeld).toBe(held.has(i))
      expect(runningProducer()).toBeUndefined()
    }
  })

  it("records when congestion started and reports its age", () => {
    const gate = new Gate(10, 5)
    gate.filled(11, () => 1_000)
    gate.filled(12, () => 2_000)
    expect(gate.congestedFor(1_500)).toBe(500)
    gate.drained(6)
    expect(gate.congested).toBe(true)
    gate.drained(5)
    expect(gate.congestedFor(3_000)).toBe(0)
  })

  it("holds a producer once however many deliveries it makes into a congested receiver", () => {
    const gate = new Gate(10, 5)
    const p = new FakeProducer()
    const prev = enterProducer(p)
    for (let i = 0; i < 100; i++) gate.filled(20 + i, () => 1)
    enterProducer(prev)
    expect(p.holds).toBe(1)
    expect(gate.waiting).toBe(1)
    gate.drained(0)
    expect(p.isHeld).toBe(false)
    expect(gate.waiting).toBe(0)
  })
})
