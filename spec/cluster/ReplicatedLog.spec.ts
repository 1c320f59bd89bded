/**
 * The replicated stream log (src/store/ReplicatedLog.ts) over a real PostgreSQL
 * (src/cluster/store/StreamLogSql.ts): what `sync` acknowledges is committed, the appends made
 * while a commit is in flight go in the next one, a writer whose term moved commits nothing and the
 * log then refuses writes, and a log rebuilt from the database is the log that wrote it — under
 * random sequences of appends, deletes, purges and limits compared with the memory layer (fast-check).
 */
import { Effect, Exit } from "effect"
import fc from "fast-check"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { streamAsset } from "../../src/cluster/store/ClusterSchema.ts"
import type { ClusterStoreShape, Fence } from "../../src/cluster/store/ClusterStore.ts"
import { loadSnapshot, loadState, makeStateWriter, makeWriter } from "../../src/cluster/store/StreamLogSql.ts"
import { MemoryLog, MemoryPool } from "../../src/store/MemoryStore.ts"
import type { MessageLog, StoredMessage } from "../../src/store/MessageLog.ts"
import { ReplicatedEventLog } from "../../src/store/ReplicatedEventLog.ts"
import { ReplicatedLog } from "../../src/store/ReplicatedLog.ts"
import { startPostgres, type TestPostgres } from "../../src/testing/TestPostgres.ts"
import { describePostgres, openStore } from "../support/Postgres.ts"

const enc = new TextEncoder()
const ACCOUNT = "$G"

