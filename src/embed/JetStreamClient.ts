/**
 * JetStream for embedders: stream and consumer management, publish with a typed PubAck, and pull
 * consumers as Streams.
 *
 * Every call is a request on the broker's own `$JS.API.>` / stream subjects over the in-process
 * router, the exact JSON a socket client sends. There is one implementation of the semantics (the
 * API handlers and actors in src/jetstream); this module only encodes requests and types replies.
 * Replies are typed with casts, not decoded: they come from our own encoders in src/jetstream/api.
 */
import { Context, Duration, Effect, Layer, Stream } from "effect"
import { Buffer } from "node:buffer"
import { InternalClient } from "../core/InternalClient.ts"
import { Router } from "../core/Router.ts"
import { encodeJson, parseJson } from "../jetstream/codec/Json.ts"
import type { ConsumerConfig } from "../jetstream/model/ConsumerConfig.ts"
import type { StreamConfig } from "../jetstream/model/StreamConfig.ts"
import { type ClientShape, type Headers, make as makeCore, type Payload } from "./Client.ts"
import { consume, type ConsumeOptions, type JsMsg } from "./Consumer.ts"
import { type ConsumeError, JetStreamApiError, type JetStreamError } from "./Errors.ts"

export type { ConsumerConfig, StreamConfig }

/**
 * A stream configuration as sent to `$JS.API.STREAM.CREATE`: nats-server's JSON field names, only
 * `name` required; durations (`max_age`, `duplicate_window`) in nanoseconds (see {@link nanos}).
 */
export type StreamConfigInput = { readonly name: string } & Partial<Omit<StreamConfig, "name">>

/** A consumer configuration (nats-server's JSON field names; durations in nanoseconds). */
export type ConsumerConfigInput = Partial<ConsumerConfig>

/** `state` of a stream info reply. */
export interface StreamState {
  readonly messages: number
  readonly bytes: number
  readonly first_seq: number
  readonly first_ts: string
  readonly last_seq: number
  readonly last_ts: string
  readonly num_subjects?: number
  readonly num_deleted?: number
  readonly consumer_count: number
}

/** Reply of STREAM.CREATE / STREAM.INFO. */
export interface StreamInfo {
  readonly config: StreamConfig
  /** RFC 3339 */
  readonly created: string
  readonly state: StreamState
  /** RFC 3339: the broker's time when it answered (2.10). */
  readonly ts?: string
}

/** Reply of CONSUMER.CREATE / CONSUMER.INFO. */
export interface ConsumerInfo {
  readonly stream_name: string
  readonly name: string
  readonly created: string
  readonly config: ConsumerConfig
  readonly delivered: { readonly consumer_seq: number; readonly stream_seq: number; readonly last_active?: string }
  readonly ack_floor: { readonly consumer_seq: number; readonly stream_seq: number; readonly last_active?: string }
  readonly num_ack_pending: number
  readonly num_redelivered: number
  readonly num_waiting: number
  readonly num_pending: number
  /** RFC 3339: the broker's time when it answered (2.10). */
  readonly ts?: string
}

/** The broker's acknowledgement of a JetStream publish. */
export interface PubAck {
  readonly stream: string
  readonly seq: number
  /** True when the `msgId` was seen within the stream's duplicate window (nothing was stored). */
  readonly duplicate: boolean
}

/** A stored message as STREAM.MSG.GET returns it (payload and headers decoded). */
export interface StoredMessage {
  readonly subject: string
  readonly seq: number
  readonly data: Uint8Array
  /** Raw `NATS/1.0` header block, when the message had one. */
  readonly header: Uint8Array | undefined
  /** RFC 3339 */
  readonly time: string
}

/** Options for {@link JetStreamClientShape.publish}: the JetStream publish headers, typed. */
export interface JsPublishOptions {
  readonly headers?: Headers
  /** `Nats-Msg-Id`: deduplicated within the stream's duplicate window. */
  readonly msgId?: string
  /** `Nats-Expected-Stream` */
  readonly expectedStream?: string
  /** `Nats-Expected-Last-Sequence` */
  readonly expectedLastSequence?: number
  /** `Nats-Expected-Last-Subject-Sequence` */
  readonly expectedLastSubjectSequence?: number
  /** `Nats-Expected-Last-Msg-Id` */
  readonly expectedLastMsgId?: string
  /** Default 5 s. */
  readonly timeout?: Duration.Input
}

