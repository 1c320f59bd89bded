/**
 * `/connz` and `/subsz` in nats-server 2.9.10's shapes (monitor.go `Connz`, `ConnInfo`, `Subsz`,
 * `SubDetail`, sublist.go `SublistStats`). Open client connections only: we keep no closed-connection
 * ring, so `state=closed` answers with an empty list and `state=all` equals `state=open`.
 */
import type { ClientConnection } from "../core/Connection.ts"
import type { MessageRouter, Subscription } from "../core/Router.ts"
import type { ServerShape } from "../core/Server.ts"
import { isValidLiteralSubject, matches } from "../subject/Subject.ts"
import { queryBool, QueryError, queryInt, timeMs, uptime } from "./GoFormat.ts"

const DEFAULT_LIST_SIZE = 1024

/** nats-server SortOpt values (HTTP `sort=` and the `$SYS` CONNZ `sort` option). */
export const CONNZ_SORT_OPTIONS = [
  "cid",
  "start",
  "subs",
  "pending",
  "msgs_to",
  "msgs_from",
  "bytes_to",
  "bytes_from",
  "last",
  "idle",
  "uptime",
  "stop",
  "reason"
] as const
type SortOpt = (typeof CONNZ_SORT_OPTIONS)[number]

export interface ConnzOptions {
  readonly sort: SortOpt
  readonly subs: boolean
  readonly subsDetail: boolean
  readonly offset: number
  readonly limit: number
  readonly cid: number
  readonly state: "open" | "closed" | "all"
  /** `auth=true`: each entry names its authorized user and (other than `$G`) its account. */
  readonly auth: boolean
  /** `acc=`: only the connections of this account. */
  readonly account: string | undefined
  /** `user=`: only the connections of this user. */
  readonly user: string | undefined
}

/** nats-server `HandleConnz` + the checks at the top of `Connz` (same error texts, answered with 400). */
export const parseConnzQuery = (q: URLSearchParams): ConnzOptions | QueryError => {
  const sortRaw = q.get("sort") ?? ""
  const auth = queryBool(q, "auth")
  if (auth instanceof QueryError) return auth
  const subsDetail = (q.get("subs") ?? "").toLowerCase() === "detail"
  const subs = subsDetail ? false : queryBool(q, "subs")
  if (subs instanceof QueryError) return subs
  const offset = queryInt(q, "offset")
  if (offset instanceof QueryError) return offset
  const limit = queryInt(q, "limit")
  if (limit instanceof QueryError) return limit
  const cidRaw = q.get("cid") ?? ""
  if (cidRaw !== "" && !/^\d+$/.test(cidRaw)) {
    return new QueryError(
      `Error decoding uint64 for 'cid': strconv.ParseUint: parsing ${JSON.stringify(cidRaw)}: invalid syntax`
    )
  }
  const stateRaw = (q.get("state") ?? "").toLowerCase()
  const state = stateRaw === "" || stateRaw === "open"
    ? "open"
    : stateRaw === "closed"
    ? "closed"
    : stateRaw === "any" || stateRaw === "all"
    ? "all"
    : undefined
  if (state === undefined) {
    return new QueryError(`Error decoding state for ${q.get("state")}`)
  }
  // nats-server 2.9.10 means to refuse `user`/`acc` without `auth`, but tests the filters before it
  // reads them (monitor.go Connz), so it never does: neither do we.
  const sort = (sortRaw === "" ? "cid" : sortRaw) as SortOpt
  if (!CONNZ_SORT_OPTIONS.includes(sort)) return new QueryError(`invalid sorting option: ${sortRaw}`, true)
  if (sort === "stop" && state !== "closed") {
    return new QueryError("sort by stop only valid on closed connections", true)
  }
  if (sort === "reason" && state !== "closed") {
    return new QueryError("sort by reason only valid on closed connections", true)
  }
  const cid = cidRaw === "" ? 0 : Number(cidRaw)
  return {
    sort,
    subs: subs || subsDetail,
    subsDetail,
    offset: Math.max(0, offset),
    limit: cid > 0 ? 1 : limit <= 0 ? DEFAULT_LIST_SIZE : limit,
    cid,
    state,
    auth,
    account: (q.get("acc") ?? "") === "" ? undefined : q.get("acc")!,
    user: (q.get("user") ?? "") === "" ? undefined : q.get("user")!
  }
}

