/**
 * Layer assembly: the whole broker as one Layer, for the CLI and for embedders.
 */
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { Accounts } from "./accounts/Accounts.ts"
import { Cluster } from "./cluster/Cluster.ts"
import { type BrokerConfig, clusterModeProblem, ServerConfig } from "./config/BrokerConfig.ts"
import { BrokerClock } from "./core/BrokerClock.ts"
import * as BrokerScheduler from "./core/BrokerScheduler.ts"
import { Router } from "./core/Router.ts"
import { Server } from "./core/Server.ts"
import { JetStream } from "./jetstream/JetStream.ts"
import { Log } from "./log/Log.ts"
import { Monitor } from "./monitoring/Monitor.ts"
import * as PortsFile from "./monitoring/PortsFile.ts"
import { attachCluster, Reports } from "./monitoring/Reports.ts"
import { HttpListener } from "./platform/HttpListener.ts"
import { Transport } from "./platform/Transport.ts"
import { makeServerId } from "./protocol/ServerInfo.ts"
import { cipherLabel, StoreCipher, verifyStore } from "./store/Cipher.ts"
import { EventLogStore } from "./store/EventLogStore.ts"
import { MetaStore } from "./store/MetaStore.ts"
import * as StoreError from "./store/StoreError.ts"
import { StreamStore } from "./store/StreamStore.ts"
import * as SystemAccount from "./system/SystemAccount.ts"

export interface BrokerLayerOptions {
  /** Silence all log output (tests, embedding). */
  readonly silent?: boolean
  /**
   * Where file-storage streams live: "file" (default, under `storeDir`) or "memory" (everything
   * in RAM, nothing survives a restart; useful for tests and embedding).
   */
  readonly storage?: "file" | "memory"
}

/**
 * The in-process broker without a listener: config, router, log and (with -js) JetStream. Embedders
 * build on this (src/embed); `layer` adds the TCP server on top of the same router and streams.
 */
export const coreLayer = <E = never>(
  config: BrokerConfig,
  options: BrokerLayerOptions = {},
  /** Started right after config/router/log and before JetStream (the monitoring port, from `layer`). */
  observe?: Layer.Layer<Monitor, E, ServerConfig | Router | Log | Accounts | Reports>
) => {
  const basics = Layer.mergeAll(
    ServerConfig.layer(config),
    Router.layer,
    options.silent === true
      ? Log.layerSilent
      : Log.layer({ debug: config.debug, trace: config.trace, logtime: config.logtime, file: config.logFile })
  )
  // Every account's subject space (the global one is Router's), linked by the configured imports.
  // The monitoring reports, read by the HTTP monitor and the system account's services alike.
  const services = Layer.provideMerge(Reports.layer, Layer.provideMerge(Accounts.layer, basics))
  // The monitor starts before JetStream (as in nats-server), so /healthz answers 503 during recovery.
  const base = observe === undefined ? services : Layer.provideMerge(observe, services)
  if (!config.jetstream) return base
  const dir = path.resolve(config.storeDir)
  const enc = config.encryption
  const cipher = enc === undefined ? undefined : new StoreCipher(enc.cipher, enc.key)
  const files = Layer.mergeAll(
    StreamStore.layerFile({ dir: path.join(dir, "streams"), sync: config.sync, cipher }),
    // Consumer progress journals live apart from stream logs (StreamStore lists its root as streams).
    EventLogStore.layerFile({ dir: path.join(dir, "consumers"), sync: config.sync, cipher }),
    MetaStore.layerFile({ dir: path.join(dir, "meta"), cipher })
  )
  // Every file's key is checked before any store opens (and so before recovery repairs anything): a wrong
  // key, or an encrypted store without one, stops the start with the file named and leaves the store as it was.
  const checked = Layer.unwrap(Effect.gen(function*() {
    // A defect, not a typed failure: nothing can continue, and the entry points report it by its message.
    const plain = yield* Effect.orDie(StoreError.attempt(() => verifyStore(dir, cipher)))
    const log = yield* Log
    if (cipher !== undefined) {
      log.info(`  Encryption:      ${cipherLabel(cipher.cipher)}`)
      if (plain > 0) {
        log.warn(`JetStream store has ${plain} plaintext file(s); they are encrypted as they are rewritten`)
      }
    }
    return files
  }))
  const store = options.storage === "memory"
    ? Layer.mergeAll(StreamStore.layerMemory, EventLogStore.layerMemory, MetaStore.layerMemory)
    : checked
  // The store layers log through the broker's Log (so `-l` and silent mode apply to them too); layers are
  // memoized by reference, so `services` is still built once.
  const deps = Layer.mergeAll(base, Layer.provide(store, services), BrokerClock.layer)
  // The stream and consumer actors run on the broker's scheduler (core/BrokerScheduler.ts), embedded or not.
  const withJetStream = Layer.provide(
    Layer.provideMerge(
      JetStream.layer,
      config.clusterStore === undefined ? deps : Layer.merge(deps, Layer.provide(clusterMode(config), services))
    ),
    BrokerScheduler.layer
  )
  return Layer.provideMerge(Reports.attachJetStream, withJetStream)
}

