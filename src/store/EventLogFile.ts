/**
 * File variant of the event log. Two files per log in the layer directory:
 *
 *   <name>.events   frames back to back: u32 length of JSON | u32 CRC-32 of JSON | u64 event number | JSON (UTF-8)
 *   <name>.snap     one frame of the same shape: the event number it covers and the folded state as JSON
 *
 * Taking a snapshot writes `<name>.snap.tmp`, renames it over `<name>.snap`, then truncates the events file.
 * A crash between the rename and the truncate leaves events the snapshot already covers; they are skipped by
 * number on the next open. A torn or corrupt tail of the events file is truncated (reported); a corrupt snapshot
 * is a typed error, because the events it summarised are gone.
 *
 * Encrypted (Cipher.ts): both files start with their own encryption header and each frame's JSON is sealed
 * (nonce | ciphertext | tag, the event number as associated data); length and CRC-32 cover the sealed bytes.
 * A plaintext journal opened with a key is read, then snapshotted at once, which rewrites both files encrypted.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cipher from "./Cipher.ts"
import { crc32 } from "./Crc32.ts"
import type { EventLog, EventLogOptions } from "./EventLog.ts"
import type { SyncPolicy } from "./MessageLog.ts"
import { readUpTo, syncDir, writeFull } from "./Segment.ts"
import * as StoreError from "./StoreError.ts"

const FRAME = 16
const TWO32 = 4294967296
const SCRATCH_KEEP = 1024 * 1024

const numberBytes = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(8)
  b.writeUInt32LE(n % TWO32, 0)
  b.writeUInt32LE(Math.floor(n / TWO32), 4)
  return b
}

const frame = (n: number, json: string, key: Cipher.FileKey | undefined): Buffer => {
  const plain = Buffer.from(json, "utf8")
  const nb = numberBytes(n)
  const body = key === undefined ? plain : key.seal(plain, nb)
  const b = Buffer.allocUnsafe(FRAME + body.length)
  b.writeUInt32LE(body.length, 0)
  b.writeUInt32LE(crc32(body), 4)
  nb.copy(b, 8)
  body.copy(b, FRAME)
  return b
}

/**
 * Writes `text` as UTF-8 at `at` (room for 3 bytes per unit is ensured) and returns the byte count. Journal
 * events are short ASCII JSON: copying the units in JS beats a call into the native encoder; anything else
 * goes to it.
 */
const writeText = (out: Buffer, text: string, at: number): number => {
  const n = text.length
  if (n > 256) return out.write(text, at, "utf8")
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128) return out.write(text, at, "utf8")
    out[at + i] = c
  }
  return n
}

interface Frame {
  readonly n: number
  readonly json: string
  readonly end: number
}

/** Parses the frame at `off`, or undefined if it is torn, fails its checksum or does not authenticate. */
const parse = (buf: Buffer, off: number, key: Cipher.FileKey | undefined): Frame | undefined => {
  if (buf.length - off < FRAME) return undefined
  const len = buf.readUInt32LE(off)
  if (buf.length - off - FRAME < len) return undefined
  const start = off + FRAME
  if (crc32(buf, start, start + len) !== buf.readUInt32LE(off + 4)) return undefined
  const n = buf.readUInt32LE(off + 8) + buf.readUInt32LE(off + 12) * TWO32
  if (key === undefined) return { n, json: buf.toString("utf8", start, start + len), end: start + len }
  const plain = key.open(buf, start, len, buf.subarray(off + 8, off + 16))
  return plain === undefined ? undefined : { n, json: plain.toString("utf8"), end: start + len }
}

