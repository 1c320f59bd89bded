/**
 * An event log (EventLog.ts) whose durable copy is one state row in a shared database: the consumer
 * journals of replicated (R3) streams. Events fold in memory as in the other layers; what a commit
 * writes is the folded state (encodeState's JSON), so any number of acks between two commits cost
 * one row update, and a new owner starts from the state of the last commit.
 *
 * `sync` resolves once the state including every event appended before the call is committed; a
 * failed commit (stale term, database gone) leaves the log refusing appends, as ReplicatedLog does.
 * No SQL here: the writer comes from src/cluster/store/StreamLogSql.ts.
 */
import { Effect } from "effect"
import type { EventLog, EventLogOptions } from "./EventLog.ts"
import * as StoreError from "./StoreError.ts"

/** Commits one state (JSON text) atomically, or rejects having committed nothing. */
export interface StateWriter {
  readonly write: (json: string) => Promise<void>
}

export class ReplicatedEventLog<S, E> implements EventLog<S, E> {
  readonly name: string
  private current: S
  private readonly options: EventLogOptions<S, E>
  private readonly writer: StateWriter
  private closed = false
  private appended = 0
  private committed = 0
  private inFlight = false
  private waiters: Array<{ readonly upTo: number; readonly done: (e: StoreError.StoreError | undefined) => void }> = []
  private broken: StoreError.StoreError | undefined

  /** `stored`: the committed state's JSON, or undefined for a log never written. */
  constructor(name: string, stored: string | undefined, options: EventLogOptions<S, E>, writer: StateWriter) {
    this.name = name
    this.options = options
    this.writer = writer
    try {
      this.current = stored === undefined ? options.initial : options.decodeState(JSON.parse(stored))
    } catch (e) {
      throw StoreError.corrupt(name, 0, `stored state does not decode: ${String(e)}`)
    }
  }

  state(): S {
    return this.current
  }

  get failure(): StoreError.StoreError | undefined {
    return this.broken
  }

  /** The committed state is a snapshot: there are never events to replay. */
  get eventsSinceSnapshot(): number {
    return 0
  }

  append(events: ReadonlyArray<E>): S {
    if (this.closed) throw StoreError.closed(this.name)
    if (this.broken !== undefined) throw this.broken
    for (const e of events) this.current = this.options.fold(this.current, e)
    this.appended += events.length
    this.commit()
    return this.current
  }

  /** Commits the current state now (a new consumer's starting point, before any event). */
  snapshot(): void {
    if (this.closed) throw StoreError.closed(this.name)
    if (this.broken !== undefined) throw this.broken
    this.appended++
    this.commit()
  }

  sync(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.callback<void, StoreError.StoreError>((resume) => {
      if (this.broken !== undefined) return resume(Effect.fail(this.broken))
      if (this.committed >= this.appended) return resume(Effect.void)
      this.waiters.push({ upTo: this.appended, done: (e) => resume(e === undefined ? Effect.void : Effect.fail(e)) })
      this.commit()
    })
  }

  close(): Effect.Effect<void, StoreError.StoreError> {
    return Effect.suspend(() => {
      if (this.closed) return Effect.void
      return Effect.ensuring(
        this.broken === undefined ? this.sync() : Effect.void,
        Effect.sync(() => {
          this.closed = true
        })
      )
    })
  }

  /** One commit at a time; the state written is the latest, covering every event appended so far. */
  private commit(): void {
    if (this.inFlight || this.broken !== undefined || this.committed >= this.appended) return
    const upTo = this.appended
    const encode = this.options.encodeState ?? ((s: S): unknown => s)
    const json = JSON.stringify(encode(this.current))
    this.inFlight = true
    this.writer.write(json).then(
      () => {
        this.inFlight = false
        this.committed = upTo
        const still: typeof this.waiters = []
        for (const w of this.waiters) w.upTo <= upTo ? w.done(undefined) : still.push(w)
        this.waiters = still
        this.commit()
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
