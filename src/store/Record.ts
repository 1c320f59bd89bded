/**
 * Record framing for segment files (pure functions over Node Buffers).
 *
 * Segment file = 16-byte segment header, then records back to back. All integers little-endian.
 *
 *   segment header: 0..8 magic "EJSLOG01" or "EJSLOG02" | 8..16 u64 base sequence (seq of its first record)
 *
 *   record:
 *     0  u32 hcrc    CRC-32 of bytes [4, 32): makes `len` trustworthy before we believe it
 *     4  u32 len     whole record length, header included
 *     8  u16 subjLen
 *    10  u16 flags   bit 0: headers present (an empty header block differs from none); bit 1: compressed;
 *                    bit 2: an atomic batch continues after this record (see below)
 *    12  u32 hdrLen
 *    16  u64 seq
 *    24  i64 ts      nanoseconds since the Unix epoch
 *    32  u32 state   "LIVE" or "DEAD": the only field ever rewritten in place (delete = one 4-byte pwrite)
 *    36  u32 bcrc    CRC-32 of the body [40, len)
 *    40  body        subject (latin1) | headers | payload
 *
 * Why state lives outside both checksums: a delete must not rewrite a checksum (two writes, torn in between).
 * LIVE and DEAD differ in all four bytes and any other value is corruption, so a flipped byte cannot turn one into
 * the other. A DEAD record's body is not checked (an erase overwrites it), but its header still is, so the walk
 * to the next record stays trustworthy. Records inside a segment carry consecutive sequences starting at the base.
 *
 * Encrypted segments (Cipher.ts; the file starts with the 64-byte encryption header, then the segment header)
 * keep this framing; the body is sealed instead: nonce | ciphertext of subject|headers|payload | tag, with the
 * header bytes [4, 32) (length, sizes, flags, sequence, time) as associated data, so a record can be neither
 * altered nor moved to another sequence. `len` counts the OVERHEAD; bcrc covers the sealed body, so recovery
 * finds torn tails without the key doing any work.
 *
 * Compressed records (Compression.ts, `compression: "s2"`): the body is subject | one block holding
 * headers and payload; `hdrLen` is still the headers' uncompressed length, and the payload's follows
 * from the block's declared length. Only segments with the "EJSLOG02" magic hold such records: code
 * that knows "EJSLOG01" alone refuses the whole store as "not a segment file" instead of misreading
 * a compressed record as a corrupt one and truncating the segment there. A store written without
 * compression keeps its "EJSLOG01" segments and reads as before once compression is turned on.
 * Encrypted and compressed: compressed first, then sealed (the subject too, as for any sealed record).
 *
 * Atomic batches (ADR-50, `appendBatch(records, { atomic: true })`): every record of a batch but its last
 * carries flag bit 2, so a batch on disk ends with the first record after a run of flagged ones. A crash
 * can tear a batch only at the tail of the newest segment (a batch never spans segments), and recovery
 * drops a trailing run of flagged records with no unflagged record after it: the batch is all or nothing.
 * The flag sits under the header CRC like the other flags; records are never rewritten (only `state`),
 * so a complete batch stays recognisably complete. Code that predates the flag ignores it.
 */
import type { FileKey } from "./Cipher.ts"
import { NONCE, OVERHEAD as SEALED } from "./Cipher.ts"
import { declaredLength, decompressBody } from "./Compression.ts"
import { crc32 } from "./Crc32.ts"

export const SEGMENT_MAGIC = "EJSLOG01"
/** Segments that may hold compressed records. */
export const SEGMENT_MAGIC_V2 = "EJSLOG02"
export const SEGMENT_HEADER = 16
export const HEADER = 40
export const STATE_OFFSET = 32
export const LIVE = 0x4556494c // "LIVE"
export const DEAD = 0x44414544 // "DEAD"
const FLAG_HDR = 1
const FLAG_S2 = 2
const FLAG_BATCH_OPEN = 4
const TWO32 = 4294967296

export const frameLength = (subjectLen: number, hdrLen: number, dataLen: number): number =>
  HEADER + subjectLen + hdrLen + dataLen

/** The frame of a compressed record (before any encryption overhead). */
export const compressedFrameLength = (subjectLen: number, blockLen: number): number => HEADER + subjectLen + blockLen

/** Bytes a message counts against `max_bytes`: subject + headers + data + 16 (same for every layer). */
export const accountedSize = (subjectLen: number, hdrLen: number, dataLen: number): number =>
  subjectLen + hdrLen + dataLen + 16

/** Accounted size from a stored frame length (the subject/header split does not matter for the sum). */
export const accountedFromFrame = (len: number): number => len - HEADER + 16

export const writeSegmentHeader = (buf: Buffer, baseSeq: number, version: 1 | 2 = 1): void => {
  buf.write(version === 2 ? SEGMENT_MAGIC_V2 : SEGMENT_MAGIC, 0, "latin1")
  buf.writeUInt32LE(baseSeq % TWO32, 8)
  buf.writeUInt32LE(Math.floor(baseSeq / TWO32), 12)
}

