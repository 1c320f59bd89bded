/**
 * The HTTP monitoring endpoints (nats-server's `-m` port): /varz, /connz, /subsz, /jsz, /healthz,
 * plus /metrics for Prometheus.
 *
 * Like nats-server, the monitor starts before JetStream and the client listener, so /healthz can
 * report 503 while streams are recovering. The reports themselves (Reports.ts) are shared with the
 * system account's `$SYS.REQ.*` services; one not yet available answers 503.
 */
import { Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { encodeJson } from "../jetstream/codec/Json.ts"
import { Log } from "../log/Log.ts"
import { HttpListener, type HttpRequest, type HttpResponse } from "../platform/HttpListener.ts"
import { TransportError } from "../platform/Transport.ts"
import { parseConnzQuery, parseSubszQuery } from "./Connz.ts"
import { encodeIndent, QueryError } from "./GoFormat.ts"
import { healthBody, parseHealthzQuery } from "./Healthz.ts"
import { parseJszQuery } from "./Jsz.ts"
import { metrics, parsePrefix } from "./Metrics.ts"
import { isData, type Report, ReportRefused, Reports, ReportUnavailable } from "./Reports.ts"
import { parseRoutezQuery } from "./Routez.ts"

export interface MonitorShape {
  /** The host the monitor listens on, as configured (`http_host`). */
  readonly host: string
  /** The bound port (the real one when configured as -1). */
  readonly port: number
  /** Serving HTTPS (`https_port`) rather than HTTP. */
  readonly secure: boolean
}

const JSON_TYPE = "application/json"
const TEXT_TYPE = "text/plain; charset=utf-8"

const text = (status: number, body: string): HttpResponse => ({ status, contentType: TEXT_TYPE, body })

/** nats-server `ResponseHandler`: JSON, or JSONP when a `callback` parameter is given. */
const json = (req: HttpRequest, body: string, status = 200): HttpResponse => {
  const callback = req.query.get("callback") ?? ""
  return callback === ""
    ? { status, contentType: JSON_TYPE, body }
    : { status, contentType: "application/javascript", body: `${callback}(${body})` }
}

const ROOT = (port: number) =>
  `<html lang="en">
<head><title>effect-jetstream monitoring</title></head>
<body>
<a href="./varz">General</a>
<a href="./jsz">JetStream</a>
<a href="./connz">Connections</a>
<a href="./routez">Routes</a>
<a href="./accountz">Accounts</a>
<a href="./subsz">Subscriptions</a>
<a href="./healthz">Health</a>
<a href="./metrics">Metrics</a>
<p>monitoring port ${port}</p>
</body>
</html>
`

/** What the monitor reads: the reports (shared with the system account's services) and its listener. */
type Needs = ServerConfig | Log | HttpListener | Reports

const answer = (req: HttpRequest, r: Report): HttpResponse => {
  if (r instanceof ReportUnavailable) return text(503, r.message)
  if (r instanceof ReportRefused) return text(400, r.message)
  return json(req, encodeIndent(r))
}

export class Monitor extends Context.Service<Monitor, MonitorShape>()("effect-jetstream/monitoring/Monitor") {
  static readonly layer: Layer.Layer<Monitor, TransportError, Needs> = Layer
    .effect(
      Monitor
    )(
      Effect.gen(function*() {
        const config = yield* ServerConfig
        const log = yield* Log
        const listener = yield* HttpListener
        const reports = yield* Reports
        const requests = new Map<string, number>()
        // nats-server StartMonitoring: one of the two, and HTTPS only with the tls {} certificate.
        if (config.httpPort !== undefined && config.httpsPort !== undefined) {
          return yield* new TransportError({
            message:
              `Can't start monitoring: can't specify both HTTP (${config.httpPort}) and HTTPs (${config.httpsPort}) ports`,
            code: undefined
          })
        }
        const secure = config.httpsPort !== undefined
        if (secure && config.tls === undefined) {
          return yield* new TransportError({
            message: "Can't start monitoring: TLS cert and key required for HTTPS",
            code: undefined
          })
        }
        const configuredPort = (secure ? config.httpsPort : config.httpPort) ?? 0
        let boundPort = configuredPort

        const count = (path: string) => requests.set(path, (requests.get(path) ?? 0) + 1)

        // Registered paths, as nats-server counts them in http_req_stats.
        const routes: Record<string, (req: HttpRequest) => HttpResponse> = {
          "/": () => ({ status: 200, contentType: "text/html; charset=utf-8", body: ROOT(boundPort) }),
          "/varz": (req) => answer(req, reports.varz()),
          "/connz": (req) => {
            const opts = parseConnzQuery(req.query)
            // nats-server counts /connz only once its parameters decoded (HandleConnz).
            if (!(opts instanceof QueryError) || opts.counted) count(req.path)
            if (opts instanceof QueryError) return text(400, opts.message)
            return answer(req, reports.connz(opts))
          },
          "/routez": (req) => {
            const opts = parseRoutezQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            return answer(req, reports.routez(opts))
          },
          "/accountz": (req) => answer(req, reports.accountz(req.query.get("acc") ?? "")),
          "/subsz": (req) => {
            const opts = parseSubszQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            return answer(req, reports.subsz(opts))
          },
          "/jsz": (req) => {
            const opts = parseJszQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            return answer(req, reports.jsz(opts))
          },
          "/healthz": (req) => {
            const opts = parseHealthzQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            const status = reports.healthz(opts)
            if (status.error !== undefined) log.warn(`Healthcheck failed: ${JSON.stringify(status.error)}`)
            else if (status.errors !== undefined) log.warn(`Healthcheck failed: ${status.errors.length} errors`)
            // Compact, unlike the other endpoints (nats-server uses json.Marshal here).
            return json(req, encodeJson(healthBody(status, false)), status.code)
          },
          "/metrics": (req) => {
            const server = reports.server()
            const v = reports.varz()
            if (server === undefined || !isData(v)) return text(503, "server is starting")
            const prefix = parsePrefix(req.query.get("prefix"))
            if (prefix instanceof Error) return text(400, prefix.message)
            const body = metrics({
              serverId: server.serverId,
              serverName: server.serverName,
              domain: config.domain,
              prefix,
              varz: v,
              jetstream: reports.jetstream(),
              limits: reports.limits()
            })
            return { status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body }
          }
        }
        routes["/subscriptionsz"] = routes["/subsz"]!

        const bound = yield* listener.listen(
          config.httpHost ?? config.host,
          configuredPort,
          (req) => {
            const route = Object.hasOwn(routes, req.path) ? routes[req.path] : undefined
            if (route === undefined) return text(404, "404 page not found\n")
            if (req.path !== "/connz") count(req.path)
            return route(req)
          },
          // The client TLS certificate, as nats-server (which never asks monitoring clients for theirs).
          secure ? { cert: config.tls!.cert, key: config.tls!.key } : undefined
        )
        const http = { host: config.httpHost ?? config.host, port: bound.port, secure }
        boundPort = bound.port
        reports.setHttp(http, requests)
        log.info(`Starting ${secure ? "https" : "http"} monitor on ${(config.httpHost ?? config.host)}:${bound.port}`)

        return Monitor.of({
          host: config.httpHost ?? config.host,
          port: bound.port,
          secure
        })
      })
    )
}
