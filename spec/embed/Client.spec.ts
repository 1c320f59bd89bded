/**
 * The embedding API in-process: core publish/subscribe/request, stream management, typed PubAcks
 * and API errors, consumers as Streams with ack/nak/term.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Stream } from "effect"
import { Broker, Client, JetStreamClient } from "../../src/index.ts"

const provide = Effect.provide(Broker.layer())

describe("embedded Client (core NATS)", () => {
  it.effect("a subscription stream receives publishes, with headers; wildcards match", () =>
    Effect.gen(function*() {
      const nats = yield* Client
      const fiber = yield* nats.subscribe("greet.*").pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
      yield* Effect.yieldNow
      yield* nats.publish("greet.joe", "hello", { headers: { "X-Id": "1" } })
      yield* nats.publish("other", "ignored")
      yield* nats.publish("greet.ann", new Uint8Array([1, 2]))
      const got = yield* Fiber.join(fiber)
      assert.deepStrictEqual(got.map((m) => m.subject), ["greet.joe", "greet.ann"])
      assert.strictEqual(got[0]!.text(), "hello")
      assert.deepStrictEqual(got[0]!.headers, { "X-Id": "1" })
      assert.deepStrictEqual([...got[1]!.data], [1, 2])
    }).pipe(provide))

  it.effect("request/reply through a subscription; no responders is a typed error", () =>
    Effect.gen(function*() {
      const nats = yield* Client
      yield* nats.subscribe("svc.echo").pipe(
        Stream.runForEach((m) => nats.publish(m.reply!, `echo: ${m.text()}`)),
        Effect.forkChild
      )
      yield* Effect.yieldNow
      const reply = yield* nats.request("svc.echo", "hi")
      assert.strictEqual(reply.text(), "echo: hi")
      const none = yield* Effect.flip(nats.request("svc.nobody", "hi"))
      assert.strictEqual(none._tag, "NoRespondersError")
      const bad = yield* Effect.flip(nats.publish("bad.*", "x"))
      assert.strictEqual(bad._tag, "InvalidSubjectError")
    }).pipe(provide))

  it.effect("queue groups deliver each message to one member", () =>
    Effect.gen(function*() {
      const nats = yield* Client
      const counts = [0, 0]
      for (const i of [0, 1]) {
        yield* nats.subscribe("work", { queue: "q" }).pipe(
          Stream.runForEach(() => Effect.sync(() => counts[i]!++)),
          Effect.forkChild
        )
      }
      yield* Effect.yieldNow
      for (let i = 0; i < 10; i++) yield* nats.publish("work", String(i))
      yield* Effect.yieldNow
      assert.strictEqual(counts[0]! + counts[1]!, 10)
      assert.isTrue(counts[0]! > 0 && counts[1]! > 0)
    }).pipe(provide))
})

describe("embedded JetStreamClient", () => {
  it.effect("stream management: add, info, names, get message, delete message, purge, delete", () =>
    Effect.gen(function*() {
      const js = yield* JetStreamClient
      const created = yield* js.streams.add({ name: "S", subjects: ["s.>"] })
      assert.strictEqual(created.config.name, "S")
      assert.strictEqual(created.config.storage, "file")
      for (let i = 1; i <= 5; i++) {
        const ack = yield* js.publish(`s.${i % 2 === 0 ? "even" : "odd"}`, `m${i}`)
        assert.deepStrictEqual(ack, { stream: "S", seq: i, duplicate: false })
      }
      assert.deepStrictEqual(yield* js.streams.names(), ["S"])
      const m = yield* js.streams.getMessage("S", { seq: 2 })
      assert.strictEqual(m.subject, "s.even")
      assert.strictEqual(new TextDecoder().decode(m.data), "m2")
      const last = yield* js.streams.getMessage("S", { lastBySubject: "s.odd" })
      assert.strictEqual(last.seq, 5)
      yield* js.streams.deleteMessage("S", 1)
      assert.strictEqual((yield* js.streams.info("S")).state.messages, 4)
      assert.strictEqual(yield* js.streams.purge("S", { filter: "s.even" }), 2)
      assert.strictEqual(yield* js.streams.purge("S"), 2)
      yield* js.streams.delete("S")
      const gone = yield* Effect.flip(js.streams.info("S"))
      assert.strictEqual(gone._tag, "JetStreamApiError")
      if (gone._tag === "JetStreamApiError") {
        assert.strictEqual(gone.errCode, 10059)
        assert.strictEqual(gone.code, 404)
      }
    }).pipe(provide))

  it.effect("publish: dedup by msgId, expected-sequence errors carry err_code, no stream = no responders", () =>
    Effect.gen(function*() {
      const js = yield* JetStreamClient
      yield* js.streams.add({ name: "P", subjects: ["p.*"], storage: "memory" })
      const a = yield* js.publish("p.a", "1", { msgId: "x" })
      const dup = yield* js.publish("p.a", "1", { msgId: "x" })
      assert.deepStrictEqual(dup, { stream: "P", seq: a.seq, duplicate: true })
      const wrong = yield* Effect.flip(js.publish("p.b", "2", { expectedLastSequence: 99 }))
      assert.strictEqual(wrong._tag === "JetStreamApiError" ? wrong.errCode : -1, 10071)
      const ok = yield* js.publish("p.b", "2", { expectedLastSequence: 1, expectedStream: "P" })
      assert.strictEqual(ok.seq, 2)
      const none = yield* Effect.flip(js.publish("nowhere", "x"))
      assert.strictEqual(none._tag, "NoRespondersError")
      const bad = yield* Effect.flip(js.streams.add({ name: "P", subjects: ["other"] }))
      assert.strictEqual(bad._tag === "JetStreamApiError" ? bad.errCode : -1, 10058)
    }).pipe(provide))

  it.effect("consume: ack, nak (redelivered), term; a missing consumer fails with 10014", () =>
    Effect.gen(function*() {
      const js = yield* JetStreamClient
      yield* js.streams.add({ name: "C", subjects: ["c.>"] })
      for (let i = 1; i <= 3; i++) yield* js.publish(`c.${i}`, `m${i}`)
      const info = yield* js.consumers.add("C", { durable_name: "w", ack_policy: "explicit" })
      assert.strictEqual(info.name, "w")
      const seen = yield* js.consume("C", "w", { batch: 2 }).pipe(
        Stream.mapEffect((m) => {
          const tag = `${m.info.streamSequence}/${m.info.deliveryCount}`
          if (m.info.streamSequence === 1 && !m.redelivered) return Effect.as(m.nak(), `nak ${tag}`)
          if (m.info.streamSequence === 3) return Effect.as(m.term, `term ${tag}`)
          return Effect.as(m.ack, `ack ${tag}`)
        }),
        Stream.take(4),
        Stream.runCollect
      )
      assert.deepStrictEqual([...seen].sort(), ["ack 1/2", "ack 2/1", "nak 1/1", "term 3/1"])
      const after = yield* js.consumers.info("C", "w")
      assert.strictEqual(after.num_ack_pending, 0)
      assert.strictEqual(after.num_pending, 0)
      assert.strictEqual(after.ack_floor.stream_seq, 3)
      const missing = yield* Stream.runCollect(js.consume("C", "nope")).pipe(Effect.flip)
      assert.strictEqual(missing._tag === "JetStreamApiError" ? missing.errCode : -1, 10014)
      yield* js.consumers.delete("C", "w")
      assert.isTrue(Exit.isFailure(yield* Effect.exit(js.consumers.info("C", "w"))))
    }).pipe(provide))

  it.effect("the consume stream fails with ConsumeError when its consumer is deleted", () =>
    Effect.gen(function*() {
      const js = yield* JetStreamClient
      yield* js.streams.add({ name: "D", subjects: ["d"] })
      yield* js.consumers.add("D", { durable_name: "w", ack_policy: "explicit" })
      const fiber = yield* js.consume("D", "w").pipe(Stream.runDrain, Effect.forkChild)
      // Wait until the stream's pull request is waiting at the consumer.
      yield* js.consumers.info("D", "w").pipe(
        Effect.filterOrFail((i) => i.num_waiting > 0),
        Effect.retry({ times: 100 })
      )
      yield* js.consumers.delete("D", "w")
      const err = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(err._tag, "ConsumeError")
    }).pipe(provide))

  it.effect("an invalid config is a typed BrokerConfigError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(Effect.void, Broker.layer({ maxPayload: -5 })))
      assert.isTrue(Exit.isFailure(exit))
      const err = yield* Effect.flip(Effect.provide(Effect.void, Broker.layer({ maxPayload: -5 })))
      assert.strictEqual(err._tag, "BrokerConfigError")
    }))
})
