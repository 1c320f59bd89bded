/**
 * CLI entry: flags → config → run the broker until SIGINT/SIGTERM, then shut down gracefully.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Broker from "./Broker.ts"
import * as BrokerConfig from "./config/BrokerConfig.ts"
import * as Cli from "./config/Cli.ts"

const result = Cli.parse(process.argv.slice(2))
if (result._tag === "Print") {
  ;(result.exitCode === 0 ? process.stdout : process.stderr).write(result.text)
  process.exit(result.exitCode)
}
if (result.configFile !== undefined) {
  process.stderr.write(
    `error: configuration files (-c ${result.configFile}) are not supported yet; use command-line flags\n`
  )
  process.exit(1)
}

const config = BrokerConfig.make(result.config)

Layer.launch(Broker.layer(config)).pipe(
  Effect.tapCause((cause) => Effect.sync(() => process.stderr.write(`fatal: ${String(cause)}\n`))),
  NodeRuntime.runMain
)
