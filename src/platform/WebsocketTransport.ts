/**
 * WebSocket transport: an HTTP(S) listener that upgrades browsers' connections and hands each one
 * to the core as the same `Wire` a TCP socket is, so the NATS protocol code runs unchanged inside
 * WebSocket frames.
 *
 * RFC 6455 framing, masking, control frames and permessage-deflate come from `ws`, not from our
 * code: it is the WebSocket server most of the Node ecosystem runs, it keeps `send` synchronous
 * with the socket's buffered byte count visible (`bufferedAmount`), which back-pressure and the
 * slow-consumer cut-off need, and `pause`/`resume` stop reading a producer as on TCP. Effect's
 * socket server would put an Effect on every message. The upgrade request itself is checked here,
 * in nats-server's order and with its status codes (`websocket.go` wsUpgrade): method, Host,
 * Upgrade, Connection, key, version, then the origin rules (403).
 *
 * Outgoing messages are always single frames: Safari cannot read a compressed message split over
 * frames (nats-server stops fragmenting for it), and `ws` never fragments what it sends.
 */
import { Data, Effect, type Scope } from "effect"
import type * as http from "node:http"
import * as net from "node:net"
import * as tls from "node:tls"
import { type WebSocket, WebSocketServer } from "ws"
import type { AllowedOrigin } from "../config/WebsocketSettings.ts"
import type { TlsSettings } from "../tls/TlsSettings.ts"
import type { Listener, Wire, WireCredentials, WireEvents } from "./Transport.ts"
import { TransportError } from "./Transport.ts"
import { listenWildcard } from "./WildcardListen.ts"

// Not ES imports: importing node:http as an ES module reads every export, and its WebSocket getter
// loads undici (13 MB RSS on Node 24), which `ws` does not use.
const nodeHttp = process.getBuiltinModule("node:http")
const nodeHttps = process.getBuiltinModule("node:https")

export interface WebsocketListen {
  readonly host: string
  readonly port: number
  readonly tls: TlsSettings | undefined
  readonly sameOrigin: boolean
  readonly allowedOrigins: ReadonlyArray<AllowedOrigin>
  readonly compression: boolean
  readonly handshakeTimeoutMs: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly cookies: {
    readonly jwt: string | undefined
    readonly user: string | undefined
    readonly pass: string | undefined
    readonly token: string | undefined
  }
  /** Largest WebSocket message accepted; a client's frame carries whole NATS protocol lines. */
  readonly maxMessageBytes: number
  /** An upgrade refused or a TLS handshake failed (nats-server logs both as errors). */
  readonly refused: (remote: string, reason: string) => void
}

/** nats-server only compresses buffers above this size (wsCompressThreshold). */
const COMPRESS_THRESHOLD = 64

class HandshakeError extends Data.Error<{ readonly status: number; readonly reason: string }> {}

/** True when a comma-separated header has `value` as one of its tokens (case-insensitive). */
const headerHas = (h: string | ReadonlyArray<string> | undefined, value: string): boolean => {
  if (h === undefined) return false
  const lines = typeof h === "string" ? [h] : h
  return lines.some((line) => line.split(",").some((t) => t.trim().toLowerCase() === value))
}

/** Go net.SplitHostPort with the scheme's default port (nats-server wsGetHostAndPort). */
const hostPort = (secure: boolean, hp: string): { host: string; port: string } | undefined => {
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(hp)
  if (bracket !== null) return { host: bracket[1]!.toLowerCase(), port: bracket[2] ?? (secure ? "443" : "80") }
  const parts = hp.split(":")
  if (parts.length > 2) return undefined
  return { host: parts[0]!.toLowerCase(), port: parts[1] ?? (secure ? "443" : "80") }
}

