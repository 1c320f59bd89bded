/**
 * The set of live streams: each stream runs in its own child Scope (its actor fiber, subscriptions
 * and open log), so deleting one stream closes exactly its resources. On start, file streams are
 * recovered from their metadata and logs.
 */
import { Cause, Effect, Exit, Scope } from "effect"
import { createHash } from "node:crypto"
import type { Logger } from "../log/Log.ts"
import type { EventLogStore } from "../store/EventLogStore.ts"
import type { MetaStore } from "../store/MetaStore.ts"
import type { StoreError } from "../store/StoreError.ts"
import type { StreamStore } from "../store/StreamStore.ts"
import type { AckForm } from "./consumer/AckSubjects.ts"
import { ConsumerActor } from "./consumer/ConsumerActor.ts"
import type { ConsumerContext } from "./consumer/ConsumerContext.ts"
import { journalOptions } from "./consumer/ConsumerJournal.ts"
import { startSequence } from "./consumer/StartSequence.ts"
import { type ApiError, ApiErrors } from "./model/ApiError.ts"
import type { ConsumerConfig } from "./model/ConsumerConfig.ts"
import type { StreamConfig } from "./model/StreamConfig.ts"
import { isReplicated, type ReplicatedStorage } from "./ReplicatedStorage.ts"
import { storeErrorText } from "./stream/StoreFailure.ts"
import { StreamActor } from "./stream/StreamActor.ts"
import type { StreamContext } from "./stream/StreamContext.ts"
import type { OriginLookup, OriginUnreachable } from "./stream/StreamSource.ts"

const UNREACHABLE: OriginUnreachable = { _tag: "OriginUnreachable", error: undefined }

interface Entry {
  readonly actor: StreamActor
  readonly scope: Scope.Closeable
  readonly consumers: Map<string, { readonly actor: ConsumerActor; readonly scope: Scope.Closeable }>
}

export interface RegistryDeps {
  readonly root: Scope.Scope
  readonly fileStore: StreamStore["Service"]
  readonly memoryStore: StreamStore["Service"]
  /** Stream and consumer metadata of file streams (none: nothing is persisted). */
  readonly meta: MetaStore["Service"] | undefined
  /** Consumer progress journals (durable consumers of file streams). */
  readonly journals: EventLogStore["Service"]
  readonly ctx: StreamContext
  readonly log: Logger
  readonly nowMs: () => number
  readonly schedule: (ms: number, f: () => void) => () => void
  /**
   * Origins reached through a mirror's or source's `external` (another account's registry, this
   * one for its own domain); given by JetStream, which knows every account. None: unreachable.
   */
  readonly external?: OriginLookup
  /** Runs background work (inactive consumer removal) supervised by the JetStream scope. */
  readonly run: (effect: Effect.Effect<unknown>) => void
  /** Domain, account hash and reply form of the consumers' ack subjects (consumer/AckSubjects.ts). */
  readonly ackForm?: AckForm
}

/** Journal names become file names: hash the long ones so a 255-byte name still fits. */
const journalName = (stream: string, consumer: string): string => {
  const name = `${stream}/${consumer}`
  return name.length <= 120 ? name : `h-${createHash("sha256").update(name).digest("hex")}`
}

/**
 * The text a store failure puts in an API error, as nats-server puts `err.Error()`: the typed
 * error's message (StoreError says what failed), or the defect's; never a rendered cause.
 */
const failureText = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : String(e)
}

