/**
 * HTTP listener for the monitoring port: GET requests in, one synchronous response out.
 *
 * `node:http` rather than `effect/http`: every monitoring answer is computed synchronously from
 * in-memory broker state, so a plain request → response function is all the core needs, and
 * `node:http` behaves the same on Node, Bun and Deno. Effect owns the listener's lifetime through
 * the Scope, as with the TCP Transport.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { Buffer } from "node:buffer"
import type * as http from "node:http"
import type * as net from "node:net"
import { TransportError } from "./Transport.ts"
import { listenWildcard } from "./WildcardListen.ts"

export interface HttpRequest {
  readonly method: string
  /** Path without the query string, e.g. `/varz`. */
  readonly path: string
  readonly query: URLSearchParams
}

export interface HttpResponse {
  readonly status: number
  readonly contentType: string
  readonly body: string
}

export interface HttpListenerShape {
  /**
   * Listens on host:port (-1 = a random free port) until the Scope closes; resolves with the bound port.
   * With `tls`, serves HTTPS with that certificate (no client certificates asked for, as nats-server's monitor).
   */
  listen(
    host: string,
    port: number,
    handle: (request: HttpRequest) => HttpResponse,
    tls?: { readonly cert: Buffer; readonly key: Buffer }
  ): Effect.Effect<{ readonly host: string; readonly port: number }, TransportError, Scope.Scope>
}

const serve =
  (handle: (request: HttpRequest) => HttpResponse) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    let response: HttpResponse
    try {
      response = handle({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams })
    } catch (e) {
      // A bug in one endpoint must not take the listener (or the broker) down; report it to the caller.
      response = { status: 500, contentType: "text/plain; charset=utf-8", body: `internal error: ${String(e)}` }
    }
    const body = Buffer.from(response.body, "utf8")
    res.writeHead(response.status, { "Content-Type": response.contentType, "Content-Length": body.length })
    res.end(req.method === "HEAD" ? undefined : body)
  }

export class HttpListener extends Context.Service<HttpListener, HttpListenerShape>()(
  "effect-jetstream/platform/HttpListener"
) {
  static readonly layerNode = Layer.succeed(HttpListener)({
    listen: (host, port, handle, tls) =>
      Effect.acquireRelease(
        Effect.callback<{ server: http.Server; host: string; port: number }, TransportError>((resume) => {
          // getBuiltinModule, not an ES import: importing node:http as an ES module reads every export,
          // and its WebSocket getter loads undici (13 MB RSS on Node 24) that the monitor never uses.
          const server = tls === undefined
            ? process.getBuiltinModule("node:http").createServer(serve(handle))
            : process.getBuiltinModule("node:https").createServer({ cert: tls.cert, key: tls.key }, serve(handle))
          // Monitoring clients (Prometheus, health checks) poll; keep-alive sockets must not hold shutdown.
          server.keepAliveTimeout = 5_000
          listenWildcard(server, port === -1 ? 0 : port, host, () => {
            const addr = server.address() as net.AddressInfo
            resume(Effect.succeed({ server, host, port: addr.port }))
          }, (err) =>
            resume(
              Effect.fail(
                new TransportError({ message: `cannot listen on ${host}:${port}: ${err.message}`, code: err.code })
              )
            ))
        }),
        ({ server }) =>
          Effect.sync(() => {
            server.close()
            // Idle keep-alive connections would otherwise keep the process alive after shutdown.
            server.closeAllConnections()
          })
      ).pipe(Effect.map(({ host, port }) => ({ host, port })))
  })
}
