/**
 * The monitoring reports (varz, connz, subsz, jsz, healthz, accountz, statsz) computed from the
 * running broker, shared by the HTTP monitor (Monitor.ts) and the system account's `$SYS.REQ.*`
 * services, so both answer with the same JSON. Exists whether or not a monitoring port is
 * configured.
 *
 * The parts reported on are attached as they come up (`attachJetStream`, `attachServer`); until
 * then a report that needs them is a `ReportUnavailable` (HTTP answers it with 503).
 */
import { Context, Effect, Layer, Option } from "effect"
import * as os from "node:os"
import { Accounts } from "../accounts/Accounts.ts"
import { Cluster, type ClusterShape } from "../cluster/Cluster.ts"
import { AT_LEVEL_210, ServerConfig } from "../config/BrokerConfig.ts"
import { Router } from "../core/Router.ts"
import { Server, type ServerShape } from "../core/Server.ts"
import { JetStream, type JetStreamShape } from "../jetstream/JetStream.ts"
import { accountz } from "./Accountz.ts"
import { connz, type ConnzOptions, subsz, type SubszOptions } from "./Connz.ts"
import { type HealthStatus, healthz, type HealthzOptions } from "./Healthz.ts"
import { jetStreamConfig, jetStreamStats, jsz, jszAccount, type JszOptions } from "./Jsz.ts"
import { routez, type RoutezOptions } from "./Routez.ts"
import { type JetStreamLimits, jetStreamLimits, type Sample, type Sources } from "./Sources.ts"
import { varz } from "./Varz.ts"

