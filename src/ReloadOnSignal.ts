/**
 * SIGHUP (sent by `--signal reload` or a supervisor) re-reads the configuration file and applies
 * what may change while running (config/ReloadPlan.ts), as nats-server does: a file that does not
 * load, or a change that cannot be applied, is logged and leaves everything as it was.
 */
import { Effect, Layer } from "effect"
import type { BrokerConfig } from "./config/BrokerConfig.ts"
import { ServerConfig } from "./config/BrokerConfig.ts"
import { planReload } from "./config/ReloadPlan.ts"
import { Server } from "./core/Server.ts"
import { Log } from "./log/Log.ts"

/** The configuration as the file (with the command line's flags over it) says now, or why not. */
export type Reread = () => { readonly ok: true; readonly config: BrokerConfig } | {
  readonly ok: false
  readonly error: string
}

export const layer = (reread: Reread | undefined): Layer.Layer<never, never, Server | Log | ServerConfig> =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const server = yield* Server
      const log = yield* Log
      let current = yield* ServerConfig
      const onHangup = () => {
        log.debug(`Trapped "hangup" signal`)
        if (reread === undefined) {
          return log.error(
            "Failed to reload server configuration: can only reload config when a file is provided using -c or --config"
          )
        }
        const next = reread()
        if (!next.ok) return log.error(`Failed to reload server configuration: ${next.error}`)
        const plan = planReload(current, next.config)
        if (!plan.ok) return log.error(`Failed to reload server configuration: ${plan.error}`)
        server.reload(next.config, plan)
        current = next.config
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("SIGHUP", onHangup)),
        () => Effect.sync(() => process.off("SIGHUP", onHangup))
      )
    })
  )
