/**
 * Event logs: fold(events) after reopen equals the state before, in both layers, across snapshots and crashes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { StoreCipher } from "../../src/store/Cipher.ts"
import type { EventLogOptions } from "../../src/store/EventLog.ts"
import { EventLogStore } from "../../src/store/EventLogStore.ts"
import { tempDir } from "./support.ts"

/** A consumer-progress shaped state: what the consumer actor will keep. */
interface Progress {
  readonly config: string
  readonly delivered: number
  readonly ackFloor: number
  readonly pending: Readonly<Record<string, number>> // stream seq -> deliveries
}
type Ev =
  | { readonly _tag: "Config"; readonly value: string }
  | { readonly _tag: "Delivered"; readonly seq: number }
  | { readonly _tag: "Acked"; readonly seq: number }

const fold = (s: Progress, e: Ev): Progress => {
  switch (e._tag) {
    case "Config":
      return { ...s, config: e.value }
    case "Delivered":
      return { ...s, delivered: s.delivered + 1, pending: { ...s.pending, [e.seq]: (s.pending[e.seq] ?? 0) + 1 } }
    case "Acked": {
      const { [e.seq]: _, ...rest } = s.pending
      const floor = Math.min(e.seq, ...Object.keys(rest).map(Number)) === e.seq
        ? Math.max(s.ackFloor, e.seq)
        : s.ackFloor
      return { ...s, ackFloor: floor, pending: rest }
    }
  }
}

const initial: Progress = { config: "", delivered: 0, ackFloor: 0, pending: {} }
const isEv = (u: unknown): Ev => {
  const t = (u as { _tag?: unknown })._tag
  if (t === "Config" || t === "Delivered" || t === "Acked") return u as Ev
  throw new Error("not an event")
}
const options = (snapshotEvery: number): EventLogOptions<Progress, Ev> => ({
  initial,
  fold,
  decodeEvent: isEv,
  decodeState: (u) => u as Progress, // the test writes this JSON itself
  snapshotEvery
})

const ev = fc.oneof(
  fc.string({ maxLength: 8 }).map((value): Ev => ({ _tag: "Config", value })),
  fc.nat(50).map((seq): Ev => ({ _tag: "Delivered", seq })),
  fc.nat(50).map((seq): Ev => ({ _tag: "Acked", seq }))
)

const layers: ReadonlyArray<readonly [string, () => Layer.Layer<EventLogStore>]> = [
  ["memory", () => EventLogStore.layerMemory],
  ["file", () => EventLogStore.layerFile({ dir: tempDir() })],
  ["file, sync always", () => EventLogStore.layerFile({ dir: tempDir(), sync: "always" })],
  ["file, encrypted", () => EventLogStore.layerFile({ dir: tempDir(), cipher: new StoreCipher("aes", "journal key") })]
]

for (const [label, make] of layers) {
  describe(`EventLog: ${label}`, () => {
    it.effect("fold after reopen equals the state before, across snapshots", () =>
      Effect.gen(function*() {
        const store = yield* EventLogStore
        const events: Array<Ev> = [
          { _tag: "Config", value: "v1" },
          { _tag: "Delivered", seq: 1 },
          { _tag: "Delivered", seq: 2 },
          { _tag: "Acked", seq: 1 },
          { _tag: "Delivered", seq: 2 },
          { _tag: "Config", value: "v2" }
        ]
        const before = yield* Effect.scoped(Effect.gen(function*() {
          const log = yield* store.open("consumer/S/c1", options(4))
          log.append(events.slice(0, 4)) // reaches snapshotEvery: snapshot, events file emptied
          log.append(events.slice(4))
          yield* log.sync()
          assert.strictEqual(log.eventsSinceSnapshot, 2)
          return log.state()
        }))
        assert.deepStrictEqual(before, { config: "v2", delivered: 3, ackFloor: 1, pending: { 2: 2 } })
        const log = yield* store.open("consumer/S/c1", options(4))
        assert.deepStrictEqual(log.state(), before)
        assert.strictEqual(log.eventsSinceSnapshot, 2)
        assert.deepStrictEqual(yield* store.names, ["consumer/S/c1"])
      }).pipe(Effect.provide(make())))

    it.effect("names, InUse and destroy", () =>
      Effect.gen(function*() {
        const store = yield* EventLogStore
        yield* Effect.scoped(Effect.map(store.open("a", options(10)), (l) => l.append([{ _tag: "Delivered", seq: 1 }])))
        const held = yield* store.open("b", options(10))
        assert.strictEqual((yield* Effect.flip(store.open("b", options(10)))).reason._tag, "InUse")
        assert.strictEqual((yield* Effect.flip(store.destroy("b"))).reason._tag, "InUse")
        yield* held.close()
        yield* store.destroy("a")
        assert.strictEqual((yield* Effect.flip(store.destroy("a"))).reason._tag, "NotFound")
        const fresh = yield* store.open("a", options(10))
        assert.deepStrictEqual(fresh.state(), initial)
      }).pipe(Effect.provide(make())))

    it("random histories survive random reopen points exactly", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(ev, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }),
          fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
          fc.integer({ min: 1, max: 8 }),
          (history, reopenAt, every) =>
            Effect.runPromise(
              Effect.gen(function*() {
                const store = yield* EventLogStore
                let expected = initial
                for (let i = 0; i < history.length; i++) {
                  const batch = history[i]!
                  for (const e of batch) expected = fold(expected, e)
                  const got = yield* Effect.scoped(Effect.map(store.open("p", options(every)), (l) => {
                    l.append(batch)
                    return l.state()
                  }))
                  assert.deepStrictEqual(got, expected)
                  if (reopenAt[i] === true) {
                    const again = yield* Effect.scoped(Effect.map(store.open("p", options(every)), (l) => l.state()))
                    assert.deepStrictEqual(again, expected)
                  }
                }
              }).pipe(Effect.provide(make()))
            )
        ),
        { numRuns: 40 }
      )
    })
  })
}

