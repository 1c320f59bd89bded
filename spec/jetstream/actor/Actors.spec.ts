/**
 * The stream and consumer actors in-process, without a server or socket: a router, internal
 * clients, a memory store and the broker clock under TestClock. Time-driven behaviour (max_age
 * expiry, ack-wait redelivery) is checked by moving the clock, never by sleeping.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { BrokerClock } from "../../../src/core/BrokerClock.ts"
import { ConsumerActor } from "../../../src/jetstream/consumer/ConsumerActor.ts"
import { decodeConsumerCreate } from "../../../src/jetstream/model/ConsumerConfig.ts"
import { StreamActor } from "../../../src/jetstream/stream/StreamActor.ts"
import { makeMemory } from "../../../src/store/StreamStore.ts"
import { decodeStream, inProcessClients, settle, silentLogger } from "../../support/ActorHarness.ts"

const text = new TextDecoder()
const bytes = (s: string) => new TextEncoder().encode(s)

interface Received {
  readonly subject: string
  readonly reply: string | undefined
  readonly body: string
}

/** A stream actor on a memory log, plus a client that records what it receives on `subjects`. */
const setup = (streamConfig: Record<string, unknown>) =>
  Effect.gen(function*() {
    const clock = yield* BrokerClock
    const { internal, app } = inProcessClients()
    const decodedConfig = yield* decodeStream(streamConfig)
    const store = makeMemory({})
    const log = yield* store.open(decodedConfig.name, {})
    const stream = yield* StreamActor.make(decodedConfig, clock.nowNs(), log, {
      client: internal,
      log: silentLogger,
      nowNs: clock.nowNs
    })
    const received: Array<Received> = []
    const listen = (subject: string) =>
      app.subscribe(subject, (s, reply, hdrLen, msg) => {
        received.push({ subject: s, reply, body: text.decode(hdrLen > 0 ? msg.subarray(hdrLen) : msg) })
      })
    const publish = (subject: string, data: string, reply?: string) => app.publish(subject, reply, -1, bytes(data))
    const consumer = (name: string, config: Record<string, unknown>) =>
      Effect.gen(function*() {
        const req = decodeConsumerCreate(
          JSON.stringify({ stream_name: decodedConfig.name, config: { durable_name: name, ...config } }),
          `$JS.API.CONSUMER.DURABLE.CREATE.${decodedConfig.name}.${name}`,
          decodedConfig
        )
        if (!req.ok) return yield* Effect.die(new Error(req.error.description))
        return yield* ConsumerActor.make(stream, name, req.request.config, clock.nowNs(), {
          client: internal,
          log: silentLogger,
          nowMs: clock.nowMs,
          schedule: clock.schedule,
          acked: (_c, seqs) => stream.retain(seqs),
          inactive: () => {}
        })
      })
    return { stream, received, listen, publish, consumer }
  })

const withClock = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.provide(BrokerClock.layer.pipe(Layer.fresh)), Effect.scoped)

describe("StreamActor in-process", () => {
  it.effect("stores a publish and answers with nats-server's PubAck", () =>
    withClock(Effect.gen(function*() {
      const { stream, received, listen, publish } = yield* setup({
        name: "ORDERS",
        subjects: ["orders.>"],
        storage: "memory"
      })
      listen("ack.>")
      publish("orders.1", "apples", "ack.1")
      publish("orders.2", "pears", "ack.2")
      yield* settle
      // nats-server writes its PubAck from a template with a space after the comma.
      assert.deepStrictEqual(received.map((r) => r.body), [
        "{\"stream\":\"ORDERS\", \"seq\":1}",
        "{\"stream\":\"ORDERS\", \"seq\":2}"
      ])
      assert.strictEqual(stream.store.state().msgs, 2)
      assert.strictEqual(text.decode(stream.store.get(2)!.data), "pears")
    })))

  it.effect("expires messages past max_age when the clock moves (no real waiting)", () =>
    withClock(Effect.gen(function*() {
      const { stream, publish } = yield* setup({
        name: "EXP",
        subjects: ["exp.>"],
        storage: "memory",
        max_age: 60_000_000_000
      })
      publish("exp.a", "1")
      yield* settle
      yield* TestClock.adjust("30 seconds")
      publish("exp.b", "2")
      yield* settle
      assert.strictEqual(stream.store.state().msgs, 2)
      yield* TestClock.adjust("31 seconds")
      yield* settle
      assert.deepStrictEqual([stream.store.state().msgs, stream.store.state().firstSeq], [1, 2])
      yield* TestClock.adjust("30 seconds")
      yield* settle
      assert.strictEqual(stream.store.state().msgs, 0)
    })))

  it.effect("a management call runs after the publishes queued before it", () =>
    withClock(Effect.gen(function*() {
      const { stream, publish } = yield* setup({ name: "ORD", subjects: ["ord.>"], storage: "memory" })
      for (let i = 0; i < 50; i++) publish(`ord.${i}`, String(i))
      const seen = yield* stream.call((a) => a.store.state().lastSeq)
      assert.strictEqual(seen, 50)
    })))
})

describe("ConsumerActor in-process", () => {
  it.effect("push delivery, redelivery after ack_wait on the test clock, and an ack that ends it", () =>
    withClock(Effect.gen(function*() {
      const { received, listen, publish, consumer } = yield* setup({
        name: "JOBS",
        subjects: ["jobs.>"],
        storage: "memory"
      })
      listen("deliver.jobs")
      yield* consumer("worker", { deliver_subject: "deliver.jobs", ack_policy: "explicit", ack_wait: 5_000_000_000 })
      publish("jobs.1", "work")
      yield* settle
      assert.strictEqual(received.length, 1)
      // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
      assert.match(received[0]!.reply ?? "", /^\$JS\.ACK\.JOBS\.worker\.1\.1\.1\.\d+\.0$/)
      yield* TestClock.adjust("4 seconds")
      yield* settle
      assert.strictEqual(received.length, 1)
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.strictEqual(received.length, 2)
      assert.match(received[1]!.reply ?? "", /^\$JS\.ACK\.JOBS\.worker\.2\.1\.2\./)
      publish(received[1]!.reply!, "+ACK")
      yield* settle
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual(received.length, 2)
    })))

  it.effect("a workqueue stream forgets a message once its consumer acks it", () =>
    withClock(Effect.gen(function*() {
      const { stream, received, listen, publish, consumer } = yield* setup({
        name: "WQ",
        subjects: ["wq.>"],
        storage: "memory",
        retention: "workqueue"
      })
      listen("deliver.wq")
      yield* consumer("w", { deliver_subject: "deliver.wq", ack_policy: "explicit" })
      publish("wq.1", "a")
      publish("wq.2", "b")
      yield* settle
      assert.deepStrictEqual(received.map((r) => r.body), ["a", "b"])
      publish(received[0]!.reply!, "+ACK")
      yield* settle
      assert.deepStrictEqual([stream.store.state().msgs, stream.store.state().firstSeq], [1, 2])
    })))
})