/** Options for purge (STREAM.PURGE request fields). */
export interface PurgeOptions {
  readonly filter?: string
  /** Purge up to but not including this sequence. */
  readonly seq?: number
  /** Keep this many of the newest messages. */
  readonly keep?: number
}

/** Which message STREAM.MSG.GET returns. */
export type MessageQuery = { readonly seq: number } | { readonly lastBySubject: string }

/** JetStream operations on the embedded broker. Every failure is a typed {@link JetStreamError}. */
export interface JetStreamClientShape {
  readonly streams: {
    add(config: StreamConfigInput): Effect.Effect<StreamInfo, JetStreamError>
    update(config: StreamConfigInput): Effect.Effect<StreamInfo, JetStreamError>
    info(name: string): Effect.Effect<StreamInfo, JetStreamError>
    delete(name: string): Effect.Effect<void, JetStreamError>
    /** Returns how many messages were removed. */
    purge(name: string, options?: PurgeOptions): Effect.Effect<number, JetStreamError>
    getMessage(name: string, query: MessageQuery): Effect.Effect<StoredMessage, JetStreamError>
    deleteMessage(name: string, seq: number): Effect.Effect<void, JetStreamError>
    names(): Effect.Effect<ReadonlyArray<string>, JetStreamError>
  }
  readonly consumers: {
    /** Creates (or idempotently re-creates) a consumer; `durable_name` or `name` makes it named. */
    add(stream: string, config: ConsumerConfigInput): Effect.Effect<ConsumerInfo, JetStreamError>
    info(stream: string, name: string): Effect.Effect<ConsumerInfo, JetStreamError>
    delete(stream: string, name: string): Effect.Effect<void, JetStreamError>
  }
  /** Publishes into whichever stream captures `subject`; fails with the API error (e.g. 10071). */
  publish(subject: string, data?: Payload, options?: JsPublishOptions): Effect.Effect<PubAck, JetStreamError>
  /**
   * Messages of a pull consumer, for as long as the stream runs. Verifies the consumer first
   * (a missing one fails with err_code 10014).
   */
  consume(
    stream: string,
    consumer: string,
    options?: ConsumeOptions
  ): Stream.Stream<JsMsg, ConsumeError | JetStreamError>
}

/** A duration in nanoseconds, for the `*_ns`-style fields of stream and consumer configs. */
export const nanos = (duration: Duration.Input): number => Number(Duration.toNanosUnsafe(duration))

const API = "$JS.API."

const failure = (reply: Record<string, unknown>): JetStreamApiError | undefined => {
  const e = reply.error as { code?: number; err_code?: number; description?: string } | undefined
  if (e === undefined) return undefined
  return new JetStreamApiError({ code: e.code ?? 0, errCode: e.err_code ?? 0, description: e.description ?? "" })
}

