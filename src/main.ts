/**
 * CLI entry: flags → config → run the broker until SIGINT/SIGTERM, then shut down gracefully
 * (stop accepting, flush and close every connection, release the store) and exit 0.
 *
 * We drive the fiber ourselves instead of NodeRuntime.runMain, which exits 130 after an
 * interrupt; nats-server exits 0 on a requested shutdown and supervisors expect that.
 */
import { Cause, Effect, Exit, Layer } from "effect"
import * as fs from "node:fs"
import * as AuthSettings from "./auth/AuthSettings.ts"
import * as Broker from "./Broker.ts"
import * as ClusterSettings from "./cluster/ClusterSettings.ts"
import * as BrokerConfig from "./config/BrokerConfig.ts"
import { BROKER_NAME } from "./config/BrokerConfig.ts"
import * as Cli from "./config/Cli.ts"
import * as ConfigFile from "./config/ConfigFile.ts"
import * as MqttConfigFile from "./config/MqttConfigFile.ts"
import { Logger } from "./log/Log.ts"
import * as ReloadOnSignal from "./ReloadOnSignal.ts"
import * as Signal from "./Signal.ts"
import * as TlsConfigFile from "./tls/TlsConfigFile.ts"
import { DEFAULT_TLS_TIMEOUT_MS, type TlsSettings } from "./tls/TlsSettings.ts"

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
const fail = (lines: ReadonlyArray<string>): never => {
  for (const line of lines) process.stderr.write(`${BROKER_NAME}: ${line}\n`)
  process.exit(1)
}
if (result._tag === "Signal") {
  const outcome = Signal.send(result.command, result.pid)
  if (outcome !== undefined) fail([outcome])
  process.exit(0)
}

/** nats-server overrideTLS: any `--tls*` flag replaces the file's block (or turns TLS off). */
function tlsFromFlags(file: TlsSettings | undefined, flags: Cli.TlsFlags | undefined): TlsSettings | undefined {
  if (flags === undefined) return file
  if (flags._tag === "Disabled") return undefined
  if (flags.certFile === undefined) return fail(["TLS Server certificate must be present and valid"])
  if (flags.keyFile === undefined) return fail(["TLS Server private key must be present and valid"])
  const loaded = TlsConfigFile.loadTls({ ...flags, timeoutMs: file?.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS })
  return typeof loaded === "string" ? fail([loaded]) : loaded
}

// Everything from the file is read and checked before anything starts; flags then override it.
let loaded: ConfigFile.LoadResult | undefined
if (result.configFile !== undefined) {
  loaded = ConfigFile.load(result.configFile)
  if (loaded._tag === "Failure") {
    const summary = `configuration file ${result.configFile} is invalid; fix the lines above`
    fail([...loaded.errors.map(ConfigFile.renderIssue), summary])
  }
}

const startFile = loaded?._tag === "Success" ? loaded.config : {}
// TLS from flags is loaded once: a reload re-reads the file, not the certificates the flags named.
const flagTls = result.tlsFlags === undefined ? undefined : tlsFromFlags(startFile.tls, result.tlsFlags)

/** The file's settings with the command line's over them (at start, and again on every reload). */
const configFrom = (fileConfig: BrokerConfig.BrokerConfigInput): BrokerConfig.BrokerConfigInput => ({
  ...fileConfig,
  ...result.config,
  auth: AuthSettings.merge(fileConfig.auth, result.authFlags),
  tls: result.tlsFlags === undefined ? fileConfig.tls : flagTls,
  cluster: ClusterSettings.mergeFlags(fileConfig.cluster, result.clusterFlags)
})
const input = configFrom(startFile)
if (input.cluster === undefined && result.clusterFlags?.routes !== undefined) {
  fail(["--routes needs --cluster (or a cluster block) to listen for routes"])
}
let config = BrokerConfig.make(input)
const clusterProblem = BrokerConfig.clusterModeProblem(config)
if (clusterProblem !== undefined) fail([clusterProblem])

if (result.checkConfig === true) {
  const warnings = loaded?._tag === "Success" ? loaded.warnings : []
  for (const w of warnings) process.stderr.write(`${ConfigFile.renderIssue(w)}\n`)
  process.stderr.write(`${BROKER_NAME}: configuration file ${result.configFile} is valid\n`)
  process.exit(0)
}

