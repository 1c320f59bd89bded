/**
 * Consumer journals read back strictly: an event or snapshot of the wrong shape is a Corrupt StoreError naming
 * the journal file, and well-formed ones fold to the same state as before the restart.
 */
import { assert, describe, it } from "@effect/vitest"
import { test } from "@fast-check/vitest"
import { Effect, Schema } from "effect"
import fc from "fast-check"
import * as path from "node:path"
import { AckState } from "../../../src/jetstream/consumer/AckState.ts"
import {
  ConsumerEvent,
  foldConsumer,
  journalOptions,
  MAX_RUN,
  writeEvent
} from "../../../src/jetstream/consumer/ConsumerJournal.ts"
import { EventLogStore } from "../../../src/store/EventLogStore.ts"
import { tempDir } from "../../store/support.ts"

/** Writes raw JSON values as events (or as the snapshot), bypassing the consumer's types. */
const writeRaw = (dir: string, values: ReadonlyArray<unknown>, snapshot?: unknown) =>
  Effect.scoped(EventLogStore.use((s) =>
    Effect.map(
      s.open<unknown, unknown>("j", {
        initial: snapshot,
        fold: (_s, e) => e,
        decodeEvent: (u) => u,
        decodeState: (u) => u,
        snapshotEvery: 1_000_000
      }),
      (log) => {
        if (snapshot !== undefined) log.snapshot()
        log.append(values)
      }
    )
  )).pipe(Effect.provide(EventLogStore.layerFile({ dir })))

const reopen = (dir: string) =>
  Effect.scoped(EventLogStore.use((s) => Effect.map(s.open("j", journalOptions(1)), (log) => log.state().toJson())))
    .pipe(Effect.provide(EventLogStore.layerFile({ dir })))

const seq = fc.maxSafeNat()
const run = fc.integer({ min: 2, max: MAX_RUN })
const anyEvent: fc.Arbitrary<ConsumerEvent> = fc.oneof(
  fc.record({ e: fc.constant("d" as const), s: seq, t: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ e: fc.constant("d" as const), s: seq, t: fc.constantFrom(0 as const, 1 as const), n: run }),
  fc.record({ e: fc.constant("a" as const), s: seq, d: seq }),
  fc.record({ e: fc.constant("a" as const), s: seq, d: seq, n: run }),
  fc.record({ e: fc.constant("A" as const), s: seq, d: seq }),
  fc.record({ e: fc.constant("g" as const), s: seq }),
  fc.record({ e: fc.constant("r" as const), s: seq })
)

describe("consumer journal encoding", () => {
  // The journal file holds JSON.stringify's text; the hand-written encoder must never differ from it.
  test.prop([anyEvent, fc.nat(16)])("writeEvent writes exactly JSON.stringify's text", (ev, at) => {
    const out = Buffer.alloc(at + writeEvent.maxBytes)
    const end = writeEvent.write(ev, out, at)
    assert.isAtMost(end - at, writeEvent.maxBytes)
    assert.strictEqual(out.toString("utf8", at, end), JSON.stringify(ev))
  })
})

/** Near-misses of the event shapes: wrong tags, types, signs, fractions, missing and extra keys. */
const nearMiss = fc.record({
  e: fc.constantFrom("d", "a", "A", "g", "r", "x", 1),
  s: fc.oneof(fc.nat(), fc.constant(-1), fc.constant(1.5), fc.constant("1")),
  t: fc.option(fc.constantFrom(0, 1, 2, "1", true), { nil: undefined }),
  d: fc.option(fc.oneof(fc.nat(), fc.constant(-2), fc.constant(0.5)), { nil: undefined }),
  n: fc.option(fc.constantFrom(0, 1, 2, 3, 1.5, "2", MAX_RUN, MAX_RUN + 1), { nil: undefined }),
  z: fc.option(fc.constant(0), { nil: undefined })
}, { requiredKeys: ["e"] })

/** In-order deliveries and acks, as a drain makes them, with the odd redelivery, gap and ack-all between. */
const history = fc.array(
  fc.oneof(
    fc.record({ k: fc.constant("deliver" as const), gap: fc.nat(2), tracked: fc.boolean() }),
    fc.record({ k: fc.constant("ack" as const), back: fc.nat(3) }),
    fc.record({ k: fc.constant("redeliver" as const), back: fc.nat(3) })
  ),
  { maxLength: 60 }
)

