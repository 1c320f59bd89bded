/**
 * The subjects of an encrypted segment's records, kept beside it (`<base>.subjects`) so that reopening a stream
 * does not decrypt every record to rebuild the subject index: `node:crypto` costs microseconds per cipher object,
 * which for a million small records is seconds. Purely an accelerator: written when a segment is sealed and when
 * the log closes, never fsynced, and any file that is missing, stale or damaged is ignored (recovery then
 * decrypts those records' subjects as before).
 *
 * File: the encryption header (purpose SubjectIndex), then one sealed item holding
 *   u32 count | count x (u64 seq | 12-byte record nonce | u16 subject length | subject latin1)
 * An entry is used only when the record at that sequence carries the same nonce, so a record rewritten after a
 * truncation (same sequence, new random nonce) is never given an old subject.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cipher from "./Cipher.ts"
import * as Record from "./Record.ts"

const TWO32 = 4294967296
const NO_AAD = Buffer.alloc(0)

export const fileName = (base: number): string => `${String(base).padStart(16, "0")}.subjects`

export const isFileName = (name: string): boolean => /^\d{16}\.subjects$/.test(name)

export interface Entry {
  readonly seq: number
  /** The record's nonce (its first 12 body bytes in the segment). */
  readonly nonce: Buffer
  readonly subject: string
}

/** Writes the entries for the segment `base` (best effort: a failure only costs a slower reopen). */
export const write = (dir: string, base: number, entries: ReadonlyArray<Entry>, cipher: Cipher.StoreCipher): void => {
  let size = 4
  for (const e of entries) size += 8 + Cipher.NONCE + 2 + e.subject.length
  const body = Buffer.allocUnsafe(size)
  body.writeUInt32LE(entries.length, 0)
  let p = 4
  for (const e of entries) {
    body.writeUInt32LE(e.seq % TWO32, p)
    body.writeUInt32LE(Math.floor(e.seq / TWO32), p + 4)
    e.nonce.copy(body, p + 8)
    body.writeUInt16LE(e.subject.length, p + 20)
    p += 22 + body.write(e.subject, p + 22, "latin1")
  }
  const { header, key } = cipher.newFile(Cipher.Purpose.SubjectIndex)
  const file = path.join(dir, fileName(base))
  try {
    fs.writeFileSync(`${file}.tmp`, Buffer.concat([header, key.seal(body, NO_AAD)]))
    fs.renameSync(`${file}.tmp`, file)
  } catch {
    fs.rmSync(`${file}.tmp`, { force: true })
  }
}

/**
 * What was saved for one segment: the decrypted entries with their sequences and offsets, read with a cursor
 * (recovery visits records in sequence order), so a million entries cost no per-entry objects.
 */
export class Saved {
  private i = 0
  readonly body: Buffer
  readonly seqs: Float64Array
  readonly offs: Int32Array

  constructor(body: Buffer, seqs: Float64Array, offs: Int32Array) {
    this.body = body
    this.seqs = seqs
    this.offs = offs
  }

  /** The subject of the record at `buf[at]` with sequence `seq` when its nonce matches the saved one. */
  subjectOf(seq: number, buf: Buffer, at: number): string | undefined {
    const n = this.seqs.length
    while (this.i < n && this.seqs[this.i]! < seq) this.i++
    if (this.i >= n || this.seqs[this.i] !== seq) return undefined
    const p = this.offs[this.i]!
    const b = this.body
    if (b.compare(buf, at + Record.HEADER, at + Record.HEADER + Cipher.NONCE, p + 8, p + 20) !== 0) return undefined
    return b.toString("latin1", p + 22, p + 22 + b.readUInt16LE(p + 20))
  }
}

/** The entries saved for segment `base`, or undefined when there is no usable file. */
export const read = (dir: string, base: number, cipher: Cipher.StoreCipher): Saved | undefined => {
  const file = path.join(dir, fileName(base))
  let bytes: Buffer
  try {
    bytes = fs.readFileSync(file)
  } catch {
    return undefined
  }
  let body: Buffer | undefined
  try {
    const key = cipher.openFile(file, bytes.subarray(0, Cipher.FILE_HEADER), Cipher.Purpose.SubjectIndex)
    body = key.open(bytes, Cipher.FILE_HEADER, bytes.length - Cipher.FILE_HEADER, NO_AAD)
  } catch {
    return undefined
  }
  if (body === undefined || body.length < 4) return undefined
  const n = body.readUInt32LE(0)
  const seqs = new Float64Array(n)
  const offs = new Int32Array(n)
  let p = 4
  for (let i = 0; i < n; i++) {
    if (p + 22 > body.length) return undefined
    seqs[i] = body.readUInt32LE(p) + body.readUInt32LE(p + 4) * TWO32
    offs[i] = p
    p += 22 + body.readUInt16LE(p + 20)
    if (p > body.length) return undefined
  }
  return new Saved(body, seqs, offs)
}
