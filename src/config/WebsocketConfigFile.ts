/**
 * The `websocket {}` (alias `ws`) block of a nats-server configuration file, read into
 * WebsocketSettings with nats-server's keys and aliases (`opts.go` parseWebsocket, 2.9.10 plus the
 * 2.11 `user_cookie`, `pass_cookie`, `token_cookie`, `headers` and `ping_interval`) and its
 * start-up refusals (`websocket.go` validateWebsocketOptions): no `tls` and no `no_tls`, an origin
 * that is not an absolute http(s) URL, a reserved response header, a `no_auth_user` that is not a
 * user, single-user credentials beside a users list, a JWT cookie outside operator mode.
 *
 * Two steps because the refusals depend on the rest of the file: `read` decodes the block alone,
 * `validate` runs once the top-level authorization is known.
 */
import { checkNoAuthUser } from "../auth/AuthConfigFile.ts"
import type { PasswordUser } from "../auth/AuthSettings.ts"
import * as TlsConfigFile from "../tls/TlsConfigFile.ts"
import type { ConfigEntry, Position } from "./ConfigValue.ts"
import { goType } from "./ConfigValue.ts"
import type { AllowedOrigin, WebsocketSettings } from "./WebsocketSettings.ts"

export interface WebsocketIssues {
  error(pos: Position, message: string): void
  warn(pos: Position, message: string): void
}

/** Go `time.ParseDuration`, in milliseconds. */
export type DurationParser = (text: string) => number | undefined

/** The block as read, before the checks that need the rest of the file. */
export interface ReadWebsocket {
  readonly entry: ConfigEntry
  readonly settings: WebsocketSettings
  /** Position of each key, for the refusals of `validate`. */
  readonly keys: ReadonlyMap<string, Position>
}

const DEFAULT_HOST = "0.0.0.0"

/** Response headers a config may not set: the upgrade itself owns them (nats-server 2.11). */
const RESERVED_HEADERS = new Set(["host", "content-length", "connection", "upgrade", "nats-no-masking"])

/** Go `net.SplitHostPort` with the scheme's default port (nats-server wsGetHostAndPort). */
export const hostAndPort = (tls: boolean, hostport: string): { host: string; port: string } | string => {
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(hostport)
  if (bracket !== null) return { host: bracket[1]!.toLowerCase(), port: bracket[2] ?? (tls ? "443" : "80") }
  const colons = hostport.split(":").length - 1
  if (colons === 0) return { host: hostport.toLowerCase(), port: tls ? "443" : "80" }
  if (colons > 1) return `address ${hostport}: too many colons in address`
  const i = hostport.indexOf(":")
  return { host: hostport.slice(0, i).toLowerCase(), port: hostport.slice(i + 1) }
}

/** nats-server 2.11 validateWebsocketOptions on one `allowed_origins` entry. */
export const parseOrigin = (origin: string): AllowedOrigin | string => {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(origin)
  if (m === null) {
    return origin.startsWith("/")
      ? `unable to parse allowed origin ${
        JSON.stringify(origin)
      }: allowed origins must be absolute URLs with http or https scheme`
      : `unable to parse allowed origin: parse ${JSON.stringify(origin)}: invalid URI for request`
  }
  const scheme = m[1]!.toLowerCase()
  if (scheme !== "http" && scheme !== "https") {
    return `unable to parse allowed origin ${
      JSON.stringify(origin)
    }: allowed origins must be absolute URLs with http or https scheme`
  }
  // Userinfo is not part of an origin.
  const authority = m[2]!.replace(/^.*@/, "")
  // Go url.Parse: whatever follows the last colon of a host that is not an IPv6 literal is its port.
  const lastColon = authority.lastIndexOf(":")
  if (lastColon >= 0 && !authority.endsWith("]") && !/^\d*$/.test(authority.slice(lastColon + 1))) {
    return `unable to parse allowed origin: parse ${JSON.stringify(origin)}: invalid port ${
      JSON.stringify(authority.slice(lastColon))
    } after host`
  }
  if (authority === "") return `unable to parse allowed origin ${JSON.stringify(origin)}: host is required`
  const hp = hostAndPort(scheme === "https", authority)
  if (typeof hp === "string") return `unable to parse allowed origin: ${hp}`
  return { scheme, host: hp.host, port: hp.port }
}