/** JetStream cluster mode on the cluster store (a start without the store reachable fails, saying why). */
const clusterMode = (config: BrokerConfig) =>
  Layer.unwrap(Effect.gen(function*() {
    const problem = clusterModeProblem(config)
    if (problem !== undefined) return yield* Effect.die(new Error(problem))
    const log = yield* Log
    const url = config.clusterStore!
    log.info(`  Cluster store:   ${url.replace(/\/\/[^@/]*@/, "//")}`)
    // The cluster store's code (and `pg` under it) loads only in cluster mode.
    const MetaCluster = yield* Effect.promise(() => import("./jetstream/cluster/MetaCluster.ts"))
    return MetaCluster.layer({
      url,
      serverName: config.serverName!,
      serverId: makeServerId(),
      clusterName: config.cluster!.name!,
      clientUrl: `nats://${config.host}:${config.port}`,
      tags: config.serverTags,
      uniqueTag: config.uniqueTag,
      log
    })
  }))

/** Everything a running broker provides: the TCP server, the router and (with -js) JetStream. */
export const layer = (config: BrokerConfig, options: BrokerLayerOptions = {}) => {
  // JetStream subscribes before the listener opens (Server is built on top of the core), so the
  // first client already finds the API.
  const server = Layer.provideMerge(
    Server.layer,
    Layer.merge(
      coreLayer(
        config,
        options,
        config.httpPort === undefined && config.httpsPort === undefined
          ? undefined
          : Layer.provide(Monitor.layer, HttpListener.layerNode)
      ),
      Transport.layerNode
    )
  )
  // Once the client listener is up: the reports include it, the ports file names its port, and the
  // system account's services start (they report on the server).
  const system = Layer.provideMerge(
    SystemAccount.layer,
    Layer.provideMerge(Layer.merge(Reports.attachServer, PortsFile.layer), server)
  )
  // Routes last: every local subscription (JetStream's, the system account's) is announced to them.
  const clustered = Layer.provideMerge(attachCluster, Layer.provideMerge(Cluster.layer, system))
  // MQTT (src/mqtt) stores its sessions in JetStream, so it starts once JetStream and the listener are up.
  // Every fiber the broker forks runs on its scheduler (core/BrokerScheduler.ts: actor hops in one turn).
  return Layer.provide(Layer.provideMerge(mqttLayer(config), clustered), BrokerScheduler.layer)
}

/**
 * MQTT's code (mqtt-packet and the stream library under it) loads only when `mqtt {}` opens a port.
 * Nothing reads the MqttServer service, so the layer provides nothing.
 */
const mqttLayer = (config: BrokerConfig) =>
  config.mqtt === undefined || config.mqtt.port === 0
    ? Layer.empty
    : Layer.unwrap(
      Effect.promise(() => import("./mqtt/MqttServer.ts")).pipe(
        Effect.map((m) => Layer.effectDiscard(Layer.build(m.MqttServer.layer)))
      )
    )
