/**
 * Per-message TTL and subject delete markers (ADR-43) in the stream actor under TestClock: exact
 * expiry by moving the clock, `never` against max_age, markers and their own expiry, the TTL floor,
 * and the PubAck errors. Expected values are nats-server 2.11+'s (stream.go, memstore.go, sdm.go,
 * errors.json); nats-server 2.9.10 has none of this.
 */
import { assert, describe, it } from "@effect/vitest"
import { fc } from "@fast-check/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { BrokerClock } from "../../../src/core/BrokerClock.ts"
import { goSeconds } from "../../../src/jetstream/stream/DeleteMarker.ts"
import { MessageExpiry, NEVER, parseMessageTtl } from "../../../src/jetstream/stream/MessageTtl.ts"
import { StreamActor } from "../../../src/jetstream/stream/StreamActor.ts"
import { encodeHeaders } from "../../../src/protocol/Headers.ts"
import { makeMemory } from "../../../src/store/StreamStore.ts"
import { after, decodeStream, inProcessClients, pubAckPublisher, silentLogger } from "../../support/ActorHarness.ts"

const setup = (streamConfig: Record<string, unknown>) =>
  Effect.gen(function*() {
    const clock = yield* BrokerClock
    const { internal, app } = inProcessClients()
    const config = yield* decodeStream(streamConfig)
    const log = yield* makeMemory({}).open(config.name, {})
    const stream = yield* StreamActor.make(config, clock.nowNs(), log, {
      client: internal,
      log: silentLogger,
      nowNs: clock.nowNs
    })
    /** Publishes with these headers; returns the PubAck body. */
    const publishWith = pubAckPublisher(app)
    /** Publishes with a `Nats-TTL` header (none when `ttl` is undefined). */
    const publish = (subject: string, ttl?: string) =>
      publishWith(subject, ttl === undefined ? [] : [["Nats-TTL", ttl]])
    /** Live sequences, ascending. */
    const live = () => {
      const st = stream.store.state()
      const out: Array<number> = []
      for (let s = st.firstSeq; s <= st.lastSeq; s++) if (stream.store.get(s) !== undefined) out.push(s)
      return out
    }
    const headers = (seq: number) => {
      const m = stream.store.get(seq)
      return m?.hdr === undefined ? "" : Buffer.from(m.hdr).toString("latin1")
    }
    return { stream, publish, publishWith, live, headers }
  })

const withClock = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.provide(BrokerClock.layer.pipe(Layer.fresh)), Effect.scoped)

const ttlStream = { name: "T", subjects: ["t.>"], storage: "memory", allow_msg_ttl: true }

describe("Nats-TTL values (nats-server parseMessageTTL)", () => {
  it("takes seconds, Go durations (truncated to seconds) and never; refuses the rest", () => {
    const cases: Array<[string, number | undefined]> = [
      ["5", 5],
      ["5s", 5],
      ["1m", 60],
      ["1.9s", 1],
      ["1h30m", 5400],
      ["never", NEVER],
      ["NEVER", NEVER],
      ["00", 0],
      ["0", undefined],
      ["0s", undefined],
      ["500ms", undefined],
      ["-1s", undefined],
      ["-5", undefined],
      ["abc", undefined],
      ["5 s", undefined]
    ]
    for (const [v, want] of cases) assert.strictEqual(parseMessageTtl(v), want, v)
  })

  it("writes marker TTLs as Go's Duration.String", () => {
    assert.deepStrictEqual([1, 59, 60, 61, 3600, 3661, 86400].map(goSeconds), [
      "1s",
      "59s",
      "1m0s",
      "1m1s",
      "1h0m0s",
      "1h1m1s",
      "24h0m0s"
    ])
  })
})

