/**
 * JetStream: one AccountJetStream per account (its streams, `$JS.API.>` in the account's router,
 * its limits), over server-wide store limits shared by all of them.
 *
 * nats-server 2.9.10 semantics: with no accounts configured the global account `$G` has JetStream
 * (unlimited); with accounts configured, exactly the accounts whose `jetstream` is enabled have it,
 * and every other account (`$G` included) answers only `$JS.API.INFO`, with 10039.
 *
 * On disk the global account keeps the layout that predates accounts (`<store>/streams`,
 * `consumers`, `meta`); account A lives under `<store>/accounts/<A>/` with the same three.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as path from "node:path"
import { Accounts } from "../accounts/Accounts.ts"
import { GLOBAL_ACCOUNT, type JetStreamLimits, UNLIMITED } from "../accounts/AccountSettings.ts"
import { type Importer, resolveExternal } from "../accounts/ExternalJetStream.ts"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { BrokerClock } from "../core/BrokerClock.ts"
import { Log } from "../log/Log.ts"
import { StoreCipher } from "../store/Cipher.ts"
import * as EventLogStoreModule from "../store/EventLogStore.ts"
import { EventLogStore } from "../store/EventLogStore.ts"
import * as MetaStoreModule from "../store/MetaStore.ts"
import { MetaStore } from "../store/MetaStore.ts"
import { makeFile, makeMemory, StreamStore } from "../store/StreamStore.ts"
import { isSubsetOf } from "../subject/Subject.ts"
import * as AccountJetStream from "./AccountJetStream.ts"
import { ClusterMode, type ClusterModeShape } from "./cluster/ClusterGate.ts"
import { StoreLimits } from "./StoreLimits.ts"
import { atomicLimitsOf, fastLimitsOf } from "./stream/BatchLimits.ts"
import { FastBatchBudget } from "./stream/FastBatch.ts"
import type { OriginLookup, OriginUnreachable } from "./stream/StreamSource.ts"
import type { StreamRegistry } from "./StreamRegistry.ts"

const UNREACHABLE: OriginUnreachable = { _tag: "OriginUnreachable", error: undefined }

export type { ApiStats } from "./AccountJetStream.ts"

export interface JetStreamShape {
  /** The global account's streams (empty when `$G` has no JetStream). */
  readonly registry: StreamRegistry
  readonly stats: AccountJetStream.ApiStats
  readonly storeDir: string
  /** Every account's JetStream, `$G` first; `enabled` says which have it. */
  readonly accounts: ReadonlyArray<AccountJetStream.AccountJetStream>
  /** Cluster mode (`jetstream { cluster_store }`); undefined on a single server. */
  readonly cluster: ClusterModeShape | undefined
}

/** Directory of a configured account's data (names may hold any character but `.`-free path parts). */
export const accountDir = (storeDir: string, account: string): string =>
  path.join(storeDir, "accounts", encodeURIComponent(account))

