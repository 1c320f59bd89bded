/**
 * The `mqtt {}` block of a configuration file, read as nats-server 2.9.10 reads it (`parseMQTT`,
 * `validateMQTTOptions`): key names and aliases, the `max_ack_pending` range and the start-up
 * refusals (no `server_name`, no JetStream) with nats-server's texts.
 *
 * `authorization { user, password, token, timeout }` and `no_auth_user` override the top-level
 * credentials for MQTT clients (nats-server mqttConfigAuth); `tls {}` makes the port mqtts. Keys
 * that would change who may connect or where the data lives, and that are not built here
 * (`js_domain`, `tls { verify_and_map }`), refuse the start rather than run the MQTT port open or
 * against the wrong domain.
 */
import { checkNoAuthUser } from "../auth/AuthConfigFile.ts"
import type { PasswordUser } from "../auth/AuthSettings.ts"
import { parseGoDuration } from "../jetstream/codec/GoTime.ts"
import { tlsBlock } from "../tls/TlsConfigFile.ts"
import type { TlsSettings } from "../tls/TlsSettings.ts"
import type { ConfigEntry, Position } from "./ConfigValue.ts"

export interface MqttSettings {
  readonly host: string
  /** -1 picks a random free port. */
  readonly port: number
  /** nats-server `mqttDefaultAckWait`: 30s. */
  readonly ackWaitMs: number
  /** nats-server `mqttDefaultMaxAckPending`: 1024 per QoS 1 subscription. */
  readonly maxAckPending: number
  readonly streamReplicas: number
  readonly consumerReplicas: number
  readonly consumerMemoryStorage: boolean
  /** 0 = JetStream never removes a session's idle durable consumers. */
  readonly consumerInactiveThresholdMs: number
  /** `authorization { user, password, token }` of the block: overrides the top level's for MQTT clients. */
  readonly user: string | undefined
  readonly password: string | undefined
  readonly token: string | undefined
  /** Seconds; undefined or 0 = the top-level auth timeout. */
  readonly authTimeoutSeconds: number | undefined
  readonly noAuthUser: string | undefined
  /** `tls {}`: mqtts, TLS from the first byte (nats-server's MQTT listener). */
  readonly tls: TlsSettings | undefined
}

/** nats-server mqttConfigAuth: any of these replaces the top-level credentials for MQTT clients. */
export const authOverride = (m: MqttSettings): boolean =>
  (m.user ?? "") !== "" || (m.token ?? "") !== "" || (m.noAuthUser ?? "") !== ""

export const DEFAULT_ACK_WAIT_MS = 30_000
export const DEFAULT_MAX_ACK_PENDING = 1024

export interface MqttIssues {
  readonly error: (pos: Position, message: string) => void
  readonly warn: (pos: Position, message: string) => void
}

const REFUSED: Record<string, string> = {
  js_domain: "mqtt.js_domain is not supported yet (MQTT state lives in this server's JetStream); refusing to start"
}

/** `port` or `"host:port"` for `listen`. */
const listen = (e: ConfigEntry): { host?: string; port: number } | string => {
  const v = e.value
  if (v._tag === "Integer") return { port: v.value }
  if (v._tag !== "String") return `expected port or host:port`
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(-?\d+)$/.exec(v.value)
  if (m === null) return `could not parse address string ${JSON.stringify(v.value)}`
  return { host: m[1] ?? m[2] ?? "", port: Number(m[3]) }
}

/**
 * Reads the block; `duration` is the top-level reader's (Go duration strings, integer seconds with a
 * warning). Returns undefined when the block has errors (all reported through `issues`).
 */
