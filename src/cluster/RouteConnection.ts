/**
 * One route: a connection to another server of the cluster, either dialled by us (`didSolicit`)
 * or accepted on the cluster port. Handshake as nats-server 2.9.10 (route.go): both sides send
 * INFO at once, the dialler sends CONNECT first; the accepting side checks CONNECT's credentials
 * and cluster name; each side, on the peer's first INFO, registers the route (or closes it as a
 * duplicate) and sends its whole local interest as RS+ lines.
 *
 * The peer's interest lives in each account's MessageRouter as subscriptions of this route's
 * per-account `RouteAccount` (a Subscriber and a RemoteInterest): a local publish reaches the peer
 * once per message, with the queue groups it was picked for, and what the peer sends is delivered
 * to local subscribers only (MessageRouter.publishRouted).
 *
 * Plain synchronous code, driven by socket callbacks, as ClientConnection.
 */
import { Buffer } from "node:buffer"
import { comparePasswords } from "../auth/Authenticator.ts"
import { BROKER_NAME } from "../config/BrokerConfig.ts"
import { enterProducer, Gate, type Producer } from "../core/Backpressure.ts"
import { KIND_ROUTER, type MsgTrace, startTrace, type TraceSite, type TraceTarget } from "../core/MsgTrace.ts"
import { type Flushable, Outbound, scheduleFlush } from "../core/Outbound.ts"
import { type MessageRouter, type RemoteInterest, type Subscriber, Subscription } from "../core/Router.ts"
import { findTraceHeaders } from "../core/TraceHeaders.ts"
import type { Logger } from "../log/Log.ts"
import type { Wire } from "../platform/Transport.ts"
import type { ProtocolViolation } from "../protocol/Parser.ts"
import { DEFAULT_ROUTE_AUTH_TIMEOUT_MS, type RouteUrl } from "./ClusterSettings.ts"
import { decodeRouteConnect, decodeRouteInfo, type RouteInfo } from "./RouteInfo.ts"
import { routedMsgLine, RouteParser, type RouteSink } from "./RouteParser.ts"

/** A local subscription as announced to other servers. */
export interface LocalInterest {
  readonly account: string
  readonly subject: string
  readonly queue: string | undefined
  /** Members of the queue group on this server (1 for a plain subscription). */
  readonly weight: number
}

export interface RouteContext {
  readonly serverId: string
  readonly log: Logger
  /** The INFO line this server sends on a route. */
  readonly info: () => string
  /** The cluster name now (a generated one may be replaced by a peer's). */
  readonly clusterName: () => string
  readonly dynamicName: () => boolean
  /** A peer named a different cluster: true when this server took the peer's name (dynamic names). */
  readonly adoptName: (name: string, peerDynamic: boolean) => boolean
  readonly auth: { readonly user: string; readonly password: string; readonly timeoutMs: number } | undefined
  readonly accountRouter: (account: string) => MessageRouter | undefined
  /** The peer's first INFO: false when the route must close (a duplicate, or a route to ourselves). */
  readonly register: (route: RouteConnection) => boolean
  /** An INFO on a registered route naming another server (gossip of an implicit route) or an update. */
  readonly asyncInfo: (route: RouteConnection, info: RouteInfo) => void
  readonly localInterest: () => Iterable<LocalInterest>
  readonly closed: (route: RouteConnection, reason: string) => void
  readonly maxPending: number
  readonly writeDeadlineMs: number
  readonly pingIntervalMs: number
  readonly pingMax: number
  /** Message tracing: a traced message arriving here makes this server send its own event (MsgTrace.ts). */
  readonly traceSite?: TraceSite | undefined
}

export interface RouteStats {
  inMsgs: number
  inBytes: number
  outMsgs: number
  outBytes: number
}

/** nats-server's route parser takes lines and payloads far beyond a client's; these only bound memory. */
const ROUTE_LIMITS = { maxPayload: 64 * 1024 * 1024, maxControlLine: 1024 * 1024 }
const STALL_CAP_MS = 1_000

