/**
 * Test support for message schedules (ADR-51): a stream actor over a memory log that outlives it,
 * under TestClock from 2026-01-01T00:00:00Z, so a restart (a new actor over the same log, with
 * downtime) rebuilds the schedules from the stored messages.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { BrokerClock } from "../../src/core/BrokerClock.ts"
import { StreamActor } from "../../src/jetstream/stream/StreamActor.ts"
import type { MessageLog } from "../../src/store/MessageLog.ts"
import { makeMemory } from "../../src/store/StreamStore.ts"
import { decodeStream, inProcessClients, pubAckPublisher, settle, silentLogger } from "./ActorHarness.ts"

const text = new TextDecoder()
/** 2026-01-01T00:00:00Z */
export const T0 = Date.UTC(2026, 0, 1)
export const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")

export const scheduleStream = {
  name: "S",
  subjects: ["sched.>", "out.>", "src.>"],
  storage: "memory",
  allow_msg_schedules: true,
  allow_msg_ttl: true
}

/** A stream actor over a log that outlives it: `restart` stops the actor and starts a new one. */
export const setupSchedules = (streamConfig: Record<string, unknown>) =>
  Effect.gen(function*() {
    const clock = yield* BrokerClock
    const { internal, app } = inProcessClients()
    const config = yield* decodeStream(streamConfig)
    const log: MessageLog = yield* makeMemory({}).open(config.name, {})
    const start = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const actor = yield* Scope.provide(
        StreamActor.make(config, 0n, log, { client: internal, log: silentLogger, nowNs: clock.nowNs }),
        scope
      )
      return { actor, scope }
    })
    let current = yield* start
    yield* Effect.addFinalizer(() => Scope.close(current.scope, Exit.void))
    const publish = pubAckPublisher(app)
    /** Stops the actor, lets `downtimeMs` pass, starts a new one over the same log. */
    const restart = (downtimeMs = 0) =>
      Effect.gen(function*() {
        yield* Scope.close(current.scope, Exit.void)
        if (downtimeMs > 0) yield* TestClock.adjust(downtimeMs)
        current = yield* start
        yield* settle
      })
    /** Live messages as `seq subject`, ascending. */
    const live = () => {
      const st = log.state()
      const out: Array<string> = []
      for (let s = st.firstSeq; s <= st.lastSeq; s++) {
        const m = log.get(s)
        if (m !== undefined) out.push(`${s} ${m.subject}`)
      }
      return out
    }
    const headers = (seq: number) => {
      const m = log.get(seq)
      return m?.hdr === undefined ? "" : Buffer.from(m.hdr).toString("latin1")
    }
    const body = (seq: number) => text.decode(log.get(seq)?.data)
    return { publish, restart, live, headers, body, log, actor: () => current.actor }
  })

export const withScheduleClock = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  TestClock.setTime(T0).pipe(
    Effect.andThen(self),
    Effect.provide(BrokerClock.layer.pipe(Layer.fresh)),
    Effect.scoped
  )
