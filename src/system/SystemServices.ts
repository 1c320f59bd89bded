/**
 * The system account's services (nats-server events.go initEventTracking): the monitoring
 * endpoints over NATS, which `nats server list`, `nats server report jetstream` and
 * `nats server check` ask for, and the connect/disconnect events of accounts.
 *
 * - `$SYS.REQ.SERVER.PING` (and `.PING.STATSZ`): every server answers with its statsz;
 * - `$SYS.REQ.SERVER.PING.<svc>` and `$SYS.REQ.SERVER.<id>.<svc>` for VARZ, CONNZ, ROUTEZ, SUBSZ,
 *   JSZ, HEALTHZ, ACCOUNTZ: `{"server": {...}, "data": {...}}`, or `"error": {code, description}` (400
 *   for a body that does not decode, 500 for options the report refuses);
 * - `$SYS.REQ.ACCOUNT.<acc>.<svc>` for SUBSZ, CONNZ, JSZ and INFO, scoped to one account.
 *
 * A request whose filters (server_name, host, cluster, tags, domain) exclude this server gets no
 * answer, so a ping across a cluster collects only the servers asked for.
 *
 * Everything here is plain synchronous work on the system account's subject space; the reports
 * themselves are computed by the caller (the monitoring module), so HTTP and NATS see the same data.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../core/InternalClient.ts"
import { encodeJson, formatTime } from "../jetstream/codec/Json.ts"
import { decodeEventOptions, filteredOut, type FilterTarget, type OptionsOf, type ServiceName } from "./EventOptions.ts"

/** A report that could not be produced with the options given (answered with code 500, as nats-server). */
export class ReportError {
  readonly message: string
  constructor(message: string) {
    this.message = message
  }
}

type Report = Record<string, unknown> | ReportError

export interface SystemReports {
  readonly statsz: () => Record<string, unknown>
  readonly varz: () => Report
  readonly connz: (o: OptionsOf<"CONNZ">) => Report
  readonly subsz: (o: OptionsOf<"SUBSZ">) => Report
  readonly jsz: (o: OptionsOf<"JSZ">) => Report
  /** `$SYS.REQ.ACCOUNT.<acc>.JSZ`: that account's detail alone (nats-server JszAccount). */
  readonly accountJsz: (o: OptionsOf<"JSZ">) => Report
  readonly healthz: (o: OptionsOf<"HEALTHZ">) => Report
  readonly accountz: (o: OptionsOf<"ACCOUNTZ">) => Report
  readonly routez: (o: OptionsOf<"ROUTEZ">) => Report
  /** `$SYS.REQ.ACCOUNT.<acc>.INFO`; undefined when the account does not exist. */
  readonly accountInfo: (account: string) => Report
}

/** nats-server's event `ServerInfo`: who sent a system message. */
export interface ServerIdentity extends FilterTarget {
  readonly id: string
  readonly version: string
  readonly jetstream: boolean
  /** The 2.10 shape of the `server` object (from the advertised version). */
  readonly at210: boolean
}

/** nats-server's `ClientInfo` as connect/disconnect events carry it. */
export interface EventClient {
  readonly start: number
  readonly host: string
  readonly id: number
  readonly account: string
  readonly user: string | undefined
  readonly name: string | undefined
  readonly lang: string | undefined
  readonly version: string | undefined
}

export interface DataStats {
  readonly msgs: number
  readonly bytes: number
}

export interface SystemServices {
  readonly connected: (client: EventClient) => void
  readonly disconnected: (client: EventClient, sent: DataStats, received: DataStats, reason: string) => void
  readonly stop: () => void
}

const SERVER_SERVICES = ["VARZ", "CONNZ", "ROUTEZ", "SUBSZ", "JSZ", "HEALTHZ", "ACCOUNTZ"] as const
const ACCOUNT_SERVICES = ["SUBSZ", "CONNZ", "JSZ", "INFO"] as const

const timeOf = (ms: number): string => formatTime(BigInt(Math.floor(ms)) * 1_000_000n)

/** 22 characters of a random identifier, like nats-server's nuid event ids. */
const eventId = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url").slice(0, 22)