/** Base sequence from a segment header, or undefined when the magic is wrong. */
export const readSegmentHeader = (buf: Buffer): number | undefined => {
  if (buf.length < SEGMENT_HEADER) return undefined
  const magic = buf.toString("latin1", 0, 8)
  if (magic !== SEGMENT_MAGIC && magic !== SEGMENT_MAGIC_V2) return undefined
  return buf.readUInt32LE(8) + buf.readUInt32LE(12) * TWO32
}

/** The format version of a segment header read by `readSegmentHeader` (2: may hold compressed records). */
export const segmentVersion = (buf: Buffer): 1 | 2 => buf.toString("latin1", 0, 8) === SEGMENT_MAGIC_V2 ? 2 : 1

/**
 * Encodes one record at `off` (the caller ensured room for `frameLength`, or `compressedFrameLength` when
 * `block` holds the compressed headers and payload). Subjects must be latin1 strings (every char < 256);
 * the protocol layer guarantees that.
 */
export const encode = (
  buf: Buffer,
  off: number,
  seq: number,
  subject: string,
  hdr: Uint8Array | undefined,
  data: Uint8Array,
  ts: bigint,
  key?: FileKey,
  block?: Uint8Array,
  batchOpen = false
): number => {
  const sl = subject.length
  const hl = hdr === undefined ? 0 : hdr.length
  const body = block === undefined ? hl + data.length : block.length
  const len = HEADER + sl + body + (key === undefined ? 0 : SEALED)
  buf.writeUInt32LE(len, off + 4)
  buf.writeUInt16LE(sl, off + 8)
  buf.writeUInt16LE(
    (hdr === undefined ? 0 : FLAG_HDR) | (block === undefined ? 0 : FLAG_S2) | (batchOpen ? FLAG_BATCH_OPEN : 0),
    off + 10
  )
  buf.writeUInt32LE(hl, off + 12)
  buf.writeUInt32LE(seq % TWO32, off + 16)
  buf.writeUInt32LE(Math.floor(seq / TWO32), off + 20)
  buf.writeBigInt64LE(ts, off + 24)
  buf.writeUInt32LE(LIVE, off + 32)
  let p = off + HEADER + (key === undefined ? 0 : NONCE)
  if (sl > 0) p += buf.write(subject, p, sl, "latin1")
  if (block !== undefined) {
    buf.set(block, p)
  } else {
    if (hl > 0) {
      buf.set(hdr!, p)
      p += hl
    }
    buf.set(data, p)
  }
  if (key !== undefined) key.sealInPlace(buf, off + HEADER, sl + body, buf.subarray(off + 4, off + 32))
  buf.writeUInt32LE(crc32(buf, off + HEADER, off + len), off + 36)
  buf.writeUInt32LE(crc32(buf, off + 4, off + 32), off)
  return off + len
}

/** Outcome of checking the bytes at an offset: a valid record (live or dead), a torn tail, or corruption. */
export const Check = { Live: 0, Dead: 1, Torn: 2, Corrupt: 3 } as const
export type Check = (typeof Check)[keyof typeof Check]

/**
 * Checks the record at `off` given `avail` bytes of it in `buf`. `verifyBody` = false trusts the body of live
 * records (used for sealed segments on open; reads always verify). Sets `lastLen`/`lastSeq` on success.
 */
export const check = (buf: Buffer, off: number, avail: number, verifyBody: boolean): Check => {
  if (avail < HEADER) return Check.Torn
  const len = buf.readUInt32LE(off + 4)
  // Recovery truncates at Torn and Corrupt alike; the distinction only makes the log line more precise.
  if (crc32(buf, off + 4, off + 32) !== buf.readUInt32LE(off)) return Check.Corrupt
  const sl = buf.readUInt16LE(off + 8)
  const hl = buf.readUInt32LE(off + 12)
  // A compressed body can be shorter than its headers.
  const compressed = (buf.readUInt16LE(off + 10) & FLAG_S2) !== 0
  if (len < HEADER + sl + (compressed ? 1 : hl)) return Check.Corrupt
  if (len > avail) return Check.Torn
  const state = buf.readUInt32LE(off + STATE_OFFSET)
  checked.len = len
  checked.seq = buf.readUInt32LE(off + 16) + buf.readUInt32LE(off + 20) * TWO32
  if (state === DEAD) return Check.Dead
  if (state !== LIVE) return Check.Corrupt
  if (verifyBody && crc32(buf, off + HEADER, off + len) !== buf.readUInt32LE(off + 36)) return Check.Corrupt
  return Check.Live
}

/** Scratch results of the last successful `check` (avoids allocating a result object per record). */
export const checked = { len: 0, seq: 0 }

export const readTs = (buf: Buffer, off: number): bigint => buf.readBigInt64LE(off + 24)

export const isCompressed = (buf: Buffer, off: number): boolean => (buf.readUInt16LE(off + 10) & FLAG_S2) !== 0

