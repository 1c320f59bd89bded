/**
 * The Jepsen checker (src/testing/jepsen/Checker.ts) on synthetic histories: a clean one passes,
 * and each kind of broken history (a lost PubAcked message, a duplicate, a gap, a reordering, a
 * phantom, a lost consumer ack, a wrong ack floor) is reported as exactly that.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { check } from "../../src/testing/jepsen/Checker.ts"
import type {
  ConfirmedAck,
  ConsumerSnapshot,
  DeliveryRecord,
  History,
  PublishRecord
} from "../../src/testing/jepsen/History.ts"

/** Publisher p's n-th id acked at `seq`, sent at t and acked at t + 1. */
const pub = (msgId: string, seq: number | undefined, t: number, duplicateRetry = false): PublishRecord => ({
  publisher: 0,
  msgId,
  firstSentAt: t,
  attempts: duplicateRetry ? 2 : 1,
  acks: seq === undefined
    ? []
    : duplicateRetry
    ? [{ seq, duplicate: true, sentAt: t + 0.5, at: t + 1 }]
    : [{ seq, duplicate: false, sentAt: t, at: t + 1 }],
  errors: duplicateRetry || seq === undefined ? ["TimeoutError: timeout"] : []
})

const delivery = (seq: number, pulledAt: number, drain = false): DeliveryRecord => ({
  worker: 0,
  seq,
  deliveryCount: 1,
  pulledAt,
  at: pulledAt + 0.1,
  drain,
  via: "nats://n1"
})

const settled = (last: number): ConsumerSnapshot => ({
  at: 1e6,
  ackFloor: last,
  delivered: last,
  numAckPending: 0,
  numPending: 0
})

/** n ids published one after another, stored at 1..n, each delivered and confirmed. */
const clean = (n: number): History => {
  const publishes = Array.from({ length: n }, (_, i) => pub(`p0-${i + 1}`, i + 1, i * 10))
  return {
    startedAt: 0,
    publishes,
    deliveries: publishes.map((_, i) => delivery(i + 1, i * 10 + 2)),
    confirmedAcks: publishes.map((_, i): ConfirmedAck => ({ worker: 0, seq: i + 1, at: i * 10 + 3, via: "nats://n1" })),
    faults: [],
    stream: {
      firstSeq: n === 0 ? 0 : 1,
      lastSeq: n,
      messages: n,
      bySeq: new Map(publishes.map((p, i) => [i + 1, p.msgId])),
      beyondLast: 0
    },
    consumerBefore: settled(n),
    consumerAfter: settled(n)
  }
}

const kinds = (h: History) => check(h).violations.map((v) => v.kind)

