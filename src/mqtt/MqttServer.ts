/**
 * The MQTT listener (`mqtt { port }`): creates the MQTT streams in the global account's JetStream,
 * loads the retained messages, then accepts MQTT 3.1.1 clients on their own port. Built only when
 * the config asks for it, on top of a broker whose JetStream is up.
 */
import { Context, Effect, Layer } from "effect"
import * as net from "node:net"
import * as tls from "node:tls"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { InternalClient } from "../core/InternalClient.ts"
import { Router } from "../core/Router.ts"
import * as JetStreamClient from "../embed/JetStreamClient.ts"
import { Log } from "../log/Log.ts"
import { mqttAuthenticator } from "./MqttAuth.ts"
import { MqttConnection } from "./MqttConnection.ts"
import { hash, MqttStore } from "./MqttStore.ts"

export interface MqttServerShape {
  /** The bound port (the configured one, or the one picked for -1). */
  readonly port: number
  readonly connections: () => number
}

export class MqttServer extends Context.Service<MqttServer, MqttServerShape | undefined>()(
  "effect-jetstream/mqtt/MqttServer"
) {
  /** Undefined when `mqtt {}` is absent or its port is 0. */
  static readonly layer = Layer.effect(MqttServer)(Effect.gen(function*() {
    const config = yield* ServerConfig
    const settings = config.mqtt
    if (settings === undefined || settings.port === 0) return undefined
    const router = yield* Router
    const log = yield* Log
    const internal = new InternalClient(router)
    yield* Effect.addFinalizer(() => Effect.sync(() => internal.unsubscribeAll()))
    const serverHash = hash(config.serverName ?? "")
    const store = new MqttStore(internal, JetStreamClient.make(internal), settings, serverHash)
    yield* Effect.orDie(store.setup)
    const sessions = new Map<string, MqttConnection>()
    const sockets = new Set<net.Socket>()
    const ctx = {
      router,
      store,
      serverHash,
      sessions,
      debug: (m: string) => log.debug(m),
      maxPayload: config.maxPayload,
      auth: mqttAuthenticator(config, settings),
      error: (m: string) => log.error(m)
    }
    const server = yield* Effect.acquireRelease(
      Effect.callback<net.Server, Error>((resume) => {
        const accept = (socket: net.Socket) => {
          socket.setNoDelay(true)
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          new MqttConnection(socket, ctx)
        }
        const t = settings.tls
        // mqtts: TLS from the first byte; the MQTT connection starts once the handshake is done.
        let s: net.Server
        try {
          s = t === undefined ? net.createServer(accept) : tls.createServer({
            cert: t.cert,
            key: t.key,
            ...(t.verify && t.ca !== undefined ? { ca: t.ca } : {}),
            requestCert: t.verify,
            rejectUnauthorized: t.verify,
            handshakeTimeout: t.timeoutMs
          }, accept)
        } catch (e) {
          // A key that does not match its certificate, or PEM that does not parse.
          return resume(Effect.fail(new Error(`mqtt.tls: ${(e as Error).message}`)))
        }
        if (t !== undefined) {
          s.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
            const why = (err as Error & { reason?: string }).reason ?? err.message
            log.error(`MQTT ${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}: TLS handshake error: ${why}`)
          })
        }
        s.once("error", (e) => resume(Effect.fail(e)))
        s.listen(settings.port === -1 ? 0 : settings.port, settings.host, () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.callback<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.void))
        })
    ).pipe(Effect.orDie)
    const address = server.address() as net.AddressInfo
    log.info(
      `Listening for MQTT clients on ${
        settings.tls === undefined ? "mqtt" : "mqtts"
      }://${settings.host}:${address.port}`
    )
    return { port: address.port, connections: () => sockets.size }
  }))
}
