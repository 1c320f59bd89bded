/**
 * TCP transport: accept connections and hand each one to the core as a `Wire`.
 *
 * We use `node:net` directly rather than `effect/socket`: the protocol hot path needs synchronous
 * `write` with the kernel's backpressure signal, `cork`/`uncork` for one syscall per flush, and
 * reads delivered as `Buffer` callbacks without an Effect per chunk. `node:net` behaves the same on
 * Node, Bun and Deno. Effect still owns the listener's lifetime through the Scope.
 *
 * Client TLS follows nats-server: the INFO line goes out in plaintext (or, with handshake_first,
 * only after the handshake), then the server side of a TLS handshake starts over the same socket (`tls.TLSSocket` around the accepted socket). The
 * wire therefore upgrades itself when the connection starts listening: whatever was written
 * before `listen` (the INFO) is plaintext, everything after travels inside TLS.
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import type { X509Certificate } from "node:crypto"
import * as net from "node:net"
import * as tls from "node:tls"
import type { TlsSettings } from "../tls/TlsSettings.ts"
import { listenWildcard } from "./WildcardListen.ts"

export interface WireEvents {
  data(chunk: Uint8Array): void
  drain(): void
  /** A `writev(..., true)` was handed to the kernel in full (write progress). */
  written(): void
  close(): void
}

/** One accepted client socket, as the core sees it. */
export interface Wire {
  readonly remoteAddress: string
  readonly remotePort: number
  /** Returns false when the kernel buffer is full (a `drain` event follows). */
  write(chunk: Uint8Array): boolean
  /**
   * Write several chunks with one syscall where the runtime allows it. With `notify`, the
   * `written` event fires once all of them have been handed to the kernel.
   */
  writev(chunks: ReadonlyArray<Uint8Array>, notify?: boolean): boolean
  /** Bytes accepted by `write` but not yet handed to the kernel. */
  pendingBytes(): number
  /** Stop reading (back-pressure on a producer); `resume` starts again. Idempotent. */
  pause(): void
  resume(): void
  /** Flush what was written, then close. */
  end(): void
  /** Close now, dropping unsent data. */
  destroy(): void
  listen(events: WireEvents): void
  /** The client's certificate on a TLS connection that presented one (verify_and_map). */
  peerCertificate(): X509Certificate | undefined
}

export interface Listener {
  readonly host: string
  readonly port: number
}

export class TransportError extends Data.TaggedError("TransportError")<{
  readonly message: string
  readonly code: string | undefined
}> {}

export interface TlsListen {
  readonly settings: TlsSettings
  /** A handshake failed or timed out (the socket is already being closed). */
  readonly handshakeFailed: (remote: string, reason: string) => void
}

export interface TransportShape {
  listen(
    host: string,
    port: number,
    accept: (wire: Wire) => void,
    tls?: TlsListen
  ): Effect.Effect<Listener, TransportError, Scope.Scope>
  /** Dials `host:port` (a route to another server); the wire is returned once the TCP connection is up. */
  connect(host: string, port: number): Effect.Effect<Wire, TransportError>
}

/**
 * The server side of TLS for one listener. Accepted sockets are handed to a `tls.Server` that never
 * listens (`emit("connection")`): it runs the handshake, its timeout and the client-certificate
 * check exactly as Node does for its own listeners, and reports the outcome per peer address.
 */
class TlsUpgrader {
  private readonly server: tls.Server
  private readonly waiting = new Map<string, (socket: tls.TLSSocket) => void>()
  readonly handshakeFirst: boolean

  constructor(listen: TlsListen) {
    const { cert, key, ca, verify, timeoutMs } = listen.settings
    this.handshakeFirst = listen.settings.handshakeFirst
    this.server = tls.createServer({
      cert,
      key,
      // The CA only checks client certificates (nats-server: ClientCAs with verify). Given
      // without verify, OpenSSL would also send it as part of the server's chain.
      ...(verify && ca !== undefined ? { ca } : {}),
      requestCert: verify,
      rejectUnauthorized: verify,
      handshakeTimeout: timeoutMs
    })
    this.server.on("secureConnection", (socket: tls.TLSSocket) => {
      const key = peer(socket)
      const done = this.waiting.get(key)
      this.waiting.delete(key)
      if (done === undefined) socket.destroy()
      else done(socket)
    })
    this.server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
      const key = peer(socket)
      this.waiting.delete(key)
      // OpenSSL errors carry a short `reason` ("wrong version number"); the message has its internals.
      const short = (err as Error & { reason?: string }).reason ?? err.message
      const reason = err.message.includes("timeout") ? "TLS handshake timeout" : `TLS handshake error: ${short}`
      listen.handshakeFailed(key, reason)
      socket.destroy()
    })
  }

  /** Starts the handshake on `raw`; `secure` gets the session once the peer is admitted. */
  start(raw: net.Socket, secure: (socket: tls.TLSSocket) => void): void {
    this.waiting.set(peer(raw), secure)
    raw.once("close", () => this.waiting.delete(peer(raw)))
    this.server.emit("connection", raw)
  }
}

const peer = (s: net.Socket) => `${s.remoteAddress ?? "unknown"}:${s.remotePort ?? 0}`