describe("Jepsen checker", () => {
  it("a clean history: every count, no violation", () => {
    const h = clean(5)
    const r = check({
      ...h,
      // a retried id deduplicated, and an unacked id that was stored anyway
      publishes: [...h.publishes.slice(0, 4), pub("p0-5", 5, 40, true), pub("p0-6", undefined, 50)],
      stream: { ...h.stream, lastSeq: 6, messages: 6, bySeq: new Map([...h.stream.bySeq, [6, "p0-6"]]) },
      deliveries: [...h.deliveries, delivery(6, 60)],
      consumerAfter: settled(6)
    })
    expect(r).toEqual({
      valid: true,
      published: 6,
      acked: 5,
      lost: 0,
      duplicated: 0,
      unackedPresent: 1,
      unackedAbsent: 0,
      dedupedRetries: 1,
      streamMessages: 6,
      confirmedConsumerAcks: 5,
      violations: []
    })
  })

  it("a PubAcked message missing from the stream is lost (and leaves a gap when it was last but one)", () => {
    const h = clean(3)
    const bySeq = new Map(h.stream.bySeq)
    bySeq.delete(3)
    const r = check({ ...h, stream: { ...h.stream, lastSeq: 2, messages: 2, bySeq }, consumerAfter: settled(2) })
    expect([r.valid, r.lost, r.acked]).toEqual([false, 1, 3])
    expect(r.violations).toEqual([{ kind: "lost", detail: "p0-3 was acked at seq 3 and is not in the stream" }])
  })

  it("a message readable after stream info's last_seq: stale info, not a lost message", () => {
    const h = clean(3)
    const r = check({ ...h, stream: { ...h.stream, lastSeq: 2, messages: 2, beyondLast: 1 } })
    expect([r.lost, r.violations]).toEqual([0, [
      {
        kind: "stale-info",
        detail: "stream info says last_seq 2, but 1 more seq(s) after it can be read"
      },
      { kind: "ack-floor", detail: "after the drain: ackFloor is 3, expected 2" },
      {
        kind: "ack-floor",
        detail: "after the drain: delivered is 3, expected 2"
      }
    ]])
  })

  it("an id stored twice is a duplicate", () => {
    const h = clean(3)
    const bySeq = new Map([...h.stream.bySeq, [4, "p0-2"]])
    const r = check({
      ...h,
      stream: { ...h.stream, lastSeq: 4, messages: 4, bySeq },
      deliveries: [...h.deliveries, delivery(4, 50)],
      consumerAfter: settled(4)
    })
    expect([r.duplicated, r.lost]).toEqual([1, 0])
    expect(r.violations).toEqual([{ kind: "duplicated", detail: "p0-2 is stored at seqs 2, 4" }])
  })

  it("a hole in 1..last is a gap", () => {
    const h = clean(4)
    const bySeq = new Map(h.stream.bySeq)
    bySeq.delete(2)
    const r = check({ ...h, stream: { ...h.stream, messages: 3, bySeq } })
    expect(kinds({ ...h, stream: { ...h.stream, messages: 3, bySeq } })).toEqual(["gap", "gap", "lost"])
    expect(r.violations.slice(0, 2).map((v) => v.detail)).toEqual([
      "the stream holds 3 messages but its last seq is 4",
      "seq 2 cannot be read"
    ])
  })

  it("a message sent after another was acked but stored before it is reordered", () => {
    const h = clean(3)
    // p0-2 (sent at 10, after p0-1's ack at 1) is stored before p0-1.
    const publishes = [pub("p0-1", 2, 0), pub("p0-2", 1, 10), pub("p0-3", 3, 20)]
    const bySeq = new Map([[1, "p0-2"], [2, "p0-1"], [3, "p0-3"]])
    expect(check({ ...h, publishes, stream: { ...h.stream, bySeq } }).violations).toEqual([
      { kind: "reordered", detail: "p0-2 (seq 1) was sent after p0-1 was acked at seq 2" }
    ])
    // Concurrent publishes (neither acked before the other was sent) may land in either order.
    const concurrent = [pub("p0-1", 2, 0), { ...pub("p0-2", 1, 0.5), publisher: 1 }, pub("p0-3", 3, 20)]
    expect(check({ ...h, publishes: concurrent, stream: { ...h.stream, bySeq } }).valid).toBe(true)
  })

  it("a stored id nobody sent is a phantom; two PubAcks naming different seqs conflict", () => {
    const h = clean(2)
    const bySeq = new Map([...h.stream.bySeq, [3, "x-1"]])
    const withPhantom = {
      ...h,
      stream: { ...h.stream, lastSeq: 3, messages: 3, bySeq },
      deliveries: [...h.deliveries, delivery(3, 30)],
      consumerAfter: settled(3)
    }
    expect(check(withPhantom).violations).toEqual([{ kind: "phantom", detail: "seq 3 holds x-1, never sent" }])
    const p = pub("p0-2", 2, 10)
    const conflicting = { ...p, acks: [...p.acks, { seq: 5, duplicate: true, sentAt: 11, at: 12 }] }
    expect(kinds({ ...h, publishes: [h.publishes[0]!, conflicting] })).toEqual(["ack-conflict"])
  })

  it("a confirmed consumer ack undone: redelivered to a later pull, or below the ack floor", () => {
    const h = clean(3)
    // seq 2 was confirmed at 13; a pull issued at 40 got it again.
    const r = check({ ...h, deliveries: [...h.deliveries, { ...delivery(2, 40, true), deliveryCount: 2 }] })
    expect(r.violations).toEqual([{
      kind: "lost-consumer-ack",
      detail: "seq 2 was delivered again (delivery 2, drain) to a pull issued 27 ms after its ack was confirmed " +
        "(ack confirmed at 0.01 s via nats://n1, redelivered at 0.04 s via nats://n1)"
    }])
    expect(kinds({ ...h, deliveries: [...h.deliveries, { ...delivery(2, 40), deliveryCount: 1 }] })).toEqual([
      "acked-redelivered"
    ])
    // A redelivery to a pull issued before the confirmation is allowed (the ack raced the ack wait).
    expect(check({ ...h, deliveries: [...h.deliveries, { ...delivery(2, 12), deliveryCount: 2 }] }).valid).toBe(true)
    expect(check({ ...h, consumerBefore: { ...settled(3), ackFloor: 1 } }).violations).toEqual([
      {
        kind: "ack-floor",
        detail:
          "before the drain the ack floor is 1, but acks of 1..3 were confirmed (delivered 3, ack pending 0, pending 0)"
      }
    ])
    // Acks confirmed after the snapshot (the drain's) are not expected under its floor.
    expect(check({ ...h, consumerBefore: { ...settled(3), ackFloor: 1, at: 12 } }).valid).toBe(true)
    expect(check({ ...h, consumerAfter: { ...settled(3), numAckPending: 1 } }).violations).toEqual([
      { kind: "ack-floor", detail: "after the drain: numAckPending is 1, expected 0" }
    ])
    expect(check({ ...h, deliveries: h.deliveries.filter((d) => d.seq !== 3) }).violations).toEqual([
      { kind: "consumer-skipped", detail: "seq 3 was never delivered to the durable" }
    ])
  })

  test.prop([fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 4 })])(
    "interleaved publishers whose acks follow the stream order always pass",
    (n, k) => {
      // publisher i%k publishes the i-th message; each is acked before the next is sent.
      const publishes = Array.from(
        { length: n },
        (_, i) => ({ ...pub(`p${i % k}-${i}`, i + 1, i * 10), publisher: i % k })
      )
      const h = clean(n)
      const r = check({
        ...h,
        publishes,
        stream: { ...h.stream, bySeq: new Map(publishes.map((p, i) => [i + 1, p.msgId])) }
      })
      expect([r.valid, r.acked, r.lost, r.duplicated]).toEqual([true, n, 0, 0])
    }
  )
})
