/**
 * The set of live streams: each stream runs in its own child Scope (its actor fiber, subscriptions
 * and open log), so deleting one stream closes exactly its resources. On start, file streams are
 * recovered from their metadata and logs.
 */
import { Effect, Exit, Scope } from "effect"
import type { Logger } from "../log/Log.ts"
import type { StreamStore } from "../store/StreamStore.ts"
import { type ApiError, ApiErrors } from "./api/ApiError.ts"
import type { StreamConfig } from "./api/StreamConfig.ts"
import { StreamActor, type StreamContext } from "./stream/StreamActor.ts"
import type { StreamMetaStore } from "./stream/StreamMeta.ts"

interface Entry {
  readonly actor: StreamActor
  readonly scope: Scope.Closeable
}

export interface RegistryDeps {
  readonly root: Scope.Scope
  readonly fileStore: StreamStore["Service"]
  readonly memoryStore: StreamStore["Service"]
  readonly meta: StreamMetaStore | undefined
  readonly ctx: StreamContext
  readonly log: Logger
}

export class StreamRegistry {
  private readonly entries = new Map<string, Entry>()
  private readonly deps: RegistryDeps

  constructor(deps: RegistryDeps) {
    this.deps = deps
  }

  get(name: string): StreamActor | undefined {
    return this.entries.get(name)?.actor
  }

  get size(): number {
    return this.entries.size
  }

  /** Streams sorted by name (nats-server lists them sorted). */
  all(): Array<StreamActor> {
    return [...this.entries.values()].map((e) => e.actor).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Opens the log, starts the actor and (for new file streams) persists the metadata. */
  start(config: StreamConfig, created: bigint, persist: boolean): Effect.Effect<StreamActor, ApiError> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      const scope = yield* Scope.fork(deps.root)
      const store = config.storage === "memory" ? deps.memoryStore : deps.fileStore
      const started = Effect.gen(function*() {
        const log = yield* store.open(config.name, config.first_seq !== undefined && config.first_seq > 0 ? { firstSeq: config.first_seq } : {})
        return yield* StreamActor.make(config, created, log, deps.ctx)
      }).pipe(Scope.provide(scope))
      const exit = yield* Effect.exit(started)
      if (Exit.isFailure(exit)) {
        yield* Scope.close(scope, Exit.void)
        deps.log.error(`JetStream could not start stream '${config.name}': ${String(exit.cause)}`)
        return yield* Effect.fail(ApiErrors.streamCreate(`could not open the stream store: ${String(exit.cause)}`))
      }
      const actor = exit.value
      this.entries.set(config.name, { actor, scope })
      if (persist && config.storage === "file" && deps.meta !== undefined) {
        try {
          deps.meta.save({ config, created: String(created) })
        } catch (e) {
          this.entries.delete(config.name)
          yield* Scope.close(scope, Exit.void)
          return yield* Effect.fail(ApiErrors.streamCreate(`could not persist the stream: ${(e as Error).message}`))
        }
      }
      return actor
    })
  }

  /** Persists a changed configuration (file streams). */
  saveConfig(actor: StreamActor): void {
    if (actor.config.storage === "file") this.deps.meta?.save({ config: actor.config, created: String(actor.created) })
  }

  /** Stops the actor, closes its log and removes its data. */
  delete(name: string): Effect.Effect<boolean> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      const entry = this.entries.get(name)
      if (entry === undefined) return false
      this.entries.delete(name)
      yield* Scope.close(entry.scope, Exit.void)
      const store = entry.actor.config.storage === "memory" ? deps.memoryStore : deps.fileStore
      yield* store.destroy(name).pipe(Effect.catch((e) => Effect.sync(() => deps.log.warn(`deleting stream '${name}' data: ${e.message}`))))
      if (entry.actor.config.storage === "file") deps.meta?.remove(name)
      return true
    })
  }

  /** Recovers every persisted file stream; a stream that cannot be opened is logged and skipped. */
  recover(): Effect.Effect<number> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      if (deps.meta === undefined) return 0
      const { metas, problems } = deps.meta.loadAll()
      for (const p of problems) deps.log.error(`JetStream skipping unreadable stream metadata ${p}`)
      let n = 0
      for (const m of metas) {
        const started = Date.now()
        const r = yield* Effect.exit(this.start(m.config, BigInt(m.created), false))
        if (Exit.isSuccess(r)) {
          n++
          const st = r.value.store.state()
          deps.log.info(`  Restored ${st.msgs} messages for stream '${m.config.name}' in ${Date.now() - started}ms`)
        }
      }
      return n
    })
  }
}
