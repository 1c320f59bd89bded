/**
 * Hostile store directories: every case gives a typed StoreError (or opens with a note), never a crash and never
 * silent loss of records that are still readable. Also a real kill -9 of a writing process.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { dirName, FileLog } from "../../src/store/FileStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import * as StoreError from "../../src/store/StoreError.ts"
import { StreamStore } from "../../src/store/StreamStore.ts"
import { tempDir } from "./support.ts"

const rec = (i: number): AppendRecord => ({
  subject: `s.${i % 3}`,
  hdr: undefined,
  data: new Uint8Array(20).fill(i),
  ts: BigInt(i)
})

/** A stream directory holding `n` messages across several segments, closed cleanly. */
const prepared = (n: number) => {
  const root = tempDir()
  const dir = path.join(root, dirName("S"))
  const log = FileLog.openSync(dir, "S", { maxSegmentBytes: 300 }, "write")
  log.appendBatch(Array.from({ length: n }, (_, i) => rec(i + 1)))
  Effect.runSync(log.close())
  return { root, dir, segs: fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort() }
}

const openVia = (root: string) =>
  Effect.gen(function*() {
    const store = yield* StreamStore
    return yield* store.open("S", { maxSegmentBytes: 300 })
  }).pipe(Effect.provide(StreamStore.layerFile({ dir: root })))

describe("bad store input", () => {
  it.effect("a segment file with a foreign header is a typed Corrupt error", () =>
    Effect.gen(function*() {
      const { root, dir, segs } = prepared(20)
      fs.writeFileSync(path.join(dir, segs[0]!), "this is not a segment file at all")
      const err = yield* Effect.flip(openVia(root))
      assert.strictEqual(err.reason._tag, "Corrupt")
      assert.include(err.message, segs[0]!)
    }))

  it.effect("a missing segment listed in the manifest is a typed Corrupt error", () =>
    Effect.gen(function*() {
      const { root, dir, segs } = prepared(20)
      assert.isAbove(segs.length, 2)
      fs.rmSync(path.join(dir, segs[1]!))
      const err = yield* Effect.flip(openVia(root))
      assert.strictEqual(err.reason._tag, "Corrupt")
      assert.include(err.message, "missing")
    }))

  it.effect("garbage manifest, floor and unknown files: opens with every record and says why", () =>
    Effect.gen(function*() {
      const { dir } = prepared(20)
      fs.writeFileSync(path.join(dir, "manifest.json"), "{\"version\":1,\"segm")
      fs.writeFileSync(path.join(dir, "floor"), "garbage")
      fs.writeFileSync(path.join(dir, "notes.txt"), "hello")
      const log = FileLog.openSync(dir, "S", { maxSegmentBytes: 300 }, "write")
      assert.strictEqual(log.state().msgs, 20)
      assert.strictEqual(log.get(20)!.data[0], 20)
      assert.deepStrictEqual(log.report.notes.length, 3)
      assert.isTrue(log.report.notes.some((n) => n.includes("manifest.json is unreadable")))
      assert.isTrue(log.report.notes.some((n) => n.includes("floor checksum failed")))
      assert.isTrue(log.report.notes.some((n) => n.includes("notes.txt")))
      yield* log.close()
      assert.isTrue(fs.existsSync(path.join(dir, "notes.txt")))
    }))

  it.effect("a stream path that is a regular file is a typed Io error with the OS code", () =>
    Effect.gen(function*() {
      const root = tempDir()
      fs.writeFileSync(path.join(root, "S"), "not a directory")
      const err = yield* Effect.flip(openVia(root))
      assert.strictEqual(err.reason._tag, "Io")
      if (err.reason._tag === "Io") assert.include(["EEXIST", "ENOTDIR"], err.reason.code)
    }))

  it.effect("an unopenable segment (a directory in its place) is a typed Io error", () =>
    Effect.gen(function*() {
      const { root, dir, segs } = prepared(20)
      fs.rmSync(path.join(dir, segs[0]!))
      fs.mkdirSync(path.join(dir, segs[0]!))
      const err = yield* Effect.flip(openVia(root))
      assert.strictEqual(err.reason._tag, "Io")
      if (err.reason._tag === "Io") assert.strictEqual(err.reason.code, "EISDIR")
    }))

  it.effect("disk full (ENOSPC) while writing is a typed Io error", () =>
    Effect.gen(function*() {
      const root = tempDir()
      const log = yield* openVia(root)
      // Records are 63 bytes: the fifth rolls to segment 5, which /dev/full (ENOSPC on every write) stands in for.
      fs.symlinkSync("/dev/full", path.join(root, dirName("S"), "0000000000000005.seg"))
      const err = yield* StoreError.attempt(() => log.appendBatch(Array.from({ length: 5 }, (_, i) => rec(i + 1))))
        .pipe(
          Effect.flip
        )
      assert.strictEqual(err.reason._tag, "Io")
      if (err.reason._tag === "Io") assert.strictEqual(err.reason.code, "ENOSPC")
      assert.strictEqual(log.state().msgs, 4)
      assert.strictEqual(log.get(4)!.data[0], 4)
    }))

  it("kill -9 of a writing process loses no acknowledged message", async () => {
    const dir = tempDir()
    // Run node itself (not the tsx wrapper, which forks) so SIGKILL hits the process that writes.
    const child = spawn(process.execPath, ["--import", "tsx", path.resolve("spec/store/storeWriterChild.ts"), dir], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let acked = 0
    let buf = ""
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject)
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString()
        const lines = buf.split("\n")
        buf = lines.pop()!
        for (const l of lines) acked = Number(l.slice(4))
        if (acked >= 20_000) {
          child.kill("SIGKILL")
          resolve()
        }
      })
    })
    await new Promise((r) => child.on("exit", r))
    const log = FileLog.openSync(dir, "K", { maxSegmentBytes: 64 * 1024 }, "write")
    const st = log.state()
    assert.isAtLeast(st.lastSeq, acked)
    assert.strictEqual(st.msgs, st.lastSeq)
    for (let s = 1; s <= acked; s += 97) {
      const m = log.get(s)!
      assert.strictEqual(m.data.length, 50 + (s % 100))
      assert.strictEqual(m.data[0], s & 255)
      assert.strictEqual(m.subject, `k.${s % 7}`)
    }
    await Effect.runPromise(log.close())
  })
})
