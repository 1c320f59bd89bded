/**
 * The optional TCP listener: an in-process publisher and a TCP client consumer (the official
 * nats.js clients) see the same messages and streams, and the other way round.
 */
import { assert, describe, it } from "@effect/vitest"
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Effect, Fiber, Layer, Stream } from "effect"
import { Broker, Client, JetStreamClient } from "../../src/index.ts"

const live = Broker.layerServer({ port: -1 }).pipe(Layer.provideMerge(Broker.layer()))

const natsClient = Effect.acquireRelease(
  Effect.gen(function*() {
    const server = yield* Broker.Server
    return yield* Effect.promise(() => connect({ servers: `127.0.0.1:${server.port}` }))
  }),
  (nc: NatsConnection) => Effect.promise(() => nc.close())
)

const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe("embedded broker with a TCP listener", () => {
  it.live("in-process publisher → TCP consumer (core and JetStream)", () =>
    Effect.gen(function*() {
      const nats = yield* Client
      const js = yield* JetStreamClient
      const nc = yield* natsClient

      // Core: a nats.js subscription receives an in-process publish.
      const sub = nc.subscribe("hello.>", { max: 1 })
      yield* Effect.promise(() => nc.flush())
      yield* nats.publish("hello.tcp", "from inside", { headers: { "X-From": "embedded" } })
      const got = yield* Effect.promise(async () => {
        for await (const m of sub) return m
        throw new Error("subscription closed")
      })
      assert.strictEqual(text(got.data), "from inside")
      assert.strictEqual(got.headers?.get("X-From"), "embedded")

      // JetStream: stream made and filled in-process, consumed by nats.js over TCP.
      yield* js.streams.add({ name: "IN", subjects: ["in.>"] })
      for (let i = 1; i <= 3; i++) yield* js.publish(`in.${i}`, `m${i}`)
      const jsm = yield* Effect.promise(() => jetstreamManager(nc))
      const info = yield* Effect.promise(() => jsm.streams.info("IN"))
      assert.strictEqual(info.state.messages, 3)
      yield* Effect.promise(() => jsm.consumers.add("IN", { durable_name: "tcp", ack_policy: AckPolicy.Explicit }))
      const consumer = yield* Effect.promise(() => jetstream(nc).consumers.get("IN", "tcp"))
      const received = yield* Effect.promise(async () => {
        const out: Array<string> = []
        const batch = await consumer.fetch({ max_messages: 3, expires: 2000 })
        for await (const m of batch) {
          out.push(`${m.subject}:${text(m.data)}`)
          m.ack()
        }
        return out
      })
      assert.deepStrictEqual(received, ["in.1:m1", "in.2:m2", "in.3:m3"])
    }).pipe(Effect.provide(live)))

  it.live("TCP publisher → in-process consumer (core and JetStream)", () =>
    Effect.gen(function*() {
      const nats = yield* Client
      const js = yield* JetStreamClient
      const nc = yield* natsClient

      // Core: an in-process subscription stream receives a nats.js publish.
      const fiber = yield* nats.subscribe("from.tcp").pipe(Stream.take(1), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      nc.publish("from.tcp", "hi")
      const [m] = yield* Fiber.join(fiber)
      assert.strictEqual(m!.text(), "hi")

      // JetStream: stream created and filled by nats.js, consumed in-process.
      const jsm = yield* Effect.promise(() => jetstreamManager(nc))
      yield* Effect.promise(() => jsm.streams.add({ name: "OUT", subjects: ["out.>"] }))
      for (let i = 1; i <= 3; i++) {
        const ack = yield* Effect.promise(() => jetstream(nc).publish(`out.${i}`, `m${i}`))
        assert.strictEqual(ack.seq, i)
      }
      assert.strictEqual((yield* js.streams.info("OUT")).state.messages, 3)
      yield* js.consumers.add("OUT", { durable_name: "inside", ack_policy: "explicit" })
      const received = yield* js.consume("OUT", "inside").pipe(
        Stream.mapEffect((msg) => Effect.as(msg.ack, `${msg.subject}:${msg.text()}`)),
        Stream.take(3),
        Stream.runCollect
      )
      assert.deepStrictEqual(received, ["out.1:m1", "out.2:m2", "out.3:m3"])
      // nats.js sees the in-process acks.
      const ci = yield* Effect.promise(() => jsm.consumers.info("OUT", "inside"))
      assert.strictEqual(ci.ack_floor.stream_seq, 3)
      assert.strictEqual(ci.num_ack_pending, 0)
    }).pipe(Effect.provide(live)))
})
