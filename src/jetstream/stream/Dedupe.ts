/**
 * The `Nats-Msg-Id` duplicate window: ids with the sequence they were stored at, expired from the
 * oldest end as time passes. Entries are kept in arrival order so expiry never scans the window.
 */
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"

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

/** The stream actor's window and what it reads to rebuild it. */
export interface DedupeOwner {
  readonly config: { readonly duplicate_window: number }
  readonly store: MessageLog
  readonly ctx: { readonly nowNs: () => bigint }
  readonly dedupe: Dedupe
  lastMsgId: string
}

/** Rebuilds the duplicate window from the messages still inside it (restart, window change). */
export const rebuildDedupe = (s: DedupeOwner): void => {
  const window = BigInt(s.config.duplicate_window)
  s.dedupe.setWindow(window)
  if (window <= 0n) return
  const from = s.store.firstSeqAtOrAfterTime(s.ctx.nowNs() - window)
  if (from === undefined) return
  const last = s.store.state().lastSeq
  for (let seq = from; seq <= last; seq++) {
    const m: StoredMessage | undefined = s.store.get(seq)
    if (m?.hdr === undefined) continue
    const id = headerValue(m.hdr, "Nats-Msg-Id")
    if (id !== undefined && id !== "") {
      s.dedupe.record(id, m.seq, m.ts)
      s.lastMsgId = id
    }
  }
}