// Everything but cid/start (ascending) and uptime (longest first = oldest start) sorts descending.
const comparators: Record<SortOpt, (a: ClientConnection, b: ClientConnection) => number> = {
  cid: (a, b) => a.cid - b.cid,
  start: (a, b) => a.cid - b.cid,
  subs: (a, b) => b.subscriptionCount - a.subscriptionCount,
  pending: (a, b) => b.pendingBytes - a.pendingBytes,
  msgs_to: (a, b) => b.stats.outMsgs - a.stats.outMsgs,
  msgs_from: (a, b) => b.stats.inMsgs - a.stats.inMsgs,
  bytes_to: (a, b) => b.stats.outBytes - a.stats.outBytes,
  bytes_from: (a, b) => b.stats.inBytes - a.stats.inBytes,
  last: (a, b) => b.lastActivity - a.lastActivity,
  idle: (a, b) => a.lastActivity - b.lastActivity,
  uptime: (a, b) => a.startedAt - b.startedAt,
  stop: (a, b) => a.cid - b.cid,
  reason: (a, b) => a.cid - b.cid
}

const subDetail = (s: Subscription) => ({
  subject: s.subject,
  qgroup: s.queue,
  sid: s.sid,
  msgs: s.delivered,
  max: s.max > 0 ? s.max : undefined,
  cid: s.owner.cid
})

const connInfo = (c: ClientConnection, opts: ConnzOptions, nowMs: number): Record<string, unknown> => {
  const subs = opts.subs ? [...c.subscriptions()] : []
  return {
    cid: c.cid,
    kind: "Client",
    type: "nats",
    ip: c.remoteAddress,
    port: c.remotePort,
    start: timeMs(c.startedAt),
    last_activity: timeMs(c.lastActivity),
    uptime: uptime(nowMs - c.startedAt),
    idle: uptime(nowMs - c.lastActivity),
    pending_bytes: c.pendingBytes,
    in_msgs: c.stats.inMsgs,
    out_msgs: c.stats.outMsgs,
    in_bytes: c.stats.inBytes,
    out_bytes: c.stats.outBytes,
    subscriptions: c.subscriptionCount,
    name: c.name === "" ? undefined : c.name,
    lang: c.lang === "" ? undefined : c.lang,
    version: c.version === "" ? undefined : c.version,
    authorized_user: opts.auth ? c.authorizedUser : undefined,
    account: opts.auth && c.account !== "$G" ? c.account : undefined,
    subscriptions_list: !opts.subsDetail && subs.length > 0 ? subs.map((s) => s.subject) : undefined,
    subscriptions_list_detail: opts.subsDetail && subs.length > 0 ? subs.map(subDetail) : undefined
  }
}

export const connz = (
  server: ServerShape,
  opts: ConnzOptions,
  nowMs: number,
  accountExists: (name: string) => boolean = () => true
): Record<string, unknown> => {
  // nats-server answers an unknown account with an empty page that has no server id.
  if (opts.account !== undefined && !accountExists(opts.account)) {
    return {
      server_id: "",
      now: timeMs(nowMs),
      num_connections: 0,
      total: 0,
      offset: opts.offset,
      limit: opts.limit,
      connections: null
    }
  }
  let conns = opts.state === "closed" ? [] : [...server.connections]
  if (opts.cid > 0) conns = conns.filter((c) => c.cid === opts.cid)
  if (opts.account !== undefined) conns = conns.filter((c) => c.account === opts.account)
  if (opts.user !== undefined) conns = conns.filter((c) => c.authorizedUser === opts.user)
  conns.sort(comparators[opts.sort])
  const total = conns.length
  const page = conns.slice(Math.min(opts.offset, total), Math.min(opts.offset + opts.limit, total))
  return {
    server_id: server.serverId,
    now: timeMs(nowMs),
    num_connections: page.length,
    total,
    offset: opts.offset,
    limit: opts.limit,
    connections: page.map((c) => connInfo(c, opts, nowMs))
  }
}

