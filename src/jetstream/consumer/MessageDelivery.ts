/**
 * The next message a consumer delivers (redeliveries first, then the last-per-subject list, then new messages in
 * stream order) and the send of one delivery: plain synchronous code over the actor's state, run once per
 * message inside the actor's batch. Pull and push delivery (PullDelivery.ts, PushDelivery.ts) drive it.
 */
import { Buffer } from "node:buffer"
import type { StoredMessage } from "../../store/MessageLog.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { ackWaitMs } from "./AckProcessing.ts"
import type { AckReplyWriter } from "./AckReplyWriter.ts"
import type { AckState } from "./AckState.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import type { ConsumerFilter } from "./ConsumerFilter.ts"
import { type ConsumerEvent, recordDelivery } from "./ConsumerJournal.ts"
import { deadLetter, type DeadLetteringConsumer } from "./DeadLetter.ts"
import * as Events from "./Events.ts"
import type { Pacing } from "./Pacing.ts"
import type { PendingCounter } from "./PendingCounter.ts"
import { PIN_HEADER, withHeader } from "./PriorityGroups.ts"

export interface NextMessage {
  readonly sseq: number
  readonly msg: StoredMessage
  readonly redelivery: boolean
  readonly skipList?: boolean
}

/** The part of a consumer actor that choosing and sending deliveries reads and changes. */
export interface DeliveringConsumer extends DeadLetteringConsumer {
  readonly ctx: Pick<ConsumerContext, "client" | "schedule" | "nowMs">
  readonly stream: Pick<StreamActor, "name" | "store" | "config" | "removedGen">
  readonly state: AckState
  /** Journal events of the batch being processed (ConsumerJournal.ts). */
  readonly events: Array<ConsumerEvent>
  /** deliver_policy last_per_subject: the last message of each subject, delivered first. */
  readonly lastPerSubject: Array<number>
  readonly filter: ConsumerFilter
  readonly pending: PendingCounter
  readonly pacing: Pacing
  readonly replies: AckReplyWriter
  readonly tracksAcks: boolean
  /** Set when the last peek stopped at max_ack_pending rather than at the end of the stream. */
  ackPendingFull: boolean
  /** When pacing holds delivery back: the time to try again. */
  wakeAt: number
  /** Earliest ack deadline of the pending set, kept from `expire` through the batch's deliveries to `schedule`. */
  nextDeadline: number
  numPending(): number
}

export const messageSize = (m: StoredMessage) => (m.hdr?.length ?? 0) + m.data.length + m.subject.length

/** Next message to deliver without committing to it. */
export const peek = (c: DeliveringConsumer): NextMessage | undefined => {
  const store = c.stream.store
  const maxDeliver = c.config.max_deliver
  while (c.state.hasRedeliveries) {
    const sseq = c.state.takeRedelivery()!
    const p = c.state.pending.get(sseq)
    if (p === undefined) continue
    if (maxDeliver > 0 && p.count >= maxDeliver) {
      if (c.deadLettering.has(sseq)) continue
      Events.advisory(c.ctx.client, c.stream.name, c.name, c.ctx.nowMs(), "MAX_DELIVERIES", "max_deliver", {
        stream_seq: sseq,
        deliveries: p.count
      })
      // With a dead-letter subject the give-up is recorded once the copy is stored.
      if (deadLetter(c, sseq, "max_deliveries", p, p.dseq)) continue
      c.state.giveUp(sseq)
      c.events.push({ e: "g", s: sseq })
      continue
    }
    const msg = store.get(sseq)
    if (msg === undefined) {
      c.state.giveUp(sseq)
      c.events.push({ e: "g", s: sseq })
      continue
    }
    return { sseq, msg, redelivery: true }
  }
  const maxAckPending = c.config.max_ack_pending
  if (c.tracksAcks && maxAckPending > 0 && c.state.pending.size >= maxAckPending) {
    c.ackPendingFull = true
    return undefined
  }
  while (c.lastPerSubject.length > 0) {
    const sseq = c.lastPerSubject[0]!
    const msg = store.get(sseq)
    if (msg !== undefined) return { sseq, msg, redelivery: false, skipList: true }
    c.lastPerSubject.shift()
  }
  const first = store.firstSequence()
  if (c.state.nextSeq < first) c.state.nextSeq = first
  const sseq = c.filter.firstSeq(store, c.state.nextSeq)
  if (sseq === undefined) return undefined
  const msg = store.get(sseq)
  if (msg === undefined) return undefined
  return { sseq, msg, redelivery: false }
}

/** Pacing says wait: put a redelivery back and wake up when the message may go. */
export const held = (c: DeliveringConsumer, next: NextMessage, now: number): boolean => {
  if (!c.pacing.active) return false
  const wait = c.pacing.delay(next.msg.ts, messageSize(next.msg), now)
  if (wait <= 0) return false
  if (next.redelivery) c.state.queueRedelivery(next.sseq)
  c.wakeAt = now + wait
  return true
}

/** The ack reply subject `send` will give this delivery, computed without delivering. */
export const predictReply = (c: DeliveringConsumer, sseq: number, m: StoredMessage, redelivery: boolean): string => {
  const prior = c.state.pending.get(sseq)
  const count = c.tracksAcks && prior !== undefined ? prior.count + 1 : 1
  const pending = c.numPending() - (redelivery ? 0 : 1)
  return c.replies.reply(count, sseq, c.state.delivered + 1, m.ts, pending)
}

export const send = (
  c: DeliveringConsumer,
  to: string,
  sseq: number,
  m: StoredMessage,
  now: number,
  pin?: string
): void => {
  if (c.lastPerSubject[0] === sseq) c.lastPerSubject.shift()
  const nextBefore = c.state.nextSeq
  // Count before moving the cursor, then take this first delivery off the count.
  c.numPending()
  if (sseq >= nextBefore) c.pending.delivered(sseq)
  const p = c.state.onDeliver(sseq, now, 0, c.tracksAcks)
  recordDelivery(c.events, sseq, c.tracksAcks ? 1 : 0)
  // A skip-list delivery lies below the cursor; it must not move it.
  if (sseq < nextBefore) c.state.nextSeq = nextBefore
  // The ack wait of this delivery depends on its delivery count (backoff).
  p.deadline = now + ackWaitMs(c.config, p.count)
  if (c.tracksAcks && p.deadline < c.nextDeadline) c.nextDeadline = p.deadline
  const reply = c.replies.reply(p.count, sseq, p.dseq, m.ts, c.numPending())
  let hdr = m.hdr
  let data = m.data
  if (c.config.headers_only === true) {
    const base = hdr !== undefined && hdr.length > 2
      ? Buffer.from(hdr.subarray(0, hdr.length - 2)).toString("latin1")
      : "NATS/1.0\r\n"
    hdr = Buffer.from(`${base}Nats-Msg-Size: ${data.length}\r\n\r\n`, "latin1")
    data = new Uint8Array(0)
  }
  if (pin !== undefined) hdr = withHeader(hdr, PIN_HEADER, pin)
  if (hdr !== undefined && hdr.length > 0) {
    const msg = data.length === 0 ? hdr : Buffer.concat([hdr, data])
    c.ctx.client.publishAs(to, m.subject, reply, hdr.length, msg)
  } else {
    c.ctx.client.publishAs(to, m.subject, reply, -1, data)
  }
}
