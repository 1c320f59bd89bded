/**
 * Pull consumers as Effect Streams: the stream keeps pull requests outstanding on the consumer's
 * `$JS.API.CONSUMER.MSG.NEXT` subject (the same requests nats.js sends), and each delivered message
 * carries `ack`/`nak`/`term`/`inProgress` effects that publish to its `$JS.ACK` reply subject.
 */
import { Cause, Duration, Effect, Queue, Stream } from "effect"
import type { InternalClient } from "../core/InternalClient.ts"
import { ackStreamToken } from "../jetstream/consumer/AckSubjects.ts"
import { decodeHeaders } from "../protocol/Headers.ts"
import { type ClientShape, type Headers, toMsg } from "./Client.ts"
import { ConsumeError, type InvalidSubjectError, type NoRespondersError, type RequestTimeoutError } from "./Errors.ts"

/** Where a delivered message sits in its stream and consumer (parsed from the `$JS.ACK` subject). */
export interface DeliveryInfo {
  readonly stream: string
  readonly consumer: string
  /** How many times this message has been delivered to this consumer (1 on first delivery). */
  readonly deliveryCount: number
  readonly streamSequence: number
  readonly consumerSequence: number
  /** When the message was stored, nanoseconds since the epoch (on the broker's clock). */
  readonly timestampNanos: bigint
  /** Messages still pending for the consumer after this one. */
  readonly pending: number
}

/** Failures of an ack-family effect: the broker did not confirm it. */
export type AckError = InvalidSubjectError | NoRespondersError | RequestTimeoutError

/** A message delivered by a JetStream consumer. */
export interface JsMsg {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers: Headers | undefined
  readonly info: DeliveryInfo
  /** True from the second delivery on. */
  readonly redelivered: boolean
  /** The payload decoded as UTF-8. */
  text(): string
  /** Acknowledges; completes when the broker confirmed it (a "double ack"). */
  readonly ack: Effect.Effect<void, AckError>
  /** Negative ack: redeliver now, or after `delay`. */
  nak(delay?: Duration.Input): Effect.Effect<void, AckError>
  /** Never redeliver this message. */
  readonly term: Effect.Effect<void, AckError>
  /** Still working on it: restart the ack wait. */
  readonly inProgress: Effect.Effect<void, AckError>
}

/** Options for `JetStreamClient.consume`. */
export interface ConsumeOptions {
  /** Messages requested per pull and kept buffered at most (default 128). */
  readonly batch?: number
  /**
   * How long each pull request waits at the broker before it is renewed (default 30 s, on the
   * broker's clock). Bounds how long a pull request outlives a stream that stopped early.
   */
  readonly expires?: Duration.Input
}

const utf8 = new TextEncoder()

const parseAckSubject = (reply: string): DeliveryInfo | undefined => {
  // $JS.ACK.[<domain>.<account hash>.]<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>
  const t = reply.split(".")
  const o = ackStreamToken(t.length)
  if (o === undefined) return undefined
  return {
    stream: t[o]!,
    consumer: t[o + 1]!,
    deliveryCount: Number(t[o + 2]),
    streamSequence: Number(t[o + 3]),
    consumerSequence: Number(t[o + 4]),
    timestampNanos: BigInt(t[o + 5]!),
    pending: Number(t[o + 6])
  }
}

/** A delivered message with its ack effects bound to the reply subject. */
export const makeJsMsg = (
  core: ClientShape,
  subject: string,
  reply: string,
  hdrLen: number,
  raw: Uint8Array
): JsMsg | undefined => {
  const info = parseAckSubject(reply)
  if (info === undefined) return undefined
  const m = toMsg(subject, reply, hdrLen, raw)
  // Acks go out as requests so the effect completes only after the consumer applied them; tests
  // can then advance a TestClock without racing the consumer's mailbox.
  const send = (body: string) => Effect.asVoid(core.request(reply, body))
  return {
    subject: m.subject,
    data: m.data,
    headers: m.headers,
    text: m.text,
    info,
    redelivered: info.deliveryCount > 1,
    ack: send("+ACK"),
    nak: (delay) => send(delay === undefined ? "-NAK" : `-NAK {"delay":${Duration.toNanosUnsafe(delay)}}`),
    term: send("+TERM"),
    inProgress: send("+WPI")
  }
}

/**
 * The consumer's deliveries as a stream. Flow control: requested-but-undelivered plus
 * delivered-but-unread messages stay ≤ `batch`; a new pull goes out when half of it is free.
 */
export const consume = (
  internal: InternalClient,
  core: ClientShape,
  stream: string,
  consumer: string,
  options: ConsumeOptions = {}
): Stream.Stream<JsMsg, ConsumeError> =>
  Stream.unwrap(Effect.gen(function*() {
    const batch = Math.max(1, Math.floor(options.batch ?? 128))
    const expiresNs = Duration.toNanosUnsafe(options.expires ?? Duration.seconds(30))
    const next = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`
    const inbox = core.inbox()
    const queue = yield* Queue.unbounded<JsMsg, ConsumeError | Cause.Done>()
    let requested = 0
    let buffered = 0
    const topUp = () => {
      const want = batch - requested - buffered
      if (want < Math.ceil(batch / 2)) return
      requested += want
      internal.publish(next, inbox, -1, utf8.encode(`{"batch":${want},"expires":${expiresNs}}`))
    }
    const onMessage = (subject: string, reply: string | undefined, hdrLen: number, raw: Uint8Array) => {
      const msg = reply === undefined ? undefined : makeJsMsg(core, subject, reply, hdrLen, raw)
      if (msg !== undefined) {
        requested = Math.max(0, requested - 1)
        buffered++
        Queue.offerUnsafe(queue, msg)
        return
      }
      // A status message about one of our pull requests.
      const hdr = hdrLen > 0 ? decodeHeaders(raw.subarray(0, hdrLen)) : undefined
      const status = hdr?.status ?? ""
      const code = status.slice(0, 3)
      if (code === "100") return
      if (code === "404" || code === "408") {
        // The request ended with this many messages still unfilled (404: none were delivered).
        const left = hdr?.entries.find(([k]) => k === "Nats-Pending-Messages")?.[1]
        requested = Math.max(0, requested - (left === undefined ? requested : Number(left)))
        topUp()
        return
      }
      Queue.failCauseUnsafe(queue, Cause.fail(new ConsumeError({ stream, consumer, status })))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => internal.subscribe(inbox, onMessage)!),
      (sub) => Effect.sync(() => internal.unsubscribe(sub))
    )
    topUp()
    return Stream.fromQueue(queue).pipe(
      Stream.tap(() =>
        Effect.sync(() => {
          buffered--
          topUp()
        })
      )
    )
  }))
