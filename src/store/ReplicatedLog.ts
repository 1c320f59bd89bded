/**
 * A message log whose durable copy lives in a shared database (the cluster store, for R3 streams) and
 * whose reads come from an in-memory copy, as the memory layer's. The semantics are BaseLog's; what is
 * new is how changes become durable: every change is queued as an operation, and a `LogWriter` commits
 * the queue in one transaction at a time. The changes made while a commit is in flight all go in the
 * next one (group commit), so a burst of publishes costs one round of transactions, not one each.
 *
 * `sync` resolves once everything changed before the call is committed; a commit that fails (the
 * writer lost its fencing term, the database is gone) leaves the log refusing writes for good: its
 * in-memory state is ahead of the database, and only a reopen from the database is the truth again.
 *
 * This file knows no SQL: the writer and the snapshot come from the layer that does
 * (src/cluster/store/StreamLogSql.ts).
 */
import { Effect } from "effect"
import { BaseLog, Mark } from "./BaseLog.ts"
import type { AppendRecord, StoredMessage } from "./MessageLog.ts"
import { accountedSize } from "./Record.ts"
import * as StoreError from "./StoreError.ts"

/** One change, in the order the log made it. `remove` is one message; `floor` drops everything below. */
export type LogOp =
  | { readonly kind: "append"; readonly msgs: Array<StoredMessage> }
  | { readonly kind: "remove"; readonly seq: number }
  | { readonly kind: "floor"; readonly seq: number }

/** What one commit carries: the operations, and the log's bounds once they are applied. */
export interface LogBatch {
  readonly ops: ReadonlyArray<LogOp>
  readonly firstSeq: number
  readonly lastSeq: number
  /** Kept when every message is gone: the next append's timestamp is compared with it. */
  readonly lastTs: bigint
}

/** Commits one batch atomically, or rejects having committed nothing of it. */
export interface LogWriter {
  readonly write: (batch: LogBatch) => Promise<void>
}

/** The durable state a log is rebuilt from: its sequence bounds and its live messages, ascending. */
export interface LogSnapshot {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly lastTs: bigint
  readonly msgs: ReadonlyArray<StoredMessage>
}

interface Waiter {
  readonly upTo: number
  readonly done: (error: StoreError.StoreError | undefined) => void
}

/** Counters a benchmark or test reads: how many commits carried how many operations. */
export interface CommitStats {
  commits: number
  ops: number
  largest: number
}

export class ReplicatedLog extends BaseLog<StoredMessage> {
  private readonly writer: LogWriter
  private pending: Array<LogOp> = []
  /** Operations queued since open; `committed` of them are durable. */
  private queued = 0
  private committed = 0
  private inFlight = false
  private scheduled = false
  private waiters: Array<Waiter> = []
  private broken: StoreError.StoreError | undefined
  readonly stats: CommitStats = { commits: 0, ops: 0, largest: 0 }

  private constructor(name: string, firstSeq: number, writer: LogWriter) {
    super(name, firstSeq, true)
    this.writer = writer
  }

  /** A log with nothing stored yet. */
  static create(name: string, firstSeq: number, writer: LogWriter): ReplicatedLog {
    return new ReplicatedLog(name, firstSeq, writer)
  }

  /** The log as the database holds it (failover: the new owner starts from exactly what was committed). */
  static restore(name: string, snapshot: LogSnapshot, writer: LogWriter): ReplicatedLog {
    const log = new ReplicatedLog(name, snapshot.firstSeq, writer)
    let next = snapshot.firstSeq
    for (const m of snapshot.msgs) {
      if (m.seq < next) throw StoreError.corrupt(name, m.seq, `message ${m.seq} below the log's floor ${next}`)
      // Deleted messages in the middle are absent rows: holes in the index.
      for (; next < m.seq; next++) log.indexHole(next, m.ts)
      log.indexAppend(m.seq, m.subject, m.ts, 0, sizeOf(m), m)
      next = m.seq + 1
    }
    for (; next <= snapshot.lastSeq; next++) log.indexHole(next, snapshot.lastTs)
    log.lastTs = snapshot.lastTs
    return log
  }