/** A checked record of an atomic batch that continues after it (not the batch's last record). */
export const isBatchOpen = (buf: Buffer, off: number): boolean => (buf.readUInt16LE(off + 10) & FLAG_BATCH_OPEN) !== 0

/**
 * The bytes a checked record counts against `max_bytes` (subject + headers + payload + 16, uncompressed):
 * from the frame, or for a compressed record from its block's declared length (`sealed`: the plaintext
 * start of an encrypted record's block, from `FileKey.peek`). -1 when the block cannot be one.
 */
export const accountedOf = (buf: Buffer, off: number, overhead: number, sealed?: Buffer): number => {
  const len = buf.readUInt32LE(off + 4)
  if (!isCompressed(buf, off)) return accountedFromFrame(len - overhead)
  const sl = buf.readUInt16LE(off + 8)
  const raw = sealed !== undefined ?
    declaredLength(sealed, sl, sealed.length) :
    declaredLength(buf, off + HEADER + sl, off + len)
  return raw < 0 ? -1 : accountedSize(sl, 0, raw)
}
export const readSubject = (buf: Buffer, off: number): string =>
  buf.toString("latin1", off + HEADER, off + HEADER + buf.readUInt16LE(off + 8))

/** The subject of an encrypted record (not authenticated: see `FileKey.peek`). */
export const readSealedSubject = (buf: Buffer, off: number, key: FileKey): string =>
  key.peek(buf, off + HEADER, buf.readUInt16LE(off + 8)).toString("latin1")

/** Decodes an encrypted record checked by `check`, or undefined when it does not authenticate. */
export const decodeSealed = (buf: Buffer, off: number, seq: number, key: FileKey) => {
  const len = buf.readUInt32LE(off + 4)
  const sl = buf.readUInt16LE(off + 8)
  const hasHdr = (buf.readUInt16LE(off + 10) & FLAG_HDR) !== 0
  const hl = buf.readUInt32LE(off + 12)
  const plain = key.open(buf, off + HEADER, len - HEADER, buf.subarray(off + 4, off + 32))
  if (plain === undefined) return undefined
  if ((buf.readUInt16LE(off + 10) & FLAG_S2) !== 0) {
    const body = decompressBody(plain.subarray(sl))
    if (body === undefined || body.length < hl) return undefined
    return {
      seq,
      subject: plain.toString("latin1", 0, sl),
      hdr: hasHdr ? body.subarray(0, hl) : undefined,
      data: body.subarray(hl),
      ts: buf.readBigInt64LE(off + 24)
    }
  }
  return {
    seq,
    subject: plain.toString("latin1", 0, sl),
    hdr: hasHdr ? plain.subarray(sl, sl + hl) : undefined,
    data: plain.subarray(sl + hl),
    ts: buf.readBigInt64LE(off + 24)
  }
}

/**
 * The last decoded subject, as bytes and as the string: a consumer reading a stream mostly meets the same few
 * subjects in a row, and comparing a few bytes in JS is cheaper than decoding (and allocating) the string again.
 */
const lastSubject = { bytes: new Uint8Array(256), len: -1, text: "" }

const subjectAt = (buf: Buffer, at: number, len: number): string => {
  const last = lastSubject
  if (len === last.len) {
    const bytes = last.bytes
    let i = 0
    while (i < len && buf[at + i] === bytes[i]) i++
    if (i === len) return last.text
  }
  const text = buf.toString("latin1", at, at + len)
  if (len <= last.bytes.length) {
    last.bytes.set(buf.subarray(at, at + len))
    last.len = len
    last.text = text
  }
  return text
}

/**
 * Decodes a record checked by `check`; `hdr`/`data` are views into `buf`, not copies (into a fresh buffer
 * for a compressed record). Undefined when a compressed body does not decompress.
 */
export const decode = (buf: Buffer, off: number, seq: number) => {
  const len = buf.readUInt32LE(off + 4)
  const sl = buf.readUInt16LE(off + 8)
  const flags = buf.readUInt16LE(off + 10)
  const hasHdr = (flags & FLAG_HDR) !== 0
  const hl = buf.readUInt32LE(off + 12)
  const b = off + HEADER
  if ((flags & FLAG_S2) !== 0) {
    const body = decompressBody(buf.subarray(b + sl, off + len))
    if (body === undefined || body.length < hl) return undefined
    return {
      seq,
      subject: subjectAt(buf, b, sl),
      hdr: hasHdr ? body.subarray(0, hl) : undefined,
      data: body.subarray(hl),
      ts: buf.readBigInt64LE(off + 24)
    }
  }
  return {
    seq,
    subject: subjectAt(buf, b, sl),
    hdr: hasHdr ? buf.subarray(b + sl, b + sl + hl) : undefined,
    data: buf.subarray(b + sl + hl, off + len),
    ts: buf.readBigInt64LE(off + 24)
  }
}

/** Subject length, for callers that validate before encoding. */
export const MAX_SUBJECT = 0xffff
