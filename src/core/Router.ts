/**
 * Core NATS message routing: one subscription trie for the whole server, fan-out to connections
 * and to in-process subscribers (JetStream's API and streams subscribe through the same trie).
 *
 * Plain synchronous code: `publish` is called once per inbound message from the connection's
 * parse loop, and delivery only appends to the receiver's outbound buffer.
 */
import { Context, Layer } from "effect"
import { Sublist, type SublistResult } from "../subject/Sublist.ts"
import { deliverTraced, forwardTraced, type MsgTrace, noEchoTraced, type TraceTarget } from "./MsgTrace.ts"

/** Anything that can receive messages: a client connection or an in-process subscriber. */
export interface Subscriber {
  readonly cid: number
  /** When false, messages this subscriber publishes are not delivered back to it. */
  readonly echo: boolean
  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void
  /**
   * A message matched on `to` but presented as `subject` (`publishAs`: JetStream deliveries). An
   * account import routes such a message on `to` in the other account (nats-server's shadow
   * subscriptions and service-import responses swap the two); without it `deliver` gets `subject`.
   */
  deliverRouted?(
    sub: Subscription,
    to: string,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): void
  /**
   * Whether a message on `subject` delivered to `sub` reaches anyone (an account import's
   * subscription answers for the importing account's subscribers, as nats-server's shadow
   * subscriptions exist only while the importer has one); absent means yes.
   */
  interestIn?(sub: Subscription, subject: string): boolean
  /** Called when a subscription reached its `UNSUB <sid> <max>` count and was removed. */
  autoUnsubscribed(sub: Subscription): void
  /** Set on client connections: a traced message's egress event names them (MsgTrace.ts). */
  readonly traceEgress?: {
    readonly kind: number
    readonly name: () => string | undefined
    readonly isClosed: () => boolean
  }
}

export class Subscription {
  /** Messages delivered so far; compared against `max` for auto-unsubscribe. */
  delivered = 0
  /** 0 = unlimited. */
  max = 0
  /**
   * The owner's cached "MSG <subject> <sid> " / "HMSG ..." line prefixes for the last subject
   * delivered (wildcard subscriptions see many subjects, but traffic mostly repeats them).
   */
  wireSubject: string | undefined = undefined
  wireMsg: Uint8Array | undefined = undefined
  wireHmsg: Uint8Array | undefined = undefined
  /**
   * Set on the subscriptions that stand for another server's interest (a cluster route's RS+):
   * a publish sends the message to that server once, however many of its subscriptions match.
   */
  remote: RemoteInterest | undefined = undefined
  /** A remote queue subscription's weight: how many members the group has on that server. */
  weight = 1
  /**
   * Never announced to other servers and never handed a message that came from one (account
   * imports: cross-server traffic flows in the importing account, as nats-server's shadow subscriptions).
   */
  localOnly = false
  /** An in-process subscription that reads the message's trace itself (a stream's subjects: MsgTrace.ts). */
  takesTrace = false
  /**
   * Whether a message on `subject` counts as answered by this subscription for no-responders
   * (absent: yes). JetStream's API subscription sees every `$JS.API.>` request but only answers a
   * pull for a consumer that exists, as nats-server 2.11 skips its service import for those.
   */
  answers: ((subject: string) => boolean) | undefined = undefined
  readonly owner: Subscriber
  readonly subject: string
  readonly queue: string | undefined
  readonly sid: string
  constructor(owner: Subscriber, subject: string, queue: string | undefined, sid: string) {
    this.owner = owner
    this.subject = subject
    this.queue = queue
    this.sid = sid
  }
}

/** Another server reached through a route, for one account: where a publish forwards a message once. */
export interface RemoteInterest {
  /** `queues`: the queue groups this server was chosen for (its members get the message there). */
  forward(
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    queues: ReadonlyArray<string> | undefined
  ): void
  /** The route, for a traced message's egress event. */
  readonly traceTarget?: TraceTarget
}

export interface RouterStats {
  inMsgs: number
  inBytes: number
  outMsgs: number
  outBytes: number
}

