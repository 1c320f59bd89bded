/**
 * The cluster: the route listener, the dialers of explicit and gossiped routes, the registry of
 * routes by remote server id, and this server's interest as announced to every route.
 *
 * As nats-server 2.9.10 (route.go, server.go): explicit routes are dialled again forever, a
 * second apart; routes learnt by gossip (an INFO naming another server, with its `ip`) are tried
 * `connect_retries` more times, so naming one seed forms the full mesh. When two servers dial each
 * other, both keep the same one of the two connections: the one dialled by the server with the
 * smaller id (nats-server keeps the first registered and lets a later retry settle it; a fixed rule
 * settles it at once). Every registered route hears about each new one, and clients hear of every
 * server's client URLs in their INFO `connect_urls`.
 *
 * Effect owns the structure: the listener is scoped, each route has a supervising fiber that
 * closes it when the layer shuts down, and each dialer is a fiber of the same scope.
 */
import { Context, Deferred, Duration, Effect, FiberSet, Layer } from "effect"
import * as os from "node:os"
import { Accounts } from "../accounts/Accounts.ts"
import {
  ADVERTISED_NATS_VERSION,
  AT_LEVEL_211,
  BROKER_NAME,
  BROKER_VERSION,
  ServerConfig
} from "../config/BrokerConfig.ts"
import type { Subscription } from "../core/Router.ts"
import { Server } from "../core/Server.ts"
import { Log } from "../log/Log.ts"
import { Transport, type TransportError, type Wire } from "../platform/Transport.ts"
import { type ClusterSettings, parseRouteUrl, ROUTE_RECONNECT_MS, type RouteUrl } from "./ClusterSettings.ts"
import { type LocalInterest, RouteConnection, type RouteContext } from "./RouteConnection.ts"
import type { RouteInfo } from "./RouteInfo.ts"

export interface ClusterShape {
  readonly settings: ClusterSettings
  readonly name: () => string
  /** The route listener's address (port resolved when -1 was asked for). */
  readonly host: string
  readonly port: number
  /** Registered routes, one per remote server. */
  readonly routes: () => ReadonlyArray<RouteConnection>
  /** Every server's client URLs, this one first (what clients get as `connect_urls`). */
  readonly clientUrls: () => ReadonlyArray<string>
}

interface Counted {
  readonly subject: string
  readonly queue: string | undefined
  count: number
}

const keyOf = (s: Subscription): string => s.queue === undefined ? s.subject : `${s.subject} ${s.queue}`

/** Whether a subscription is this server's own interest (not a route's, not an import's forwarding). */
const announced = (s: Subscription): boolean => s.remote === undefined && !s.localOnly

const joinHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** nats-server getClientConnectURLs: the listen address, or every non-loopback address for 0.0.0.0 / ::. */
const ownClientUrls = (host: string, port: number): Array<string> => {
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return [joinHostPort(host, port)]
  const urls: Array<string> = []
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || (a.family === "IPv6" && a.address.startsWith("fe80"))) continue
      urls.push(joinHostPort(a.address, port))
    }
  }
  return urls.length > 0 ? urls : [joinHostPort("127.0.0.1", port)]
}

const randomName = (): string => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
  let s = ""
  for (let i = 0; i < 22; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)]
  return s
}

type Needs = ServerConfig | Server | Log | Transport | Accounts

