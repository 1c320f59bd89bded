/**
 * Core NATS for embedders: publish, subscribe and request on the broker's router, in-process.
 *
 * Every operation goes through the same subscription trie as socket clients (an `InternalClient`),
 * so in-process and TCP clients see each other's messages, and JetStream's API, stream capture and
 * consumer deliveries behave exactly as they do on the wire.
 */
import { Context, Deferred, Duration, Effect, Exit, Layer, Queue, Stream } from "effect"
import { randomBytes } from "node:crypto"
import { InternalClient } from "../core/InternalClient.ts"
import { Router } from "../core/Router.ts"
import { decodeHeaders, encodeHeaders } from "../protocol/Headers.ts"
import { isValidLiteralSubject, isValidSubject } from "../subject/Subject.ts"
import { InvalidSubjectError, NoRespondersError, RequestTimeoutError } from "./Errors.ts"

/** A payload: bytes as they are, strings as UTF-8. */
export type Payload = Uint8Array | string

/** Message headers, `Key: Value` (one value per key on the way in; the first value on the way out). */
export type Headers = Readonly<Record<string, string>>

/** A core NATS message as a subscriber receives it. */
export interface Msg {
  readonly subject: string
  readonly reply: string | undefined
  readonly data: Uint8Array
  /** Present when the message carried a header block. */
  readonly headers: Headers | undefined
  /** Status code of a status message (e.g. "503" no responders), otherwise undefined. */
  readonly status: string | undefined
  /** The payload decoded as UTF-8. */
  text(): string
}

/** Options for {@link ClientShape.publish}. */
export interface PublishOptions {
  readonly reply?: string
  readonly headers?: Headers
}

/** Options for {@link ClientShape.subscribe}. */
export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  readonly queue?: string
  /**
   * Messages buffered for a slow reader before new ones are dropped, as nats-server drops for a
   * slow consumer (default 65,536). Core NATS is at-most-once; use JetStream for backpressure.
   */
  readonly bufferSize?: number
}

/** Options for {@link ClientShape.request}. */
export interface RequestOptions {
  readonly headers?: Headers
  /** Default 5 seconds (on Effect's Clock, so `TestClock` controls it). */
  readonly timeout?: Duration.Input
}

/** The core NATS operations of the embedded broker. */
export interface ClientShape {
  /** Publishes a message; resolves once every local subscriber has it queued. */
  publish(subject: string, data?: Payload, options?: PublishOptions): Effect.Effect<void, InvalidSubjectError>
  /** Subscribes for as long as the stream runs; wildcards allowed. */
  subscribe(subject: string, options?: SubscribeOptions): Stream.Stream<Msg, InvalidSubjectError>
  /** Publishes with a fresh reply inbox and waits for the first reply. */
  request(
    subject: string,
    data?: Payload,
    options?: RequestOptions
  ): Effect.Effect<Msg, InvalidSubjectError | NoRespondersError | RequestTimeoutError>
  /** A new unique inbox subject (`_INBOX.<id>`). */
  inbox(): string
}

const utf8 = new TextEncoder()
const textDecoder = new TextDecoder()
const EMPTY = new Uint8Array(0)

/** Bytes for a payload. */
export const toBytes = (data: Payload | undefined): Uint8Array =>
  data === undefined ? EMPTY : typeof data === "string" ? utf8.encode(data) : data

/** A message (header block + body) as the router carries it; hdrLen -1 means no headers. */
export const frame = (
  data: Payload | undefined,
  headers: Headers | undefined
): { readonly hdrLen: number; readonly msg: Uint8Array } => {
  const body = toBytes(data)
  if (headers === undefined || Object.keys(headers).length === 0) return { hdrLen: -1, msg: body }
  const hdr = encodeHeaders(undefined, Object.entries(headers))
  const msg = new Uint8Array(hdr.length + body.length)
  msg.set(hdr, 0)
  msg.set(body, hdr.length)
  return { hdrLen: hdr.length, msg }
}

/**
 * Turns a routed message into a `Msg`. The bytes are copied: a socket publisher's payload may be a
 * view into a read buffer that is reused after delivery.
 */
