/**
 * Message tracing (nats-server 2.11, ADR-41): a message carrying `Nats-Trace-Dest` (or a sampled W3C
 * `traceparent` in an account with `msg_trace`) makes each server it passes publish one event to the
 * destination, saying how it came in (`in`), how its subject was mapped (`sm`), which stream stored it
 * (`js`) and where it went (`eg`: clients, routes). `Nats-Trace-Only` traces without delivering.
 *
 * The header scan (TraceHeaders.ts) runs only for messages that have headers and builds nothing
 * unless a trace header is there; the traced delivery path lives here so the router's untraced path
 * stays as it was.
 */
import { Buffer } from "node:buffer"
import { formatTime } from "../jetstream/codec/Json.ts"
import { fromWire, isValidLiteralSubject } from "../subject/Subject.ts"
import {
  type FoundHeaders,
  setHeader,
  TRACE_DEST,
  TRACE_DISABLED,
  TRACE_HOP,
  TRACE_ONLY,
  TRACE_ORIGIN_ACCOUNT
} from "./TraceHeaders.ts"

/** nats-server's connection kinds as the events number them. */
export const KIND_CLIENT = 0
export const KIND_ROUTER = 1

/** nats-server's egress error texts for the cases this broker has. */
export const EGRESS_NO_ECHO = "Not delivered because of no echo"
export const EGRESS_CLIENT_CLOSED = "Not delivered because client is closed"
export const EGRESS_ONLY_NO_SUPPORT = "Not delivered because remote does not support message tracing"
export const EGRESS_NO_SUPPORT =
  "Message delivered but remote does not support message tracing so no trace event generated from there"

/** An account's `msg_trace { dest, sampling }`: where `traceparent`-triggered traces go. */
export interface AccountTrace {
  readonly dest: string
  /** 1..100: the percentage of sampled `traceparent` messages traced. */
  readonly sampling: number
}

/** Who this server is, for the events' `server` object. */
export interface TraceServerIdentity {
  readonly name: string
  readonly host: string
  readonly id: string
  readonly cluster: string
  readonly domain: string
  readonly version: string
  readonly jetstream: boolean
  readonly at210: boolean
}

/** What a connection needs to start traces: the server's identity and the accounts' trace settings. */
export interface TraceSite {
  readonly server: () => Record<string, unknown>
  readonly accountTrace: (account: string) => AccountTrace | undefined
}

export const makeTraceSite = (
  identity: TraceServerIdentity,
  accountTrace: (account: string) => AccountTrace | undefined
): TraceSite => {
  let seq = 0
  return {
    accountTrace,
    server: () => ({
      name: identity.name,
      host: identity.host,
      id: identity.id,
      ...(identity.cluster === "" ? {} : { cluster: identity.cluster }),
      ...(identity.domain === "" ? {} : { domain: identity.domain }),
      ver: identity.version,
      ...(identity.at210 ?
        { jetstream: identity.jetstream, flags: identity.jetstream ? 1 : 0, seq: ++seq } :
        { seq: ++seq, jetstream: identity.jetstream }),
      time: now()
    })
  }
}

const now = (): string => formatTime(BigInt(Date.now()) * 1_000_000n)

/** Where a trace event is published: the traced message's account. */
export interface TracePublisher {
  publish(from: undefined, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number
}

interface JsEvent {
  type: "js"
  ts: string
  stream: string
  subject?: string
  nointerest?: boolean
  error?: string
}

/** One message's trace on this server: the events so far, sent once every part has reported. */
export class MsgTrace {
  readonly traceOnly: boolean
  private readonly dest: string
  /** The hop id this server was reached with (`Nats-Trace-Hop`), "" at the origin. */
  private readonly hop: string
  private readonly header: Record<string, Array<string>>
  private readonly size: number
  private readonly events: Array<Record<string, unknown>> = []
  private readonly site: TraceSite
  private readonly publisher: TracePublisher
  private hops = 0
  private js: JsEvent | undefined = undefined
  private reported = 0

  constructor(
    site: TraceSite,
    publisher: TracePublisher,
    found: FoundHeaders,
    dest: string,
    traceOnly: boolean,
    hop: string,
    size: number
  ) {
    this.site = site
    this.publisher = publisher
    this.header = found.header
    this.dest = dest
    this.traceOnly = traceOnly
    this.hop = hop
    this.size = size
  }

  ingress(kind: number, cid: number, name: string | undefined, account: string, subject: string): void {
    this.events.push({
      type: "in",
      ts: now(),
      kind,
      cid,
      ...(name === undefined || name === "" ? {} : { name }),
      acc: account,
      subj: fromWire(subject)
    })
  }

