/**
 * Crash properties of the file layer. A "crash" is a copy of the stream directory taken after `flush` (what the
 * OS holds after kill -9), then damaged: the newest segment cut at a random offset, or random bytes flipped.
 * Recovery must keep exactly the longest valid prefix, and never serve a byte that was not written.
 *
 * Every property runs on a plain and on an encrypted store (where a segment starts with the 64-byte encryption
 * header and each record carries a nonce and tag): encryption must not change what a crash costs.
 */
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, it } from "vitest"
import { FILE_HEADER, OVERHEAD, StoreCipher } from "../../src/store/Cipher.ts"
import { FileLog } from "../../src/store/FileStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import { HEADER, SEGMENT_HEADER as PLAIN_SEGMENT_HEADER } from "../../src/store/Record.ts"
import { isStoreError } from "../../src/store/StoreError.ts"
import { tempDir } from "./support.ts"

const CONFIG = { maxSegmentBytes: 2048 }

const records = fc.array(
  fc.record({ subject: fc.constantFrom("a", "b.c", "d.e.f"), len: fc.nat(300), hdr: fc.boolean() }),
  { minLength: 1, maxLength: 40 }
).map((rs) =>
  rs.map((r, i): AppendRecord => ({
    subject: r.subject,
    hdr: r.hdr ? new Uint8Array([72, 58, 32, i & 255]) : undefined,
    data: new Uint8Array(r.len).map((_, j) => (i * 7 + j) & 255),
    ts: BigInt(1_000 + i)
  }))
)

const variants = [
  { label: "plain", cipher: undefined, segmentHeader: PLAIN_SEGMENT_HEADER, overhead: 0 },
  {
    label: "encrypted (ChaCha20-Poly1305)",
    cipher: new StoreCipher("chacha", "crash key"),
    segmentHeader: FILE_HEADER + PLAIN_SEGMENT_HEADER,
    overhead: OVERHEAD
  }
] as const

