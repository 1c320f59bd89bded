/**
 * Layer assembly: the whole broker as one Layer, for the CLI and for embedders.
 */
import * as path from "node:path"
import { Layer } from "effect"
import { type BrokerConfig, ServerConfig } from "./config/BrokerConfig.ts"
import { BrokerClock } from "./core/BrokerClock.ts"
import { Router } from "./core/Router.ts"
import { Server } from "./core/Server.ts"
import { JetStream } from "./jetstream/JetStream.ts"
import { Log } from "./log/Log.ts"
import { Transport } from "./platform/Transport.ts"
import { StreamStore } from "./store/StreamStore.ts"

export interface BrokerLayerOptions {
  /** Silence all log output (tests, embedding). */
  readonly silent?: boolean
  /**
   * Where file-storage streams live: "file" (default, under `storeDir`) or "memory" (everything
   * in RAM, nothing survives a restart; useful for tests and embedding).
   */
  readonly storage?: "file" | "memory"
}

/** Everything a running broker provides: the TCP server, the router and (with -js) JetStream. */
export const layer = (config: BrokerConfig, options: BrokerLayerOptions = {}) => {
  const base = Layer.mergeAll(
    ServerConfig.layer(config),
    Router.layer,
    options.silent === true
      ? Log.layerSilent
      : Log.layer({ debug: config.debug, trace: config.trace, logtime: config.logtime, file: config.logFile }),
    Transport.layerNode
  )
  if (!config.jetstream) return Layer.provideMerge(Server.layer, base)
  const store = options.storage === "memory"
    ? StreamStore.layerMemory
    : StreamStore.layerFile({ dir: path.join(path.resolve(config.storeDir), "streams"), sync: config.sync })
  // JetStream subscribes before the listener opens, so the first client already finds the API.
  const withJetStream = Layer.provideMerge(JetStream.layer, Layer.mergeAll(base, store, BrokerClock.layer))
  return Layer.provideMerge(Server.layer, withJetStream)
}