export class StreamRegistry {
  private readonly entries = new Map<string, Entry>()
  private readonly deps: RegistryDeps
  /**
   * Cluster mode: where replicated streams live (set once by the cluster when the account attaches).
   * Without it `num_replicas > 1` is refused, as a single server does.
   */
  replication: ReplicatedStorage | undefined

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
    return [...this.entries.values()].map((e) => e.actor).sort((
      a,
      b
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Opens the log, starts the actor and (for new file streams) persists the metadata. */
  start(config: StreamConfig, created: bigint, persist: boolean): Effect.Effect<StreamActor, ApiError> {
    const deps = this.deps
    const registry = this
    return Effect.gen({ self: this }, function*() {
      const scope = yield* Scope.fork(deps.root)
      const store = config.storage === "memory" ? deps.memoryStore : deps.fileStore
      const replication = isReplicated(config) ? this.replication : undefined
      // A replicated stream's data and config are the cluster store's: nothing of it is kept here.
      if (replication !== undefined) persist = false
      const started = Effect.gen(function*() {
        const log = replication !== undefined ? yield* replication.openLog(config) : yield* store.open(config.name, {
          ...(config.first_seq !== undefined && config.first_seq > 0 ? { firstSeq: config.first_seq } : {}),
          ...(config.compression === "s2" ? { compress: true } : {}),
          ...(config.persist_mode === "async" ? { asyncPersist: true } : {})
        })
        // Mirrors find their origin among the registry's streams, whenever it exists.
        const lookup: OriginLookup = (q) =>
          q.external === undefined ? registry.get(q.name) : deps.external?.(q) ?? UNREACHABLE
        const ctx: StreamContext = { ...deps.ctx, lookup, nowMs: deps.nowMs }
        return yield* StreamActor.make(config, created, log, ctx)
      }).pipe(Scope.provide(scope))
      const actor = yield* started.pipe(
        Effect.catchCause((cause): Effect.Effect<never, ApiError> => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
          deps.log.error(`JetStream could not start stream '${config.name}': ${Cause.pretty(cause)}`)
          return Effect.andThen(
            Scope.close(scope, Exit.void),
            Effect.fail(ApiErrors.streamCreate(`could not open the stream store: ${failureText(cause)}`))
          )
        })
      )
      this.entries.set(config.name, { actor, scope, consumers: new Map() })
      // Mirrors waiting for a stream of this name start following at once.
      for (const e of this.entries.values()) if (e.actor.mirror?.source.name === config.name) e.actor.mirror.poke()
      if (persist && config.storage === "file" && deps.meta !== undefined) {
        const saved = yield* Effect.exit(deps.meta.saveStream({ config, created: String(created) }))
        if (Exit.isFailure(saved)) {
          this.entries.delete(config.name)
          yield* Scope.close(scope, Exit.void)
          yield* store.destroy(config.name).pipe(Effect.ignore)
          const why = Exit.findErrorOption(saved)
          return yield* Effect.fail(ApiErrors.streamCreate(
            `could not persist the stream: ${why._tag === "Some" ? storeErrorText(why.value) : String(saved.cause)}`
          ))
        }
      }
      return actor
    })
  }

  getConsumer(stream: string, name: string): ConsumerActor | undefined {
    return this.entries.get(stream)?.consumers.get(name)?.actor
  }

  consumersOf(stream: string): Array<ConsumerActor> {
    const e = this.entries.get(stream)
    if (e === undefined) return []
    return [...e.consumers.values()].map((c) => c.actor).sort((
      a,
      b
    ) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  get consumerCount(): number {
    let n = 0
    for (const e of this.entries.values()) n += e.consumers.size
    return n
  }

  /** Starts a consumer in a child scope of its stream (deleting the stream stops it). */
  startConsumer(
    stream: string,
    name: string,
    config: ConsumerConfig,
    created: bigint
  ): Effect.Effect<ConsumerActor, ApiError> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      const entry = this.entries.get(stream)
      if (entry === undefined) return yield* Effect.fail(ApiErrors.streamNotFound())
      const scope = yield* Scope.fork(entry.scope)
      const ctx: ConsumerContext = {
        client: deps.ctx.client,
        log: deps.log,
        nowMs: deps.nowMs,
        schedule: deps.schedule,
        acked: (_c, seqs) => entry.actor.retain(seqs),
        inactive: (c) => {
          deps.log.debug(`JetStream removing inactive consumer '${stream} > ${c.name}'`)
          deps.run(this.deleteConsumer(stream, c.name))
        },
        ...(deps.ackForm !== undefined ? { ackForm: deps.ackForm } : {}),
        ...(isReplicated(entry.actor.config) && this.replication !== undefined
          ? { mayDeliver: ((r) => () => r.mayServe(stream))(this.replication) }
          : {})
      }
      // Progress is journaled for consumers on file streams unless they asked for memory state; on
      // replicated streams, for durables, in the cluster store (a new owner resumes from it).
      const replication = isReplicated(entry.actor.config) ? this.replication : undefined
      const durable = replication !== undefined
        ? config.durable_name !== undefined
        : entry.actor.config.storage === "file" && config.mem_storage !== true
      const started = Effect.gen(function*() {
        const options = journalOptions(startSequence(entry.actor, config))
        const journal = !durable
          ? undefined
          : replication !== undefined
          ? yield* replication.openJournal(stream, name, options)
          : yield* deps.journals.open(journalName(stream, name), options)
        // Before its first delivery a consumer's journal holds no event, so a restart would resolve
        // the deliver policy again ("new": past everything stored meanwhile). Its starting point is
        // written now instead, as nats-server stores it at creation (consumer store SetStarting).
        if (journal !== undefined && journal.state().delivered === 0 && journal.eventsSinceSnapshot === 0) {
          yield* Effect.try({ try: () => journal.snapshot(), catch: (e) => e })
        }
        return yield* ConsumerActor.make(entry.actor, name, config, created, ctx, journal)
      }).pipe(Scope.provide(scope))
      const actor = yield* started.pipe(
        Effect.catchCause((cause): Effect.Effect<never, ApiError> => {
          if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
          deps.log.error(`JetStream could not start consumer '${stream} > ${name}': ${Cause.pretty(cause)}`)
          return Effect.andThen(
            Scope.close(scope, Exit.void),
            Effect.fail(ApiErrors.consumerCreate(`could not open the consumer store: ${failureText(cause)}`))
          )
        })
      )
      entry.consumers.set(name, { actor, scope })
      entry.actor.consumers.set(name, actor)
      return actor
    })
  }