export class Cluster extends Context.Service<Cluster, ClusterShape | undefined>()("effect-jetstream/cluster/Cluster") {
  static readonly layer: Layer.Layer<Cluster, TransportError, Needs> = Layer.effect(Cluster)(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const settings = config.cluster
      if (settings === undefined) return undefined
      const server = yield* Server
      const log = yield* Log
      const transport = yield* Transport
      const accounts = yield* Accounts
      const run = yield* FiberSet.makeRuntime<never>()

      let clusterName = settings.name ?? randomName()
      let dynamic = settings.name === undefined
      if (dynamic) log.warn("Cluster name was dynamically generated, consider setting one")
      const routes = new Map<string, RouteConnection>()
      const open = new Set<RouteConnection>()
      let nextRid = 0
      let boundPort = settings.port

      // --- this server's interest, per account, as announced to routes ------------------------
      const interest = new Map<string, Map<string, Counted>>()
      const broadcast = (f: (r: RouteConnection) => void) => {
        for (const r of routes.values()) f(r)
      }
      const added = (account: string, s: Subscription) => {
        if (!announced(s)) return
        const m = interest.get(account)!
        const key = keyOf(s)
        const c = m.get(key)
        if (c === undefined) m.set(key, { subject: s.subject, queue: s.queue, count: 1 })
        else c.count++
        const n = c?.count ?? 1
        if (s.queue === undefined) {
          if (n === 1) broadcast((r) => r.sendSub(account, s.subject, undefined, 1))
        } else broadcast((r) => r.sendSub(account, s.subject, s.queue, n))
      }
      const removed = (account: string, s: Subscription) => {
        if (!announced(s)) return
        const m = interest.get(account)!
        const key = keyOf(s)
        const c = m.get(key)
        if (c === undefined) return
        c.count--
        if (c.count <= 0) {
          m.delete(key)
          broadcast((r) => r.sendUnsub(account, s.subject, s.queue))
        } else if (s.queue !== undefined) broadcast((r) => r.sendSub(account, s.subject, s.queue, c.count))
      }
      const unlisten: Array<() => void> = []
      for (const acc of accounts.all()) {
        interest.set(acc.name, new Map())
        for (const s of acc.router.sublist.all()) added(acc.name, s)
        const onSub = (s: Subscription) => added(acc.name, s)
        const onUnsub = (s: Subscription) => removed(acc.name, s)
        acc.router.subscribeListeners.add(onSub)
        acc.router.unsubscribeListeners.add(onUnsub)
        unlisten.push(() => {
          acc.router.subscribeListeners.delete(onSub)
          acc.router.unsubscribeListeners.delete(onUnsub)
        })
      }
      yield* Effect.addFinalizer(() => Effect.sync(() => unlisten.forEach((f) => f())))
      const localInterest = function*(): Generator<LocalInterest> {
        for (const [account, m] of interest) {
          for (const c of m.values()) yield { account, subject: c.subject, queue: c.queue, weight: c.count }
        }
      }

      // --- client URLs (connect_urls) -----------------------------------------------------------
      const ownUrls = ownClientUrls(server.host, server.port)
      const clientUrls = (): Array<string> => {
        const all = [...ownUrls]
        for (const r of routes.values()) {
          for (const u of r.remoteInfo?.connect_urls ?? []) if (!all.includes(u)) all.push(u)
        }
        return all
      }
      // WebSocket clients get the cluster's WebSocket URLs instead (nats-server ws_connect_urls).
      const ownWsUrls = server.websocket?.connectUrls ?? []
      const wsClientUrls = (): Array<string> => {
        const all = [...ownWsUrls]
        for (const r of routes.values()) {
          for (const u of r.remoteInfo?.ws_connect_urls ?? []) if (!all.includes(u)) all.push(u)
        }
        return all
      }
      // nats-server sends no INFO while shutting down: clients must keep the other servers to move to.
      let stopping = false
      const publishClientInfo = () => {
        if (stopping) return
        if (settings.noAdvertise) server.setClusterInfo(clusterName, undefined)
        else {server.setClusterInfo(
            clusterName,
            clientUrls(),
            server.websocket === undefined ? undefined : wsClientUrls()
          )}
      }

      // --- route INFO ---------------------------------------------------------------------------
      const routeInfo = () => {
        const info: Record<string, unknown> = {
          server_id: server.serverId,
          server_name: server.serverName,
          version: ADVERTISED_NATS_VERSION,
          // 3 = nats-server MsgTraceProto (2.11): the peer may send traced messages here.
          proto: AT_LEVEL_211 ? 3 : 2,
          go: `${BROKER_NAME} ${BROKER_VERSION}`,
          host: settings.host,
          port: boundPort,
          headers: true,
          ...(settings.auth === undefined ? {} : { auth_required: true }),
          max_payload: config.maxPayload,
          // No `jetstream`: a nats-server peer would count this server into its JetStream meta group
          // (Raft over routes), which is not built here.
          cluster: clusterName,
          ...(dynamic ? { dynamic: true } : {}),
          ...(settings.noAdvertise ? {} : { connect_urls: ownUrls }),
          ...(settings.noAdvertise || ownWsUrls.length === 0 ? {} : { ws_connect_urls: ownWsUrls }),
          ...(settings.advertise === undefined ? {} : { ip: `nats-route://${settings.advertise}/` }),
          lnoc: true
        }
        return `INFO ${JSON.stringify(info)}\r\n`
      }

      const isConfigured = (host: string, port: number) =>
        settings.routes.some((u) => u.host.toLowerCase() === host.toLowerCase() && u.port === port)

      const ctx: RouteContext = {
        serverId: server.serverId,
        traceSite: server.traceSite,
        log,
        info: routeInfo,
        clusterName: () => clusterName,
        dynamicName: () => dynamic,
        adoptName: (name, peerDynamic) => {
          // nats-server: a generated name yields to a configured one, or to a greater generated one.
          if (!dynamic || name === "" || (peerDynamic && name.localeCompare(clusterName) <= 0)) return false
          log.info(`Cluster name updated to ${name}`)
          clusterName = name
          if (!peerDynamic) dynamic = false
          publishClientInfo()
          return true
        },
        auth: settings.auth,
        accountRouter: (name) => accounts.get(name)?.router,
        register: (route) => {
          const id = route.remoteId!
          const existing = routes.get(id)
          if (existing !== undefined && !existing.isClosed) {
            const solicitor = (r: RouteConnection) => (r.didSolicit ? server.serverId : id)
            if (solicitor(route) >= solicitor(existing)) return false
            routes.set(id, route)
            existing.close("Duplicate Route")
          } else routes.set(id, route)
          const info = route.remoteInfo!
          if (routes.size > 1) {
            // Tell the others where this server's routes listen, so they dial it (implicit routes).
            const ip = info.ip ?? `nats-route://${joinHostPort(route.remoteAddress, info.port)}/`
            const { nonce: _, ...rest } = info
            const line = `INFO ${JSON.stringify({ ...rest, ip })}\r\n`
            for (const r of routes.values()) if (r !== route) r.sendInfo(line)
          }
          log.info(
            `${route.remoteAddress}:${route.remotePort} - rid:${route.rid} - Route connection created (${info.server_name})`
          )
          if (!settings.noAdvertise) publishClientInfo()
          return true
        },
        asyncInfo: (route, info) => {
          if (info.server_id !== route.remoteId) return implicit(info)
          route.remoteInfo = { ...info, server_name: route.remoteInfo?.server_name ?? info.server_name }
          if (!settings.noAdvertise) publishClientInfo()
        },
        localInterest,
        closed: (route, reason) => {
          open.delete(route)
          const done = closers.get(route)
          closers.delete(route)
          if (done !== undefined) Deferred.doneUnsafe(done, Effect.void)
          const id = route.remoteId
          if (id !== undefined && routes.get(id) === route) {
            routes.delete(id)
            log.info(
              `${route.remoteAddress}:${route.remotePort} - rid:${route.rid} - Route connection closed: ${reason}`
            )
            if (!settings.noAdvertise) publishClientInfo()
          }
        },
        maxPending: config.maxPending,
        writeDeadlineMs: config.writeDeadlineMs,
        pingIntervalMs: config.pingIntervalMs,
        pingMax: config.pingMax
      }

      const closers = new Map<RouteConnection, Deferred.Deferred<void>>()
      /** Runs a route under a fiber of the layer's scope (shutdown closes it); `closed` waits for its end. */
      const startRoute = (wire: Wire, solicited: { url: RouteUrl; configured: boolean } | undefined) => {
        const route = new RouteConnection(++nextRid, wire, ctx, solicited)
        const done = Deferred.makeUnsafe<void>()
        closers.set(route, done)
        open.add(route)
        run(
          Effect.acquireUseRelease(
            Effect.succeed(route),
            () => Deferred.await(done),
            (r) => Effect.sync(() => r.close("Server Shutdown"))
          )
        )
        route.start()
        return { route, closed: Deferred.await(done) }
      }

      /** Dials `url` until a route forms; explicit routes again whenever it drops. */
      const dial = (url: RouteUrl, configured: boolean) =>
        Effect.gen(function*() {
          let failures = 0
          while (true) {
            log.debug(`Trying to connect to route on ${joinHostPort(url.host, url.port)}`)
            const wire = yield* Effect.result(transport.connect(url.host, url.port))
            if (wire._tag === "Failure") {
              failures++
              if (!configured && failures > settings.connectRetries) {
                log.debug(`Giving up on implicit route ${url.url} after ${failures} attempt(s)`)
                return
              }
              const every = Math.max(1, Math.round(60_000 / ROUTE_RECONNECT_MS))
              if (failures === 1 || failures % every === 0) {
                log.debug(`Error trying to connect to route (attempt ${failures}): ${wire.failure.message}`)
              }
              yield* Effect.sleep(Duration.millis(ROUTE_RECONNECT_MS))
              continue
            }
            failures = 0
            const { route, closed } = startRoute(wire.success, { url, configured })
            yield* closed
            if (!configured || route.toSelf) return
            const id = route.remoteId
            // A duplicate: the peer is reached through the other connection; dial again once it is gone.
            while (id !== undefined && routes.has(id)) yield* Effect.sleep(Duration.millis(ROUTE_RECONNECT_MS))
            yield* Effect.sleep(Duration.millis(ROUTE_RECONNECT_MS))
          }
        })

      // Servers being dialled because of gossip: several peers may tell us about the same one.
      const dialling = new Set<string>()
      const implicit = (info: RouteInfo) => {
        if (info.server_id === server.serverId || routes.has(info.server_id) || info.ip === undefined) return
        if (dialling.has(info.server_id)) return
        if (isConfigured(info.host, info.port)) return
        const parsed = parseRouteUrl(info.ip.replace(/^nats-route:/, "nats:").replace(/\/$/, ""))
        if (typeof parsed === "string") return log.error(`Error parsing URL from INFO: ${parsed}`)
        const url: RouteUrl = info.auth_required === true && settings.auth !== undefined
          ? { ...parsed, user: settings.auth.user, password: settings.auth.password }
          : parsed
        if (isConfigured(url.host, url.port)) return
        dialling.add(info.server_id)
        run(dial(url, false).pipe(Effect.ensuring(Effect.sync(() => dialling.delete(info.server_id)))))
      }

      const listener = yield* transport.listen(settings.host, settings.port, (wire) => {
        startRoute(wire, undefined)
      })
      boundPort = listener.port
      log.info(`Cluster name is ${clusterName}`)
      log.info(`Listening for route connections on ${joinHostPort(listener.host, listener.port)}`)

      const sweepEvery = Math.max(10, Math.min(1000, Math.floor(config.pingIntervalMs / 2)))
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          setInterval(() => {
            const now = Date.now()
            for (const r of open) r.tick(now)
          }, sweepEvery)
        ),
        (timer) => Effect.sync(() => clearInterval(timer))
      )
      publishClientInfo()
      for (const url of settings.routes) run(dial(url, true))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          stopping = true
          for (const r of [...open]) r.close("Server Shutdown")
        })
      )

      return {
        settings,
        name: () => clusterName,
        host: listener.host,
        port: listener.port,
        routes: () => [...routes.values()],
        clientUrls
      }
    })
  )
}