describePostgres("replicated stream log", () => {
  let server: TestPostgres
  let store: ClusterStoreShape
  let close: () => Promise<void>
  let admin: pg.Client
  const writers: Array<{ readonly end: () => Promise<void> }> = []
  beforeAll(async () => {
    // This file's own port range (39500-39599), so it never meets another spec's server.
    let lastError: unknown
    for (let i = 0; i < 5 && server === undefined; i++) {
      try {
        server = await startPostgres({ port: 39500 + Math.floor(Math.random() * 100), fast: true })
      } catch (e) {
        lastError = e
      }
    }
    if (server === undefined) throw lastError
    ;({ store, close } = await openStore(server.url))
    admin = new pg.Client({ connectionString: server.url })
    // The outage test ends this session with the server; its error must not fail the run.
    admin.on("error", () => {})
    await admin.connect()
  }, 60_000)
  afterAll(async () => {
    for (const w of writers) await w.end()
    await admin?.end()
    await close?.()
    await server?.stop()
  })

  const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e)

  /** A stream row, its lease taken by `owner`, and a log writer fenced with that term. */
  const open = async (name: string, owner = "n1") => {
    await admin.query(
      `INSERT INTO ejs_streams (account, name, config, owner, status, replicas) VALUES ($1, $2, '{}', $3, 'ready', 3)
       ON CONFLICT DO NOTHING`,
      [ACCOUNT, name, owner]
    )
    const asset = streamAsset(ACCOUNT, name)
    const term = await run(store.acquire(asset, owner, 30_000))
    expect(term).toBeDefined()
    const fence: Fence = { asset, owner, term: term! }
    const writer = makeWriter(server.url, { account: ACCOUNT, name }, fence)
    writers.push(writer)
    return { fence, writer }
  }
  const snapshot = (name: string) => loadSnapshot(admin, { account: ACCOUNT, name }, 1)
  const rec = (subject: string, data: string, ts: bigint, hdr?: Uint8Array) => ({
    subject,
    hdr,
    data: enc.encode(data),
    ts
  })
  const plain = (m: StoredMessage | undefined) =>
    m === undefined ? undefined : {
      seq: m.seq,
      subject: m.subject,
      hdr: m.hdr === undefined ? undefined : [...m.hdr],
      data: [...m.data],
      ts: m.ts
    }

  it("schema: a version-1 store (before the replicated logs) is brought to version 2 by the next start", async () => {
    await admin.query("CREATE DATABASE old")
    const url = server.url.replace(/\/[^/]*$/, "/old")
    const db = new pg.Client({ connectionString: url })
    await db.connect()
    try {
      // What a version-1 broker left: its tables and version 1, no log tables.
      const first = await openStore(url)
      await first.close()
      await db.query("DROP TABLE ejs_msgs, ejs_logs")
      await db.query("DELETE FROM ejs_schema")
      await db.query("INSERT INTO ejs_schema (version) VALUES (1)")
      const again = await openStore(url)
      await again.close()
      const versions = await db.query("SELECT version FROM ejs_schema ORDER BY version")
      expect(versions.rows).toEqual([{ version: 1 }, { version: 2 }])
      const tables = await db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ('ejs_logs', 'ejs_msgs') ORDER BY 1"
      )
      expect(tables.rows).toEqual([{ table_name: "ejs_logs" }, { table_name: "ejs_msgs" }])
    } finally {
      await db.end()
    }
  })

  it("sync resolves after COMMIT: the rows hold the exact bytes, and a restored log equals the writer's", async () => {
    const { writer } = await open("s1")
    const log = ReplicatedLog.create("s1", 1, writer)
    const hdr = enc.encode("NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n")
    // A subject of non-ASCII bytes (latin1-decoded UTF-8) round-trips byte for byte.
    const odd = Buffer.from("ördér.1", "utf8").toString("latin1")
    expect(log.appendBatch([rec("a.1", "one", 10n, hdr), rec(odd, "two", 11n)])).toEqual([1, 2])
    await run(log.sync())
    const { rows } = await admin.query(
      "SELECT seq, subject, hdr, data, ts FROM ejs_msgs WHERE name = 's1' ORDER BY seq"
    )
    expect(rows.map((r) => [r.seq, r.subject.toString("latin1"), r.hdr?.toString(), r.data.toString(), r.ts])).toEqual([
      ["1", "a.1", "NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n", "one", "10"],
      ["2", odd, undefined, "two", "11"]
    ])
    log.appendBatch([rec("a.2", "three", 12n)])
    expect(log.remove(2)).toBe(true)
    await run(log.sync())
    const back = ReplicatedLog.restore("s1", await snapshot("s1"), writer)
    expect(back.state({ deleted: true })).toEqual(log.state({ deleted: true }))
    expect(back.state({ deleted: true })).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: 3, deleted: [2] })
    expect(plain(back.get(1))).toEqual(plain(log.get(1)))
    // A purge past the end leaves no message row: the bounds row tells the next sequence.
    log.purge({ seq: 10 })
    await run(log.sync())
    const purged = ReplicatedLog.restore("s1", await snapshot("s1"), writer)
    expect(purged.state()).toMatchObject({ msgs: 0, firstSeq: 10, lastSeq: 9 })
    expect(purged.appendBatch([rec("a.3", "x", 13n)])).toEqual([10])
  })

  it("group commit: appends made while a commit is in flight all go in the next commit", async () => {
    const { writer } = await open("s2")
    const log = ReplicatedLog.create("s2", 1, writer)
    // 100 single-message appends in one synchronous burst: one commit.
    for (let i = 0; i < 100; i++) log.appendBatch([rec("g", `m${i}`, BigInt(i))])
    const first = Effect.runPromise(log.sync())
    // Let the first commit start, then 250 more while it is in flight.
    await new Promise((r) => setImmediate(r))
    for (let i = 100; i < 350; i++) log.appendBatch([rec("g", `m${i}`, BigInt(i))])
    await first
    await run(log.sync())
    expect(log.stats).toEqual({ commits: 2, ops: 350, largest: 250 })
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n, max(seq)::int AS last FROM ejs_msgs WHERE name = 's2'"
    )
    expect(rows[0]).toEqual({ n: 350, last: 350 })
  })

  it("fencing: once another node took the lease, the old writer's appends fail, nothing is committed, the log refuses writes", async () => {
    const { fence, writer } = await open("s3", "n1")
    const log = ReplicatedLog.create("s3", 1, writer)
    log.appendBatch([rec("f", "kept", 1n)])
    await run(log.sync())
    // The lease expires (n1 paused past its ttl) and n2 takes it with the next term.
    await admin.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [fence.asset])
    expect(await run(store.acquire(fence.asset, "n2", 30_000))).toBe(fence.term + 1n)
    log.appendBatch([rec("f", "zombie", 2n)])
    const exit = await Effect.runPromiseExit(log.sync())
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(log.failure?.message)).toContain(`stale term ${fence.term}`)
    expect(() => log.appendBatch([rec("f", "later", 3n)])).toThrow(/stale term/)
    const { rows } = await admin.query("SELECT seq::int, data FROM ejs_msgs WHERE name = 's3' ORDER BY seq")
    expect(rows.map((r) => [r.seq, r.data.toString()])).toEqual([[1, "kept"]])
    const bounds = await admin.query("SELECT first_seq::int, last_seq::int FROM ejs_logs WHERE name = 's3'")
    expect(bounds.rows).toEqual([{ first_seq: 1, last_seq: 1 }])
  })

  it(
    "takeover during a stream of commits: every acknowledged append is in the new owner's snapshot, nothing commits after it",
    async () => {
      for (let round = 0; round < 5; round++) {
        const name = `t${round}`
        const { fence, writer } = await open(name, "n1")
        const log = ReplicatedLog.create(name, 1, writer)
        const acked: Array<number> = []
        let stopped = false
        // A publisher keeping 64 appends outstanding, as a client's async publish window does.
        const publisher = async () => {
          while (!stopped) {
            // A log broken by the failed commit refuses the append itself.
            if (log.failure !== undefined) return
            const seqs = log.appendBatch([rec("t", "x", 1n)])
            const exit = await Effect.runPromiseExit(log.sync())
            if (Exit.isFailure(exit)) return
            acked.push(...seqs)
          }
        }
        const publishers = Array.from({ length: 64 }, publisher)
        // The takeover comes after a random number of acknowledgements (the first commit also connects).
        const target = 1 + Math.floor(Math.random() * 2000)
        while (acked.length < target) await new Promise((r) => setTimeout(r, 1))
        // The takeover, as the node taking the lease of a dead owner does it.
        await admin.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [
          fence.asset
        ])
        expect(await run(store.acquire(fence.asset, "n2", 30_000))).toBe(fence.term + 1n)
        const taken = await snapshot(name)
        await Promise.all(publishers.map((p) => p.then(() => undefined)))
        stopped = true
        expect(log.failure?.message).toContain("stale term")
        const after = await snapshot(name)
        expect(after.lastSeq).toBe(taken.lastSeq)
        expect(after.msgs.length).toBe(taken.msgs.length)
        // What the new owner starts from: every acked sequence, without gaps (no removals in this run).
        const held = taken.msgs.map((m) => m.seq)
        expect(held).toEqual(Array.from({ length: taken.lastSeq }, (_, i) => i + 1))
        expect(acked.length).toBeGreaterThan(0)
        expect(Math.max(...acked)).toBeLessThanOrEqual(taken.lastSeq)
        expect(new Set(acked).size).toBe(acked.length)
      }
    },
    60_000
  )

  type Cmd =
    | { readonly op: "append"; readonly subjects: ReadonlyArray<string> }
    | { readonly op: "remove"; readonly seq: number }
    | { readonly op: "purge"; readonly filter?: string; readonly keep?: number; readonly seq?: number }
    | { readonly op: "limits"; readonly maxMsgs?: number; readonly maxMsgsPerSubject?: number }
    | { readonly op: "sync" }
  const subject = fc.constantFrom("a", "b", "a.x", "b.y")
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant("append"), subjects: fc.array(subject, { minLength: 1, maxLength: 4 }) })
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("remove"), seq: fc.integer({ min: 1, max: 40 }) }) },
    {
      weight: 1,
      arbitrary: fc.record(
        {
          op: fc.constant("purge"),
          filter: fc.constantFrom("a", "a.*", ">"),
          keep: fc.integer({ min: 0, max: 3 }),
          seq: fc.integer({ min: 0, max: 45 })
        },
        { requiredKeys: ["op"] }
      )
    },
    {
      weight: 1,
      arbitrary: fc.record(
        {
          op: fc.constant("limits"),
          maxMsgs: fc.integer({ min: 1, max: 12 }),
          maxMsgsPerSubject: fc.integer({ min: 1, max: 4 })
        },
        { requiredKeys: ["op"] }
      )
    },
    { weight: 1, arbitrary: fc.constant({ op: "sync" as const }) }
  )

  let runs = 0
  it("property: after any command sequence, the log rebuilt from PostgreSQL equals the memory layer's", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 30 }), async (cmds) => {
        const name = `p${runs++}`
        const { writer } = await open(name)
        const log = ReplicatedLog.create(name, 1, writer)
        const model: MessageLog = new MemoryLog(name, {}, new MemoryPool(Infinity)).acquire()
        let ts = 0n
        const pending: Array<Promise<void>> = []
        for (const c of cmds) {
          for (const l of [log, model]) {
            switch (c.op) {
              case "append":
                l.appendBatch(c.subjects.map((s, i) => rec(s, `${ts}:${i}`, ts)))
                break
              case "remove":
                l.remove(c.seq)
                break
              case "purge":
                l.purge({
                  ...(c.filter === undefined ? {} : { filter: c.filter }),
                  ...(c.keep === undefined ? {} : { keep: c.keep }),
                  ...(c.seq === undefined ? {} : { seq: c.seq })
                })
                break
              case "limits":
                l.enforceLimits({
                  ...(c.maxMsgs === undefined ? {} : { maxMsgs: c.maxMsgs }),
                  ...(c.maxMsgsPerSubject === undefined ? {} : { maxMsgsPerSubject: c.maxMsgsPerSubject })
                })
                break
              case "sync":
                // Not awaited: later commands run while this commit is in flight.
                if (l === log) pending.push(Effect.runPromise(log.sync()))
            }
          }
          ts++
        }
        await Promise.all(pending)
        await run(log.sync())
        const back = ReplicatedLog.restore(name, await snapshot(name), writer)
        const want = model.state({ deleted: true })
        expect(log.state({ deleted: true })).toEqual(want)
        expect(back.state({ deleted: true })).toEqual(want)
        for (let s = want.firstSeq; s <= want.lastSeq; s++) expect(plain(back.get(s))).toEqual(plain(model.get(s)))
      }),
      { numRuns: 40 }
    )
  }, 60_000)

  it("consumer state: the folded state is committed on sync, a new owner starts from it, a fenced-out owner's acks commit nothing", async () => {
    const { fence } = await open("c1", "n1")
    const key = { account: ACCOUNT, name: "c1" }
    interface Floor {
      readonly floor: number
      readonly acks: number
    }
    const options = {
      initial: { floor: 0, acks: 0 } as Floor,
      fold: (s: Floor, e: { readonly ack: number }): Floor => ({ floor: Math.max(s.floor, e.ack), acks: s.acks + 1 }),
      decodeEvent: (u: unknown) => u as { readonly ack: number },
      decodeState: (u: unknown) => u as Floor
    }
    const w1 = makeStateWriter(server.url, key, "worker", fence)
    writers.push(w1)
    const journal = new ReplicatedEventLog("c1/worker", await loadState(admin, key, "worker"), options, w1)
    expect(journal.state()).toEqual({ floor: 0, acks: 0 })
    // Acks arriving while a commit is in flight: the next commit writes the state covering all of them.
    for (let i = 1; i <= 300; i++) journal.append([{ ack: i }])
    await run(journal.sync())
    expect(JSON.parse((await loadState(admin, key, "worker"))!)).toEqual({ floor: 300, acks: 300 })

    await admin.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [fence.asset])
    const t2 = (await run(store.acquire(fence.asset, "n2", 30_000)))!
    const w2 = makeStateWriter(server.url, key, "worker", { ...fence, owner: "n2", term: t2 })
    writers.push(w2)
    const next = new ReplicatedEventLog("c1/worker", await loadState(admin, key, "worker"), options, w2)
    expect(next.state()).toEqual({ floor: 300, acks: 300 })
    journal.append([{ ack: 301 }])
    expect(Exit.isFailure(await Effect.runPromiseExit(journal.sync()))).toBe(true)
    expect(() => journal.append([{ ack: 302 }])).toThrow(/stale term/)
    next.append([{ ack: 305 }])
    await run(next.sync())
    expect(JSON.parse((await loadState(admin, key, "worker"))!)).toEqual({ floor: 305, acks: 301 })
  })

  // Last: it stops the server, which ends every other session of this file.
  it(
    "a PostgreSQL outage fails the commit in flight: nothing is acknowledged, the log refuses writes, the store keeps what was committed",
    async () => {
      const { writer } = await open("o1")
      const log = ReplicatedLog.create("o1", 1, writer)
      log.appendBatch([rec("o", "before", 1n)])
      await run(log.sync())
      await server.halt()
      log.appendBatch([rec("o", "during", 2n)])
      const exit = await Effect.runPromiseExit(log.sync())
      expect(Exit.isFailure(exit)).toBe(true)
      expect(log.failure?.message).toContain("ECLUSTERSTORE")
      expect(() => log.appendBatch([rec("o", "after", 3n)])).toThrow(/cluster store/)
      await server.resume()
      await admin.end().catch(() => undefined)
      admin = new pg.Client({ connectionString: server.url })
      admin.on("error", () => {})
      await admin.connect()
      const back = await snapshot("o1")
      expect(back.lastSeq).toBe(1)
      expect(back.msgs.map((m) => new TextDecoder().decode(m.data))).toEqual(["before"])
    },
    60_000
  )
})