const wrap = (raw: net.Socket, tlsUp: TlsUpgrader | undefined): Wire => {
  // The socket writes go to: the accepted one, or (TLS) the session once the handshake is done.
  // Between `listen` and then, `socket` is undefined and writes wait in `queued`. With
  // handshake_first nothing goes out in plaintext: the INFO waits for the session too.
  let socket: net.Socket | undefined = tlsUp?.handshakeFirst === true ? undefined : raw
  let session: tls.TLSSocket | undefined
  let queued: Array<Uint8Array> = []
  let queuedBytes = 0
  let paused = false
  // One callback for every notified write, so progress tracking allocates nothing per flush.
  let written: () => void = () => {}
  const onWritten = (err?: Error | null) => {
    if (err == null) written()
  }
  const queue = (chunks: ReadonlyArray<Uint8Array>) => {
    for (const c of chunks) {
      queued.push(c)
      queuedBytes += c.length
    }
    return queuedBytes === 0
  }
  const writev = (s: net.Socket, chunks: ReadonlyArray<Uint8Array>, cb: ((err?: Error | null) => void) | undefined) => {
    if (chunks.length === 1) return s.write(chunks[0]!, cb)
    s.cork()
    let ok = true
    const last = chunks.length - 1
    for (let i = 0; i < last; i++) ok = s.write(chunks[i]!)
    ok = s.write(chunks[last]!, cb)
    s.uncork()
    return ok
  }
  const attach = (s: net.Socket, events: WireEvents) => {
    s.on("data", events.data)
    s.on("drain", events.drain)
    s.on("close", events.close)
    s.on("error", () => {
      // "close" always follows "error"; the connection reports the reason itself.
    })
  }
  return {
    remoteAddress: raw.remoteAddress ?? "unknown",
    remotePort: raw.remotePort ?? 0,
    write: (chunk) => socket === undefined ? queue([chunk]) : socket.write(chunk),
    writev: (chunks, notify) => {
      if (socket === undefined) return queue(chunks)
      return writev(socket, chunks, notify === true ? onWritten : undefined)
    },
    pendingBytes: () => socket === undefined ? queuedBytes : socket.writableLength,
    pause: () => {
      paused = true
      socket?.pause()
    },
    resume: () => {
      paused = false
      if (socket !== undefined && !socket.destroyed) socket.resume()
    },
    end: () => {
      // Mid-handshake there is no channel to flush into: a plaintext -ERR would be garbage to TLS.
      if (socket === undefined) return void raw.destroy()
      const s = socket
      s.end()
      // A peer that never reads must not keep a closing socket alive forever.
      setTimeout(() => s.destroy(), 2_000).unref()
    },
    destroy: () => {
      socket?.destroy()
      raw.destroy()
    },
    listen: (events) => {
      written = events.written
      if (tlsUp === undefined) return attach(raw, events)
      // Whatever was written so far (the INFO, unless handshake_first) went out in plaintext.
      socket = undefined
      raw.once("close", events.close)
      tlsUp.start(raw, (secured) => {
        socket = session = secured
        attach(secured, events)
        if (paused) secured.pause()
        const pending = queued
        queued = []
        queuedBytes = 0
        if (pending.length > 0) writev(secured, pending, onWritten)
      })
    },
    peerCertificate: () => session?.getPeerX509Certificate()
  }
}

export class Transport extends Context.Service<Transport, TransportShape>()("effect-jetstream/platform/Transport") {
  static readonly layerNode = Layer.succeed(Transport)({
    connect: (host, port) =>
      Effect.callback<Wire, TransportError>((resume) => {
        const socket = net.connect({ host, port, noDelay: true })
        const failed = (err: NodeJS.ErrnoException) =>
          resume(
            Effect.fail(
              new TransportError({ message: `cannot connect to ${host}:${port}: ${err.message}`, code: err.code })
            )
          )
        socket.once("error", failed)
        socket.once("connect", () => {
          socket.off("error", failed)
          // "close" follows any later error; the route reports the reason itself.
          socket.on("error", () => {})
          resume(Effect.succeed(wrap(socket, undefined)))
        })
        return Effect.sync(() => void socket.destroy())
      }),
    listen: (host, port, accept, tlsListen) =>
      Effect.acquireRelease(
        Effect.callback<{ server: net.Server; listener: Listener }, TransportError>((resume) => {
          let tlsUp: TlsUpgrader | undefined
          try {
            if (tlsListen !== undefined) tlsUp = new TlsUpgrader(tlsListen)
          } catch (err) {
            return resume(
              Effect.fail(new TransportError({ message: `TLS: ${(err as Error).message}`, code: undefined }))
            )
          }
          const server = net.createServer(
            { noDelay: true, allowHalfOpen: false },
            (socket) => accept(wrap(socket, tlsUp))
          )
          listenWildcard(server, port === -1 ? 0 : port, host, () => {
            const addr = server.address() as net.AddressInfo
            resume(Effect.succeed({ server, listener: { host, port: addr.port } }))
          }, (err) =>
            resume(
              Effect.fail(
                new TransportError({ message: `cannot listen on ${host}:${port}: ${err.message}`, code: err.code })
              )
            ))
        }),
        // Stop accepting only: open connections are closed (flushed) by their own finalizers, and
        // `close`'s callback would wait for them.
        ({ server }) => Effect.sync(() => void server.close())
      ).pipe(Effect.map(({ listener }) => listener))
  })
}
