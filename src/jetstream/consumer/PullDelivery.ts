/**
 * Pull consumers: admitting a pull request (nats-server's 409 limits) and serving the waiting requests from the
 * stream, with their byte limits, no-wait endings and heartbeats. Runs once per batch inside the consumer actor.
 */
import type { FlagProducer } from "../../core/Backpressure.ts"
import { goDurationString } from "../codec/Json.ts"
import type { PullRequest } from "../model/PullRequest.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import { type DeliveringConsumer, held, messageSize, peek, predictReply, send } from "./MessageDelivery.ts"
import type { Pause } from "./Pause.ts"
import type { PriorityGroups } from "./PriorityGroups.ts"
import { NO_WAIT_ENDS_WITH_404, type PullRequestQueue } from "./PullRequests.ts"
import { lastHeaders, pendingStatus, signal, status } from "./StatusMessages.ts"

/** The part of a consumer actor that serving pull requests reads and changes. */
export interface PullingConsumer extends DeliveringConsumer {
  readonly ctx: Pick<ConsumerContext, "client" | "schedule" | "nowMs" | "mayDeliver">
  readonly waiting: PullRequestQueue
  readonly pause: Pause
  readonly priority: PriorityGroups
  /** Held by a congested receiver (a slow subscriber's connection): delivery waits until it drains. */
  readonly delivery: FlagProducer
  lastActivity: number
}

export const addPull = (c: PullingConsumer, reply: string, req: PullRequest, now: number): void => {
  c.lastActivity = now
  const client = c.ctx.client
  const maxWaiting = c.config.max_waiting ?? 512
  if (c.waiting.size >= maxWaiting) return signal(client, reply, status("409 Exceeded MaxWaiting"))
  if (c.config.max_batch !== undefined && c.config.max_batch > 0 && req.batch > c.config.max_batch) {
    return signal(client, reply, status(`409 Exceeded MaxRequestBatch of ${c.config.max_batch}`))
  }
  const maxExpires = c.config.max_expires ?? 0
  if (req.expiresNs > 0 && maxExpires > 0 && req.expiresNs > maxExpires) {
    return signal(client, reply, status(`409 Exceeded MaxRequestExpires of ${goDurationString(maxExpires)}`))
  }
  const maxBytes = c.config.max_bytes ?? 0
  if (req.maxBytes > 0 && maxBytes > 0 && req.maxBytes > maxBytes) {
    return signal(client, reply, status(`409 Exceeded MaxRequestMaxBytes of ${maxBytes}`))
  }
  const refused = c.priority.admit(req, now)
  if (refused !== undefined) return signal(client, reply, status(refused))
  c.waiting.add({
    reply,
    remaining: req.batch,
    delivered: 0,
    bytesLeft: req.maxBytes,
    maxBytes: req.maxBytes,
    noWait: req.noWait,
    expiresAt: req.expiresNs > 0 ? now + req.expiresNs / 1e6 : Infinity,
    heartbeatMs: req.heartbeatNs > 0 ? req.heartbeatNs / 1e6 : 0,
    lastSignal: now,
    ...(req.group !== undefined ? { group: req.group, pinId: req.group.id } : {})
  })
}

export const deliverPull = (c: PullingConsumer, now: number): void => {
  const client = c.ctx.client
  const paused = c.pause.paused(now) || c.ctx.mayDeliver?.() === false
  while (!c.delivery.isHeld && !paused) {
    let req = c.waiting.head()
    if (req === undefined) break
    // A client that went away (unsubscribed its inbox) must not be handed messages that would
    // then sit out their ack wait; nats-server drops such requests too.
    if (!client.hasInterest(req.reply)) {
      c.waiting.remove(req)
      continue
    }
    const next = peek(c)
    if (next === undefined) break
    if (held(c, next, now)) break
    if (c.priority.active) {
      // Chosen once the message is known, as nats-server: a pin is only given with a message.
      req = c.priority.select(c.waiting, c.numPending(), c.state.numAckPending, now)
      if (req === undefined || !client.hasInterest(req.reply)) {
        if (next.redelivery) c.state.queueRedelivery(next.sseq)
        if (req === undefined) break
        c.waiting.remove(req)
        c.priority.released()
        continue
      }
    }
    // Sized as nats-server sizes it for max_bytes: subject, ack reply, headers and payload.
    const size = req.maxBytes > 0
      ? messageSize(next.msg) + predictReply(c, next.sseq, next.msg, next.redelivery).length
      : 0
    if (req.maxBytes > 0 && size > req.bytesLeft) {
      // Put a redelivery back; a new message simply stays at nextSeq. The request ends with a
      // 409 saying how much of it was left, delivered to or not (as nats-server).
      if (next.redelivery) c.state.queueRedelivery(next.sseq)
      c.waiting.remove(req)
      c.priority.released()
      signal(client, req.reply, pendingStatus("409 Message Size Exceeds MaxBytes", req))
      continue
    }
    const pin = c.priority.pinsDeliveries ? c.priority.pinId : undefined
    send(c, req.reply, next.sseq, next.msg, now, pin)
    req.remaining--
    req.delivered++
    req.lastSignal = now
    if (req.maxBytes > 0) {
      req.bytesLeft -= size
      // Exactly used up: this message was the last one of the request.
      if (req.bytesLeft === 0) req.remaining = 0
    }
    if (req.remaining <= 0) c.waiting.remove(req)
    else c.waiting.rotate()
  }
  // Requests that must not wait are answered now with what they got, once the stream has
  // nothing more for them; held back only by max_ack_pending they wait for acks (as nats-server).
  // Held by a congested receiver, the stream is not done either: no-wait requests keep waiting.
  if (c.ackPendingFull || c.delivery.isHeld) return pullHeartbeats(c, now)
  // Paused with something to deliver, no-wait requests wait for the pause to end (or expire).
  if (paused && (c.state.hasRedeliveries || c.numPending() > 0)) return pullHeartbeats(c, now)
  for (const r of c.waiting.takeNoWait()) {
    if (r.delivered === 0 || NO_WAIT_ENDS_WITH_404) signal(client, r.reply, status("404 No Messages"))
    else signal(client, r.reply, pendingStatus("408 Request Timeout", r))
  }
  pullHeartbeats(c, now)
}

const pullHeartbeats = (c: PullingConsumer, now: number): void => {
  for (const r of c.waiting.all()) {
    if (r.heartbeatMs > 0 && now - r.lastSignal >= r.heartbeatMs) {
      r.lastSignal = now
      signal(c.ctx.client, r.reply, status("100 Idle Heartbeat", lastHeaders(c.state)))
    }
  }
}
