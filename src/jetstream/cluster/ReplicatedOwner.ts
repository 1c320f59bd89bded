/**
 * The owner's side of a replicated (R3) stream: taking it (its lease, then its log, its config and
 * its durable consumers from the cluster store, so it serves exactly what was committed) and
 * letting it go (the actors stop here, the data stays in the store for the next owner).
 *
 * An owner lets a stream go when it loses the lease (a zombie: SIGSTOPped or cut off while the
 * meta leader moved the stream), when its log refuses writes (a commit failed: the store is behind
 * the memory copy, so only a reload is the truth again), and on a stepdown. Whatever the zombie
 * still tries to commit fails its fence, so nothing it does after the takeover is acknowledged.
 */
import { Effect, Exit, Schema } from "effect"
import { streamAsset } from "../../cluster/store/ClusterSchema.ts"
import { type ClusterStoreError, Sql, type StreamRow } from "../../cluster/store/ClusterStore.ts"
import { ConsumerMetaDoc } from "../../store/MetaDocuments.ts"
import { parseTime } from "../codec/GoTime.ts"
import { decodeStreamCreate } from "../model/StreamConfig.ts"
import { isReplicated } from "../ReplicatedStorage.ts"
import type { LocalAccount } from "./ClusterGate.ts"
import { type ClusterView, key, LEASE_MS } from "./ClusterView.ts"

const decodeConsumer = Schema.decodeUnknownExit(ConsumerMetaDoc, { onExcessProperty: "error", errors: "all" })

/** The stream's creation time as its first owner reported it (every owner shows the same). */
const createdOf = (row: StreamRow): bigint => {
  const created = (row.result as { created?: unknown } | undefined)?.created
  return (typeof created === "string" ? parseTime(created) : undefined) ?? BigInt(Date.now()) * 1_000_000n
}

/**
 * Takes `row` (assigned to this node, ready, not running here). A lease still held elsewhere (the
 * previous owner's has not expired yet) is retried by the next tick.
 */
export const takeOver = (
  view: ClusterView,
  local: LocalAccount,
  row: StreamRow
): Effect.Effect<void, ClusterStoreError> =>
  Effect.gen(function*() {
    const { store, options } = view
    const { log } = options
    const k = key(row.account, row.name)
    const asset = streamAsset(row.account, row.name)
    const started = Date.now()
    const asked = Date.now()
    const term = yield* store.acquire(asset, options.serverName, LEASE_MS)
    if (term === undefined) return
    // Moved away while the lease was being taken (a stepdown hands the lease over expired): give it back.
    if (view.streams.get(k)?.owner !== options.serverName) {
      return yield* Effect.ignore(store.release({ asset, owner: options.serverName, term }))
    }
    view.terms.set(k, term)
    view.leaseUntil.set(k, asked + LEASE_MS)
    const giveUp = (why: string) =>
      Effect.gen(function*() {
        log.error(`JetStream cluster: cannot take stream ${row.account} > ${row.name}: ${why}`)
        yield* local.registry.unload(row.name)
        view.terms.delete(k)
        yield* Effect.ignore(store.release({ asset, owner: options.serverName, term }))
      })
    const decoded = decodeStreamCreate(JSON.stringify(row.config), row.name, { clustered: true })
    if (!decoded.ok) return yield* giveUp(`its config does not decode: ${decoded.error.description}`)
    const opened = yield* Effect.exit(local.registry.start(decoded.config, createdOf(row), false))
    if (Exit.isFailure(opened)) return yield* giveUp(String(Exit.findErrorOption(opened)))
    const consumers = yield* Effect.orElseSucceed(store.exec(Sql.consumersOfStream, [row.account, row.name]), () => [])
    let restored = 0
    for (const c of consumers) {
      const doc = decodeConsumer(c.config)
      if (Exit.isFailure(doc)) {
        log.error(`JetStream cluster: skipping consumer ${row.name} > ${String(c.name)}: its record does not decode`)
        continue
      }
      const m = doc.value
      const name = m.name ?? m.config.durable_name ?? String(c.name)
      const r = yield* Effect.exit(local.registry.startConsumer(row.name, name, m.config, BigInt(m.created)))
      if (Exit.isFailure(r)) log.error(`JetStream cluster: could not restore consumer ${row.name} > ${name}`)
      else restored++
    }
    const st = opened.value.store.state()
    log.info(
      `JetStream cluster: owning replicated stream ${row.account} > ${row.name} (term ${term}): ${st.msgs} messages, ${restored} consumer(s), in ${
        Date.now() - started
      }ms`
    )
  })

/** Stops serving a replicated stream here (its data stays in the store). */
export const letGo = (view: ClusterView, local: LocalAccount, name: string, why: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const actor = local.registry.get(name)
    view.terms.delete(key(local.account, name))
    view.leaseUntil.delete(key(local.account, name))
    if (actor === undefined || !isReplicated(actor.config)) return
    yield* local.registry.unload(name)
    view.options.log.warn(`JetStream cluster: stopped serving stream ${local.account} > ${name}: ${why}`)
  })

/**
 * The replicated streams this node runs whose log, or one of whose consumers' states, refuses
 * writes (a failed commit): reloaded from the store.
 */
export const brokenLogs = (local: LocalAccount): Array<string> =>
  local.registry.all().filter((a) =>
    isReplicated(a.config) &&
    (a.store.failure !== undefined || local.registry.consumersOf(a.name).some((c) => c.journalFailure !== undefined))
  ).map((a) => a.name)
