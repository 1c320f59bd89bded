/**
 * JetStream cluster mode on the PostgreSQL cluster store (src/cluster/store): this node's
 * heartbeat, its leases, the meta leader election, and the cached view of the assignments every
 * API decision reads synchronously.
 *
 * Every second a node: refreshes its heartbeat (with its usage), renews the leases it holds (the
 * meta lease, its streams'), tries to take the meta lease when nobody holds it live, re-reads the
 * nodes and assignments, and acts on the assignments that name it (create a pending stream; take
 * the lease of a stream it owns: after a restart that re-adopts the streams recovered from its
 * file store). A NOTIFY hint makes it do the same at once; the tick is what makes a lost hint
 * harmless. Leases last LEASE_MS by PostgreSQL's clock, so a node that dies loses the meta lease
 * within that time and its streams are reported offline once its heartbeat is that old.
 */
import { Cause, Effect, FiberSet, Layer, type Scope } from "effect"
import { META_ASSET, streamAsset } from "../../cluster/store/ClusterSchema.ts"
import * as ClusterStore from "../../cluster/store/ClusterStore.ts"
import type { AccountUsage, StreamRow } from "../../cluster/store/ClusterStore.ts"
import { AT_LEVEL_210 } from "../../config/BrokerConfig.ts"
import { createStream } from "../api/StreamApi.ts"
import { encodeJson } from "../codec/Json.ts"
import { ApiErrors } from "../model/ApiError.ts"
import { encodeStreamConfig } from "../model/StreamConfigEncode.ts"
import { type AccountGate, ClusterMode, type ClusterModeShape, type LocalAccount } from "./ClusterGate.ts"
import { makeGate } from "./ClusterRequests.ts"
import {
  type ClusterView,
  holdsLease,
  isMetaLeader,
  key,
  LEASE_MS,
  type MetaClusterOptions,
  metaFence,
  TICK_MS
} from "./ClusterView.ts"
import { applyMove, orphans } from "./Failover.ts"
import { notCurrent, replicasOf } from "./ReplicaInfo.ts"
import { brokenLogs, letGo, takeOver } from "./ReplicatedOwner.ts"
import { replicatedStorage } from "./ReplicatedStore.ts"

