/**
 * KV compare-and-set linearity: two clients on separate connections race `create` and
 * `update(key, value, revision)`; exactly one wins each race, stale revisions always lose, and the
 * key's history is exactly the winners in order.
 */
import { type KV, Kvm } from "@nats-io/kv"
import * as fc from "fast-check"
import { define, expectEqual, violation } from "./Property.ts"
import { open, outcome, withSession } from "./Wire.ts"

type Round =
  | { readonly kind: "race" }
  | { readonly kind: "one"; readonly client: number }
  | { readonly kind: "stale"; readonly client: number; readonly offset: number }

const round: fc.Arbitrary<Round> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "race" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("one" as const), client: fc.nat(1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("stale" as const),
      client: fc.nat(1),
      offset: fc.constantFrom(-1, 1, 1000)
    })
  }
)

export const kvCas = define({
  name: "kv-cas",
  description:
    "KV create/update with an expected revision from two clients: exactly one of two concurrent writers at the same revision wins, stale revisions are rejected, the history is the winners in order",
  cost: "fast",
  arbitrary: fc.array(round, { minLength: 1, maxLength: 8 }),
  render: (rounds) => [
    "kv bucket history=64 (memory); clients A and B on separate connections",
    "race: A.create(k) || B.create(k) — exactly one wins",
    ...rounds.map((r, i) =>
      r.kind === "race"
        ? `#${i} A.update(k, rev) || B.update(k, rev) with the current rev — exactly one wins`
        : r.kind === "one"
        ? `#${i} ${r.client === 0 ? "A" : "B"}.update(k, rev) with the current rev — wins`
        : `#${i} ${r.client === 0 ? "A" : "B"}.update(k, rev ${r.offset > 0 ? "+" : ""}${r.offset}) — rejected`
    ),
    "history(k) must list the winners' revisions and values in order"
  ],
  check: async (ctx, rounds) => {
    const bucket = ctx.name("KV")
    await withSession(ctx.url, [`KV_${bucket}`], async (s) => {
      const other = await open(ctx.url)
      try {
        const a: KV = await new Kvm(s.nc).create(bucket, { history: 64, storage: "memory" as never })
        const b: KV = await new Kvm(other.nc).open(bucket)
        const clients = [a, b] as const
        const history: Array<{ revision: number; value: string }> = []
        const [ca, cb] = await Promise.all([outcome(a.create("k", "A0")), outcome(b.create("k", "B0"))])
        const created = [ca, cb].filter((r) => r.ok)
        if (created.length !== 1) {
          violation(`concurrent create: ${created.length} winners (${JSON.stringify([ca, cb])})`)
        }
        let rev = created[0]!.ok ? (created[0] as { value: number }).value : 0
        history.push({ revision: rev, value: ca.ok ? "A0" : "B0" })
        for (const [i, r] of rounds.entries()) {
          if (r.kind === "race") {
            const va = `A${i + 1}`
            const vb = `B${i + 1}`
            const [ra, rb] = await Promise.all([outcome(a.update("k", va, rev)), outcome(b.update("k", vb, rev))])
            const wins = [ra, rb].filter((x) => x.ok).length
            if (wins !== 1) {
              violation(
                `round #${i}: ${wins} winners of update(k, ${rev}) (A: ${ra.ok ? "ok" : ra.code}, B: ${
                  rb.ok ? "ok" : rb.code
                })`
              )
            }
            const next = ra.ok ? ra.value : rb.ok ? rb.value : 0
            if (next <= rev) violation(`round #${i}: new revision ${next} not after ${rev}`)
            rev = next
            history.push({ revision: rev, value: ra.ok ? va : vb })
          } else if (r.kind === "one") {
            const v = `${r.client === 0 ? "A" : "B"}${i + 1}`
            const res = await outcome(clients[r.client]!.update("k", v, rev))
            if (!res.ok) violation(`round #${i}: update(k, ${rev}) at the current revision rejected: ${res.code}`)
            else {
              if (res.value <= rev) violation(`round #${i}: new revision ${res.value} not after ${rev}`)
              rev = res.value
              history.push({ revision: rev, value: v })
            }
          } else {
            // Revisions start at 1 (the client refuses 0): below that, go one past the current instead.
            const stale = rev + r.offset >= 1 ? rev + r.offset : rev + 1
            const res = await outcome(clients[r.client]!.update("k", "stale", stale))
            if (res.ok) violation(`round #${i}: update(k, ${stale}) accepted while the revision is ${rev}`)
          }
        }
        const got: Array<{ revision: number; value: string }> = []
        const it = await b.history({ key: "k" })
        for await (const e of it) {
          got.push({ revision: e.revision, value: e.string() })
          if (e.delta === 0) break
        }
        expectEqual("history of k", got, history)
        const latest = await a.get("k")
        expectEqual(
          "latest entry",
          latest === null ? null : { revision: latest.revision, value: latest.string() },
          history[history.length - 1]
        )
      } finally {
        await other.nc.close().catch(() => undefined)
      }
    })
  }
})
