/**
 * Embedding example: run the broker inside an Effect program, no socket.
 *
 *   npx tsx examples/embedded.ts
 *
 * Creates a stream, publishes three orders (typed PubAcks), watches them on a core subscription,
 * processes them with a durable pull consumer (ack / nak and redelivery), and prints the stream
 * state. Exits 0; the layer's scope shuts the broker down.
 */
import { Effect, Fiber, Stream } from "effect"
import { Broker, Client, JetStreamClient } from "../src/index.ts"

const program = Effect.gen(function*() {
  const nats = yield* Client
  const js = yield* JetStreamClient

  yield* js.streams.add({ name: "ORDERS", subjects: ["orders.>"] })

  // A core subscriber sees the same messages the stream captures.
  const watcher = yield* nats.subscribe("orders.>").pipe(
    Stream.take(3),
    Stream.runForEach((m) => Effect.log(`watcher saw ${m.subject}: ${m.text()}`)),
    Effect.forkChild
  )
  yield* Effect.yieldNow

  for (const [id, item] of [[1, "apples"], [2, "pears"], [3, "plums"]] as const) {
    const ack = yield* js.publish(`orders.${id}`, JSON.stringify({ id, item }), { msgId: `order-${id}` })
    yield* Effect.log(`stored in ${ack.stream} at seq ${ack.seq}`)
  }
  // The same msgId inside the duplicate window is acknowledged but not stored again.
  const dup = yield* js.publish("orders.1", "again", { msgId: "order-1" })
  yield* Effect.log(`duplicate publish: duplicate=${dup.duplicate}, seq ${dup.seq}`)
  yield* Fiber.join(watcher)

  yield* js.consumers.add("ORDERS", { durable_name: "billing", ack_policy: "explicit" })
  // The first delivery of order 2 fails and is nak'ed; it comes back redelivered.
  const processed = yield* js.consume("ORDERS", "billing").pipe(
    Stream.mapEffect((m) =>
      m.info.streamSequence === 2 && !m.redelivered
        ? Effect.as(m.nak(), `nak ${m.subject}`)
        : Effect.as(m.ack, `ack ${m.subject}${m.redelivered ? " (redelivered)" : ""}`)
    ),
    Stream.take(4),
    Stream.runCollect
  )
  yield* Effect.log(`consumer: ${processed.join(", ")}`)

  const info = yield* js.streams.info("ORDERS")
  const consumer = yield* js.consumers.info("ORDERS", "billing")
  yield* Effect.log(
    `stream ORDERS: ${info.state.messages} messages, last seq ${info.state.last_seq}; ` +
      `consumer billing: ${consumer.num_ack_pending} pending acks, ${consumer.num_pending} unprocessed`
  )
  const last = yield* js.streams.getMessage("ORDERS", { lastBySubject: "orders.3" })
  yield* Effect.log(`last order: ${new TextDecoder().decode(last.data)}`)
})

Effect.runPromise(program.pipe(Effect.provide(Broker.layer({ storage: "memory" })))).then(
  () => console.log("embedded example: ok"),
  (error: unknown) => {
    console.error("embedded example failed:", error)
    process.exitCode = 1
  }
)
