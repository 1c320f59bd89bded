/**
 * The waiting-request queue under the 2.12 `prioritized` policy, against a model of nats-server's
 * `insertSorted` / `popAndRequeue`: after any mix of arrivals and requeues the queue is ordered by
 * priority (no group last), and within one priority requests keep the order they (re)joined in.
 */
import { test } from "@fast-check/vitest"
import fc from "fast-check"
import { describe, expect } from "vitest"
import { PullRequestQueue, type WaitingRequest } from "../../../src/jetstream/consumer/PullRequests.ts"

const request = (id: number, priority: number | undefined): WaitingRequest => ({
  reply: `r${id}`,
  remaining: 1,
  delivered: 0,
  bytesLeft: 0,
  maxBytes: 0,
  noWait: false,
  expiresAt: Infinity,
  heartbeatMs: 0,
  lastSignal: 0,
  ...(priority === undefined ? {} : { group: { group: "A", minPending: 0, minAckPending: 0, id: "", priority } })
})

const rank = (r: WaitingRequest) => r.group?.priority ?? 10

type Op = { readonly add: number | undefined } | "rotate"
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ add: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }) }),
  fc.constant("rotate" as const)
)

describe("PullRequestQueue", () => {
  test.prop([fc.array(op, { maxLength: 60 })])("prioritized: ordered by priority, FIFO within one", (ops) => {
    const q = new PullRequestQueue(() => true)
    // The model: per rank, the replies in the order they (re)joined.
    const model = new Map<number, Array<string>>()
    let n = 0
    for (const o of ops) {
      if (o === "rotate") {
        const h = q.head()
        q.rotate()
        if (h !== undefined) {
          const line = model.get(rank(h))!
          line.splice(line.indexOf(h.reply), 1)
          line.push(h.reply)
        }
      } else {
        const r = request(n++, o.add)
        q.add(r)
        model.set(rank(r), [...(model.get(rank(r)) ?? []), r.reply])
      }
    }
    const expected = [...model.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, replies]) => replies)
    expect(q.all().map((r) => r.reply)).toEqual(expected)
  })

  test.prop([fc.array(op, { maxLength: 40 })])("other policies: arrival order, a requeue goes last", (ops) => {
    const q = new PullRequestQueue()
    const model: Array<string> = []
    let n = 0
    for (const o of ops) {
      if (o === "rotate") {
        q.rotate()
        const h = model.shift()
        if (h !== undefined) model.push(h)
      } else {
        const r = request(n++, o.add)
        q.add(r)
        model.push(r.reply)
      }
    }
    expect(q.all().map((r) => r.reply)).toEqual(model)
  })
})
