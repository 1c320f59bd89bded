/**
 * A stream actor on a replicated log (src/jetstream/cluster/ReplicatedStore.ts) over a real
 * PostgreSQL: PubAcks come after the commit, a new owner that opens the log from the store after a
 * takeover continues the sequence and deduplicates a client's retry by Nats-Msg-Id, and the former
 * owner's actor, fenced out, answers publishes with the store error and commits nothing.
 */
import { Effect, Exit, Scope } from "effect"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { streamAsset } from "../../src/cluster/store/ClusterSchema.ts"
import type { ClusterStoreShape, Fence } from "../../src/cluster/store/ClusterStore.ts"
import { InternalClient } from "../../src/core/InternalClient.ts"
import { MessageRouter } from "../../src/core/Router.ts"
import { openReplicated } from "../../src/jetstream/cluster/ReplicatedStore.ts"
import { decodeStreamCreate } from "../../src/jetstream/model/StreamConfig.ts"
import { StreamActor } from "../../src/jetstream/stream/StreamActor.ts"
import { Logger } from "../../src/log/Log.ts"
import { startPostgres, type TestPostgres } from "../../src/testing/TestPostgres.ts"
import { describePostgres, openStore } from "../support/Postgres.ts"

const enc = new TextEncoder()
const dec = new TextDecoder()
const logger = new Logger({ debug: false, trace: false, logtime: false, file: "/dev/null" })

describePostgres("stream actor on a replicated log", () => {
  let server: TestPostgres
  let store: ClusterStoreShape
  let close: () => Promise<void>
  let admin: pg.Client
  beforeAll(async () => {
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
    await admin.connect()
  }, 60_000)
  afterAll(async () => {
    await admin?.end()
    await close?.()
    await server?.stop()
  })

  const config = { name: "R3S", subjects: ["r3.>"], storage: "file", num_replicas: 1, duplicate_window: 120e9 }
  const asset = streamAsset("$G", "R3S")

  /** One node's incarnation of the stream: an actor on the log opened from the store under `fence`. */
  const incarnation = async (fence: Fence) => {
    const scope = Effect.runSync(Scope.make())
    const router = new MessageRouter()
    const internal = new InternalClient(router)
    const app = new InternalClient(router)
    const decoded = decodeStreamCreate(JSON.stringify(config), config.name)
    if (!decoded.ok) throw new Error(decoded.error.description)
    // Real time, strictly increasing (BrokerClock's contract), without a layer for one test.
    let lastNs = 0n
    const clock = {
      nowNs: () => {
        const ns = BigInt(Date.now()) * 1_000_000n
        lastNs = ns > lastNs ? ns : lastNs + 1n
        return lastNs
      }
    }
    const actor = await Effect.runPromise(Scope.provide(
      Effect.gen(function*() {
        const log = yield* openReplicated({
          url: server.url,
          db: admin,
          key: { account: "$G", name: config.name },
          fence,
          firstSeq: 1
        })
        const a = yield* StreamActor.make(decoded.config, clock.nowNs(), log, {
          client: internal,
          log: logger,
          nowNs: clock.nowNs
        })
        a.rebuildDedupe()
        return a
      }),
      scope
    ))
    const acks = new Map<string, string>()
    app.subscribe("ack.>", (s, _reply, hdrLen, msg) => acks.set(s, dec.decode(hdrLen > 0 ? msg.subarray(hdrLen) : msg)))
    /** Publishes with a Nats-Msg-Id and resolves with the PubAck's body. */
    const publish = async (subject: string, data: string, id: string) => {
      const hdr = enc.encode(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`)
      const body = enc.encode(data)
      const msg = new Uint8Array(hdr.length + body.length)
      msg.set(hdr)
      msg.set(body, hdr.length)
      const reply = `ack.${id}.${Math.random()}`
      app.publish(subject, reply, hdr.length, msg)
      for (let i = 0; i < 500 && !acks.has(reply); i++) await new Promise((r) => setTimeout(r, 5))
      return JSON.parse(acks.get(reply) ?? "null") as Record<string, unknown> | null
    }
    return { actor, publish, stop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
  }
  const committed = async () =>
    (await admin.query("SELECT seq::int, data FROM ejs_msgs WHERE name = 'R3S' ORDER BY seq")).rows.map((
      r
    ) => [r.seq, r.data.toString()])

  it(
    "acks after COMMIT; after a takeover the new owner continues, dedups a retry; the fenced-out owner commits nothing",
    async () => {
      await admin.query(
        `INSERT INTO ejs_streams (account, name, config, owner, status, replicas) VALUES ('$G', 'R3S', '{}', 'n1', 'ready', 3)`
      )
      const t1 = (await Effect.runPromise(store.acquire(asset, "n1", 30_000)))!
      const first = await incarnation({ asset, owner: "n1", term: t1 })
      expect(await first.publish("r3.a", "one", "m1")).toEqual({ stream: "R3S", seq: 1 })
      expect(await first.publish("r3.a", "two", "m2")).toEqual({ stream: "R3S", seq: 2 })
      // Acknowledged means committed: both rows are there when the PubAck arrives.
      expect(await committed()).toEqual([[1, "one"], [2, "two"]])

      // n1 pauses past its lease; n2 takes the stream and opens it from the store.
      await admin.query("UPDATE ejs_leases SET expires_at = now() - interval '1 second' WHERE asset = $1", [asset])
      const t2 = (await Effect.runPromise(store.acquire(asset, "n2", 30_000)))!
      expect(t2).toBe(t1 + 1n)
      const second = await incarnation({ asset, owner: "n2", term: t2 })
      expect(second.actor.store.state()).toMatchObject({ msgs: 2, firstSeq: 1, lastSeq: 2 })
      // A client that did not see m2's PubAck retries through the new owner: the duplicate window came along.
      expect(await second.publish("r3.a", "two", "m2")).toEqual({ stream: "R3S", seq: 2, duplicate: true })
      expect(await second.publish("r3.a", "three", "m3")).toEqual({ stream: "R3S", seq: 3 })

      // The zombie (n1 resumed) still has its actor: its publish fails and nothing of it is committed.
      const zombie = await first.publish("r3.a", "zombie", "z1")
      expect(zombie?.error).toMatchObject({ err_code: 10077 })
      expect(String((zombie?.error as { description?: string }).description)).toContain("stale term")
      expect(await committed()).toEqual([[1, "one"], [2, "two"], [3, "three"]])
      await first.stop()
      await second.stop()
    },
    30_000
  )
})
