/**
 * The client-facing server: accepts connections, gives each a supervising fiber, runs the
 * keepalive/write-deadline sweep, and on shutdown stops accepting then flushes and closes every
 * connection (the Scope's finalizers, triggered by SIGINT/SIGTERM through the runtime).
 */
import { Context, Deferred, Effect, FiberSet, Layer } from "effect"
import { Accounts } from "../accounts/Accounts.ts"
import { Authenticator, hasPlaintextPasswords } from "../auth/Authenticator.ts"
import { effectiveTimeoutMs } from "../auth/AuthSettings.ts"
import { operatorStartupLog } from "../auth/jwt/OperatorLog.ts"
import {
  ADVERTISED_NATS_VERSION,
  AT_LEVEL_210,
  AT_LEVEL_212,
  BROKER_NAME,
  BROKER_VERSION,
  type BrokerConfig,
  ServerConfig
} from "../config/BrokerConfig.ts"
import type { ReloadPlan } from "../config/ReloadPlan.ts"
import { API_LEVEL } from "../jetstream/model/ApiLevel.ts"
import { Log } from "../log/Log.ts"
import { Transport, type TransportError, type Wire } from "../platform/Transport.ts"
import { encodeInfo, makeServerId, type ServerInfo } from "../protocol/ServerInfo.ts"
import { SubjectMappings } from "../subject/SubjectMappings.ts"
import { ClientConnection, type ConnectionContext, type ConnectionStats } from "./Connection.ts"
import { makeTraceSite, type TraceSite } from "./MsgTrace.ts"
import { Router } from "./Router.ts"
import { startWebsocket, type WebsocketListener } from "./WebsocketServer.ts"

export interface ServerShape {
  readonly serverId: string
  readonly serverName: string
  /** Message tracing's server identity and account settings, shared with the routes (MsgTrace.ts). */
  readonly traceSite: TraceSite
  readonly host: string
  readonly port: number
  readonly startedAt: Date
  readonly connections: ReadonlySet<ClientConnection>
  /** Total connections accepted since start. */
  readonly totalConnections: () => number
  /** Connections cut off as slow consumers since start (/varz slow_consumers). */
  readonly slowConsumers: () => number
  /** Traffic of connections that have closed, so server totals (/varz in_msgs…) never go down. */
  readonly closedStats: () => Readonly<ConnectionStats>
  /**
   * Applies a configuration reload that `planReload` accepted: new connections see the new settings,
   * and with changed authorization every open client is checked again (Connection.reauthorize).
   */
  readonly reload: (next: BrokerConfig, plan: Extract<ReloadPlan, { ok: true }>) => void
  /** The WebSocket listener (`websocket {}`), once bound; undefined = off. */
  readonly websocket: WebsocketListener | undefined
  /**
   * The cluster this server is in and the client URLs of every server in it, TCP and WebSocket
   * (undefined with `no_advertise`): later INFOs carry them (a WebSocket client gets the WebSocket
   * ones as its `connect_urls`), and clients that take async INFO get one now.
   */
  readonly setClusterInfo: (
    cluster: string,
    connectUrls: ReadonlyArray<string> | undefined,
    wsConnectUrls?: ReadonlyArray<string> | undefined
  ) => void
  /** Observes clients that finished CONNECT and their closes (the system account's events); returns the unwatch. */
  readonly watchClients: (watcher: ClientWatcher) => () => void
}

export interface ClientWatcher {
  readonly connected: (conn: ClientConnection) => void
  readonly disconnected: (conn: ClientConnection, reason: string) => void
}

/** What the server layer reads; the accounts give each authenticated client its subject space. */
type Needs = ServerConfig | Router | Log | Transport | Accounts

export class Server extends Context.Service<Server, ServerShape>()("effect-jetstream/core/Server") {
  static readonly layer: Layer.Layer<Server, TransportError, Needs> = Layer.effect(
    Server
  )(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const router = yield* Router
      const log = yield* Log
      const transport = yield* Transport
      const accounts = yield* Accounts
      const serverId = makeServerId()
      const serverName = config.serverName ?? serverId
      const connections = new Set<ClientConnection>()
      // Clients per configured account, against its connection limit (JWT `limits.conn`).
      const accountConnections = new Map<string, number>()
      const watchers = new Set<ClientWatcher>()
      let nextCid = 0
      let slowConsumers = 0
      const closedStats: ConnectionStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 }
      let boundPort = config.port
      const run = yield* FiberSet.makeRuntime<never>()
      const makeAuth = (c: BrokerConfig) =>
        c.auth === undefined
          ? undefined
          : new Authenticator({ ...c.auth, timeoutMs: effectiveTimeoutMs(c.auth, c.tls?.timeoutMs) })
      const auth = makeAuth(config)