  override get failure(): StoreError.StoreError | undefined {
    return this.broken
  }

  protected override assertWritable(): void {
    super.assertWritable()
    if (this.broken !== undefined) throw this.broken
  }

  appendBatch(records: ReadonlyArray<AppendRecord>): Array<number> {
    this.assertWritable()
    let seq = this.reserve(records.length)
    const out = new Array<number>(records.length)
    const msgs = new Array<StoredMessage>(records.length)
    for (let i = 0; i < records.length; i++, seq++) {
      const r = records[i]!
      // Copy: the caller's buffers are views into a connection's read buffer that will be reused.
      const msg: StoredMessage = {
        seq,
        subject: r.subject,
        hdr: r.hdr === undefined ? undefined : r.hdr.slice(),
        data: r.data.slice(),
        ts: r.ts
      }
      this.indexAppend(seq, r.subject, r.ts, 0, sizeOf(msg), msg)
      msgs[i] = msg
      out[i] = seq
    }
    const last = this.pending[this.pending.length - 1]
    if (last?.kind === "append") {
      // One multi-row insert for consecutive appends; still counted, so a sync waits for them.
      for (const m of msgs) last.msgs.push(m)
      this.queued++
    } else this.enqueue({ kind: "append", msgs })
    this.schedule()
    return out
  }

  flush(): void {
    this.assertOpen()
    this.schedule()
  }

  sync(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.callback<void, StoreError.StoreError>((resume) => {
      if (this.broken !== undefined) return resume(Effect.fail(this.broken))
      if (this.committed >= this.queued) return resume(Effect.void)
      this.waiters.push({
        upTo: this.queued,
        done: (e) => resume(e === undefined ? Effect.void : Effect.fail(e))
      })
      this.schedule()
    })
  }

  compact(): void {
    this.assertOpen()
  }

  /** Nothing is compressed here: the database stores the bytes as given. */
  setCompression(_on: boolean): void {}

  close(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      if (this.isClosed) return Effect.void
      return Effect.ensuring(
        this.broken === undefined ? this.sync() : Effect.void,
        Effect.sync(() => {
          this.isClosed = true
        })
      )
    })
  }

  protected load(_seq: number, pos: number): StoredMessage {
    return this.index.refs![pos]!
  }

  protected dropped(seq: number, pos: number, mark: Mark): void {
    this.index.refs![pos] = undefined
    if (mark !== Mark.Floor) this.enqueue({ kind: "remove", seq })
  }

  protected floorRaised(seq: number): void {
    this.enqueue({ kind: "floor", seq })
  }

  protected settle(): void {
    this.schedule()
  }

  // ---- group commit ------------------------------------------------------------------------------------------

  private enqueue(op: LogOp): void {
    this.pending.push(op)
    this.queued++
  }

  /** Starts a commit after the current synchronous batch (an actor's burst becomes one commit). */
  private schedule(): void {
    if (this.scheduled || this.inFlight || this.pending.length === 0) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.commit()
    })
  }

  private commit(): void {
    if (this.inFlight || this.pending.length === 0 || this.broken !== undefined) return
    const ops = this.pending
    this.pending = []
    const upTo = this.queued
    this.inFlight = true
    const batch: LogBatch = { ops, firstSeq: this.firstSeq, lastSeq: this.lastSeq, lastTs: this.lastTs }
    let count = 0
    for (const op of ops) count += op.kind === "append" ? op.msgs.length : 1
    this.writer.write(batch).then(
      () => {
        this.inFlight = false
        this.committed = upTo
        this.stats.commits++
        this.stats.ops += count
        if (count > this.stats.largest) this.stats.largest = count
        const still: Array<Waiter> = []
        for (const w of this.waiters) w.upTo <= upTo ? w.done(undefined) : still.push(w)
        this.waiters = still
        this.schedule()
      },
      (cause: unknown) => {
        this.inFlight = false
        this.broken = StoreError.io(this.name, "commit", cause)
        const waiters = this.waiters
        this.waiters = []
        for (const w of waiters) w.done(this.broken)
      }
    )
  }
}

const sizeOf = (m: StoredMessage): number => accountedSize(m.subject.length, m.hdr?.length ?? 0, m.data.length)
