/**
 * Segment files and the two small files beside them in a stream directory:
 *
 *   <stream dir>/
 *     0000000000000001.seg   segments, named by base sequence (16 digits hold every sequence up to 2^53)
 *     manifest.json          {"version":1,"segments":[1, 5123, ...]}: which segments must exist. Written to a
 *                            temp file and renamed, so it is always whole. It lets recovery tell a segment we
 *                            removed (all its messages gone) from one that went missing.
 *     floor                  u64 sequence + u32 CRC-32 + u32 0: every message below it was removed (purge, limits).
 *                            One in-place 16-byte write per removal batch instead of one mark per message.
 *
 * Node's synchronous fs calls are used on purpose: the stream actor calls the log from one fiber in batches, a
 * write(2) of a batch takes microseconds, and going through the async FileSystem service per batch would cost
 * more than the write. Only fsync, which can take milliseconds, is asynchronous (see FileStore group commit).
 */
import { Exit, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cipher from "./Cipher.ts"
import { crc32 } from "./Crc32.ts"
import * as Record from "./Record.ts"
import * as StoreError from "./StoreError.ts"

const TWO32 = 4294967296

export class Segment {
  private static nextId = 1
  /** Process-unique id (cache key); base sequences can repeat across streams. */
  readonly id = Segment.nextId++
  /** Bytes of the file that hold complete records (header included). */
  size: number
  records = 0
  live = 0
  lastSeq: number

  readonly base: number
  readonly path: string
  fd: number
  /** The file's key when it is encrypted (Cipher.ts), else undefined. */
  readonly key: Cipher.FileKey | undefined
  /** Offset of the first record: the segment header, after the encryption header when there is one. */
  readonly dataStart: number
  /** Bytes a record takes in this file beyond its plain framing (the sealed body's nonce and tag). */
  readonly overhead: number
  /** Record format version (Record.ts): 2 may hold compressed records. */
  readonly version: 1 | 2

  constructor(base: number, path: string, fd: number, key?: Cipher.FileKey, version: 1 | 2 = 1) {
    this.base = base
    this.path = path
    this.fd = fd
    this.version = version
    this.lastSeq = base - 1
    this.key = key
    this.dataStart = key === undefined ? Record.SEGMENT_HEADER : Cipher.FILE_HEADER + Record.SEGMENT_HEADER
    this.overhead = key === undefined ? 0 : Cipher.OVERHEAD
    this.size = this.dataStart
  }
}

export const segmentFileName = (base: number): string => `${String(base).padStart(16, "0")}.seg`

export const parseSegmentName = (name: string): number | undefined => {
  const m = /^(\d{16})\.seg$/.exec(name)
  if (m === null) return undefined
  const n = Number(m[1])
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

export const writeFull = (file: string, fd: number, buf: Uint8Array, len: number, pos: number): void => {
  let done = 0
  while (done < len) {
    const n = StoreError.ioSync(file, "write", () => fs.writeSync(fd, buf, done, len - done, pos + done))
    done += n
  }
}

/** Reads up to `len` bytes at `pos`; returns how many were read (short only at end of file). */
export const readUpTo = (file: string, fd: number, buf: Uint8Array, at: number, len: number, pos: number): number => {
  let done = 0
  while (done < len) {
    const n = StoreError.ioSync(file, "read", () => fs.readSync(fd, buf, at + done, len - done, pos + done))
    if (n === 0) break
    done += n
  }
  return done
}

/**
 * The header bytes of a new segment file for `base`: the segment header, preceded by a fresh encryption header
 * when the store is encrypted.
 */
export const newSegmentHeader = (
  base: number,
  cipher: Cipher.StoreCipher | undefined,
  version: 1 | 2 = 1
): { readonly header: Buffer; readonly key: Cipher.FileKey | undefined } => {
  const seg = Buffer.alloc(Record.SEGMENT_HEADER)
  Record.writeSegmentHeader(seg, base, version)
  if (cipher === undefined) return { header: seg, key: undefined }
  const enc = cipher.newFile(Cipher.Purpose.Segment)
  return { header: Buffer.concat([enc.header, seg]), key: enc.key }
}

/** Creates (or resets a leftover of) the segment file for `base` and writes its header. */
export const createSegment = (
  dir: string,
  base: number,
  cipher?: Cipher.StoreCipher,
  version: 1 | 2 = 1
): Segment => {
  const file = path.join(dir, segmentFileName(base))
  const fd = StoreError.ioSync(file, "open", () => fs.openSync(file, "w+"))
  const { header, key } = newSegmentHeader(base, cipher, version)
  try {
    writeFull(file, fd, header, header.length, 0)
  } catch (e) {
    // Disk full: nothing refers to the file yet; the next rotation creates it again ("w+" truncates).
    fs.closeSync(fd)
    fs.rmSync(file, { force: true })
    throw e
  }
  return new Segment(base, file, fd, key, version)
}

export interface Manifest {
  readonly segments: ReadonlyArray<number>
}

export const MANIFEST = "manifest.json"
export const FLOOR = "floor"

/** Reads the manifest: undefined if absent, "corrupt" if unreadable (the caller logs and rebuilds). */
export const readManifest = (dir: string): Manifest | undefined | "corrupt" => {
  const file = path.join(dir, MANIFEST)
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return undefined
    throw StoreError.io(file, "read", e)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return "corrupt"
  }
  const decoded = decodeManifest(parsed)
  return Exit.isSuccess(decoded) ? { segments: decoded.value.segments } : "corrupt"
}

/** The manifest as written by `writeManifest`; anything else (other version, unknown field) is corrupt. */
const ManifestDoc = Schema.Struct({
  version: Schema.Literal(1),
  segments: Schema.Array(
    Schema.Number.check(Schema.isInt(), Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(Number.MAX_SAFE_INTEGER))
  )
})
const decodeManifest = Schema.decodeUnknownExit(ManifestDoc, { onExcessProperty: "error" })

export const writeManifest = (dir: string, segments: ReadonlyArray<number>, durable: boolean): void => {
  const file = path.join(dir, MANIFEST)
  const tmp = file + ".tmp"
  const body = JSON.stringify({ version: 1, segments })
  StoreError.ioSync(tmp, "write", () => {
    const fd = fs.openSync(tmp, "w")
    try {
      fs.writeSync(fd, body)
      if (durable) fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  })
  StoreError.ioSync(file, "rename", () => fs.renameSync(tmp, file))
  if (durable) syncDir(dir)
}

/** fsync of a directory makes created/renamed/removed entries durable (POSIX); Windows cannot, so skip there. */
export const syncDir = (dir: string): void => {
  if (process.platform === "win32") return
  StoreError.ioSync(dir, "fsync", () => {
    const fd = fs.openSync(dir, "r")
    try {
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  })
}

export const encodeFloor = (seq: number): Buffer => {
  const b = Buffer.alloc(16)
  b.writeUInt32LE(seq % TWO32, 0)
  b.writeUInt32LE(Math.floor(seq / TWO32), 4)
  b.writeUInt32LE(crc32(b, 0, 8), 8)
  return b
}

/** The floor sequence, 0 when the file is absent, "corrupt" when its checksum fails. */
export const readFloor = (dir: string): number | "corrupt" => {
  const file = path.join(dir, FLOOR)
  let b: Buffer
  try {
    b = fs.readFileSync(file)
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return 0
    throw StoreError.io(file, "read", e)
  }
  if (b.length !== 16 || crc32(b, 0, 8) !== b.readUInt32LE(8)) return "corrupt"
  return b.readUInt32LE(0) + b.readUInt32LE(4) * TWO32
}

/** Why a segment scan stopped before the end of the file. */
export interface ScanStop {
  readonly offset: number
  readonly reason: string
}

const SCAN_CHUNK = 4 * 1024 * 1024

/**
 * Walks the records of a segment from the header on, calling `visit` for each valid one with a buffer holding it.
 * Stops at the first torn or corrupt record, or at a sequence that does not increase past `afterSeq`.
 */
export const scanSegment = (
  seg: Segment,
  fileSize: number,
  verifyBody: boolean,
  afterSeq: number,
  visit: (seq: number, off: number, len: number, live: boolean, buf: Buffer, at: number) => void
): ScanStop | undefined => {
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(fileSize, 64)))
  let bufPos = 0 // file offset of buf[0]
  let bufLen = 0
  let off = seg.dataStart
  let prev = afterSeq
  const refill = (want: number) => {
    if (want > buf.length) buf = Buffer.allocUnsafe(want)
    bufPos = off
    bufLen = readUpTo(seg.path, seg.fd, buf, 0, Math.min(buf.length, fileSize - off), off)
  }
  while (off < fileSize) {
    const remaining = fileSize - off
    if (bufLen - (off - bufPos) < Math.min(Record.HEADER, remaining)) refill(Record.HEADER)
    if (bufLen - (off - bufPos) >= Record.HEADER) {
      // Make the whole record resident when the file holds it (a garbage length fails the header CRC next).
      const len = buf.readUInt32LE(off - bufPos + 4)
      if (len > bufLen - (off - bufPos) && len <= remaining && len >= Record.HEADER) refill(len)
    }
    const at = off - bufPos
    const c = Record.check(buf, at, Math.min(bufLen - at, remaining), verifyBody)
    if (c === Record.Check.Torn) return { offset: off, reason: "torn record at end of file" }
    if (c === Record.Check.Corrupt) return { offset: off, reason: "checksum mismatch" }
    const { len, seq } = Record.checked
    if (seq <= prev || seq < seg.base) return { offset: off, reason: `sequence ${seq} out of order after ${prev}` }
    visit(seq, off, len, c === Record.Check.Live, buf, at)
    prev = seq
    off += len
  }
  return undefined
}