/** The peer's interest in one account: its subscriptions' owner and where local publishes go. */
export class RouteAccount implements Subscriber, RemoteInterest {
  readonly cid: number
  readonly echo = true
  readonly route: RouteConnection
  readonly account: string
  /**
   * The cached "RMSG <account> <subject> " / "HMSG ..." prefixes of the last subject forwarded:
   * traffic mostly repeats subjects, and the prefix is the bulk of each control line.
   */
  lastSubject: string | undefined = undefined
  rmsgPrefix: Buffer | undefined = undefined
  hmsgPrefix: Buffer | undefined = undefined
  readonly traceTarget: TraceTarget
  constructor(route: RouteConnection, account: string) {
    this.route = route
    this.account = account
    this.cid = route.rid
    this.traceTarget = {
      cid: route.rid,
      name: () => route.remoteInfo?.server_name,
      // nats-server MsgTraceProto; this broker's own peers trace whatever level they advertise.
      supportsTrace: () => {
        const info = route.remoteInfo
        return info !== undefined && (info.proto >= 3 || info.go?.startsWith(`${BROKER_NAME} `) === true)
      }
    }
  }
  forward(
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    queues: ReadonlyArray<string> | undefined
  ): void {
    this.route.sendMsg(this, subject, reply, queues, hdrLen, msg)
  }
  deliver(_sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void {
    this.route.sendMsg(this, subject, reply, undefined, hdrLen, msg)
  }
  autoUnsubscribed(): void {
    // Remote subscriptions carry no max: the peer sends RS- itself.
  }
}

export class RouteConnection implements RouteSink, Flushable, Producer {
  readonly rid: number
  readonly didSolicit: boolean
  /** The URL dialled (explicit or gossiped); undefined for an accepted route. */
  readonly url: RouteUrl | undefined
  readonly configured: boolean
  readonly stats: RouteStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 }
  readonly startedAt = Date.now()
  lastActivity = Date.now()
  remoteInfo: RouteInfo | undefined = undefined
  /** Set once the peer's INFO registered this route. */
  registered = false
  closeReason: string | undefined = undefined
  rttMs = 0
  isHeld = false
  /** The peer turned out to be this server (a route URL naming ourselves): never dialled again. */
  toSelf = false

  private readonly wire: Wire
  private readonly ctx: RouteContext
  private readonly parser: RouteParser
  private readonly out = new Outbound()
  private readonly gate: Gate
  private readonly accounts = new Map<string, RouteAccount>()
  /** The peer's subscriptions by nats-server's key: `<account> <subject>[ <queue>]`. */
  private readonly subs = new Map<string, Subscription>()
  private readonly label: string
  /** An inbound route must CONNECT (with the cluster's credentials) before anything else. */
  private awaitingConnect: boolean
  private authTimer: ReturnType<typeof setTimeout> | undefined
  private pingsOut = 0
  private lastPing = Date.now()
  private pingSentAt = 0
  private blockedSince = 0
  private heldSince = 0
  // The last account a message came in for (traffic is mostly one account).
  private lastAccount = ""
  private lastRouter: MessageRouter | undefined = undefined

  constructor(
    rid: number,
    wire: Wire,
    ctx: RouteContext,
    solicited: { url: RouteUrl; configured: boolean } | undefined
  ) {
    this.rid = rid
    this.wire = wire
    this.ctx = ctx
    this.didSolicit = solicited !== undefined
    this.url = solicited?.url
    this.configured = solicited?.configured ?? false
    this.awaitingConnect = solicited === undefined
    this.parser = new RouteParser(this, ROUTE_LIMITS)
    this.gate = new Gate(Math.floor(ctx.maxPending / 2), Math.floor(ctx.maxPending / 4))
    this.label = `${wire.remoteAddress}:${wire.remotePort} - rid:${rid}`
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined
  }
  get remoteId(): string | undefined {
    return this.remoteInfo?.server_id
  }
  get remoteAddress(): string {
    return this.wire.remoteAddress
  }
  get remotePort(): number {
    return this.wire.remotePort
  }
  get pendingBytes(): number {
    return this.out.pending + this.wire.pendingBytes()
  }
  /** The peer's subscriptions (for /routez). */
  remoteSubscriptions(): IterableIterator<Subscription> {
    return this.subs.values()
  }
  get subscriptionCount(): number {
    return this.subs.size
  }