describe("StreamActor per-message TTL", () => {
  it.effect("removes a message exactly at its TTL, in seconds or as a Go duration", () =>
    withClock(Effect.gen(function*() {
      const { publish, live } = yield* setup(ttlStream)
      assert.strictEqual(yield* publish("t.a", "5"), "{\"stream\":\"T\", \"seq\":1}")
      yield* publish("t.b", "2s")
      yield* publish("t.c")
      yield* after(1999)
      assert.deepStrictEqual(live(), [1, 2, 3])
      // Timestamps are nanoseconds made unique, so a deadline falls just past its millisecond.
      yield* after(2)
      assert.deepStrictEqual(live(), [1, 3])
      yield* after(2998)
      assert.deepStrictEqual(live(), [1, 3])
      yield* after(2)
      assert.deepStrictEqual(live(), [3])
    })))

  it.effect("a later, shorter TTL is not held up by an earlier, longer one", () =>
    withClock(Effect.gen(function*() {
      const { publish, live } = yield* setup(ttlStream)
      yield* publish("t.a", "1h")
      yield* after(10)
      yield* publish("t.b", "1")
      yield* after(1001)
      assert.deepStrictEqual(live(), [1])
    })))

  it.effect("never outlives max_age; other messages still age out; a TTL beats a longer max_age", () =>
    withClock(Effect.gen(function*() {
      const { publish, live } = yield* setup({ ...ttlStream, max_age: 10_000_000_000 })
      yield* publish("t.a", "never")
      yield* publish("t.b")
      yield* publish("t.c", "3")
      yield* after(3001)
      assert.deepStrictEqual(live(), [1, 2])
      yield* after(7000)
      assert.deepStrictEqual(live(), [1])
      yield* after(3_600_000)
      assert.deepStrictEqual(live(), [1])
    })))

  it.effect("answers nats-server's PubAck errors and stores nothing for them", () =>
    withClock(Effect.gen(function*() {
      const off = yield* setup({ name: "OFF", subjects: ["off.>"], storage: "memory" })
      const disabled = "{\"error\":{\"code\":400,\"err_code\":10166,\"description\":\"per-message TTL is disabled\"}"
      assert.include(yield* off.publish("off.a", "5"), disabled)
      assert.include(yield* off.publish("off.a", "never"), disabled)
      // An unparsable value is not a TTL to nats-server's disabled check: it is invalid.
      const invalid = "{\"error\":{\"code\":400,\"err_code\":10165,\"description\":\"invalid per-message TTL\"}"
      assert.include(yield* off.publish("off.a", "soon"), invalid)
      assert.deepStrictEqual(off.live(), [])
      const on = yield* setup(ttlStream)
      for (const v of ["0", "500ms", "abc", "-1s"]) assert.include(yield* on.publish("t.a", v), invalid, v)
      assert.deepStrictEqual(on.live(), [])
      assert.strictEqual(yield* on.publish("t.a", ""), "{\"stream\":\"T\", \"seq\":1}")
    })))

  it.effect("keeps the Nats-TTL header on the stored message", () =>
    withClock(Effect.gen(function*() {
      const { publish, headers } = yield* setup(ttlStream)
      yield* publish("t.a", "1m")
      assert.strictEqual(headers(1), "NATS/1.0\r\nNats-TTL: 1m\r\n\r\n")
    })))
})

