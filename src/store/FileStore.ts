/**
 * The file layer: one directory per stream holding segment files (format in Record.ts, directory layout in
 * Segment.ts), an in-memory `SeqIndex` rebuilt by scanning the segments on open, and a bounded read cache.
 *
 * Write path: `appendBatch` encodes records into a pending buffer (no syscall); the buffer is handed to the OS
 * with one positioned write when it fills, on `flush`, and on `sync`. Nothing is acknowledged before `sync`, so
 * under every policy an acked message has at least reached the page cache and survives `kill -9`.
 *
 * Durability (`SyncPolicy`): "always" fsyncs in `sync`, with group commit: callers arriving while an fsync is in
 * flight wait for it and then share the next one, so N concurrent publishers cost ~2 fsyncs, not N.
 *
 * Recovery: segments are scanned oldest first; the newest segment (the only one a crash can tear) has every
 * record's body checksum verified, older ones their headers (bodies are verified on every read, so a bad one is
 * never served). The scan stops at the first bad record of a segment and truncates the file there; what was
 * dropped is reported and logged. Sequences below the floor and records marked DEAD are not indexed.
 *
 * Encryption at rest (Cipher.ts): with a key, every segment this log creates is encrypted (records sealed one
 * by one). Opening checks every encrypted file's key before touching anything (a wrong key changes nothing). A
 * plaintext segment stays readable; when the newest one is plaintext the log rolls to an encrypted segment at
 * once, so nothing new is written in the clear. An encrypted segment's subjects are saved beside it when it is
 * sealed and at close (SealedSubjects.ts), so recovery need not decrypt each record to rebuild the index.
 *
 * Write failures: when handing the pending buffer to the OS fails, the part that reached the file is truncated
 * away and those records are taken back out of the index (`discardPending`), so the log is exactly what is
 * stored and the next append reuses their sequences. ENOSPC/EDQUOT leave the log writable (space may be freed);
 * any other write error, a failed truncate or a failed fsync make it refuse writes (`failure`), reads continue.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { BaseLog, Mark, type StoreUsage } from "./BaseLog.ts"
import * as Cipher from "./Cipher.ts"
import { Compressor } from "./Compression.ts"
import type { AppendOptions, AppendRecord, StoreConfig, StoredMessage, SyncPolicy } from "./MessageLog.ts"
import { ReadCache } from "./ReadCache.ts"
import * as Record from "./Record.ts"
import * as SealedSubjects from "./SealedSubjects.ts"
import * as Seg from "./Segment.ts"
import * as StoreError from "./StoreError.ts"

export interface RecoveryReport {
  readonly segments: number
  readonly msgs: number
  /** Bytes cut off torn or corrupt segment tails. */
  readonly truncatedBytes: number
  /** One human-readable line per anomaly found (torn tail, leftover file, bad manifest, ...). */
  readonly notes: ReadonlyArray<string>
}

const DEFAULT_SEGMENT = 64 * 1024 * 1024
const MAX_SEGMENT = 0xffff_0000 // offsets in the index are u32
const PENDING = 1024 * 1024
const MAX_OPEN_SEALED = 16
const DEAD_WORD = (() => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(Record.DEAD, 0)
  return b
})()

