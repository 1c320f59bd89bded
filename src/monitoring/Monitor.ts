/**
 * The HTTP monitoring endpoints (nats-server's `-m` port): /varz, /connz, /subsz, /jsz, /healthz,
 * plus /metrics for Prometheus.
 *
 * Like nats-server, the monitor starts before JetStream and the client listener, so /healthz can
 * report 503 while streams are recovering. The parts it reports on are attached as they come up
 * (`attachJetStream`, `attachServer`); until then the endpoints that need them answer 503.
 */
import { Context, Effect, Layer, Option } from "effect"
import * as os from "node:os"
import { Accounts } from "../accounts/Accounts.ts"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { Router } from "../core/Router.ts"
import { Server, type ServerShape } from "../core/Server.ts"
import { JetStream, type JetStreamShape } from "../jetstream/JetStream.ts"
import { Log } from "../log/Log.ts"
import { HttpListener, type HttpRequest, type HttpResponse } from "../platform/HttpListener.ts"
import { TransportError } from "../platform/Transport.ts"
import { accountz } from "./Accountz.ts"
import { connz, parseConnzQuery, parseSubszQuery, subsz } from "./Connz.ts"
import { encodeIndent, QueryError } from "./GoFormat.ts"
import { healthz, parseHealthzQuery } from "./Healthz.ts"
import { jsz, parseJszQuery } from "./Jsz.ts"
import { metrics, parsePrefix } from "./Metrics.ts"
import { type JetStreamLimits, jetStreamLimits, type Sample, type Sources } from "./Sources.ts"
import { varz } from "./Varz.ts"

