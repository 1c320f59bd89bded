/**
 * TCP transport: accept connections and hand each one to the core as a `Wire`.
 *
 * We use `node:net` directly rather than `effect/socket`: the protocol hot path needs synchronous
 * `write` with the kernel's backpressure signal, `cork`/`uncork` for one syscall per flush, and
 * reads delivered as `Buffer` callbacks without an Effect per chunk. `node:net` behaves the same on
 * Node, Bun and Deno. Effect still owns the listener's lifetime through the Scope.
 */
import * as net from "node:net"
import { Context, Data, Effect, Layer, type Scope } from "effect"

export interface WireEvents {
  data(chunk: Uint8Array): void
  drain(): void
  close(): void
}

/** One accepted client socket, as the core sees it. */
export interface Wire {
  readonly remoteAddress: string
  readonly remotePort: number
  /** Returns false when the kernel buffer is full (a `drain` event follows). */
  write(chunk: Uint8Array): boolean
  /** Write several chunks with one syscall where the runtime allows it. */
  writev(chunks: ReadonlyArray<Uint8Array>): boolean
  /** Bytes accepted by `write` but not yet handed to the kernel. */
  pendingBytes(): number
  /** Flush what was written, then close. */
  end(): void
  /** Close now, dropping unsent data. */
  destroy(): void
  listen(events: WireEvents): void
}

export interface Listener {
  readonly host: string
  readonly port: number
}

export class TransportError extends Data.TaggedError("TransportError")<{
  readonly message: string
  readonly code: string | undefined
}> {}

export interface TransportShape {
  listen(
    host: string,
    port: number,
    accept: (wire: Wire) => void
  ): Effect.Effect<Listener, TransportError, Scope.Scope>
}

const wrap = (socket: net.Socket): Wire => ({
  remoteAddress: socket.remoteAddress ?? "unknown",
  remotePort: socket.remotePort ?? 0,
  write: (chunk) => socket.write(chunk),
  writev: (chunks) => {
    if (chunks.length === 1) return socket.write(chunks[0]!)
    socket.cork()
    let ok = true
    for (const c of chunks) ok = socket.write(c)
    socket.uncork()
    return ok
  },
  pendingBytes: () => socket.writableLength,
  end: () => {
    socket.end()
    // A peer that never reads must not keep a closing socket alive forever.
    setTimeout(() => socket.destroy(), 2_000).unref()
  },
  destroy: () => socket.destroy(),
  listen: (events) => {
    socket.on("data", events.data)
    socket.on("drain", events.drain)
    socket.on("close", events.close)
    socket.on("error", () => {
      // "close" always follows "error"; the connection reports the reason itself.
    })
  }
})

export class Transport extends Context.Service<Transport, TransportShape>()("effect-jetstream/platform/Transport") {
  static readonly layerNode = Layer.succeed(Transport)({
    listen: (host, port, accept) =>
      Effect.acquireRelease(
        Effect.callback<{ server: net.Server; listener: Listener }, TransportError>((resume) => {
          const server = net.createServer({ noDelay: true, allowHalfOpen: false }, (socket) => accept(wrap(socket)))
          server.once("error", (err: NodeJS.ErrnoException) =>
            resume(Effect.fail(new TransportError({ message: `cannot listen on ${host}:${port}: ${err.message}`, code: err.code })))
          )
          server.listen(port === -1 ? 0 : port, host, () => {
            const addr = server.address() as net.AddressInfo
            resume(Effect.succeed({ server, listener: { host, port: addr.port } }))
          })
        }),
        // Stop accepting only: open connections are closed (flushed) by their own finalizers, and
        // `close`'s callback would wait for them.
        ({ server }) => Effect.sync(() => void server.close())
      ).pipe(Effect.map(({ listener }) => listener))
  })
}
