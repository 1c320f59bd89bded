/**
 * Push consumers: delivering to the deliver subject while someone listens, under flow control (requests,
 * stalls, 2.14 flow-control acks) and with idle heartbeats. Runs once per batch inside the consumer actor.
 */
import type { FlagProducer } from "../../core/Backpressure.ts"
import { toWire } from "../../subject/Subject.ts"
import type { ConsumerAckSubjects } from "./AckSubjects.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import type { FlowControl } from "./FlowControl.ts"
import { flowControlAckRequestDue } from "./FlowControlAck.ts"
import { type DeliveringConsumer, held, peek, send } from "./MessageDelivery.ts"
import type { Pause } from "./Pause.ts"
import { lastHeaders, signal, status } from "./StatusMessages.ts"

/** The part of a consumer actor that push delivery reads and changes. */
export interface PushingConsumer extends DeliveringConsumer {
  readonly ctx: Pick<ConsumerContext, "client" | "schedule" | "nowMs" | "mayDeliver">
  readonly pause: Pause
  /** Held by a congested receiver (a slow subscriber's connection): delivery waits until it drains. */
  readonly delivery: FlagProducer
  readonly flow: FlowControl
  readonly ackSubjects: ConsumerAckSubjects
  /** ack_policy flow_control (2.14): acks come only with flow-control answers. */
  readonly flowControlAcks: boolean
  lastActivity: number
  lastPushSignal: number
}

export const deliverPush = (c: PushingConsumer, now: number): void => {
  const to = toWire(c.config.deliver_subject!)
  if (!c.ctx.client.hasInterest(to)) return
  c.lastActivity = now
  const fc = c.config.flow_control === true
  const paused = c.pause.paused(now) || c.ctx.mayDeliver?.() === false
  while ((!fc || c.flow.open) && !c.delivery.isHeld && !paused) {
    const next = peek(c)
    if (next === undefined) break
    if (held(c, next, now)) break
    send(c, to, next.sseq, next.msg, now)
    c.lastPushSignal = now
    if (fc) {
      const m = next.msg
      const size = m.subject.length + (m.hdr?.length ?? 0) + m.data.length + 64
      requestFlowControl(c, to, c.flow.delivered(size, c.ackSubjects.fcPrefix))
      if (c.flowControlAcks) requestFlowControlAck(c, to, false)
    }
  }
  const hb = c.config.idle_heartbeat
  if (hb !== undefined && hb > 0 && now - c.lastPushSignal >= hb / 1e6) {
    c.lastPushSignal = now
    const headers = lastHeaders(c.state)
    if (c.flow.pending !== undefined) headers.push(["Nats-Consumer-Stalled", c.flow.pending])
    signal(c.ctx.client, to, status("100 Idle Heartbeat", headers))
    if (c.flowControlAcks) requestFlowControlAck(c, to, true)
  }
}

const requestFlowControl = (c: PushingConsumer, to: string, reply: string | undefined): void => {
  if (reply === undefined) return
  const hdr = status("100 FlowControl Request")
  c.ctx.client.publishAs(to, to, reply, hdr.length, hdr)
}

const requestFlowControlAck = (c: PushingConsumer, to: string, heartbeat: boolean): void => {
  const pending = c.state.pending.size
  if (!flowControlAckRequestDue(pending, c.config.max_ack_pending, c.flow.pending !== undefined, heartbeat)) {
    return
  }
  requestFlowControl(c, to, c.flow.request(c.ackSubjects.fcPrefix))
}