      /** The cluster's WebSocket client URLs (undefined: single server or `no_advertise`). */
      let wsConnectUrls: ReadonlyArray<string> | undefined = undefined
      let infoChanges = 0
      let infoBase: Omit<ServerInfo, "client_id" | "client_ip" | "nonce"> = {
        server_id: serverId,
        server_name: serverName,
        version: ADVERTISED_NATS_VERSION,
        proto: 1,
        go: `${BROKER_NAME} ${BROKER_VERSION} (${runtimeName()})`,
        host: config.host,
        port: config.port,
        headers: true,
        // nats-server: a no_auth_user lets credential-less clients in, so INFO does not ask for auth.
        ...(auth?.required === true && auth.settings.noAuthUser === undefined ? { auth_required: true } : {}),
        ...(config.tls === undefined ? {} : { tls_required: true, ...(config.tls.verify ? { tls_verify: true } : {}) }),
        max_payload: config.maxPayload,
        ...(config.jetstream ? { jetstream: true } : {}),
        ...(AT_LEVEL_212 ? { api_lvl: API_LEVEL } : {})
      }

      // Validated at config load; compiled once here. Absent mappings cost a publish nothing.
      const compiled = config.mappings === undefined || config.mappings.length === 0
        ? undefined
        : SubjectMappings.make(config.mappings)
      if (compiled !== undefined && !compiled.ok) {
        return yield* Effect.die(new Error(`mapping for ${JSON.stringify(compiled.src)}: ${compiled.error}`))
      }
      const traceSite = makeTraceSite({
        id: serverId,
        name: serverName,
        host: config.host,
        cluster: config.cluster?.name ?? "",
        domain: config.domain ?? "",
        version: ADVERTISED_NATS_VERSION,
        jetstream: config.jetstream,
        at210: AT_LEVEL_210
      }, (name) => accounts.get(name)?.settings.msgTrace)
      const ctx: { -readonly [K in keyof ConnectionContext]: ConnectionContext[K] } = {
        router,
        traceSite,
        accountRouter: (name) => accounts.get(name)?.router,
        joinAccount: (name) => {
          const max = accounts.get(name)?.settings.maxConnections ?? -1
          const n = accountConnections.get(name) ?? 0
          if (max >= 0 && n >= max) return false
          accountConnections.set(name, n + 1)
          return true
        },
        leaveAccount: (name) => accountConnections.set(name, Math.max(0, (accountConnections.get(name) ?? 1) - 1)),
        config,
        log,
        ...(compiled?.ok === true ? { mappings: compiled.mappings } : {}),
        auth: auth?.required === true ? auth : undefined,
        // Operator mode: the user JWT names the user; nats-server maps certificates to configured users only.
        tlsMap: config.tls?.map === true && config.auth?.operator === undefined,
        infoChanges: () => infoChanges,
        info: (cid, clientIp, nonce) =>
          encodeInfo({
            ...infoBase,
            port: boundPort,
            client_id: cid,
            client_ip: clientIp,
            ...(nonce === undefined ? {} : { nonce }),
            ...(config.jetstream && config.domain !== undefined ? { domain: config.domain } : {})
          }),
        connected: (conn) => {
          for (const w of watchers) w.connected(conn)
        },
        closed: (conn, reason) => {
          if (!connections.delete(conn)) return
          if (conn.announced) { for (const w of watchers) w.disconnected(conn, reason) }
          if (reason.startsWith("Slow Consumer")) slowConsumers++
          closedStats.inMsgs += conn.stats.inMsgs
          closedStats.inBytes += conn.stats.inBytes
          closedStats.outMsgs += conn.stats.outMsgs
          closedStats.outBytes += conn.stats.outBytes
        }
      }