// --- /subsz -----------------------------------------------------------------------------------

export interface SubszOptions {
  readonly subs: boolean
  readonly offset: number
  readonly limit: number
  readonly test: string | undefined
  /** `acc=`: one account's subscriptions (default: every account's). */
  readonly account: string | undefined
}

export const parseSubszQuery = (q: URLSearchParams): SubszOptions | QueryError => {
  const subs = queryBool(q, "subs")
  if (subs instanceof QueryError) return subs
  const offset = queryInt(q, "offset")
  if (offset instanceof QueryError) return offset
  const limit = queryInt(q, "limit")
  if (limit instanceof QueryError) return limit
  const test = q.get("test") ?? ""
  if (test !== "" && !isValidLiteralSubject(test)) {
    return new QueryError(`invalid test subject, must be valid publish subject: ${test}`)
  }
  return {
    subs,
    offset: Math.max(0, offset),
    limit: limit <= 0 ? DEFAULT_LIST_SIZE : limit,
    test: test === "" ? undefined : test,
    account: (q.get("acc") ?? "") === "" ? undefined : q.get("acc")!
  }
}

export const sublistStats = (router: MessageRouter) => sublistsStats([router])

/** nats-server SublistStats.add over several accounts' sublists (fan-out averaged over all cached subjects). */
export const sublistsStats = (routers: ReadonlyArray<MessageRouter>) => {
  let subs = 0
  let cached = 0
  let inserts = 0
  let removes = 0
  let matches = 0
  let hits = 0
  let maxFanout = 0
  let totFanout = 0
  for (const r of routers) {
    const sl = r.sublist
    const cache = sl.cacheStats()
    subs += sl.size
    cached += cache.size
    inserts += sl.stats.inserts
    removes += sl.stats.removes
    matches += sl.stats.matches
    hits += sl.stats.cacheHits
    maxFanout = Math.max(maxFanout, cache.maxFanout)
    totFanout += cache.avgFanout * cache.size
  }
  return {
    num_subscriptions: subs,
    num_cache: cached,
    num_inserts: inserts,
    num_removes: removes,
    num_matches: matches,
    cache_hit_rate: matches === 0 ? 0 : hits / matches,
    max_fanout: maxFanout,
    avg_fanout: cached === 0 ? 0 : totFanout / cached
  }
}

/**
 * nats-server prints only the sublist statistics unless the (paged) subscription list is non-empty,
 * and then the full `Subsz` with server id and time (HandleSubsz).
 */
export const subsz = (
  server: ServerShape,
  routers: ReadonlyArray<MessageRouter>,
  opts: SubszOptions,
  nowMs: number
): Record<string, unknown> => {
  const stats = sublistsStats(routers)
  if (!opts.subs) return stats
  let subs = routers.flatMap((r) => r.sublist.all())
  if (opts.test !== undefined) {
    const test = opts.test
    subs = subs.filter((s) => matches(s.subject, test))
  }
  const page = subs.slice(Math.min(opts.offset, subs.length), Math.min(opts.offset + opts.limit, subs.length))
  if (page.length === 0) return stats
  return {
    server_id: server.serverId,
    now: timeMs(nowMs),
    ...stats,
    total: page.length,
    offset: opts.offset,
    limit: opts.limit,
    subscriptions_list: page.map(subDetail)
  }
}
