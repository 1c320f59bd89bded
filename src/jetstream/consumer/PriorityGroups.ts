/**
 * Priority groups of a pull consumer (ADR-42, nats-server 2.11): which waiting pull request the
 * next message goes to under `priority_policy` "prioritized" (2.12: the waiting queue is ordered
 * by the requests' priority, PullRequests.ts), "overflow" (a request with `min_pending` /
 * `min_ack_pending` is served only while the consumer is that far behind) or "pinned_client" (one
 * pin id at a time gets messages; it moves after `priority_timeout` without a pull request carrying
 * it, or on `CONSUMER.UNPIN`). Plain synchronous state the consumer actor consults per delivery.
 *
 * As nats-server, one group's state is kept (the first configured group): all groups of a
 * consumer share the pin.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import { formatTime } from "../codec/Json.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { PullRequest } from "../model/PullRequest.ts"
import { randomId, typedEvent } from "./Events.ts"
import type { PullRequestQueue, WaitingRequest } from "./PullRequests.ts"

export const PIN_HEADER = "Nats-Pin-Id"

export interface PriorityEvents {
  readonly pinned: (group: string, pinId: string) => void
  readonly unpinned: (group: string, reason: "admin" | "timeout") => void
  /** A status to a request that is dropped (423 for a stale pin id). */
  readonly refuse: (r: WaitingRequest, line: string) => void
}

/** The pinned / unpinned advisories (`$JS.EVENT.ADVISORY.CONSUMER.PINNED|UNPINNED.<stream>.<consumer>`). */
export const priorityEvents = (
  client: InternalClient,
  stream: string,
  consumer: string,
  nowMs: () => number,
  refuse: PriorityEvents["refuse"]
): PriorityEvents => {
  const subject = (kind: string) => `$JS.EVENT.ADVISORY.CONSUMER.${kind}.${stream}.${consumer}`
  return {
    pinned: (group, pinId) =>
      typedEvent(client, subject("PINNED"), "consumer_group_pinned", nowMs(), {
        stream,
        consumer,
        group,
        pinned_id: pinId
      }),
    unpinned: (group, reason) =>
      typedEvent(client, subject("UNPINNED"), "consumer_group_unpinned", nowMs(), { stream, consumer, group, reason }),
    refuse
  }
}

export class PriorityGroups {
  private config: ConsumerConfig
  private readonly events: PriorityEvents
  /** The current pin ("" = none) and when it was given, ms on the consumer clock. */
  pinId = ""
  private pinnedAt = 0
  /** When the pin lapses without a pull request carrying it. */
  private pinDeadline = Infinity
  /** Whether the pin was given to the request `select` just returned (released if that request cannot take the message). */
  private justPinned = false
  /** Makes pin ids; replaceable so property tests get deterministic ids. */
  newId: () => string = randomId

  constructor(config: ConsumerConfig, events: PriorityEvents) {
    this.config = config
    this.events = events
  }

  /** A policy other than none: delivery goes through `select`. */
  get active(): boolean {
    return this.policy !== "none"
  }

  private get policy() {
    return this.config.priority_policy ?? "none"
  }

  private get firstGroup(): string {
    return this.config.priority_groups?.[0] ?? ""
  }

  /** A changed policy or group list starts over without a pin (no advisory: the old config's group is gone). */
  update(config: ConsumerConfig): void {
    const same = config.priority_policy === this.config.priority_policy &&
      (config.priority_groups ?? []).join("\u0000") === (this.config.priority_groups ?? []).join("\u0000")
    this.config = config
    if (!same) this.clearPin()
  }

  /**
   * nats-server `processNextMsgRequest`'s group checks: the status line refusing `req`, or
   * undefined. A request carrying the current pin keeps the pin alive.
   */
  admit(req: PullRequest, now: number): string | undefined {
    const g = req.group
    if (g === undefined) return undefined
    const policy = this.policy
    if ((g.minPending !== 0 || g.minAckPending !== 0) && policy !== "overflow") {
      return "400 Bad Request - Not a Overflow Priority consumer"
    }
    if (g.id !== "" && policy !== "pinned_client") return "400 Bad Request - Not a Pinned Client Priority consumer"
    // Any policy takes a priority in range; only `prioritized` orders by it (PullRequests.ts).
    if (g.priority < 0 || g.priority > 9) return "400 Bad Request - Priority must be between 0 and 9"
    if (policy === "none") return undefined
    if (g.group === "") return "400 Bad Request - Priority Group missing"
    if (!(this.config.priority_groups ?? []).includes(g.group)) return "400 Bad Request - Invalid Priority Group"
    if (this.pinId !== "") {
      if (g.id === this.pinId) this.pinDeadline = now + this.ttlMs()
      else if (g.id !== "") return "423 Nats-Pin-Id mismatch"
    }
    return undefined
  }