describe("StreamActor subject delete markers", () => {
  const sdm = { ...ttlStream, max_msgs_per_subject: 1, subject_delete_marker_ttl: 60_000_000_000 }

  it.effect("a TTL that empties a subject leaves a MaxAge marker, which expires after its own TTL", () =>
    withClock(Effect.gen(function*() {
      const { publish, live, headers, stream } = yield* setup(sdm)
      yield* publish("t.a", "2")
      yield* publish("t.b")
      yield* after(2001)
      assert.deepStrictEqual(live(), [2, 3])
      assert.strictEqual(stream.store.get(3)!.subject, "t.a")
      assert.strictEqual(stream.store.get(3)!.data.length, 0)
      assert.strictEqual(
        headers(3),
        "NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 1m0s\r\nNats-Rollup: sub\r\n\r\n"
      )
      yield* after(59_998)
      assert.deepStrictEqual(live(), [2, 3])
      // The marker is a marker: it goes without leaving another.
      yield* after(2)
      assert.deepStrictEqual(live(), [2])
      assert.strictEqual(stream.store.state().lastSeq, 3)
    })))

  it.effect("max_age that empties a subject leaves a marker; a subject with newer messages gets none", () =>
    withClock(Effect.gen(function*() {
      const { publish, live, headers, stream } = yield* setup({
        ...sdm,
        max_msgs_per_subject: -1,
        max_age: 5_000_000_000,
        subject_delete_marker_ttl: 90_000_000_000
      })
      yield* publish("t.a")
      yield* publish("t.b")
      yield* after(2000)
      yield* publish("t.b")
      yield* after(3001)
      // t.a's only message and t.b's older one aged out: one marker, for t.a.
      assert.deepStrictEqual(live(), [3, 4])
      assert.strictEqual(stream.store.get(4)!.subject, "t.a")
      assert.include(headers(4), "Nats-Marker-Reason: MaxAge\r\nNats-TTL: 1m30s\r\n")
      yield* after(2000)
      assert.deepStrictEqual(live(), [4, 5])
      assert.strictEqual(stream.store.get(5)!.subject, "t.b")
    })))

  it.effect("raises a TTL below the marker TTL to it, rewriting the header in seconds", () =>
    withClock(Effect.gen(function*() {
      const { publish, live, headers } = yield* setup({ ...sdm, max_msgs_per_subject: 5 })
      yield* publish("t.a", "2s")
      assert.strictEqual(headers(1), "NATS/1.0\r\nNats-TTL: 60\r\n\r\n")
      yield* publish("t.a", "2m")
      assert.strictEqual(headers(2), "NATS/1.0\r\nNats-TTL: 2m\r\n\r\n")
      yield* after(2001)
      assert.deepStrictEqual(live(), [1, 2])
      yield* after(58_000)
      assert.deepStrictEqual(live(), [2])
    })))

  it.effect("a KV purge that expires leaves no marker (it is one)", () =>
    withClock(Effect.gen(function*() {
      const { publishWith, live } = yield* setup(sdm)
      yield* publishWith("t.k", [["KV-Operation", "PURGE"], ["Nats-Rollup", "sub"], ["Nats-TTL", "3s"]], "")
      assert.deepStrictEqual(live(), [1])
      yield* after(3001)
      assert.deepStrictEqual(live(), [])
    })))
})

type Op =
  | { readonly op: "pub"; readonly subject: string; readonly ttl: number | "never" | undefined }
  | { readonly op: "wait"; readonly ms: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("pub" as const),
      subject: fc.constantFrom("t.a", "t.b", "t.c"),
      ttl: fc.option(fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant("never" as const)), { nil: undefined })
    })
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("wait" as const), ms: fc.integer({ min: 1, max: 8000 }) }) }
)

describe("StreamActor TTL property", () => {
  it("the live set equals a model of TTLs, never and max_age under random clock moves", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const program = Effect.gen(function*() {
          const maxAgeMs = 15_000
          const { publish, live } = yield* setup({ ...ttlStream, max_age: maxAgeMs * 1_000_000 })
          const model: Array<{ seq: number; at: number; ttl: number | "never" | undefined }> = []
          let now = 0
          let seq = 0
          for (const o of ops) {
            if (o.op === "pub") {
              yield* publish(o.subject, o.ttl === undefined ? undefined : String(o.ttl))
              model.push({ seq: ++seq, at: now, ttl: o.ttl })
            } else {
              yield* after(o.ms)
              now += o.ms
            }
            // A deadline falls within a millisecond after its nominal time (unique nanosecond stamps).
            const gone = (m: (typeof model)[number]) => {
              if (m.ttl === "never") return false
              const life = m.ttl === undefined ? maxAgeMs : Math.min(m.ttl * 1000, maxAgeMs)
              return now > m.at + life
            }
            const boundary = (m: (typeof model)[number]) =>
              m.ttl !== "never" &&
              now === m.at + (m.ttl === undefined ? maxAgeMs : Math.min(m.ttl * 1000, maxAgeMs))
            const have = live()
            for (const m of model) {
              if (boundary(m)) continue
              assert.strictEqual(have.includes(m.seq), !gone(m), `seq ${m.seq} at ${now}ms`)
            }
          }
        })
        await Effect.runPromise(withClock(program).pipe(Effect.provide(TestClock.layer())))
      }),
      { numRuns: 40 }
    )
  })
})

