/**
 * CLI entry: flags → config → run the broker until SIGINT/SIGTERM, then shut down gracefully
 * (stop accepting, flush and close every connection, release the store) and exit 0.
 *
 * We drive the fiber ourselves instead of NodeRuntime.runMain, which exits 130 after an
 * interrupt; nats-server exits 0 on a requested shutdown and supervisors expect that.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import * as Broker from "./Broker.ts"
import * as BrokerConfig from "./config/BrokerConfig.ts"
import * as Cli from "./config/Cli.ts"

const argv = process.argv.slice(2)
if (argv[0] === "conformance") {
  // The conformance kit is a client of any JetStream server; it never starts this broker itself.
  const { runConformanceCli } = await import("./conformance/Cli.ts")
  process.exit(await runConformanceCli(argv.slice(1)))
}

const result = Cli.parse(argv)
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
const fiber = Effect.runFork(Layer.launch(Broker.layer(config)))

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  fiber.interruptUnsafe(fiber.id)
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)

fiber.addObserver((exit) => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) process.exit(0)
  process.stderr.write(`fatal: ${Cause.pretty(exit.cause)}\n`)
  process.exit(1)
})

