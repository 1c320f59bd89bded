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

/** What an account import's subscription adds to a plain one. */
export interface ImportHooks {
  /** Receives the messages published with `publishAs` (matched on one subject, shown as another). */
  readonly routed?: RoutedHandler
  /** Whether a message on `subject` reaches a subscriber beyond this one (see `Subscriber.interestIn`). */
  readonly interest?: (subject: string) => boolean
  /** Kept to this server (see `Subscription.localOnly`): an import's forwarding subscription. */
  readonly localOnly?: boolean
}

let nextInternalId = 0

export class InternalClient implements Subscriber {
  readonly cid: number
  readonly echo = true
  private readonly router: MessageRouter
  private readonly handlers = new Map<Subscription, InternalHandler>()
  private readonly hooks = new Map<Subscription, ImportHooks>()
  private sids = 0

  constructor(router: MessageRouter) {
    this.router = router
    // Negative ids keep internal clients apart from socket connections in monitoring.
    this.cid = -++nextInternalId
  }

  /** `hooks` are for account imports: the routing subject of `publishAs` messages, and interest. */
  subscribe(subject: string, handler: InternalHandler, queue?: string, hooks?: ImportHooks): Subscription | undefined {
    const sub = new Subscription(this, subject, queue, String(++this.sids))
    if (hooks?.localOnly === true) sub.localOnly = true
    if (!this.router.subscribe(sub)) return undefined
    this.handlers.set(sub, handler)
    if (hooks !== undefined) this.hooks.set(sub, hooks)
    return sub
  }

  unsubscribe(sub: Subscription): void {
    this.handlers.delete(sub)
    this.hooks.delete(sub)
    this.router.unsubscribe(sub)
  }

  unsubscribeAll(): void {
    for (const sub of this.handlers.keys()) this.router.unsubscribe(sub)
    this.handlers.clear()
    this.hooks.clear()
  }

  /** Publishes as the server (no echo suppression, no no-responders). */
  publish(subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number {
    return this.router.publish(undefined, subject, reply, hdrLen, msg)
  }

  /** Publishes to subscribers of `to`, presenting the message as `subject`. */
  publishAs(to: string, subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): number {
    return this.router.publishAs(to, subject, reply, hdrLen, msg)
  }

  /** The trace of the message being delivered to a `takesTrace` subscription now (Router.takeTrace). */
  takeTrace() {
    return this.router.takeTrace()
  }

  hasInterest(to: string): boolean {
    return this.router.hasInterest(to)
  }

  /** True while the message being delivered came in through a service import (Router.importing). */
  get deliveringImport(): boolean {
    return this.router.importing > 0
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
    const r = this.hooks.get(sub)?.routed
    if (r !== undefined) r(to, subject, reply, hdrLen, msg)
    else this.handlers.get(sub)?.(subject, reply, hdrLen, msg)
  }

  interestIn(sub: Subscription, subject: string): boolean {
    const f = this.hooks.get(sub)?.interest
    return f === undefined || f(subject)
  }

  autoUnsubscribed(sub: Subscription): void {
    this.handlers.delete(sub)
    this.hooks.delete(sub)
  }
}
