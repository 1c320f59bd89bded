/**
 * The embedded broker as Effect layers: `layer(config)` runs the broker in-process (router,
 * JetStream, storage) and provides the typed `Client` and `JetStreamClient`; `layerServer(options)`
 * adds a TCP listener on top, so external NATS clients share the same subjects and streams.
 */
import { Effect, Layer, Schema } from "effect"
import { Accounts } from "../accounts/Accounts.ts"
import * as CoreBroker from "../Broker.ts"
import * as BrokerConfig from "../config/BrokerConfig.ts"
import { ServerConfig } from "../config/BrokerConfig.ts"
import type { BrokerClock } from "../core/BrokerClock.ts"
import type { Router } from "../core/Router.ts"
import { Server } from "../core/Server.ts"
import type { JetStream } from "../jetstream/JetStream.ts"
import type { Log } from "../log/Log.ts"
import { Transport, type TransportError } from "../platform/Transport.ts"
import { Client } from "./Client.ts"
import { BrokerConfigError } from "./Errors.ts"
import { JetStreamClient } from "./JetStreamClient.ts"

/**
 * Configuration of an embedded broker. Every key is optional:
 * - `storage`: `"memory"` (default; nothing survives the layer) or `"file"` (under `storeDir`).
 * - `storeDir`: file store directory (default `./data`).
 * - `serverName`, `maxPayload` (bytes, default 1 MiB).
 * - `sync`: file store durability, `"write"` (default; survives a process kill) or `"always"` (fsync per batch).
 * - `log`: `"silent"` (default), `"info"`, `"debug"` or `"trace"` (nats-server style lines on stderr).
 */
export const Config = Schema.Struct({
  storage: Schema.optionalKey(Schema.Literals(["memory", "file"])),
  storeDir: Schema.optionalKey(Schema.String),
  serverName: Schema.optionalKey(Schema.String),
  maxPayload: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  sync: Schema.optionalKey(Schema.Literals(["write", "always"])),
  log: Schema.optionalKey(Schema.Literals(["silent", "info", "debug", "trace"]))
})

/** Configuration of an embedded broker (see {@link Config}). */
export type Config = typeof Config.Type

/**
 * Options of the TCP listener: `host` (default `127.0.0.1`) and `port` (default 4222; `-1` or `0`
 * picks a free port, read it back from the `Server` service's `port`).
 */
export const ServerOptions = Schema.Struct({
  host: Schema.optionalKey(Schema.String),
  port: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: -1, maximum: 65535 })))
})

/** Options of the TCP listener (see {@link ServerOptions}). */
export type ServerOptions = typeof ServerOptions.Type

/**
 * The broker's internal services, part of the layer's output so `layerServer` (and monitoring)
 * can be built on the same router and streams. Not a stable API.
 */
export type Internals = ServerConfig | Router | Log | JetStream | BrokerClock

type JsCore = Extract<ReturnType<typeof CoreBroker.coreLayer>, Layer.Layer<JetStream, unknown, never>>

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, input: unknown) =>
  Schema.decodeUnknownEffect(schema)(input).pipe(
    Effect.mapError((e) => new BrokerConfigError({ message: e.message }))
  )

/**
 * The broker, in-process: JetStream enabled, no socket. Provides {@link Client} and
 * {@link JetStreamClient}. Time comes from Effect's `Clock`, so under `TestClock` ack waits,
 * redelivery, backoff and `max_age` advance with `TestClock.adjust`.
 *
 * @example
 * Effect.gen(function*() {
 *   const js = yield* JetStreamClient
 *   yield* js.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
 * }).pipe(Effect.provide(Broker.layer({ storage: "memory" })))
 */
export const layer = (
  config: Config = {}
): Layer.Layer<Client | JetStreamClient | Internals, BrokerConfigError> =>
  Layer.unwrap(Effect.gen(function*() {
    const c = yield* decode(Config, config)
    const log = c.log ?? "silent"
    const resolved = BrokerConfig.make({
      jetstream: true,
      // Never listened on here; `layerServer` supplies the listener's address.
      host: "127.0.0.1",
      port: -1,
      ...(c.storeDir === undefined ? {} : { storeDir: c.storeDir }),
      ...(c.serverName === undefined ? {} : { serverName: c.serverName }),
      ...(c.maxPayload === undefined ? {} : { maxPayload: c.maxPayload }),
      ...(c.sync === undefined ? {} : { sync: c.sync }),
      debug: log === "debug" || log === "trace",
      trace: log === "trace"
    })
    // coreLayer's declared type is the union of its with/without-JetStream branches; this call
    // always takes the JetStream branch (and no monitor), so narrow to it.
    const core = CoreBroker.coreLayer(resolved, { silent: log === "silent", storage: c.storage ?? "memory" }) as JsCore
    return Layer.provideMerge(Layer.merge(Client.layer, JetStreamClient.layer), core)
  }))

/**
 * A TCP listener for an embedded broker: external clients (nats.js, the `nats` CLI, …) connect to
 * it and see the same subjects, streams and consumers as the in-process clients. Provides the
 * broker's `Server` service (bound `host` and `port`).
 *
 * @example
 * const live = Broker.layerServer({ port: -1 }).pipe(Layer.provideMerge(Broker.layer()))
 */
export const layerServer = (
  options: ServerOptions = {}
): Layer.Layer<Server, TransportError | BrokerConfigError, ServerConfig | Router | Log> =>
  Layer.unwrap(Effect.gen(function*() {
    const o = yield* decode(ServerOptions, options)
    const listen = Layer.effect(ServerConfig)(
      Effect.gen(function*() {
        const c = yield* ServerConfig
        return { ...c, host: o.host ?? "127.0.0.1", port: o.port ?? 4222 }
      })
    )
    // Embedded brokers configure no accounts: the listener's clients share the global account.
    return Server.layer.pipe(Layer.provide(Layer.mergeAll(listen, Transport.layerNode, Accounts.layer)))
  }))

export { Server }
