/**
 * effect-jetstream as a library: a NATS JetStream-compatible broker you embed in an Effect
 * application as layers.
 *
 * @example
 * import { Effect, Stream } from "effect"
 * import { Broker, JetStreamClient } from "effect-jetstream"
 *
 * const program = Effect.gen(function*() {
 *   const js = yield* JetStreamClient
 *   yield* js.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
 *   yield* js.publish("orders.1", "hello")
 *   yield* js.consumers.add("ORDERS", { durable_name: "worker", ack_policy: "explicit" })
 *   yield* js.consume("ORDERS", "worker").pipe(
 *     Stream.take(1),
 *     Stream.runForEach((m) => m.ack)
 *   )
 * }).pipe(Effect.provide(Broker.layer({ storage: "memory" })))
 *
 * @module
 */

/**
 * Layers: `Broker.layer(config)` (in-process broker: `Client` + `JetStreamClient`, no socket),
 * `Broker.layerServer(options)` (adds a TCP listener for external NATS clients), the `Broker.Config`
 * and `Broker.ServerOptions` schemas, and the `Broker.Server` service (bound host and port).
 */
export * as Broker from "./embed/Broker.ts"

/** Core NATS publish/subscribe/request as Effects and Streams: the `Client` service and its types. */
export {
  Client,
  type ClientShape,
  type Headers,
  type Msg,
  type Payload,
  type PublishOptions,
  type RequestOptions,
  type SubscribeOptions
} from "./embed/Client.ts"

/** JetStream streams, consumers, publish with PubAck: the `JetStreamClient` service and its types. */
export {
  type ConsumerConfig,
  type ConsumerConfigInput,
  type ConsumerInfo,
  JetStreamClient,
  type JetStreamClientShape,
  type JsPublishOptions,
  type MessageQuery,
  nanos,
  type PubAck,
  type PurgeOptions,
  type StoredMessage,
  type StreamConfig,
  type StreamConfigInput,
  type StreamInfo,
  type StreamState
} from "./embed/JetStreamClient.ts"

/** Messages delivered by a consumer (`ack`/`nak`/`term`/`inProgress` effects) and consume options. */
export { type AckError, type ConsumeOptions, type DeliveryInfo, type JsMsg } from "./embed/Consumer.ts"

/** Typed failures (tagged, Schema-backed errors carrying nats-server's codes). */
export {
  BrokerConfigError,
  ConsumeError,
  InvalidSubjectError,
  JetStreamApiError,
  type JetStreamError,
  NoRespondersError,
  RequestTimeoutError
} from "./embed/Errors.ts"
