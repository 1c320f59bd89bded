/**
 * The `websocket` section of `/varz` (nats-server 2.9.10 monitor.go WebsocketOptsVarz): the block's
 * settings in struct order, `omitempty` fields left out, the port the listener got.
 */
import type { WebsocketListener } from "../core/WebsocketServer.ts"
import { durationNs } from "./GoFormat.ts"

export const websocketVarz = (ws: WebsocketListener | undefined): Record<string, unknown> => {
  if (ws === undefined) return {}
  const s = ws.settings
  const some = <T>(key: string, v: T | undefined, empty: T) => (v === undefined || v === empty ? {} : { [key]: v })
  return {
    ...some("host", s.host, ""),
    ...some("port", ws.port, 0),
    ...some("advertise", s.advertise, ""),
    ...some("no_auth_user", s.noAuthUser, ""),
    ...some("jwt_cookie", s.jwtCookie, ""),
    ...(s.handshakeTimeoutMs > 0 ? { handshake_timeout: durationNs(s.handshakeTimeoutMs) } : {}),
    ...some("auth_timeout", s.authTimeoutSeconds, 0),
    ...some("no_tls", s.noTls, false),
    ...some("tls_map", s.tls?.map, false),
    ...some("same_origin", s.sameOrigin, false),
    ...(s.allowedOrigins.length > 0 ? { allowed_origins: [...s.allowedOrigins] } : {}),
    ...some("compression", s.compression, false)
  }
}
