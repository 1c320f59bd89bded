/**
 * What a configuration reload (SIGHUP, `--signal reload`) may change, as nats-server 2.9.10
 * decides it (reload.go diffOptions): every option that differs is either applied in place or
 * makes the whole reload fail, and then nothing changes.
 *
 * Applied here: authorization (users, nkey users, token, single user, timeout), `debug`, `trace`,
 * `logtime`, `max_connections`, `ping_interval`, `ping_max`, `write_deadline`. Everything else is
 * refused with nats-server's text, including options nats-server can reload but this broker cannot
 * yet (TLS certificates, `max_payload`, log file, ...): a reload that silently left them as they
 * were would tell the operator something false.
 */
import { type AuthSettings, empty as emptyAuth } from "../auth/AuthSettings.ts"
import type { BrokerConfig } from "./BrokerConfig.ts"

export type ReloadPlan =
  | {
    readonly ok: true
    /** nats-server's "Reloaded: ..." notices, one per applied change, in its order. */
    readonly notices: ReadonlyArray<string>
    readonly authChanged: boolean
  }
  | { readonly ok: false; readonly error: string }

/** nats-server's Options field names, for the refusal text. */
const GO_NAMES: Partial<Record<keyof BrokerConfig, string>> = {
  host: "Host",
  port: "Port",
  serverName: "ServerName",
  httpPort: "HTTPPort",
  httpHost: "HTTPHost",
  maxPayload: "MaxPayload",
  maxControlLine: "MaxControlLine",
  maxPending: "MaxPending",
  logFile: "LogFile",
  portsFileDir: "PortsFileDir",
  pidFile: "PidFile",
  lameDuckDurationMs: "LameDuckDuration",
  sync: "SyncInterval",
  domain: "JetStreamDomain",
  batchLimits: "JetStreamLimits",
  tls: "TLSConfig",
  websocket: "Websocket",
  mqtt: "MQTT"
}

/** Structural equality over the plain data configs are made of (records, arrays, Maps, scalars). */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false
    for (const [k, v] of a) if (!b.has(k) || !sameValue(v, b.get(k))) return false
    return true
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined)
  if (ka.length !== kb.length) return false
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

const goDuration = (ms: number): string => {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m0s`
  return `${ms / 1000}s`
}

const authNotices = (before: AuthSettings, after: AuthSettings): Array<string> | string => {
  const out: Array<string> = []
  if (before.user !== after.user) out.push("Reloaded: authorization username")
  if (before.password !== after.password) out.push("Reloaded: authorization password")
  if (before.token !== after.token) out.push("Reloaded: authorization token")
  if (before.timeoutMs !== after.timeoutMs) out.push(`Reloaded: authorization timeout = ${after.timeoutMs / 1000}`)
  if (!sameValue(before.users, after.users)) out.push("Reloaded: authorization users")
  if (!sameValue(before.nkeys, after.nkeys)) out.push("Reloaded: authorization nkey users")
  if (before.noAuthUser !== after.noAuthUser) {
    // nats-server: no_auth_user may only be dropped together with the user it named.
    const old = before.noAuthUser
    const dropped = old !== undefined && after.noAuthUser === undefined
    if (!dropped || after.users.some((u) => u.user === old)) {
      return `config reload not supported for NoAuthUser: old=${old ?? ""}, new=${after.noAuthUser ?? ""}`
    }
  }
  return out
}

export const planReload = (current: BrokerConfig, next: BrokerConfig): ReloadPlan => {
  const notices: Array<string> = []
  let authChanged = false
  for (const key of Object.keys(current) as Array<keyof BrokerConfig>) {
    const before = current[key]
    const after = next[key]
    if (sameValue(before, after)) continue
    switch (key) {
      case "auth": {
        // Operator mode's trust (operator JWTs, preloaded accounts) is fixed at start for now.
        if (current.auth?.operator !== undefined || next.auth?.operator !== undefined) {
          return { ok: false, error: "config reload not supported for operator mode (trusted operators and resolver)" }
        }
        // The MQTT listener checks CONNECT against the credentials it read at start: a reload that
        // changed them would leave MQTT admitting removed users.
        if (current.mqtt !== undefined && current.mqtt.port !== 0) {
          return {
            ok: false,
            error: "config reload not supported for authorization while mqtt is enabled: restart the server"
          }
        }
        const n = authNotices(current.auth ?? emptyAuth, next.auth ?? emptyAuth)
        if (typeof n === "string") return { ok: false, error: n }
        notices.push(...n)
        authChanged = true
        break
      }
      case "accounts": {
        // The subject spaces, their imports and JetStream are built once; users move with `auth`.
        const shape = (a: BrokerConfig["accounts"]) =>
          a === undefined ? undefined : {
            systemAccount: a.systemAccount,
            accounts: a.accounts.map(({ users: _u, nkeys: _n, defaultPermissions: _p, ...rest }) => rest)
          }
        if (!sameValue(shape(current.accounts), shape(next.accounts))) {
          return {
            ok: false,
            error: "config reload not supported for accounts: only their users and permissions may change"
          }
        }
        notices.push("Reloaded: accounts")
        break
      }
      case "debug":
        notices.push(`Reloaded: debug = ${after}`)
        break
      case "trace":
        notices.push(`Reloaded: trace = ${after}`)
        break
      case "logtime":
        notices.push(`Reloaded: logtime = ${after}`)
        break
      case "maxConnections":
        notices.push(`Reloaded: max_connections = ${after}`)
        break
      case "pingIntervalMs":
        notices.push(`Reloaded: ping_interval = ${goDuration(after as number)}`)
        break
      case "pingMax":
        notices.push(`Reloaded: ping_max = ${after}`)
        break
      case "writeDeadlineMs":
        notices.push(`Reloaded: write_deadline = ${goDuration(after as number)}`)
        break
      case "port":
        // A random port (-1) stays the port the listener got.
        if (after === -1) continue
        return refuse(key, before, after)
      case "storeDir":
        return { ok: false, error: "config reload not supported for jetstream storage directory" }
      case "maxMemoryStore":
      case "maxFileStore":
        return { ok: false, error: "config reload not supported for jetstream max memory and store" }
      case "cluster":
        // Routes, their listener and their credentials are fixed at start (nats-server reloads some of them).
        return {
          ok: false,
          error: "config reload not supported for cluster: restart the server to change its routes or cluster settings"
        }
      case "clusterStore":
      case "serverTags":
      case "uniqueTag":
        // The cluster store connection and this node's placement tags are fixed at start.
        return {
          ok: false,
          error:
            "config reload not supported for jetstream cluster_store, server_tags or unique_tag: restart the server"
        }
      case "jetstream":
        return {
          ok: false,
          error: after === true
            ? "config reload not supported for enabling JetStream"
            : "config reload not supported for disabling JetStream"
        }
      default:
        return refuse(key, before, after)
    }
  }
  return { ok: true, notices, authChanged }
}

/**
 * nats-server prints both values; we print scalars only: a block (TLS, accounts) may hold passwords,
 * keys or certificates, which have no place in a log line.
 */
const refuse = (key: keyof BrokerConfig, before: unknown, after: unknown): ReloadPlan => {
  const name = GO_NAMES[key] ?? key
  const scalar = (v: unknown) => v === undefined || v === null || typeof v !== "object"
  return {
    ok: false,
    error: scalar(before) && scalar(after)
      ? `config reload not supported for ${name}: old=${before ?? ""}, new=${after ?? ""}`
      : `config reload not supported for ${name}`
  }
}