  private ttlMs(): number {
    return (this.config.priority_timeout ?? 0) / 1e6
  }

  /**
   * The waiting request the next message goes to (left at the head of `queue`), as nats-server's
   * `nextWaiting`: requests that may not have it now are cycled to the back, requests holding a
   * stale pin id are dropped with 423. `pending` / `ackPending` count the message about to go.
   */
  select(queue: PullRequestQueue, pending: number, ackPending: number, now: number): WaitingRequest | undefined {
    this.justPinned = false
    const policy = this.policy
    let cycled = 0
    for (let r = queue.head(); r !== undefined; r = queue.head()) {
      if (policy === "pinned_client") {
        const held = r.pinId ?? ""
        if (this.pinId === "") {
          if (held !== "") {
            this.drop(queue, r)
            continue
          }
          // A request without a JSON body (no group) is served without taking the pin, as there.
          if (r.group !== undefined) this.pin(r, now)
        } else if (held === "") {
          queue.rotate()
          if (++cycled >= queue.size) return undefined
          continue
        } else if (held !== this.pinId) {
          this.drop(queue, r)
          continue
        }
      } else if (policy === "overflow" && r.group !== undefined && !overflowOpen(r, pending, ackPending)) {
        queue.rotate()
        if (++cycled >= queue.size) return undefined
        continue
      }
      return r
    }
    return undefined
  }

  /** The request `select` just pinned could not take the message (max_bytes): it gives the pin back. */
  released(): void {
    if (this.justPinned) this.clearPin()
    this.justPinned = false
  }

  private drop(queue: PullRequestQueue, r: WaitingRequest): void {
    queue.remove(r)
    this.events.refuse(r, "423 Nats-Wrong-Pin-Id")
  }

  private pin(r: WaitingRequest, now: number): void {
    this.pinId = this.newId()
    this.pinnedAt = now
    this.pinDeadline = now + this.ttlMs()
    this.justPinned = true
    r.pinId = this.pinId
    this.events.pinned(r.group!.group, this.pinId)
  }

  private clearPin(): void {
    this.pinId = ""
    this.pinnedAt = 0
    this.pinDeadline = Infinity
  }

  /** `CONSUMER.UNPIN` of a configured group. */
  unpin(group: string): void {
    this.clearPin()
    this.events.unpinned(group, "admin")
  }

  /** The pin lapses once its timeout passed without a pull request carrying it. */
  expire(now: number): void {
    if (this.pinId === "" || now < this.pinDeadline) return
    this.clearPin()
    this.events.unpinned(this.firstGroup, "timeout")
  }

  /** When `expire` has work: the actor's timer includes it. */
  wakeAt(): number {
    return this.pinId === "" ? Infinity : this.pinDeadline
  }

  /** Deliveries of a pinned-client consumer carry the pin id (empty when served without one). */
  get pinsDeliveries(): boolean {
    return this.policy === "pinned_client"
  }

  /** Consumer info `priority_groups` (nats-server's `PriorityGroupState`; `pinned_ts` has no omitempty effect). */
  info(): Array<Record<string, unknown>> | undefined {
    const group = this.firstGroup
    if (group === "") return undefined
    const state: Record<string, unknown> = { group }
    if (this.pinId !== "") state.pinned_client_id = this.pinId
    state.pinned_ts = formatTime(BigInt(Math.floor(this.pinnedAt)) * 1_000_000n)
    return [state]
  }
}

/** Overflow: served while num_pending or num_ack_pending reaches the request's threshold (either one set). */
const overflowOpen = (r: WaitingRequest, pending: number, ackPending: number): boolean => {
  const g = r.group!
  if (g.minPending <= 0 && g.minAckPending <= 0) return true
  return (g.minPending > 0 && g.minPending <= pending) || (g.minAckPending > 0 && g.minAckPending <= ackPending)
}

const CRLF2 = Buffer.from("\r\n\r\n", "latin1")

/** `hdr` (a NATS header block or none) with one more header line appended. */
export const withHeader = (hdr: Uint8Array | undefined, name: string, value: string): Uint8Array => {
  const line = Buffer.from(`${name}: ${value}\r\n\r\n`, "latin1")
  if (hdr === undefined || hdr.length < 4) return Buffer.concat([Buffer.from("NATS/1.0\r\n", "latin1"), line])
  const end = Buffer.from(hdr.buffer, hdr.byteOffset, hdr.length)
  // A header block ends with an empty line; the new one goes before it.
  const body = end.subarray(end.length - 4).equals(CRLF2) ? end.subarray(0, end.length - 2) : end
  return Buffer.concat([body, line])
}
