/**
 * KV as a property: random sequences of put / create / update (compare-and-set) / delete / purge
 * from two clients give the same per-operation outcomes, revisions, history and final state as a
 * model; two concurrent updates against the same revision have exactly one winner.
 */
import { fc } from "@fast-check/vitest"
import { type KV, Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

type Op =
  | { op: "put" | "create" | "delete" | "purge"; client: 0 | 1; key: string; value: string }
  | { op: "update"; client: 0 | 1; key: string; value: string; stale: boolean }
  | { op: "race"; key: string }

const key = fc.constantFrom("k1", "k2", "k3")
const client = fc.constantFrom<0 | 1>(0, 1)
const value = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom("a", "b", "c", "1", "2") })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constantFrom("put" as const, "create" as const, "delete" as const, "purge" as const),
    client,
    key,
    value
  }),
  fc.record({ op: fc.constant("update" as const), client, key, value, stale: fc.boolean() }),
  fc.record({ op: fc.constant("race" as const), key })
)

interface Rev {
  readonly revision: number
  readonly op: "PUT" | "DEL" | "PURGE"
  readonly value: string
}

let bucketId = 0

describe("KV (property, two clients)", () => {
  let broker: RunningBroker
  let ncs: Array<NatsConnection>
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true }, { storage: "memory" })
    ncs = await Promise.all([0, 1].map(() => connect({ servers: broker.url })))
  })
  afterAll(async () => {
    await Promise.all(ncs.map((nc) => nc.close()))
    await broker.stop()
  })

  it("outcomes, revisions, history and final values match a model", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        const bucket = `prop${++bucketId}`
        const kvs: Array<KV> = [
          await new Kvm(ncs[0]!).create(bucket, { history: 10 }),
          await new Kvm(ncs[1]!).open(bucket)
        ]
        // Model: revision counter and per-key history (the bucket keeps 10 per key; purge keeps one marker).
        let revision = 0
        const hist = new Map<string, Array<Rev>>()
        const last = (k: string) => hist.get(k)?.at(-1)
        const append = (k: string, r: Rev) => hist.set(k, [...(hist.get(k) ?? []), r].slice(-10))
        try {
          for (const o of ops) {
            if (o.op === "race") {
              const base = last(o.key)
              if (base === undefined || base.op !== "PUT") continue
              const outcomes = await Promise.allSettled(kvs.map((kv, i) => kv.update(o.key, `race${i}`, base.revision)))
              const winners = outcomes.filter((x) => x.status === "fulfilled")
              expect(winners.length).toBe(1)
              const won = outcomes.findIndex((x) => x.status === "fulfilled")
              append(o.key, { revision: ++revision, op: "PUT", value: `race${won}` })
              continue
            }
            const kv = kvs[o.client]!
            const cur = last(o.key)
            const live = cur !== undefined && cur.op === "PUT"
            let got: string
            try {
              if (o.op === "put") got = `ok:${await kv.put(o.key, o.value)}`
              else if (o.op === "create") got = `ok:${await kv.create(o.key, o.value)}`
              else if (o.op === "update") {
                const rev = o.stale ? (cur?.revision ?? 0) + 100 : (cur?.revision ?? 0)
                got = `ok:${await kv.update(o.key, o.value, rev)}`
              } else if (o.op === "delete") {
                await kv.delete(o.key)
                got = "ok"
              } else {
                await kv.purge(o.key)
                got = "ok"
              }
            } catch {
              got = "error"
            }
            let want: string
            if (o.op === "put") {
              append(o.key, { revision: ++revision, op: "PUT", value: o.value })
              want = `ok:${revision}`
            } else if (o.op === "create") {
              // create succeeds when the key never existed or its last entry is a delete/purge marker.
              if (live) want = "error"
              else {
                append(o.key, { revision: ++revision, op: "PUT", value: o.value })
                want = `ok:${revision}`
              }
            } else if (o.op === "update") {
              // The client refuses revision 0 (a key that never existed); otherwise the stored last
              // revision of the key, whatever its operation, is the one that must match.
              if (o.stale || cur === undefined) want = "error"
              else {
                append(o.key, { revision: ++revision, op: "PUT", value: o.value })
                want = `ok:${revision}`
              }
            } else if (o.op === "delete") {
              append(o.key, { revision: ++revision, op: "DEL", value: "" })
              want = "ok"
            } else {
              hist.set(o.key, [{ revision: ++revision, op: "PURGE", value: "" }])
              want = "ok"
            }
            expect(got).toBe(want)
          }
          for (const k of ["k1", "k2", "k3"]) {
            const h: Array<Rev> = []
            for await (const e of await kvs[1]!.history({ key: k })) {
              h.push({ revision: e.revision, op: e.operation, value: new TextDecoder().decode(e.value) })
            }
            expect(h).toEqual(hist.get(k) ?? [])
            const e = await kvs[0]!.get(k)
            const m = last(k)
            expect(e === null ? null : [e.revision, e.operation]).toEqual(m === undefined ? null : [m.revision, m.op])
          }
        } finally {
          await kvs[0]!.destroy()
        }
      }),
      { numRuns: 20, endOnFailure: true }
    )
  }, 180_000)
})
