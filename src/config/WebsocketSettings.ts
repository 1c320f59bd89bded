/**
 * The `websocket {}` block as the broker runs it (nats-server WebsocketOpts): a second client
 * listener speaking the same NATS protocol inside WebSocket frames, for browsers.
 */
import type { TlsSettings } from "../tls/TlsSettings.ts"

/** One entry of `allowed_origins`, as nats-server keeps it: scheme and port per host. */
export interface AllowedOrigin {
  readonly scheme: string
  /** Lower-cased host name. */
  readonly host: string
  /** The explicit port, or the scheme's default (80/443), as a string like Go's. */
  readonly port: string
}

export interface WebsocketSettings {
  readonly host: string
  /** -1 picks a random free port. */
  readonly port: number
  /** `advertise`: the host:port clients are told to use (cluster `ws_connect_urls`). */
  readonly advertise: string | undefined
  /** `no_tls: true`: plain `ws://` (nats-server refuses to start with neither this nor `tls`). */
  readonly noTls: boolean
  /** `tls {}` of the block; when given it is used even with `no_tls`, as nats-server does. */
  readonly tls: TlsSettings | undefined
  readonly sameOrigin: boolean
  /** The `allowed_origins` strings as written (for /varz) and parsed (for the check). */
  readonly allowedOrigins: ReadonlyArray<string>
  readonly allowedOriginsParsed: ReadonlyArray<AllowedOrigin>
  /** HTTP upgrade must complete within this long; 0 = no limit (nats-server's default). */
  readonly handshakeTimeoutMs: number
  /** `compression`: negotiate permessage-deflate with clients that offer it. */
  readonly compression: boolean
  /** `authorization { user, password, token, timeout }` of the block: overrides the top level's for WebSocket clients. */
  readonly user: string | undefined
  readonly password: string | undefined
  readonly token: string | undefined
  /** Seconds, as written (for /varz); undefined = the top-level auth timeout. */
  readonly authTimeoutSeconds: number | undefined
  readonly noAuthUser: string | undefined
  /** Cookie names whose values stand in for CONNECT fields the client left empty. */
  readonly jwtCookie: string | undefined
  readonly userCookie: string | undefined
  readonly passCookie: string | undefined
  readonly tokenCookie: string | undefined
  /** Extra headers of the 101 response (nats-server 2.11 `headers`). */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Keepalive PING interval for WebSocket clients; undefined = the top-level `ping_interval`. */
  readonly pingIntervalMs: number | undefined
}

/** nats-server wsConfigAuth: any of these replaces the top-level credentials for WebSocket clients. */
export const authOverride = (ws: WebsocketSettings): boolean =>
  (ws.user ?? "") !== "" || (ws.token ?? "") !== "" || (ws.noAuthUser ?? "") !== ""