  start(): void {
    if (this.didSolicit) {
      const u = this.url!
      const connect = {
        echo: true,
        verbose: false,
        pedantic: false,
        ...(u.user === undefined ? {} : { user: u.user, pass: u.password ?? "" }),
        tls_required: false,
        headers: true,
        name: this.ctx.serverId,
        cluster: this.ctx.clusterName(),
        ...(this.ctx.dynamicName() ? { dynamic: true } : {}),
        lnoc: true
      }
      this.out.text(`CONNECT ${JSON.stringify(connect)}\r\n`)
    } else {
      // An inbound route must CONNECT in time, credentials or not (nats-server's auth timer).
      this.authTimer = setTimeout(() => {
        if (this.awaitingConnect) this.close("Authentication Timeout", "Authentication Timeout")
      }, this.ctx.auth?.timeoutMs ?? DEFAULT_ROUTE_AUTH_TIMEOUT_MS)
      this.authTimer.unref?.()
    }
    this.out.text(this.ctx.info())
    this.flush()
    this.wire.listen({
      data: (chunk) => {
        this.lastActivity = Date.now()
        const prev = enterProducer(this)
        try {
          this.parser.feed(chunk)
        } finally {
          enterProducer(prev)
        }
      },
      drain: () => {
        this.blockedSince = 0
        this.gate.drained(this.out.pending)
      },
      written: () => {
        const inWire = this.wire.pendingBytes()
        this.blockedSince = inWire > 0 ? Date.now() : 0
        this.gate.drained(this.out.pending + inWire)
      },
      close: () => this.teardown(this.registered ? "Connection Closed" : "Client Closed")
    })
    this.ctx.log.debug(`${this.label} - Route connection created`)
  }

  // --- RouteSink -----------------------------------------------------------------------------

  connect(json: string): void {
    if (this.ctx.log.traceEnabled) this.trace(`CONNECT ${json}`)
    if (this.didSolicit) return
    const d = decodeRouteConnect(json)
    if (!d.ok) return this.close("Protocol Violation", "Invalid CONNECT Payload")
    const o = d.value
    if (o.lang !== undefined && o.lang !== "") {
      // A client dialled the cluster port (nats-server ErrClientConnectedToRoutePort).
      return this.close("Wrong Port", "attempted to connect to route port")
    }
    if (o.gateway !== undefined && o.gateway !== "") {
      return this.close(
        "Wrong Gateway",
        `Rejecting connection from gateway ${JSON.stringify(o.gateway)} on the Route port`
      )
    }
    const auth = this.ctx.auth
    // nats-server checkRouterAuth: the user exactly, the password plain or as a bcrypt hash.
    if (auth !== undefined && (o.user !== auth.user || !comparePasswords(auth.password, o.pass ?? ""))) {
      this.ctx.log.error(`${this.label} - authentication error - route credentials do not match`)
      return this.close("Authentication Failure", "Authorization Violation")
    }
    const ours = this.ctx.clusterName()
    if ((o.cluster ?? "") !== ours && !this.ctx.adoptName(o.cluster ?? "", o.dynamic === true)) {
      const text = `Rejecting connection, cluster name ${JSON.stringify(o.cluster ?? "")} does not match ${
        JSON.stringify(ours)
      }`
      this.ctx.log.error(`${this.label} - ${text}`)
      return this.close("Cluster Name Conflict", text)
    }
    this.awaitingConnect = false
    if (this.authTimer !== undefined) clearTimeout(this.authTimer)
  }

