/**
 * A failed segment write leaves the file layer exactly at what is stored: under random appends, removals and
 * flushes where some writes fail half-way (a short write, then ENOSPC or EIO), the log always equals a model that
 * forgets the records the failed write carried, the next append gets the next free sequence, and reopening the directory finds
 * the same messages. A full disk (ENOSPC) keeps the log writable; any other write error makes it refuse writes
 * for good, with reads still working.
 *
 * The failures are injected into `fs.writeSync` (`syncBuiltinESMExports` makes the store's `import * as fs` see
 * the replacement); the real disk-full path is covered by spec/jetstream/DiskFull.spec.ts on a tmpfs.
 */
import { Effect } from "effect"
import fc from "fast-check"
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import { afterEach, describe, expect, it } from "vitest"
import { FileLog } from "../../src/store/FileStore.ts"
import { tempDir } from "./support.ts"

const realWriteSync = fs.writeSync
/** When set, the next write is cut short at half and the one after throws this errno. */
let inject: { code: string; stage: "short" | "throw" } | undefined

const failingWriteSync = ((fd: number, buf: Uint8Array, offset?: number, length?: number, position?: number | null) => {
  if (inject !== undefined && typeof length === "number") {
    if (inject.stage === "short" && length > 1) {
      inject.stage = "throw"
      return realWriteSync(fd, buf, offset, Math.floor(length / 2), position)
    }
    const e = Object.assign(new Error(`${inject.code}: injected, write`), { code: inject.code })
    inject = undefined
    throw e
  }
  return realWriteSync(fd, buf, offset, length, position)
}) as typeof fs.writeSync

const install = () => {
  fs.writeSync = failingWriteSync
  syncBuiltinESMExports()
}
afterEach(() => {
  inject = undefined
  fs.writeSync = realWriteSync
  syncBuiltinESMExports()
})

type Cmd =
  | { readonly _tag: "append"; readonly sizes: ReadonlyArray<number> }
  | { readonly _tag: "flush"; readonly fail: "none" | "ENOSPC" | "EIO" }
  | { readonly _tag: "remove"; readonly pick: number }
  | { readonly _tag: "purge" }

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 5 }).map((sizes): Cmd => ({
      _tag: "append",
      sizes
    }))
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Cmd>({ _tag: "flush", fail: "none" }, { _tag: "flush", fail: "ENOSPC" }, {
      _tag: "flush",
      fail: "EIO"
    })
  },
  { weight: 1, arbitrary: fc.nat().map((pick): Cmd => ({ _tag: "remove", pick })) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ _tag: "purge" }) }
)

const body = (seq: number, size: number) => new Uint8Array(size).fill(seq % 251)
/** Stored bodies may be Buffer views: compare bytes. */
const bytes = (
  u: Uint8Array | undefined
) => (u === undefined ? undefined : Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString("hex"))

describe("file layer after a failed write", () => {
  it("always equals the model of what was written, also after reopening", () => {
    install()
    fc.assert(
      fc.property(
        fc.array(cmd, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 2048, max: 20_000 }),
        (cmds, segment) => {
          inject = undefined
          const dir = tempDir()
          const log = FileLog.openSync(dir, "W", { maxSegmentBytes: segment }, "write")
          /** seq -> size of every message the log must hold; `unwritten` = appended since the last write. */
          const stored = new Map<number, number>()
          let unwritten: Array<number> = []
          /** Appended since the last flush, removed ones included (they are still bytes to write). */
          let firstPending = 0
          let last = 0
          let broken = false
          for (const c of cmds) {
            if (c._tag === "append") {
              if (broken) {
                expect(() => log.appendBatch([{ subject: "w", hdr: undefined, data: body(0, 1), ts: 1n }])).toThrow(
                  /injected/
                )
                continue
              }
              const seqs = log.appendBatch(
                c.sizes.map((size, i) => ({
                  subject: `w.${i}`,
                  hdr: undefined,
                  data: body(last + i + 1, size),
                  ts: BigInt(last + i + 1)
                }))
              )
              expect(seqs).toEqual(c.sizes.map((_, i) => last + i + 1))
              if (firstPending === 0) firstPending = last + 1
              c.sizes.forEach((size, i) => {
                stored.set(last + i + 1, size)
                unwritten.push(last + i + 1)
              })
              last += c.sizes.length
            } else if (c._tag === "flush") {
              if (broken) continue
              if (c.fail !== "none") inject = { code: c.fail, stage: "short" }
              let failed = false
              let wrote = false
              try {
                log.flush()
              } catch (e) {
                failed = true
                expect(String(e)).toMatch(new RegExp(c.fail))
              } finally {
                wrote = c.fail !== "none" && inject?.stage !== "short"
                inject = undefined
              }
              // A write that was armed to fail did fail; none happens without pending records (a rotation in
              // a removal may already have written them).
              expect(failed).toBe(wrote)
              if (failed) expect(firstPending).toBeGreaterThan(0)
              inject = undefined
              if (failed) {
                // Rotations and a full pending buffer write earlier records on the way: what the failed write
                // carried is a suffix of the unwritten ones, and exactly that suffix is gone.
                const now = log.state().lastSeq
                expect(now).toBeGreaterThanOrEqual(firstPending - 1)
                // (A purge of the pending records persisted its floor: the log keeps ending there.)
                expect(now).toBeLessThanOrEqual(last)
                for (const s of unwritten) if (s > now) stored.delete(s)
                last = now
                if (c.fail === "EIO") broken = true
              }
              unwritten = []
              firstPending = 0
            } else if (c._tag === "purge") {
              if (broken) continue
              expect(log.purge()).toBe(stored.size)
              stored.clear()
              unwritten = []
            } else if (!broken && stored.size > 0) {
              const seqs = [...stored.keys()]
              const seq = seqs[c.pick % seqs.length]!
              expect(log.remove(seq)).toBe(true)
              stored.delete(seq)
              unwritten = unwritten.filter((s) => s !== seq)
            }
            const st = log.state()
            expect([st.msgs, st.lastSeq]).toEqual([stored.size, last])
            expect(log.failure !== undefined).toBe(broken)
          }
          for (const [seq, size] of stored) expect(bytes(log.get(seq)?.data)).toEqual(bytes(body(seq, size)))
          // Close (writes what is pending unless broken; then those were never acknowledged) and reopen.
          if (broken) { for (const s of unwritten) stored.delete(s) }
          Effect.runSync(log.close())
          const again = FileLog.openSync(dir, "W", { maxSegmentBytes: segment }, "write")
          expect(again.state().msgs).toBe(stored.size)
          for (const [seq, size] of stored) expect(bytes(again.get(seq)?.data)).toEqual(bytes(body(seq, size)))
          Effect.runSync(again.close())
        }
      ),
      { numRuns: 200 }
    )
  }, 60_000)
})
