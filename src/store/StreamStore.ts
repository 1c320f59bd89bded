/**
 * The `StreamStore` service: a factory of per-stream `MessageLog`s, with a memory and a file layer that honour
 * the same contract (spec/store/StreamStore.contract.ts runs one suite against both).
 *
 * ```ts
 * const log = yield* StreamStore.use((s) => s.open("ORDERS", {}))   // scoped: closed with the scope
 * const [seq] = log.appendBatch([{ subject: "orders.1", hdr: undefined, data, ts: nowNs }])
 * yield* log.sync()                                                  // then ack seq
 * ```
 */
import { Context, Effect, Layer, Option } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Log, Logger } from "../log/Log.ts"
import type { StoreCipher } from "./Cipher.ts"
import { dirName, FileLog } from "./FileStore.ts"
import { MemoryLog, type MemoryOptions, MemoryPool } from "./MemoryStore.ts"
import type { MessageLog, StoreConfig, SyncPolicy } from "./MessageLog.ts"
import * as StoreError from "./StoreError.ts"

export interface FileLayerOptions {
  /** Root directory; each stream gets `<dir>/<percent-encoded name>/`. */
  readonly dir: string
  /** Default `"write"`: survives kill -9; see `SyncPolicy`. */
  readonly sync?: SyncPolicy
  /** Config applied under each `open`'s own (segment size, read cache). */
  readonly defaults?: StoreConfig
  /** Encryption at rest: every segment created is encrypted with a key derived from this one (Cipher.ts). */
  readonly cipher?: StoreCipher | undefined
}

export class StreamStore extends Context.Service<StreamStore, {
  readonly kind: "memory" | "file"
  /** Opens or creates the log of stream `name`; it is closed (flushed, synced) when the scope closes. */
  readonly open: (name: string, config?: StoreConfig) => Effect.Effect<MessageLog, StoreError.StoreError, Scope.Scope>
  /** Names of the streams that have a log (for recovery on start). */
  readonly names: Effect.Effect<ReadonlyArray<string>, StoreError.StoreError>
  /** Deletes a stream's log and all its data. The log must not be open. */
  readonly destroy: (name: string) => Effect.Effect<void, StoreError.StoreError>
  /**
   * Accounted bytes held by the layer's logs (open logs for the file layer), a running total kept by every
   * append and removal: cheap enough for the publish path's server-wide limit check.
   */
  readonly usedBytes: () => number
}>()("effect-jetstream/store/StreamStore") {
  /** Memory layer without a byte cap. */
  static readonly layerMemory: Layer.Layer<StreamStore> = Layer.sync(StreamStore, () => makeMemory({}))

  /** Memory layer whose logs together may hold at most `maxBytes` (JetStream `max_memory`). */
  static readonly layerMemoryWith = (options: MemoryOptions): Layer.Layer<StreamStore> =>
    Layer.sync(StreamStore, () => makeMemory(options))

  /** File layer; its notes and errors go to the `Log` service when there is one (the broker's), else stderr. */
  static readonly layerFile = (options: FileLayerOptions): Layer.Layer<StreamStore> =>
    Layer.effect(StreamStore)(
      Effect.map(Effect.serviceOption(Log), (log) => makeFile(options, Option.getOrUndefined(log)))
    )
}

/** Where store notes go without a `Log` service: stderr, as nats-server's default logger. */
export const stderrLogger = (): Logger => new Logger({ debug: false, trace: false, logtime: true, file: undefined })

const inUse = (stream: string) => new StoreError.StoreError({ reason: new StoreError.InUse({ stream }) })

export const makeMemory = (options: MemoryOptions): StreamStore["Service"] => {
  const pool = new MemoryPool(options.maxBytes ?? Infinity)
  return {
    kind: "memory",
    open: (name, config = {}) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          let log = pool.logs.get(name)
          if (log?.inUse === true) return Effect.fail(inUse(name))
          if (log === undefined) {
            log = new MemoryLog(name, config, pool)
            pool.logs.set(name, log)
          }
          return Effect.succeed(log.acquire() as MessageLog)
        }),
        (log) => Effect.orDie(log.close())
      ),
    names: Effect.sync(() => [...pool.logs.keys()].sort()),
    usedBytes: () => pool.used,
    destroy: (name) =>
      Effect.suspend(() => {
        const log = pool.logs.get(name)
        if (log === undefined) {
          return Effect.fail(
            new StoreError.StoreError({ reason: new StoreError.NotFound({ stream: name, detail: "no such stream" }) })
          )
        }
        if (log.inUse) return Effect.fail(inUse(name))
        log.destroy()
        pool.logs.delete(name)
        return Effect.void
      })
  }
}

export const makeFile = (options: FileLayerOptions, logger?: Logger): StreamStore["Service"] => {
  const layerPolicy = options.sync ?? "write"
  const open = new Set<string>()
  const usage = { bytes: 0 }
  const log = logger ?? stderrLogger()
  return {
    kind: "file",
    usedBytes: () => usage.bytes,
    open: (name, config = {}) =>
      Effect.gen(function*() {
        const policy = config.asyncPersist === true && layerPolicy === "always" ? "write" : layerPolicy
        const fileLog = yield* Effect.acquireRelease(
          Effect.suspend(() => {
            if (open.has(name)) return Effect.fail(inUse(name))
            return StoreError.attempt(() =>
              FileLog.openSync(
                path.join(options.dir, dirName(name)),
                name,
                { ...options.defaults, ...config },
                policy,
                usage,
                options.cipher
              )
            )
          }).pipe(Effect.tap(() => Effect.sync(() => open.add(name)))),
          (fileLog) =>
            fileLog.close().pipe(
              Effect.catch((e) => Effect.sync(() => log.error(`closing stream log "${name}": ${e.message}`))),
              Effect.ensuring(Effect.sync(() => open.delete(name)))
            )
        )
        for (const note of fileLog.report.notes) log.warn(`stream log "${name}": ${note}`)
        if (typeof policy === "object") {
          yield* Effect.forkScoped(Effect.forever(
            Effect.sleep(policy.intervalMs).pipe(
              Effect.andThen(Effect.tryPromise(() => fileLog.syncNow())),
              // A failed fsync leaves the log refusing writes, and syncNow then does nothing: logged once.
              Effect.catch((e) => Effect.sync(() => log.error(`periodic fsync of "${name}" failed: ${String(e)}`)))
            )
          ))
        }
        return fileLog as MessageLog
      }),
    names: StoreError.attempt(() => {
      let entries: Array<fs.Dirent>
      try {
        entries = fs.readdirSync(options.dir, { withFileTypes: true })
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return []
        throw StoreError.io(options.dir, "readdir", e)
      }
      const out: Array<string> = []
      for (const e of entries) {
        if (!e.isDirectory()) continue
        try {
          out.push(decodeURIComponent(e.name))
        } catch {
          // Not one of ours (not valid percent-encoding): leave it alone.
        }
      }
      return out.sort()
    }),
    destroy: (name) =>
      StoreError.attempt(() => {
        if (open.has(name)) throw inUse(name)
        const dir = path.join(options.dir, dirName(name))
        if (!fs.existsSync(dir)) {
          throw new StoreError.StoreError({ reason: new StoreError.NotFound({ stream: name, detail: dir }) })
        }
        StoreError.ioSync(dir, "rm", () => fs.rmSync(dir, { recursive: true, force: true }))
      })
  }
}