export const read = (
  e: ConfigEntry,
  duration: DurationParser,
  issues: WebsocketIssues
): ReadWebsocket | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `Expected websocket to be a map, got ${goType(e.value)}`)
    return undefined
  }
  let ok = true
  const fail = (f: ConfigEntry, message: string) => {
    ok = false
    issues.error(f.keyPos, message)
  }
  const mismatch = (f: ConfigEntry, what: string) =>
    fail(f, `websocket.${f.key}: expected ${what}, got ${goType(f.value)}`)
  const str = (f: ConfigEntry): string | undefined => {
    if (f.value._tag === "String") return f.value.value
    mismatch(f, "a string")
    return undefined
  }
  const bool = (f: ConfigEntry): boolean | undefined => {
    if (f.value._tag === "Bool") return f.value.value
    mismatch(f, "a boolean")
    return undefined
  }
  const int = (f: ConfigEntry): number | undefined => {
    if (f.value._tag === "Integer") return f.value.value
    mismatch(f, "an integer")
    return undefined
  }
  const s: { -readonly [K in keyof WebsocketSettings]: WebsocketSettings[K] } = {
    host: "",
    port: 0,
    advertise: undefined,
    noTls: false,
    tls: undefined,
    sameOrigin: false,
    allowedOrigins: [],
    allowedOriginsParsed: [],
    handshakeTimeoutMs: 0,
    compression: false,
    user: undefined,
    password: undefined,
    token: undefined,
    authTimeoutSeconds: undefined,
    noAuthUser: undefined,
    jwtCookie: undefined,
    userCookie: undefined,
    passCookie: undefined,
    tokenCookie: undefined,
    headers: [],
    pingIntervalMs: undefined
  }
  const keys = new Map<string, Position>()
  for (const f of e.value.entries.values()) {
    const k = f.key.toLowerCase()
    keys.set(k, f.keyPos)
    switch (k) {
      case "listen": {
        const v = f.value
        if (v._tag === "Integer") {
          s.port = v.value
          break
        }
        const m = v._tag === "String" ? /^(?:\[([^\]]*)\]|([^:[\]]*)):(-?\d+)$/.exec(v.value) : null
        if (m === null) {
          fail(
            f,
            `websocket.listen: expected port or host:port, got ${goType(v)}${
              v._tag === "String" ? ` "${v.value}"` : ""
            }`
          )
          break
        }
        s.host = m[1] ?? m[2] ?? ""
        s.port = Number(m[3])
        break
      }
      case "port":
        s.port = int(f) ?? s.port
        break
      case "host":
      case "net":
        s.host = str(f) ?? s.host
        break
      case "advertise":
        s.advertise = str(f)
        break
      case "no_tls":
        s.noTls = bool(f) ?? false
        break
      case "tls":
        s.tls = TlsConfigFile.tlsBlock(f, duration, { error: (g, m) => fail(g, m) })
        break
      case "same_origin":
        s.sameOrigin = bool(f) ?? false
        break
      case "allowed_origins":
      case "allowed_origin":
      case "allow_origins":
      case "allow_origin":
      case "origins":
      case "origin": {
        const v = f.value
        const items = v._tag === "Array" ? v.items : [v]
        const out: Array<string> = []
        for (const item of items) {
          if (item._tag === "String") out.push(item.value)
          else fail(f, `error parsing allowed origins: unsupported type in array ${goType(item)}`)
        }
        s.allowedOrigins = out
        break
      }
      case "handshake_timeout": {
        // nats-server: an integer is seconds, a string a Go duration.
        const v = f.value
        if (v._tag === "Integer") s.handshakeTimeoutMs = v.value * 1000
        else if (v._tag === "String") {
          const ms = duration(v.value)
          if (ms === undefined) fail(f, `time: invalid duration ${JSON.stringify(v.value)}`)
          else s.handshakeTimeoutMs = ms
        } else fail(f, `error parsing handshake timeout: unsupported type ${goType(v)}`)
        break
      }
      case "compress":
      case "compression":
        s.compression = bool(f) ?? false
        break
      case "authorization":
      case "authentication":
        if (!simpleAuth(f, s, fail)) ok = false
        break
      case "jwt_cookie":
        s.jwtCookie = str(f)
        break
      case "user_cookie":
        s.userCookie = str(f)
        break
      case "pass_cookie":
        s.passCookie = str(f)
        break
      case "token_cookie":
        s.tokenCookie = str(f)
        break
      case "no_auth_user":
        s.noAuthUser = str(f)
        break
      case "headers": {
        if (f.value._tag !== "Map") {
          fail(f, `error parsing headers: unsupported type ${goType(f.value)}`)
          break
        }
        const out: Array<readonly [string, string]> = []
        for (const h of f.value.entries.values()) {
          if (h.value._tag === "String") out.push([h.key, h.value.value])
          else fail(h, `error parsing header key ${h.key}: unsupported type ${goType(h.value)}`)
        }
        s.headers = out
        break
      }
      case "ping_interval": {
        const v = f.value
        if (v._tag === "String") {
          const ms = duration(v.value)
          if (ms === undefined) fail(f, `error parsing ping_interval: invalid duration ${JSON.stringify(v.value)}`)
          else s.pingIntervalMs = ms
        } else if (v._tag === "Integer") {
          issues.warn(
            f.keyPos,
            `invalid use of field "${f.key}": ${f.key} should be converted to a duration (read as ${v.value}s)`
          )
          s.pingIntervalMs = v.value * 1000
        } else fail(f, `websocket.${f.key}: expected a duration such as "30s", got ${goType(v)}`)
        break
      }
      default:
        if (!f.usedAsVariable) fail(f, `unknown field "${f.key}"`)
    }
  }
  if (s.port < -1 || s.port > 65535) {
    fail(e, `websocket port ${s.port} is out of range (use 0..65535, or -1 for a random port)`)
  }
  if (!ok) return undefined
  if (s.port !== 0 && s.host === "") s.host = DEFAULT_HOST
  return { entry: e, settings: s, keys }
}