describe("EventLog file recovery", () => {
  const events = (n: number): Array<Ev> => Array.from({ length: n }, (_, i) => ({ _tag: "Delivered", seq: i }))

  it.effect("a torn events tail is dropped and reported; earlier events survive", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const layer = EventLogStore.layerFile({ dir })
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* EventLogStore
        const log = yield* store.open("t", options(1000))
        log.append(events(5))
      })).pipe(Effect.provide(layer))
      const file = path.join(dir, "t.events")
      fs.truncateSync(file, fs.statSync(file).size - 3)
      const state = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* EventLogStore
        return (yield* store.open("t", options(1000))).state()
      })).pipe(Effect.provide(layer))
      assert.strictEqual(state.delivered, 4)
    }))

  // One append encodes the whole batch into a reused buffer that grows past its initial 16 KiB; multi-byte UTF-8
  // text must be framed by its byte length, not its string length.
  it.effect("a large batch with multi-byte text reads back intact, and so does the next append", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const layer = EventLogStore.layerFile({ dir })
      const big: Array<Ev> = Array.from(
        { length: 3000 },
        (_, i): Ev =>
          i % 3 === 0 ? { _tag: "Config", value: `žluťoučký kůň ${i} \u{1F600}` } : { _tag: "Delivered", seq: i }
      )
      const expected = big.reduce(fold, initial)
      yield* Effect.scoped(Effect.gen(function*() {
        const log = yield* EventLogStore.use((s) => s.open("t", options(1_000_000)))
        log.append(big)
        log.append([{ _tag: "Config", value: "after ✓" }])
      })).pipe(Effect.provide(layer))
      const state = yield* Effect.scoped(EventLogStore.use((s) => s.open("t", options(1_000_000)))).pipe(
        Effect.map((l) => l.state()),
        Effect.provide(layer)
      )
      assert.strictEqual(state.delivered, expected.delivered)
      assert.deepStrictEqual(state.pending, expected.pending)
      assert.strictEqual(state.config, "after ✓")
      assert.isTrue(fs.statSync(path.join(dir, "t.events")).size > 16 * 1024)
    }))

  it.effect("a corrupt snapshot is a typed Corrupt error", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const layer = EventLogStore.layerFile({ dir })
      yield* Effect.scoped(Effect.gen(function*() {
        const log = yield* EventLogStore.use((s) => s.open("t", options(2)))
        log.append(events(3))
      })).pipe(Effect.provide(layer))
      const file = path.join(dir, "t.snap")
      const b = fs.readFileSync(file)
      b[b.length - 1] = b[b.length - 1]! ^ 0xff
      fs.writeFileSync(file, b)
      const err = yield* Effect.flip(Effect.scoped(EventLogStore.use((s) => s.open("t", options(2))))).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(err.reason._tag, "Corrupt")
    }))

  it.effect("an event that no longer decodes is a typed Corrupt error", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const layer = EventLogStore.layerFile({ dir })
      yield* Effect.scoped(
        EventLogStore.use((s) =>
          Effect.map(s.open("t", options(100)), (l) => l.append([{ _tag: "Config", value: "x" }]))
        )
      ).pipe(Effect.provide(layer))
      const strict: EventLogOptions<Progress, Ev> = {
        ...options(100),
        decodeEvent: () => {
          throw new Error("v2 schema")
        }
      }
      const err = yield* Effect.flip(Effect.scoped(EventLogStore.use((s) => s.open("t", strict)))).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(err.reason._tag, "Corrupt")
    }))
})