export class MessageRouter {
  readonly sublist = new Sublist<Subscription>()
  readonly stats: RouterStats = { inMsgs: 0, inBytes: 0, outMsgs: 0, outBytes: 0 }
  private rr = 0
  /** The message being published is traced (publishTraced): deliveries record their egress events. */
  trace: MsgTrace | undefined = undefined
  /**
   * Above 0 while a service import forwards a message into this account (accounts/Imports.ts):
   * JetStream answers an unknown API subject only to a client of its own account, as nats-server
   * sends that reply only from a request's first entry.
   */
  importing = 0
  /** Handed to a `takesTrace` subscriber for the one delivery it is receiving (see `takeTrace`). */
  private delivering: MsgTrace | undefined = undefined

  /** Subscriptions standing for other servers' interest: while there are none, publish takes the local-only path. */
  private remoteSubs = 0

  subscribe(sub: Subscription): boolean {
    if (!this.sublist.insert(sub)) return false
    if (sub.remote !== undefined) this.remoteSubs++
    if (this.subscribeListeners.size > 0) { for (const l of this.subscribeListeners) l(sub) }
    return true
  }

  unsubscribe(sub: Subscription): boolean {
    if (!this.sublist.remove(sub)) return false
    if (sub.remote !== undefined) this.remoteSubs--
    if (this.unsubscribeListeners.size > 0) { for (const l of this.unsubscribeListeners) l(sub) }
    return true
  }

