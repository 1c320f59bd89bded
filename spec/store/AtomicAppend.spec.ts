/**
 * `appendBatch(records, { atomic: true })` in the file layer (an ADR-50 atomic batch, Record.ts): after a
 * crash the log holds whole batches only. A "crash" is a copy of the directory after `flush` whose newest
 * segment is cut at a random offset (what a kill -9 during the write leaves); recovery must keep the batches
 * that are whole before the cut and drop the torn one entirely. Small segments make batches meet rotations:
 * a batch never spans two segments. Plain and encrypted stores, with and without compression.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, it } from "vitest"
import { StoreCipher } from "../../src/store/Cipher.ts"
import { FileLog } from "../../src/store/FileStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import { tempDir } from "./support.ts"

/** Batches of 1-12 records of 0-300 bytes; record i of the whole run has ts 1000 + i. */
const batches = fc.array(
  fc.array(fc.record({ subject: fc.constantFrom("a", "b.c"), len: fc.nat(300), hdr: fc.boolean() }), {
    minLength: 1,
    maxLength: 12
  }),
  { minLength: 1, maxLength: 12 }
).map((bs) => {
  let n = 0
  return bs.map((b) =>
    b.map((r): AppendRecord => {
      const i = n++
      return {
        subject: r.subject,
        hdr: r.hdr ? new Uint8Array([78, 58, 32, i & 255]) : undefined,
        data: new Uint8Array(r.len).map((_, j) => (i * 7 + j) & 255),
        ts: BigInt(1_000 + i)
      }
    })
  )
})

const variants = [
  { label: "plain", cipher: undefined, compress: false },
  { label: "compressed", cipher: undefined, compress: true },
  { label: "encrypted", cipher: new StoreCipher("chacha", "batch key"), compress: false }
] as const

const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()

const same = (got: AppendRecord | undefined, want: AppendRecord) =>
  got !== undefined && got.subject === want.subject && got.ts === want.ts &&
  Buffer.compare(got.data, want.data) === 0 &&
  (got.hdr === undefined ? want.hdr === undefined : want.hdr !== undefined && Buffer.compare(got.hdr, want.hdr) === 0)

for (const v of variants) {
  const open = (dir: string) =>
    FileLog.openSync(dir, "B", { maxSegmentBytes: 2048, compress: v.compress }, "write", undefined, v.cipher)

  describe(`atomic appends, ${v.label}`, () => {
    it("a cut anywhere in the newest segment keeps whole batches only, and never splits one across segments", () => {
      fc.assert(
        fc.property(batches, fc.double({ min: 0, max: 1, noNaN: true }), (bs, x) => {
          const dir = tempDir()
          const log = open(dir)
          /** Last sequence of each batch. */
          const ends: Array<number> = []
          for (const b of bs) {
            const seqs = log.appendBatch(b, { atomic: true })
            ends.push(seqs[seqs.length - 1]!)
          }
          log.flush()
          const copy = tempDir()
          for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f))
          Effect.runSync(log.close())
          const segs = segments(copy)
          const bases = segs.map((s) => Number(s.slice(0, 16)))
          // No segment starts inside a batch.
          let first = 1
          for (const end of ends) {
            for (const b of bases) assert.isFalse(b > first && b <= end, `segment ${b} inside batch ${first}..${end}`)
            first = end + 1
          }
          const newest = path.join(copy, segs[segs.length - 1]!)
          const size = fs.statSync(newest).size
          fs.truncateSync(newest, Math.floor(x * size))
          const all = bs.flat()
          const back = open(copy)
          const msgs = back.state().msgs
          // Whole batches: the survivors end at a batch boundary, and include every older segment's batches.
          assert.isTrue(msgs === 0 || ends.includes(msgs), `${msgs} survivors is not a batch boundary (${ends})`)
          assert.isAtLeast(msgs, bases[bases.length - 1]! - 1)
          for (let s = 1; s <= msgs; s++) assert.isTrue(same(back.get(s), all[s - 1]!), `seq ${s}`)
          assert.strictEqual(back.get(msgs + 1), undefined)
          // The log goes on after the survivors, and a reopen keeps that.
          assert.deepStrictEqual(back.appendBatch(bs[0]!, { atomic: true })[0], msgs + 1)
          Effect.runSync(back.close())
          const again = open(copy)
          assert.strictEqual(again.state().msgs, msgs + bs[0]!.length)
          Effect.runSync(again.close())
        }),
        { numRuns: 150 }
      )
    })

    it("an uncut log keeps every batch, and plain appends after a batch are not taken for its tail", () => {
      const dir = tempDir()
      const log = open(dir)
      const rec = (i: number): AppendRecord => ({
        subject: "s",
        hdr: undefined,
        data: new Uint8Array(40),
        ts: BigInt(i)
      })
      log.appendBatch([rec(1), rec(2), rec(3)], { atomic: true })
      log.appendBatch([rec(4)])
      log.appendBatch([rec(5), rec(6)], { atomic: true })
      Effect.runSync(log.close())
      const back = open(dir)
      assert.strictEqual(back.state().msgs, 6)
      assert.strictEqual(back.report.truncatedBytes, 0)
      Effect.runSync(back.close())
    })
  })
}
