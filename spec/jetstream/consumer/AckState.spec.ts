/**
 * AckState against a naive model, and the journal property: folding the recorded events over a
 * snapshot taken at any point reproduces the live state exactly (what restart recovery relies on).
 */
import { fc } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { AckState } from "../../../src/jetstream/consumer/AckState.ts"
import { type ConsumerEvent, foldConsumer } from "../../../src/jetstream/consumer/ConsumerJournal.ts"

type Op =
  | { op: "deliverNew" }
  | { op: "redeliver"; pick: number }
  | { op: "ack"; pick: number }
  | { op: "ackAll"; pick: number }
  | { op: "giveUp"; pick: number }
  | { op: "snapshot" }
  | { op: "reset"; pick: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ op: "deliverNew" } as Op),
  fc.constant({ op: "deliverNew" } as Op),
  fc.nat().map((pick) => ({ op: "redeliver", pick }) as Op),
  fc.nat().map((pick) => ({ op: "ack", pick }) as Op),
  fc.nat().map((pick) => ({ op: "ackAll", pick }) as Op),
  fc.nat().map((pick) => ({ op: "giveUp", pick }) as Op),
  fc.constant({ op: "snapshot" } as Op),
  fc.nat().map((pick) => ({ op: "reset", pick }) as Op)
)

describe("AckState", () => {
  it("tracks pending, delivered and the ack floor like a naive model; journal replay equals live state", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), fc.boolean(), (ops, ackAllPolicy) => {
        const live = new AckState(1)
        // Model: pending set and the set of acked stream sequences.
        const pending = new Map<number, number>()
        const acked = new Set<number>()
        let delivered = 0
        let next = 1
        let snapshot = JSON.stringify(live.toJson())
        let eventsSince: Array<ConsumerEvent> = []
        for (const o of ops) {
          const keys = [...live.pending.keys()]
          const pick = (n: number) => keys[n % keys.length]!
          switch (o.op) {
            case "deliverNew": {
              const p = live.onDeliver(next, 0, 1000, true)
              eventsSince.push({ e: "d", s: next, t: 1 })
              delivered++
              pending.set(next, delivered)
              expect(p.dseq).toBe(delivered)
              next++
              break
            }
            case "redeliver": {
              if (keys.length === 0) break
              const s = pick(o.pick)
              const p = live.onDeliver(s, 0, 1000, true)
              eventsSince.push({ e: "d", s, t: 1 })
              delivered++
              pending.set(s, delivered)
              expect(p.dseq).toBe(delivered)
              break
            }
            case "ack": {
              if (keys.length === 0 || ackAllPolicy) break
              const s = pick(o.pick)
              expect(live.ack(s, pending.get(s)!, 0)).toBe(true)
              eventsSince.push({ e: "a", s, d: pending.get(s)! })
              pending.delete(s)
              acked.add(s)
              break
            }
            case "ackAll": {
              if (keys.length === 0 || !ackAllPolicy) break
              const s = pick(o.pick)
              const d = pending.get(s)!
              const got = live.ackUpTo(s, d, 0)
              eventsSince.push({ e: "A", s, d })
              const want = [...pending.keys()].filter((k) => k <= s).sort((a, b) => a - b)
              if (got.length > 0) expect(got).toEqual(want)
              for (const k of got) {
                pending.delete(k)
                acked.add(k)
              }
              break
            }
            case "giveUp": {
              if (keys.length === 0) break
              const s = pick(o.pick)
              live.giveUp(s)
              eventsSince.push({ e: "g", s })
              pending.delete(s)
              break
            }
            case "snapshot":
              snapshot = JSON.stringify(live.toJson())
              eventsSince = []
              break
            case "reset": {
              // 0 = back to just above the floor; else anywhere, behind or ahead of the cursor.
              const to = o.pick % (next + 3) === 0 ? live.ackFloor().stream_seq + 1 : o.pick % (next + 3)
              live.reset(to)
              eventsSince.push({ e: "r", s: to })
              pending.clear()
              delivered = 0
              next = to
              expect(live.ackFloor()).toEqual({ consumer_seq: 0, stream_seq: to - 1 })
              expect(live.numRedelivered).toBe(0)
              expect(live.hasRedeliveries).toBe(false)
              break
            }
          }
          expect(live.numAckPending).toBe(pending.size)
          expect(live.delivered).toBe(delivered)
          expect(live.nextSeq).toBe(next)
          // Everything at or below the floor is no longer pending.
          const floor = live.ackFloor()
          for (const s of pending.keys()) expect(s).toBeGreaterThan(floor.stream_seq)
          // Replay: snapshot + events since reproduce the live state.
          const replayed = eventsSince.reduce(foldConsumer, AckState.fromJson(JSON.parse(snapshot)))
          expect(replayed.toJson()).toEqual(live.toJson())
        }
      }),
      { numRuns: 400 }
    )
  })

  it("reports the floor as nats-server does for a gap at the bottom", () => {
    const s = new AckState(1)
    for (let i = 1; i <= 4; i++) s.onDeliver(i, 0, 1000, true)
    s.ack(2, 2, 0)
    expect(s.ackFloor()).toEqual({ consumer_seq: 0, stream_seq: 0 })
    s.ack(1, 1, 0)
    expect(s.ackFloor()).toEqual({ consumer_seq: 2, stream_seq: 2 })
    s.ack(4, 4, 0)
    s.ack(3, 3, 0)
    expect(s.ackFloor()).toEqual({ consumer_seq: 4, stream_seq: 4 })
  })

  it("a redelivered message at the floor still moves it when acked (its first delivery's sequence counts)", () => {
    const s = new AckState(1)
    for (let i = 1; i <= 3; i++) s.onDeliver(i, 0, 1000, true)
    // Redelivery of 1 gets consumer sequence 4; nats-server keeps 1 as its pending sequence.
    expect(s.onDeliver(1, 0, 1000, true)).toMatchObject({ dseq: 4, first: 1, count: 2 })
    s.ack(2, 2, 0)
    expect(s.ackFloor()).toEqual({ consumer_seq: 0, stream_seq: 0 })
    s.ack(1, 4, 0)
    expect(s.ackFloor()).toEqual({ consumer_seq: 2, stream_seq: 2 })
    // Through a snapshot too.
    const back = AckState.fromJson(JSON.parse(JSON.stringify(s.toJson())))
    back.ack(3, 3, 0)
    expect(back.ackFloor()).toEqual({ consumer_seq: 4, stream_seq: 3 })
  })
})
