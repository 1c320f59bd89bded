/**
 * File-layer specifics the contract cannot see: segment files come and go, erase really overwrites, group commit
 * shares fsyncs, the interval policy syncs in the background, descriptors stay bounded.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { dirName, FileLog } from "../../src/store/FileStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import { StreamStore } from "../../src/store/StreamStore.ts"
import { tempDir } from "./support.ts"

const rec = (i: number, fill = i & 255): AppendRecord => ({
  subject: "seg.test",
  hdr: undefined,
  data: new Uint8Array(60).fill(fill),
  ts: BigInt(i)
})
const segFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()

describe("file layer", () => {
  it.effect("rolls segments at the size bound and removes them once every message is gone", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const log = FileLog.openSync(dir, "F", { maxSegmentBytes: 16 + 3 * 108 }, "write") // 3 records of 108 B each
      log.appendBatch(Array.from({ length: 10 }, (_, i) => rec(i + 1)))
      log.flush()
      assert.deepStrictEqual(segFiles(dir), [
        "0000000000000001.seg",
        "0000000000000004.seg",
        "0000000000000007.seg",
        "0000000000000010.seg"
      ])
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")).segments, [
        1,
        4,
        7,
        10
      ])
      log.remove(5)
      log.remove(4)
      log.remove(6)
      assert.deepStrictEqual(segFiles(dir), ["0000000000000001.seg", "0000000000000007.seg", "0000000000000010.seg"])
      log.purge({ seq: 8 })
      assert.deepStrictEqual(segFiles(dir), ["0000000000000007.seg", "0000000000000010.seg"])
      yield* log.close()
      const again = FileLog.openSync(dir, "F", { maxSegmentBytes: 16 + 3 * 108 }, "write")
      assert.strictEqual(again.state().firstSeq, 8)
      assert.strictEqual(again.state().msgs, 3)
      assert.deepStrictEqual(again.report.notes, [])
      yield* again.close()
    }))

  it.effect("erase overwrites the payload on disk; plain delete only marks it", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const log = FileLog.openSync(dir, "F", {}, "write")
      log.appendBatch([rec(1, 0xab), rec(2, 0xcd), rec(3, 0xef)])
      log.remove(1, { erase: true })
      log.remove(2)
      log.flush()
      const bytes = fs.readFileSync(path.join(dir, segFiles(dir)[0]!))
      const count = (b: number) => bytes.filter((x) => x === b).length
      assert.strictEqual(count(0xab), 0)
      assert.strictEqual(count(0xcd), 60)
      assert.strictEqual(count(0xef), 60)
      yield* log.close()
    }))

  it.live("group commit: 200 concurrent syncs share a handful of fsyncs", () =>
    Effect.gen(function*() {
      const log = FileLog.openSync(tempDir(), "F", {}, "always")
      const syncs = Array.from({ length: 200 }, (_, i) =>
        Effect.suspend(() => {
          log.appendBatch([rec(i)])
          return log.sync()
        }))
      yield* Effect.all(syncs, { concurrency: "unbounded" })
      assert.strictEqual(log.state().msgs, 200)
      assert.isAtMost(log.fsyncRounds, 4)
      assert.isAtLeast(log.fsyncRounds, 1)
      yield* log.close()
    }))

  it.live("the interval policy fsyncs in the background", () =>
    Effect.gen(function*() {
      const root = tempDir()
      const log = yield* StreamStore.use((s) => s.open("I")).pipe(
        Effect.provide(StreamStore.layerFile({ dir: root, sync: { intervalMs: 10 } }))
      )
      log.appendBatch([rec(1)])
      yield* log.sync()
      yield* Effect.sleep(80)
      assert.isAtLeast((log as FileLog).fsyncRounds, 1)
      assert.isTrue(fs.existsSync(path.join(root, dirName("I"), "0000000000000001.seg")))
    }))

  it.effect("hundreds of segments stay readable with a bounded number of open files", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const cfg = { maxSegmentBytes: 200 }
      const log = FileLog.openSync(dir, "F", cfg, "write")
      log.appendBatch(Array.from({ length: 600 }, (_, i) => rec(i + 1)))
      log.flush()
      assert.strictEqual(segFiles(dir).length, 600)
      const fds = () => fs.readdirSync("/proc/self/fd").length
      const before = fds()
      for (let s = 600; s >= 1; s -= 7) assert.strictEqual(log.get(s)!.data[0], s & 255)
      assert.isAtMost(fds() - before, 17)
      for (let s = 1; s <= 600; s += 3) log.remove(s)
      yield* log.close()
      const again = FileLog.openSync(dir, "F", cfg, "write")
      assert.strictEqual(again.state().msgs, 400)
      assert.strictEqual(again.get(2)!.data[0], 2)
      assert.strictEqual(again.get(4), undefined)
      yield* again.close()
    }))

  it.effect("a crash between manifest write and segment unlink leaves a file recovery removes", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const cfg = { maxSegmentBytes: 16 + 3 * 108 }
      const log = FileLog.openSync(dir, "F", cfg, "write")
      log.appendBatch(Array.from({ length: 9 }, (_, i) => rec(i + 1)))
      log.flush()
      const stale = fs.readFileSync(path.join(dir, "0000000000000004.seg"))
      log.purge({ seq: 7 })
      yield* log.close()
      fs.writeFileSync(path.join(dir, "0000000000000004.seg"), stale)
      const again = FileLog.openSync(dir, "F", cfg, "write")
      assert.deepStrictEqual(again.report.notes, ["removed leftover segment 0000000000000004.seg"])
      assert.strictEqual(again.state().firstSeq, 7)
      assert.strictEqual(again.state().msgs, 3)
      yield* again.close()
    }))
})

describe("memory layer", () => {
  it.effect("the byte cap refuses an append with LimitExceeded and stores nothing", () =>
    Effect.gen(function*() {
      const store = yield* StreamStore
      const a = yield* store.open("A")
      const b = yield* store.open("B")
      a.appendBatch([rec(1)]) // 8 + 60 + 16 = 84 bytes
      let tag = "none"
      try {
        b.appendBatch([rec(2), rec(3)])
      } catch (e) {
        tag = (e as { reason: { _tag: string } }).reason._tag
      }
      assert.strictEqual(tag, "LimitExceeded")
      assert.strictEqual(b.state().msgs, 0)
      a.purge()
      assert.deepStrictEqual(b.appendBatch([rec(2), rec(3)]), [1, 2])
    }).pipe(Effect.provide(StreamStore.layerMemoryWith({ maxBytes: 200 }))))
})
