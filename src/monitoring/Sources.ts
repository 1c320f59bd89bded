/**
 * The broker state the monitoring endpoints read. Endpoints are pure functions of this record (plus
 * a clock and process samples), so they can be tested without sockets.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ClusterShape } from "../cluster/Cluster.ts"
import type { BrokerConfig } from "../config/BrokerConfig.ts"
import type { MessageRouter } from "../core/Router.ts"
import type { ServerShape } from "../core/Server.ts"
import type { JetStreamShape } from "../jetstream/JetStream.ts"

export interface Sources {
  readonly config: BrokerConfig
  readonly server: ServerShape
  readonly router: MessageRouter
  /** Every account's router, the global one first (/varz `subscriptions` counts them all). */
  readonly routers?: ReadonlyArray<MessageRouter>
  /** Present once JetStream is running (undefined when disabled or still recovering). */
  readonly jetstream: JetStreamShape | undefined
  /** The bound monitoring listener. */
  /** The monitoring listener; `secure` when it serves HTTPS (`https_port`). */
  readonly http: { readonly host: string; readonly port: number; readonly secure: boolean }
  /** The system account's name (/varz `system_account`); undefined with `no_system_account`. */
  readonly systemAccount?: string | undefined
  /** The routes to other servers, once they are up (undefined: no cluster configured). */
  readonly cluster?: ClusterShape | undefined
  /** Requests served per endpoint path (/varz `http_req_stats`). */
  readonly requests: ReadonlyMap<string, number>
}

/** Process figures sampled at request time. */
export interface Sample {
  readonly nowMs: number
  /** Resident set size in bytes. */
  readonly mem: number
  /** CPU use in percent of one core since the previous sample, one decimal (as nats-server's `pse`). */
  readonly cpu: number
  readonly cores: number
}

export interface JetStreamLimits {
  readonly maxMemory: number
  readonly maxStorage: number
}

/**
 * JetStream's resource limits as nats-server reports them: configured values, else 75% of system
 * memory and 75% of the disk available under the store directory (nats-server `dynJetStreamConfig`,
 * `diskAvailable`).
 */
export const jetStreamLimits = (config: BrokerConfig, storeDir: string): JetStreamLimits => ({
  maxMemory: config.maxMemoryStore ?? Math.floor(os.totalmem() / 4) * 3,
  maxStorage: config.maxFileStore ?? diskAvailable(storeDir)
})

// nats-server: available blocks × block size, 75% of it; 1TB when the file system cannot be asked.
const diskAvailable = (dir: string): number => {
  try {
    // Ask the nearest existing ancestor: monitoring must not create the store directory.
    let d = path.resolve(dir)
    while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d)
    const st = fs.statfsSync(d)
    return Math.floor((st.bavail * st.bsize) / 4) * 3
  } catch {
    return 1024 * 1024 * 1024 * 1024
  }
}