for (const v of variants) {
  const SEGMENT_HEADER = v.segmentHeader
  const open = (dir: string) => FileLog.openSync(dir, "C", CONFIG, "write", undefined, v.cipher)

  /** Writes `recs` (in batches of 5), flushes without closing, and returns a crash copy of the directory. */
  const writeAndCrash = (recs: ReadonlyArray<AppendRecord>): string => {
    const dir = tempDir()
    const log = open(dir)
    for (let i = 0; i < recs.length; i += 5) log.appendBatch(recs.slice(i, i + 5))
    log.flush()
    const copy = tempDir()
    for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f))
    Effect.runSync(log.close())
    return copy
  }

  const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()

  const frame = (r: AppendRecord) => HEADER + v.overhead + r.subject.length + (r.hdr?.length ?? 0) + r.data.length

  /** End offset, within its segment, of every record of the newest segment (whose base is `base`). */
  const newestLayout = (recs: ReadonlyArray<AppendRecord>, base: number) => {
    const ends: Array<number> = []
    let off = SEGMENT_HEADER
    for (let s = base; s <= recs.length; s++) {
      off += frame(recs[s - 1]!)
      ends.push(off)
    }
    return ends
  }

  const same = (
    got: { subject: string; data: Uint8Array; hdr: Uint8Array | undefined; ts: bigint },
    want: AppendRecord
  ) =>
    got.subject === want.subject && got.ts === want.ts && Buffer.compare(got.data, want.data) === 0 &&
    (got.hdr === undefined ? want.hdr === undefined : want.hdr !== undefined && Buffer.compare(got.hdr, want.hdr) === 0)

  describe(`crash recovery, ${v.label}`, () => {
    it("cutting the newest segment anywhere keeps exactly the records before the cut", () => {
      fc.assert(
        fc.property(records, fc.double({ min: 0, max: 1, noNaN: true }), (recs, x) => {
          const dir = writeAndCrash(recs)
          const segs = segments(dir)
          const newest = path.join(dir, segs[segs.length - 1]!)
          const base = Number(segs[segs.length - 1]!.slice(0, 16))
          const size = fs.statSync(newest).size
          const cut = Math.floor(x * size)
          fs.truncateSync(newest, cut)
          const ends = newestLayout(recs, base)
          const survivors = base - 1 + ends.filter((e) => e <= cut).length
          const log = open(dir)
          const st = log.state()
          assert.strictEqual(st.msgs, survivors)
          assert.strictEqual(st.lastSeq, Math.max(survivors, base - 1))
          for (let s = 1; s <= survivors; s++) assert.isTrue(same(log.get(s)!, recs[s - 1]!), `seq ${s}`)
          assert.strictEqual(log.get(survivors + 1), undefined)
          const validEnd = survivors >= base ? ends[survivors - base]! : SEGMENT_HEADER
          assert.strictEqual(log.report.truncatedBytes, cut >= SEGMENT_HEADER ? cut - validEnd : 0)
          // New appends continue right after the survivors and survive another reopen.
          const more = log.appendBatch([recs[0]!])
          assert.deepStrictEqual(more, [Math.max(survivors, base - 1) + 1])
          Effect.runSync(log.close())
          const again = open(dir)
          assert.strictEqual(again.state().msgs, survivors + 1)
          assert.strictEqual(again.report.truncatedBytes, 0)
          Effect.runSync(again.close())
        }),
        { numRuns: 200 }
      )
    })

    it("flipping bytes in the newest segment drops the damaged record and everything after it", () => {
      fc.assert(
        fc.property(
          records,
          fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 255 })), {
            minLength: 1,
            maxLength: 4
          }),
          (recs, flips) => {
            const dir = writeAndCrash(recs)
            const segs = segments(dir)
            const newest = path.join(dir, segs[segs.length - 1]!)
            const base = Number(segs[segs.length - 1]!.slice(0, 16))
            const bytes = fs.readFileSync(newest)
            if (bytes.length <= SEGMENT_HEADER) return
            const original = Buffer.from(bytes)
            for (const [x, mask] of flips) {
              const pos = SEGMENT_HEADER + Math.floor(x * (bytes.length - SEGMENT_HEADER))
              bytes[pos] = bytes[pos]! ^ mask
            }
            // Two flips of one byte can cancel out: the damage starts at the first byte that really changed.
            let first = SEGMENT_HEADER
            while (first < bytes.length && bytes[first] === original[first]) first++
            if (first === bytes.length) return
            fs.writeFileSync(newest, bytes)
            const ends = newestLayout(recs, base)
            const survivors = base - 1 + ends.filter((e) => e <= first).length
            const log = open(dir)
            assert.strictEqual(log.state().msgs, survivors)
            for (let s = 1; s <= survivors; s++) assert.isTrue(same(log.get(s)!, recs[s - 1]!), `seq ${s}`)
            for (let s = survivors + 1; s <= recs.length; s++) assert.strictEqual(log.get(s), undefined)
            assert.isTrue(log.report.notes.some((n) => n.includes("dropped")))
            Effect.runSync(log.close())
          }
        ),
        { numRuns: 200 }
      )
    })

    it("a flipped byte in any segment is never served: reads return the original or fail with Corrupt", () => {
      fc.assert(
        fc.property(
          records,
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 1, max: 255 }),
          (recs, x, mask) => {
            const dir = writeAndCrash(recs)
            const segs = segments(dir)
            const file = path.join(dir, segs[Math.floor(x * segs.length) % segs.length]!)
            const bytes = fs.readFileSync(file)
            if (bytes.length <= SEGMENT_HEADER) return
            const pos = SEGMENT_HEADER + Math.floor(x * 7919) % (bytes.length - SEGMENT_HEADER)
            bytes[pos] = bytes[pos]! ^ mask
            fs.writeFileSync(file, bytes)
            const log = open(dir)
            for (let s = 1; s <= recs.length; s++) {
              try {
                const m = log.get(s)
                if (m !== undefined) assert.isTrue(same(m, recs[s - 1]!), `seq ${s} served damaged data`)
              } catch (e) {
                assert.isTrue(isStoreError(e) && e.reason._tag === "Corrupt", String(e))
              }
            }
            Effect.runSync(log.close())
          }
        ),
        { numRuns: 200 }
      )
    })
  })
}
