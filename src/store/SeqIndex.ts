/**
 * The per-sequence index: parallel typed arrays with one slot per sequence in [base, base + count).
 *
 * 20 bytes a message (subject id, timestamp, segment offset, accounted size) instead of one JS object per
 * message, so a million stored messages cost ~20-40 MB of off-heap typed arrays and no GC pressure. A slot with
 * subject id 0 holds no message (deleted, purged or a gap). Removing from the head only moves `head`; the arrays
 * are compacted lazily when the dead prefix is more than half the capacity.
 *
 * `refs` is an optional JS column for the memory layer, which must hold the message objects somewhere.
 */

const MIN_CAPACITY = 1024

export class SeqIndex<R = never> {
  /** Sequence of slot 0. */
  base: number
  count = 0
  head = 0
  /** Subject id + 0 = no message. Arrays are replaced on growth: do not keep references across `push`. */
  sid: Uint32Array
  ts: BigInt64Array
  off: Uint32Array
  size: Uint32Array
  /** The file layer's record length on disk (compressed records are shorter than their size says). */
  frame: Uint32Array
  refs: Array<R | undefined> | undefined

  constructor(base: number, withRefs: boolean) {
    this.base = base
    this.sid = new Uint32Array(MIN_CAPACITY)
    this.ts = new BigInt64Array(MIN_CAPACITY)
    this.off = new Uint32Array(MIN_CAPACITY)
    this.size = new Uint32Array(MIN_CAPACITY)
    this.frame = new Uint32Array(MIN_CAPACITY)
    this.refs = withRefs ? [] : undefined
  }

  /** One past the highest sequence with a slot. */
  get end(): number {
    return this.base + this.count
  }

  /** Array position of `seq`, or -1 when it has no slot. */
  pos(seq: number): number {
    const i = seq - this.base
    return i >= 0 && i < this.count ? this.head + i : -1
  }

  push(sid: number, ts: bigint, off: number, size: number, ref?: R, frame = 0): void {
    if (this.head + this.count === this.sid.length) this.makeRoom()
    const p = this.head + this.count
    this.sid[p] = sid
    this.ts[p] = ts
    this.off[p] = off
    this.size[p] = size
    this.frame[p] = frame
    if (this.refs !== undefined) this.refs[p] = ref
    this.count++
  }

  /** Forgets every slot below `seq` (which may be past the end: the index then restarts there). */
  dropBelow(seq: number): void {
    if (seq <= this.base) return
    if (seq >= this.end) {
      this.reset(seq)
      return
    }
    const n = seq - this.base
    if (this.refs !== undefined) this.refs.fill(undefined, this.head, this.head + n)
    this.head += n
    this.count -= n
    this.base = seq
    const cap = this.sid.length
    if (cap > MIN_CAPACITY * 4 && this.count < cap / 8) this.resize(Math.max(MIN_CAPACITY, this.count * 2))
  }

  /** Forgets every slot from `seq` up (an append that never reached the disk is taken back). */
  dropFrom(seq: number): void {
    const keep = Math.max(0, Math.min(this.count, seq - this.base))
    if (this.refs !== undefined) this.refs.fill(undefined, this.head + keep, this.head + this.count)
    this.count = keep
  }

  reset(base: number): void {
    this.base = base
    this.count = 0
    this.head = 0
    if (this.sid.length > MIN_CAPACITY * 4) this.resize(MIN_CAPACITY)
    else if (this.refs !== undefined) this.refs = []
  }

  private makeRoom(): void {
    const cap = this.sid.length
    // Reuse the dead prefix when it is large; otherwise double.
    this.resize(this.head > cap / 2 ? cap : cap * 2)
  }

  private resize(cap: number): void {
    const h = this.head
    const e = h + this.count
    const sid = new Uint32Array(cap)
    sid.set(this.sid.subarray(h, e))
    const ts = new BigInt64Array(cap)
    ts.set(this.ts.subarray(h, e))
    const off = new Uint32Array(cap)
    off.set(this.off.subarray(h, e))
    const size = new Uint32Array(cap)
    size.set(this.size.subarray(h, e))
    const frame = new Uint32Array(cap)
    frame.set(this.frame.subarray(h, e))
    this.sid = sid
    this.ts = ts
    this.off = off
    this.size = size
    this.frame = frame
    if (this.refs !== undefined) this.refs = this.refs.slice(h, e)
    this.head = 0
  }
}
