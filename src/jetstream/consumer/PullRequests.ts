/**
 * Waiting pull requests of one consumer, served round-robin so many waiting clients share a
 * stream fairly (nats-server rotates a request to the back after each delivery).
 */
import type { PullGroup } from "../model/PullRequest.ts"

export interface WaitingRequest {
  readonly reply: string
  /** Messages still wanted. */
  remaining: number
  /** Messages delivered so far. */
  delivered: number
  /** Bytes still allowed (0 = no byte limit). */
  bytesLeft: number
  readonly maxBytes: number
  readonly noWait: boolean
  /** ms on the actor clock; Infinity = no expiry. */
  readonly expiresAt: number
  readonly heartbeatMs: number
  lastSignal: number
  /** 2.11 priority group members of the request (JSON bodies only; PriorityGroups.ts). */
  readonly group?: PullGroup
  /** The pin id this request holds: sent by the client, or given it when it took the pin. */
  pinId?: string
}

export class PullRequestQueue {
  private items: Array<WaitingRequest> = []

  get size(): number {
    return this.items.length
  }

  add(r: WaitingRequest): void {
    this.items.push(r)
  }

  head(): WaitingRequest | undefined {
    return this.items[0]
  }

  /** Move the head to the back (after it received a message and still wants more). */
  rotate(): void {
    const h = this.items.shift()
    if (h !== undefined) this.items.push(h)
  }

  remove(r: WaitingRequest): void {
    const i = this.items.indexOf(r)
    if (i >= 0) this.items.splice(i, 1)
  }

  /** Requests that expired by `nowMs`, removed from the queue. */
  takeExpired(nowMs: number): Array<WaitingRequest> {
    const out: Array<WaitingRequest> = []
    this.items = this.items.filter((r) => {
      if (r.expiresAt <= nowMs) {
        out.push(r)
        return false
      }
      return true
    })
    return out
  }

  /** No-wait requests: answered as soon as nothing more can be delivered now. */
  takeNoWait(): Array<WaitingRequest> {
    const out = this.items.filter((r) => r.noWait)
    if (out.length > 0) this.items = this.items.filter((r) => !r.noWait)
    return out
  }

  all(): ReadonlyArray<WaitingRequest> {
    return this.items
  }

  clear(): Array<WaitingRequest> {
    const out = this.items
    this.items = []
    return out
  }
}
