/**
 * The StreamStore contract: one body of tests, run against every layer (StreamStore.spec.ts), in the spirit of
 * nats-server running one store test over every storage type. Every assertion names the exact expected value.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { AppendRecord, MessageLog, StoreConfig } from "../../src/store/MessageLog.ts"
import * as StoreError from "../../src/store/StoreError.ts"
import { StreamStore } from "../../src/store/StreamStore.ts"

const enc = new TextEncoder()
export const rec = (subject: string, data: string, ts: bigint, hdr?: string): AppendRecord => ({
  subject,
  hdr: hdr === undefined ? undefined : enc.encode(hdr),
  data: enc.encode(data),
  ts
})
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b))

const reasonOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (StoreError.isStoreError(e)) return e.reason._tag
    throw e
  }
  return "none"
}

/** `makeLayer` must return a fresh, empty store each call. */
export const contract = (label: string, makeLayer: () => Layer.Layer<StreamStore>) => {
  const withStore = <A, E>(f: (s: StreamStore["Service"]) => Effect.Effect<A, E, import("effect").Scope.Scope>) =>
    Effect.gen(function*() {
      const s = yield* StreamStore
      return yield* f(s)
    }).pipe(Effect.provide(makeLayer()))

  const withLog = <A>(f: (log: MessageLog) => A, config: StoreConfig = {}) =>
    withStore((s) => Effect.map(s.open("S", config), f))

  /** Runs `f` on a log, closes it, reopens it and hands the new handle to `g`. */
  const reopen = <A>(f: (log: MessageLog) => void, g: (log: MessageLog) => A, config: StoreConfig = {}) =>
    withStore((s) =>
      Effect.gen(function*() {
        yield* Effect.scoped(Effect.map(s.open("S", config), f))
        const log = yield* s.open("S", config)
        return g(log)
      })
    )

  describe(`StreamStore contract: ${label}`, () => {
    it.effect("usedBytes is the running total of every open log's bytes through appends, removals, purges and limits", () =>
      withStore((s) =>
        Effect.gen(function*() {
          const a = yield* s.open("A", {})
          const b = yield* s.open("B", {})
          const total = () => a.state().bytes + b.state().bytes
          assert.strictEqual(s.usedBytes(), 0)
          a.appendBatch([rec("a.1", "hello", 1n), rec("a.2", "hi", 2n), rec("a.1", "again", 3n)])
          b.appendBatch([rec("b", "xyz", 1n)])
          assert.strictEqual(s.usedBytes(), (3 + 5 + 16) + (3 + 2 + 16) + (3 + 5 + 16) + (1 + 3 + 16))
          a.remove(2)
          assert.strictEqual(s.usedBytes(), total())
          a.enforceLimits({ maxMsgsPerSubject: 1 })
          assert.strictEqual(s.usedBytes(), (3 + 5 + 16) + (1 + 3 + 16))
          b.purge()
          assert.strictEqual(s.usedBytes(), 3 + 5 + 16)
          a.enforceLimits({ maxMsgs: 1 })
          a.appendBatch([rec("a.3", "x", 4n)])
          a.enforceLimits({ maxBytes: 3 + 1 + 16 })
          assert.deepStrictEqual([a.state().msgs, s.usedBytes()], [1, 3 + 1 + 16])
        })
      ))

    it.effect("append assigns consecutive sequences and state counts them", () =>
      withLog((log) => {
        const seqs = log.appendBatch([rec("a.1", "hello", 10n), rec("a.2", "", 11n, "NATS/1.0\r\n\r\n")])
        assert.deepStrictEqual(seqs, [1, 2])
        assert.deepStrictEqual(log.appendBatch([rec("b", "xyz", 12n)]), [3])
        assert.deepStrictEqual(log.state(), {
          msgs: 3,
          bytes: (3 + 5 + 16) + (3 + 12 + 16) + (1 + 3 + 16),
          firstSeq: 1,
          firstTs: 10n,
          lastSeq: 3,
          lastTs: 12n,
          numDeleted: 0,
          numSubjects: 3
        })
      }))

    it.effect("get returns exactly what was appended", () =>
      withLog((log) => {
        // "ü.ä" as UTF-8 bytes decoded with latin1: one char per byte.
        const subj = String.fromCharCode(0xc3, 0xbc, 0x2e, 0xc3, 0xa4)
        log.appendBatch([rec(subj, "payload", 5n, "H: 1"), rec("x", "", 6n), rec("y", "z", 7n, "")])
        const m = log.get(1)!
        assert.strictEqual(m.seq, 1)
        assert.strictEqual(m.subject, subj)
        assert.strictEqual(text(m.hdr), "H: 1")
        assert.strictEqual(text(m.data), "payload")
        assert.strictEqual(m.ts, 5n)
        assert.strictEqual(log.get(2)!.hdr, undefined)
        assert.strictEqual(log.get(2)!.data.length, 0)
        assert.strictEqual(log.get(3)!.hdr!.length, 0)
        assert.strictEqual(log.get(0), undefined)
        assert.strictEqual(log.get(4), undefined)
      }))

    it.effect("firstSeq config starts the log there", () =>
      withLog((log) => {
        assert.strictEqual(log.state().firstSeq, 100)
        assert.strictEqual(log.state().lastSeq, 99)
        assert.deepStrictEqual(log.appendBatch([rec("a", "1", 1n)]), [100])
      }, { firstSeq: 100 }))

    it.effect("lastBySubject with literals and wildcards", () =>
      withLog((log) => {
        log.appendBatch([rec("a.x", "1", 1n), rec("b.x", "2", 2n), rec("a.y", "3", 3n), rec("a.x", "4", 4n)])
        assert.strictEqual(log.lastBySubject("a.x")!.seq, 4)
        assert.strictEqual(log.lastBySubject("b.x")!.seq, 2)
        assert.strictEqual(log.lastBySubject("*.x")!.seq, 4)
        assert.strictEqual(log.lastBySubject("a.*")!.seq, 4)
        assert.strictEqual(log.lastBySubject("b.>")!.seq, 2)
        assert.strictEqual(log.lastBySubject(">")!.seq, 4)
        assert.strictEqual(log.lastBySubject("c"), undefined)
        assert.strictEqual(log.remove(4), true)
        assert.strictEqual(log.lastBySubject("a.x")!.seq, 1)
        assert.strictEqual(log.lastBySubject("a.*")!.seq, 3)
        assert.strictEqual(text(log.lastBySubject("a.x")!.data), "1")
      }))

    it.effect("firstSeqMatching and countMatching from a start sequence", () =>
      withLog((log) => {
        log.appendBatch([rec("a", "", 1n), rec("b", "", 2n), rec("a", "", 3n), rec("c.d", "", 4n), rec("a", "", 5n)])
        assert.strictEqual(log.firstSeqMatching(1, "a"), 1)
        assert.strictEqual(log.firstSeqMatching(2, "a"), 3)
        assert.strictEqual(log.firstSeqMatching(6, "a"), undefined)
        assert.strictEqual(log.firstSeqMatching(1, "c.*"), 4)
        assert.strictEqual(log.firstSeqMatching(2, ">"), 2)
        assert.strictEqual(log.firstSeqMatching(1, "zz"), undefined)
        assert.strictEqual(log.countMatching(1, "a"), 3)
        assert.strictEqual(log.countMatching(2, "a"), 2)
        assert.strictEqual(log.countMatching(1, "*"), 4)
        assert.strictEqual(log.countMatching(3, ">"), 3)
        assert.strictEqual(log.countMatching(4, ""), 2)
        log.remove(3)
        assert.strictEqual(log.firstSeqMatching(2, "a"), 5)
        assert.strictEqual(log.countMatching(2, "a"), 1)
        assert.strictEqual(log.countMatching(2, ">"), 3)
      }))

    it.effect("firstSeqAtOrAfterTime skips deleted messages", () =>
      withLog((log) => {
        log.appendBatch([rec("a", "", 100n), rec("a", "", 200n), rec("a", "", 200n), rec("a", "", 300n)])
        assert.strictEqual(log.firstSeqAtOrAfterTime(0n), 1)
        assert.strictEqual(log.firstSeqAtOrAfterTime(150n), 2)
        assert.strictEqual(log.firstSeqAtOrAfterTime(200n), 2)
        assert.strictEqual(log.firstSeqAtOrAfterTime(301n), undefined)
        log.remove(2)
        assert.strictEqual(log.firstSeqAtOrAfterTime(150n), 3)
      }))

    it.effect("subjectCounts per filter", () =>
      withLog((log) => {
        log.appendBatch([rec("a.1", "", 1n), rec("a.2", "", 1n), rec("a.1", "", 1n), rec("b.1", "", 1n)])
        assert.deepStrictEqual([...log.subjectCounts("a.*")].sort(), [["a.1", 2], ["a.2", 1]])
        assert.deepStrictEqual([...log.subjectCounts(">")].length, 3)
        assert.deepStrictEqual([...log.subjectCounts("b.1")], [["b.1", 1]])
        log.remove(4)
        assert.strictEqual(log.state().numSubjects, 2)
        assert.deepStrictEqual([...log.subjectCounts("b.>")], [])
      }))

    it.effect("remove: interior, head, tail, missing, erase", () =>
      withLog((log) => {
        log.appendBatch([1, 2, 3, 4, 5].map((i) => rec("s", `m${i}`, BigInt(i))))
        assert.strictEqual(log.remove(3), true)
        assert.strictEqual(log.remove(3), false)
        assert.strictEqual(log.remove(9), false)
        assert.deepStrictEqual(log.state({ deleted: true }).deleted, [3])
        assert.strictEqual(log.state().numDeleted, 1)
        assert.strictEqual(log.remove(1, { erase: true }), true)
        assert.strictEqual(log.state().firstSeq, 2)
        assert.strictEqual(log.state().firstTs, 2n)
        assert.strictEqual(log.remove(5), true)
        assert.strictEqual(log.state().lastSeq, 5)
        assert.strictEqual(log.state().msgs, 2)
        // Like nats-server, last_seq stays put when the last message is deleted, so it counts as deleted.
        assert.deepStrictEqual(log.state({ deleted: true }).deleted, [3, 5])
        assert.strictEqual(log.state().numDeleted, 2)
        assert.strictEqual(log.get(3), undefined)
        assert.strictEqual(text(log.get(4)!.data), "m4")
        assert.deepStrictEqual(log.appendBatch([rec("s", "m6", 6n)]), [6])
      }))

    it.effect("purge all keeps the sequence going", () =>
      withLog((log) => {
        log.appendBatch([rec("a", "1", 1n), rec("b", "2", 2n), rec("c", "3", 3n)])
        assert.strictEqual(log.purge(), 3)
        assert.deepStrictEqual(log.state(), {
          msgs: 0,
          bytes: 0,
          firstSeq: 4,
          firstTs: 0n,
          lastSeq: 3,
          lastTs: 3n,
          numDeleted: 0,
          numSubjects: 0
        })
        assert.deepStrictEqual(log.appendBatch([rec("a", "4", 4n)]), [4])
        assert.strictEqual(log.state().firstSeq, 4)
      }))

    it.effect("purge up to a sequence (exclusive) and past the end", () =>
      withLog((log) => {
        log.appendBatch([1, 2, 3, 4, 5].map((i) => rec("s", "", BigInt(i))))
        assert.strictEqual(log.purge({ seq: 3 }), 2)
        assert.strictEqual(log.state().firstSeq, 3)
        assert.strictEqual(log.state().msgs, 3)
        assert.strictEqual(log.purge({ seq: 100 }), 3)
        assert.strictEqual(log.state().firstSeq, 100)
        assert.strictEqual(log.state().lastSeq, 99)
        assert.deepStrictEqual(log.appendBatch([rec("s", "", 9n)]), [100])
      }))

    it.effect("purge keep and filters", () =>
      withLog((log) => {
        log.appendBatch([
          rec("a", "", 1n),
          rec("b", "", 2n),
          rec("a", "", 3n),
          rec("b", "", 4n),
          rec("a", "", 5n),
          rec("c.1", "", 6n)
        ])
        assert.strictEqual(log.purge({ filter: "a", keep: 1 }), 2)
        assert.deepStrictEqual(log.state({ deleted: true }).deleted, [3])
        assert.strictEqual(log.state().firstSeq, 2)
        assert.strictEqual(log.purge({ filter: "b", seq: 4 }), 1)
        assert.strictEqual(log.state().firstSeq, 4)
        assert.strictEqual(log.purge({ filter: "c.*" }), 1)
        assert.strictEqual(log.state().msgs, 2)
        assert.strictEqual(log.purge({ keep: 1 }), 1)
        assert.strictEqual(log.state().firstSeq, 5)
        assert.strictEqual(log.purge({ keep: 5 }), 0)
        assert.strictEqual(log.purge({ filter: "zz" }), 0)
      }))

    it.effect("enforceLimits removes from the head and reports it", () =>
      withLog((log) => {
        log.appendBatch([1, 2, 3, 4, 5, 6].map((i) => rec(i % 2 === 0 ? "evn" : "odd", "12345", BigInt(i * 10))))
        // 3 + 5 + 16 = 24 accounted bytes each
        assert.deepStrictEqual(log.enforceLimits({ maxMsgs: 5 }), { msgs: 1, bytes: 24 })
        assert.strictEqual(log.state().firstSeq, 2)
        assert.deepStrictEqual(log.enforceLimits({ maxBytes: 100 }), { msgs: 1, bytes: 24 })
        assert.deepStrictEqual(log.enforceLimits({ maxMsgsPerSubject: 1 }), { msgs: 2, bytes: 48 })
        assert.deepStrictEqual(log.state({ deleted: true }).deleted, [])
        assert.strictEqual(log.state().firstSeq, 5)
        assert.deepStrictEqual(log.enforceLimits({ maxAgeNs: 15n, nowNs: 70n }), { msgs: 1, bytes: 24 })
        assert.strictEqual(log.state().firstSeq, 6)
        assert.deepStrictEqual(log.enforceLimits({ maxMsgs: 10, maxBytes: 1000 }), { msgs: 0, bytes: 0 })
        assert.deepStrictEqual(log.enforceLimits({ maxAgeNs: 1n, nowNs: 1000n }), { msgs: 1, bytes: 24 })
        assert.strictEqual(log.state().msgs, 0)
        assert.strictEqual(log.state().firstSeq, 7)
      }))

    it.effect("per-subject limit applies to later appends", () =>
      withLog((log) => {
        log.appendBatch([rec("k", "1", 1n), rec("k", "2", 2n)])
        assert.deepStrictEqual(log.enforceLimits({ maxMsgsPerSubject: 1 }).msgs, 1)
        log.appendBatch([rec("j", "3", 3n), rec("k", "4", 4n)])
        assert.deepStrictEqual(log.enforceLimits({ maxMsgsPerSubject: 1 }).msgs, 1)
        assert.strictEqual(text(log.lastBySubject("k")!.data), "4")
        assert.strictEqual(log.state().msgs, 2)
        assert.strictEqual(log.state().firstSeq, 3)
      }))

    it.effect("close and reopen keeps messages, deletions and purges", () =>
      reopen(
        (log) => {
          log.appendBatch([1, 2, 3, 4, 5].map((i) => rec(`s.${i % 2}`, `m${i}`, BigInt(i))))
          log.remove(3)
          log.purge({ seq: 2 })
        },
        (log) => {
          assert.deepStrictEqual(log.state({ deleted: true }), {
            msgs: 3,
            bytes: 3 * (3 + 2 + 16),
            firstSeq: 2,
            firstTs: 2n,
            lastSeq: 5,
            lastTs: 5n,
            numDeleted: 1,
            numSubjects: 2,
            deleted: [3]
          })
          assert.strictEqual(text(log.get(5)!.data), "m5")
          assert.strictEqual(log.lastBySubject("s.0")!.seq, 4)
          assert.deepStrictEqual(log.appendBatch([rec("s.1", "m6", 6n)]), [6])
        }
      ))

    it.effect("reopen after purge-all and after purge past the end", () =>
      reopen(
        (log) => {
          log.appendBatch([rec("a", "1", 1n), rec("a", "2", 2n)])
          log.purge({ seq: 50 })
        },
        (log) => {
          assert.strictEqual(log.state().firstSeq, 50)
          assert.strictEqual(log.state().lastSeq, 49)
          assert.strictEqual(log.state().msgs, 0)
          assert.deepStrictEqual(log.appendBatch([rec("a", "3", 3n)]), [50])
        }
      ))

    it.effect("firstSeq of the config does not move an existing log", () =>
      withStore((s) =>
        Effect.gen(function*() {
          yield* Effect.scoped(Effect.map(s.open("S"), (l) => l.appendBatch([rec("a", "1", 1n), rec("a", "2", 2n)])))
          const log = yield* s.open("S", { firstSeq: 50 })
          assert.strictEqual(log.state().firstSeq, 1)
          assert.strictEqual(log.state().msgs, 2)
          assert.deepStrictEqual(log.appendBatch([rec("a", "3", 3n)]), [3])
        })
      ))

    it.effect("a closed log refuses every operation with Closed", () =>
      withStore((s) =>
        Effect.gen(function*() {
          const log = yield* Effect.scoped(s.open("S"))
          assert.strictEqual(reasonOf(() => log.appendBatch([rec("a", "", 1n)])), "Closed")
          assert.strictEqual(reasonOf(() => log.get(1)), "Closed")
          assert.strictEqual(reasonOf(() => log.state()), "Closed")
          const err = yield* Effect.flip(log.sync())
          assert.strictEqual(err.reason._tag, "Closed")
        })
      ))

    it.effect("sequences stop at 2^53 - 1 with SequenceOverflow", () =>
      withLog((log) => {
        assert.deepStrictEqual(log.appendBatch([rec("a", "", 1n)]), [StoreError.MAX_SEQ])
        assert.strictEqual(reasonOf(() => log.appendBatch([rec("a", "", 2n)])), "SequenceOverflow")
        assert.strictEqual(log.state().msgs, 1)
      }, { firstSeq: StoreError.MAX_SEQ }))

    it.effect("one writer per stream: a second open fails with InUse", () =>
      withStore((s) =>
        Effect.gen(function*() {
          yield* s.open("S")
          const err = yield* Effect.flip(s.open("S"))
          assert.strictEqual(err.reason._tag, "InUse")
        })
      ))

    it.effect("names and destroy", () =>
      withStore((s) =>
        Effect.gen(function*() {
          yield* Effect.scoped(Effect.map(s.open("B"), (l) => l.appendBatch([rec("x", "1", 1n)])))
          yield* Effect.scoped(s.open("A.b c"))
          assert.deepStrictEqual(yield* s.names, ["A.b c", "B"])
          yield* s.destroy("B")
          assert.deepStrictEqual(yield* s.names, ["A.b c"])
          const err = yield* Effect.flip(s.destroy("B"))
          assert.strictEqual(err.reason._tag, "NotFound")
          const log = yield* s.open("B")
          assert.strictEqual(log.state().msgs, 0)
        })
      ))

    it.effect("sync resolves after appends", () =>
      withLog((log) => log).pipe(
        Effect.flatMap((log) =>
          Effect.gen(function*() {
            log.appendBatch([rec("a", "x", 1n)])
            yield* Effect.all([log.sync(), log.sync(), log.sync()], { concurrency: "unbounded" })
            assert.strictEqual(log.state().msgs, 1)
          })
        )
      ))
  })
}