export const toMsg = (subject: string, reply: string | undefined, hdrLen: number, raw: Uint8Array): Msg => {
  let headers: Headers | undefined
  let status: string | undefined
  let data: Uint8Array
  if (hdrLen > 0) {
    const decoded = decodeHeaders(raw.subarray(0, hdrLen))
    const h: Record<string, string> = {}
    for (const [k, v] of decoded.entries) if (!(k in h)) h[k] = v
    headers = h
    status = decoded.status === "" ? undefined : decoded.status
    data = raw.slice(hdrLen)
  } else {
    data = raw.slice()
  }
  return { subject, reply, data, headers, status, text: () => textDecoder.decode(data) }
}

const inboxPrefix = `_INBOX.${randomBytes(8).toString("hex")}.`
let inboxCounter = 0
const newInbox = (): string => inboxPrefix + (++inboxCounter).toString(36)

/** Builds the client on a router (one `InternalClient`; each subscription is its own entry). */
export const make = (client: InternalClient): ClientShape => {
  const publish = (subject: string, data?: Payload, options: PublishOptions = {}) =>
    Effect.suspend(() => {
      if (!isValidLiteralSubject(subject)) return Effect.fail(new InvalidSubjectError({ subject }))
      const { hdrLen, msg } = frame(data, options.headers)
      client.publish(subject, options.reply, hdrLen, msg)
      return Effect.void
    })

  const subscribe = (subject: string, options: SubscribeOptions = {}) =>
    Stream.callback<Msg, InvalidSubjectError>(
      (queue) =>
        Effect.acquireRelease(
          Effect.suspend(() => {
            if (!isValidSubject(subject)) return Effect.fail(new InvalidSubjectError({ subject }))
            const sub = client.subscribe(
              subject,
              (s, reply, hdrLen, msg) => void Queue.offerUnsafe(queue, toMsg(s, reply, hdrLen, msg)),
              options.queue
            )
            return sub === undefined ? Effect.fail(new InvalidSubjectError({ subject })) : Effect.succeed(sub)
          }),
          (sub) => Effect.sync(() => client.unsubscribe(sub))
        ),
      { bufferSize: options.bufferSize ?? 65_536, strategy: "dropping" }
    )

  const request = (
    subject: string,
    data?: Payload,
    options: RequestOptions = {}
  ): Effect.Effect<Msg, InvalidSubjectError | NoRespondersError | RequestTimeoutError> =>
    Effect.suspend((): Effect.Effect<Msg, InvalidSubjectError | NoRespondersError | RequestTimeoutError> => {
      if (!isValidLiteralSubject(subject)) return Effect.fail(new InvalidSubjectError({ subject }))
      const inbox = newInbox()
      const reply = Deferred.makeUnsafe<Msg>()
      return Effect.acquireUseRelease(
        Effect.sync(() =>
          client.subscribe(
            inbox,
            (s, r, hdrLen, msg) => Deferred.doneUnsafe(reply, Exit.succeed(toMsg(s, r, hdrLen, msg)))
          )!
        ),
        (): Effect.Effect<Msg, NoRespondersError | RequestTimeoutError> => {
          const { hdrLen, msg } = frame(data, options.headers)
          // The router counts deliveries; none means no responders, as nats-server's 503 status.
          if (client.publish(subject, inbox, hdrLen, msg) === 0) return Effect.fail(new NoRespondersError({ subject }))
          return Deferred.await(reply).pipe(
            Effect.timeoutOrElse({
              duration: options.timeout ?? Duration.seconds(5),
              orElse: () => Effect.fail(new RequestTimeoutError({ subject }))
            })
          )
        },
        (sub) => Effect.sync(() => client.unsubscribe(sub))
      )
    })

  return { publish, subscribe, request, inbox: newInbox }
}

/**
 * Core NATS publish/subscribe/request on the embedded broker.
 *
 * @example
 * const program = Effect.gen(function*() {
 *   const nats = yield* Client
 *   yield* nats.publish("greet.joe", "hello")
 * })
 */
export class Client extends Context.Service<Client, ClientShape>()("effect-jetstream/embed/Client") {
  /** The client over the broker's router (provided by `Broker.layer`). */
  static readonly layer: Layer.Layer<Client, never, Router> = Layer.effect(Client)(
    Effect.gen(function*() {
      const router = yield* Router
      const internal = new InternalClient(router)
      yield* Effect.addFinalizer(() => Effect.sync(() => internal.unsubscribeAll()))
      return make(internal)
    })
  )
}
