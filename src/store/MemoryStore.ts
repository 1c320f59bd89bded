/**
 * The memory layer: messages live on the JS heap (one object per message, which is the point of a memory
 * stream), indexed by the same `SeqIndex` as the file layer. Logs are kept by name inside the layer instance, so
 * close-and-reopen within one process sees the same data (the in-process equivalent of a restart).
 *
 * `maxBytes` caps the accounted bytes of all logs of the layer together (JetStream's `max_memory`): an append
 * that would exceed it throws `LimitExceeded` and stores nothing.
 */
import { Effect } from "effect"
import { BaseLog, type Mark } from "./BaseLog.ts"
import type { AppendRecord, StoreConfig, StoredMessage } from "./MessageLog.ts"
import { accountedSize } from "./Record.ts"
import * as StoreError from "./StoreError.ts"

export interface MemoryOptions {
  readonly maxBytes?: number
}

/** Shared accounting of one memory layer instance. */
export class MemoryPool {
  used = 0
  readonly logs = new Map<string, MemoryLog>()
  readonly maxBytes: number
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }
}

export class MemoryLog extends BaseLog<StoredMessage> {
  private handleOpen = false

  private readonly pool: MemoryPool

  constructor(name: string, config: StoreConfig, pool: MemoryPool) {
    super(name, config.firstSeq ?? 1, true)
    this.pool = pool
  }

  /** Hands out the log for a new owner (the previous owner must have closed it). */
  acquire(): this {
    this.isClosed = false
    this.handleOpen = true
    return this
  }

  appendBatch(records: ReadonlyArray<AppendRecord>): Array<number> {
    this.assertOpen()
    let add = 0
    for (const r of records) add += accountedSize(r.subject.length, r.hdr?.length ?? 0, r.data.length)
    if (this.pool.used + add > this.pool.maxBytes) {
      throw new StoreError.StoreError({
        reason: new StoreError.LimitExceeded({
          limit: "memory store bytes",
          max: this.pool.maxBytes,
          requested: this.pool.used + add
        })
      })
    }
    let seq = this.reserve(records.length)
    const out = new Array<number>(records.length)
    for (let i = 0; i < records.length; i++, seq++) {
      const r = records[i]!
      const size = accountedSize(r.subject.length, r.hdr?.length ?? 0, r.data.length)
      // Copy: the caller's buffers are usually views into a connection's read buffer that will be reused.
      const msg: StoredMessage = {
        seq,
        subject: r.subject,
        hdr: r.hdr === undefined ? undefined : r.hdr.slice(),
        data: r.data.slice(),
        ts: r.ts
      }
      this.indexAppend(seq, r.subject, r.ts, 0, size, msg)
      out[i] = seq
    }
    this.pool.used += add
    return out
  }

  flush(): void {
    this.assertOpen()
  }

  sync(): Effect.Effect<void, StoreError.StoreError> {
    return StoreError.attempt(() => this.assertOpen())
  }

  compact(): void {
    this.assertOpen()
  }

  /** nats-server's memory store ignores `compression` too: nothing here is on disk. */
  setCompression(_on: boolean): void {}

  close(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.isClosed = true
      this.handleOpen = false
    })
  }

  get inUse(): boolean {
    return this.handleOpen
  }

  /** Drops everything (stream deleted). */
  destroy(): void {
    this.isClosed = false // purge below releases the pool bytes
    this.purge()
    this.isClosed = true
    this.handleOpen = false
  }

  protected load(_seq: number, pos: number): StoredMessage {
    return this.index.refs![pos]!
  }

  protected dropped(_seq: number, pos: number, _mark: Mark): void {
    this.pool.used -= this.index.size[pos]!
    this.index.refs![pos] = undefined
  }

  protected floorRaised(_seq: number): void {}

  protected settle(): void {}
}