export const mqttBlock = (
  e: ConfigEntry,
  duration: (e: ConfigEntry) => number | undefined,
  issues: MqttIssues
): MqttSettings | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `Expected mqtt to be a map, got ${e.value._tag.toLowerCase()}`)
    return undefined
  }
  let failed = false
  const fail = (f: ConfigEntry, message: string) => {
    failed = true
    issues.error(f.keyPos, message)
  }
  const out: { -readonly [K in keyof MqttSettings]: MqttSettings[K] } = {
    host: "0.0.0.0",
    port: 0,
    ackWaitMs: 0,
    maxAckPending: 0,
    streamReplicas: 0,
    consumerReplicas: 0,
    consumerMemoryStorage: false,
    consumerInactiveThresholdMs: 0,
    user: undefined,
    password: undefined,
    token: undefined,
    authTimeoutSeconds: undefined,
    noAuthUser: undefined,
    tls: undefined
  }
  const str = (f: ConfigEntry, name: string): string | undefined => {
    if (f.value._tag === "String") return f.value.value
    fail(f, `${name}: expected a string`)
    return undefined
  }
  const int = (f: ConfigEntry): number | undefined => {
    if (f.value._tag === "Integer") return f.value.value
    fail(f, `mqtt.${f.key}: expected an integer`)
    return undefined
  }
  for (const f of e.value.entries.values()) {
    const k = f.key.toLowerCase()
    const refused = REFUSED[k]
    if (refused !== undefined) {
      fail(f, refused)
      continue
    }
    switch (k) {
      case "listen": {
        const hp = listen(f)
        if (typeof hp === "string") fail(f, `mqtt.${f.key}: ${hp}`)
        else {
          if (hp.host !== undefined && hp.host !== "") out.host = hp.host
          out.port = hp.port
        }
        break
      }
      case "port": {
        const p = int(f)
        if (p !== undefined) out.port = p
        break
      }
      case "host":
      case "net":
        if (f.value._tag === "String") out.host = f.value.value
        else fail(f, `mqtt.${f.key}: expected a string`)
        break
      case "ack_wait":
      case "ackwait": {
        const ms = duration(f)
        if (ms === undefined) failed = true
        else if (ms < 0) fail(f, "ack wait must be a positive value")
        else out.ackWaitMs = ms
        break
      }
      case "max_ack_pending":
      case "max_pending":
      case "max_inflight": {
        const n = int(f)
        if (n === undefined) break
        if (n < 0 || n > 0xffff) fail(f, `invalid value ${n}, should in [0..${0xffff}] range`)
        else out.maxAckPending = n
        break
      }
      case "stream_replicas":
      case "consumer_replicas": {
        const n = int(f)
        if (n === undefined) break
        // A single server holds one copy; nats-server standalone fails stream creation above 1.
        if (n > 1) fail(f, `mqtt.${f.key}: replicas > 1 not supported in non-clustered mode`)
        else if (k === "stream_replicas") out.streamReplicas = n
        else out.consumerReplicas = n
        break
      }
      case "consumer_memory_storage":
        if (f.value._tag === "Bool") out.consumerMemoryStorage = f.value.value
        else fail(f, `mqtt.${f.key}: expected a boolean`)
        break
      case "consumer_inactive_threshold":
      case "consumer_auto_cleanup": {
        const ms = duration(f)
        if (ms === undefined) failed = true
        else out.consumerInactiveThresholdMs = ms
        break
      }
      case "authorization":
      case "authentication":
        simpleAuth(f, out, str, fail)
        break
      case "tls": {
        const t = tlsBlock(f, parseGoDuration, { error: (g, m) => fail(g, m) })
        if (t === undefined) failed = true
        else if (t.map) fail(f, "mqtt.tls.verify_and_map is not supported yet; refusing to start")
        else if (t.handshakeFirst) fail(f, "mqtt.tls.handshake_first: not supported for mqtt (TLS always comes first)")
        else out.tls = t
        break
      }
      case "no_auth_user":
        out.noAuthUser = str(f, `mqtt.${f.key}`)
        break
      default:
        if (!f.usedAsVariable) fail(f, `unknown field "${f.key}"`)
    }
  }
  if (out.port < -1 || out.port > 65535) {
    failed = true
    issues.error(e.keyPos, `mqtt port ${out.port} is out of range (use 0..65535, or -1 for a random port)`)
  }
  if (failed) return undefined
  return {
    ...out,
    ackWaitMs: out.ackWaitMs === 0 ? DEFAULT_ACK_WAIT_MS : out.ackWaitMs,
    maxAckPending: out.maxAckPending === 0 ? DEFAULT_MAX_ACK_PENDING : out.maxAckPending
  }
}

