/**
 * The broker's configuration: one plain record with nats-server's defaults. The CLI and (later)
 * the config file produce partial overrides that are merged over `defaults`.
 */
import { Context, Layer } from "effect"
import type { AccountsSettings } from "../accounts/AccountSettings.ts"
import type { AuthSettings } from "../auth/AuthSettings.ts"
import type { ClusterSettings } from "../cluster/ClusterSettings.ts"
import type { MappingSpec } from "../subject/SubjectMappings.ts"
import type { TlsSettings } from "../tls/TlsSettings.ts"
import type { BatchLimitSettings } from "./JetStreamLimitsConfigFile.ts"
import type { MqttSettings } from "./MqttConfigFile.ts"
import type { WebsocketSettings } from "./WebsocketSettings.ts"

/**
 * nats-server release we advertise in INFO `version` (clients gate features on it): the last 2.14
 * patch release (API level 4), so the 2.10-2.14 behaviours carry those lines' fixes. Everything that depends on
 * the advertised release reads it from here (the `AT_LEVEL_*` flags below, `API_LEVEL` in
 * jetstream/model/ApiLevel.ts), so moving to another release is this one line. Replies take each
 * release's shapes where they are gated on an `AT_LEVEL_*` flag (the older shapes stay reachable by
 * the level argument in unit specs).
 */
export const ADVERTISED_NATS_VERSION = "2.14.5"

/** True when `version` (an INFO version, `major.minor.patch`) is at least `major.minor`. */
export const levelAtLeast = (version: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = version.split(".").map(Number)
  return a > major || (a === major && b >= minor)
}

/** Whether the advertised level is 2.10 or later (computed once; read on reply paths). */
export const AT_LEVEL_210 = levelAtLeast(ADVERTISED_NATS_VERSION, 2, 10)
/**
 * Whether the advertised level is 2.11 or later: gates the replies 2.11 adds unconditionally (an
 * `omitempty` field left unset changes nothing at 2.10 and needs no gate).
 */
export const AT_LEVEL_211 = levelAtLeast(ADVERTISED_NATS_VERSION, 2, 11)
/** Whether the advertised level is 2.12 or later (INFO `api_lvl`). */
export const AT_LEVEL_212 = levelAtLeast(ADVERTISED_NATS_VERSION, 2, 12)
/** Whether the advertised level is 2.14 or later (`feature_flags` in /varz and server info). */
export const AT_LEVEL_214 = levelAtLeast(ADVERTISED_NATS_VERSION, 2, 14)
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
  /** Top-level `feature_flags { name: bool }` (2.14, FeatureFlags.ts); unknown names are kept and ignored. */
  readonly featureFlags: Readonly<Record<string, boolean>>
  /**
   * `jetstream { max_buffered_msgs, max_buffered_size }` (2.11): publishes a stream may have queued
   * before it answers 429; 0 = nats-server's default (10,000 / 128 MiB), negative = no limit.
   */
  readonly maxBufferedMsgs: number
  readonly maxBufferedSize: number
  /** `jetstream { limits { batch {} } }` (2.12): atomic and fast-ingest batch limits; 0 = nats-server's default. */
  readonly batchLimits: BatchLimitSettings
  /** `jetstream { request_queue_limit }` (2.11): JetStream API requests waiting before all are dropped; 0 = 10,000. */
  readonly requestQueueLimit: number
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
  /** The WebSocket client listener (`websocket {}`); undefined = off. */
  readonly websocket: WebsocketSettings | undefined
  /** Routes to other servers (`cluster {}`, `--cluster`/`--routes`); undefined = a single server. */
  readonly cluster: ClusterSettings | undefined
  /** `jetstream { cluster_store }`: the PostgreSQL URL of JetStream cluster mode; undefined = not clustered. */
  readonly clusterStore: string | undefined
  /** `server_tags` (lowercased): what `placement { tags }` matches. */
  readonly serverTags: ReadonlyArray<string>
  /** `jetstream { unique_tag }`: the tag prefix replicas of one stream must differ in (R3; R1 has one peer). */
  readonly uniqueTag: string | undefined
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
  featureFlags: {},
  maxBufferedMsgs: 0,
  maxBufferedSize: 0,
  requestQueueLimit: 0,
  batchLimits: { maxInflightPerStream: 0, maxInflightTotal: 0, maxMsgs: 0, timeoutMs: 0 },
  auth: undefined,
  tls: undefined,
  encryption: undefined,
  accounts: undefined,
  mappings: undefined,
  websocket: undefined,
  cluster: undefined,
  clusterStore: undefined,
  serverTags: [],
  uniqueTag: undefined,
  mqtt: undefined
}

export type BrokerConfigInput = { -readonly [K in keyof BrokerConfig]?: BrokerConfig[K] }

export const make = (overrides: BrokerConfigInput = {}): BrokerConfig => {
  const out: Record<string, unknown> = { ...defaults }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) out[k] = v
  return out as unknown as BrokerConfig
}

/**
 * Cluster mode is routes (`cluster {}` with a name) plus `jetstream { cluster_store }` plus a
 * `server_name`: the reason a combination cannot run, or undefined. nats-server's own JetStream
 * clustering (its Raft) is not built, so a cluster with JetStream needs the store.
 */
export const clusterModeProblem = (c: BrokerConfig): string | undefined => {
  if (c.clusterStore !== undefined) {
    if (!c.jetstream) return "jetstream.cluster_store is set but JetStream is not enabled"
    if (c.cluster === undefined) {
      return "jetstream.cluster_store needs a cluster {} block (routes to the other servers of the cluster)"
    }
    if (c.cluster.name === undefined || c.cluster.name === "") {
      return "jetstream.cluster_store needs the cluster to have a name (cluster { name: ... } or --cluster_name)"
    }
    if (c.serverName === undefined || c.serverName === "") {
      return "jetstream.cluster_store needs server_name: it names this server's leases and streams in the store"
    }
    return undefined
  }
  if (c.jetstream && c.cluster !== undefined) {
    return "JetStream in a cluster needs jetstream { cluster_store: \"postgres://...\" }: " +
      "this broker keeps the cluster's JetStream state in PostgreSQL and does not run nats-server's Raft"
  }
  return undefined
}

/** The resolved configuration as a service, so layers read it instead of taking parameters. */
export class ServerConfig
  extends Context.Service<ServerConfig, BrokerConfig>()("effect-jetstream/config/ServerConfig")
{
  static readonly layer = (config: BrokerConfig) => Layer.succeed(ServerConfig)(config)
}
