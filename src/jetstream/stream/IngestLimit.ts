/**
 * nats-server 2.11's stream ingest limits (`jetstream { max_buffered_msgs, max_buffered_size }`): the
 * publishes queued for a stream and not yet taken by its actor are counted, and one past either limit
 * is answered `429 Too Many Requests` (err 10167) instead of queued, so a flood of core publishes
 * cannot grow the queue without bound. Sizes count subject, reply, header and payload, as nats-server.
 *
 * Beyond nats-server: past half of either limit the connection publishing is held until the actor
 * takes the batch (the broker's back-pressure, Backpressure.ts), so steady flat-out publishers are
 * slowed rather than refused; a single read burst larger than the limit still gets 429s.
 */
import { Buffer } from "node:buffer"
import { Gate } from "../../core/Backpressure.ts"
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Logger } from "../../log/Log.ts"
import { ApiErrors } from "../model/ApiError.ts"

export interface IngestLimits {
  /** Queued publishes; 0 or less = no limit. */
  readonly msgs: number
  /** Queued bytes; 0 or less = no limit. */
  readonly bytes: number
}

/** nats-server 2.11 streamDefaultMaxQueueMsgs / streamDefaultMaxQueueBytes (2.12 raised msgs to 100,000). */
export const DEFAULT_INGEST_LIMITS: IngestLimits = { msgs: 10_000, bytes: 128 * 1024 * 1024 }

export class IngestQueue {
  private msgs = 0
  private bytes = 0
  private refused = 0
  private readonly limits: IngestLimits
  /** Measures the fuller of the two queues as a share of half its limit: held over 1. */
  private readonly gate = new Gate(1, 0)

  constructor(limits: IngestLimits) {
    this.limits = limits
  }

  /** Counts one more queued publish of `size` bytes; false (nothing counted) when it would pass a limit. */
  admit(size: number): boolean {
    const l = this.limits
    if (l.msgs > 0 && this.msgs >= l.msgs) return false
    if (l.bytes > 0 && this.bytes + size > l.bytes) return false
    this.msgs++
    this.bytes += size
    const load = Math.max(l.msgs > 0 ? this.msgs / (l.msgs / 2) : 0, l.bytes > 0 ? this.bytes / (l.bytes / 2) : 0)
    if (load > 1) this.gate.filled(load, Date.now)
    return true
  }

  /** The actor took everything queued. */
  taken(): void {
    this.msgs = 0
    this.bytes = 0
    this.refused = 0
    this.gate.open()
  }

  /** Answers a publish `admit` refused; warns once per burst (nats-server rate-limits the same warning). */
  refuse(stream: string, reply: string | undefined, client: InternalClient, log: Logger): void {
    if (this.refused++ === 0) {
      log.warn(`Dropping messages due to excessive stream ingest rate on '${stream}': IPQ limit reached`)
    }
    if (reply === undefined) return
    const answer = tooManyRequests(stream)
    client.publish(reply, undefined, answer.hdrLen, answer.msg)
  }
}

const STATUS = Buffer.from("NATS/1.0 429 Too Many Requests\r\n\r\n", "latin1")

/** nats-server's answer to a refused publish: the status header and the PubAck error body. */
export const tooManyRequests = (stream: string): { readonly hdrLen: number; readonly msg: Uint8Array } => {
  const body = Buffer.from(JSON.stringify({ stream, seq: 0, error: ApiErrors.streamTooManyRequests() }), "utf8")
  const msg = new Uint8Array(STATUS.length + body.length)
  msg.set(STATUS)
  msg.set(body, STATUS.length)
  return { hdrLen: STATUS.length, msg }
}
