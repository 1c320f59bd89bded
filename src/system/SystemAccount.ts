/**
 * The system account at run time: SystemServices on the system account's subject space, answering
 * from the same reports as the HTTP monitor (monitoring/Reports.ts, present with or without a
 * monitoring port), and the server's client lifecycle turned into `$SYS.ACCOUNT.<acc>.CONNECT` /
 * `DISCONNECT` events. Absent with `no_system_account`.
 */
import { Effect, Layer } from "effect"
import { Accounts } from "../accounts/Accounts.ts"
import { ADVERTISED_NATS_VERSION, AT_LEVEL_210, ServerConfig } from "../config/BrokerConfig.ts"
import type { ClientConnection } from "../core/Connection.ts"
import { InternalClient } from "../core/InternalClient.ts"
import { Server } from "../core/Server.ts"
import type { ConnzOptions } from "../monitoring/Connz.ts"
import { CONNZ_SORT_OPTIONS } from "../monitoring/Connz.ts"
import { healthBody } from "../monitoring/Healthz.ts"
import type { JszOptions } from "../monitoring/Jsz.ts"
import { isData, type Report, Reports } from "../monitoring/Reports.ts"
import { isValidLiteralSubject } from "../subject/Subject.ts"
import type { OptionsOf } from "./EventOptions.ts"
import { type EventClient, ReportError, startSystemServices, type SystemReports } from "./SystemServices.ts"

const DEFAULT_LIST_SIZE = 1024
const CONNZ_SORTS: ReadonlySet<string> = new Set(CONNZ_SORT_OPTIONS)
/** nats-server ConnState: ConnOpen, ConnClosed, ConnAll. */
const CONN_STATES = ["open", "closed", "all"] as const

const toSystem = (r: Report): Record<string, unknown> | ReportError => (isData(r) ? r : new ReportError(r.message))

/** CONNZ event options → the monitor's options, with nats-server Connz's checks (errors answered 500). */
export const connzOptions = (o: OptionsOf<"CONNZ">): ConnzOptions | ReportError => {
  if (o.filter_subject !== "") return new ReportError("filter_subject is not supported by this server")
  if (o.mqtt_client !== "") return new ReportError("mqtt_client is not supported by this server")
  const sort = o.sort === "" ? "cid" : o.sort
  if (!CONNZ_SORTS.has(sort)) return new ReportError(`invalid sorting option: ${o.sort}`)
  const state = CONN_STATES[o.state]
  if (state === undefined) return new ReportError(`invalid connection state: ${o.state}`)
  if (sort === "stop" && state !== "closed") return new ReportError("sort by stop only valid on closed connections")
  if (sort === "reason" && state !== "closed") {
    return new ReportError("sort by reason only valid on closed connections")
  }
  return {
    sort: sort as ConnzOptions["sort"],
    subs: o.subscriptions || o.subscriptions_detail,
    subsDetail: o.subscriptions_detail,
    offset: Math.max(0, o.offset),
    limit: o.cid > 0 ? 1 : o.limit <= 0 ? DEFAULT_LIST_SIZE : o.limit,
    cid: o.cid,
    state,
    auth: o.auth,
    account: o.acc === "" ? undefined : o.acc,
    user: o.user === "" ? undefined : o.user
  }
}

const jszOptions = (o: OptionsOf<"JSZ">): JszOptions => {
  // A single server leads everything it has, so `leader_only` selects all of it.
  const streams = o.streams || o.consumer
  return {
    accounts: o.accounts || streams,
    streams,
    consumers: o.consumer,
    config: o.config,
    offset: o.offset,
    limit: o.limit === 0 ? DEFAULT_LIST_SIZE : o.limit,
    account: o.account
  }
}

/** The SystemReports SystemServices asks for, computed by the shared monitoring reports. */
export const systemReports = (reports: Reports["Service"]): SystemReports => ({
  statsz: () => {
    const r = reports.statsz()
    // The server is attached before the system services start, so statsz is always available.
    return isData(r) ? r : {}
  },
  varz: () => toSystem(reports.varz()),
  connz: (o) => {
    const opts = connzOptions(o)
    return opts instanceof ReportError ? opts : toSystem(reports.connz(opts))
  },
  subsz: (o) => {
    if (o.test !== "" && !isValidLiteralSubject(o.test)) {
      return new ReportError(`invalid test subject, must be valid publish subject: ${o.test}`)
    }
    return toSystem(reports.subsz({
      subs: o.subscriptions,
      offset: Math.max(0, o.offset),
      limit: o.limit <= 0 ? DEFAULT_LIST_SIZE : o.limit,
      test: o.test === "" ? undefined : o.test,
      account: o.account === "" ? undefined : o.account
    }))
  },
  jsz: (o) => toSystem(reports.jsz(jszOptions(o))),
  accountJsz: (o) => toSystem(reports.jszAccount(jszOptions(o))),
  healthz: (o) => {
    const s = reports.healthz({
      jsEnabledOnly: o["js-enabled"] || o["js-enabled-only"],
      jsServerOnly: o["js-server-only"],
      account: o.account,
      stream: o.stream,
      consumer: o.consumer,
      details: o.details
    })
    // 2.10 answers the request with `status_code` in the body (only HTTP takes it out).
    return healthBody(s, AT_LEVEL_210)
  },
  accountz: (o) => toSystem(reports.accountz(o.account)),
  routez: (o) => toSystem(reports.routez({ subs: o.subscriptions, subsDetail: o.subscriptions_detail })),
  accountInfo: (account) => {
    const r = reports.accountz(account)
    if (!isData(r)) return new ReportError(r.message)
    return r.account_detail as Record<string, unknown>
  }
})

const eventClient = (c: ClientConnection): EventClient => ({
  start: c.startedAt,
  host: c.remoteAddress,
  id: c.cid,
  account: c.account,
  user: c.authorizedUser,
  name: c.name,
  lang: c.lang,
  version: c.version
})

/** Starts the system services once the client listener is up (provide after Server.layer). */
export const layer: Layer.Layer<never, never, Accounts | Server | Reports | ServerConfig> = Layer.effectDiscard(
  Effect.gen(function*() {
    const accounts = yield* Accounts
    const system = accounts.system
    if (system === undefined) return
    const config = yield* ServerConfig
    const server = yield* Server
    const reports = yield* Reports
    const client = new InternalClient(system.router)
    const services = startSystemServices(client, {
      id: server.serverId,
      name: server.serverName,
      host: config.host,
      // A configured name; a generated one is not known until the routes form.
      cluster: config.cluster?.name ?? "",
      tags: [],
      domain: config.domain ?? "",
      version: ADVERTISED_NATS_VERSION,
      jetstream: config.jetstream,
      at210: AT_LEVEL_210
    }, systemReports(reports))
    const unwatch = server.watchClients({
      connected: (c) => services.connected(eventClient(c)),
      disconnected: (c, reason) =>
        // nats-server's `sent` is what the client sent to the server, `received` what it was sent.
        services.disconnected(
          eventClient(c),
          { msgs: c.stats.inMsgs, bytes: c.stats.inBytes },
          { msgs: c.stats.outMsgs, bytes: c.stats.outBytes },
          reason
        )
    })
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        unwatch()
        services.stop()
      })
    )
  })
)
