/**
 * Layer assembly: the whole broker as one Layer, for the CLI and for embedders.
 */
import { Layer } from "effect"
import { type BrokerConfig, ServerConfig } from "./config/BrokerConfig.ts"
import { Router } from "./core/Router.ts"
import { Server } from "./core/Server.ts"
import { Log } from "./log/Log.ts"
import { Transport } from "./platform/Transport.ts"

export interface BrokerLayerOptions {
  /** Silence all log output (tests, embedding). */
  readonly silent?: boolean
}

/** Everything a running broker provides: the TCP server and the router behind it. */
export const layer = (config: BrokerConfig, options: BrokerLayerOptions = {}) => {
  const base = Layer.mergeAll(
    ServerConfig.layer(config),
    Router.layer,
    options.silent === true
      ? Log.layerSilent
      : Log.layer({ debug: config.debug, trace: config.trace, logtime: config.logtime, file: config.logFile }),
    Transport.layerNode
  )
  return Layer.provideMerge(Server.layer, base)
}
