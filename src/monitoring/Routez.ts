/**
 * `/routez` in nats-server 2.9.10's shape (monitor.go `Routez`, `RouteInfo`), and the `cluster`
 * section of `/varz` (`ClusterOptsVarz`): keys in struct order, `omitempty` fields left out.
 */
import type { ClusterShape } from "../cluster/Cluster.ts"
import { DEFAULT_ROUTE_AUTH_TIMEOUT_MS } from "../cluster/ClusterSettings.ts"
import type { RouteConnection } from "../cluster/RouteConnection.ts"
import type { Subscription } from "../core/Router.ts"
import { queryBool, QueryError, timeMs, uptime } from "./GoFormat.ts"

export interface RoutezOptions {
  readonly subs: boolean
  readonly subsDetail: boolean
}

/** nats-server decodeSubs: `subs=1` (any Go boolean) for subjects, `subs=detail` for details. */
export const parseRoutezQuery = (q: URLSearchParams): RoutezOptions | QueryError => {
  if ((q.get("subs") ?? "").toLowerCase() === "detail") return { subs: false, subsDetail: true }
  const subs = queryBool(q, "subs")
  return subs instanceof QueryError ? subs : { subs, subsDetail: false }
}

/** Go's time.Duration.String for a duration in milliseconds (RTT). */
export const goDuration = (ms: number): string => {
  if (ms === 0) return "0s"
  const ns = Math.round(ms * 1e6)
  const trim = (v: number) => String(Number(v.toFixed(9))).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "")
  if (ns < 1_000) return `${ns}ns`
  if (ns < 1_000_000) return `${trim(ns / 1_000)}µs`
  if (ns < 1_000_000_000) return `${trim(ns / 1_000_000)}ms`
  return `${trim(ns / 1_000_000_000)}s`
}

// nats-server 2.9.10 SubDetail: the sid of a route's subscription is its key, `<account> <subject>[ <queue>]`.
const subDetail = (s: Subscription) => ({
  subject: s.subject,
  qgroup: s.queue,
  sid: s.sid,
  msgs: s.delivered,
  cid: s.owner.cid
})

const routeInfo = (r: RouteConnection, opts: RoutezOptions, nowMs: number): Record<string, unknown> => {
  const subs = opts.subs || opts.subsDetail ? [...r.remoteSubscriptions()] : []
  return {
    rid: r.rid,
    remote_id: r.remoteId ?? "",
    did_solicit: r.didSolicit,
    is_configured: r.configured,
    ip: r.remoteAddress,
    port: r.remotePort,
    start: timeMs(r.startedAt),
    last_activity: timeMs(r.lastActivity),
    rtt: goDuration(r.rttMs),
    uptime: uptime(nowMs - r.startedAt),
    idle: uptime(nowMs - r.lastActivity),
    pending_size: r.pendingBytes,
    in_msgs: r.stats.inMsgs,
    out_msgs: r.stats.outMsgs,
    in_bytes: r.stats.inBytes,
    out_bytes: r.stats.outBytes,
    subscriptions: r.subscriptionCount,
    subscriptions_list: opts.subs && subs.length > 0 ? subs.map((s) => s.subject) : undefined,
    subscriptions_list_detail: opts.subsDetail && subs.length > 0
      ? subs.map(subDetail)
      : undefined
  }
}

export const routez = (
  serverId: string,
  cluster: ClusterShape | undefined,
  opts: RoutezOptions,
  nowMs: number
): Record<string, unknown> => {
  const routes = cluster?.routes() ?? []
  return {
    server_id: serverId,
    now: timeMs(nowMs),
    num_routes: routes.length,
    routes: routes.map((r) => routeInfo(r, opts, nowMs))
  }
}

/** `/varz` `cluster`: empty without one, as nats-server's omitempty fields leave it. */
export const clusterVarz = (cluster: ClusterShape | undefined): Record<string, unknown> => {
  if (cluster === undefined) return {}
  const s = cluster.settings
  return {
    name: cluster.name(),
    addr: cluster.host,
    cluster_port: cluster.port,
    auth_timeout: (s.auth?.timeoutMs ?? DEFAULT_ROUTE_AUTH_TIMEOUT_MS) / 1000,
    ...(s.routes.length === 0 ? {} : { urls: s.routes.map((u) => `${u.host}:${u.port}`) }),
    // No route TLS: nats-server still reports its default handshake timeout.
    tls_timeout: 2
  }
}