// nats-server validateMQTTOptions: checked once the flags are merged (`-n`, `-js` count).
const mqttRefusal = MqttConfigFile.validate(config.mqtt, {
  serverName: config.serverName,
  jetstream: config.jetstream,
  users: config.auth?.users ?? [],
  nkeys: config.auth?.nkeys.length ?? 0,
  trusted: config.auth?.operator !== undefined,
  accounts: config.accounts !== undefined
})
if (mqttRefusal !== undefined) fail([mqttRefusal])

// The startup logger reports config warnings and limits with the same settings the broker uses.
let log: Logger
try {
  log = new Logger({ debug: config.debug, trace: config.trace, logtime: config.logtime, file: config.logFile })
} catch (e) {
  const why = (e as Error).message
  fail([`cannot open log file ${config.logFile}: ${why}; check that its directory exists and is writable`])
  throw e
}
if (result.configFile !== undefined) log.info(`Using configuration file: ${result.configFile}`)
if (loaded?._tag === "Success") {
  for (const w of loaded.warnings) log.warn(ConfigFile.renderIssue(w))
  for (const n of loaded.notes) log.debug(ConfigFile.renderIssue(n))
}
if (config.jetstream) {
  const limits = ConfigFile.resolveJetStreamLimits(config)
  // A computed file limit is left to JetStream, which follows the free space as it changes.
  config = { ...config, maxMemoryStore: limits.maxMemoryStore }
  const how = (given: number | undefined) => (given === undefined ? " (computed from this machine)" : "")
  log.info(`JetStream limits:`)
  log.info(`  Max Memory:      ${ConfigFile.friendlyBytes(limits.maxMemoryStore)}${how(input.maxMemoryStore)}`)
  log.info(`  Max Storage:     ${ConfigFile.friendlyBytes(limits.maxFileStore)}${how(input.maxFileStore)}`)
  log.info(`  Sync:            ${typeof config.sync === "string" ? config.sync : `every ${config.sync.intervalMs}ms`}`)
}

// nats-server writes its pid for supervisors and removes the file on shutdown.
const pidFile = config.pidFile
if (pidFile !== undefined) {
  try {
    fs.writeFileSync(pidFile, String(process.pid))
  } catch (e) {
    fail([`cannot write pid file ${pidFile}: ${(e as Error).message}; check that its directory exists and is writable`])
  }
  process.on("exit", () => {
    try {
      fs.unlinkSync(pidFile)
    } catch {
      // Already gone: nothing to clean up.
    }
  })
}

/** SIGHUP: the file again, resolved exactly as at start, so only what really changed differs. */
const configFile = result.configFile
const reread: ReloadOnSignal.Reread | undefined = configFile === undefined ? undefined : () => {
  const again = ConfigFile.load(configFile)
  if (again._tag === "Failure") return { ok: false, error: again.errors.map(ConfigFile.renderIssue).join("; ") }
  for (const w of again.warnings) log.warn(ConfigFile.renderIssue(w))
  const next = BrokerConfig.make(configFrom(again.config))
  return {
    ok: true,
    config: next.jetstream
      ? { ...next, maxMemoryStore: ConfigFile.resolveJetStreamLimits(next).maxMemoryStore }
      : next
  }
}

const fiber = Effect.runFork(Layer.launch(Layer.provide(ReloadOnSignal.layer(reread), Broker.layer(config))))

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  fiber.interruptUnsafe(fiber.id)
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)

/** What an operator can do about the usual startup failures. */
const hint = (message: string): string => {
  if (message.includes("EADDRINUSE")) {
    return "another process is using this address; " +
      "stop it or choose another port (-p/port, -m/http; -1 picks a random one)"
  }
  if (message.includes("EACCES") || message.includes("EPERM")) {
    return "permission denied; check the permissions of store_dir and log_file, or use a port above 1023"
  }
  if (message.includes("ENOSPC")) return "the disk is full; free space or move store_dir"
  return "run with -D for details"
}

fiber.addObserver((exit) => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) process.exit(0)
  const error = Cause.squash(exit.cause)
  const message = error instanceof Error ? error.message : String(error)
  const line = `${message} (${hint(message)})`
  log.fatal(line)
  if (config.logFile !== undefined) process.stderr.write(`${BROKER_NAME}: fatal: ${line}\n`)
  if (config.debug) process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
  process.exit(1)
})