/** nats-server parseSimpleAuth: user/username, pass/password, token, timeout (seconds); users are not part of it. */
const simpleAuth = (
  f: ConfigEntry,
  out: {
    user: string | undefined
    password: string | undefined
    token: string | undefined
    authTimeoutSeconds: number | undefined
  },
  str: (f: ConfigEntry, name: string) => string | undefined,
  fail: (f: ConfigEntry, message: string) => void
): void => {
  if (f.value._tag !== "Map") return fail(f, `mqtt.${f.key}: expected a block`)
  for (const g of f.value.entries.values()) {
    const name = `mqtt.${f.key}.${g.key}`
    switch (g.key.toLowerCase()) {
      case "user":
      case "username":
        out.user = str(g, name)
        break
      case "pass":
      case "password":
        out.password = str(g, name)
        break
      case "token":
        out.token = str(g, name)
        break
      case "timeout": {
        // As nats-server: a number of seconds; any other type means 1 second.
        const v = g.value
        out.authTimeoutSeconds = v._tag === "Integer" || v._tag === "Float" ? v.value : 1
        break
      }
      default:
        if (!g.usedAsVariable) fail(g, `unknown field "${g.key}"`)
    }
  }
}

/**
 * nats-server `validateMQTTOptions`, after the command line is merged (`-n` and `-js` count): the
 * text of the first refusal, or undefined. A port of 0 means no MQTT listener, as in nats-server.
 */
export const validate = (
  mqtt: MqttSettings | undefined,
  server: {
    readonly serverName: string | undefined
    readonly jetstream: boolean
    /** Password users of the top level and of the accounts. */
    readonly users: ReadonlyArray<PasswordUser>
    readonly nkeys: number
    /** `operator` / `trusted` configured. */
    readonly trusted: boolean
    /** `accounts {}` configured. */
    readonly accounts: boolean
  }
): string | undefined => {
  if (mqtt === undefined || mqtt.port === 0) return undefined
  if (server.serverName === undefined || server.serverName === "") {
    return "mqtt requires server name to be explicitly set"
  }
  if (!server.jetstream) return "mqtt requires JetStream to be enabled if running in standalone mode"
  if ((mqtt.noAuthUser ?? "") !== "") {
    if (server.trusted) return "no_auth_user not compatible with Trusted Operator"
    let problem: string | undefined
    const at: Position = { file: "", line: 0, column: 0 }
    checkNoAuthUser(mqtt.noAuthUser!, server.users, at, { error: (_p, m) => (problem ??= m) })
    if (problem !== undefined) return problem
  }
  if (server.users.length > 0 || server.nkeys > 0) {
    if ((mqtt.user ?? "") !== "") return "mqtt authentication username not compatible with presence of users/nkeys"
    if ((mqtt.token ?? "") !== "") return "mqtt authentication token not compatible with presence of users/nkeys"
  }
  // MQTT sessions live in the global account's JetStream, which has none once accounts are
  // configured (as in nats-server); operator mode users all belong to other accounts.
  if (server.trusted) {
    return "mqtt with operator mode (trusted keys, accounts in JWTs) is not supported yet; refusing to start"
  }
  if (server.accounts) {
    return "mqtt with accounts {} is not supported yet (MQTT state lives in the global account's JetStream); refusing to start"
  }
  return undefined
}