/** nats-server checkOrigin: no Origin header is accepted (non-browser clients set what they like). */
const checkOrigin = (req: http.IncomingMessage, secure: boolean, opts: WebsocketListen): string | undefined => {
  if (!opts.sameOrigin && opts.allowedOrigins.length === 0) return undefined
  const origin = req.headers.origin ?? (req.headers["sec-websocket-origin"] as string | undefined)
  if (origin === undefined || origin === "") return undefined
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(origin)
  if (m === null) return `parse ${JSON.stringify(origin)}: invalid URI for request`
  const scheme = m[1]!.toLowerCase()
  const o = hostPort(scheme === "https", m[2]!)
  if (o === undefined) return `address ${m[2]}: too many colons in address`
  if (opts.sameOrigin) {
    const r = hostPort(secure, req.headers.host ?? "")
    if (r === undefined) return `address ${req.headers.host}: too many colons in address`
    if (o.host !== r.host || o.port !== r.port || scheme !== (secure ? "https" : "http")) return "not same origin"
  }
  if (opts.allowedOrigins.length > 0) {
    const ok = opts.allowedOrigins.some((a) => a.host === o.host && a.scheme === scheme && a.port === o.port)
    if (!ok) return "not in the allowed list"
  }
  return undefined
}

/** wsUpgrade's checks, RFC 6455 section 4.2.1 in order. */
const checkUpgrade = (
  req: http.IncomingMessage,
  secure: boolean,
  opts: WebsocketListen
): HandshakeError | undefined => {
  const bad = (reason: string) => new HandshakeError({ status: 400, reason })
  // nats-server serves leaf nodes and MQTT on these paths; neither is built here, and treating
  // them as NATS clients would only fail later and more obscurely.
  const pathname = (req.url ?? "/").split("?")[0]!
  if (pathname.endsWith("/leafnode")) {
    return new HandshakeError({ status: 404, reason: "leafnode websocket endpoint not enabled" })
  }
  if (pathname.endsWith("/mqtt")) {
    return new HandshakeError({ status: 404, reason: "mqtt websocket endpoint not enabled" })
  }
  if (req.method !== "GET") return new HandshakeError({ status: 405, reason: "request method must be GET" })
  if ((req.headers.host ?? "") === "") return bad("'Host' missing in request")
  if (!headerHas(req.headers.upgrade, "websocket")) return bad("invalid value for header 'Upgrade'")
  if (!headerHas(req.headers.connection, "upgrade")) return bad("invalid value for header 'Connection'")
  const key = req.headers["sec-websocket-key"]
  if (key === undefined || key === "") return bad("key missing")
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return bad("invalid websocket key")
  if (!headerHas(req.headers["sec-websocket-version"], "13")) return bad("invalid version")
  const origin = checkOrigin(req, secure, opts)
  if (origin !== undefined) return new HandshakeError({ status: 403, reason: `origin not allowed: ${origin}` })
  return undefined
}

