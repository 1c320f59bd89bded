/**
 * The broker's configuration: one plain record with nats-server's defaults. The CLI and (later)
 * the config file produce partial overrides that are merged over `defaults`.
 */
import { Context, Layer } from "effect"
import type { AccountsSettings } from "../accounts/AccountSettings.ts"
import type { AuthSettings } from "../auth/AuthSettings.ts"
import type { MappingSpec } from "../subject/SubjectMappings.ts"
import type { TlsSettings } from "../tls/TlsSettings.ts"
import type { MqttSettings } from "./MqttConfigFile.ts"

/** nats-server feature level we advertise in INFO `version`; clients gate features on it. */
export const ADVERTISED_NATS_VERSION = "2.9.10"

/** True when `version` (an INFO version, `major.minor.patch`) is at least `major.minor`. */
export const levelAtLeast = (version: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = version.split(".").map(Number)
  return a > major || (a === major && b >= minor)
}
/** Our own product version, reported by `--version` and in logs, never in INFO `version`. */
export const BROKER_VERSION = "0.1.0"
export const BROKER_NAME = "effect-jetstream"

export interface BrokerConfig {
  readonly host: string
  /** -1 picks a random free port. */
  readonly port: number
  readonly serverName: string | undefined
  /** Monitoring HTTP port; undefined = off, -1 = random. */
  readonly httpPort: number | undefined
  /** Monitoring over HTTPS with the `tls {}` certificate (nats-server `https_port`); undefined = off, -1 = random. */
  readonly httpsPort: number | undefined
  readonly jetstream: boolean
  readonly storeDir: string
  readonly maxPayload: number
  readonly maxControlLine: number
  readonly maxConnections: number
  /** Outbound bytes a client may have queued before it is cut off as a slow consumer. */
  readonly maxPending: number
  readonly pingIntervalMs: number
  readonly pingMax: number
  readonly writeDeadlineMs: number
  readonly logFile: string | undefined
  readonly debug: boolean
  readonly trace: boolean
  readonly logtime: boolean
  /** Host for the monitoring listener (nats-server: `http: "host:port"`); undefined = the client host. */
  readonly httpHost: string | undefined
  /** Directory for `nats-server_<pid>.ports` (client test harnesses find random ports there). */
  readonly portsFileDir: string | undefined
  readonly pidFile: string | undefined
  readonly lameDuckDurationMs: number
  /** JetStream limits; undefined = computed from the machine at start (as nats-server does). */
  readonly maxMemoryStore: number | undefined
  readonly maxFileStore: number | undefined
  /** File store durability: "write" (default; survives kill -9), "always" (fsync per ack batch), or an fsync interval. */
  readonly sync: "write" | "always" | { readonly intervalMs: number }
  readonly domain: string | undefined
  /** Client authentication and permissions; undefined = open (nats-server without `authorization`). */
  readonly auth: AuthSettings | undefined
  /** Client TLS (nats-server `tls {}` / `--tls`); undefined = plain TCP. */
  readonly tls: TlsSettings | undefined
  /** Encryption at rest of the file store (`jetstream { cipher, key }`); undefined = plaintext files. */
  readonly encryption: { readonly cipher: "chacha" | "aes"; readonly key: string } | undefined
  /**
   * `accounts { }` and the system account; undefined = the global account `$G` and the default
   * system account `$SYS` (nats-server without accounts).
   */
  readonly accounts: AccountsSettings | undefined
  /** Core subject mappings (`mappings {}`), validated at load; undefined = none (no per-publish cost). */
  readonly mappings: ReadonlyArray<MappingSpec> | undefined
  /** The MQTT 3.1.1 listener (`mqtt {}`, src/mqtt); undefined or port 0 = none. */
  readonly mqtt: MqttSettings | undefined
}

export const defaults: BrokerConfig = {
  host: "0.0.0.0",
  port: 4222,
  serverName: undefined,
  httpPort: undefined,
  httpsPort: undefined,
  jetstream: false,
  storeDir: "./data",
  maxPayload: 1024 * 1024,
  maxControlLine: 4096,
  maxConnections: 64 * 1024,
  maxPending: 64 * 1024 * 1024,
  pingIntervalMs: 2 * 60 * 1000,
  pingMax: 2,
  writeDeadlineMs: 10_000,
  logFile: undefined,
  debug: false,
  trace: false,
  logtime: true,
  httpHost: undefined,
  portsFileDir: undefined,
  pidFile: undefined,
  lameDuckDurationMs: 2 * 60 * 1000,
  maxMemoryStore: undefined,
  maxFileStore: undefined,
  sync: "write",
  domain: undefined,
  auth: undefined,
  tls: undefined,
  encryption: undefined,
  accounts: undefined,
  mappings: undefined,
  mqtt: undefined
}

export type BrokerConfigInput = { -readonly [K in keyof BrokerConfig]?: BrokerConfig[K] }

export const make = (overrides: BrokerConfigInput = {}): BrokerConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v
  return out as unknown as BrokerConfig
}

/** The resolved configuration as a service, so layers read it instead of taking parameters. */
export class ServerConfig
  extends Context.Service<ServerConfig, BrokerConfig>()("effect-jetstream/config/ServerConfig")
{
  static readonly layer = (config: BrokerConfig) => Layer.succeed(ServerConfig)(config)
}