describe("StreamActor delete marker property", () => {
  it("one message per subject (KV): each subject holds what a model of values, TTLs and markers says", async () => {
    const markerMs = 5000
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const program = Effect.gen(function*() {
          const { publish, stream } = yield* setup({
            ...ttlStream,
            max_msgs_per_subject: 1,
            subject_delete_marker_ttl: markerMs * 1_000_000
          })
          type State = { readonly kind: "value" | "marker"; readonly end: number }
          const model = new Map<string, State>()
          const events: Array<number> = []
          let now = 0
          const advance = (to: number) => {
            for (const [subject, st] of [...model]) {
              let s: State | undefined = st
              // A value that expires leaves a marker, which expires in turn.
              while (s !== undefined && s.end <= to) {
                s = s.kind === "value" ? { kind: "marker", end: s.end + markerMs } : undefined
                if (s !== undefined) events.push(s.end)
              }
              if (s === undefined) model.delete(subject)
              else model.set(subject, s)
            }
            now = to
          }
          for (const o of ops) {
            if (o.op === "pub") {
              yield* publish(o.subject, o.ttl === undefined ? undefined : String(o.ttl))
              const end = typeof o.ttl === "number" ? now + o.ttl * 1000 : Infinity
              model.set(o.subject, { kind: "value", end })
              events.push(end)
            } else {
              yield* after(o.ms)
              advance(now + o.ms)
            }
            // Deadlines fall within a millisecond or two after their nominal time (unique ns stamps).
            if (events.some((t) => now >= t && now - t <= 2)) continue
            const have = new Map<string, string>()
            for (const subject of ["t.a", "t.b", "t.c"]) {
              const m = stream.store.lastBySubject(subject)
              if (m === undefined) continue
              const marker = m.hdr !== undefined && Buffer.from(m.hdr).toString("latin1").includes("Nats-Marker-Reason")
              have.set(subject, marker ? "marker" : "value")
            }
            const want = new Map([...model].map(([s, st]) => [s, st.kind]))
            assert.deepStrictEqual(have, want, `at ${now}ms`)
          }
        })
        await Effect.runPromise(withClock(program).pipe(Effect.provide(TestClock.layer())))
      }),
      { numRuns: 40 }
    )
  })
})

describe("MessageExpiry schedule", () => {
  it.effect("drops the deadlines of messages removed elsewhere once they outnumber the live ones", () =>
    Effect.gen(function*() {
      const log = yield* makeMemory({}).open("SCHED", {})
      const expiry = new MessageExpiry(() => 0n, () => () => {}, () => {})
      const hdr = encodeHeaders(undefined, [["Nats-TTL", "1h"]])
      for (let i = 0; i < 3000; i++) {
        const [seq] = log.appendBatch([{ subject: `s.${i}`, hdr, data: new Uint8Array(0), ts: BigInt(i + 1) }])
        expiry.track(seq!, BigInt(i + 1), 3600)
      }
      // A per-subject or max_msgs limit removed all but the newest ten.
      log.purge({ keep: 10 })
      expiry.expire(log, 0n, 0, 1n, () => false)
      assert.strictEqual(expiry.scheduled, 10)
      assert.strictEqual(log.state().msgs, 10)
    }).pipe(Effect.scoped))
})