export const startSystemServices = (
  client: InternalClient,
  identity: ServerIdentity,
  reports: SystemReports,
  nowMs: () => number = Date.now
): SystemServices => {
  let seq = 0
  const server = () => ({
    name: identity.name,
    host: identity.host,
    id: identity.id,
    ...(identity.cluster === "" ? {} : { cluster: identity.cluster }),
    ...(identity.domain === "" ? {} : { domain: identity.domain }),
    ver: identity.version,
    ...(identity.tags.length === 0 ? {} : { tags: identity.tags }),
    ...(identity.at210 ?
      // 2.10 moves `jetstream` before `seq` and adds capability `flags` (events.go ServerInfo). Only
      // JetStreamEnabled (1): BinaryStreamSnapshot (2) is a cluster catch-up format we do not have.
      { jetstream: identity.jetstream, flags: identity.jetstream ? 1 : 0, seq: ++seq } :
      { seq: ++seq, jetstream: identity.jetstream }),
    time: timeOf(nowMs())
  })
  const send = (subject: string, value: unknown) =>
    client.publish(subject, undefined, -1, Buffer.from(encodeJson(value), "utf8"))

  /** nats-server zReq: decode, filter, compute, answer (or stay silent when filtered out). */
  const serve = <S extends ServiceName>(
    service: S,
    reply: string | undefined,
    body: Uint8Array,
    compute: (o: OptionsOf<S>) => Report | undefined
  ) => {
    if (reply === undefined) return
    const decoded = decodeEventOptions(service, body)
    if (!decoded.ok) return send(reply, { server: server(), error: { code: 400, description: decoded.error } })
    if (filteredOut(decoded.filter, identity)) return
    const data = compute(decoded.options)
    if (data === undefined) return
    if (data instanceof ReportError) {
      // nats-server sets `data` to the report's nil pointer before it sees the error: it marshals as null.
      return send(reply, { server: server(), data: null, error: { code: 500, description: data.message } })
    }
    send(reply, { server: server(), data })
  }

  const statsz = (reply: string | undefined, body: Uint8Array) => {
    // No reply: nats-server broadcasts on its own statsz subject instead.
    const to = reply ?? `$SYS.SERVER.${identity.id}.STATSZ`
    const decoded = decodeEventOptions("STATSZ", body)
    if (!decoded.ok) return send(to, { server: server(), error: { code: 400, description: decoded.error } })
    if (filteredOut(decoded.filter, identity)) return
    send(to, { server: server(), statsz: reports.statsz() })
  }

  const byService: { readonly [S in (typeof SERVER_SERVICES)[number]]: (o: OptionsOf<S>) => Report } = {
    VARZ: () => reports.varz(),
    CONNZ: reports.connz,
    SUBSZ: reports.subsz,
    JSZ: reports.jsz,
    HEALTHZ: reports.healthz,
    ACCOUNTZ: reports.accountz,
    ROUTEZ: reports.routez
  }

  client.subscribe("$SYS.REQ.SERVER.PING", (_s, reply, hdrLen, msg) => statsz(reply, payload(hdrLen, msg)))
  client.subscribe("$SYS.REQ.SERVER.PING.STATSZ", (_s, reply, hdrLen, msg) => statsz(reply, payload(hdrLen, msg)))
  client.subscribe(
    `$SYS.REQ.SERVER.${identity.id}.STATSZ`,
    (_s, reply, hdrLen, msg) => statsz(reply, payload(hdrLen, msg))
  )
  for (const svc of SERVER_SERVICES) {
    const handler = (_s: string, reply: string | undefined, hdrLen: number, msg: Uint8Array) =>
      serve(svc, reply, payload(hdrLen, msg), byService[svc] as (o: OptionsOf<typeof svc>) => Report)
    client.subscribe(`$SYS.REQ.SERVER.PING.${svc}`, handler)
    client.subscribe(`$SYS.REQ.SERVER.${identity.id}.${svc}`, handler)
  }
  for (const svc of ACCOUNT_SERVICES) {
    client.subscribe(`$SYS.REQ.ACCOUNT.*.${svc}`, (subject, reply, hdrLen, msg) => {
      const account = subject.split(".")[3]!
      const body = payload(hdrLen, msg)
      switch (svc) {
        case "SUBSZ":
          // nats-server forces the subscription list on and scopes it to the account.
          return serve("SUBSZ", reply, body, (o) => reports.subsz({ ...o, subscriptions: true, account }))
        case "CONNZ":
          return serve("CONNZ", reply, body, (o) => reports.connz({ ...o, acc: account }))
        case "JSZ":
          return serve("JSZ", reply, body, (o) => reports.accountJsz({ ...o, account }))
        case "INFO":
          return serve("INFO", reply, body, () => reports.accountInfo(account))
      }
    })
  }

  const client_ = (c: EventClient) => ({
    start: timeOf(c.start),
    ...(c.host === "" ? {} : { host: c.host }),
    ...(c.id === 0 ? {} : { id: c.id }),
    acc: c.account,
    ...(c.user === undefined || c.user === "" ? {} : { user: c.user }),
    ...(c.name === undefined || c.name === "" ? {} : { name: c.name }),
    ...(c.lang === undefined || c.lang === "" ? {} : { lang: c.lang }),
    ...(c.version === undefined || c.version === "" ? {} : { ver: c.version }),
    kind: "Client",
    client_type: "nats"
  })

  return {
    // nats-server leaves the global account's activity out of the events (accountConnectEvent).
    connected: (c) => {
      if (c.account === "$G") return
      send(`$SYS.ACCOUNT.${c.account}.CONNECT`, {
        type: "io.nats.server.advisory.v1.client_connect",
        id: eventId(),
        timestamp: timeOf(nowMs()),
        server: server(),
        client: client_(c)
      })
    },
    disconnected: (c, sent, received, reason) => {
      if (c.account === "$G") return
      send(`$SYS.ACCOUNT.${c.account}.DISCONNECT`, {
        type: "io.nats.server.advisory.v1.client_disconnect",
        id: eventId(),
        timestamp: timeOf(nowMs()),
        server: server(),
        // nats-server's "sent" is what the client sent (its inbound), "received" what it was sent.
        client: { ...client_(c), stop: timeOf(nowMs()) },
        sent,
        received,
        reason
      })
    },
    stop: () => client.unsubscribeAll()
  }
}

const payload = (hdrLen: number, msg: Uint8Array): Uint8Array => (hdrLen > 0 ? msg.subarray(hdrLen) : msg)
