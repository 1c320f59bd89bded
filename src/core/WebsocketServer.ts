/**
 * The WebSocket client listener beside the TCP one (`websocket {}`): the same ClientConnection
 * over a WebSocket `Wire`, with what nats-server changes for these clients and nothing else:
 * the block's `authorization`/`no_auth_user` replace the top-level credentials when given
 * (wsConfigAuth), users' `allowed_connection_types` are checked against WEBSOCKET, the block's
 * `tls { verify_and_map }` decides certificate mapping, its `ping_interval` the keepalive, and INFO
 * names the WebSocket listener's host, port and TLS (nats-server 2.10+; 2.9.10 repeats the TCP
 * listener's, which a browser cannot use).
 */
import { Effect, type Scope } from "effect"
import * as os from "node:os"
import { Authenticator } from "../auth/Authenticator.ts"
import { type AuthSettings, effectiveTimeoutMs, empty as emptyAuth, forWebsocket } from "../auth/AuthSettings.ts"
import type { BrokerConfig } from "../config/BrokerConfig.ts"
import { authOverride, type WebsocketSettings } from "../config/WebsocketSettings.ts"
import type { Logger } from "../log/Log.ts"
import type { Listener, TransportError, Wire } from "../platform/Transport.ts"
import { encodeInfo, type ServerInfo } from "../protocol/ServerInfo.ts"
import type { ConnectionContext } from "./Connection.ts"

export interface WebsocketListener extends Listener {
  readonly tls: boolean
  readonly settings: WebsocketSettings
  /**
   * `host:port`s a WebSocket client can reach this server on (nats-server getConnectURLs): the
   * advertise address, else every global unicast address of a wildcard host, else the host. A
   * cluster sends them to its peers as `ws_connect_urls`, which their WebSocket clients receive as
   * `connect_urls`.
   */
  readonly connectUrls: ReadonlyArray<string>
}

export const connectUrls = (
  advertise: string | undefined,
  host: string,
  port: number,
  interfaces = os.networkInterfaces()
): Array<string> => {
  const join = (h: string, p: number | string) => (h.includes(":") ? `[${h}]:${p}` : `${h}:${p}`)
  if (advertise !== undefined && advertise !== "") {
    const m = /^(?:\[([^\]]*)\]|([^:]*))(?::(\d+))?$/.exec(advertise)
    return m === null ? [advertise] : [join(m[1] ?? m[2] ?? "", m[3] ?? port)]
  }
  if (host !== "0.0.0.0" && host !== "::") return [join(host, port)]
  const out: Array<string> = []
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      // Go's IsGlobalUnicast: neither loopback nor link-local, of either family.
      if (a.internal || /^fe[89ab]/i.test(a.address) || a.address.startsWith("169.254.")) continue
      out.push(join(a.address, port))
    }
  }
  return out
}

type InfoBase = Omit<ServerInfo, "client_id" | "client_ip" | "nonce">
type MutableContext = { -readonly [K in keyof ConnectionContext]: ConnectionContext[K] }

export interface WebsocketNeeds {
  /** The TCP listener's context: WebSocket clients share its routers, accounts and config. */
  readonly ctx: MutableContext
  /** The TCP INFO fields, as the last reload left them. */
  readonly infoBase: () => InfoBase
  /** The cluster's WebSocket client URLs, sent as `connect_urls` (nats-server generateClientInfoJSON). */
  readonly wsConnectUrls?: () => ReadonlyArray<string> | undefined
  readonly log: Logger
  readonly accept: (wire: Wire, ctx: ConnectionContext) => void
}