/** nats-server parseSimpleAuth: user/username, pass/password, token, timeout (seconds). */
const simpleAuth = (
  f: ConfigEntry,
  s: {
    user: string | undefined
    password: string | undefined
    token: string | undefined
    authTimeoutSeconds: number | undefined
  },
  fail: (f: ConfigEntry, message: string) => void
): boolean => {
  if (f.value._tag !== "Map") {
    fail(f, `websocket.${f.key}: expected a block, got ${goType(f.value)}`)
    return false
  }
  let ok = true
  const str = (g: ConfigEntry): string | undefined => {
    if (g.value._tag === "String") return g.value.value
    ok = false
    fail(g, `websocket.${f.key}.${g.key}: expected a string, got ${goType(g.value)}`)
    return undefined
  }
  for (const g of f.value.entries.values()) {
    switch (g.key.toLowerCase()) {
      case "user":
      case "username":
        s.user = str(g)
        break
      case "pass":
      case "password":
        s.password = str(g)
        break
      case "token":
        s.token = str(g)
        break
      case "timeout": {
        // As nats-server: a number of seconds; any other type means 1 second.
        const v = g.value
        s.authTimeoutSeconds = v._tag === "Integer" || v._tag === "Float" ? v.value : 1
        break
      }
      default:
        if (!g.usedAsVariable) {
          ok = false
          fail(g, `unknown field "${g.key}"`)
        }
    }
  }
  return ok
}

export interface TopLevel {
  /** Password users of the top level and of the accounts. */
  readonly users: ReadonlyArray<PasswordUser>
  readonly nkeys: number
  /** `operator` / `trusted` configured (nats-server TrustedOperators / TrustedKeys). */
  readonly trusted: boolean
}

/**
 * nats-server validateWebsocketOptions: the refusals that need the whole file. Returns the
 * settings to run with, or undefined when the listener is off (port 0) or refused.
 */
export const validate = (
  r: ReadWebsocket,
  top: TopLevel,
  issues: WebsocketIssues
): WebsocketSettings | undefined => {
  const s = r.settings
  // No port: nats-server ignores the rest of the block.
  if (s.port === 0) return undefined
  const at = (key: string) => r.keys.get(key) ?? r.entry.keyPos
  const before = { n: 0 }
  const error = (pos: Position, message: string) => {
    before.n++
    issues.error(pos, message)
  }
  if (s.tls === undefined && !s.noTls) error(r.entry.keyPos, "websocket requires TLS configuration")
  const parsed: Array<AllowedOrigin> = []
  for (const o of s.allowedOrigins) {
    const p = parseOrigin(o)
    if (typeof p === "string") error(at("allowed_origins"), p)
    else parsed.push(p)
  }
  if ((s.noAuthUser ?? "") !== "") {
    if (top.trusted) error(at("no_auth_user"), "no_auth_user not compatible with Trusted Operator")
    else checkNoAuthUser(s.noAuthUser!, top.users, at("no_auth_user"), { error })
  }
  if (top.users.length > 0 || top.nkeys > 0) {
    if ((s.user ?? "") !== "") {
      error(at("authorization"), "websocket authentication username not compatible with presence of users/nkeys")
    }
    if ((s.token ?? "") !== "") {
      error(at("authorization"), "websocket authentication token not compatible with presence of users/nkeys")
    }
  }
  if ((s.jwtCookie ?? "") !== "" && !top.trusted) {
    error(
      at("jwt_cookie"),
      `trusted operators or trusted keys configuration is required for JWT authentication via cookie ${
        JSON.stringify(s.jwtCookie)
      }`
    )
  }
  for (const [name] of s.headers) {
    const k = name.toLowerCase()
    if (RESERVED_HEADERS.has(k)) error(at("headers"), `websocket: invalid header ${JSON.stringify(name)} not allowed`)
    else if (k.startsWith("sec-websocket-")) {
      error(at("headers"), `websocket: invalid header ${JSON.stringify(name)}, "Sec-WebSocket-" prefix not allowed`)
    }
  }
  if (s.tls?.handshakeFirst === true) {
    // wss is TLS from the first byte anyway; accepting the key would suggest it changes something.
    error(at("tls"), "websocket.tls.handshake_first: not supported for websocket (TLS always comes first)")
  }
  if (before.n > 0) return undefined
  return { ...s, allowedOriginsParsed: parsed }
}