      // nats-server logs a failed handshake at error level with the peer's address, then closes.
      const tlsListen = config.tls === undefined ? undefined : {
        settings: config.tls,
        handshakeFailed: (remote: string, reason: string) => log.error(`${remote} - ${reason}`)
      }
      const accept = (wire: Wire, context: ConnectionContext) => {
        const cid = ++nextCid
        const conn = new ClientConnection(cid, wire, context)
        conn.start()
        if (connections.size >= ctx.config.maxConnections) {
          log.warn(`${wire.remoteAddress}:${wire.remotePort} - cid:${cid} - maximum connections exceeded`)
          conn.close("Maximum Connections Exceeded", "maximum connections exceeded")
          return
        }
        connections.add(conn)
        // The connection's fiber owns it: interrupting the fiber (shutdown) flushes and closes it.
        run(
          Effect.acquireUseRelease(
            Effect.succeed(conn),
            (c) => {
              const done = Deferred.makeUnsafe<void>()
              c.whenClosed(() => Deferred.doneUnsafe(done, Effect.void))
              return Deferred.await(done)
            },
            (c) => Effect.sync(() => c.close("Server Shutdown"))
          )
        )
      }
      const listener = yield* transport.listen(config.host, config.port, (wire) => accept(wire, ctx), tlsListen)
      boundPort = listener.port
      const websocket = config.websocket === undefined
        ? undefined
        : yield* startWebsocket(config.websocket, {
          ctx,
          infoBase: () => infoBase,
          wsConnectUrls: () => wsConnectUrls,
          log,
          accept
        })

      const sweepEvery = Math.max(10, Math.min(1000, Math.floor(config.pingIntervalMs / 2)))
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          setInterval(() => {
            const now = Date.now()
            for (const c of connections) c.tick(now)
          }, sweepEvery)
        ),
        (timer) => Effect.sync(() => clearInterval(timer))
      )

      log.info(`Starting ${BROKER_NAME} v${BROKER_VERSION} (nats-server protocol level ${ADVERTISED_NATS_VERSION})`)
      log.info(`  Runtime: ${runtimeName()}, server id: ${serverId}, name: ${serverName}`)
      if (config.auth !== undefined && hasPlaintextPasswords(config.auth)) {
        log.warn("Plaintext passwords detected, use nkeys or bcrypt")
      }
      if (config.auth?.operator !== undefined) {
        const lines = operatorStartupLog(config.auth.operator, Date.now())
        for (const line of lines.info) log.info(line)
        for (const line of lines.warn) log.warn(line)
      }
      if (config.tls !== undefined) {
        log.info(`TLS required for client connections${config.tls.verify ? " (client certificates verified)" : ""}`)
      }
      websocket?.announce()
      log.info(`Listening for client connections on ${listener.host}:${listener.port}`)
      if (auth?.required !== true && !isLoopback(listener.host)) {
        // nats-server 2.9.10 logs nothing here; an open broker on a reachable address deserves a line.
        log.warn(
          `Client connections on ${listener.host}:${listener.port} require no authentication: anyone who ` +
            `reaches this address can publish, subscribe and manage streams (configure an authorization block)`
        )
      }
      log.info("Server is ready")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => log.info(`Server shutting down, closing ${connections.size} client connection(s)`))
      )

      return {
        serverId,
        serverName,
        traceSite,
        host: listener.host,
        port: listener.port,
        startedAt: new Date(),
        connections,
        totalConnections: () => nextCid,
        slowConsumers: () => slowConsumers,
        closedStats: () => closedStats,
        websocket: websocket?.listener,
        setClusterInfo: (cluster, connectUrls, wsUrls) => {
          wsConnectUrls = wsUrls === undefined ? undefined : [...wsUrls]
          infoChanges++
          const { connect_urls: _, ...rest } = infoBase
          infoBase = { ...rest, cluster, ...(connectUrls === undefined ? {} : { connect_urls: [...connectUrls] }) }
          for (const c of connections) c.sendAsyncInfo()
        },
        watchClients: (w) => {
          watchers.add(w)
          return () => watchers.delete(w)
        },
        reload: (next, plan) => {
          ctx.config = next
          log.reconfigure({ debug: next.debug, trace: next.trace, logtime: next.logtime })
          if (plan.authChanged) {
            const fresh = makeAuth(next)
            ctx.auth = fresh?.required === true ? fresh : undefined
            const { auth_required: _, ...rest } = infoBase
            infoBase = fresh?.required === true && fresh.settings.noAuthUser === undefined
              ? { ...rest, auth_required: true }
              : rest
            websocket?.reauthorize(next)
            for (const c of [...connections]) c.reauthorize()
          }
          for (const n of plan.notices) log.info(n)
          log.info("Reloaded server configuration")
        }
      }
    })
  )
}

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host)

const runtimeName = (): string => {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } }
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`
  return `node ${process.version}`
}