/** The credentials WebSocket clients are checked against (nats-server processClientOrLeafAuthentication, WS case). */
export const websocketAuth = (c: BrokerConfig, ws: WebsocketSettings): Authenticator | undefined => {
  const top = c.auth
  let settings: AuthSettings | undefined = top
  if (authOverride(ws)) {
    settings = {
      ...(top ?? emptyAuth),
      user: ws.user,
      password: ws.password,
      token: ws.token,
      noAuthUser: ws.noAuthUser
    }
  }
  if (settings === undefined) return undefined
  const timeoutMs = ws.authTimeoutSeconds !== undefined && ws.authTimeoutSeconds !== 0
    ? ws.authTimeoutSeconds * 1000
    : effectiveTimeoutMs(settings, c.tls?.timeoutMs)
  const auth = new Authenticator({ ...forWebsocket(settings), timeoutMs }, "WEBSOCKET")
  return auth.required ? auth : undefined
}

export const startWebsocket = (
  ws: WebsocketSettings,
  needs: WebsocketNeeds
): Effect.Effect<
  {
    readonly listener: WebsocketListener
    /** Logs the listener as nats-server does, in the server's start-up banner. */
    readonly announce: () => void
    readonly reauthorize: (next: BrokerConfig) => void
  },
  TransportError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const { ctx, log } = needs
    const secure = ws.tls !== undefined
    let port = ws.port
    // Connections read `config` on every use; only the keepalive differs, so the override follows reloads.
    let seen: BrokerConfig | undefined
    let patched: BrokerConfig | undefined
    const config = (): BrokerConfig => {
      if (ws.pingIntervalMs === undefined) return ctx.config
      if (seen !== ctx.config) {
        seen = ctx.config
        patched = { ...ctx.config, pingIntervalMs: ws.pingIntervalMs }
      }
      return patched!
    }
    const wsCtx = Object.create(ctx, {
      config: { get: config, enumerable: true }
    }) as MutableContext
    wsCtx.auth = websocketAuth(ctx.config, ws)
    wsCtx.tlsMap = ws.tls?.map === true && ctx.config.auth?.operator === undefined
    wsCtx.info = (cid, clientIp, nonce) => {
      const { tls_required: _r, tls_verify: _v, auth_required: authRequired, connect_urls: _u, ...base } = needs
        .infoBase()
      const c = ctx.config
      const wsUrls = needs.wsConnectUrls?.()
      return encodeInfo({
        ...base,
        ...(wsUrls === undefined ? {} : { connect_urls: [...wsUrls] }),
        host: ws.host,
        port,
        ...(authRequired === true || authOverride(ws) ? { auth_required: true } : {}),
        ...(secure ? { tls_required: true, tls_available: true } : {}),
        client_id: cid,
        client_ip: clientIp,
        ...(nonce === undefined ? {} : { nonce }),
        ...(c.jetstream && c.domain !== undefined ? { domain: c.domain } : {})
      })
    }
    // `ws` (and node:http under it) load only when a `websocket {}` block configures this listener.
    const { listenWebsocket } = yield* Effect.promise(() => import("../platform/WebsocketTransport.ts"))
    const listener = yield* listenWebsocket({
      host: ws.host,
      port: ws.port,
      tls: ws.tls,
      sameOrigin: ws.sameOrigin,
      allowedOrigins: ws.allowedOriginsParsed,
      compression: ws.compression,
      handshakeTimeoutMs: ws.handshakeTimeoutMs,
      headers: ws.headers,
      cookies: { jwt: ws.jwtCookie, user: ws.userCookie, pass: ws.passCookie, token: ws.tokenCookie },
      // A client frame holds whole protocol lines; nats-server streams frames, we bound the buffer.
      maxMessageBytes: ctx.config.maxPending,
      refused: (remote, reason) => log.error(`${remote} - ${reason}`)
    }, (wire) => needs.accept(wire, wsCtx))
    port = listener.port
    return {
      announce: () => {
        log.info(`Listening for websocket clients on ${secure ? "wss" : "ws"}://${listener.host}:${listener.port}`)
        if (!secure) log.warn("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!")
      },
      listener: {
        ...listener,
        tls: secure,
        settings: ws,
        connectUrls: connectUrls(ws.advertise, ws.host, listener.port)
      },
      reauthorize: (next) => {
        wsCtx.auth = websocketAuth(next, ws)
      }
    }
  })
