/**
 * One client connection: parse → route on the way in, buffered framing on the way out.
 *
 * Plain synchronous code driven by socket callbacks; the Server gives each connection a
 * supervising fiber that owns its lifetime (see Server.ts). Behaviour follows nats-server 2.9.10:
 * verbose and pedantic are on until CONNECT says otherwise, `-ERR` texts are nats-server's, and
 * the same errors close the connection.
 */
import { Buffer } from "node:buffer"
import type { Authenticator, AuthResult, Credentials } from "../auth/Authenticator.ts"
import { type ClientPermissions, isGatewayRoutedSubject, isReservedReply } from "../auth/Permissions.ts"
import type { BrokerConfig } from "../config/BrokerConfig.ts"
import type { Logger } from "../log/Log.ts"
import type { Wire, WireCredentials } from "../platform/Transport.ts"
import { decodeConnect } from "../protocol/Connect.ts"
import { NO_RESPONDERS } from "../protocol/Headers.ts"
import { Parser, type ParserSink, type ProtocolViolation } from "../protocol/Parser.ts"
import { isValidLiteralSubject } from "../subject/Subject.ts"
import type { SubjectMappings } from "../subject/SubjectMappings.ts"
import { enterProducer, Gate, type Producer } from "./Backpressure.ts"
import { KIND_CLIENT, type MsgTrace, startTrace, type TraceSite } from "./MsgTrace.ts"
import { type Flushable, Outbound, scheduleFlush } from "./Outbound.ts"
import { type MessageRouter, type Subscriber, Subscription } from "./Router.ts"
import { findTraceHeaders } from "./TraceHeaders.ts"

export interface ConnectionContext {
  /** The global account's router: clients that name no account publish and subscribe here. */
  readonly router: MessageRouter
  /** The router of a configured account (undefined: no such account). */
  readonly accountRouter?: (account: string) => MessageRouter | undefined
  /** Counts a client into its account; false when the account's connection limit is reached. */
  readonly joinAccount?: (account: string) => boolean
  readonly leaveAccount?: (account: string) => void
  /** Replaced (with `auth`) by a configuration reload; connections read it when they use it. */
  readonly config: BrokerConfig
  readonly log: Logger
  /** The INFO line for this client (with the nkey challenge when one is sent). */
  readonly info: (cid: number, clientIp: string, nonce: string | undefined) => string
  /** How many times the cluster part of INFO (connect_urls) has changed so far. */
  readonly infoChanges?: () => number
  /** Present when clients must authenticate. */
  readonly auth?: Authenticator | undefined
  /** TLS `verify_and_map`: the client certificate, not CONNECT, names the user. */
  readonly tlsMap?: boolean
  readonly closed: (conn: ClientConnection, reason: string) => void
  /** A client finished CONNECT (nats-server sends the account's connect event then). */
  readonly connected?: (conn: ClientConnection) => void
  /** Core subject mappings (config `mappings {}`); absent when none are configured. */
  readonly mappings?: SubjectMappings | undefined
  /** Message tracing (MsgTrace.ts): the server's identity for the events and the accounts' `msg_trace`. */
  readonly traceSite?: TraceSite | undefined
}

export interface ConnectionStats {
  inMsgs: number
  inBytes: number
  outMsgs: number
  outBytes: number
}

/** nats-server's close reasons (ClosedState) for the parser errors that have their own. */
const FATAL_REASONS: Partial<Record<string, string>> = {
  "Maximum Payload Violation": "Maximum Message Payload Exceeded",
  "maximum control line exceeded": "Maximum Control Line Exceeded"
}

/**
 * A producer held by a congested receiver is let go after this long even if the receiver has not
 * drained (nats-server caps a producer's stall at 1 s too), so no cycle of connections waiting on
 * each other can stop forever; the receiver is cut off by the write deadline instead.
 */
