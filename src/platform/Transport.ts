/**
 * TCP transport: accept connections and hand each one to the core as a `Wire`.
 *
 * We use `node:net` directly rather than `effect/socket`: the protocol hot path needs synchronous
 * `write` with the kernel's backpressure signal, `cork`/`uncork` for one syscall per flush, and
 * reads delivered as `Buffer` callbacks without an Effect per chunk. `node:net` behaves the same on
 * Node, Bun and Deno. Effect still owns the listener's lifetime through the Scope.
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import * as net from "node:net"

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

const wrap = (socket: net.Socket): Wire => {
  // One callback for every notified write, so progress tracking allocates nothing per flush.
  let written: () => void = () => {}
  const onWritten = (err?: Error | null) => {
    if (err == null) written()
  }
  return {
    remoteAddress: socket.remoteAddress ?? "unknown",
    remotePort: socket.remotePort ?? 0,
    write: (chunk) => socket.write(chunk),
    writev: (chunks, notify) => {
      const cb = notify === true ? onWritten : undefined
      if (chunks.length === 1) return socket.write(chunks[0]!, cb)
      socket.cork()
      let ok = true
      const last = chunks.length - 1
      for (let i = 0; i < last; i++) ok = socket.write(chunks[i]!)
      ok = socket.write(chunks[last]!, cb)
      socket.uncork()
      return ok
    },
    pendingBytes: () => socket.writableLength,
    pause: () => void socket.pause(),
    resume: () => {
      if (!socket.destroyed) socket.resume()
    },
    end: () => {
      socket.end()
      // A peer that never reads must not keep a closing socket alive forever.
      setTimeout(() => socket.destroy(), 2_000).unref()
    },
    destroy: () => socket.destroy(),
    listen: (events) => {
      written = events.written
      socket.on("data", events.data)
      socket.on("drain", events.drain)
      socket.on("close", events.close)
      socket.on("error", () => {
        // "close" always follows "error"; the connection reports the reason itself.
      })
    }
  }
}

export class Transport extends Context.Service<Transport, TransportShape>()("effect-jetstream/platform/Transport") {
  static readonly layerNode = Layer.succeed(Transport)({
    listen: (host, port, accept) =>
      Effect.acquireRelease(
        Effect.callback<{ server: net.Server; listener: Listener }, TransportError>((resume) => {
          const server = net.createServer({ noDelay: true, allowHalfOpen: false }, (socket) => accept(wrap(socket)))
          server.once("error", (err: NodeJS.ErrnoException) =>
            resume(
              Effect.fail(
                new TransportError({ message: `cannot listen on ${host}:${port}: ${err.message}`, code: err.code })
              )
            ))
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