  ingressError(error: string): void {
    const i = this.events[0]
    if (i !== undefined && i["type"] === "in") i["error"] = error
  }

  mapped(to: string): void {
    this.events.push({ type: "sm", ts: now(), to: fromWire(to) })
  }

  egress(
    kind: number,
    cid: number,
    name: string | undefined,
    opts: { readonly sub?: string; readonly queue?: string | undefined; readonly hop?: string; readonly error?: string }
  ): void {
    this.events.push({
      type: "eg",
      ts: now(),
      kind,
      cid,
      ...(name === undefined || name === "" ? {} : { name }),
      ...(opts.hop === undefined ? {} : { hop: opts.hop }),
      ...(opts.sub === undefined ? {} : { sub: fromWire(opts.sub) }),
      ...(opts.queue === undefined ? {} : { queue: fromWire(opts.queue) }),
      ...(opts.error === undefined ? {} : { error: opts.error })
    })
  }

  /**
   * The next hop id for a copy sent to another server, written into that copy's `Nats-Trace-Hop`
   * (the receiving server's event names it, so the events can be linked).
   */
  nextHop(): string {
    this.hops++
    return this.hop === "" ? String(this.hops) : `${this.hop}.${this.hops}`
  }

  /** A stream took the message: the event is sent once the stream has processed it too. */
  jetStream(stream: string): void {
    this.js = { type: "js", ts: now(), stream }
    this.events.push(this.js as unknown as Record<string, unknown>)
  }

  /** The stream's checks passed (stored, or not stored because trace-only). */
  jetStreamAccepted(subject: string, noInterest: boolean): void {
    const js = this.js
    if (js === undefined) return
    js.subject = fromWire(subject)
    if (noInterest) js.nointerest = true
    js.ts = now()
  }

  jetStreamError(error: string): void {
    if (this.js !== undefined && this.js.error === undefined) this.js.error = error
  }