  /** `byApi`: a CONSUMER.DELETE request, whose handler's transaction removes a replicated consumer's record. */
  deleteConsumer(stream: string, name: string, byApi = false): Effect.Effect<boolean> {
    return Effect.gen({ self: this }, function*() {
      const entry = this.entries.get(stream)
      const c = entry?.consumers.get(name)
      if (entry === undefined || c === undefined) return false
      entry.consumers.delete(name)
      entry.actor.consumers.delete(name)
      yield* Scope.close(c.scope, Exit.void)
      if (isReplicated(entry.actor.config) && this.replication !== undefined) {
        if (!byApi) yield* this.replication.consumerRemoved(stream, name)
      } else if (entry.actor.config.storage === "file") {
        if (this.deps.meta !== undefined) {
          yield* this.deps.meta.removeConsumer(stream, name).pipe(Effect.catch(this.warn("removing consumer metadata")))
        }
        yield* this.deps.journals.destroy(journalName(stream, name)).pipe(Effect.ignore)
      }
      // Interest retention: messages only this consumer still held may now go.
      if (entry.actor.config.retention === "interest") {
        const st = entry.actor.store.state()
        const seqs: Array<number> = []
        for (let s = st.firstSeq; s <= st.lastSeq && seqs.length < 1_000_000; s++) seqs.push(s)
        entry.actor.retain(seqs)
      }
      return true
    })
  }

  /**
   * Persists a consumer's configuration (file streams). Ephemerals too, as nats-server does: after
   * a restart their clients find them again, and the inactive threshold removes abandoned ones.
   */
  saveConsumer(c: ConsumerActor): void {
    if (c.stream.config.storage !== "file" || this.deps.meta === undefined || this.replicates(c.stream.config)) return
    runNow(this.deps.meta.saveConsumer(c.stream.name, c.name, { config: c.config, created: String(c.created) }))
  }

  /** Persists a changed configuration (file streams); called inside the stream actor, so it throws the StoreError. */
  saveConfig(actor: StreamActor): void {
    if (actor.config.storage !== "file" || this.deps.meta === undefined || this.replicates(actor.config)) return
    runNow(this.deps.meta.saveStream({ config: actor.config, created: String(actor.created) }))
  }

  private warn(what: string) {
    return (e: StoreError) => Effect.sync(() => this.deps.log.warn(`JetStream ${what}: ${e.message}`))
  }