/** An HTTP error answer as Go's http.Error writes it, with the version header nats-server adds. */
const httpError = (status: number): string => {
  const text = nodeHttp.STATUS_CODES[status] ?? "Error"
  const body = `${text}\n`
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\nSec-Websocket-Version: 13\r\n` +
    `Date: ${new Date().toUTCString()}\r\n` +
    `X-Content-Type-Options: nosniff\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`
}

/** Go http.Request.Cookies: `name=value` pairs separated by `;`, values maybe quoted. */
const parseCookies = (header: string | undefined): Map<string, string> => {
  const out = new Map<string, string>()
  if (header === undefined) return out
  for (const part of header.split(";")) {
    const i = part.indexOf("=")
    if (i <= 0) continue
    const name = part.slice(0, i).trim()
    let value = part.slice(i + 1).trim()
    if (value.length >= 2 && value.startsWith("\"") && value.endsWith("\"")) value = value.slice(1, -1)
    if (!out.has(name)) out.set(name, value)
  }
  return out
}

const credentialsFrom = (req: http.IncomingMessage, names: WebsocketListen["cookies"]): WireCredentials | undefined => {
  if (names.jwt === undefined && names.user === undefined && names.pass === undefined && names.token === undefined) {
    return undefined
  }
  const cookies = parseCookies(req.headers.cookie)
  const get = (name: string | undefined) => (name === undefined || name === "" ? undefined : cookies.get(name))
  return { jwt: get(names.jwt), user: get(names.user), pass: get(names.pass), auth_token: get(names.token) }
}

/** nats-server's close status for a connection's close reason (wsEnqueueCloseMessage). */
const closeStatus = (reason: string | undefined): number => {
  if (reason === undefined || reason === "Client Closed") return 1000
  if (reason === "Maximum Message Payload Exceeded") return 1009
  if (
    reason.startsWith("Authentication") || reason.startsWith("Slow Consumer") || reason.startsWith("Maximum") ||
    reason === "Missing Account" || reason === "Credentials Revoked" || reason === "Authorization Violation"
  ) return 1008
  if (reason === "Parse Error" || reason === "Protocol Violation" || reason === "Bad Client Protocol") return 1002
  if (reason === "Stale Connection" || reason === "Server Shutdown" || reason.endsWith("Error")) return 1001
  return 1011
}

/**
 * A close frame's reason must fit a control frame (125 bytes, 2 of them the status). Cut short
 * as nats-server does, with room for a replacement character where the cut splits one.
 */
const closeText = (reason: string): string => {
  const b = Buffer.from(reason, "utf8")
  return b.length <= 123 ? reason : `${b.subarray(0, 117).toString("utf8")}...`
}

const wrap = (ws: WebSocket, socket: net.Socket, req: http.IncomingMessage, opts: WebsocketListen): Wire => {
  const forwarded = req.headers["x-forwarded-for"]
  const first = Array.isArray(forwarded) ? forwarded[0] : forwarded
  // The dual-stack wildcard listener sees IPv4 peers as `::ffff:a.b.c.d`; nats-server reports `a.b.c.d`.
  const peer = (socket.remoteAddress ?? "unknown").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "")
  const remoteAddress = first !== undefined && net.isIP(first) !== 0 ? first : peer
  const hwm = socket.writableHighWaterMark
  let events: WireEvents | undefined
  // The socket's `drain` does not cover bytes `ws` still holds (queued behind deflate), so drain
  // is reported from the send callbacks, once everything buffered fits under the mark again.
  let full = false
  const sent = (err?: Error) => {
    if (err !== undefined && err !== null) return
    if (full && ws.bufferedAmount < hwm) {
      full = false
      events?.drain()
    }
  }
  const sentNotify = (err?: Error) => {
    sent(err)
    if (err === undefined || err === null) events?.written()
  }
  const send = (data: Uint8Array, cb: (err?: Error) => void): boolean => {
    ws.send(data, cb)
    if (ws.bufferedAmount < hwm) return true
    full = true
    return false
  }
  return {
    remoteAddress,
    remotePort: socket.remotePort ?? 0,
    credentials: credentialsFrom(req, opts.cookies),
    write: (chunk) => send(chunk, sent),
    // One frame per flush: a browser pays per message event, and deflate compresses better whole.
    writev: (chunks, notify) =>
      send(
        chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Array<Uint8Array>),
        notify === true ? sentNotify : sent
      ),
    pendingBytes: () => ws.bufferedAmount,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end: (reason) => {
      if (ws.readyState === ws.OPEN) ws.close(closeStatus(reason), closeText(reason ?? "Client Closed"))
      // A peer that never answers the close must not keep the socket alive.
      setTimeout(() => ws.terminate(), 2_000).unref()
    },
    destroy: () => ws.terminate(),
    listen: (e) => {
      events = e
      ws.on("message", (data) => e.data(data as Buffer))
      ws.on("close", () => e.close())
      ws.on("error", () => {
        // "close" follows; the connection reports the reason itself.
      })
    },
    peerCertificate: () => socket instanceof tls.TLSSocket ? socket.getPeerX509Certificate() : undefined
  }
}

/** Listens for WebSocket clients until the scope closes; every upgraded connection goes to `accept`. */
export const listenWebsocket = (
  opts: WebsocketListen,
  accept: (wire: Wire) => void
): Effect.Effect<Listener, TransportError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ server: http.Server; wss: WebSocketServer; listener: Listener }, TransportError>((resume) => {
      const secure = opts.tls !== undefined
      const wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        // NATS is bytes: nats-server reads text frames without checking their UTF-8.
        skipUTF8Validation: true,
        maxPayload: opts.maxMessageBytes,
        perMessageDeflate: opts.compression
          ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: COMPRESS_THRESHOLD }
          : false
      })
      if (opts.headers.length > 0) {
        wss.on("headers", (headers) => {
          for (const [k, v] of opts.headers) headers.push(`${k}: ${v}`)
        })
      }
      // Node checks the header and request timeouts on an interval (30 s by default): a shorter
      // handshake_timeout needs a shorter interval to mean anything.
      const timeouts = opts.handshakeTimeoutMs > 0
        ? {
          headersTimeout: opts.handshakeTimeoutMs,
          requestTimeout: opts.handshakeTimeoutMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(opts.handshakeTimeoutMs / 4)))
        }
        : {}
      let server: http.Server
      try {
        server = opts.tls === undefined ? nodeHttp.createServer(timeouts) : nodeHttps.createServer({
          ...timeouts,
          cert: opts.tls.cert,
          key: opts.tls.key,
          ...(opts.tls.verify && opts.tls.ca !== undefined ? { ca: opts.tls.ca } : {}),
          requestCert: opts.tls.verify,
          rejectUnauthorized: opts.tls.verify,
          handshakeTimeout: opts.tls.timeoutMs
        })
      } catch (err) {
        return resume(Effect.fail(new TransportError({ message: `TLS: ${(err as Error).message}`, code: undefined })))
      }
      const remoteOf = (s: net.Socket) => `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`
      server.on("tlsClientError", (err: Error, s: tls.TLSSocket) => {
        const short = (err as Error & { reason?: string }).reason ?? err.message
        opts.refused(remoteOf(s), `TLS handshake error: ${short}`)
      })
      // A plain HTTP request is a handshake that failed at its first check.
      server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
        const e = checkUpgrade(req, secure, opts) ??
          new HandshakeError({ status: 400, reason: "invalid value for header 'Upgrade'" })
        opts.refused(remoteOf(req.socket), `websocket handshake error: ${e.reason}`)
        const text = nodeHttp.STATUS_CODES[e.status] ?? "Error"
        res.writeHead(e.status, {
          "Content-Type": "text/plain; charset=utf-8",
          "Sec-Websocket-Version": "13",
          "X-Content-Type-Options": "nosniff"
        })
        res.end(`${text}\n`)
      })
      server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const e = checkUpgrade(req, secure, opts)
        if (e !== undefined) {
          opts.refused(remoteOf(socket), `websocket handshake error: ${e.reason}`)
          socket.end(httpError(e.status))
          return
        }
        socket.setNoDelay(true)
        wss.handleUpgrade(req, socket, head, (ws) => accept(wrap(ws, socket, req, opts)))
      })
      server.on("clientError", (_err, socket: net.Socket) => {
        if (socket.writable) socket.end(httpError(400))
        else socket.destroy()
      })
      listenWildcard(server, opts.port === -1 ? 0 : opts.port, opts.host, () => {
        const addr = server.address() as net.AddressInfo
        resume(Effect.succeed({ server, wss, listener: { host: opts.host, port: addr.port } }))
      }, (err) =>
        resume(
          Effect.fail(
            new TransportError({
              message: `cannot listen for websocket clients on ${opts.host}:${opts.port}: ${err.message}`,
              code: err.code
            })
          )
        ))
    }),
    // Stop accepting; open connections are closed by their own finalizers.
    ({ server, wss }) =>
      Effect.sync(() => {
        server.close()
        wss.close()
      })
  ).pipe(Effect.map(({ listener }) => listener))