  /**
   * Deliver to every matching plain subscriber and to one member of each matching queue group.
   * Returns the number of deliveries (0 lets the caller answer a request with no-responders).
   */
  publish(
    from: Subscriber | undefined,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): number {
    this.stats.inMsgs++
    this.stats.inBytes += msg.length
    const result: SublistResult<Subscription> = this.sublist.match(subject)
    if (this.remoteSubs > 0) return this.publishClustered(from, subject, reply, hdrLen, msg, result)
    let n = 0
    const psubs = result.psubs
    for (let i = 0; i < psubs.length; i++) {
      const s = psubs[i]!
      if (from !== undefined && s.owner === from && !from.echo) {
        if (this.trace !== undefined) noEchoTraced(this.trace, s)
        continue
      }
      this.deliverTo(s, subject, reply, hdrLen, msg)
      if (s.answers === undefined || s.answers(subject)) n++
    }
    const qsubs = result.qsubs
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g]!
      const len = group.length
      // Rotate the starting member so load spreads evenly across the group.
      const start = this.rr++ % len
      for (let k = 0; k < len; k++) {
        const s = group[(start + k) % len]!
        if (from !== undefined && s.owner === from && !from.echo) continue
        this.deliverTo(s, subject, reply, hdrLen, msg)
        if (s.answers === undefined || s.answers(subject)) n++
        break
      }
    }
    return n
  }

  /** `publish` while other servers have interest here: each interested server gets the message once. */
  private publishClustered(
    from: Subscriber | undefined,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    result: SublistResult<Subscription>
  ): number {
    let n = 0
    // Servers with interest, each sent the message once (with the queue groups it was picked for).
    let remotes: Array<RemoteInterest> | undefined
    let remoteQueues: Array<Array<string> | undefined> | undefined
    const psubs = result.psubs
    for (let i = 0; i < psubs.length; i++) {
      const s = psubs[i]!
      const r = s.remote
      if (r !== undefined) {
        if (remotes === undefined) {
          remotes = [r]
          remoteQueues = [undefined]
        } else if (!remotes.includes(r)) {
          remotes.push(r)
          remoteQueues!.push(undefined)
        }
        continue
      }
      if (from !== undefined && s.owner === from && !from.echo) {
        if (this.trace !== undefined) noEchoTraced(this.trace, s)
        continue
      }
      this.deliverTo(s, subject, reply, hdrLen, msg)
      if (s.answers === undefined || s.answers(subject)) n++
    }
    const qsubs = result.qsubs
    for (let g = 0; g < qsubs.length; g++) {
      const group = qsubs[g]!
      const len = group.length
      const chosen = this.pickMember(group, len, from)
      if (chosen === undefined) continue
      const r = chosen.remote
      if (r === undefined) {
        this.deliverTo(chosen, subject, reply, hdrLen, msg)
        if (chosen.answers === undefined || chosen.answers(subject)) n++
        continue
      }
      if (remotes === undefined) {
        remotes = [r]
        remoteQueues = [[chosen.queue!]]
        continue
      }
      const at = remotes.indexOf(r)
      if (at < 0) {
        remotes.push(r)
        remoteQueues!.push([chosen.queue!])
      } else (remoteQueues![at] ??= []).push(chosen.queue!)
    }
    if (remotes !== undefined) {
      for (let i = 0; i < remotes.length; i++) {
        const queues = remoteQueues![i]
        if (this.trace !== undefined) forwardTraced(this.trace, remotes[i]!, subject, reply, hdrLen, msg, queues)
        else remotes[i]!.forward(subject, reply, hdrLen, msg, queues)
        this.stats.outMsgs++
        this.stats.outBytes += msg.length
        n++
      }
    }
    return n
  }

  /**
   * One member of a queue group: round robin over the local members; a group with members on
   * other servers is picked by weight, each server counting as many members as it announced
   * (nats-server's random choice over the weight-expanded group).
   */
  private pickMember(group: ReadonlyArray<Subscription>, len: number, from: Subscriber | undefined) {
    let total = 0
    let remote = false
    for (let k = 0; k < len; k++) {
      const s = group[k]!
      if (s.remote !== undefined) {
        remote = true
        total += s.weight
      } else total++
    }
    if (!remote) {
      // Rotate the starting member so load spreads evenly across the group.
      const start = this.rr++ % len
      for (let k = 0; k < len; k++) {
        const s = group[(start + k) % len]!
        if (from !== undefined && s.owner === from && !from.echo) continue
        return s
      }
      return undefined
    }
    let at = this.rr++ % total
    let k = 0
    for (; k < len; k++) {
      const s = group[k]!
      const w = s.remote !== undefined ? s.weight : 1
      if (at < w) break
      at -= w
    }
    for (let j = 0; j < len; j++) {
      const s = group[(k + j) % len]!
      if (s.remote === undefined && from !== undefined && s.owner === from && !from.echo) continue
      return s
    }
    return undefined
  }

  /**
   * A message another server forwarded: delivered to this server's own subscribers only (the
   * cluster is a full mesh, so nothing is forwarded again), and to queue groups only when the
   * sender picked this server for them (`queues`).
   */
  publishRouted(
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    queues: ReadonlyArray<string> | undefined
  ): number {
    this.stats.inMsgs++
    this.stats.inBytes += msg.length
    const result = this.sublist.match(subject)
    // A JetStream delivery from another server: matched on `subject`, shown as the stream's subject.
    let shown = subject
    let routedOn: string | undefined
    if (reply !== undefined && reply.startsWith(JS_ACK_PREFIX)) {
      const at = reply.lastIndexOf("@")
      if (at > 0 && at < reply.length - 1) {
        shown = reply.slice(at + 1)
        reply = reply.slice(0, at)
        routedOn = subject
      }
    }
    let n = 0
    for (const s of result.psubs) {
      if (s.remote !== undefined || s.localOnly) continue
      this.deliverTo(s, shown, reply, hdrLen, msg, routedOn)
      n++
    }
    if (queues === undefined || queues.length === 0) return n
    for (const group of result.qsubs) {
      if (!queues.includes(group[0]!.queue!)) continue
      const len = group.length
      const start = this.rr++ % len
      for (let k = 0; k < len; k++) {
        const s = group[(start + k) % len]!
        if (s.remote !== undefined || s.localOnly) continue
        this.deliverTo(s, shown, reply, hdrLen, msg, routedOn)
        n++
        break
      }
    }
    return n
  }

  /**
   * Deliver to the subscriptions matching `to`, presenting the message as `subject` (JetStream
   * deliveries reach a pull request's inbox or a deliver subject but carry the stored subject).
   */
  publishAs(to: string, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number {
    const result = this.sublist.match(to)
    let n = 0
    let remotes: Array<RemoteInterest> | undefined
    for (const s of result.psubs) {
      if (s.remote !== undefined) {
        if (remotes === undefined) remotes = [s.remote]
        else if (!remotes.includes(s.remote)) remotes.push(s.remote)
        continue
      }
      this.deliverTo(s, subject, reply, hdrLen, msg, to)
      n++
    }
    for (const group of result.qsubs) {
      const s = this.pickMember(group, group.length, undefined)
      if (s === undefined) continue
      if (s.remote !== undefined) {
        // nats-server carries the presented subject after an `@` in the JetStream ack reply.
        s.remote.forward(to, presentedReply(reply, subject, to), hdrLen, msg, [s.queue!])
        n++
        continue
      }
      this.deliverTo(s, subject, reply, hdrLen, msg, to)
      n++
    }
    if (remotes !== undefined) {
      for (const r of remotes) r.forward(to, presentedReply(reply, subject, to), hdrLen, msg, undefined)
      n += remotes.length
    }
    return n
  }

  /** `publish` of a traced message: every delivery and forward adds its event to `trace`. */
  publishTraced(
    from: Subscriber | undefined,
    trace: MsgTrace,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): number {
    const outer = this.trace
    this.trace = trace
    try {
      return this.publish(from, subject, reply, hdrLen, msg)
    } finally {
      this.trace = outer
    }
  }

  /** `publishRouted` of a traced message (this server's own event for a hop reached over a route). */
  publishRoutedTraced(
    trace: MsgTrace,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    queues: ReadonlyArray<string> | undefined
  ): number {
    const outer = this.trace
    this.trace = trace
    try {
      return this.publishRouted(subject, reply, hdrLen, msg, queues)
    } finally {
      this.trace = outer
    }
  }

  /** The trace of the message a `takesTrace` subscriber is being handed now, once. */
  takeTrace(): MsgTrace | undefined {
    const t = this.delivering
    this.delivering = undefined
    return t
  }

  /** Is anyone subscribed to a subject matching `to`? */
  hasInterest(to: string): boolean {
    const r = this.sublist.match(to)
    for (const s of r.psubs) if (s.owner.interestIn === undefined || s.owner.interestIn(s, to)) return true
    for (const group of r.qsubs) {
      for (const s of group) if (s.owner.interestIn === undefined || s.owner.interestIn(s, to)) return true
    }
    return false
  }

  /** Called after every successful subscribe (push consumers wait for interest in their deliver subject). */
  readonly subscribeListeners = new Set<(sub: Subscription) => void>()
  /** Called after every removal, auto-unsubscribe included (the cluster withdraws interest from other servers). */
  readonly unsubscribeListeners = new Set<(sub: Subscription) => void>()

  private deliverTo(
    s: Subscription,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    routedOn?: string
  ) {
    if (s.max > 0 && s.delivered >= s.max) return
    if (this.trace !== undefined) return this.deliverTracedTo(this.trace, s, subject, reply, hdrLen, msg, routedOn)
    s.delivered++
    this.stats.outMsgs++
    this.stats.outBytes += msg.length
    if (routedOn !== undefined && s.owner.deliverRouted !== undefined) {
      s.owner.deliverRouted(s, routedOn, subject, reply, hdrLen, msg)
    } else s.owner.deliver(s, subject, reply, hdrLen, msg)
    if (s.max > 0 && s.delivered >= s.max) {
      this.unsubscribe(s)
      s.owner.autoUnsubscribed(s)
    }
  }

  private deliverTracedTo(
    trace: MsgTrace,
    s: Subscription,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    routedOn: string | undefined
  ) {
    // What a subscriber publishes while handling the message (a service's reply) is not part of this trace.
    this.trace = undefined
    try {
      deliverTraced(trace, s, () => {
        if (s.takesTrace) this.delivering = trace
        this.deliverTo(s, subject, reply, hdrLen, msg, routedOn)
        this.delivering = undefined
      })
    } finally {
      this.trace = trace
    }
  }
}

const JS_ACK_PREFIX = "$JS.ACK."

const presentedReply = (reply: string | undefined, subject: string, to: string): string | undefined =>
  reply !== undefined && subject !== to && reply.startsWith(JS_ACK_PREFIX) ? `${reply}@${subject}` : reply

/** The server's router as a service; embedders and JetStream reach the same trie through it. */
export class Router extends Context.Service<Router, MessageRouter>()("effect-jetstream/core/Router") {
  static readonly layer = Layer.sync(Router, () => new MessageRouter())
}