export class JetStream extends Context.Service<JetStream, JetStreamShape>()("effect-jetstream/jetstream/JetStream") {
  static readonly layer = Layer.effect(JetStream)(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const accounts = yield* Accounts
      const log = yield* Log
      const fileStore = yield* StreamStore
      const journals = yield* EventLogStore
      const meta = yield* MetaStore
      const clock = yield* BrokerClock
      const cluster = Option.getOrUndefined(yield* Effect.serviceOption(ClusterMode))
      const storeDir = path.resolve(config.storeDir)
      const persistent = fileStore.kind === "file"
      // Server-wide usage is the sum over every account's stores (filled in as they are made).
      const stores: Array<{ readonly file: StreamStore["Service"]; readonly memory: StreamStore["Service"] }> = []
      const sum = (pick: (s: (typeof stores)[number]) => StreamStore["Service"]) => () => {
        let n = 0
        for (const s of stores) n += pick(s).usedBytes()
        return n
      }
      const storeLimits = new StoreLimits(
        config,
        { file: sum((s) => s.file), memory: sum((s) => s.memory) },
        clock.nowMs
      )
      // Fast-ingest batches in flight count against one server-wide limit (nats-server's is per process).
      const fastBatchBudget = new FastBatchBudget(fastLimitsOf(config.batchLimits))
      const atomicBatchLimits = atomicLimitsOf(config.batchLimits)

      log.info("Starting JetStream")
      log.info(`  Store directory: "${storeDir}" (${fileStore.kind} store)`)
      const out: Array<AccountJetStream.AccountJetStream> = []
      // A mirror or source through `external` reads the origin account's registry directly; the
      // rule of which account an API prefix reaches is the imports' (accounts/ExternalJetStream.ts).
      const byName = new Map<string, AccountJetStream.AccountJetStream>()
      const externalFor = (importer: Importer): OriginLookup => {
        // Imports are fixed for the server's life and followers ask on every batch: resolve once per query.
        const resolved = new Map<string, string | undefined>()
        return (q) => {
          if (q.external === undefined) return UNREACHABLE
          const key = JSON.stringify([q.external.api, q.external.deliver, q.name, q.filter, q.kind])
          if (!resolved.has(key)) {
            resolved.set(
              key,
              resolveExternal(importer, {
                api: q.external.api,
                deliver: q.external.deliver,
                stream: q.name,
                filter: q.filter,
                kind: q.kind
              })
            )
          }
          return reach(resolved.get(key), q.name)
        }
      }
      const reach = (target: string | undefined, name: string) => {
        const js = target === undefined ? undefined : byName.get(target)
        // An account without JetStream answers no consumer create: nothing comes back.
        if (js === undefined || !js.enabled) return UNREACHABLE
        return js.registry.get(name)
      }
      for (const acc of accounts.all()) {
        const global = acc.name === GLOBAL_ACCOUNT
        // The system account never has JetStream (nats-server refuses it at start).
        const limits: JetStreamLimits | undefined = global
          ? (accounts.configured ? undefined : UNLIMITED)
          : acc === accounts.system
          ? undefined
          : acc.settings.jetstream
        let own: {
          file: StreamStore["Service"]
          memory: StreamStore["Service"]
          meta: MetaStore["Service"] | undefined
          journals: EventLogStore["Service"]
        }
        if (global) own = { file: fileStore, memory: makeMemory({}), meta: persistent ? meta : undefined, journals }
        else if (limits === undefined || !persistent) {
          own = {
            file: makeMemory({}),
            memory: makeMemory({}),
            meta: undefined,
            journals: EventLogStoreModule.makeMemory()
          }
        } else {
          const dir = accountDir(storeDir, acc.name)
          // Accounts' files are encrypted like the global account's (the key was checked over the whole store).
          const enc = config.encryption
          const cipher = enc === undefined ? undefined : new StoreCipher(enc.cipher, enc.key)
          own = {
            file: makeFile({ dir: path.join(dir, "streams"), sync: config.sync, cipher }, log),
            memory: makeMemory({}),
            meta: MetaStoreModule.makeFile(path.join(dir, "meta"), cipher),
            journals: EventLogStoreModule.makeFile(path.join(dir, "consumers"), config.sync, log, cipher)
          }
        }
        stores.push({ file: own.file, memory: own.memory })
        out.push(
          yield* AccountJetStream.make({
            account: acc.name,
            router: acc.router,
            limits,
            ...(limits === undefined || acc.settings.jetstreamTiers === undefined || global
              ? {}
              : { tiers: acc.settings.jetstreamTiers }),
            apiImported: acc.settings.imports.services.some((i) => isSubsetOf("$JS.API.INFO", i.to ?? i.subject)),
            fileStore: own.file,
            memoryStore: own.memory,
            meta: own.meta,
            journals: own.journals,
            storeLimits,
            fastBatchBudget,
            atomicBatchLimits,
            config,
            clock,
            log,
            systemRouter: accounts.system?.router,
            external: externalFor({ name: acc.name, imports: acc.settings.imports }),
            ...(cluster === undefined ? {} : { cluster })
          })
        )
        byName.set(acc.name, out[out.length - 1]!)
      }
      const g = out[0]!
      return { registry: g.registry, stats: g.stats, storeDir, accounts: out, cluster }
    })
  )
}