export const fileName = (name: string): string =>
  encodeURIComponent(name).replace(/[.*!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

const decodeWith = <A>(file: string, decode: (u: unknown) => A, json: string, offset: number): A => {
  try {
    return decode(JSON.parse(json))
  } catch (e) {
    throw StoreError.corrupt(file, offset, `stored JSON does not decode: ${String(e)}`)
  }
}

export class FileEventLog<S, E> implements EventLog<S, E> {
  readonly name: string
  readonly notes: Array<string> = []
  private current: S
  private lastN = 0
  private sinceSnapshot = 0
  private fd: number
  private size = 0
  private closed = false
  private dirty = false
  private inflight: Promise<void> | undefined
  private readonly eventsFile: string
  private readonly snapFile: string
  private readonly options: EventLogOptions<S, E>
  private readonly policy: SyncPolicy
  private readonly cipher: Cipher.StoreCipher | undefined
  /** The events file's key (undefined: plaintext). */
  private key: Cipher.FileKey | undefined
  /** A plaintext file was read while a key is configured: rewrite encrypted once open. */
  private convert = false
  private readonly stringify: (e: E) => string
  private scratch: Buffer = Buffer.allocUnsafe(16 * 1024)

  constructor(
    dir: string,
    name: string,
    options: EventLogOptions<S, E>,
    policy: SyncPolicy,
    cipher?: Cipher.StoreCipher
  ) {
    this.name = name
    this.options = options
    this.policy = policy
    this.cipher = cipher
    const encode = options.encodeEvent
    this.stringify = encode === undefined ? (e: E) => JSON.stringify(e) : (e: E) => JSON.stringify(encode(e))
    this.eventsFile = path.join(dir, fileName(name) + ".events")
    this.snapFile = path.join(dir, fileName(name) + ".snap")
    StoreError.ioSync(dir, "mkdir", () => fs.mkdirSync(dir, { recursive: true }))
    this.current = options.initial
    const snap = this.readSnapshot()
    if (snap !== undefined) {
      this.current = snap.state
      this.lastN = snap.n
    }
    this.fd = StoreError.ioSync(
      this.eventsFile,
      "open",
      () => fs.openSync(this.eventsFile, fs.existsSync(this.eventsFile) ? "r+" : "w+")
    )
    try {
      this.replay()
      if (this.convert) this.snapshot()
    } catch (e) {
      fs.closeSync(this.fd)
      throw e
    }
  }

  private readSnapshot(): { n: number; state: S } | undefined {
    let buf: Buffer
    try {
      buf = fs.readFileSync(this.snapFile)
    } catch (e) {
      if ((e as { code?: unknown }).code === "ENOENT") return undefined
      throw StoreError.io(this.snapFile, "read", e)
    }
    let key: Cipher.FileKey | undefined
    let at = 0
    if (Cipher.isEncrypted(buf)) {
      if (this.cipher === undefined) throw Cipher.keyRequired(this.snapFile)
      key = this.cipher.openFile(this.snapFile, buf.subarray(0, Cipher.FILE_HEADER), Cipher.Purpose.Snapshot)
      at = Cipher.FILE_HEADER
    } else if (this.cipher !== undefined) {
      this.convert = true
    }
    const f = parse(buf, at, key)
    if (f === undefined || f.end !== buf.length) {
      throw StoreError.corrupt(this.snapFile, 0, "snapshot fails its checksum")
    }
    return { n: f.n, state: decodeWith(this.snapFile, this.options.decodeState, f.json, at) }
  }

  private replay(): void {
    const size = StoreError.ioSync(this.eventsFile, "stat", () => fs.fstatSync(this.fd).size)
    const buf = Buffer.allocUnsafe(size)
    readUpTo(this.eventsFile, this.fd, buf, 0, size, 0)
    let off = 0
    if (Cipher.isEncrypted(buf)) {
      if (this.cipher === undefined) throw Cipher.keyRequired(this.eventsFile)
      if (size < Cipher.FILE_HEADER) {
        // Crash while creating the file: nothing was written after the header.
        this.notes.push(`${path.basename(this.eventsFile)}: rewrote a torn encryption header`)
        this.freshHeader()
        return
      }
      this.key = this.cipher.openFile(
        this.eventsFile,
        buf.subarray(0, Cipher.FILE_HEADER),
        Cipher.Purpose.Events
      )
      off = Cipher.FILE_HEADER
    } else if (this.cipher !== undefined) {
      if (size === 0) {
        this.freshHeader()
        return
      }
      this.convert = true
    }
    const weight = this.options.weight
    while (off < size) {
      const f = parse(buf, off, this.key)
      if (f === undefined) break
      if (f.n > this.lastN) {
        if (f.n !== this.lastN + 1) break // a gap means the frame is not ours
        const event = decodeWith(this.eventsFile, this.options.decodeEvent, f.json, off)
        this.current = this.options.fold(this.current, event)
        this.lastN = f.n
        this.sinceSnapshot += weight === undefined ? 1 : weight(event)
      }
      off = f.end
    }
    if (off < size) {
      this.notes.push(
        `${path.basename(this.eventsFile)}: dropped ${size - off} bytes of torn or corrupt events at offset ${off}`
      )
      StoreError.ioSync(this.eventsFile, "truncate", () => fs.ftruncateSync(this.fd, off))
    }
    this.size = off
  }

  /** Empties the events file and, when encrypted, starts it with a new header (and so a new key). */
  private freshHeader(): void {
    StoreError.ioSync(this.eventsFile, "truncate", () => fs.ftruncateSync(this.fd, 0))
    this.size = 0
    this.key = undefined
    if (this.cipher === undefined) return
    const { header, key } = this.cipher.newFile(Cipher.Purpose.Events)
    writeFull(this.eventsFile, this.fd, header, header.length, 0)
    this.key = key
    this.size = header.length
  }

  state(): S {
    return this.current
  }

  get eventsSinceSnapshot(): number {
    return this.sinceSnapshot
  }

  append(events: ReadonlyArray<E>): S {
    if (this.closed) throw StoreError.closed(this.name)
    if (events.length === 0) return this.current
    const writer = this.options.writeEvent
    let next = this.current
    let n = this.lastN
    // Every frame of the batch is encoded into one reused buffer: one write, no per-event Buffer.
    let out = this.scratch
    let len = 0
    for (const e of events) {
      if (this.key !== undefined) {
        // Encrypted journals seal each frame on its own (the in-place encoding below is for plaintext).
        const sealed = frame(++n, this.stringify(e), this.key)
        if (len + sealed.length > out.length) {
          const grown = Buffer.allocUnsafe(Math.max(out.length * 2, len + sealed.length))
          out.copy(grown, 0, 0, len)
          out = grown
        }
        sealed.copy(out, len)
        len += sealed.length
        next = this.options.fold(next, e)
        continue
      }
      const json = writer === undefined ? this.stringify(e) : ""
      // UTF-8 needs at most 3 bytes per UTF-16 unit.
      const room = FRAME + (writer === undefined ? json.length * 3 : writer.maxBytes)
      if (len + room > out.length) {
        const grown = Buffer.allocUnsafe(Math.max(out.length * 2, len + room))
        out.copy(grown, 0, 0, len)
        out = grown
      }
      const body = len + FRAME
      const bytes = writer === undefined ? writeText(out, json, body) : writer.write(e, out, body) - body
      out.writeUInt32LE(bytes, len)
      out.writeUInt32LE(crc32(out, body, body + bytes), len + 4)
      n++
      out.writeUInt32LE(n % TWO32, len + 8)
      out.writeUInt32LE(Math.floor(n / TWO32), len + 12)
      len = body + bytes
      next = this.options.fold(next, e)
    }
    // Keep a moderately sized buffer for the next batch; drop one grown by a rare huge batch.
    if (out.length <= SCRATCH_KEEP) this.scratch = out
    const buf = out.subarray(0, len)
    try {
      writeFull(this.eventsFile, this.fd, buf, buf.length, this.size)
    } catch (e) {
      // Disk full or I/O error: cut off any part that was written, so the next append does not land after a torn
      // frame (recovery stops at the first bad frame and would drop every later event).
      try {
        fs.ftruncateSync(this.fd, this.size)
      } catch {
        // The file keeps a torn tail; recovery truncates it (and the events after it) on the next open.
      }
      throw e
    }
    this.size += buf.length
    this.lastN = n
    this.current = next
    this.dirty = true
    const weight = this.options.weight
    if (weight === undefined) this.sinceSnapshot += events.length
    else for (const e of events) this.sinceSnapshot += weight(e)
    if (this.sinceSnapshot >= (this.options.snapshotEvery ?? 1000)) this.snapshot()
    return next
  }

  snapshot(): void {
    if (this.closed) throw StoreError.closed(this.name)
    const encode = this.options.encodeState ?? ((s: S): unknown => s)
    const snap = this.cipher?.newFile(Cipher.Purpose.Snapshot)
    const framed = frame(this.lastN, JSON.stringify(encode(this.current)), snap?.key)
    const body = snap === undefined ? framed : Buffer.concat([snap.header, framed])
    const tmp = this.snapFile + ".tmp"
    const durable = this.policy !== "write"
    StoreError.ioSync(tmp, "write", () => {
      const fd = fs.openSync(tmp, "w")
      try {
        writeFull(tmp, fd, body, body.length, 0)
        if (durable) fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
    })
    StoreError.ioSync(this.snapFile, "rename", () => fs.renameSync(tmp, this.snapFile))
    if (durable) syncDir(path.dirname(this.snapFile))
    this.freshHeader()
    this.convert = false
    this.sinceSnapshot = 0
  }

  sync(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.fail(StoreError.closed(this.name))
      if (this.policy !== "always" || !this.dirty) return Effect.void
      return Effect.tryPromise({
        try: () => this.fsync(),
        catch: (e) => (StoreError.isStoreError(e) ? e : StoreError.io(this.eventsFile, "fsync", e))
      })
    })
  }

  /** Group commit: callers that arrive during an fsync share the next one. */
  private fsync(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight.then(() => (this.dirty ? this.fsync() : undefined))
    this.dirty = false
    this.inflight = new Promise<void>((resolve, reject) =>
      fs.fsync(this.fd, (err) => (err === null ? resolve() : reject(StoreError.io(this.eventsFile, "fsync", err))))
    ).finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  close(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.void
      const wait = this.inflight === undefined
        ? Effect.void
        : Effect.promise(() => this.inflight!.catch(() => undefined))
      return Effect.andThen(
        wait,
        StoreError.attempt(() => {
          this.closed = true
          try {
            if (this.policy !== "write" && this.dirty) {
              StoreError.ioSync(this.eventsFile, "fsync", () => fs.fsyncSync(this.fd))
            }
          } finally {
            fs.closeSync(this.fd)
          }
        })
      )
    })
  }
}
