/**
 * The `Nats-Msg-Id` duplicate window: ids with the sequence they were stored at, expired from the
 * oldest end as time passes. Entries are kept in arrival order so expiry never scans the window.
 */
export interface DedupeEntry {
  readonly id: string
  readonly seq: number
  readonly ts: bigint
}

export class Dedupe {
  private readonly byId = new Map<string, DedupeEntry>()
  private order: Array<DedupeEntry> = []
  private head = 0
  private windowNs: bigint

  constructor(windowNs: bigint) {
    this.windowNs = windowNs
  }

  setWindow(windowNs: bigint): void {
    this.windowNs = windowNs
  }

  get size(): number {
    return this.byId.size
  }

  /** The sequence a live duplicate was stored at, or undefined. */
  check(id: string, nowNs: bigint): number | undefined {
    this.expire(nowNs)
    return this.byId.get(id)?.seq
  }

  record(id: string, seq: number, ts: bigint): void {
    if (this.windowNs <= 0n) return
    const e = { id, seq, ts }
    this.byId.set(id, e)
    this.order.push(e)
  }

  /** Forgets the ids recorded at sequences above `seq` (their appends were taken back). They are the newest. */
  forgetAbove(seq: number): void {
    const order = this.order
    while (order.length > this.head && order[order.length - 1]!.seq > seq) {
      const e = order.pop()!
      if (this.byId.get(e.id) === e) this.byId.delete(e.id)
    }
  }

  expire(nowNs: bigint): void {
    const cutoff = nowNs - this.windowNs
    const order = this.order
    while (this.head < order.length && order[this.head]!.ts < cutoff) {
      const e = order[this.head++]!
      // A later record of the same id replaced this one; only drop the current mapping.
      if (this.byId.get(e.id) === e) this.byId.delete(e.id)
    }
    if (this.head > 1024 && this.head * 2 > order.length) {
      this.order = order.slice(this.head)
      this.head = 0
    }
  }
}