  private replicates(config: StreamConfig): boolean {
    return this.replication !== undefined && isReplicated(config)
  }

  /**
   * Stops a stream here without touching its data (a replicated stream this node no longer owns:
   * lease lost, stepped down, or its log refusing writes until it is reopened from the store).
   */
  unload(name: string): Effect.Effect<boolean> {
    return Effect.gen({ self: this }, function*() {
      const entry = this.entries.get(name)
      if (entry === undefined) return false
      this.entries.delete(name)
      yield* Scope.close(entry.scope, Exit.void)
      return true
    })
  }

  /** Stops the actor, closes its log and removes its data. */
  delete(name: string): Effect.Effect<boolean> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      const entry = this.entries.get(name)
      if (entry === undefined) return false
      this.entries.delete(name)
      yield* Scope.close(entry.scope, Exit.void)
      // The handler's transaction removed a replicated stream's rows (log, consumers) from the cluster store.
      if (this.replicates(entry.actor.config)) return true
      const store = entry.actor.config.storage === "memory" ? deps.memoryStore : deps.fileStore
      yield* store.destroy(name).pipe(
        Effect.catch((e) => Effect.sync(() => deps.log.warn(`deleting stream '${name}' data: ${e.message}`)))
      )
      for (const c of entry.consumers.keys()) yield* deps.journals.destroy(journalName(name, c)).pipe(Effect.ignore)
      if (entry.actor.config.storage === "file" && deps.meta !== undefined) {
        yield* deps.meta.removeStream(name).pipe(Effect.catch(this.warn(`deleting stream '${name}' metadata`)))
      }
      return true
    })
  }

  /** Recovers every persisted file stream; a stream that cannot be opened is logged and skipped. */
  recover(): Effect.Effect<number> {
    const deps = this.deps
    return Effect.gen({ self: this }, function*() {
      if (deps.meta === undefined) return 0
      const loaded = yield* Effect.exit(deps.meta.loadStreams)
      if (Exit.isFailure(loaded)) {
        deps.log.error(`JetStream cannot read the stream metadata: ${String(loaded.cause)}`)
        return 0
      }
      const { metas, problems } = loaded.value
      for (const p of problems) deps.log.error(`JetStream skipping unreadable stream metadata: ${p.message}`)
      let n = 0
      for (const m of metas) {
        const started = Date.now()
        const r = yield* Effect.exit(this.start(m.config, BigInt(m.created), false))
        if (Exit.isSuccess(r)) {
          n++
          const st = r.value.store.state()
          deps.log.info(`  Restored ${st.msgs} messages for stream '${m.config.name}' in ${Date.now() - started}ms`)
          const loadedConsumers = yield* Effect.exit(deps.meta.loadConsumers(m.config.name))
          const consumers = Exit.isSuccess(loadedConsumers) ? loadedConsumers.value : { metas: [], problems: [] }
          if (Exit.isFailure(loadedConsumers)) {
            deps.log.error(
              `JetStream cannot read consumer metadata of '${m.config.name}': ${String(loadedConsumers.cause)}`
            )
          }
          for (const p of consumers.problems) {
            deps.log.error(`JetStream skipping unreadable consumer metadata: ${p.message}`)
          }
          for (const c of consumers.metas) {
            const name = c.name ?? c.config.durable_name ?? c.config.name ?? ""
            const rc = yield* Effect.exit(this.startConsumer(m.config.name, name, c.config, BigInt(c.created)))
            if (Exit.isFailure(rc)) deps.log.error(`JetStream could not restore consumer '${m.config.name} > ${name}'`)
          }
          if (consumers.metas.length > 0) {
            deps.log.info(`  Restored ${consumers.metas.length} consumer(s) for stream '${m.config.name}'`)
          }
        }
      }
      return n
    })
  }
}

/** Runs a metadata write (synchronous in both layers) where the caller is plain code; a failure is thrown. */
const runNow = (effect: Effect.Effect<void, StoreError>): void => {
  const exit = Effect.runSyncExit(effect)
  if (Exit.isFailure(exit)) {
    const e = Exit.findErrorOption(exit)
    throw e._tag === "Some" ? e.value : new Error(String(exit.cause))
  }
}
