/**
 * `compression: "s2"` in the file layer (Compression.ts, Record.ts): compressible records take less disk and
 * count their uncompressed bytes; headers and payload come back whole; a store written without compression
 * reads on after turning it on (and a compressed one after turning it off); compressed records live only in
 * segments of the second format, and a segment of a format this code does not know is refused with the file
 * named and nothing changed (which is what the previous release, knowing only the first format, does with a
 * compressed store). The random-command equivalence with the memory layer is in Model.spec.ts.
 */
import { Effect } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { FileLog } from "../../src/store/FileStore.ts"
import { MemoryLog, MemoryPool } from "../../src/store/MemoryStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import { tempDir } from "./support.ts"

const open = (dir: string, compress: boolean) => FileLog.openSync(dir, "Z", { compress }, "write")

/** A JSON-like payload: repetitive, as real messages are. */
const payload = (i: number) =>
  new TextEncoder().encode(JSON.stringify({ order: i, status: "shipped", items: Array(8).fill({ sku: "A-1", n: 1 }) }))
const hdr = new TextEncoder().encode("NATS/1.0\r\nX-Trace: abcabcabcabcabcabcabcabcabc\r\n\r\n")

const records = (from: number, n: number, withHdr = false): Array<AppendRecord> =>
  Array.from({ length: n }, (_, i) => ({
    subject: `orders.${(from + i) % 3}`,
    hdr: withHdr ? hdr : undefined,
    data: payload(from + i),
    ts: BigInt(from + i)
  }))

const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()
const magics = (dir: string) =>
  segmentFiles(dir).map((f) => fs.readFileSync(path.join(dir, f)).subarray(0, 8).toString("latin1"))
const diskBytes = (dir: string) => segmentFiles(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0)

describe("compressed file store", () => {
  it("takes less disk, counts uncompressed bytes as the memory layer does, and reads back whole", () => {
    const plainDir = tempDir()
    const zDir = tempDir()
    const plain = open(plainDir, false)
    const z = open(zDir, true)
    const mem = new MemoryLog("Z", {}, new MemoryPool(Infinity)).acquire()
    for (const log of [plain, z, mem]) log.appendBatch([...records(1, 500), ...records(501, 500, true)])
    Effect.runSync(plain.close())
    Effect.runSync(z.close())
    expect(magics(zDir)).toEqual(["EJSLOG02"])
    expect(magics(plainDir)).toEqual(["EJSLOG01"])
    // The payload repeats itself: each record compressed alone still saves over 40% here.
    expect(diskBytes(zDir)).toBeLessThan(diskBytes(plainDir) * 0.6)
    const again = open(zDir, true)
    expect(again.state()).toEqual(mem.state())
    for (const seq of [1, 250, 500, 501, 1000]) {
      const got = again.get(seq)!
      const want = mem.get(seq)!
      expect([got.subject, Buffer.from(got.data).toString(), got.hdr && Buffer.from(got.hdr).toString()]).toEqual([
        want.subject,
        Buffer.from(want.data).toString(),
        want.hdr && Buffer.from(want.hdr).toString()
      ])
    }
    Effect.runSync(again.close())
  })

  it("an uncompressed store reads on with compression turned on, and a compressed one with it off", () => {
    const dir = tempDir()
    const a = open(dir, false)
    a.appendBatch(records(1, 10))
    Effect.runSync(a.close())
    const b = open(dir, true)
    // The first-format segment is kept (it already holds records); new records go to a second-format one.
    expect(magics(dir)).toEqual(["EJSLOG01", "EJSLOG02"])
    b.appendBatch(records(11, 10))
    Effect.runSync(b.close())
    const c = open(dir, false)
    expect(c.state().msgs).toBe(20)
    for (let seq = 1; seq <= 20; seq++) expect(Buffer.from(c.get(seq)!.data)).toEqual(Buffer.from(payload(seq)))
    c.appendBatch(records(21, 1))
    expect(c.report.truncatedBytes).toBe(0)
    Effect.runSync(c.close())
  })

  it("setCompression switches while open: later records are compressed, earlier ones stay readable", () => {
    const dir = tempDir()
    const log = open(dir, false)
    log.appendBatch(records(1, 5))
    log.setCompression(true)
    log.appendBatch(records(6, 5))
    log.setCompression(false)
    log.appendBatch(records(11, 5))
    Effect.runSync(log.close())
    expect(magics(dir)).toEqual(["EJSLOG01", "EJSLOG02"])
    const again = open(dir, false)
    for (let seq = 1; seq <= 15; seq++) expect(Buffer.from(again.get(seq)!.data)).toEqual(Buffer.from(payload(seq)))
    Effect.runSync(again.close())
  })

  it("a segment of a format this code does not know is refused by name, and no file changes", () => {
    const dir = tempDir()
    const log = open(dir, true)
    log.appendBatch(records(1, 3))
    Effect.runSync(log.close())
    const [seg] = segmentFiles(dir)
    const file = path.join(dir, seg!)
    const bytes = fs.readFileSync(file)
    // What a later format would look like to this code; EJSLOG02 looks like this to the previous release.
    const future = Buffer.from(bytes)
    future.write("EJSLOG03", 0, "latin1")
    fs.writeFileSync(file, future)
    const before = fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString("hex")])
    expect(() => open(dir, true)).toThrow(new RegExp(`${seg}.*not a segment file of this store`))
    expect(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString("hex")])).toEqual(before)
  })

  it("incompressible payloads stay plain records (compression never grows a stream)", () => {
    const plainDir = tempDir()
    const zDir = tempDir()
    // Random bytes (what encrypted or already compressed payloads look like) never shrink.
    const noise = (_i: number) => new Uint8Array(crypto.randomBytes(300))
    for (const [dir, compress] of [[plainDir, false], [zDir, true]] as const) {
      const log = open(dir, compress)
      log.appendBatch(Array.from({ length: 50 }, (_, i) => ({ subject: "n", hdr: undefined, data: noise(i), ts: 1n })))
      Effect.runSync(log.close())
    }
    expect(diskBytes(zDir)).toBe(diskBytes(plainDir))
  })
})