/** A report asked for before the part it reads is up (the server, or JetStream while recovering). */
export class ReportUnavailable {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

/** A report refused for its options (an unknown account): HTTP 400, NATS code 500 (nats-server). */
export class ReportRefused {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

export type Report = Record<string, unknown> | ReportUnavailable | ReportRefused

export interface ReportsShape {
  readonly varz: () => Report
  readonly connz: (opts: ConnzOptions) => Report
  readonly subsz: (opts: SubszOptions) => Report
  readonly jsz: (opts: JszOptions) => Report
  /** One account's JetStream detail (`opts.account`). */
  readonly jszAccount: (opts: JszOptions) => Report
  readonly healthz: (opts: HealthzOptions) => HealthStatus
  readonly accountz: (acc: string) => Report
  /** nats-server ServerStats (the `statsz` of `$SYS.REQ.SERVER.PING`). */
  readonly statsz: () => Report
  /** The server once its listener is up. */
  readonly server: () => ServerShape | undefined
  readonly jetstream: () => JetStreamShape | undefined
  readonly limits: () => JetStreamLimits | undefined
  /** Set by the HTTP monitor once bound: /varz reports its port and request counts. */
  readonly setHttp: (http: Sources["http"], requests: ReadonlyMap<string, number>) => void
  readonly attachJetStream: (js: JetStreamShape) => void
  readonly attachServer: (server: ServerShape) => void
  readonly attachCluster: (cluster: ClusterShape | undefined) => void
  /** nats-server Routez (`opts`: the route subscriptions to list). */
  readonly routez: (opts: RoutezOptions) => Report
}

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

const STARTING = new ReportUnavailable("server is starting")

export class Reports extends Context.Service<Reports, ReportsShape>()("effect-jetstream/monitoring/Reports") {
  static readonly layer: Layer.Layer<Reports, never, ServerConfig | Router | Accounts> = Layer.effect(Reports)(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const router = yield* Router
      const accounts = yield* Accounts
      const accountsSince = Date.now()
      const routers = accounts.all().map((a) => a.router)
      let server: ServerShape | undefined
      let cluster: ClusterShape | undefined
      let jetstream: JetStreamShape | undefined
      let limits: JetStreamLimits | undefined
      let http: Sources["http"] = { host: config.httpHost ?? config.host, port: 0, secure: false }
      let requests: ReadonlyMap<string, number> = new Map()
      const cpu = cpuSampler()

      const sample = (): Sample => ({
        nowMs: Date.now(),
        mem: process.memoryUsage.rss(),
        cpu: cpu(),
        cores: os.availableParallelism()
      })
      const sources = (s: ServerShape): Sources => ({
        config,
        server: s,
        router,
        routers,
        jetstream,
        http,
        requests,
        systemAccount: accounts.system?.name,
        cluster
      })
      const jszInput = () => {
        if (server === undefined || (config.jetstream && jetstream === undefined)) {
          return new ReportUnavailable("JetStream is recovering")
        }
        return {
          serverId: server.serverId,
          serverName: server.serverName,
          js: jetstream,
          limits: limits ?? { maxMemory: 0, maxStorage: 0 },
          domain: config.domain,
          sync: config.sync,
          batchLimits: config.batchLimits,
          nowMs: Date.now()
        }
      }
      const varzNow = (): Report => (server === undefined ? STARTING : varz(sources(server), sample(), limits))

      return Reports.of({
        varz: varzNow,
        connz: (opts) => {
          if (server === undefined) return STARTING
          return connz(server, opts, Date.now(), (a) => accounts.get(a) !== undefined)
        },
        subsz: (opts) => {
          if (server === undefined) return STARTING
          // Every account's subscriptions, or the `acc` one's (none for an unknown account).
          const selected = accounts.all().filter((a) => opts.account === undefined || a.name === opts.account)
          return subsz(server, selected.map((a) => a.router), opts, Date.now())
        },
        jsz: (opts) => {
          const input = jszInput()
          return input instanceof ReportUnavailable ? input : jsz(input, opts)
        },
        jszAccount: (opts) => {
          const input = jszInput()
          if (input instanceof ReportUnavailable) return input
          const r = jszAccount(input, opts, accounts.get(opts.account) !== undefined)
          return typeof r === "string" ? new ReportRefused(r) : r
        },
        healthz: (opts) =>
          healthz({
            serverReady: server !== undefined,
            jetstreamConfigured: config.jetstream,
            jetstreamReady: jetstream !== undefined,
            metaLeaderKnown: jetstream?.cluster === undefined
              ? undefined
              : jetstream.cluster.metaCluster().leader !== undefined,
            ...(jetstream?.cluster === undefined ? {} : { notCurrent: jetstream.cluster.notCurrent }),
            missing: (account, stream, consumer) => {
              const js = jetstream?.accounts.find((a) => a.account === account && a.enabled)
              if (js === undefined) return "account"
              if (stream === "") return undefined
              if (js.registry.get(stream) === undefined) return "stream"
              if (consumer === "") return undefined
              return js.registry.consumersOf(stream).some((c) => c.name === consumer) ? undefined : "consumer"
            }
          }, opts),
        accountz: (acc) => {
          if (server === undefined) return STARTING
          const body = accountz({
            server,
            accounts,
            updatedMs: accountsSince,
            jetstreamEnabled: (a) => jetstream?.accounts.some((j) => j.account === a && j.enabled) ?? false,
            nowMs: Date.now()
          }, acc)
          return typeof body === "string" ? new ReportRefused(body) : body
        },
        statsz: () => {
          const v = varzNow()
          if (!isData(v)) return v
          const js = jetstream
          const routes = cluster?.routes() ?? []
          return {
            start: v.start,
            mem: v.mem,
            cores: v.cores,
            cpu: v.cpu,
            connections: v.connections,
            total_connections: v.total_connections,
            // Accounts with at least one client (nats-server activeAccounts counts the system one too).
            active_accounts: activeAccounts(server!),
            subscriptions: v.subscriptions,
            sent: { msgs: v.out_msgs, bytes: v.out_bytes },
            received: { msgs: v.in_msgs, bytes: v.in_bytes },
            slow_consumers: v.slow_consumers,
            ...(routes.length === 0 ? {} : {
              routes: routes.map((r) => ({
                rid: r.rid,
                name: r.remoteInfo?.server_name ?? "",
                sent: { msgs: r.stats.outMsgs, bytes: r.stats.outBytes },
                received: { msgs: r.stats.inMsgs, bytes: r.stats.inBytes },
                pending: r.pendingBytes
              }))
            }),
            // nats-server counts the servers it heard from over the system account; in a full mesh
            // that is this server and each one it has a route to.
            active_servers: 1 + routes.length,
            ...(js === undefined || limits === undefined
              ? {}
              : {
                jetstream: {
                  config: jetStreamConfig(js, limits, config.domain, config.sync),
                  stats: jetStreamStats(js)
                }
              }),
            // 2.10 ServerStats ends with GOMAXPROCS (omitempty, never 0); ours is the core count, as in /varz.
            ...(AT_LEVEL_210 ? { gomaxprocs: v.gomaxprocs } : {})
          }
        },
        server: () => server,
        jetstream: () => jetstream,
        limits: () => limits,
        setHttp: (h, r) => {
          http = h
          requests = r
        },
        attachJetStream: (js) => {
          limits = jetStreamLimits(config, js.storeDir)
          jetstream = js
        },
        attachServer: (s) => {
          server = s
        },
        attachCluster: (c) => {
          cluster = c
        },
        routez: (opts) => (server === undefined ? STARTING : routez(server.serverId, cluster, opts, Date.now()))
      })
    })
  )

  // The attach layers look the reports up optionally, so the assembly can add them unconditionally.

  /** Reports JetStream once it is up (provide after JetStream.layer). */
  static readonly attachJetStream: Layer.Layer<never, never, JetStream> = Layer.effectDiscard(
    Effect.gen(function*() {
      const reports = yield* Effect.serviceOption(Reports)
      if (Option.isSome(reports)) reports.value.attachJetStream(yield* JetStream)
    })
  )

  /** Reports the client listener once it is up (provide after Server.layer). */
  static readonly attachServer: Layer.Layer<never, never, Server> = Layer.effectDiscard(
    Effect.gen(function*() {
      const reports = yield* Effect.serviceOption(Reports)
      if (Option.isSome(reports)) reports.value.attachServer(yield* Server)
    })
  )
}

/** Reports the routes once the cluster is up (provide after Cluster.layer). */
export const attachCluster: Layer.Layer<never, never, Cluster> = Layer.effectDiscard(
  Effect.gen(function*() {
    const reports = yield* Effect.serviceOption(Reports)
    if (Option.isSome(reports)) reports.value.attachCluster(yield* Cluster)
  })
)

export const isData = (r: Report): r is Record<string, unknown> =>
  !(r instanceof ReportUnavailable) && !(r instanceof ReportRefused)

const activeAccounts = (server: ServerShape): number => {
  const names = new Set<string>()
  for (const c of server.connections) names.add(c.account)
  return names.size
}