  info(json: string): void {
    if (this.ctx.log.traceEnabled) this.trace(`INFO ${json}`)
    if (this.awaitingConnect) return this.authViolation("INFO before CONNECT")
    const d = decodeRouteInfo(json)
    if (!d.ok) {
      this.ctx.log.error(`${this.label} - bad route INFO: ${d.reason}`)
      return this.close("Parse Error")
    }
    const info = d.value
    if (this.registered) return this.ctx.asyncInfo(this, info)
    if (info.server_id === this.ctx.serverId) {
      this.toSelf = true
      this.ctx.log.debug(`${this.label} - Detected route to self, ignoring ${JSON.stringify(this.url?.url ?? "")}`)
      return this.close("Duplicate Route")
    }
    const ours = this.ctx.clusterName()
    if (info.cluster !== undefined && info.cluster !== "" && info.cluster !== ours) {
      if (!this.ctx.adoptName(info.cluster, info.dynamic === true)) return this.close("Cluster Name Conflict")
    }
    this.remoteInfo = info
    if (!this.ctx.register(this)) {
      this.ctx.log.debug(`${this.label} - Detected duplicate remote route ${JSON.stringify(info.server_id)}`)
      return this.close("Duplicate Route")
    }
    this.registered = true
    this.ctx.log.debug(`${this.label} - Registering remote route ${JSON.stringify(info.server_id)}`)
    for (const i of this.ctx.localInterest()) this.sendSub(i.account, i.subject, i.queue, i.weight)
    this.ctx.log.debug(`${this.label} - Sent local subscriptions to route`)
    this.sendPing()
  }

  sub(account: string, subject: string, queue: string | undefined, weight: number): void {
    if (this.ctx.log.traceEnabled) {
      this.trace(`RS+ ${account} ${subject}${queue === undefined ? "" : ` ${queue} ${weight}`}`)
    }
    if (!this.registered) return this.authViolation("RS+ before INFO")
    const key = queue === undefined ? `${account} ${subject}` : `${account} ${subject} ${queue}`
    const existing = this.subs.get(key)
    if (existing !== undefined) {
      if (queue !== undefined) existing.weight = weight
      return
    }
    const router = this.ctx.accountRouter(account)
    if (router === undefined) {
      this.ctx.log.debug(`${this.label} - Unknown account ${JSON.stringify(account)} for remote subject ${subject}`)
      return
    }
    const owner = this.accountOf(account)
    const sub = new Subscription(owner, subject, queue, key)
    sub.remote = owner
    sub.weight = weight
    if (!router.subscribe(sub)) {
      this.ctx.log.error(`${this.label} - Could not insert subscription ${JSON.stringify(subject)}: invalid subject`)
      return
    }
    this.subs.set(key, sub)
  }

  unsub(account: string, subject: string, queue: string | undefined): void {
    if (this.ctx.log.traceEnabled) this.trace(`RS- ${account} ${subject}${queue === undefined ? "" : ` ${queue}`}`)
    const key = queue === undefined ? `${account} ${subject}` : `${account} ${subject} ${queue}`
    const sub = this.subs.get(key)
    if (sub === undefined) return
    this.subs.delete(key)
    this.ctx.accountRouter(account)?.unsubscribe(sub)
  }

