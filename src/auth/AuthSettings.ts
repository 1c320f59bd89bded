/**
 * The server's client-authentication settings, as nats-server's `authorization` block, the
 * top-level `no_auth_user` and the `--user`/`--pass`/`--auth` flags describe them.
 */
import type { OperatorSettings } from "./jwt/OperatorSettings.ts"
import type { Permissions } from "./Permissions.ts"

export interface PasswordUser {
  readonly user: string
  /** Plain text, or a bcrypt hash (`$2a$`, `$2b$`, ...). */
  readonly password: string
  readonly permissions: Permissions | undefined
  /** False when `allowed_connection_types` excludes plain client connections. */
  readonly standardAllowed?: boolean
  /** False when `allowed_connection_types` excludes WEBSOCKET (undefined = allowed). */
  readonly websocketAllowed?: boolean
  /** False when `allowed_connection_types` excludes MQTT (undefined = allowed). */
  readonly mqttAllowed?: boolean
  /** The account the user belongs to (`accounts { A: { users } }`); undefined = the global account. */
  readonly account?: string
}

export interface NkeyUser {
  /** Public user nkey (`U...`). */
  readonly nkey: string
  readonly permissions: Permissions | undefined
  readonly standardAllowed?: boolean
  readonly websocketAllowed?: boolean
  readonly mqttAllowed?: boolean
  readonly account?: string
}

export interface AuthSettings {
  /** Single user (`authorization { user, password }`). */
  readonly user: string | undefined
  readonly password: string | undefined
  /** `authorization { token }` (may be a bcrypt hash). */
  readonly token: string | undefined
  readonly users: ReadonlyArray<PasswordUser>
  readonly nkeys: ReadonlyArray<NkeyUser>
  /** Connections that send no credentials are this user. */
  readonly noAuthUser: string | undefined
  /** Time a client has to send CONNECT (nats-server default 2 s). */
  readonly timeoutMs: number
  /**
   * True when the file gave a non-zero `authorization.timeout`. Otherwise nats-server derives the
   * default from TLS (getDefaultAuthTimeout: the TLS timeout plus one second).
   */
  readonly timeoutSet?: boolean
  /** Operator mode (`operator`/`trusted` with `resolver: MEMORY`): clients authenticate with user JWTs. */
  readonly operator?: OperatorSettings | undefined
}

/**
 * nats-server getDefaultAuthTimeout: an explicit `authorization.timeout` wins; otherwise, with TLS,
 * the TLS timeout plus one second (the handshake runs inside the time a client has to
 * authenticate), else AUTH_TIMEOUT.
 */
export const effectiveTimeoutMs = (auth: AuthSettings | undefined, tlsTimeoutMs: number | undefined): number => {
  if (auth?.timeoutSet === true) return auth.timeoutMs
  if (tlsTimeoutMs !== undefined) return tlsTimeoutMs + 1000
  return auth?.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS
}

/** nats-server AUTH_TIMEOUT. */
export const DEFAULT_AUTH_TIMEOUT_MS = 2000

export const empty: AuthSettings = {
  user: undefined,
  password: undefined,
  token: undefined,
  users: [],
  nkeys: [],
  noAuthUser: undefined,
  timeoutMs: DEFAULT_AUTH_TIMEOUT_MS
}

/**
 * The settings as WebSocket clients see them: each user's WEBSOCKET permission in the place the
 * authenticator checks for the connection type.
 */
export const forWebsocket = (a: AuthSettings): AuthSettings => ({
  ...a,
  users: a.users.map((u) => ({ ...u, standardAllowed: u.websocketAllowed !== false })),
  nkeys: a.nkeys.map((n) => ({ ...n, standardAllowed: n.websocketAllowed !== false }))
})

/** The settings as MQTT clients see them (users' MQTT permission where the authenticator checks it). */
export const forMqtt = (a: AuthSettings): AuthSettings => ({
  ...a,
  users: a.users.map((u) => ({ ...u, standardAllowed: u.mqttAllowed !== false })),
  nkeys: a.nkeys.map((n) => ({ ...n, standardAllowed: n.mqttAllowed !== false }))
})

/** nats-server configureAuthorization: any of these makes INFO say `auth_required`. */
export const authRequired = (a: AuthSettings | undefined): boolean =>
  a !== undefined &&
  (a.operator !== undefined || a.users.length > 0 || a.nkeys.length > 0 || (a.user ?? "") !== "" ||
    (a.token ?? "") !== "")

/** nats-server sends a nonce when nkey users exist, and in operator mode (user JWTs sign it). */
export const nonceRequired = (a: AuthSettings | undefined): boolean =>
  a !== undefined && (a.nkeys.length > 0 || a.operator !== undefined)

/** Flags override the file field by field (nats-server MergeOptions). */
export const merge = (
  file: AuthSettings | undefined,
  flags: Partial<AuthSettings> | undefined
): AuthSettings | undefined => {
  if (flags === undefined) return file
  const out: Record<string, unknown> = { ...(file ?? empty) }
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) out[k] = v
  return out as unknown as AuthSettings
}
