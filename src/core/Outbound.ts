/**
 * Per-connection outbound buffer: protocol lines and small payloads are copied into a slab, large
 * payloads are queued as views, and everything queued in one event-loop turn goes out in one
 * `writev`. A slab region is never rewritten after it is handed to the socket; a new slab is
 * started instead, so no buffer is copied again after the first copy into the slab.
 */
import { Buffer } from "node:buffer"

const SLAB_SIZE = 64 * 1024
/** Payloads at least this big are queued by reference instead of copied. */
const BY_REFERENCE = 16 * 1024

export class Outbound {
  private slab: Buffer = Buffer.allocUnsafe(SLAB_SIZE)
  private start = 0
  private pos = 0
  private chunks: Array<Uint8Array> = []
  /** Bytes queued and not yet handed to the wire. */
  pending = 0

  private ensure(n: number): void {
    if (this.pos + n <= this.slab.length) return
    this.seal()
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n))
    this.start = 0
    this.pos = 0
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.pos))
      this.start = this.pos
    }
  }

  /** Appends a protocol line; `text` must be latin1 (subjects are latin1-decoded bytes). */
  text(text: string): void {
    const n = text.length
    this.ensure(n)
    this.pos = writeLatin1(this.slab, this.pos, text)
    this.pending += n
  }

  bytes(bytes: Uint8Array): void {
    const n = bytes.length
    if (n >= BY_REFERENCE) {
      this.seal()
      this.chunks.push(bytes)
    } else {
      this.ensure(n)
      this.slab.set(bytes, this.pos)
      this.pos += n
    }
    this.pending += n
  }

  /**
   * Appends a MSG/HMSG control line without building a string: `prefix` is the cached
   * "MSG <subject> <sid> " bytes, then the optional reply, the header size (hdrLen >= 0 for HMSG)
   * and the total size. This is the per-message hot path of every delivery.
   */
  msgLine(prefix: Uint8Array, reply: string | undefined, hdrLen: number, total: number): void {
    const replyLen = reply === undefined ? 0 : reply.length + 1
    const need = prefix.length + replyLen + 24
    this.ensure(need)
    const slab = this.slab
    let pos = this.pos
    slab.set(prefix, pos)
    pos += prefix.length
    if (reply !== undefined) {
      pos = writeLatin1(slab, pos, reply)
      slab[pos++] = 32
    }
    if (hdrLen >= 0) {
      pos = writeInt(slab, pos, hdrLen)
      slab[pos++] = 32
    }
    pos = writeInt(slab, pos, total)
    slab[pos++] = 13
    slab[pos++] = 10
    this.pending += pos - this.pos
    this.pos = pos
  }

  crlf(): void {
    this.ensure(2)
    this.slab[this.pos++] = 13
    this.slab[this.pos++] = 10
    this.pending += 2
  }

  /** Takes everything queued, in order; the caller writes it to the wire. */
  take(): Array<Uint8Array> {
    this.seal()
    const out = this.chunks
    this.chunks = []
    this.pending = 0
    if (this.slab.length - this.pos < 512) {
      this.slab = Buffer.allocUnsafe(SLAB_SIZE)
      this.start = 0
      this.pos = 0
    }
    return out
  }
}

/**
 * Writes a latin1 string at `pos` and returns the end. Reply subjects and protocol lines are short: a JS copy
 * beats the call into the native encoder (a visible share of every delivery); long strings still go native.
 */
const writeLatin1 = (buf: Buffer, pos: number, text: string): number => {
  const n = text.length
  if (n > 96) return pos + buf.write(text, pos, "latin1")
  for (let i = 0; i < n; i++) buf[pos + i] = text.charCodeAt(i)
  return pos + n
}

/** Sizes in a MSG line (below 2^31): integer division, not a floating-point division and Math.floor per digit. */
const writeInt = (buf: Uint8Array, pos: number, n: number): number => {
  if (n < 10) {
    buf[pos] = 48 + n
    return pos + 1
  }
  if (n > 0x7fffffff) {
    const t = String(n)
    for (let i = 0; i < t.length; i++) buf[pos + i] = t.charCodeAt(i)
    return pos + t.length
  }
  const end = pos + (n < 100 ? 2 : n < 1_000 ? 3 : n < 10_000 ? 4 : n < 100_000 ? 5 : String(n).length)
  let p = end
  let m = n | 0
  while (m >= 10) {
    const q = (m / 10) | 0
    buf[--p] = 48 + (m - q * 10)
    m = q
  }
  buf[--p] = 48 + m
  return end
}

/** Something with queued output to flush at the end of the current turn. */
export interface Flushable {
  flush(): void
}

const dirty = new Set<Flushable>()
let scheduled = false
let soon = false

const flushDirty = () => {
  // A flush may enqueue more output (e.g. an error then close); loop until quiet.
  for (const f of dirty) {
    dirty.delete(f)
    f.flush()
  }
}

const flushAll = () => {
  scheduled = false
  flushDirty()
}

const flushSoonNow = () => {
  soon = false
  flushDirty()
}

/**
 * Output produced outside I/O callbacks (an actor's batch, which Effect runs from a setImmediate) would wait for
 * the next loop iteration's flush: one more turn of latency on every JetStream reply. Called at the end of such
 * a batch, this flushes once the current macrotask is done instead, so everything the actors running in the
 * same scheduler tick produced still leaves in one write per connection.
 */
export const flushSoon = (): void => {
  if (soon || dirty.size === 0) return
  soon = true
  queueMicrotask(flushSoonNow)
}

/**
 * Marks a connection for flushing after the current I/O phase, so everything produced while
 * processing all reads of this turn leaves in one write per connection.
 */
export const scheduleFlush = (f: Flushable): void => {
  dirty.add(f)
  if (!scheduled) {
    scheduled = true
    setImmediate(flushAll)
  }
}
