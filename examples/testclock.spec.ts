/**
 * Testing an application's JetStream consumer logic under Effect's TestClock.
 *
 * The embedded broker takes its time from Effect's `Clock`, so ack-wait redelivery, NAK delays
 * and `max_age` expiry advance with `TestClock.adjust`: no real sleeping, the whole file runs in
 * milliseconds. `it.effect` (from @effect/vitest) provides the TestClock; building the broker
 * layer inside the test makes the broker use it.
 *
 *   npx vitest run examples/testclock.spec.ts
 */
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Broker, JetStreamClient, type JsMsg, nanos } from "../src/index.ts"

// --- the application under test ---------------------------------------------------------------

class GatewayDown extends Data.TaggedError("GatewayDown")<{}> {}

/**
 * Charges each order. When the payment gateway fails, the message is left unacknowledged, so
 * JetStream redelivers it once the consumer's ack_wait has passed.
 */
const processPayments = (charge: (order: string) => Effect.Effect<void, GatewayDown>) =>
  Effect.gen(function*() {
    const js = yield* JetStreamClient
    yield* js.consume("ORDERS", "payments").pipe(
      Stream.runForEach((m) =>
        charge(m.text()).pipe(
          Effect.andThen(m.ack),
          Effect.catchTag("GatewayDown", () => Effect.void)
        )
      )
    )
  })

// --- helpers ---------------------------------------------------------------------------------

const setup = Effect.gen(function*() {
  const js = yield* JetStreamClient
  yield* js.streams.add({ name: "ORDERS", subjects: ["orders.>"], max_age: nanos("1 hour") })
  yield* js.consumers.add("ORDERS", { durable_name: "payments", ack_policy: "explicit", ack_wait: nanos("30 seconds") })
  return js
})

/** Waits (on scheduler turns, not time) until `check` holds. */
const eventually = <A, E, R>(effect: Effect.Effect<A, E, R>, check: (a: A) => boolean) =>
  effect.pipe(
    Effect.tap(() => Effect.yieldNow),
    Effect.filterOrFail(check, () => "not yet"),
    Effect.retry({ times: 1000 })
  )

// --- tests -----------------------------------------------------------------------------------

describe("consumer logic under TestClock", () => {
  it.effect("a failed charge is retried after ack_wait (30 s of broker time, no real waiting)", () =>
    Effect.gen(function*() {
      const js = yield* setup
      const attempts: Array<string> = []
      let gatewayUp = false
      const charge = (order: string) =>
        Effect.suspend(() => {
          attempts.push(order)
          return gatewayUp ? Effect.void : Effect.fail(new GatewayDown())
        })
      yield* Effect.forkChild(processPayments(charge))

      yield* js.publish("orders.1", "order-1")
      yield* eventually(Effect.sync(() => attempts.length), (n) => n === 1)
      gatewayUp = true

      // Not yet: 29 seconds into a 30 second ack_wait nothing is redelivered.
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual((yield* js.consumers.info("ORDERS", "payments")).num_redelivered, 0)
      assert.deepStrictEqual(attempts, ["order-1"])

      // Past ack_wait: redelivered, charged, acknowledged.
      yield* TestClock.adjust("2 seconds")
      yield* eventually(js.consumers.info("ORDERS", "payments"), (i) => i.ack_floor.stream_seq === 1)
      assert.deepStrictEqual(attempts, ["order-1", "order-1"])
    }).pipe(Effect.provide(Broker.layer())))

  it.effect("nak with a delay redelivers after exactly that delay", () =>
    Effect.gen(function*() {
      const js = yield* setup
      const deliveries = yield* Queue.unbounded<JsMsg>()
      yield* js.consume("ORDERS", "payments").pipe(
        Stream.runForEach((m) => Queue.offer(deliveries, m)),
        Effect.forkChild
      )
      yield* js.publish("orders.2", "order-2")
      const first = yield* Queue.take(deliveries)
      yield* first.nak("10 seconds")

      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(yield* Queue.size(deliveries), 0)
      yield* TestClock.adjust("1 second")
      const second = yield* Queue.take(deliveries)
      assert.isTrue(second.redelivered)
      assert.strictEqual(second.info.deliveryCount, 2)
      yield* second.ack
    }).pipe(Effect.provide(Broker.layer())))

  it.effect("max_age expires unprocessed orders (1 hour of broker time)", () =>
    Effect.gen(function*() {
      const js = yield* setup
      yield* js.publish("orders.3", "order-3")
      yield* TestClock.adjust("30 minutes")
      yield* js.publish("orders.4", "order-4")
      assert.strictEqual((yield* js.streams.info("ORDERS")).state.messages, 2)

      // order-3 is an hour old now; order-4 has half an hour left.
      yield* TestClock.adjust("31 minutes")
      const info = yield* eventually(js.streams.info("ORDERS"), (i) => i.state.messages === 1)
      assert.strictEqual(info.state.first_seq, 2)

      yield* TestClock.adjust("30 minutes")
      yield* eventually(js.streams.info("ORDERS"), (i) => i.state.messages === 0)
      const consumer = yield* js.consumers.info("ORDERS", "payments")
      assert.strictEqual(consumer.num_pending, 0)
    }).pipe(Effect.provide(Broker.layer())))
})
