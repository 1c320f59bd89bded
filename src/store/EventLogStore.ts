/**
 * Event-sourced metadata: a small append-only log of JSON events per stream or consumer (config created/updated,
 * consumer delivered/acked progress), folded into a state by a caller-supplied function, with periodic snapshots
 * so that reopening costs one snapshot plus at most `snapshotEvery` events, however long the history.
 *
 * ```ts
 * const log = yield* EventLogStore.use((s) => s.open("consumer/ORDERS/worker", {
 *   initial: { ackFloor: 0 }, fold: (s, e) => ..., decodeEvent: Schema.decodeUnknownSync(Event), decodeState: ...
 * }))
 * log.append([{ _tag: "Acked", seq: 42 }])   // written to the OS now
 * yield* log.sync()                          // durable under the layer's SyncPolicy
 * ```
 *
 * Events and states cross a JSON boundary in both layers (the memory layer stores the JSON text too), so a value
 * that does not survive `JSON.stringify` + `decode*` is caught in tests against the memory layer already.
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Log, type Logger } from "../log/Log.ts"
import type { StoreCipher } from "./Cipher.ts"
import type { EventLog, EventLogOptions } from "./EventLog.ts"
import { FileEventLog, fileName } from "./EventLogFile.ts"
import type { SyncPolicy } from "./MessageLog.ts"
import * as StoreError from "./StoreError.ts"
import { stderrLogger } from "./StreamStore.ts"

export class EventLogStore extends Context.Service<EventLogStore, {
  readonly open: <S, E>(
    name: string,
    options: EventLogOptions<S, E>
  ) => Effect.Effect<EventLog<S, E>, StoreError.StoreError, Scope.Scope>
  readonly names: Effect.Effect<ReadonlyArray<string>, StoreError.StoreError>
  readonly destroy: (name: string) => Effect.Effect<void, StoreError.StoreError>
}>()("effect-jetstream/store/EventLog") {
  static readonly layerMemory: Layer.Layer<EventLogStore> = Layer.sync(EventLogStore, () => makeMemory())
  /** File layer; its notes and errors go to the `Log` service when there is one (the broker's), else stderr. */
  static readonly layerFile = (
    options: { readonly dir: string; readonly sync?: SyncPolicy; readonly cipher?: StoreCipher | undefined }
  ): Layer.Layer<EventLogStore> =>
    Layer.effect(EventLogStore)(
      Effect.map(Effect.serviceOption(Log), (log) =>
        makeFile(options.dir, options.sync ?? "write", Option.getOrUndefined(log), options.cipher))
    )
}

/** What the memory layer keeps per log: JSON text, exactly as the file layer would. */
interface MemoryData {
  snapshot: { n: number; json: string } | undefined
  events: Array<string>
  open: boolean
}

class MemoryEventLog<S, E> implements EventLog<S, E> {
  private current: S
  private closed = false
  readonly name: string
  private readonly data: MemoryData
  private readonly options: EventLogOptions<S, E>

  constructor(name: string, data: MemoryData, options: EventLogOptions<S, E>) {
    this.name = name
    this.data = data
    this.options = options
    this.current = data.snapshot === undefined ? options.initial : options.decodeState(JSON.parse(data.snapshot.json))
    for (const json of data.events) this.current = options.fold(this.current, options.decodeEvent(JSON.parse(json)))
  }

