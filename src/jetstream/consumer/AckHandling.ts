/**
 * Applying acks to a consumer: +ACK, +NXT, -NAK, +WPI and +TERM on its ack subject, flow-control acks, and the
 * end of a dead-lettered give-up. Plain synchronous code over the actor's state, once per ack, inside its batch;
 * parsing the ack itself is AckProcessing.ts.
 */
import { ackKind, ackTarget, ackWaitMs, nakDelayMs, nextPullRequest, termReason } from "./AckProcessing.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import { recordAck } from "./ConsumerJournal.ts"
import { deadLetter } from "./DeadLetter.ts"
import * as Events from "./Events.ts"
import { addPull, type PullingConsumer } from "./PullDelivery.ts"
import { signal, status } from "./StatusMessages.ts"

/** The part of a consumer actor that acks read and change. */
export interface AckingConsumer extends PullingConsumer {
  readonly ctx: Pick<ConsumerContext, "client" | "schedule" | "nowMs" | "mayDeliver" | "acked" | "log">
  readonly isPull: boolean
  /** Double-ack confirmations, sent only after the batch's events are durable. */
  readonly ackReplies: Array<string>
}

export const processAck = (
  c: AckingConsumer,
  subject: string,
  reply: string | undefined,
  body: Uint8Array,
  now: number
): void => {
  const target = ackTarget(subject)
  if (target === undefined) return
  const { sseq, dseq } = target
  // A sequence this consumer never delivered (a previous owner did, and its record of that
  // delivery was not committed before it died): the ack cannot be recorded as one, so it is not
  // confirmed either; the message is delivered again (at-least-once), never "acked" and redelivered.
  const neverDelivered = sseq >= c.state.nextSeq
  let replied = false
  switch (ackKind(body)) {
    case "ack":
      ackOne(c, sseq, dseq, now)
      break
    case "next":
      ackOne(c, sseq, dseq, now)
      replied = true
      if (reply !== undefined) {
        const next = nextPullRequest(c.isPull, body.subarray(4))
        if (typeof next === "string") signal(c.ctx.client, reply, status(next))
        else addPull(c, reply, next, now)
      }
      break
    case "nak":
      nak(c, sseq, body.subarray(4), now)
      break
    case "progress": {
      const p = c.state.pending.get(sseq)
      if (p !== undefined) p.deadline = now + ackWaitMs(c.config, p.count)
      break
    }
    case "term": {
      const p = c.state.pending.get(sseq)
      if (p !== undefined) {
        const reason = termReason(body)
        Events.advisory(c.ctx.client, c.stream.name, c.name, c.ctx.nowMs(), "MSG_TERMINATED", "terminated", {
          consumer_seq: p.dseq,
          stream_seq: sseq,
          deliveries: p.count,
          ...(reason !== "" ? { reason } : {})
        })
        // With a dead-letter subject the term is recorded once the copy is stored.
        if (deadLetter(c, sseq, "terminated", p, dseq)) break
      }
      ackOne(c, sseq, dseq, now)
      break
    }
  }
  // An ack that carries a reply subject is a "double ack": confirm it once it is durable.
  if (reply !== undefined && !replied && !neverDelivered) c.ackReplies.push(reply)
}

export const ackOne = (c: AckingConsumer, sseq: number, dseq: number, now: number): void => {
  if (c.config.ack_policy === "all" || c.config.ack_policy === "flow_control") {
    // A flow-control answer past the last delivery (its sender may be ahead after a re-create)
    // would move the floor over deliveries still to come, which then stay pending (and in a
    // WorkQueue origin) for ever: it acks what was delivered.
    const last = c.state.lastDeliveredStreamSeq
    if (c.config.ack_policy === "flow_control" && sseq > last) {
      sseq = last
      dseq = Math.min(dseq, c.state.delivered)
    }
    const acked = c.state.ackUpTo(sseq, dseq, now)
    c.events.push({ e: "A", s: sseq, d: dseq })
    if (acked.length > 0) c.ctx.acked(c, acked, false)
  } else if (c.config.ack_policy === "explicit") {
    const p = c.state.pending.get(sseq)
    const done = c.state.ack(sseq, dseq, now)
    recordAck(c.events, sseq, dseq)
    // Limits retention ignores acks: skip building the hook's argument for every ack.
    if (done && c.stream.config.retention !== "limits") c.ctx.acked(c, [sseq], false)
    if (done && p !== undefined) {
      sampleAck(c, sseq, p.dseq, p.count, p.deadline - ackWaitMs(c.config, p.count), now)
    }
  }
}

/** sample_freq: a share of acks is published as a consumer_ack metric (ack latency). */
const sampleAck = (
  c: AckingConsumer,
  sseq: number,
  dseq: number,
  deliveries: number,
  deliveredAt: number,
  now: number
): void => {
  const freq = Events.sampleFrequency(c.config.sample_freq)
  if (freq <= 0 || Math.random() * 100 >= freq) return
  Events.ackMetric(c.ctx.client, c.stream.name, c.name, now, {
    consumer_seq: dseq,
    stream_seq: sseq,
    ack_time: Math.max(0, Math.round((now - deliveredAt) * 1e6)),
    deliveries
  })
}

const nak = (c: AckingConsumer, sseq: number, arg: Uint8Array, now: number): void => {
  const p = c.state.pending.get(sseq)
  if (p === undefined) return
  const delayMs = nakDelayMs(
    arg,
    (text) =>
      c.ctx.log.warn(`JetStream consumer '${c.stream.name} > ${c.name}' bad NAK delay value: ${JSON.stringify(text)}`)
  )
  if (delayMs !== undefined && delayMs > 0) p.deadline = now + delayMs
  else c.state.queueRedelivery(sseq)
}

/** A dead-letter copy of `sseq` was answered (or timed out): record the term's ack or the give-up. */
export const deadLettered = (c: AckingConsumer, sseq: number, now: number): void => {
  const d = c.deadLettering.get(sseq)
  if (d === undefined) return
  c.deadLettering.delete(sseq)
  if (d.reason === "terminated") return ackOne(c, sseq, d.dseq, now)
  if (!c.state.pending.has(sseq)) return
  c.state.giveUp(sseq)
  c.events.push({ e: "g", s: sseq })
}
