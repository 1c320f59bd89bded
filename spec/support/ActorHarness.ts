/**
 * Test support for the stream actor in-process (no server, no socket): a router with the actors' client and an
 * application's, a silent logger, a stream config decoded as STREAM.CREATE decodes it, a client that publishes
 * with headers and returns the PubAcks, and letting the actors' fibers run.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { InternalClient } from "../../src/core/InternalClient.ts"
import { MessageRouter } from "../../src/core/Router.ts"
import { decodeStreamCreate } from "../../src/jetstream/model/StreamConfig.ts"
import { Logger } from "../../src/log/Log.ts"
import { encodeHeaders } from "../../src/protocol/Headers.ts"

const text = new TextDecoder()

/** One router: `internal` is the one the actors publish and subscribe with, `app` plays the application. */
export const inProcessClients = () => {
  const router = new MessageRouter()
  return { internal: new InternalClient(router), app: new InternalClient(router) }
}

export const silentLogger = new Logger({ debug: false, trace: false, logtime: false, file: "/dev/null" })

/** `streamConfig` decoded as STREAM.CREATE decodes it; a refused config is a defect of the test. */
export const decodeStream = (streamConfig: Record<string, unknown>) =>
  Effect.gen(function*() {
    const decoded = decodeStreamCreate(JSON.stringify(streamConfig), String(streamConfig.name))
    if (!decoded.ok) return yield* Effect.die(new Error(decoded.error.description))
    return decoded.config
  })

/** Lets the actors' fibers take what was queued. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

export const after = (ms: number) => TestClock.adjust(ms).pipe(Effect.andThen(settle))

/**
 * Publishes from `app`, each message with its own `ack.<n>` reply, and returns what the PubAck(s) of that
 * publish said (`|`-joined), once the actors settled.
 */
export const pubAckPublisher = (app: InternalClient) => {
  const acks: Array<string> = []
  app.subscribe("ack.>", (_s, _r, hdrLen, msg) => acks.push(text.decode(hdrLen > 0 ? msg.subarray(hdrLen) : msg)))
  let n = 0
  return (subject: string, headers: ReadonlyArray<readonly [string, string]>, data = "v") =>
    Effect.gen(function*() {
      const hdr = headers.length === 0 ? new Uint8Array(0) : encodeHeaders(undefined, headers)
      const body = new TextEncoder().encode(data)
      const msg = new Uint8Array(hdr.length + body.length)
      msg.set(hdr)
      msg.set(body, hdr.length)
      const before = acks.length
      app.publish(subject, `ack.${n++}`, headers.length === 0 ? -1 : hdr.length, msg)
      yield* settle
      return acks.slice(before).join("|")
    })
}