describe("consumer journal runs", () => {
  // What the actor journals as runs must fold to exactly what the same changes journaled one by one fold to.
  test.prop([history])("a run folds to the same state as its events one by one", (steps) => {
    const single: Array<ConsumerEvent> = []
    const merged: Array<ConsumerEvent> = []
    const extend = (ev: ConsumerEvent) => {
      single.push(ev)
      const last = merged[merged.length - 1]
      if (last !== undefined && last.e === ev.e && (ev.e === "d" || ev.e === "a")) {
        const n = ("n" in last ? last.n : undefined) ?? 1
        const follows = last.s + n === ev.s &&
          (ev.e === "d" ? last.e === "d" && last.t === ev.t : last.e === "a" && last.d + n === ev.d)
        if (follows && n < MAX_RUN) {
          merged[merged.length - 1] = { ...last, n: n + 1 } as ConsumerEvent
          return
        }
      }
      merged.push(ev)
    }
    const model = new AckState(1)
    for (const st of steps) {
      if (st.k === "deliver") {
        const s = model.nextSeq + st.gap
        model.onDeliver(s, 0, 0, st.tracked)
        extend({ e: "d", s, t: st.tracked ? 1 : 0 })
      } else {
        const keys = [...model.pending.keys()]
        const s = keys[Math.min(st.back, keys.length - 1)]
        if (s === undefined) continue
        if (st.k === "ack") {
          const d = model.pending.get(s)!.dseq
          model.ack(s, d, 0)
          extend({ e: "a", s, d })
        } else {
          model.onDeliver(s, 0, 0, true)
          extend({ e: "d", s, t: 1 })
        }
      }
    }
    const a = single.reduce(foldConsumer, new AckState(1)).toJson()
    const b = merged.reduce(foldConsumer, new AckState(1)).toJson()
    assert.deepStrictEqual(b, a)
    assert.deepStrictEqual(a, model.toJson())
  })
})

describe("consumer journal event decoding", () => {
  const schemaDecode = Schema.decodeUnknownSync(ConsumerEvent, { onExcessProperty: "error" })
  const outcome = (f: () => unknown) => {
    try {
      return { ok: f() }
    } catch {
      return { thrown: true }
    }
  }
  // The fast path for well-formed events must accept and reject exactly what the schema does.
  test.prop([fc.oneof(anyEvent, nearMiss, fc.anything())], { numRuns: 2000 })(
    "the journal's decodeEvent agrees with the ConsumerEvent schema",
    (u) => {
      const viaJson = JSON.parse(JSON.stringify(u) ?? "null") as unknown
      assert.deepStrictEqual(
        outcome(() => journalOptions(1).decodeEvent(viaJson)),
        outcome(() => schemaDecode(viaJson))
      )
    }
  )
})

describe("consumer journal decoding", () => {
  it.effect("well-formed events fold back to the same progress", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const events: ReadonlyArray<ConsumerEvent> = [{ e: "d", s: 1, t: 1 }, { e: "d", s: 2, t: 1 }, {
        e: "a",
        s: 1,
        d: 1
      }]
      yield* writeRaw(dir, events)
      const state = yield* reopen(dir)
      assert.deepStrictEqual([state.nextSeq, state.delivered, state.pending], [3, 2, [[2, 2, 1]]])
    }))

  it.effect("a run folds back as the events it stands for, and counts as them towards the next snapshot", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeRaw(dir, [{ e: "d", s: 1, t: 1, n: 5 }, { e: "a", s: 1, d: 1, n: 3 }, { e: "d", s: 6, t: 1 }])
      const state = yield* reopen(dir)
      assert.deepStrictEqual([state.nextSeq, state.delivered, state.pending], [7, 6, [[4, 4, 1], [5, 5, 1], [6, 6, 1]]])
      assert.deepStrictEqual(state.floor, [3, 3])
      const since = yield* Effect.scoped(
        EventLogStore.use((s) => Effect.map(s.open("j", journalOptions(1)), (log) => log.eventsSinceSnapshot))
      ).pipe(Effect.provide(EventLogStore.layerFile({ dir })))
      assert.strictEqual(since, 9)
    }))

  for (
    const [label, bad] of [
      ["a run of one (written without a count)", { e: "d", s: 1, t: 1, n: 1 }],
      ["a run longer than the longest written", { e: "a", s: 1, d: 1, n: MAX_RUN + 1 }],
      ["a count on an ack-all", { e: "A", s: 1, d: 1, n: 2 }],
      ["an unknown event tag", { e: "x", s: 1 }],
      ["a negative sequence", { e: "d", s: -1, t: 1 }],
      ["a fractional sequence", { e: "a", s: 1.5, d: 1 }],
      ["a missing field", { e: "a", s: 1 }],
      ["an unknown field", { e: "g", s: 1, extra: true }],
      ["a tracked flag out of range", { e: "d", s: 1, t: 2 }]
    ] as const
  ) {
    it.effect(`${label} is a Corrupt error naming the journal`, () =>
      Effect.gen(function*() {
        const dir = tempDir()
        yield* writeRaw(dir, [{ e: "d", s: 1, t: 1 }, bad])
        const err = yield* Effect.flip(reopen(dir))
        assert.strictEqual(err.reason._tag, "Corrupt")
        assert.include(err.message, path.join(dir, "j.events"))
      }))
  }

  it.effect("a snapshot of the wrong shape is a Corrupt error naming the snapshot", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* writeRaw(dir, [], {
        nextSeq: "1",
        delivered: 0,
        lastDeliveredStreamSeq: 0,
        floor: [0, 0],
        pending: [],
        redelivered: []
      })
      const err = yield* Effect.flip(reopen(dir))
      assert.strictEqual(err.reason._tag, "Corrupt")
      assert.include(err.message, path.join(dir, "j.snap"))
    }))
})
