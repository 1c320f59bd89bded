/**
 * Core NATS message routing: one subscription trie for the whole server, fan-out to connections
 * and to in-process subscribers (JetStream's API and streams subscribe through the same trie).
 *
 * Plain synchronous code: `publish` is called once per inbound message from the connection's
 * parse loop, and delivery only appends to the receiver's outbound buffer.
 */
import { Context, Layer } from "effect"
import { Sublist, type SublistResult } from "../subject/Sublist.ts"

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

  subscribe(sub: Subscription): boolean {
    if (!this.sublist.insert(sub)) return false
    if (this.subscribeListeners.size > 0) { for (const l of this.subscribeListeners) l(sub) }
    return true
  }

  unsubscribe(sub: Subscription): boolean {
    return this.sublist.remove(sub)
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
    let n = 0
    const psubs = result.psubs
    for (let i = 0; i < psubs.length; i++) {
      const s = psubs[i]!
      if (from !== undefined && s.owner === from && !from.echo) continue
      this.deliverTo(s, subject, reply, hdrLen, msg)
      n++
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
    for (const s of result.psubs) {
      this.deliverTo(s, subject, reply, hdrLen, msg, to)
      n++
    }
    for (const group of result.qsubs) {
      const s = group[this.rr++ % group.length]!
      this.deliverTo(s, subject, reply, hdrLen, msg, to)
      n++
    }
    return n
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

  private deliverTo(
    s: Subscription,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array,
    routedOn?: string
  ) {
    if (s.max > 0 && s.delivered >= s.max) return
    s.delivered++
    this.stats.outMsgs++
    this.stats.outBytes += msg.length
    if (routedOn !== undefined && s.owner.deliverRouted !== undefined) {
      s.owner.deliverRouted(s, routedOn, subject, reply, hdrLen, msg)
    } else s.owner.deliver(s, subject, reply, hdrLen, msg)
    if (s.max > 0 && s.delivered >= s.max) {
      this.sublist.remove(s)
      s.owner.autoUnsubscribed(s)
    }
  }
}

/** The server's router as a service; embedders and JetStream reach the same trie through it. */
export class Router extends Context.Service<Router, MessageRouter>()("effect-jetstream/core/Router") {
  static readonly layer = Layer.sync(Router, () => new MessageRouter())
}
