/**
 * `jetstream { request_queue_limit }` (2.11, nats-server jsAPIRoutedReqs): when the JetStream API
 * requests waiting to be served reach the limit, every waiting request is dropped (unanswered) and
 * `$JS.EVENT.ADVISORY.API.LIMIT_REACHED` is published in the system account with the number
 * dropped. Requests carry a sequence so the ones already taken into the serving batch are dropped too.
 */
import { Buffer } from "node:buffer"
import { formatTime } from "../codec/Json.ts"

/** nats-server JSDefaultRequestQueueLimit. */
export const DEFAULT_REQUEST_QUEUE_LIMIT = 10_000
export const API_LIMIT_REACHED = "$JS.EVENT.ADVISORY.API.LIMIT_REACHED"

export class ApiQueueLimit {
  private enqueued = 0
  /** Requests served, dropped or lost: `enqueued - gone` are waiting. */
  private gone = 0
  private dropThrough = 0
  private readonly limit: number
  private readonly reached: (dropped: number) => void

  constructor(limit: number, reached: (dropped: number) => void) {
    this.limit = limit
    this.reached = reached
  }

  /** A request is queued: its sequence. At the limit everything waiting, this one included, is dropped. */
  queued(): number {
    const seq = ++this.enqueued
    const waiting = this.enqueued - this.gone
    if (waiting >= this.limit) {
      this.dropThrough = seq
      this.gone = this.enqueued
      this.reached(waiting)
    }
    return seq
  }

  /** The queue refused the request after all. */
  lost(): void {
    this.gone++
  }

  /** Whether the request with `seq` is still to be served (false: it was dropped). */
  take(seq: number): boolean {
    if (seq <= this.dropThrough) return false
    this.gone++
    return true
  }
}

/** nats-server JSAPILimitReachedAdvisory. */
export const limitReachedAdvisory = (server: string, domain: string | undefined, dropped: number): Uint8Array =>
  Buffer.from(
    JSON.stringify({
      type: "io.nats.jetstream.advisory.v1.api_limit_reached",
      id: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url").slice(0, 22),
      timestamp: formatTime(BigInt(Date.now()) * 1_000_000n),
      server,
      ...(domain === undefined || domain === "" ? {} : { domain }),
      dropped
    }),
    "utf8"
  )
