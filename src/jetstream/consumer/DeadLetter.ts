/**
 * Native dead letters (our extension; nats-server ignores the key): a consumer whose `metadata`
 * has `"dead_letter": "<subject>"` publishes a copy of every message it gives up on, because it
 * reached `max_deliver` or was `+TERM`ed, to that subject. A stream capturing the subject is then a
 * durable dead-letter queue. The MAX_DELIVERIES / MSG_TERMINATED advisories fire as before.
 *
 * The copy has the message's payload and headers plus `Nats-Dead-Letter-Reason` (`max_deliveries`
 * or `terminated`), `-Stream`, `-Consumer`, `-Subject` (where it was stored), `-Sequence` (stream
 * sequence) and `-Deliveries`; its own `Nats-Msg-Id` (`dlq:<stream>:<consumer>:<seq>:<reason>`,
 * the original one moves to `Nats-Dead-Letter-Msg-Id`).
 *
 * Exactly once: the consumer records the give-up (or the term's ack) only after the dead-letter
 * stream's PubAck. A crash before that leaves the message pending, so after the restart it is given
 * up (or redelivered and terminated) again and copied again under the same `Nats-Msg-Id`, which the
 * dead-letter stream's duplicate window drops. Without a stream on the subject (no PubAck within
 * two seconds, or nobody subscribed) the copy is a plain core publish and the give-up goes on.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Subscription } from "../../core/Router.ts"
import type { StoredMessage } from "../../store/MessageLog.ts"
import { isValidLiteralSubject, toWire } from "../../subject/Subject.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import type { ConsumerCommand } from "./ConsumerCommand.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import { randomId } from "./Events.ts"

/** The metadata key naming the dead-letter subject. */
export const DEAD_LETTER_KEY = "dead_letter"

export type DeadLetterReason = "max_deliveries" | "terminated"

/** How long a copy waits for its PubAck before the consumer gives up without one. */
export const DEAD_LETTER_ACK_TIMEOUT_MS = 2000

/** The dead-letter subject a consumer config asks for (wire form), if any. */
export const deadLetterSubject = (metadata: Readonly<Record<string, string>> | undefined): string | undefined => {
  const s = metadata?.[DEAD_LETTER_KEY]
  return s === undefined || s === "" ? undefined : toWire(s)
}

/** Why a `dead_letter` value is refused at consumer create, or undefined when it is fine. */
export const invalidDeadLetter = (metadata: Readonly<Record<string, string>> | undefined): string | undefined => {
  const s = deadLetterSubject(metadata)
  if (s === undefined) return undefined
  if (!isValidLiteralSubject(s)) return "consumer metadata dead_letter must be a subject without wildcards"
  if (s.startsWith("$JS.")) return "consumer metadata dead_letter can not be a JetStream subject"
  return undefined
}

const HEADER_END = "\r\n\r\n"

/** The copy's header block: the stored headers (their Nats-Msg-Id renamed) and ours. */
const copyHeaders = (
  m: StoredMessage,
  stream: string,
  consumer: string,
  reason: DeadLetterReason,
  deliveries: number
): Buffer => {
  let own = ""
  if (m.hdr !== undefined && m.hdr.length > HEADER_END.length) {
    const text = Buffer.from(m.hdr.buffer, m.hdr.byteOffset, m.hdr.length).toString("latin1")
    const lines = text.slice(0, -HEADER_END.length).split("\r\n").slice(1)
    own = lines.map((l) => (/^nats-msg-id:/i.test(l) ? `Nats-Dead-Letter-Msg-Id:${l.slice(l.indexOf(":") + 1)}` : l))
      .map((l) => `${l}\r\n`).join("")
  }
  const s = toWire(stream)
  const c = toWire(consumer)
  return Buffer.from(
    `NATS/1.0\r\n${own}Nats-Msg-Id: dlq:${s}:${c}:${m.seq}:${reason}\r\nNats-Dead-Letter-Reason: ${reason}\r\n` +
      `Nats-Dead-Letter-Stream: ${s}\r\nNats-Dead-Letter-Consumer: ${c}\r\nNats-Dead-Letter-Subject: ${m.subject}\r\n` +
      `Nats-Dead-Letter-Sequence: ${m.seq}\r\nNats-Dead-Letter-Deliveries: ${deliveries}\r\n\r\n`,
    "latin1"
  )
}

