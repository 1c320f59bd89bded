/**
 * nats-server configuration files (`-c file`) mapped onto `BrokerConfig`.
 *
 * Everything is read and checked before anything runs: `load` returns either the complete set of
 * overrides plus warnings, or every error found (file:line:col and key in each), never a partial
 * config. Key names, aliases, types and the unknown-key rule follow nats-server 2.9.10
 * (`server/opts.go` `processConfigFileLine`, `parseJetStream`): keys are case-insensitive, an
 * unknown key is an error unless the file uses it as a `$variable`.
 *
 * Deliberate differences: keys of features we have not built are accepted with one warning each,
 * except those that ask for what is not built and would open access if ignored: the broker refuses
 * to start. `authorization`, `no_auth_user` and `accounts` are honoured (src/auth, src/accounts),
 * operator mode too (`operator`, `resolver: MEMORY`, ...: src/auth/jwt), `tls` (src/tls),
 * `jetstream { cipher, key }` (src/store/Cipher.ts) and `mqtt {}` (MqttConfigFile.ts, src/mqtt).
 * `jetstream.sync_interval` (nats-server 2.10+) is accepted; `max_buffered_msgs` and
 * `max_buffered_size` (2.11) bound each stream's ingest queue (src/jetstream/stream/IngestLimit.ts).
 */
import { randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as AccountsConfigFile from "../accounts/AccountsConfigFile.ts"
import { DEFAULT_SYSTEM_ACCOUNT } from "../accounts/AccountSettings.ts"
import * as AuthConfigFile from "../auth/AuthConfigFile.ts"
import { type AuthSettings, empty as emptyAuth } from "../auth/AuthSettings.ts"
import { OPERATOR_KEYS, OperatorConfig } from "../auth/jwt/OperatorConfigFile.ts"
import { parseStoreUrl } from "../cluster/store/StoreUrl.ts"
import { parseGoDuration } from "../jetstream/codec/GoTime.ts"
import * as TlsConfigFile from "../tls/TlsConfigFile.ts"
import type { BrokerConfig, BrokerConfigInput } from "./BrokerConfig.ts"
import * as ClusterConfigFile from "./ClusterConfigFile.ts"
import * as ConfigLexer from "./ConfigLexer.ts"
import type { ConfigEntry, ConfigValue, Position } from "./ConfigLexer.ts"
import * as JetStreamLimitsConfigFile from "./JetStreamLimitsConfigFile.ts"
import * as MappingsConfigFile from "./MappingsConfigFile.ts"
import * as MqttConfigFile from "./MqttConfigFile.ts"
import * as WebsocketConfigFile from "./WebsocketConfigFile.ts"

export interface ConfigIssue {
  readonly pos: Position
  readonly message: string
}

/** `file:line:col: message` (just `file: message` when the problem is the file itself). */
export const renderIssue = (i: ConfigIssue) =>
  i.pos.line === 0 ? `${i.pos.file}: ${i.message}` : `${i.pos.file}:${i.pos.line}:${i.pos.column}: ${i.message}`

export type LoadResult =
  | {
    readonly _tag: "Success"
    readonly config: BrokerConfigInput
    readonly warnings: ReadonlyArray<ConfigIssue>
    /** Accepted-and-ignored settings, logged at debug level. */
    readonly notes: ReadonlyArray<ConfigIssue>
  }
  | { readonly _tag: "Failure"; readonly errors: ReadonlyArray<ConfigIssue> }

/** Known to nats-server, not built here: accepted with a warning. */
const UNSUPPORTED = new Set([
  "client_advertise",
  "disable_sublist_cache",
  "no_sublist_cache",
  "http_base_path",
  "gateway",
  "leaf",
  "leafnodes",
  "logfile_size_limit",
  "log_size_limit",
  "syslog",
  "remote_syslog",
  "prof_port",
  "max_traced_msg_len",
  "max_subscriptions",
  "max_subs",
  "max_sub_tokens",
  "max_subscription_tokens",
  "ocsp",
  "allow_non_tls",
  "lame_duck_grace_period",
  "no_header_support",
  "connect_error_reports",
  "reconnect_error_reports",
  "default_js_domain"
])

/** Known to nats-server and security-relevant: ignoring them would run the broker open. */
const REFUSED: Record<string, string> = {
  resolver_tls: "TLS is not supported yet; refusing to start without it",
  resolver_pinned_accounts: "pinned accounts are not supported yet; refusing to start without them"
}

const JETSTREAM_UNSUPPORTED = new Set(["extension_hint", "max_outstanding_catchup"])

const kindOf = (v: ConfigValue): string => {
  switch (v._tag) {
    case "String":
      return `a string (${JSON.stringify(v.value)})`
    case "Integer":
      return `an integer (${v.raw})`
    case "Float":
      return `a float (${v.value})`
    case "Bool":
      return `a boolean (${v.value})`
    case "Datetime":
      return "a date"
    case "Array":
      return "an array"
    case "Map":
      return "a block"
  }
}

/** nats-server `getStorageSize`: an integer, or a string ending in K, M, G or T (powers of 1024). */
const storageSize = (v: ConfigValue): number | string => {
  if (v._tag === "Integer") return v.value
  if (v._tag !== "String") return `must be an integer or a string, got ${kindOf(v)}`
  if (v.value === "") return 0
  const m = /^(-?\d+)([KMGT])$/.exec(v.value)
  if (m === null) return `sizes defined as strings must end in K, M, G, T (got ${JSON.stringify(v.value)})`
  return Number(m[1]) * 1024 ** ("KMGT".indexOf(m[2]!) + 1)
}

/** `port` or `"host:port"` (Go `net.SplitHostPort`, brackets around IPv6). */
const hostPort = (v: ConfigValue): { host?: string; port: number } | string => {
  if (v._tag === "Integer") return { port: v.value }
  if (v._tag !== "String") return `expected port or host:port, got ${kindOf(v)}`
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(v.value)
  if (m === null) return `could not parse address string ${JSON.stringify(v.value)}`
  if (!/^-?\d+$/.test(m[3]!)) return `could not parse port ${JSON.stringify(m[3])}`
  return { host: m[1] ?? m[2] ?? "", port: Number(m[3]) }
}

const checkPort = (port: number, what: string): string | undefined =>
  port < -1 || port > 65535 ? `${what} ${port} is out of range (use 0..65535, or -1 for a random port)` : undefined

const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
const randomDigits = (n: number): string => Array.from({ length: n }, () => DIGITS[randomInt(DIGITS.length)]).join("")
/** The generated `$G` user of a system-account-only config: one per process, so a reload keeps it (nats-server sysAccOnlyNoAuthUser). */
let sysOnlyNoAuthUser: string | undefined

class Mapper {
  readonly errors: Array<ConfigIssue> = []
  readonly warnings: Array<ConfigIssue> = []
  readonly notes: Array<ConfigIssue> = []
  readonly out: { -readonly [K in keyof BrokerConfigInput]: BrokerConfigInput[K] } = {}
  storeDirSet = false
  auth: Omit<AuthSettings, "noAuthUser"> | undefined
  noAuthUser: ConfigEntry | undefined
  accountsParsed: AccountsConfigFile.ParsedAccounts | undefined
  readonly issues: AuthConfigFile.AuthIssues = { error: (pos, message) => this.errors.push({ pos, message }) }
  readonly operator = new OperatorConfig({
    error: (pos, message) => this.errors.push({ pos, message }),
    warn: (pos, message) => this.warnings.push({ pos, message })
  })
  /** `no_system_account` (or its aliases) set to true. */
  noSystemAccount = false
  /** `system_account` as read outside operator mode (read once: a wrong type is reported once). */
  explicitSystem: string | undefined
  accountsEntry: ConfigEntry | undefined
  websocket: WebsocketConfigFile.ReadWebsocket | undefined
  readonly websocketIssues: WebsocketConfigFile.WebsocketIssues = {
    error: (pos, message) => this.errors.push({ pos, message }),
    warn: (pos, message) => this.warnings.push({ pos, message })
  }

  error(e: ConfigEntry, message: string) {
    this.errors.push({ pos: e.keyPos, message })
  }

  integer(e: ConfigEntry): number | undefined {
    if (e.value._tag === "Integer") return e.value.value
    this.error(e, `${e.key}: expected an integer, got ${kindOf(e.value)}`)
    return undefined
  }
  string(e: ConfigEntry): string | undefined {
    if (e.value._tag === "String") return e.value.value
    this.error(e, `${e.key}: expected a string, got ${kindOf(e.value)}`)
    return undefined
  }
  bool(e: ConfigEntry): boolean | undefined {
    if (e.value._tag === "Bool") return e.value.value
    this.error(e, `${e.key}: expected a boolean (true/false, yes/no, on/off), got ${kindOf(e.value)}`)
    return undefined
  }
  /** nats-server `parseDuration`: a duration string, or (with a warning) an integer number of seconds. */
  duration(e: ConfigEntry): number | undefined {
    if (e.value._tag === "String") {
      const ms = parseGoDuration(e.value.value)
      if (ms === undefined) this.error(e, `error parsing ${e.key}: invalid duration ${JSON.stringify(e.value.value)}`)
      return ms
    }
    if (e.value._tag === "Integer") {
      this.warnings.push({
        pos: e.keyPos,
        message:
          `invalid use of field "${e.key}": ${e.key} should be converted to a duration (read as ${e.value.value}s)`
      })
      return e.value.value * 1000
    }
    this.error(e, `${e.key}: expected a duration such as "2m" or "500ms", got ${kindOf(e.value)}`)
    return undefined
  }
  set<K extends keyof BrokerConfigInput>(key: K, value: BrokerConfigInput[K] | undefined) {
    if (value !== undefined) this.out[key] = value
  }
  unsupported(e: ConfigEntry, name = e.key) {
    this.warnings.push({ pos: e.keyPos, message: `${name} is not supported yet and is ignored` })
  }

  top(e: ConfigEntry) {
    const key = e.key.toLowerCase()
    switch (key) {
      case "listen": {
        const hp = hostPort(e.value)
        if (typeof hp === "string") return this.error(e, `${e.key}: ${hp}`)
        const bad = checkPort(hp.port, "port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        if (hp.host !== undefined && hp.host !== "") this.set("host", hp.host)
        return this.set("port", hp.port === 0 ? 4222 : hp.port)
      }
      case "port": {
        const port = this.integer(e)
        if (port === undefined) return
        const bad = checkPort(port, "port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        // nats-server: 0 means the default port.
        return this.set("port", port === 0 ? 4222 : port)
      }
      case "host":
      case "net":
        return this.set("host", this.string(e))
      case "server_name":
        return this.set("serverName", this.string(e))
      case "http": {
        const hp = hostPort(e.value)
        if (typeof hp === "string") return this.error(e, `${e.key}: ${hp}`)
        const bad = checkPort(hp.port, "http port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        if (hp.host !== undefined && hp.host !== "") this.set("httpHost", hp.host)
        return this.set("httpPort", hp.port === 0 ? undefined : hp.port)
      }
      case "https": {
        const hp = hostPort(e.value)
        if (typeof hp === "string") return this.error(e, `${e.key}: ${hp}`)
        const bad = checkPort(hp.port, "https port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        if (hp.host !== undefined && hp.host !== "") this.set("httpHost", hp.host)
        return this.set("httpsPort", hp.port === 0 ? undefined : hp.port)
      }
      case "https_port": {
        const port = this.integer(e)
        if (port === undefined) return
        const bad = checkPort(port, "https port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        return this.set("httpsPort", port === 0 ? undefined : port)
      }
      case "http_port":
      case "monitor_port": {
        const port = this.integer(e)
        if (port === undefined) return
        const bad = checkPort(port, "http port")
        if (bad !== undefined) return this.error(e, `${e.key}: ${bad}`)
        return this.set("httpPort", port === 0 ? undefined : port)
      }
      case "debug":
        return this.set("debug", this.bool(e))
      case "trace":
        return this.set("trace", this.bool(e))
      case "trace_verbose":
        return this.set("trace", this.bool(e))
      case "logtime":
        return this.set("logtime", this.bool(e))
      case "logfile":
      case "log_file":
        return this.set("logFile", this.string(e))
      case "pidfile":
      case "pid_file":
        return this.set("pidFile", this.string(e))
      case "ports_file_dir":
        return this.set("portsFileDir", this.string(e))
      case "store_dir":
      case "storedir":
        return this.storeDir(e)
      case "max_control_line":
      case "max_payload": {
        const n = this.integer(e)
        if (n === undefined) return
        if (n > 2 ** 31 - 1) return this.error(e, `${e.key} value is too big`)
        if (n <= 0) return this.error(e, `${e.key} must be greater than 0`)
        return this.set(key === "max_payload" ? "maxPayload" : "maxControlLine", n)
      }
      case "max_pending":
        return this.set("maxPending", this.integer(e))
      case "max_connections":
      case "max_conn":
        return this.set("maxConnections", this.integer(e))
      case "ping_max":
        return this.set("pingMax", this.integer(e))
      case "ping_interval":
        return this.set("pingIntervalMs", this.duration(e))
      case "write_deadline":
        return this.set("writeDeadlineMs", this.duration(e))
      case "lame_duck_duration": {
        const s = this.string(e)
        if (s === undefined) return
        const ms = parseGoDuration(s)
        if (ms === undefined) {
          return this.error(e, `error parsing lame_duck_duration: invalid duration ${JSON.stringify(s)}`)
        }
        if (ms < 30_000) return this.error(e, `invalid lame_duck_duration of ${s}, minimum is 30 seconds`)
        return this.set("lameDuckDurationMs", ms)
      }
      case "jetstream":
        return this.jetstream(e)
      case "server_tags":
        return this.serverTags(e)
      case "feature_flags":
        return this.featureFlags(e)
      case "authorization":
        this.auth = AuthConfigFile.authorization(e, parseGoDuration, this.issues)
        return
      case "no_auth_user":
        this.noAuthUser = e
        return
      case "accounts":
        return this.accounts(e)
      case "cluster":
        return this.set(
          "cluster",
          ClusterConfigFile.clusterBlock(e, parseGoDuration, {
            error: (pos, message) => this.errors.push({ pos, message }),
            warn: (pos, message) => this.warnings.push({ pos, message })
          })
        )
      case "tls":
        return this.set("tls", TlsConfigFile.tlsBlock(e, parseGoDuration, { error: (f, m) => this.error(f, m) }))
      case "no_system_account":
      case "no_system":
      case "no_sys_acc": {
        const b = this.bool(e)
        if (b !== undefined) this.noSystemAccount = b
        return
      }
      case "websocket":
      case "ws":
        this.websocket = WebsocketConfigFile.read(e, parseGoDuration, this.websocketIssues)
        return
      case "mqtt":
        return this.set(
          "mqtt",
          MqttConfigFile.mqttBlock(e, (f) => this.duration(f), {
            error: (pos, message) => this.errors.push({ pos, message }),
            warn: (pos, message) => this.warnings.push({ pos, message })
          })
        )
      case "mappings":
      case "maps":
        return this.set(
          "mappings",
          MappingsConfigFile.mappingsBlock(e, { error: (pos, m) => this.errors.push({ pos, message: m }) })
        )
    }
    if (OPERATOR_KEYS.has(key)) {
      return this.operator.take(e)
    }
    const refused = REFUSED[key]
    if (refused !== undefined) return this.error(e, `${e.key}: ${refused}`)
    if (UNSUPPORTED.has(key)) return this.unsupported(e)
    // nats-server: an unknown top-level key is an error unless the file uses it as a variable.
    if (!e.usedAsVariable) this.error(e, `unknown field "${e.key}"`)
  }

  /** nats-server `server_tags`: a string or an array of strings, lowercased (placement compares them so). */
  serverTags(e: ConfigEntry) {
    const v = e.value
    const items = v._tag === "String" ? [v] : v._tag === "Array" ? v.items : undefined
    if (items === undefined) {
      return this.error(e, `${e.key}: expected a string or an array of strings, got ${kindOf(v)}`)
    }
    const tags: Array<string> = []
    for (const item of items) {
      if (item._tag !== "String") return this.error(e, `${e.key}: every tag must be a string, got ${kindOf(item)}`)
      if (item.value.trim() !== "") tags.push(item.value.trim().toLowerCase())
    }
    this.set("serverTags", tags)
  }

  /** nats-server 2.14 `feature_flags`: a block of booleans; names it does not know are kept (and ignored). */
  featureFlags(e: ConfigEntry) {
    const v = e.value
    if (v._tag !== "Map") return this.error(e, `error parsing feature flags: expected a block, got ${kindOf(v)}`)
    const flags: Record<string, boolean> = {}
    for (const f of v.entries.values()) {
      if (f.value._tag !== "Bool") {
        return this.error(
          f,
          `error parsing feature flag ${JSON.stringify(f.key)}: expected bool, got ${kindOf(f.value)}`
        )
      }
      flags[f.key] = f.value.value
    }
    this.set("featureFlags", flags)
  }

  storeDir(e: ConfigEntry) {
    const dir = this.string(e)
    if (dir === undefined) return
    if (this.storeDirSet) return this.error(e, "Duplicate 'store_dir' configuration")
    this.storeDirSet = true
    this.set("storeDir", dir)
  }

  jetstream(e: ConfigEntry) {
    const v = e.value
    if (v._tag === "Bool") return this.set("jetstream", v.value)
    if (v._tag === "String") {
      const s = v.value.toLowerCase()
      if (s === "enabled" || s === "enable") return this.set("jetstream", true)
      if (s === "disabled" || s === "disable") return this.set("jetstream", false)
      return this.error(e, `${e.key}: expected 'enabled' or 'disabled' for string value, got '${v.value}'`)
    }
    if (v._tag !== "Map") return this.error(e, `${e.key}: expected a block, a boolean or a string, got ${kindOf(v)}`)
    let enabled = true
    let key: string | undefined
    let cipher: "chacha" | "aes" | undefined
    let cipherEntry: ConfigEntry | undefined
    for (const f of v.entries.values()) {
      const k = f.key.toLowerCase()
      switch (k) {
        case "store":
        case "store_dir":
        case "storedir":
          this.storeDir(f)
          break
        case "max_memory_store":
        case "max_mem_store":
        case "max_mem":
        case "max_file_store":
        case "max_file": {
          const size = storageSize(f.value)
          if (typeof size === "string") this.error(f, `${f.key}: ${size}`)
          else this.set(k.includes("mem") ? "maxMemoryStore" : "maxFileStore", size < 0 ? undefined : size)
          break
        }
        case "domain":
          this.set("domain", this.string(f))
          break
        case "enable":
        case "enabled":
          enabled = this.bool(f) ?? enabled
          break
        case "sync":
        case "sync_interval":
          if (f.value._tag === "String" && f.value.value.toLowerCase() === "always") this.set("sync", "always")
          else {
            const ms = this.duration(f)
            if (ms !== undefined) this.set("sync", { intervalMs: ms })
          }
          break
        case "max_buffered_msgs": {
          const n = this.integer(f)
          if (n !== undefined) this.set("maxBufferedMsgs", n)
          break
        }
        case "max_buffered_size": {
          const size = storageSize(f.value)
          if (typeof size === "string") this.error(f, `${f.key}: ${size}`)
          else this.set("maxBufferedSize", size)
          break
        }
        case "request_queue_limit": {
          const n = this.integer(f)
          if (n !== undefined) this.set("requestQueueLimit", n)
          break
        }
        case "cluster_store": {
          const url = this.string(f)
          if (url === undefined) break
          const parsed = /^postgres(ql)?:\/\/./.test(url) ? parseStoreUrl(url) : undefined
          if (parsed === undefined) {
            this.error(f, `jetstream.${f.key} must be a postgres:// URL, got ${JSON.stringify(url)}`)
          } else if (typeof parsed === "string") this.error(f, `jetstream.${f.key}: ${parsed}`)
          else this.set("clusterStore", url)
          break
        }
        case "limits":
          this.set(
            "batchLimits",
            JetStreamLimitsConfigFile.limitsBlock(f, parseGoDuration, {
              error: (pos, message) => this.errors.push({ pos, message }),
              warn: (pos, message) => this.warnings.push({ pos, message })
            })
          )
          break
        case "unique_tag": {
          const tag = this.string(f)
          // nats-server lowercases tags; an empty unique_tag is no constraint.
          if (tag !== undefined) this.set("uniqueTag", tag === "" ? undefined : tag.toLowerCase())
          break
        }
        case "key":
        case "ek":
        case "encryption_key":
          key = this.string(f)
          break
        case "cipher": {
          const name = this.string(f)
          if (name === undefined) break
          const c = name.toLowerCase()
          cipherEntry = f
          // nats-server parseJetStream: these three spellings, any case; the error is its text.
          if (c === "chacha" || c === "chachapoly") cipher = "chacha"
          else if (c === "aes") cipher = "aes"
          else this.error(f, `Unknown cipher type: ${JSON.stringify(name)}`)
          break
        }
        case "strict": {
          // Requests are always decoded strictly (nats-server 2.12's default): `false` is not offered.
          const b = this.bool(f)
          if (b === false) {
            this.warnings.push({
              pos: f.keyPos,
              message: `jetstream.${f.key}: false is not supported: API requests are always decoded strictly`
            })
          }
          break
        }
        default:
          if (JETSTREAM_UNSUPPORTED.has(k)) this.unsupported(f, `jetstream.${f.key}`)
          else if (!f.usedAsVariable) this.error(f, `unknown field "${f.key}"`)
      }
    }
    this.set("jetstream", enabled)
    // As nats-server: an empty or absent key means no encryption, whatever the cipher; ChaCha is the default.
    if (key !== undefined && key !== "") this.set("encryption", { cipher: cipher ?? "chacha", key })
    else if (cipherEntry !== undefined) {
      this.warnings.push({
        pos: cipherEntry.keyPos,
        message: `jetstream.${cipherEntry.key} has no effect without jetstream.key: the store is not encrypted`
      })
    }
  }

  /** After the authorization is known: the WebSocket block's refusals (WebsocketConfigFile.validate). */
  finishWebsocket() {
    if (this.websocket === undefined) return
    const auth = this.out.auth
    const top = {
      users: auth?.users ?? [],
      nkeys: auth?.nkeys.length ?? 0,
      trusted: this.operator.hasOperator() || this.operator.hasTrusted()
    }
    this.set("websocket", WebsocketConfigFile.validate(this.websocket, top, this.websocketIssues))
  }

  /** After every key is read: `no_auth_user` must name a user (nats-server validateNoAuthUser). */
  finishAuth() {
    let noAuthUser: string | undefined
    if (this.noAuthUser !== undefined) {
      noAuthUser = this.string(this.noAuthUser)
      if (noAuthUser === "") noAuthUser = undefined
      if (noAuthUser !== undefined && this.operator.hasOperator()) {
        // nats-server validateNoAuthUser, before it looks for the user.
        this.error(this.noAuthUser, "no_auth_user not compatible with Trusted Operator")
      } else if (noAuthUser !== undefined) {
        AuthConfigFile.checkNoAuthUser(noAuthUser, this.auth?.users, this.noAuthUser.keyPos, this.issues)
      }
    }
    const direct = {
      users: (this.auth?.users.length ?? 0) > 0 || (this.auth?.nkeys.length ?? 0) > 0,
      accounts: this.accountsEntry?.value._tag === "Map" && this.accountsEntry.value.entries.size > 0
    }
    const operator = this.operator.finish(direct)
    if (operator !== undefined) {
      this.set("auth", { ...(this.auth ?? emptyAuth), noAuthUser, operator })
      const accounts = this.operator.accountsOf(operator)
      this.set(
        "accounts",
        this.noSystemAccount && operator.systemAccount === undefined
          ? { ...accounts, systemAccount: undefined }
          : accounts
      )
      return
    }
    const system = this.systemAccountName()
    if (system !== undefined && this.sysOnlyNeedsGlobalUser(system, noAuthUser)) {
      // nats-server configureAccounts: when the only configured account is the system account (given
      // users that way), clients without credentials still land in $G, as a generated no_auth_user.
      const name = (sysOnlyNoAuthUser ??= `nats-${randomDigits(8)}`)
      const base = this.auth ?? emptyAuth
      this.auth = { ...base, users: [...base.users, { user: name, password: name.slice(5), permissions: undefined }] }
      noAuthUser = name
    }
    if (this.auth !== undefined) this.set("auth", { ...this.auth, noAuthUser })
  }

  /**
   * The system account outside operator mode: `system_account`, else an account named `$SYS`,
   * else the default `$SYS` (created empty) unless `no_system_account`. Checked against the
   * configured accounts (nats-server fails its start with "account missing").
   */
  finishSystemAccount() {
    if (this.operator.hasOperator() || this.operator.hasTrusted()) return
    const named = this.operator.systemAccount()
    this.explicitSystem = named
    const configured = this.accountsParsed?.accounts ?? []
    if (named !== undefined && named !== DEFAULT_SYSTEM_ACCOUNT && !configured.some((a) => a.name === named)) {
      this.errors.push({
        pos: this.operator.systemEntry()!.keyPos,
        message: "error resolving system account: account missing"
      })
      return
    }
    const system = named ?? (this.noSystemAccount ? undefined : DEFAULT_SYSTEM_ACCOUNT)
    const sys = configured.find((a) => a.name === system)
    if (sys?.jetstream !== undefined) {
      const e = this.operator.systemEntry() ?? this.accountsEntry!
      this.errors.push({ pos: e.keyPos, message: "Not allowed to enable JetStream on the system account" })
      return
    }
    // Without accounts or system account keys the default applies (config.accounts undefined: `$SYS`).
    if (this.accountsParsed === undefined && named === undefined && !this.noSystemAccount) return
    this.set("accounts", { accounts: configured, systemAccount: system })
  }

  /** The explicitly chosen system account (nats-server opts.SystemAccount before the default). */
  private systemAccountName(): string | undefined {
    if (this.operator.hasOperator() || this.operator.hasTrusted()) return undefined
    if (this.explicitSystem !== undefined) return this.explicitSystem
    return this.accountsParsed?.accounts.some((a) => a.name === DEFAULT_SYSTEM_ACCOUNT) === true
      ? DEFAULT_SYSTEM_ACCOUNT
      : undefined
  }

  private sysOnlyNeedsGlobalUser(system: string, noAuthUser: string | undefined): boolean {
    if (noAuthUser !== undefined) return false
    // nats-server counts $G and the system account: exactly two accounts exist.
    const names = new Set((this.accountsParsed?.accounts ?? []).map((a) => a.name))
    names.add(system)
    return names.size === 1
  }

  accounts(e: ConfigEntry) {
    this.accountsEntry = e
    this.accountsParsed = AccountsConfigFile.accounts(e, parseGoDuration, this.issues)
  }

  /**
   * Account users join the server's users (nats-server parseAccounts: names unique across the
   * `authorization` block and every account; no single user or token beside them).
   */
  finishAccounts() {
    const parsed = this.accountsParsed
    if (parsed === undefined) return
    if (parsed.users.length + parsed.nkeys.length === 0) return
    const pos = parsed.usersPos!
    const auth = this.auth
    if ((auth?.user ?? "") !== "") return this.issues.error(pos, "Can not have a single user/pass and a users array")
    if ((auth?.token ?? "") !== "") return this.issues.error(pos, "Can not have a token and a users array")
    const taken = new Set([...(auth?.users ?? []).map((u) => u.user), ...(auth?.nkeys ?? []).map((n) => n.nkey)])
    for (const u of parsed.users) {
      if (taken.has(u.user)) return this.issues.error(pos, `Duplicate user ${JSON.stringify(u.user)} detected`)
    }
    for (const n of parsed.nkeys) {
      if (taken.has(n.nkey)) return this.issues.error(pos, `Duplicate nkey ${JSON.stringify(n.nkey)} detected`)
    }
    const base = auth ?? emptyAuth
    this.auth = { ...base, users: [...base.users, ...parsed.users], nkeys: [...base.nkeys, ...parsed.nkeys] }
  }
}

/** Reads, checks and maps a configuration file. Nothing is returned unless all of it is valid. */
export const load = (file: string, options: ConfigLexer.ParseOptions = {}): LoadResult => {
  const parsed = ConfigLexer.parseFile(file, options)
  if (parsed._tag === "Failure") {
    const { key, message, pos } = parsed.error
    return { _tag: "Failure", errors: [{ pos, message: key === undefined ? message : `${message} (at key "${key}")` }] }
  }
  const m = new Mapper()
  for (const e of parsed.root.entries.values()) m.top(e)
  m.finishAccounts()
  m.finishSystemAccount()
  m.finishAuth()
  m.finishWebsocket()
  if (m.errors.length > 0) return { _tag: "Failure", errors: m.errors }
  return { _tag: "Success", config: m.out, warnings: m.warnings, notes: m.notes }
}

export interface MachineProbe {
  readonly totalMemory: () => number
  /** Bytes available to us on the file system holding `dir`; throws when unknown. */
  readonly availableDisk: (dir: string) => number
}

export const nodeProbe: MachineProbe = {
  totalMemory: () => os.totalmem(),
  availableDisk: (dir) => {
    fs.mkdirSync(dir, { recursive: true })
    const s = fs.statfsSync(dir)
    return s.bavail * s.bsize
  }
}

/** nats-server `JetStreamMaxStoreDefault`, used when the disk cannot be measured. */
export const DEFAULT_MAX_FILE_STORE = 1024 ** 4
/** nats-server `JetStreamMaxMemDefault`, used when the machine's memory is unknown. */
export const DEFAULT_MAX_MEMORY_STORE = 256 * 1024 ** 2

/**
 * JetStream limits not given in the config, computed as nats-server 2.9.10 does
 * (`dynJetStreamConfig`, `diskAvailable`): 75% of physical memory, and 75% of the space available
 * where the store lives (1 TB if it cannot be measured).
 */
export const resolveJetStreamLimits = (
  config: BrokerConfig,
  probe: MachineProbe = nodeProbe
): { readonly maxMemoryStore: number; readonly maxFileStore: number } => {
  let maxMemoryStore = config.maxMemoryStore
  if (maxMemoryStore === undefined) {
    const total = probe.totalMemory()
    maxMemoryStore = total > 0 ? Math.floor(total / 4) * 3 : DEFAULT_MAX_MEMORY_STORE
  }
  let maxFileStore = config.maxFileStore
  if (maxFileStore === undefined) {
    try {
      maxFileStore = Math.floor(probe.availableDisk(config.storeDir) / 4) * 3
    } catch {
      maxFileStore = DEFAULT_MAX_FILE_STORE
    }
  }
  return { maxMemoryStore, maxFileStore }
}

/** nats-server `friendlyBytes`: `512 B`, `1.00 KB`, `17.69 GB`. */
export const friendlyBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`
  const exp = Math.min(6, Math.floor(Math.log(bytes) / Math.log(1024)))
  return `${(bytes / 1024 ** exp).toFixed(2)} ${"KMGTPE"[exp - 1]}B`
}
