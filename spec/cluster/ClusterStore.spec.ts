/**
 * The cluster store's leases and fencing against a real PostgreSQL: terms grow on every
 * acquisition, a live lease cannot be taken, an expired one can, and a write with a stale term
 * commits nothing — also under random interleavings of two would-be owners (fast-check).
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type ClusterStoreShape, type Fence, StaleTerm } from "../../src/cluster/store/ClusterStore.ts"
import type { TestPostgres } from "../../src/testing/TestPostgres.ts"
import { describePostgres, openStore, startTestPostgres } from "../support/Postgres.ts"

describePostgres("cluster store", () => {
  let server: TestPostgres
  let store: ClusterStoreShape
  let close: () => Promise<void>
  let admin: pg.Client
  beforeAll(async () => {
    server = await startTestPostgres()
    ;({ store, close } = await openStore(server.url))
    admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    // The fenced writes of the property land in a table of their own.
    await admin.query("CREATE TABLE writes (id SERIAL PRIMARY KEY, owner TEXT NOT NULL, term BIGINT NOT NULL)")
  }, 60_000)
  afterAll(async () => {
    await admin?.end()
    await close?.()
    await server?.stop()
  })

  const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)
  const exit = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromiseExit(e)
  /** Makes a lease look expired by PostgreSQL's clock (what a pause longer than the ttl does). */
  const expire = (asset: string) =>
    admin.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [asset])

  it("a second start finds the schema and leaves it as it was", async () => {
    const again = await openStore(server.url)
    await again.close()
    const { rows } = await admin.query("SELECT version FROM ejs_schema")
    expect(rows).toEqual([{ version: 2 }])
  })

  it("acquire: term 1, refused while live, taken with term 2 once expired, term 3 on the owner's re-acquire", async () => {
    expect(await run(store.acquire("a1", "n1", 5000))).toBe(1n)
    expect(await run(store.acquire("a1", "n2", 5000))).toBeUndefined()
    await expire("a1")
    expect(await run(store.acquire("a1", "n2", 5000))).toBe(2n)
    // A restarted owner takes its own lease anew (its old incarnation is fenced out).
    expect(await run(store.acquire("a1", "n2", 5000))).toBe(3n)
    expect(await run(store.lease("a1"))).toEqual({ asset: "a1", owner: "n2", term: 3n, live: true })
  })

  it("renew extends only the leases still held at the presented term", async () => {
    const t = (await run(store.acquire("r1", "n1", 5000)))!
    const u = (await run(store.acquire("r2", "n1", 5000)))!
    await expire("r2")
    expect(await run(store.acquire("r2", "n2", 5000))).toBe(u + 1n)
    const renewed = await run(store.renew("n1", [{ asset: "r1", term: t }, { asset: "r2", term: u }], 5000))
    expect([...renewed]).toEqual(["r1"])
  })

  it("release lets another node take the lease at once, with the next term", async () => {
    const t = (await run(store.acquire("g1", "n1", 60_000)))!
    await run(store.release({ asset: "g1", owner: "n1", term: t }))
    expect(await run(store.acquire("g1", "n2", 60_000))).toBe(t + 1n)
  })

  it("a fenced write with a stale term fails with StaleTerm and commits nothing", async () => {
    const t1 = (await run(store.acquire("f1", "n1", 5000)))!
    await expire("f1")
    const t2 = (await run(store.acquire("f1", "n2", 5000)))!
    const write = (f: Fence) =>
      store.fenced(
        f,
        (tx) => tx.query("INSERT INTO writes (owner, term) VALUES ($1, $2)", [f.owner, f.term.toString()])
      )
    const stale = await exit(write({ asset: "f1", owner: "n1", term: t1 }))
    expect(Exit.isFailure(stale)).toBe(true)
    if (Exit.isFailure(stale)) {
      const err = stale.cause.reasons[0]
      expect(err?._tag === "Fail" && err.error instanceof StaleTerm ? err.error.current : "other").toBe(t2)
    }
    await run(write({ asset: "f1", owner: "n2", term: t2 }))
    const { rows } = await admin.query("SELECT owner, term FROM writes WHERE term IN ($1, $2) ORDER BY id", [
      t1.toString(),
      t2.toString()
    ])
    expect(rows).toEqual([{ owner: "n2", term: t2.toString() }])
  })

  it("a failure inside the fenced body rolls its statements back", async () => {
    const t = (await run(store.acquire("f2", "n1", 5000)))!
    const before = (await admin.query("SELECT count(*)::int AS n FROM writes")).rows[0].n
    const failed = await exit(
      store.fenced(
        { asset: "f2", owner: "n1", term: t },
        (tx) =>
          Effect.flatMap(
            tx.query("INSERT INTO writes (owner, term) VALUES ('n1', $1)", [t.toString()]),
            () => Effect.fail("boom" as const)
          )
      )
    )
    expect(Exit.isFailure(failed)).toBe(true)
    expect((await admin.query("SELECT count(*)::int AS n FROM writes")).rows[0].n).toBe(before)
  })

  it("property: under any interleaving of two owners, only writes at the lease's current term land", async () => {
    type Op = { readonly kind: "acquire" | "write" | "pause"; readonly who: 0 | 1 }
    const op = fc.record({
      kind: fc.constantFrom("acquire", "write", "write", "pause"),
      who: fc.constantFrom(0, 1)
    }) as fc.Arbitrary<
      Op
    >
    let round = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const asset = `prop-${round++}`
        const names = ["A", "B"] as const
        // What each owner believes its term is (from its last successful acquire).
        const believed: Array<bigint | undefined> = [undefined, undefined]
        // The model: who holds the lease at which term, and whether it is still live.
        let holder: { who: 0 | 1; term: bigint; live: boolean } | undefined
        const expected: Array<string> = []
        for (const o of ops) {
          if (o.kind === "pause") {
            if (holder?.who === o.who) {
              await expire(asset)
              holder.live = false
            }
          } else if (o.kind === "acquire") {
            const got = await run(store.acquire(asset, names[o.who], 60_000))
            const mayTake = holder === undefined || !holder.live || holder.who === o.who
            expect(got !== undefined).toBe(mayTake)
            if (got !== undefined) {
              expect(got).toBe((holder?.term ?? 0n) + 1n)
              holder = { who: o.who, term: got, live: true }
              believed[o.who] = got
            }
          } else {
            const term = believed[o.who]
            if (term === undefined) continue
            const result = await exit(store.fenced(
              { asset, owner: names[o.who], term },
              (tx) =>
                tx.query("INSERT INTO writes (owner, term) VALUES ($1, $2)", [
                  `${asset}/${names[o.who]}`,
                  term.toString()
                ])
            ))
            const lands = holder !== undefined && holder.who === o.who && holder.term === term
            expect(Exit.isSuccess(result)).toBe(lands)
            if (lands) expected.push(`${names[o.who]}@${term}`)
          }
        }
        const { rows } = await admin.query("SELECT owner, term FROM writes WHERE owner LIKE $1 ORDER BY id", [
          `${asset}/%`
        ])
        expect(rows.map((r) => `${(r.owner as string).split("/")[1]}@${r.term}`)).toEqual(expected)
      }),
      { numRuns: 60 }
    )
  }, 120_000)
})
