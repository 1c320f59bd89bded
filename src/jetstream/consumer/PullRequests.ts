/**
 * Waiting pull requests of one consumer, served round-robin so many waiting clients share a
 * stream fairly (nats-server rotates a request to the back after each delivery).
 */
import { AT_LEVEL_211 } from "../../config/BrokerConfig.ts"
import type { PullGroup } from "../model/PullRequest.ts"

/**
 * A no-wait request that got some messages ends with `404 No Messages` from nats-server 2.11.11 /
 * 2.12.2 on (`processWaiting`; clients such as nats.c gate on the version), where 2.9.10 sent
 * `408 Request Timeout` with the pending counts. Every 2.11 release we may advertise is past .11.
 */
export const NO_WAIT_ENDS_WITH_404 = AT_LEVEL_211

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
  /**
   * Whether the consumer's policy is 2.12 `prioritized` (ADR-42): the queue is then kept ordered
   * by the requests' `priority`, 0 first and requests without a group last, first come first
   * served within one priority (nats-server `addPrioritized` / `popAndRequeue`).
   */
  private readonly byPriority: () => boolean

  constructor(byPriority: () => boolean = () => false) {
    this.byPriority = byPriority
  }

  get size(): number {
    return this.items.length
  }

  add(r: WaitingRequest): void {
    if (this.byPriority()) this.insertByPriority(r)
    else this.items.push(r)
  }

  /** After the last request of `r`'s priority or a more urgent one. */
  private insertByPriority(r: WaitingRequest): void {
    const rank = priorityRank(r)
    let i = this.items.length
    while (i > 0 && priorityRank(this.items[i - 1]!) > rank) i--
    this.items.splice(i, 0, r)
  }

  head(): WaitingRequest | undefined {
    return this.items[0]
  }

  /** Move the head to the back (after it received a message and still wants more). */
  rotate(): void {
    const h = this.items.shift()
    if (h !== undefined) this.add(h)
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

/** nats-server ranks a request without a priority group (a plain batch body) after every priority. */
const priorityRank = (r: WaitingRequest): number => r.group?.priority ?? Number.MAX_SAFE_INTEGER