export interface MonitorShape {
  /** The host the monitor listens on, as configured (`http_host`). */
  readonly host: string
  /** The bound port (the real one when configured as -1). */
  readonly port: number
  /** Serving HTTPS (`https_port`) rather than HTTP. */
  readonly secure: boolean
  /** Called once the stream registry has recovered; from then on /healthz can say ok. */
  readonly attachJetStream: (js: JetStreamShape) => void
  readonly attachServer: (server: ServerShape) => void
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
<a href="./accountz">Accounts</a>
<a href="./subsz">Subscriptions</a>
<a href="./healthz">Health</a>
<a href="./metrics">Metrics</a>
<p>monitoring port ${port}</p>
</body>
</html>
`

/** CPU percent since the previous sample, one decimal, like nats-server's `pse` figure. */
const cpuSampler = () => {
  let lastUsage = process.cpuUsage()
  let lastAt = performance.now()
  let lastCpu = 0
  return (): number => {
    const now = performance.now()
    const elapsedMs = now - lastAt
    // Back-to-back requests would divide by ~0; keep the previous figure until 100ms have passed.
    if (elapsedMs < 100) return lastCpu
    const usage = process.cpuUsage(lastUsage)
    lastUsage = process.cpuUsage()
    lastAt = now
    lastCpu = Math.round(((usage.user + usage.system) / 1000 / elapsedMs) * 1000) / 10
    return lastCpu
  }
}

/** What the monitor reads; the accounts feed /accountz, /connz?acc= and the per-account /subsz. */
type Needs = ServerConfig | Router | Log | HttpListener | Accounts

export class Monitor extends Context.Service<Monitor, MonitorShape>()("effect-jetstream/monitoring/Monitor") {
  static readonly layer: Layer.Layer<Monitor, TransportError, Needs> = Layer
    .effect(
      Monitor
    )(
      Effect.gen(function*() {
        const config = yield* ServerConfig
        const router = yield* Router
        const log = yield* Log
        const listener = yield* HttpListener
        const accounts = yield* Accounts
        const accountsSince = Date.now()
        const routers = accounts.all().map((a) => a.router)
        let server: ServerShape | undefined
        let jetstream: JetStreamShape | undefined
        let limits: JetStreamLimits | undefined
        const requests = new Map<string, number>()
        const cpu = cpuSampler()
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
        let http = { host: config.httpHost ?? config.host, port: configuredPort, secure }

        const sample = (): Sample => ({
          nowMs: Date.now(),
          mem: process.memoryUsage.rss(),
          cpu: cpu(),
          cores: os.availableParallelism()
        })

        const sources = (s: ServerShape): Sources => ({ config, server: s, router, routers, jetstream, http, requests })

        const count = (path: string) => requests.set(path, (requests.get(path) ?? 0) + 1)

        // Registered paths, as nats-server counts them in http_req_stats.
        const routes: Record<string, (req: HttpRequest) => HttpResponse> = {
          "/": () => ({ status: 200, contentType: "text/html; charset=utf-8", body: ROOT(http.port) }),
          "/varz": (req) => {
            if (server === undefined) return text(503, "server is starting")
            return json(req, encodeIndent(varz(sources(server), sample(), limits)))
          },
          "/connz": (req) => {
            const opts = parseConnzQuery(req.query)
            // nats-server counts /connz only once its parameters decoded (HandleConnz).
            if (!(opts instanceof QueryError) || opts.counted) count(req.path)
            if (opts instanceof QueryError) return text(400, opts.message)
            if (server === undefined) return text(503, "server is starting")
            return json(req, encodeIndent(connz(server, opts, Date.now(), (a) => accounts.get(a) !== undefined)))
          },
          "/accountz": (req) => {
            if (server === undefined) return text(503, "server is starting")
            const body = accountz({
              server,
              accounts,
              updatedMs: accountsSince,
              jetstreamEnabled: (a) => jetstream?.accounts.some((j) => j.account === a && j.enabled) ?? false,
              nowMs: Date.now()
            }, req.query.get("acc") ?? "")
            return typeof body === "string" ? text(400, body) : json(req, encodeIndent(body))
          },
          "/subsz": (req) => {
            const opts = parseSubszQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            if (server === undefined) return text(503, "server is starting")
            // Every account's subscriptions, or the `acc` one's (none for an unknown account).
            const selected = accounts.all().filter((a) => opts.account === undefined || a.name === opts.account)
            return json(req, encodeIndent(subsz(server, selected.map((a) => a.router), opts, Date.now())))
          },
          "/jsz": (req) => {
            const opts = parseJszQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            if (server === undefined || (config.jetstream && jetstream === undefined)) {
              return text(503, "JetStream is recovering")
            }
            const input = {
              serverId: server.serverId,
              serverName: server.serverName,
              js: jetstream,
              limits: limits ?? { maxMemory: 0, maxStorage: 0 },
              domain: config.domain,
              nowMs: Date.now()
            }
            return json(req, encodeIndent(jsz(input, opts)))
          },
          "/healthz": (req) => {
            const opts = parseHealthzQuery(req.query)
            if (opts instanceof QueryError) return text(400, opts.message)
            const status = healthz(
              {
                serverReady: server !== undefined,
                jetstreamConfigured: config.jetstream,
                jetstreamReady: jetstream !== undefined
              },
              opts
            )
            if (status.error !== undefined) log.warn(`Healthcheck failed: ${JSON.stringify(status.error)}`)
            // Compact, unlike the other endpoints (nats-server uses json.Marshal here).
            const body = status.error === undefined
              ? `{"status":"${status.status}"}`
              : `{"status":"${status.status}","error":${JSON.stringify(status.error)}}`
            return json(req, body, status.error === undefined ? 200 : 503)
          },
          "/metrics": (req) => {
            if (server === undefined) return text(503, "server is starting")
            const prefix = parsePrefix(req.query.get("prefix"))
            if (prefix instanceof Error) return text(400, prefix.message)
            const body = metrics({
              serverId: server.serverId,
              serverName: server.serverName,
              domain: config.domain,
              prefix,
              varz: varz(sources(server), sample(), limits),
              jetstream,
              limits
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
        http = { host: config.httpHost ?? config.host, port: bound.port, secure }
        log.info(`Starting ${secure ? "https" : "http"} monitor on ${(config.httpHost ?? config.host)}:${bound.port}`)

        return Monitor.of({
          host: config.httpHost ?? config.host,
          port: bound.port,
          secure,
          attachJetStream: (js) => {
            limits = jetStreamLimits(config, js.storeDir)
            jetstream = js
          },
          attachServer: (s) => {
            server = s
          }
        })
      })
    )

  // The attach layers look the monitor up optionally, so the assembly can add them unconditionally.

  /** Reports JetStream once it is up (provide after JetStream.layer); a no-op without a monitor. */
  static readonly attachJetStream: Layer.Layer<never, never, JetStream> = Layer.effectDiscard(
    Effect.gen(function*() {
      const monitor = yield* Effect.serviceOption(Monitor)
      if (Option.isSome(monitor)) monitor.value.attachJetStream(yield* JetStream)
    })
  )

  /** Reports the client listener once it is up (provide after Server.layer); a no-op without a monitor. */
  static readonly attachServer: Layer.Layer<never, never, Server> = Layer.effectDiscard(
    Effect.gen(function*() {
      const monitor = yield* Effect.serviceOption(Monitor)
      if (Option.isSome(monitor)) monitor.value.attachServer(yield* Server)
    })
  )
}