  msg(
    account: string,
    subject: string,
    reply: string | undefined,
    queues: ReadonlyArray<string> | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): void {
    this.stats.inMsgs++
    this.stats.inBytes += msg.length
    if (this.ctx.log.traceEnabled) {
      const q = queues === undefined ? "" : ` [${queues.join(" ")}]`
      this.trace(`${hdrLen < 0 ? "RMSG" : "HMSG"} ${account} ${subject}${reply === undefined ? "" : ` ${reply}`}${q}`)
    }
    if (!this.registered) return this.authViolation("RMSG before INFO")
    let router = this.lastRouter
    if (account !== this.lastAccount || router === undefined) {
      router = this.ctx.accountRouter(account)
      if (router === undefined) {
        this.ctx.log.debug(
          `${this.label} - Unknown account ${JSON.stringify(account)} for routed message on ${subject}`
        )
        return
      }
      this.lastAccount = account
      this.lastRouter = router
    }
    const trace = hdrLen >= 0 && this.ctx.traceSite !== undefined
      ? this.startTrace(this.ctx.traceSite, router, account, subject, hdrLen, msg)
      : undefined
    if (trace === "skip") return
    if (trace === undefined) router.publishRouted(subject, reply, hdrLen, msg, queues)
    else {
      router.publishRoutedTraced(trace, subject, reply, hdrLen, msg, queues)
      trace.done()
    }
  }

  private startTrace(
    site: TraceSite,
    router: MessageRouter,
    account: string,
    subject: string,
    hdrLen: number,
    msg: Uint8Array
  ): MsgTrace | "skip" | undefined {
    const found = findTraceHeaders(msg, hdrLen)
    if (found === undefined) return undefined
    const start = startTrace(
      {
        site,
        publisher: router,
        kind: KIND_ROUTER,
        cid: this.rid,
        name: this.remoteInfo?.server_name,
        account,
        // A route has no publish permissions here; the origin checked its client's.
        mayPublish: () => true
      },
      subject,
      hdrLen,
      msg,
      found
    )
    if (start._tag === "Skip") return "skip"
    return start._tag === "Traced" ? start.trace : undefined
  }

  ping(): void {
    if (this.ctx.log.traceEnabled) this.trace("PING")
    this.out.text("PONG\r\n")
    scheduleFlush(this)
  }

  pong(): void {
    if (this.ctx.log.traceEnabled) this.trace("PONG")
    this.pingsOut = 0
    if (this.pingSentAt !== 0) {
      this.rttMs = performance.now() - this.pingSentAt
      this.pingSentAt = 0
    }
  }

  ok(): void {}

  err(text: string): void {
    // nats-server processErr: a route that reports an error is closed.
    this.ctx.log.error(`${this.label} - Route Error ${JSON.stringify(text)}`)
    this.close("Parse Error")
  }

  fatal(error: ProtocolViolation): void {
    this.ctx.log.error(`${this.label} - route protocol error: ${error.text} (${error.detail})`)
    this.close("Protocol Violation", error.text)
  }

  // --- outbound ------------------------------------------------------------------------------

  sendMsg(
    to: RouteAccount,
    subject: string,
    reply: string | undefined,
    queues: ReadonlyArray<string> | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): void {
    if (this.isClosed) return
    const out = this.out
    if (queues === undefined || queues.length === 0) {
      // "RMSG <acc> <subject> [reply] <size>" has the layout of a client MSG line: reuse its writer.
      if (to.lastSubject !== subject) {
        to.lastSubject = subject
        to.rmsgPrefix = undefined
        to.hmsgPrefix = undefined
      }
      const prefix = hdrLen >= 0
        ? (to.hmsgPrefix ??= Buffer.from(`HMSG ${to.account} ${subject} `, "latin1"))
        : (to.rmsgPrefix ??= Buffer.from(`RMSG ${to.account} ${subject} `, "latin1"))
      out.msgLine(prefix, reply, hdrLen, msg.length)
    } else out.text(routedMsgLine(to.account, subject, reply, queues, hdrLen, msg.length))
    out.bytes(msg)
    out.crlf()
    this.stats.outMsgs++
    this.stats.outBytes += msg.length
    const backlog = out.pending + this.wire.pendingBytes()
    if (backlog > this.gate.high) {
      if (backlog > this.ctx.maxPending) return this.slowConsumer()
      this.gate.filled(backlog, Date.now)
    }
    scheduleFlush(this)
  }

  sendSub(account: string, subject: string, queue: string | undefined, weight: number): void {
    if (this.isClosed || !this.registered) return
    this.out.text(
      queue === undefined ? `RS+ ${account} ${subject}\r\n` : `RS+ ${account} ${subject} ${queue} ${weight}\r\n`
    )
    scheduleFlush(this)
  }