/** One consumer's dead-letter sender: copies out, PubAcks back to `confirmed(sseq)`. */
export class DeadLetters {
  private readonly client: InternalClient
  private readonly stream: string
  private readonly consumer: string
  private readonly inbox = `_DLQ.${randomId()}`
  private sub: Subscription | undefined
  private readonly confirmed: (sseq: number) => void

  constructor(client: InternalClient, stream: string, consumer: string, confirmed: (sseq: number) => void) {
    this.client = client
    this.stream = stream
    this.consumer = consumer
    this.confirmed = confirmed
  }

  /**
   * Publishes the copy of `m` to `to`; true when someone may answer with a PubAck (the caller then
   * waits for `confirmed`), false when nobody listens (the caller goes on at once).
   */
  send(to: string, m: StoredMessage, reason: DeadLetterReason, deliveries: number): boolean {
    if (this.sub === undefined) {
      // Any answer (PubAck or error) confirms: the copy was handled by whoever captures the subject.
      this.sub = this.client.subscribe(`${this.inbox}.*`, (subject) => {
        const seq = Number(subject.slice(this.inbox.length + 1))
        if (Number.isSafeInteger(seq)) this.confirmed(seq)
      })
    }
    const hdr = copyHeaders(m, this.stream, this.consumer, reason, deliveries)
    const msg = m.data.length === 0 ? hdr : Buffer.concat([hdr, m.data])
    return this.client.publish(to, `${this.inbox}.${m.seq}`, hdr.length, msg) > 0
  }

  stop(): void {
    if (this.sub !== undefined) this.client.unsubscribe(this.sub)
    this.sub = undefined
  }
}

/** A give-up (or term) waiting for its copy's PubAck. */
export interface DeadLettering {
  readonly reason: DeadLetterReason
  readonly dseq: number
}

/** The part of a consumer actor that sending dead-letter copies reads and changes. */
export interface DeadLetteringConsumer {
  readonly name: string
  readonly config: ConsumerConfig
  readonly stream: Pick<StreamActor, "name" | "store">
  readonly ctx: Pick<ConsumerContext, "client" | "schedule">
  deadLetters: DeadLetters | undefined
  /** Dead-letter copies waiting for their PubAck, by stream sequence. */
  readonly deadLettering: Map<number, DeadLettering>
  offer(cmd: ConsumerCommand): boolean
}

/**
 * Sends the dead-letter copy of `sseq` when the config names a subject; true when the give-up (or
 * the term's ack) now waits for its PubAck. The message stays pending meanwhile, never redelivered.
 */
export const deadLetter = (
  c: DeadLetteringConsumer,
  sseq: number,
  reason: DeadLetterReason,
  p: { deadline: number; readonly count: number },
  dseq: number
): boolean => {
  const to = deadLetterSubject(c.config.metadata)
  if (to === undefined) return false
  const m = c.stream.store.get(sseq)
  if (m === undefined) return false
  c.deadLetters ??= new DeadLetters(c.ctx.client, c.stream.name, c.name, (seq) => {
    c.offer({ _tag: "DeadLettered", sseq: seq })
  })
  if (!c.deadLetters.send(to, m, reason, p.count)) return false
  p.deadline = Infinity
  c.deadLettering.set(sseq, { reason, dseq })
  // Nobody answering (a plain subscriber, no stream): give up without the confirmation.
  c.ctx.schedule(DEAD_LETTER_ACK_TIMEOUT_MS, () => c.offer({ _tag: "DeadLettered", sseq }))
  return true
}