/** Builds the client on an in-process client of the router. */
export const make = (internal: InternalClient, core: ClientShape = makeCore(internal)): JetStreamClientShape => {
  const call = <A>(subject: string, body: unknown, timeout?: Duration.Input): Effect.Effect<A, JetStreamError> =>
    core.request(subject, body === undefined ? undefined : encodeJson(body), timeout === undefined ? {} : { timeout })
      .pipe(
        Effect.flatMap((msg) => {
          const reply = parseJson(msg.text()) as Record<string, unknown>
          const error = failure(reply)
          return error === undefined ? Effect.succeed(reply as A) : Effect.fail(error)
        })
      )

  const streams: JetStreamClientShape["streams"] = {
    add: (config) => call<StreamInfo>(`${API}STREAM.CREATE.${config.name}`, config),
    update: (config) => call<StreamInfo>(`${API}STREAM.UPDATE.${config.name}`, config),
    info: (name) => call<StreamInfo>(`${API}STREAM.INFO.${name}`, undefined),
    delete: (name) => Effect.asVoid(call(`${API}STREAM.DELETE.${name}`, undefined)),
    purge: (name, options = {}) =>
      Effect.map(call<{ purged: number }>(`${API}STREAM.PURGE.${name}`, options), (r) => r.purged),
    getMessage: (name, query) =>
      Effect.map(
        call<{ message: { subject: string; seq: number; data?: string; hdrs?: string; time: string } }>(
          `${API}STREAM.MSG.GET.${name}`,
          "seq" in query ? { seq: query.seq } : { last_by_subj: query.lastBySubject }
        ),
        ({ message: m }) => ({
          subject: m.subject,
          seq: m.seq,
          data: m.data === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(m.data, "base64")),
          header: m.hdrs === undefined ? undefined : new Uint8Array(Buffer.from(m.hdrs, "base64")),
          time: m.time
        })
      ),
    deleteMessage: (name, seq) => Effect.asVoid(call(`${API}STREAM.MSG.DELETE.${name}`, { seq })),
    names: () =>
      Effect.map(call<{ streams: ReadonlyArray<string> | null }>(`${API}STREAM.NAMES`, {}), (r) => r.streams ?? [])
  }

  const consumers: JetStreamClientShape["consumers"] = {
    add: (stream, config) => {
      const name = config.name ?? config.durable_name
      const subject = name === undefined ? `${API}CONSUMER.CREATE.${stream}` : `${API}CONSUMER.CREATE.${stream}.${name}`
      return call<ConsumerInfo>(subject, { stream_name: stream, config })
    },
    info: (stream, name) => call<ConsumerInfo>(`${API}CONSUMER.INFO.${stream}.${name}`, undefined),
    delete: (stream, name) => Effect.asVoid(call(`${API}CONSUMER.DELETE.${stream}.${name}`, undefined))
  }

  const publish = (subject: string, data?: Payload, options: JsPublishOptions = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.msgId !== undefined) headers["Nats-Msg-Id"] = options.msgId
    if (options.expectedStream !== undefined) headers["Nats-Expected-Stream"] = options.expectedStream
    if (options.expectedLastSequence !== undefined) {
      headers["Nats-Expected-Last-Sequence"] = String(options.expectedLastSequence)
    }
    if (options.expectedLastSubjectSequence !== undefined) {
      headers["Nats-Expected-Last-Subject-Sequence"] = String(options.expectedLastSubjectSequence)
    }
    if (options.expectedLastMsgId !== undefined) headers["Nats-Expected-Last-Msg-Id"] = options.expectedLastMsgId
    return core.request(subject, data, {
      headers,
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    })
      .pipe(
        Effect.flatMap((msg): Effect.Effect<PubAck, JetStreamApiError> => {
          const reply = parseJson(msg.text()) as Record<string, unknown>
          const error = failure(reply)
          if (error !== undefined) return Effect.fail(error)
          return Effect.succeed({
            stream: reply.stream as string,
            seq: Number(reply.seq),
            duplicate: reply.duplicate === true
          })
        })
      )
  }

  return {
    streams,
    consumers,
    publish,
    consume: (stream, consumer, options) =>
      Stream.unwrap(Effect.as(consumers.info(stream, consumer), consume(internal, core, stream, consumer, options)))
  }
}

/**
 * JetStream on the embedded broker.
 *
 * @example
 * const program = Effect.gen(function*() {
 *   const js = yield* JetStreamClient
 *   yield* js.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
 *   const ack = yield* js.publish("orders.1", "hello") // { stream: "ORDERS", seq: 1, duplicate: false }
 * })
 */
export class JetStreamClient extends Context.Service<JetStreamClient, JetStreamClientShape>()(
  "effect-jetstream/embed/JetStreamClient"
) {
  /** The client over the broker's router (provided by `Broker.layer`). */
  static readonly layer: Layer.Layer<JetStreamClient, never, Router> = Layer.effect(JetStreamClient)(
    Effect.gen(function*() {
      const router = yield* Router
      const internal = new InternalClient(router)
      yield* Effect.addFinalizer(() => Effect.sync(() => internal.unsubscribeAll()))
      return make(internal)
    })
  )
}