  state(): S {
    return this.current
  }
  get eventsSinceSnapshot(): number {
    return this.data.events.length
  }
  append(events: ReadonlyArray<E>): S {
    if (this.closed) throw StoreError.closed(this.name)
    const encode = this.options.encodeEvent ?? ((e: E): unknown => e)
    for (const e of events) {
      this.data.events.push(JSON.stringify(encode(e)))
      this.current = this.options.fold(this.current, e)
    }
    if (this.data.events.length >= (this.options.snapshotEvery ?? 1000)) this.snapshot()
    return this.current
  }
  snapshot(): void {
    if (this.closed) throw StoreError.closed(this.name)
    const encode = this.options.encodeState ?? ((s: S): unknown => s)
    const n = (this.data.snapshot?.n ?? 0) + this.data.events.length
    this.data.snapshot = { n, json: JSON.stringify(encode(this.current)) }
    this.data.events = []
  }
  sync(): Effect.Effect<void, StoreError.StoreError> {
    return this.closed ? Effect.fail(StoreError.closed(this.name)) : Effect.void
  }
  close(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.closed = true
      this.data.open = false
    })
  }
}

const inUse = (stream: string) => new StoreError.StoreError({ reason: new StoreError.InUse({ stream }) })
const notFound = (stream: string) =>
  new StoreError.StoreError({ reason: new StoreError.NotFound({ stream, detail: "no such event log" }) })

/** Decoding failures of stored JSON are corruption, not defects. */
const decodeGuard = <A>(name: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (StoreError.isStoreError(e)) throw e
    throw StoreError.corrupt(name, 0, `stored JSON does not decode: ${String(e)}`)
  }
}

export const makeMemory = (): EventLogStore["Service"] => {
  const logs = new Map<string, MemoryData>()
  return {
    open: <S, E>(name: string, options: EventLogOptions<S, E>) =>
      Effect.acquireRelease(
        StoreError.attempt((): EventLog<S, E> => {
          let data = logs.get(name)
          if (data?.open === true) throw inUse(name)
          if (data === undefined) {
            data = { snapshot: undefined, events: [], open: false }
            logs.set(name, data)
          }
          const log = decodeGuard(name, () => new MemoryEventLog(name, data!, options))
          data.open = true
          return log
        }),
        (log) => Effect.orDie(log.close())
      ),
    names: Effect.sync(() => [...logs.keys()].sort()),
    destroy: (name) =>
      StoreError.attempt(() => {
        const data = logs.get(name)
        if (data === undefined) throw notFound(name)
        if (data.open) throw inUse(name)
        logs.delete(name)
      })
  }
}

export const makeFile = (
  dir: string,
  policy: SyncPolicy,
  logger?: Logger,
  cipher?: StoreCipher
): EventLogStore["Service"] => {
  const open = new Set<string>()
  const out = logger ?? stderrLogger()
  return {
    open: <S, E>(name: string, options: EventLogOptions<S, E>) =>
      Effect.gen(function*() {
        const log = yield* Effect.acquireRelease(
          StoreError.attempt(() => {
            if (open.has(name)) throw inUse(name)
            const log = new FileEventLog(dir, name, options, policy, cipher)
            open.add(name)
            return log
          }),
          (log) =>
            log.close().pipe(
              Effect.catch((e) => Effect.sync(() => out.error(`closing event log "${name}": ${e.message}`))),
              Effect.ensuring(Effect.sync(() => open.delete(name)))
            )
        )
        for (const note of log.notes) out.warn(`event log "${name}": ${note}`)
        return log as EventLog<S, E>
      }),
    names: StoreError.attempt(() => {
      let entries: Array<string>
      try {
        entries = fs.readdirSync(dir)
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return []
        throw StoreError.io(dir, "readdir", e)
      }
      const out = new Set<string>()
      for (const f of entries) {
        const m = /^(.*)\.(events|snap)$/.exec(f)
        if (m === null) continue
        try {
          out.add(decodeURIComponent(m[1]!))
        } catch {
          // Not a name we wrote.
        }
      }
      return [...out].sort()
    }),
    destroy: (name) =>
      StoreError.attempt(() => {
        if (open.has(name)) throw inUse(name)
        const base = path.join(dir, fileName(name))
        if (!fs.existsSync(base + ".events") && !fs.existsSync(base + ".snap")) throw notFound(name)
        for (const ext of [".events", ".snap", ".snap.tmp"]) fs.rmSync(base + ext, { force: true })
      })
  }
}