  /**
   * One part is done (the delivery on this server, or the stream): the event goes out when both
   * have reported, or at once when no stream took the message.
   */
  done(): void {
    if (this.js !== undefined && ++this.reported < 2) return
    const keys = Object.keys(this.header).sort()
    const header: Record<string, Array<string>> = {}
    for (const k of keys) header[k] = this.header[k]!
    const event = {
      server: this.site.server(),
      request: { header, ...(this.size > 0 ? { msgsize: this.size } : {}) },
      ...(this.hops > 0 ? { hops: this.hops } : {}),
      events: this.events
    }
    this.publisher.publish(undefined, this.dest, undefined, -1, Buffer.from(JSON.stringify(event), "utf8"))
  }
}

const headerOf = (found: FoundHeaders, key: string): string | undefined => found.header[key]?.[0]

export type TraceStart =
  /** Not traced: deliver as usual. */
  | { readonly _tag: "None" }
  /** Not traced, and not delivered either (a trace-only message whose trace could not start). */
  | { readonly _tag: "Skip" }
  /** Not traced; deliver this rewritten message (a sampled-out `traceparent`: later hops must not trace). */
  | { readonly _tag: "Disabled"; readonly hdrLen: number; readonly msg: Uint8Array }
  | { readonly _tag: "Traced"; readonly trace: MsgTrace }

const NONE: TraceStart = { _tag: "None" }
const SKIP: TraceStart = { _tag: "Skip" }

export interface TraceOrigin {
  readonly site: TraceSite
  readonly publisher: TracePublisher
  readonly kind: number
  readonly cid: number
  readonly name: string | undefined
  readonly account: string
  /** Whether this connection may publish to the trace destination (a client's permissions). */
  readonly mayPublish: (dest: string) => boolean
  /** Random integer in [0, 100): the sampling draw. */
  readonly draw?: () => number
}

/** nats-server initMsgTrace for a message that has headers. */
export const startTrace = (
  origin: TraceOrigin,
  subject: string,
  hdrLen: number,
  msg: Uint8Array,
  found: FoundHeaders
): TraceStart => {
  let dest: string | undefined
  let traceOnly = false
  if (!found.external) {
    const only = headerOf(found, TRACE_ONLY)?.toLowerCase()
    traceOnly = only === "1" || only === "true" || only === "on"
    dest = headerOf(found, TRACE_DEST)
    if (dest === undefined) return traceOnly ? SKIP : NONE
  }
  // Pre-2.11 servers' account header: tracing is off for this message.
  if (headerOf(found, TRACE_ORIGIN_ACCOUNT) !== undefined) {
    if (traceOnly) return SKIP
    return { _tag: "Disabled", ...setHeader(msg, hdrLen, TRACE_DEST, TRACE_DISABLED) }
  }
  const hop = origin.kind === KIND_CLIENT ? "" : headerOf(found, TRACE_HOP) ?? ""
  if (found.external) {
    const acc = origin.site.accountTrace(origin.account)
    if (acc === undefined) return NONE
    // Sampled once, at the origin: other servers trace what the origin chose to.
    if (origin.kind === KIND_CLIENT && !sampled(acc.sampling, origin.draw)) {
      return { _tag: "Disabled", ...setHeader(msg, hdrLen, TRACE_DEST, TRACE_DISABLED) }
    }
    dest = acc.dest
  }
  if (dest === undefined || !isValidLiteralSubject(dest)) return traceOnly ? SKIP : NONE
  if (!origin.mayPublish(dest)) return SKIP
  const trace = new MsgTrace(origin.site, origin.publisher, found, dest, traceOnly, hop, msg.length)
  trace.ingress(origin.kind, origin.cid, origin.name, origin.account, subject)
  return { _tag: "Traced", trace }
}

const sampled = (sampling: number, draw: (() => number) | undefined): boolean => {
  if (sampling <= 0 || sampling >= 100) return true
  // nats-server: rand.Int31n(100) <= sampling.
  return (draw ?? (() => Math.floor(Math.random() * 100)))() <= sampling
}

/** The parts of a subscription the traced delivery reads (structural: the router imports this file). */
interface TracedSubscription {
  readonly owner: {
    readonly cid: number
    readonly traceEgress?: {
      readonly kind: number
      readonly name: () => string | undefined
      readonly isClosed: () => boolean
    }
  }
  readonly subject: string
  readonly queue: string | undefined
  readonly takesTrace: boolean
}

interface TracedRemote {
  forward(
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    queues: ReadonlyArray<string> | undefined
  ): void
  readonly traceTarget?: TraceTarget
}

/** A route as a traced message's egress names it. */
export interface TraceTarget {
  readonly cid: number
  readonly name: () => string | undefined
  /** The peer traces too (nats-server: its route protocol is at least MsgTraceProto). */
  readonly supportsTrace: () => boolean
}

/**
 * One local delivery of a traced message. Trace-only: a client gets nothing but is named in an
 * egress event; a stream runs its checks without storing (it reads the trace itself); other
 * in-process subscribers (the JetStream API, imports) are not run at all.
 */
export const deliverTraced = (trace: MsgTrace, s: TracedSubscription, deliver: () => void): void => {
  const eg = s.owner.traceEgress
  if (eg === undefined) {
    if (!trace.traceOnly || s.takesTrace) deliver()
    return
  }
  const name = eg.name()
  const where = s.queue === undefined ? { sub: s.subject } : { sub: s.subject, queue: s.queue }
  if (eg.isClosed()) return trace.egress(eg.kind, s.owner.cid, name, { ...where, error: EGRESS_CLIENT_CLOSED })
  if (!trace.traceOnly) deliver()
  trace.egress(eg.kind, s.owner.cid, name, where)
}

/** A publisher's own subscription skipped because it asked for no echo. */
export const noEchoTraced = (trace: MsgTrace, s: TracedSubscription): void => {
  const eg = s.owner.traceEgress
  if (eg === undefined) return
  const where = s.queue === undefined ? { sub: s.subject } : { sub: s.subject, queue: s.queue }
  trace.egress(eg.kind, s.owner.cid, eg.name(), { ...where, error: EGRESS_NO_ECHO })
}

/**
 * The copy for another server carries its hop id; it is forwarded even when trace-only, since the
 * other server reads `Nats-Trace-Only` and does not deliver either.
 */
export const forwardTraced = (
  trace: MsgTrace,
  remote: TracedRemote,
  subject: string,
  reply: string | undefined,
  hdrLen: number,
  msg: Uint8Array,
  queues: ReadonlyArray<string> | undefined
): void => {
  const target = remote.traceTarget
  // nats-server numbers the hop before it knows whether the peer traces.
  const hop = trace.nextHop()
  const supported = target === undefined || target.supportsTrace()
  // An older server would deliver a trace-only message: it is not sent there at all.
  if (!supported && trace.traceOnly) {
    return trace.egress(KIND_ROUTER, target!.cid, target!.name(), { hop, error: EGRESS_ONLY_NO_SUPPORT })
  }
  const copy = hdrLen >= 0 ? setHeader(msg, hdrLen, TRACE_HOP, hop) : { hdrLen, msg }
  remote.forward(subject, reply, copy.hdrLen, copy.msg, queues)
  trace.egress(KIND_ROUTER, target?.cid ?? 0, target?.name(), supported ? { hop } : { hop, error: EGRESS_NO_SUPPORT })
}
