/**
 * An in-process subscriber: JetStream's API handlers and stream actors receive messages through the
 * same subscription trie as socket clients, and publish replies through the same router.
 */
import { type MessageRouter, type Subscriber, Subscription } from "./Router.ts"

export type InternalHandler = (subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array) => void

/** For a message routed on `to` and presented as `subject` (see `Subscriber.deliverRouted`). */
export type RoutedHandler = (
  to: string,
  subject: string,
  reply: string | undefined,
  hdrLen: number,
  msg: Uint8Array
) => void

let nextInternalId = 0

export class InternalClient implements Subscriber {
  readonly cid: number
  readonly echo = true
  private readonly router: MessageRouter
  private readonly handlers = new Map<Subscription, InternalHandler>()
  private readonly routed = new Map<Subscription, RoutedHandler>()
  private sids = 0

  constructor(router: MessageRouter) {
    this.router = router
    // Negative ids keep internal clients apart from socket connections in monitoring.
    this.cid = -++nextInternalId
  }

  /**
   * `routed`, when given, receives the messages published with `publishAs` (matched on one
   * subject, presented as another) instead of `handler`; account imports need the routing subject.
   */
  subscribe(
    subject: string,
    handler: InternalHandler,
    queue?: string,
    routed?: RoutedHandler
  ): Subscription | undefined {
    const sub = new Subscription(this, subject, queue, String(++this.sids))
    if (!this.router.subscribe(sub)) return undefined
    this.handlers.set(sub, handler)
    if (routed !== undefined) this.routed.set(sub, routed)
    return sub
  }

  unsubscribe(sub: Subscription): void {
    this.handlers.delete(sub)
    this.routed.delete(sub)
    this.router.unsubscribe(sub)
  }

  unsubscribeAll(): void {
    for (const sub of this.handlers.keys()) this.router.unsubscribe(sub)
    this.handlers.clear()
    this.routed.clear()
  }

  /** Publishes as the server (no echo suppression, no no-responders). */
  publish(subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number {
    return this.router.publish(undefined, subject, reply, hdrLen, msg)
  }

  /** Publishes to subscribers of `to`, presenting the message as `subject`. */
  publishAs(to: string, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number {
    return this.router.publishAs(to, subject, reply, hdrLen, msg)
  }

  hasInterest(to: string): boolean {
    return this.router.hasInterest(to)
  }

  get routerForListeners(): MessageRouter {
    return this.router
  }

  deliver(sub: Subscription, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void {
    this.handlers.get(sub)?.(subject, reply, hdrLen, msg)
  }

  deliverRouted(
    sub: Subscription,
    to: string,
    subject: string,
    reply: string | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): void {
    const r = this.routed.get(sub)
    if (r !== undefined) r(to, subject, reply, hdrLen, msg)
    else this.handlers.get(sub)?.(subject, reply, hdrLen, msg)
  }

  autoUnsubscribed(sub: Subscription): void {
    this.handlers.delete(sub)
    this.routed.delete(sub)
  }
}