const make = (
  options: MetaClusterOptions
): Effect.Effect<ClusterModeShape, ClusterStore.ClusterStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const { log } = options
    const store = yield* ClusterStore.make(options.url)
    const runFork = yield* FiberSet.makeRuntime<never>()
    let busy = false
    let failing: string | undefined
    let again = false
    const view: ClusterView = {
      options,
      store,
      nodes: [],
      streams: new Map(),
      metaLeader: undefined,
      metaTerm: undefined,
      metaRenewedAt: 0,
      storeDownSince: undefined,
      terms: new Map(),
      leaseUntil: new Map(),
      accounts: new Map(),
      fork: (e) => void runFork(e),
      // One round at a time (the periodic one, hints, attach): two at once would take a stream twice.
      refresh: () =>
        Effect.suspend(() => {
          if (busy) {
            again = true
            return Effect.void
          }
          busy = true
          return tick()
        })
    }
    const node = {
      serverName: options.serverName,
      serverId: options.serverId,
      cluster: options.clusterName,
      clientUrl: options.clientUrl,
      tags: options.tags
    }
    const usage = (): Record<string, AccountUsage> => {
      const out: Record<string, AccountUsage> = {}
      for (const [name, a] of view.accounts) out[name] = { ...a.usage(), consumers: a.registry.consumerCount }
      return out
    }
    const warned = new Set<string>()
    const warnOnce = (what: string) => {
      if (warned.has(what)) return
      warned.add(what)
      log.warn(what)
    }

    /** Acts on the assignments naming this node: create what is pending, lease what is ready. */
    const adopt = (row: StreamRow): Effect.Effect<void, ClusterStore.ClusterStoreError> =>
      Effect.gen(function*() {
        const local = view.accounts.get(row.account)
        if (local === undefined) return
        const k = key(row.account, row.name)
        // The row may be a moment old: a stepdown or a failover may have moved it since it was read.
        if (view.streams.get(k)?.owner !== options.serverName) return
        if (row.status === "ready" && row.replicas > 1) {
          if (view.terms.has(k) && local.registry.get(row.name) !== undefined) return
          // Leftovers of an earlier tenure (a lost lease) go before the stream is loaded afresh.
          if (local.registry.get(row.name) !== undefined) yield* letGo(view, local, row.name, "reloading")
          return yield* takeOver(view, local, row)
        }
        if (row.status === "ready") {
          if (view.terms.has(k)) return
          if (local.registry.get(row.name) === undefined) {
            return warnOnce(
              `JetStream cluster: stream ${row.account} > ${row.name} is assigned here but has no data here`
            )
          }
          const asked = Date.now()
          const term = yield* store.acquire(streamAsset(row.account, row.name), options.serverName, LEASE_MS)
          if (term === undefined) {
            return warnOnce(`JetStream cluster: the lease of ${row.account} > ${row.name} is held elsewhere`)
          }
          view.terms.set(k, term)
          view.leaseUntil.set(k, asked + LEASE_MS)
          log.info(`JetStream cluster: owning stream ${row.account} > ${row.name} (term ${term})`)
          return
        }
        if (row.status !== "pending" || creating.has(k)) return
        creating.add(k)
        yield* Effect.ensuring(create(local, row, k), Effect.sync(() => creating.delete(k)))
      })
    const creating = new Set<string>()

    /** The owner's half of a create: the ordinary handler, then the confirmation (or the refusal). */
    const create = (local: LocalAccount, row: StreamRow, k: string) =>
      Effect.gen(function*() {
        const body = new TextEncoder().encode(JSON.stringify(row.config))
        const asset = streamAsset(row.account, row.name)
        // A replicated stream's log is written under its lease from the first append: taken first.
        const asked = Date.now()
        const early = row.replicas > 1 ? yield* store.acquire(asset, options.serverName, LEASE_MS) : undefined
        if (early !== undefined) {
          view.terms.set(k, early)
          view.leaseUntil.set(k, asked + LEASE_MS)
        }
        const result = row.replicas > 1 && early === undefined
          ? {
            _tag: "Failure" as const,
            failure: ApiErrors.streamCreate("the stream's lease is held by another server")
          }
          : yield* Effect.result(createStream(local.ctx, row.name, body))
        if (result._tag === "Failure") {
          if (early !== undefined) {
            view.terms.delete(k)
            yield* Effect.ignore(store.release({ asset, owner: options.serverName, term: early }))
          }
          yield* store.exec(ClusterStore.Sql.refuseStream, [row.account, row.name, options.serverName, {
            error: result.failure.toJSON()
          }])
        } else {
          const term = early ?? (yield* store.acquire(asset, options.serverName, LEASE_MS))
          const fence = term === undefined ? undefined : { asset, owner: options.serverName, term }
          const confirmed = fence === undefined ? [] : yield* Effect.catchTag(
            store.fenced(
              fence,
              (tx) =>
                tx.query(ClusterStore.Sql.confirmStream, [row.account, row.name, options.serverName, result.success])
            ),
            "StaleTerm",
            () => Effect.succeed([])
          )
          if (confirmed.length === 0) {
            // The meta leader gave up on this create (timeout): nothing of it may remain.
            view.terms.delete(k)
            yield* local.registry.delete(row.name)
            if (fence !== undefined) yield* Effect.ignore(store.exec(ClusterStore.Sql.deleteLease, [asset]))
            return
          }
          view.terms.set(k, term!)
          if (early === undefined) view.leaseUntil.set(k, Date.now() + LEASE_MS - TICK_MS)
          view.streams.set(k, { ...row, status: "ready", result: result.success })
        }
        yield* Effect.ignore(store.notify({ kind: "confirmed", account: row.account, stream: row.name }))
      })

    /** Logs a store outage when it starts and when it ends (not every second); a defect too. */
    const logged = (what: Effect.Effect<void, ClusterStore.ClusterStoreError>): Effect.Effect<void> =>
      what.pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            if (failing !== undefined) log.info(`JetStream cluster: the cluster store is reachable again`)
            failing = undefined
            view.storeDownSince = undefined
          })
        ),
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.interrupt : Effect.sync(() => {
            const e = Cause.squash(cause)
            const text = e instanceof Error ? e.message : Cause.pretty(cause)
            // Both loops fail during an outage, each with its own statement: one warning for the outage.
            if (failing === undefined) log.warn(`JetStream cluster: ${text}`)
            failing = text
            view.storeDownSince ??= Date.now()
          })
        )
      )

    /**
     * Heartbeat and leases, on a loop of their own so a slow refresh never delays a renewal. The
     * leader counts its lease from before the renewal was sent: it stops acting as leader before
     * the store could consider the lease expired.
     */
    const renewTick = logged(Effect.gen(function*() {
      yield* store.heartbeat(node, usage())
      const held = [...view.terms].map(([k, term]) => {
        const [account, name] = k.split("\u0000") as [string, string]
        return { key: k, asset: streamAsset(account, name), term }
      })
      if (view.metaTerm !== undefined) held.push({ key: "", asset: META_ASSET, term: view.metaTerm })
      const sent = Date.now()
      const renewed = yield* store.renew(options.serverName, held, LEASE_MS)
      if (view.metaTerm !== undefined) {
        if (renewed.has(META_ASSET)) view.metaRenewedAt = sent
        else {
          log.warn(`JetStream cluster: lost the meta leader lease (term ${view.metaTerm})`)
          view.metaTerm = undefined
        }
      }
      for (const h of held) {
        if (h.key === "" || !renewed.has(h.asset) || view.terms.get(h.key) !== h.term) continue
        const lapsed = !holdsLease(view, h.key)
        view.leaseUntil.set(h.key, sent + LEASE_MS)
        // A renewal that came late (the node was slow, nobody took the lease): deliveries resume.
        if (lapsed) {
          const [account, name] = h.key.split("\u0000") as [string, string]
          for (const c of view.accounts.get(account)?.registry.consumersOf(name) ?? []) c.wake()
        }
      }
      // Only what was presented can be lost (a lease taken during the renewal is not in `held`).
      for (const h of held) {
        if (h.key !== "" && !renewed.has(h.asset) && view.terms.get(h.key) === h.term) {
          view.terms.delete(h.key)
          const [account, name] = h.key.split("\u0000") as [string, string]
          const local = view.accounts.get(account)
          // A replicated stream's new owner serves it now: this node's actors stop (a zombie's writes fail their fence anyway).
          if (local !== undefined) yield* letGo(view, local, name, `lost its lease (term ${h.term})`)
        }
      }
      if (view.metaTerm === undefined) {
        const asked = Date.now()
        const term = yield* store.acquire(META_ASSET, options.serverName, LEASE_MS)
        if (term !== undefined) {
          view.metaTerm = term
          view.metaRenewedAt = asked
          view.metaLeader = options.serverName
          log.info(`JetStream cluster: meta leader (term ${term})`)
          // The streams a dead leader owned wait for a leader to move them: look at once, not a tick later.
          view.fork(view.refresh())
        }
      }
    }))

    /** Re-reads the meta leader, the nodes and the assignments, and acts on this node's. */
    const tick = (): Effect.Effect<void> =>
      logged(Effect.gen(function*() {
        const lease = yield* store.lease(META_ASSET)
        view.metaLeader = lease?.live === true ? lease.owner : undefined
        view.nodes = yield* store.nodes(LEASE_MS)
        const rows = yield* store.streams()
        view.streams = new Map(rows.map((r) => [key(r.account, r.name), r]))
        for (const local of view.accounts.values()) {
          // A log that failed a commit is behind its memory copy: reloaded from the store (adopt below).
          for (const name of brokenLogs(local)) yield* letGo(view, local, name, "a commit to the cluster store failed")
          // Streams moved away (the meta leader gave them to another node) stop here.
          for (const actor of local.registry.all()) {
            const row = view.streams.get(key(local.account, actor.name))
            if (row !== undefined && row.replicas > 1 && row.owner !== options.serverName) {
              yield* letGo(view, local, actor.name, `now served by ${row.owner}`)
            }
          }
        }
        for (const row of rows) if (row.owner === options.serverName) yield* adopt(row)
        // The meta leader moves the replicated streams of offline owners to a live peer.
        const fence = isMetaLeader(view) ? metaFence(view) : undefined
        if (fence !== undefined) {
          for (const move of orphans(view)) {
            const moved = yield* Effect.catchTag(
              applyMove(view, fence, move, false),
              "StaleTerm",
              () => Effect.succeed(false)
            )
            if (moved) {
              log.warn(
                `JetStream cluster: stream ${move.row.account} > ${move.row.name} moves from ${move.row.owner} (offline) to ${move.owner}`
              )
            }
          }
        }
      })).pipe(
        Effect.ensuring(Effect.suspend(() => {
          busy = false
          if (!again) return Effect.void
          again = false
          return view.refresh()
        }))
      )

    // The first round before any account attaches: the node is registered and the view is filled.
    yield* renewTick
    yield* view.refresh()
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(TICK_MS), renewTick)))
    yield* Effect.forkScoped(
      Effect.forever(Effect.andThen(Effect.sleep(TICK_MS), Effect.suspend(() => view.refresh())))
    )
    yield* store.listen(
      () => view.fork(view.refresh()),
      () => view.fork(view.refresh())
    )
    // A graceful stop hands the meta lease over at once instead of after its expiry.
    yield* Effect.addFinalizer(() => {
      const fence = metaFence(view)
      return fence === undefined ? Effect.void : Effect.ignore(store.release(fence))
    })

    const shape: ClusterModeShape = {
      serverName: options.serverName,
      clusterName: options.clusterName,
      attach: (local) =>
        Effect.gen(function*() {
          view.accounts.set(local.account, local)
          local.registry.replication = replicatedStorage(view, local.account)
          const gate: AccountGate = makeGate(view, local)
          // Streams in this node's store that the cluster does not know (written before cluster mode)
          // join it as this node's; a name another node already serves stays unserved here.
          for (const actor of local.registry.all()) {
            if (view.streams.has(key(local.account, actor.name))) continue
            const config = encodeJson(encodeStreamConfig(actor.config, AT_LEVEL_210))
            const taken = yield* Effect.orElseSucceed(
              store.exec(ClusterStore.Sql.adoptStream, [local.account, actor.name, config, options.serverName]),
              () => []
            )
            if (taken.length === 0) {
              warnOnce(`JetStream cluster: stream ${local.account} > ${actor.name} here is another node's; not served`)
            } else {log.info(
                `JetStream cluster: stream ${local.account} > ${actor.name} from this node's store joins the cluster`
              )}
          }
          // Re-adopt at once what this node owns (after a restart its streams were just recovered).
          yield* view.refresh()
          return gate
        }),
      replicas: (account, stream) => replicasOf(view, account, stream),
      notCurrent: (checkStreams) => notCurrent(view, checkStreams),
      metaCluster: () => ({
        name: options.clusterName,
        leader: view.metaLeader,
        cluster_size: view.nodes.filter((n) => n.cluster === options.clusterName).length
      })
    }
    return shape
  })

/** A start that cannot reach the store stops with the reason (a defect: the entry points print its message). */
export const layer = (options: MetaClusterOptions): Layer.Layer<ClusterMode> =>
  Layer.effect(ClusterMode)(
    Effect.catch(make(options), (e) => Effect.die(new Error(`cannot use the cluster store: ${e.detail}`)))
  )