  sendUnsub(account: string, subject: string, queue: string | undefined): void {
    if (this.isClosed || !this.registered) return
    this.out.text(queue === undefined ? `RS- ${account} ${subject}\r\n` : `RS- ${account} ${subject} ${queue}\r\n`)
    scheduleFlush(this)
  }

  /** An INFO line to the peer (gossip of a new route, or our own update). */
  sendInfo(line: string): void {
    if (this.isClosed) return
    this.out.text(line)
    scheduleFlush(this)
  }

  flush(): void {
    if (this.out.pending === 0) return
    const notify = this.wire.pendingBytes() > 0 || this.gate.congested
    if (!this.wire.writev(this.out.take(), notify) && this.blockedSince === 0) this.blockedSince = Date.now()
  }

  hold(): void {
    if (this.isHeld || this.isClosed) return
    this.isHeld = true
    this.heldSince = Date.now()
    this.wire.pause()
  }

  release(): void {
    if (!this.isHeld) return
    this.isHeld = false
    if (!this.isClosed) this.wire.resume()
  }

  private sendPing(): void {
    this.pingsOut++
    this.pingSentAt = performance.now()
    this.lastPing = Date.now()
    this.out.text("PING\r\n")
    scheduleFlush(this)
  }

  tick(now: number): void {
    if (this.isClosed) return
    if (
      (this.blockedSince !== 0 && now - this.blockedSince > this.ctx.writeDeadlineMs) ||
      this.gate.congestedFor(now) > this.ctx.writeDeadlineMs
    ) {
      this.ctx.log.info(
        `${this.label} - Slow Consumer Detected: WriteDeadline of ${this.ctx.writeDeadlineMs}ms exceeded`
      )
      this.teardown("Slow Consumer (Write Deadline)")
      this.wire.destroy()
      return
    }
    if (this.isHeld && now - this.heldSince > STALL_CAP_MS) this.release()
    if (!this.registered || now - this.lastPing < this.ctx.pingIntervalMs) return
    if (this.pingsOut + 1 > this.ctx.pingMax) {
      this.ctx.log.debug(`${this.label} - Stale Route Connection - Closing`)
      return this.close("Stale Connection")
    }
    this.sendPing()
  }

  private slowConsumer(): void {
    this.ctx.log.info(`${this.label} - Slow Consumer Detected: MaxPending of ${this.ctx.maxPending} Exceeded`)
    this.out.take()
    this.teardown("Slow Consumer (Pending Bytes)")
    this.wire.destroy()
  }

  private accountOf(account: string): RouteAccount {
    let a = this.accounts.get(account)
    if (a === undefined) {
      a = new RouteAccount(this, account)
      this.accounts.set(account, a)
    }
    return a
  }

  private authViolation(why: string): void {
    this.ctx.log.error(`${this.label} - authentication error - ${why}`)
    this.close("Authentication Failure", "Authorization Violation")
  }

  private trace(line: string): void {
    this.ctx.log.trace(`${this.label} - "<<- [${line}]"`)
  }

  close(reason: string, errText?: string): void {
    if (this.isClosed) return
    if (errText !== undefined) this.out.text(`-ERR '${errText}'\r\n`)
    this.flush()
    this.teardown(reason)
    this.wire.end()
  }

  private teardown(reason: string): void {
    if (this.isClosed) return
    this.closeReason = reason
    if (this.authTimer !== undefined) clearTimeout(this.authTimer)
    for (const [key, sub] of this.subs) {
      this.ctx.accountRouter(key.slice(0, key.indexOf(" ")))?.unsubscribe(sub)
    }
    this.subs.clear()
    this.gate.open()
    this.ctx.log.debug(`${this.label} - Route connection closed: ${reason}`)
    this.ctx.closed(this, reason)
  }
}