const STALL_CAP_MS = 1_000
/** Queued output that is written at once instead of at the end of the turn (see `deliver`). */
const EARLY_FLUSH_BYTES = 32 * 1024

export class ClientConnection implements Subscriber, ParserSink, Flushable, Producer {
  echo = true
  verbose = true
  pedantic = true
  headers = false
  noResponders = false
  name: string | undefined = undefined
  /** CONNECT `protocol`: 1 and up take async INFO updates (the cluster's connect_urls). */
  protocol = 0
  lang: string | undefined = undefined
  version: string | undefined = undefined
  readonly stats: ConnectionStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 }
  readonly startedAt = Date.now()
  lastActivity = Date.now()
  closeReason: string | undefined = undefined
  /** Producer side: reading is paused because a receiver this connection publishes to is congested. */
  isHeld = false

  private readonly subs = new Map<string, Subscription>()
  private readonly out = new Outbound()
  private readonly parser: Parser
  private pingsOut = 0
  private lastPing = Date.now()
  /** Since when queued output has waited in the wire without a write completing (0 = none waits). */
  private blockedSince = 0
  private heldSince = 0
  /**
   * Receiver side: over half of max_pending queued holds the connections publishing to us (as
   * nats-server stalls producers at half of max_pending); a quarter releases them.
   */
  private readonly gate: Gate
  private readonly label: string
  private readonly onDone: Array<() => void> = []
  /** Set by authentication; undefined = everything allowed. */
  private perms: ClientPermissions | undefined = undefined
  /** True from INFO until an accepted CONNECT when authentication is required. */
  private awaitingAuth = false
  private nonce: string | undefined = undefined
  /**
   * The subject space of this client's account, fixed at authentication: every publish and
   * subscription goes straight to it (no per-message account lookup).
   */
  private router: MessageRouter
  /** The client's account name (`$G` unless a user of a configured account). */
  account = "$G"
  /** The user (or nkey) authentication admitted, for /connz `authorized_user`. */
  authorizedUser: string | undefined = undefined
  /** Its CONNECT was accepted and reported (`connected`), so its close is reported too. */
  announced = false
  /** `infoChanges()` when the greeting INFO was written: a change before CONNECT is not sent as async INFO. */
  private greetedAt = 0
  /** CONNECT's credentials, kept so a configuration reload can check the client again. */
  private credentials: Credentials | undefined = undefined

  readonly cid: number
  private readonly wire: Wire
  private readonly ctx: ConnectionContext
  readonly traceEgress = {
    kind: KIND_CLIENT,
    name: (): string | undefined => this.name,
    isClosed: (): boolean => this.isClosed
  }

  constructor(cid: number, wire: Wire, ctx: ConnectionContext) {
    this.cid = cid
    this.wire = wire
    this.ctx = ctx
    this.router = ctx.router
    this.parser = new Parser(this, { maxPayload: ctx.config.maxPayload, maxControlLine: ctx.config.maxControlLine })
    this.label = `${wire.remoteAddress}:${wire.remotePort} - cid:${cid}`
    this.gate = new Gate(Math.floor(ctx.config.maxPending / 2), Math.floor(ctx.config.maxPending / 4))
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined
  }

  get subscriptionCount(): number {
    return this.subs.size
  }

  // Read-only views for monitoring (/connz).
  get remoteAddress(): string {
    return this.wire.remoteAddress
  }
  get remotePort(): number {
    return this.wire.remotePort
  }
  /** Bytes queued for this client and not yet accepted by the kernel. */
  get pendingBytes(): number {
    return this.out.pending + this.wire.pendingBytes()
  }
  subscriptions(): IterableIterator<Subscription> {
    return this.subs.values()
  }

  /** Runs `f` once the connection is closed (immediately if it already is). */
  whenClosed(f: () => void): void {
    if (this.isClosed) f()
    else this.onDone.push(f)
  }

  start(): void {
    const auth = this.ctx.auth
    if (auth !== undefined) {
      this.awaitingAuth = true
      if (auth.needsNonce) this.nonce = auth.makeNonce()
      const timer = setTimeout(() => {
        if (this.awaitingAuth) this.close("Authentication Timeout", "Authentication Timeout")
      }, auth.timeoutMs)
      timer.unref?.()
      this.onDone.push(() => clearTimeout(timer))
    }
    this.out.text(this.ctx.info(this.cid, this.wire.remoteAddress, this.nonce))
    this.greetedAt = this.ctx.infoChanges?.() ?? 0
    this.flush()
    this.wire.listen({
      data: (chunk) => {
        this.lastActivity = Date.now()
        // Deliveries made while parsing this chunk may hold us (pause this socket).
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
        // A flush reached the kernel: the peer is reading. The deadline restarts for what remains.
        const inWire = this.wire.pendingBytes()
        this.blockedSince = inWire > 0 ? Date.now() : 0
        this.gate.drained(this.out.pending + inWire)
      },
      close: () => this.teardown("Client Closed")
    })
    this.ctx.log.debug(`${this.label} - Client connection created`)
  }

  // --- ParserSink ---------------------------------------------------------------------------

  connect(json: string): void {
    if (this.ctx.log.traceEnabled) this.trace(`CONNECT ${json}`)
    const decoded = decodeConnect(json)
    if (!decoded.ok) {
      this.ctx.log.debug(`${this.label} - ${decoded.reason}`)
      return this.close("Protocol Violation", "Invalid CONNECT Payload")
    }
    const o = withWireCredentials(decoded.options, this.wire.credentials)
    this.credentials = o
    if (this.ctx.auth !== undefined) {
      const r = this.ctx.tlsMap === true
        ? this.ctx.auth.authenticateCertificate(this.wire.peerCertificate(), o.pass)
        : this.ctx.auth.authenticate(o, this.nonce, this.wire.remoteAddress)
      if (!r.ok) {
        if (r.errText !== undefined) return this.close(r.closeReason ?? r.errText, r.errText)
        return this.authViolation(r.reason)
      }
      if (!this.admit(r)) return
    }
    if (o.protocol !== undefined && o.protocol > 1) return this.close("Bad Client Protocol", "invalid client protocol")
    if (o.no_responders === true && o.headers !== true) {
      return this.close("Protocol Violation", "no responders requires headers support")
    }
    // A client's options start as nats-server's defaults (verbose and pedantic on), which CONNECT
    // overrides key by key: `CONNECT {}` keeps +OK acknowledgements and pedantic checks.
    this.verbose = o.verbose ?? true
    this.pedantic = o.pedantic ?? true
    this.echo = o.echo ?? true
    this.headers = o.headers ?? false
    this.noResponders = o.no_responders ?? false
    this.name = o.name
    this.protocol = o.protocol ?? 0
    this.lang = o.lang
    this.version = o.version
    this.ok()
    if (!this.announced) {
      this.announced = true
      // A route formed or dropped between the greeting and CONNECT was not sent to this client (nats-server
      // checks it at the first PING): without this its connect_urls would stay stale until the next change.
      if ((this.ctx.infoChanges?.() ?? 0) !== this.greetedAt) this.sendAsyncInfo()
      this.ctx.connected?.(this)
    }
  }

  pub(published: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    let subject = published
    this.stats.inMsgs++
    this.stats.inBytes += msg.length
    if (this.ctx.log.traceEnabled) {
      this.trace(`${hdrLen < 0 ? "PUB" : "HPUB"} ${subject}${reply === undefined ? "" : " " + reply} ${msg.length}`)
    }
    if (hdrLen >= 0 && !this.headers) return this.close("Protocol Violation", "Headers Not Negotiated")
    if (this.pedantic && !isValidLiteralSubject(published)) {
      // nats-server 2.9 reports this and then delivers anyway; we report it and drop the message.
      return this.err("Invalid Publish Subject")
    }
    // nats-server starts a trace in the parser, before mapping: its ingress event names the published subject.
    let trace: MsgTrace | undefined
    if (hdrLen >= 0 && this.ctx.traceSite !== undefined) {
      const found = findTraceHeaders(msg, hdrLen)
      if (found !== undefined) {
        const start = startTrace(this.traceOrigin(this.ctx.traceSite), subject, hdrLen, msg, found)
        if (start._tag === "Skip") return
        if (start._tag === "Disabled") ({ hdrLen, msg } = start)
        else if (start._tag === "Traced") trace = start.trace
      }
    }
    // nats-server maps in the parser, once the arguments are checked: permissions and routing see the mapped subject.
    const mappings = this.ctx.mappings
    // The config's top-level mappings belong to the global account (nats-server adds them to $G).
    if (mappings !== undefined && this.account === "$G") {
      const mapped = mappings.map(subject)
      if (mapped === undefined) return this.ok()
      if (mapped !== subject && this.ctx.log.traceEnabled) this.trace(`MAPPING ${subject} -> ${mapped}`)
      if (mapped !== subject) trace?.mapped(mapped)
      subject = mapped
    }
    const perms = this.perms
    if ((perms !== undefined && !perms.canPublish(subject)) || isGatewayRoutedSubject(subject)) {
      this.ctx.log.error(`${this.label} - Publish Violation - Subject ${JSON.stringify(subject)}`)
      const text = `Permissions Violation for Publish to ${JSON.stringify(subject)}`
      if (trace !== undefined) {
        trace.ingressError(text)
        trace.done()
      }
      return this.err(text)
    }
    if (reply !== undefined && isReservedReply(reply)) {
      this.ctx.log.error(`${this.label} - Publish Violation - Reply ${JSON.stringify(reply)}`)
      return this.err(`Permissions Violation for Publish with Reply of ${JSON.stringify(reply)}`)
    }
    // nats-server acknowledges a verbose PUB before delivering it (matters when it echoes back).
    this.ok()
    const n = trace === undefined
      ? this.router.publish(this, subject, reply, hdrLen, msg)
      : this.router.publishTraced(this, trace, subject, reply, hdrLen, msg)
    trace?.done()
    if (n === 0 && reply !== undefined && this.noResponders) this.sendNoResponders(reply)
  }

  sub(subject: string, queue: string | undefined, sid: string): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    if (this.ctx.log.traceEnabled) this.trace(`SUB ${subject}${queue === undefined ? "" : " " + queue} ${sid}`)
    if (this.perms !== undefined && !this.perms.canSubscribe(subject, queue)) {
      const q = queue === undefined ? "" : ` using queue ${JSON.stringify(queue)}`
      this.ctx.log.error(`${this.label} - Subscription Violation - Subject ${JSON.stringify(subject)}${q}, SID ${sid}`)
      return this.err(`Permissions Violation for Subscription to ${JSON.stringify(subject)}${q}`)
    }
    if (this.subs.has(sid)) return this.ok()
    const sub = new Subscription(this, subject, queue, sid)
    if (!this.router.subscribe(sub)) return this.err("Invalid Subject")
    this.subs.set(sid, sub)
    this.ok()
  }

  unsub(sid: string, max: number | undefined): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    if (this.ctx.log.traceEnabled) this.trace(`UNSUB ${sid}${max === undefined ? "" : " " + max}`)
    const sub = this.subs.get(sid)
    if (sub !== undefined) {
      if (max !== undefined && max > 0 && sub.delivered < max) {
        sub.max = max
      } else {
        this.subs.delete(sid)
        this.router.unsubscribe(sub)
      }
    }
    this.ok()
  }

  ping(): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    if (this.ctx.log.traceEnabled) this.trace("PING")
    this.out.text("PONG\r\n")
    scheduleFlush(this)
  }

  pong(): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    if (this.ctx.log.traceEnabled) this.trace("PONG")
    this.pingsOut = 0
  }

  fatal(error: ProtocolViolation): void {
    if (this.awaitingAuth && !this.admitWithoutConnect()) return
    this.ctx.log.debug(`${this.label} - protocol error: ${error.text} (${error.detail})`)
    this.close(FATAL_REASONS[error.text] ?? "Protocol Violation", error.text)
  }

  private traceOrigin(site: TraceSite) {
    return {
      site,
      publisher: this.router,
      kind: KIND_CLIENT,
      cid: this.cid,
      name: this.name,
      account: this.account,
      mayPublish: (dest: string) => {
        if (this.perms === undefined || this.perms.canPublish(dest)) return true
        // nats-server answers a trace destination the client may not publish to as a publish violation.
        this.ctx.log.error(`${this.label} - Publish Violation - Subject ${JSON.stringify(dest)}`)
        this.err(`Permissions Violation for Publish to ${JSON.stringify(dest)}`)
        return false
      }
    }
  }

  // --- Subscriber --------------------------------------------------------------------------

  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void {
    if (this.isClosed) return
    if (this.perms !== undefined && !this.perms.admitDelivery(subject, reply)) return
    const out = this.out
    if (sub.wireSubject !== subject) {
      sub.wireSubject = subject
      sub.wireMsg = undefined
      sub.wireHmsg = undefined
    }
    if (hdrLen >= 0 && this.headers) {
      const prefix = (sub.wireHmsg ??= Buffer.from(`HMSG ${subject} ${sub.sid} `, "latin1"))
      out.msgLine(prefix, reply, hdrLen, msg.length)
      out.bytes(msg)
    } else {
      // A client that did not negotiate headers gets the payload without the header block.
      const body = hdrLen >= 0 ? msg.subarray(hdrLen) : msg
      const prefix = (sub.wireMsg ??= Buffer.from(`MSG ${subject} ${sub.sid} `, "latin1"))
      out.msgLine(prefix, reply, -1, body.length)
      out.bytes(body)
    }
    out.crlf()
    this.stats.outMsgs++
    this.stats.outBytes += msg.length
    const backlog = out.pending + this.wire.pendingBytes()
    if (backlog > this.gate.high) {
      if (backlog > this.ctx.config.maxPending) return this.slowConsumer()
      this.gate.filled(backlog, Date.now)
    }
    // A long run of deliveries (a pull batch, a push consumer catching up) goes out as it is produced, so the
    // client works on the first messages while the rest are built; the tail still leaves with the turn's flush.
    if (out.pending >= EARLY_FLUSH_BYTES && this.wire.pendingBytes() === 0) this.flush()
    else scheduleFlush(this)
  }

  autoUnsubscribed(sub: Subscription): void {
    if (this.subs.get(sub.sid) === sub) this.subs.delete(sub.sid)
  }

  /** The server's INFO again (nats-server sendAsyncInfoToClients), to clients past CONNECT that take it. */
  sendAsyncInfo(): void {
    if (this.isClosed || !this.announced || this.protocol < 1) return
    this.out.text(this.ctx.info(this.cid, this.wire.remoteAddress, undefined))
    scheduleFlush(this)
  }

  // --- authentication ------------------------------------------------------------------

  private admit(r: Extract<AuthResult, { ok: true }>): boolean {
    if (r.account !== undefined) {
      const router = this.ctx.accountRouter?.(r.account)
      if (router === undefined) {
        this.authViolation(`account "${r.account}" not found`)
        return false
      }
      if (this.ctx.joinAccount !== undefined && !this.ctx.joinAccount(r.account)) {
        // nats-server maxAccountConnExceeded: the one count of the account's clients (JWT `conn`).
        this.close("Maximum Account Connections Exceeded", "maximum account active connections exceeded")
        return false
      }
      this.router = router
      this.account = r.account
      this.onDone.push(() => this.ctx.leaveAccount?.(r.account!))
    }
    this.awaitingAuth = false
    if (r.maxPayload !== undefined && r.maxPayload !== -1 && r.maxPayload < this.ctx.config.maxPayload) {
      // nats-server applyAccountLimits: the JWT's payload limit, when smaller than the server's,
      // applies from here on (INFO went out with the server's before the CONNECT).
      this.parser.setLimits({ maxPayload: r.maxPayload, maxControlLine: this.ctx.config.maxControlLine })
    }
    this.perms = r.permissions
    this.authorizedUser = r.who
    const exp = r.expires
    if (exp !== undefined) {
      // nats-server setExpirationTimer: the user (or account) JWT's `exp` ends the connection.
      const timer = setTimeout(() => this.close(exp.reason, exp.errText), exp.inMs)
      timer.unref?.()
      this.onDone.push(() => clearTimeout(timer))
    }
    return true
  }

  /**
   * A protocol message before CONNECT on a server that requires authentication: allowed only
   * as the `no_auth_user` (nats-server lets telnet demos in that way), else a violation.
   */
  private admitWithoutConnect(): boolean {
    const r = this.ctx.auth?.noAuthUser()
    if (r !== undefined && r.ok) return this.admit(r)
    this.authViolation("no CONNECT")
    return false
  }

  /**
   * After a configuration reload (nats-server reloadAuthorization, processSubsOnConfigReload): the
   * client is checked again with the credentials it connected with. One that may no longer connect
   * is closed with an authorization violation; one that may keeps its connection under the new
   * permissions and loses, each with an `-ERR`, the subscriptions they no longer allow.
   */
  reauthorize(): void {
    if (this.isClosed || this.awaitingAuth) return
    const auth = this.ctx.auth
    const c = this.credentials
    const named = c !== undefined && ((c.nkey ?? "") !== "" || (c.user ?? "") !== "")
    if (named && (auth === undefined || !auth.knowsIdentity(c))) return this.close("Client Closed")
    const r: AuthResult = auth === undefined
      ? { ok: true, permissions: undefined, who: undefined }
      : this.credentials === undefined
      ? (auth.noAuthUser() ?? { ok: false, reason: "no CONNECT" })
      : this.ctx.tlsMap === true
      ? auth.authenticateCertificate(this.wire.peerCertificate(), this.credentials.pass)
      : auth.authenticate(this.credentials, this.nonce, this.wire.remoteAddress)
    if (!r.ok) return this.authViolation(r.reason)
    // nats-server clientHasMovedToDifferentAccount: closed, without an error.
    if ((r.account ?? "$G") !== this.account) return this.close("Client Closed")
    this.perms = r.permissions
    const perms = r.permissions
    if (perms === undefined) return
    for (const sub of [...this.subs.values()]) {
      if (perms.canSubscribe(sub.subject, undefined)) continue
      if (sub.queue !== undefined && perms.canSubscribe(sub.subject, sub.queue)) continue
      this.subs.delete(sub.sid)
      this.router.unsubscribe(sub)
      const what = `${JSON.stringify(sub.subject)} (sid ${JSON.stringify(sub.sid)})`
      this.err(`Permissions Violation for Subscription to ${what}`)
      this.ctx.log.info(`Removed sub ${what} for ${r.who ?? this.label} - not authorized`)
    }
  }

  private authViolation(reason: string): void {
    this.ctx.log.error(`${this.label} - authentication error - ${reason}`)
    this.close("Authentication Failure", "Authorization Violation")
  }

  // --- output ------------------------------------------------------------------------------

  flush(): void {
    if (this.out.pending === 0) return
    // Ask for a completion signal only when output is already backed up: that is when write
    // progress (the deadline, releasing held producers) has to be observed.
    const notify = this.wire.pendingBytes() > 0 || this.gate.congested
    const chunks = this.out.take()
    if (!this.wire.writev(chunks, notify) && this.blockedSince === 0) this.blockedSince = Date.now()
  }

  // --- Producer ----------------------------------------------------------------------------

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

  private ok(): void {
    if (this.verbose) {
      this.out.text("+OK\r\n")
      scheduleFlush(this)
    }
  }

  private err(text: string): void {
    this.out.text(`-ERR '${text}'\r\n`)
    scheduleFlush(this)
  }

  private trace(line: string): void {
    this.ctx.log.trace(`${this.label} - "<<- [${line}]"`)
  }

  private sendNoResponders(reply: string): void {
    const matches = this.router.sublist.match(reply)
    for (const s of matches.psubs) {
      if (s.owner === this) return this.deliver(s, reply, undefined, NO_RESPONDERS.length, NO_RESPONDERS)
    }
    for (const group of matches.qsubs) {
      for (const s of group) {
        if (s.owner === this) return this.deliver(s, reply, undefined, NO_RESPONDERS.length, NO_RESPONDERS)
      }
    }
  }

  private slowConsumer(): void {
    this.ctx.log.info(`${this.label} - Slow Consumer Detected: MaxPending of ${this.ctx.config.maxPending} Exceeded`)
    // Drop what is queued: the point is to stop growing. The client still learns why.
    this.out.take()
    this.wire.write(Buffer.from("-ERR 'Slow Consumer'\r\n", "latin1"))
    this.teardown("Slow Consumer (Pending Bytes)")
    this.wire.destroy()
  }

  /** Timer work, called by the server's sweep: keepalive pings and the write deadline. */
  tick(now: number): void {
    if (this.isClosed) return
    const cfg = this.ctx.config
    // Cut off: nothing written for the deadline, or congested (holding publishers) for as long.
    if (
      (this.blockedSince !== 0 && now - this.blockedSince > cfg.writeDeadlineMs) ||
      this.gate.congestedFor(now) > cfg.writeDeadlineMs
    ) {
      this.ctx.log.info(`${this.label} - Slow Consumer Detected: WriteDeadline of ${cfg.writeDeadlineMs}ms exceeded`)
      this.teardown("Slow Consumer (Write Deadline)")
      this.wire.destroy()
      return
    }
    if (this.isHeld && now - this.heldSince > STALL_CAP_MS) this.release()
    if (now - this.lastPing < cfg.pingIntervalMs) return
    this.lastPing = now
    if (this.pingsOut + 1 > cfg.pingMax) {
      this.ctx.log.debug(`${this.label} - Stale Client Connection - Closing`)
      return this.close("Stale Connection", "Stale Connection")
    }
    this.pingsOut++
    this.out.text("PING\r\n")
    scheduleFlush(this)
  }

  /** Send an optional `-ERR`, flush what is queued, then close. Idempotent. */
  close(reason: string, errText?: string): void {
    if (this.isClosed) return
    if (errText !== undefined) this.out.text(`-ERR '${errText}'\r\n`)
    this.flush()
    this.teardown(reason)
    this.wire.end(reason)
  }

  private teardown(reason: string): void {
    if (this.isClosed) return
    this.closeReason = reason
    for (const sub of this.subs.values()) this.router.unsubscribe(sub)
    this.subs.clear()
    // Whoever waits for us to drain waits no longer.
    this.gate.open()
    this.ctx.log.debug(`${this.label} - Client connection closed: ${reason}`)
    this.ctx.closed(this, reason)
    for (const f of this.onDone.splice(0)) f()
  }
}

/** nats-server processConnect: a WebSocket cookie stands in for each credential CONNECT left empty. */
const withWireCredentials = <O extends Credentials>(o: O, w: WireCredentials | undefined): O => {
  if (w === undefined) return o
  const pick = (mine: string | undefined, theirs: string | undefined) => (mine ?? "") === "" ? theirs : mine
  return {
    ...o,
    user: pick(o.user, w.user),
    pass: pick(o.pass, w.pass),
    auth_token: pick(o.auth_token, w.auth_token),
    jwt: pick(o.jwt, w.jwt)
  }
}