/** Directory name for a stream: percent-encoded so any stream name is one safe path component. */
export const dirName = (name: string): string =>
  encodeURIComponent(name).replace(/[.*!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

export class FileLog extends BaseLog {
  private segments: Array<Seg.Segment> = []
  private pending: Buffer = Buffer.allocUnsafe(PENDING)
  private pendingLen = 0
  /** Sequence of the first record in `pending` (meaningful while pendingLen > 0). */
  private pendingFirst = 0
  private readonly cache: ReadCache
  private readonly maxSegment: number
  private floor = 0
  private floorFd = -1
  private readonly dirty = new Set<number>()
  private writeGen = 0
  private syncedGen = 0
  private inflight: Promise<void> | undefined
  private deferredClose: Array<number> = []
  private openSealed: Array<Seg.Segment> = []
  private broken: StoreError.StoreError | undefined
  report: RecoveryReport = { segments: 0, msgs: 0, truncatedBytes: 0, notes: [] }
  /** Group-commit rounds started (each fsyncs every dirty file once); for metrics and tests. */
  fsyncRounds = 0

  readonly dir: string
  readonly policy: SyncPolicy
  private readonly cipher: Cipher.StoreCipher | undefined
  /** `compression: "s2"`: records appended now are compressed (Compression.ts) where that saves bytes. */
  private compress: boolean
  private readonly compressor = new Compressor()

  private constructor(
    name: string,
    dir: string,
    config: StoreConfig,
    policy: SyncPolicy,
    usage: StoreUsage | undefined,
    cipher: Cipher.StoreCipher | undefined
  ) {
    super(name, config.firstSeq ?? 1, false)
    this.usage = usage
    this.cipher = cipher
    this.compress = config.compress === true
    this.dir = dir
    this.policy = policy
    this.maxSegment = Math.min(config.maxSegmentBytes ?? DEFAULT_SEGMENT, MAX_SEGMENT)
    this.cache = new ReadCache(config.readCacheBytes ?? 4 * 1024 * 1024)
  }

  /** Opens (creating or recovering) the log in `dir`. Synchronous; throws StoreError. */
  static openSync(
    dir: string,
    name: string,
    config: StoreConfig,
    policy: SyncPolicy,
    usage?: StoreUsage,
    cipher?: Cipher.StoreCipher
  ): FileLog {
    StoreError.ioSync(dir, "mkdir", () => fs.mkdirSync(dir, { recursive: true }))
    // Before anything is repaired or removed: a wrong key must leave every file as it was.
    Cipher.verifyStore(dir, cipher)
    const log = new FileLog(name, dir, config, policy, usage, cipher)
    try {
      log.recover(config.firstSeq ?? 1)
    } catch (e) {
      log.releaseAll()
      log.forgetUsage()
      throw e
    }
    return log
  }

  /** The layer's running total stops counting this log (closed, or failed to open). */
  private forgetUsage(): void {
    if (this.usage !== undefined) this.usage.bytes -= this.bytes
    this.usage = undefined
  }

  /** The write error that made this log refuse writes (reads still work), if any. */
  override get failure(): StoreError.StoreError | undefined {
    return this.broken
  }

  private get active(): Seg.Segment {
    return this.segments[this.segments.length - 1]!
  }

  // ---- recovery ------------------------------------------------------------------------------------------------

  private recover(firstSeq: number): void {
    const notes: Array<string> = []
    const names = StoreError.ioSync(this.dir, "readdir", () => fs.readdirSync(this.dir))
    const onDisk = new Set<number>()
    for (const n of names) {
      const base = Seg.parseSegmentName(n)
      if (base !== undefined) onDisk.add(base)
      else if (n.endsWith(".tmp")) fs.rmSync(path.join(this.dir, n), { force: true })
      else if (n !== Seg.MANIFEST && n !== Seg.FLOOR && !SealedSubjects.isFileName(n)) {
        notes.push(`ignoring unknown file ${n}`)
      }
    }
    const manifest = Seg.readManifest(this.dir)
    let bases: Array<number>
    if (manifest === "corrupt" || manifest === undefined) {
      if (manifest === "corrupt") {
        notes.push(`${Seg.MANIFEST} is unreadable; using the ${onDisk.size} segment files present`)
      } else if (onDisk.size > 0) {
        notes.push(`${Seg.MANIFEST} is missing; using the ${onDisk.size} segment files present`)
      }
      bases = [...onDisk].sort((a, b) => a - b)
    } else {
      const listed = new Set(manifest.segments)
      const maxListed = Math.max(0, ...manifest.segments)
      for (const b of manifest.segments) {
        if (!onDisk.has(b)) {
          const file = path.join(this.dir, Seg.segmentFileName(b))
          throw StoreError.corrupt(file, 0, `segment listed in ${Seg.MANIFEST} is missing`)
        }
      }
      for (const b of onDisk) {
        if (listed.has(b) || b > maxListed) continue
        // Listed no more but still present: a removal interrupted between the manifest write and the unlink.
        fs.rmSync(path.join(this.dir, Seg.segmentFileName(b)), { force: true })
        notes.push(`removed leftover segment ${Seg.segmentFileName(b)}`)
        onDisk.delete(b)
      }
      bases = [...onDisk].sort((a, b) => a - b)
    }
    for (const n of names) {
      // Subjects saved for a segment that is gone (removed between the two unlinks): nothing refers to them.
      if (SealedSubjects.isFileName(n) && !onDisk.has(Number(n.slice(0, 16)))) {
        fs.rmSync(path.join(this.dir, n), { force: true })
      }
    }
    const floor = Seg.readFloor(this.dir)
    if (floor === "corrupt") notes.push(`${Seg.FLOOR} checksum failed; keeping every message found`)
    this.floor = floor === "corrupt" ? 0 : floor
    // `firstSeq` from the config only shapes a new log; existing segments say where an old one starts.
    this.index.reset(this.floor > 0 ? this.floor : bases.length > 0 ? bases[0]! : firstSeq)
    this.firstSeq = this.index.base
    this.lastSeq = this.index.base - 1

    let truncated = 0
    let prev = 0
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!
      const newest = i === bases.length - 1
      const file = path.join(this.dir, Seg.segmentFileName(base))
      const fd = StoreError.ioSync(file, "open", () => fs.openSync(file, "r+"))
      const size = StoreError.ioSync(file, "stat", () => fs.fstatSync(fd).size)
      const header = Buffer.alloc(Cipher.FILE_HEADER + Record.SEGMENT_HEADER)
      const got = Seg.readUpTo(file, fd, header, 0, header.length, 0)
      const encrypted = Cipher.isEncrypted(header.subarray(0, got))
      const headerLen = encrypted ? header.length : Record.SEGMENT_HEADER
      if (got < headerLen && newest) {
        // Crash while creating the segment: nothing in it was ever written.
        const fresh = Seg.newSegmentHeader(base, this.cipher, this.segmentVersion)
        Seg.writeFull(file, fd, fresh.header, fresh.header.length, 0)
        StoreError.ioSync(file, "truncate", () => fs.ftruncateSync(fd, fresh.header.length))
        if (size > 0) notes.push(`rewrote torn header of ${path.basename(file)}`)
        this.segments.push(new Seg.Segment(base, file, fd, fresh.key, this.segmentVersion))
        continue
      }
      let key: Cipher.FileKey | undefined
      if (encrypted) {
        if (this.cipher === undefined) throw Cipher.keyRequired(file)
        key = this.cipher.openFile(file, header.subarray(0, Cipher.FILE_HEADER), Cipher.Purpose.Segment)
      }
      const segHeader = header.subarray(headerLen - Record.SEGMENT_HEADER, headerLen)
      const seg = new Seg.Segment(base, file, fd, key, Record.segmentVersion(segHeader))
      this.segments.push(seg)
      // Subjects saved when the segment was sealed or the log closed: no decryption for those records.
      const known = key === undefined ? undefined : SealedSubjects.read(this.dir, base, this.cipher!)
      const hb = Record.readSegmentHeader(segHeader)
      if (hb !== base) throw StoreError.corrupt(file, 0, "not a segment file of this store (bad header)")
      const recovered = (seq: number, off: number, len: number, live: boolean, buf: Buffer, at: number) => {
        seg.records++
        seg.lastSeq = seq
        if (seq < this.index.base) {
          this.lastTs = Record.readTs(buf, at)
          return
        }
        this.skipTo(seq)
        if (live) {
          seg.live++
          // A compressed record counts its uncompressed bytes: the block says how many (the start of a
          // sealed one is decrypted for that, without authenticating: reads do that).
          const sealedStart = key !== undefined && Record.isCompressed(buf, at) ?
            key.peek(buf, at + Record.HEADER, buf.readUInt16LE(at + 8) + 5) :
            undefined
          const accounted = Record.accountedOf(buf, at, seg.overhead, sealedStart)
          this.indexAppend(
            seq,
            key === undefined
              ? Record.readSubject(buf, at)
              : known?.subjectOf(seq, buf, at) ?? Record.readSealedSubject(buf, at, key),
            Record.readTs(buf, at),
            off,
            accounted >= 0 ? accounted : Record.accountedFromFrame(len - seg.overhead),
            undefined,
            len
          )
        } else {
          this.indexHole(seq, Record.readTs(buf, at))
        }
      }
      // Records of an atomic batch are indexed once the batch's last record is found (Record.ts); until
      // then they are held as copies (the scan reuses its buffer), at most one batch's worth.
      let open: Array<{ seq: number; off: number; len: number; live: boolean; copy: Buffer }> = []
      let stop = Seg.scanSegment(seg, size, newest, prev, (seq, off, len, live, buf, at) => {
        if (Record.isBatchOpen(buf, at)) {
          open.push({ seq, off, len, live, copy: Buffer.from(buf.subarray(at, at + len)) })
          return
        }
        for (const r of open) recovered(r.seq, r.off, r.len, r.live, r.copy, 0)
        open = []
        recovered(seq, off, len, live, buf, at)
      })
      if (open.length > 0 && newest) {
        // The crash came before the batch's last record was written: none of the batch was acknowledged.
        stop = { offset: open[0]!.off, reason: `atomic batch of ${open.length}+ records without its last record` }
      } else {
        // Not at the tail of the log, so not torn by a crash: keep what is there.
        for (const r of open) recovered(r.seq, r.off, r.len, r.live, r.copy, 0)
      }
      prev = Math.max(prev, seg.lastSeq)
      seg.size = stop === undefined ? size : stop.offset
      if (stop !== undefined) {
        truncated += size - stop.offset
        notes.push(
          `${path.basename(file)}: ${stop.reason} at offset ${stop.offset}; dropped ${size - stop.offset} bytes` +
            (newest ? "" : " (not the newest segment: later segments are kept)")
        )
        StoreError.ioSync(file, "truncate", () => fs.ftruncateSync(fd, stop.offset))
      }
      if (!newest) {
        closeQuietly(fd)
        seg.fd = -1
      }
    }
    const newestBase = bases.length > 0 ? bases[bases.length - 1]! : firstSeq
    const last = Math.max(this.lastSeq, this.floor - 1, newestBase - 1)
    if (last > this.lastSeq) this.skipTo(last + 1)
    if (this.msgs === 0) this.firstSeq = this.lastSeq + 1
    this.index.dropBelow(this.firstSeq)
    if (this.segments.length === 0) {
      this.segments.push(Seg.createSegment(this.dir, this.lastSeq + 1, this.cipher, this.segmentVersion))
      Seg.writeManifest(this.dir, [this.active.base], this.policy !== "write")
    } else if (manifest === undefined || manifest === "corrupt" || bases.length !== manifest.segments.length) {
      Seg.writeManifest(this.dir, bases, this.policy !== "write")
    }
    this.settle()
    if (this.cipher !== undefined && this.active.key === undefined) this.encryptFromNowOn(notes)
    else if (this.compress && this.active.version === 1) this.rollToVersion2()
    this.reserveFloor()
    this.report = { segments: this.segments.length, msgs: this.msgs, truncatedBytes: truncated, notes }
  }

  /**
   * Encryption was turned on for a store written without it: the plaintext segments stay readable, and the
   * newest is replaced (when empty) or followed by an encrypted one, so every later record is sealed.
   */
  private encryptFromNowOn(notes: Array<string>): void {
    const old = this.active
    if (old.records === 0) {
      this.releaseFd(old.fd)
      this.segments[this.segments.length - 1] = Seg.createSegment(
        this.dir,
        old.base,
        this.cipher,
        this.segmentVersion
      )
    } else {
      this.rotate(this.lastSeq + 1)
    }
    const plain = this.segments.filter((s) => s.key === undefined).length
    if (plain > 0) notes.push(`${plain} plaintext segment(s) kept readable; new records are encrypted`)
  }

  /** The format of segments created now: 2 (may hold compressed records) while compression is on. */
  private get segmentVersion(): 1 | 2 {
    return this.compress ? 2 : 1
  }

  /**
   * Compression was turned on while the newest segment is of the first format (which old code reads without
   * knowing about compressed records): it is replaced (when empty) or followed by a version 2 segment.
   */
  private rollToVersion2(): void {
    const old = this.active
    if (old.records === 0) {
      this.releaseFd(old.fd)
      this.segments[this.segments.length - 1] = Seg.createSegment(this.dir, old.base, this.cipher, 2)
    } else {
      this.rotate(this.lastSeq + 1)
    }
  }

  setCompression(on: boolean): void {
    if (on === this.compress) return
    this.compress = on
    if (on && this.active.version === 1) {
      this.assertWritable()
      this.rollToVersion2()
    }
  }

  /**
   * Creates the floor file now, while there is space: a purge is what frees a full disk, and raising the floor
   * then overwrites these 16 bytes in place instead of needing a new block.
   */
  private reserveFloor(): void {
    const file = path.join(this.dir, Seg.FLOOR)
    if (fs.existsSync(file)) return
    try {
      this.floorFd = fs.openSync(file, "w+")
      Seg.writeFull(file, this.floorFd, Seg.encodeFloor(this.floor), 16, 0)
    } catch {
      // Already full: the first purge creates it (and may fail like any write).
      if (this.floorFd >= 0) closeQuietly(this.floorFd)
      this.floorFd = -1
      fs.rmSync(file, { force: true })
    }
  }

  /** Recovery: give every sequence below `seq` a slot (holes), or restart an empty index at `seq`. */
  private skipTo(seq: number): void {
    if (this.index.end >= seq) return
    if (this.msgs === 0) {
      this.index.reset(seq)
      this.firstSeq = seq
      this.lastSeq = seq - 1
      return
    }
    for (let s = this.index.end; s < seq; s++) this.indexHole(s, this.lastTs)
  }

  // ---- writes --------------------------------------------------------------------------------------------------

  protected override assertWritable(): void {
    super.assertWritable()
    if (this.broken !== undefined) throw this.broken
  }

  appendBatch(records: ReadonlyArray<AppendRecord>, options?: AppendOptions): Array<number> {
    this.assertWritable()
    const atomic = options?.atomic === true && records.length > 1
    const blocks = atomic ? this.prepareAtomic(records) : undefined
    let seq = this.reserve(records.length)
    const out = new Array<number>(records.length)
    for (let i = 0; i < records.length; i++, seq++) {
      const r = records[i]!
      const sl = r.subject.length
      if (sl > Record.MAX_SUBJECT || sl === 0) throw new TypeError(`subject length ${sl} out of range`)
      const hl = r.hdr === undefined ? 0 : r.hdr.length
      let seg = this.active
      // Only a version 2 segment may hold a compressed record (setCompression rolls to one).
      const block = blocks !== undefined ?
        blocks[i] :
        this.compress && seg.version === 2 ?
        this.compressor.compress(r.hdr, r.data) :
        undefined
      const len = (block === undefined
        ? Record.frameLength(sl, hl, r.data.length)
        : Record.compressedFrameLength(sl, block.length)) + seg.overhead
      // An atomic batch stays in the segment prepareAtomic chose, and in the pending buffer it sized.
      if (!atomic && seg.records > 0 && seg.size + this.pendingLen + len > this.maxSegment) {
        this.rotate(seq)
        seg = this.active
      }
      if (this.pendingLen + len > this.pending.length) {
        this.flushPending()
        if (len > this.pending.length) this.pending = Buffer.allocUnsafe(len)
      }
      const off = seg.size + this.pendingLen
      if (this.pendingLen === 0) this.pendingFirst = seq
      Record.encode(
        this.pending,
        this.pendingLen,
        seq,
        r.subject,
        r.hdr,
        r.data,
        r.ts,
        seg.key,
        block,
        atomic && i < records.length - 1
      )
      this.pendingLen += len
      seg.records++
      seg.live++
      seg.lastSeq = seq
      this.indexAppend(seq, r.subject, r.ts, off, Record.accountedSize(sl, hl, r.data.length), undefined, len)
      out[i] = seq
    }
    return out
  }

  /**
   * Before an atomic batch: the pending buffer is written out and made large enough for the whole batch, so
   * the batch reaches the file in one write (a failed write takes back all of it, `discardPending`), and the
   * log rolls to a new segment first when the batch would not fit, so a crash can tear it only at the tail of
   * the newest segment, where recovery looks. Returns each record's compressed block (or undefined).
   */
  private prepareAtomic(records: ReadonlyArray<AppendRecord>): Array<Uint8Array | undefined> {
    this.flushPending()
    const sizes = () => {
      const seg = this.active
      const blocks = records.map((r) =>
        this.compress && seg.version === 2 ? this.compressor.compress(r.hdr, r.data) : undefined
      )
      let total = 0
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!
        const b = blocks[i]
        total += (b === undefined
          ? Record.frameLength(r.subject.length, r.hdr?.length ?? 0, r.data.length)
          : Record.compressedFrameLength(r.subject.length, b.length)) + seg.overhead
      }
      return { blocks, total }
    }
    let { blocks, total } = sizes()
    if (this.active.records > 0 && this.active.size + total > this.maxSegment) {
      this.rotate(this.lastSeq + 1)
      ;({ blocks, total } = sizes())
    }
    if (this.active.size + total > MAX_SEGMENT) throw new TypeError(`atomic batch of ${total} bytes exceeds a segment`)
    if (total > this.pending.length) this.pending = Buffer.allocUnsafe(total)
    return blocks
  }

  flush(): void {
    this.assertWritable()
    this.flushPending()
  }

  private flushPending(): void {
    if (this.pendingLen === 0) return
    const seg = this.active
    try {
      Seg.writeFull(seg.path, seg.fd, this.pending, this.pendingLen, seg.size)
    } catch (e) {
      this.discardPending(seg, e)
      throw e
    }
    seg.size += this.pendingLen
    this.pendingLen = 0
    // Grown for one large record or atomic batch: not kept at that size.
    if (this.pending.length > PENDING) this.pending = Buffer.allocUnsafe(PENDING)
    this.dirty.add(seg.fd)
    this.writeGen++
  }

  /**
   * A write of the pending records failed (disk full, I/O error): cut off whatever part of it reached the file
   * and take the records back out of the index, so the log is exactly what is stored and the next append goes
   * where these would have. A full disk is expected to clear up; any other error, or a failed truncate, leaves
   * the file in a state we cannot vouch for, so the log refuses further writes (reads continue).
   */
  private discardPending(seg: Seg.Segment, cause: unknown): void {
    const len = this.pendingLen
    this.pendingLen = 0
    try {
      fs.ftruncateSync(seg.fd, seg.size)
    } catch (e) {
      this.broken = StoreError.io(seg.path, "truncate", e)
    }
    if (this.broken === undefined && !isTransient(cause)) {
      this.broken = StoreError.isStoreError(cause) ? cause : StoreError.io(seg.path, "write", cause)
    }
    this.cache.invalidate(seg, seg.size, len)
    const ix = this.index
    for (let s = this.pendingFirst; s <= this.lastSeq; s++) {
      const p = ix.pos(s)
      seg.records--
      if (p >= 0 && ix.sid[p] !== 0) seg.live--
    }
    seg.lastSeq = this.pendingFirst - 1
    this.unappend(this.pendingFirst - 1)
    // A purge in the same batch persisted its floor: recovery would start there, so the log does too.
    if (this.msgs === 0 && this.floor - 1 > this.lastSeq) {
      this.index.reset(this.floor)
      this.firstSeq = this.floor
      this.lastSeq = this.floor - 1
    }
  }

  private rotate(nextBase: number): void {
    this.flushPending()
    const old = this.active
    if (this.policy !== "write") {
      StoreError.ioSync(old.path, "fsync", () => fs.fsyncSync(old.fd))
      this.dirty.delete(old.fd)
    }
    this.segments.push(Seg.createSegment(this.dir, nextBase, this.cipher, this.segmentVersion))
    this.sealed(old)
    this.saveSubjects(old)
    Seg.writeManifest(this.dir, this.segments.map((s) => s.base), this.policy !== "write")
  }

  /**
   * Encrypted segment: writes the subjects of its live records beside it (SealedSubjects.ts), so a reopen reads
   * them instead of decrypting each record. Best effort; the segment must be flushed.
   */
  private saveSubjects(seg: Seg.Segment): void {
    if (seg.key === undefined || this.cipher === undefined || seg.records === 0) return
    const entries: Array<SealedSubjects.Entry> = []
    const ix = this.index
    const names = this.subjects.names
    try {
      this.fdFor(seg)
      Seg.scanSegment(seg, seg.size, false, seg.base - 1, (seq, _off, _len, live, buf, at) => {
        const p = live ? ix.pos(seq) : -1
        if (p < 0 || ix.sid[p] === 0) return
        const nonce = Buffer.from(buf.subarray(at + Record.HEADER, at + Record.HEADER + Cipher.NONCE))
        entries.push({ seq, nonce, subject: names[ix.sid[p]!]! })
      })
    } catch {
      return // Unreadable now: recovery decrypts the subjects instead.
    }
    SealedSubjects.write(this.dir, seg.base, entries, this.cipher)
  }

  sync(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      try {
        this.assertWritable()
        this.flushPending()
      } catch (e) {
        return StoreError.isStoreError(e) ? Effect.fail(e) : Effect.die(e)
      }
      if (this.policy !== "always") return Effect.void
      const target = this.writeGen
      if (this.syncedGen >= target) return Effect.void
      return Effect.tryPromise({
        try: () => this.syncTo(target),
        catch: (e) => (StoreError.isStoreError(e) ? e : StoreError.io(this.dir, "fsync", e))
      })
    })
  }

  /** Group commit: wait for the fsync in flight (if any), then share the next one until `target` is covered. */
  private syncTo(target: number): Promise<void> {
    if (this.syncedGen >= target) return Promise.resolve()
    if (this.inflight === undefined) this.startFsync()
    return this.inflight!.then(() => this.syncTo(target))
  }

  private startFsync(): void {
    this.fsyncRounds++
    const gen = this.writeGen
    const fds = [...this.dirty]
    this.dirty.clear()
    this.inflight = Promise.all(
      fds.map((fd) =>
        new Promise<void>((resolve, reject) =>
          fs.fsync(fd, (err) => (err === null ? resolve() : reject(StoreError.io(this.dir, "fsync", err))))
        )
      )
    ).then(
      () => {
        this.syncedGen = Math.max(this.syncedGen, gen)
      },
      (e: unknown) => {
        // After a failed fsync the page cache state is unknown ("fsyncgate"): refuse further writes.
        this.broken = StoreError.isStoreError(e) ? e : StoreError.io(this.dir, "fsync", e)
        throw this.broken
      }
    ).finally(() => {
      this.inflight = undefined
      for (const fd of this.deferredClose) closeQuietly(fd)
      this.deferredClose = []
    })
  }

  /** Interval policy: flush and fsync whatever is dirty. */
  syncNow(): Promise<void> {
    if (this.isClosed || this.broken !== undefined) return Promise.resolve()
    this.flushPending()
    return this.syncTo(this.writeGen)
  }

  // ---- reads ---------------------------------------------------------------------------------------------------

  private segmentOf(seq: number): Seg.Segment {
    const segs = this.segments
    let lo = 0
    let hi = segs.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (segs[mid]!.base <= seq) lo = mid
      else hi = mid - 1
    }
    return segs[lo]!
  }

  protected load(seq: number, pos: number): StoredMessage {
    const seg = this.segmentOf(seq)
    const off = this.index.off[pos]!
    const len = this.index.frame[pos]!
    if (seg === this.active && off + len > seg.size) this.flushPending()
    const buf = this.cache.read(seg, this.fdFor(seg), off, len)
    const at = this.cache.at
    const c = Record.check(buf, at, len, true)
    if (c !== Record.Check.Live || Record.checked.seq !== seq || Record.checked.len !== len) {
      throw StoreError.corrupt(seg.path, off, `record for sequence ${seq} failed its checksum`)
    }
    if (seg.key === undefined) {
      const m = Record.decode(buf, at, seq)
      if (m === undefined) throw StoreError.corrupt(seg.path, off, `record for sequence ${seq} does not decompress`)
      return m
    }
    const m = Record.decodeSealed(buf, at, seq, seg.key)
    if (m === undefined) throw StoreError.corrupt(seg.path, off, `record for sequence ${seq} failed authentication`)
    return m
  }

  // ---- removal hooks -------------------------------------------------------------------------------------------

  protected dropped(seq: number, pos: number, mark: Mark): void {
    const seg = this.segmentOf(seq)
    if (mark !== Mark.Floor) {
      const off = this.index.off[pos]!
      const len = this.index.frame[pos]!
      if (seg === this.active && off >= seg.size) {
        // Still in the pending buffer: mark it there (no syscall, and no write that could fail half-way).
        const at = off - seg.size
        DEAD_WORD.copy(this.pending, at + Record.STATE_OFFSET)
        if (mark === Mark.Erase) this.pending.fill(0, at + Record.HEADER, at + len)
      } else {
        const fd = this.fdFor(seg)
        Seg.writeFull(seg.path, fd, DEAD_WORD, 4, off + Record.STATE_OFFSET)
        if (mark === Mark.Erase) {
          Seg.writeFull(seg.path, fd, Buffer.alloc(len - Record.HEADER), len - Record.HEADER, off + Record.HEADER)
          this.cache.invalidate(seg, off, len)
        }
        this.dirty.add(fd)
        this.writeGen++
      }
    }
    // Counted last: when a write above fails, nothing has changed.
    seg.live--
  }

  protected floorRaised(seq: number): void {
    if (seq <= this.floor) return
    const file = path.join(this.dir, Seg.FLOOR)
    if (this.floorFd < 0) {
      this.floorFd = StoreError.ioSync(file, "open", () => {
        try {
          return fs.openSync(file, "r+")
        } catch {
          return fs.openSync(file, "w+")
        }
      })
    }
    Seg.writeFull(file, this.floorFd, Seg.encodeFloor(seq), 16, 0)
    this.floor = seq
    this.dirty.add(this.floorFd)
    this.writeGen++
  }

  /** Drops segments with no live message; rolls a big, fully dead active segment so it can go too. */
  protected settle(): void {
    const active = this.active
    if (active.live === 0 && active.records > 0 && active.size >= Math.min(this.maxSegment / 2, PENDING)) {
      const last = this.lastSeq
      try {
        this.rotate(last + 1)
      } catch (e) {
        // No room for the new segment: the removal stands, the dead segment goes at a later settle. (When the
        // pending records could not be written, they were taken back: the caller must hear about it.)
        if (!isTransient(e) || this.lastSeq !== last) throw e
      }
    }
    const newest = this.active
    const keep = this.segments.filter((s) => s === newest || s.live > 0)
    if (keep.length === this.segments.length) return
    // Manifest first: a crash before the unlinks leaves files recovery knows to remove.
    let manifestWritten = true
    try {
      Seg.writeManifest(this.dir, keep.map((s) => s.base), this.policy !== "write")
    } catch (e) {
      if (!isTransient(e)) throw e
      // Disk full, and this removal is what frees it: without a manifest recovery uses the segment files
      // present, so drop the manifest, then the dead segments, then write the manifest into the freed space.
      manifestWritten = false
      StoreError.ioSync(
        path.join(this.dir, Seg.MANIFEST),
        "remove",
        () => fs.rmSync(path.join(this.dir, Seg.MANIFEST), { force: true })
      )
    }
    for (const s of this.segments) {
      if (keep.includes(s)) continue
      this.closeSegmentFd(s)
      this.cache.dropSegment(s)
      fs.rmSync(s.path, { force: true })
      if (s.key !== undefined) fs.rmSync(path.join(this.dir, SealedSubjects.fileName(s.base)), { force: true })
    }
    this.segments = keep
    if (!manifestWritten) {
      try {
        Seg.writeManifest(this.dir, keep.map((s) => s.base), this.policy !== "write")
      } catch {
        // Still full: recovery rebuilds it from the files present (and notes that it did).
      }
    }
  }

  /**
   * Flushes and drops dead segments. Space held by dead records inside live segments is reclaimed only when the
   * whole segment dies; rewriting sparse segments is not implemented yet (sealed segments are bounded in size).
   */
  compact(): void {
    this.assertWritable()
    this.flushPending()
    this.settle()
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------

  /**
   * Sealed segments keep their file open only while recently used (at most MAX_OPEN_SEALED), so a stream with
   * thousands of segments does not run the process out of file descriptors.
   */
  private fdFor(seg: Seg.Segment): number {
    if (seg.fd >= 0) {
      if (seg !== this.active) {
        const i = this.openSealed.indexOf(seg)
        if (i >= 0 && i !== this.openSealed.length - 1) {
          this.openSealed.splice(i, 1)
          this.openSealed.push(seg)
        }
      }
      return seg.fd
    }
    seg.fd = StoreError.ioSync(seg.path, "open", () => fs.openSync(seg.path, "r+"))
    this.sealed(seg)
    return seg.fd
  }

  private sealed(seg: Seg.Segment): void {
    this.openSealed.push(seg)
    if (this.openSealed.length > MAX_OPEN_SEALED) this.closeSegmentFd(this.openSealed[0]!)
  }

  private closeSegmentFd(seg: Seg.Segment): void {
    const i = this.openSealed.indexOf(seg)
    if (i >= 0) this.openSealed.splice(i, 1)
    if (seg.fd < 0) return
    // An fsync owed to this file must happen before its descriptor goes away.
    if (this.policy !== "write" && this.dirty.has(seg.fd)) {
      StoreError.ioSync(seg.path, "fsync", () => fs.fsyncSync(seg.fd))
    }
    this.releaseFd(seg.fd)
    seg.fd = -1
  }

  private releaseFd(fd: number): void {
    this.dirty.delete(fd)
    if (this.inflight !== undefined) this.deferredClose.push(fd)
    else closeQuietly(fd)
  }

  private releaseAll(): void {
    for (const s of this.segments) if (s.fd >= 0) closeQuietly(s.fd)
    this.openSealed = []
    if (this.floorFd >= 0) closeQuietly(this.floorFd)
    this.segments = []
    this.floorFd = -1
    this.cache.clear()
  }

  close(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      if (this.isClosed) return Effect.void
      const waitInflight = this.inflight === undefined
        ? Effect.void
        : Effect.promise(() => this.inflight!.catch(() => undefined))
      return Effect.andThen(
        waitInflight,
        StoreError.attempt(() => {
          try {
            if (this.broken !== undefined) return
            this.flushPending()
            this.saveSubjects(this.active)
            if (this.policy === "write") return
            for (const fd of this.dirty) StoreError.ioSync(this.dir, "fsync", () => fs.fsyncSync(fd))
          } finally {
            this.isClosed = true
            this.releaseAll()
            this.forgetUsage()
          }
        })
      )
    })
  }
}

/** Errors that go away by themselves (someone frees space): the log stays writable after them. */
const isTransient = (cause: unknown): boolean =>
  StoreError.isStoreError(cause) && cause.reason._tag === "Io" &&
  (cause.reason.code === "ENOSPC" || cause.reason.code === "EDQUOT")

const closeQuietly = (fd: number): void => {
  try {
    fs.closeSync(fd)
  } catch {
    // Already closed or never opened: nothing to release.
  }
}
