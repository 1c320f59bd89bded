/**
 * A bounded cache of 64 KiB chunks of segment files, least recently used out first.
 *
 * Consumers mostly read sequentially (a replay, or the tail right behind the writer), so reading a whole chunk
 * turns ~500 small preads of 128-byte messages into one. Messages are returned as views into a chunk, not copies;
 * an evicted chunk stays alive as long as a caller holds such a view. A record that straddles a chunk boundary or
 * is bigger than a chunk is read on its own, uncached.
 */
import type { Segment } from "./Segment.ts"
import { readUpTo } from "./Segment.ts"
import * as StoreError from "./StoreError.ts"

export const CHUNK = 64 * 1024
const CHUNKS_PER_SEGMENT = 65536 // segments are < 4 GiB

export class ReadCache {
  private readonly chunks = new Map<number, Buffer>()
  private readonly maxChunks: number
  /** Offset of the requested record inside the buffer returned by the last `read`. */
  at = 0
  private lastSeg = 0
  private lastEnd = -1
  /** The chunk of the last hit: already the most recent, so a run of reads in it skips the reordering. */
  private mruKey = -1

  constructor(maxBytes: number) {
    this.maxChunks = Math.max(1, Math.floor(maxBytes / CHUNK))
  }

  /** Returns a buffer holding `len` bytes of `seg` at `off`, starting at `this.at`. */
  read(seg: Segment, fd: number, off: number, len: number): Buffer {
    const c = Math.floor(off / CHUNK)
    const chunkStart = c * CHUNK
    const key = seg.id * CHUNKS_PER_SEGMENT + c
    let chunk = this.chunks.get(key)
    const sequential = seg.id === this.lastSeg && off === this.lastEnd
    this.lastSeg = seg.id
    this.lastEnd = off + len
    // Read a whole chunk only when it pays: the reader is moving forward. A random read fetches just the record.
    const hit = chunk !== undefined && chunk.length >= off + len - chunkStart
    if (!hit && (!sequential || off + len > chunkStart + CHUNK)) {
      const buf = Buffer.allocUnsafe(len)
      if (readUpTo(seg.path, fd, buf, 0, len, off) !== len) throw short(seg, off)
      this.at = 0
      return buf
    }
    if (hit) {
      // Refresh recency (Map iteration order is insertion order) when another chunk was used since: a delete and
      // set per read left the Map full of deleted slots that every lookup then walked past.
      if (key !== this.mruKey) {
        this.chunks.delete(key)
        this.chunks.set(key, chunk!)
      }
    } else {
      const buf = Buffer.allocUnsafe(CHUNK)
      const n = readUpTo(seg.path, fd, buf, 0, Math.min(CHUNK, seg.size - chunkStart), chunkStart)
      if (n < off + len - chunkStart) throw short(seg, off)
      chunk = buf.subarray(0, n)
      this.chunks.delete(key)
      this.chunks.set(key, chunk)
      if (this.chunks.size > this.maxChunks) this.chunks.delete(this.chunks.keys().next().value!)
    }
    this.mruKey = key
    this.at = off - chunkStart
    return chunk!
  }

  /** Forgets the chunk holding `off` (after an erase overwrote bytes there). */
  invalidate(seg: Segment, off: number, len: number): void {
    for (let c = Math.floor(off / CHUNK); c * CHUNK < off + len; c++) {
      this.chunks.delete(seg.id * CHUNKS_PER_SEGMENT + c)
    }
  }

  dropSegment(seg: Segment): void {
    for (const key of [...this.chunks.keys()]) {
      if (Math.floor(key / CHUNKS_PER_SEGMENT) === seg.id) this.chunks.delete(key)
    }
  }

  clear(): void {
    this.chunks.clear()
  }
}

const short = (seg: Segment, off: number) =>
  StoreError.corrupt(seg.path, off, "record extends past the end of the file")
