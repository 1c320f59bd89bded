/**
 * The broker's notion of time, taken from Effect's `Clock` when the layer is built, so an embedder
 * running under `TestClock` drives ack waits, redelivery, backoff, max_age expiry, heartbeats,
 * inactive thresholds and duplicate windows with `TestClock.adjust` instead of real sleeping.
 *
 * Hot paths read time synchronously; timers are Effect sleeps in supervised fibers (one per armed
 * timer, not per message).
 */
import { Clock, Context, Effect, FiberSet, Layer } from "effect"

export interface BrokerClockShape {
  nowMs(): number
  /** Wall-clock nanoseconds since the epoch, strictly increasing across calls. */
  nowNs(): bigint
  /** Runs `f` after `ms` on this clock; returns a cancel function. */
  schedule(ms: number, f: () => void): () => void
}

export class BrokerClock extends Context.Service<BrokerClock, BrokerClockShape>()("effect-jetstream/core/BrokerClock") {
  static readonly layer = Layer.effect(BrokerClock)(
    Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const run = yield* FiberSet.makeRuntime<never>()
      let lastNs = 0n
      // Effect's live nanosecond clock is the monotonic clock anchored to the wall clock once, and only
      // re-anchored when they drift more than a second apart; nats-server stamps messages with the wall
      // clock. Every few hundred reads the offset is corrected so a timestamp stays inside the wall
      // clock's current millisecond (a TestClock's two readings agree, so this never moves it).
      let correction = 0n
      let reads = 0
      const wallNs = (): bigint => {
        const ns = clock.currentTimeNanosUnsafe() + correction
        if ((++reads & 255) !== 1) return ns
        const wallMs = BigInt(clock.currentTimeMillisUnsafe()) * 1_000_000n
        if (ns >= wallMs && ns < wallMs + 1_000_000n) return ns
        correction += wallMs - ns + (ns % 1_000_000n)
        return ns + (wallMs - ns + (ns % 1_000_000n))
      }
      return {
        nowMs: () => clock.currentTimeMillisUnsafe(),
        nowNs: () => {
          let ns = wallNs()
          // Timestamps order messages; two reads in the same nanosecond must still differ.
          if (ns <= lastNs) ns = lastNs + 1n
          lastNs = ns
          return ns
        },
        schedule: (ms, f) => {
          const fiber = run(Effect.sleep(Math.max(0, ms)).pipe(Effect.andThen(Effect.sync(f))))
          return () => void fiber.interruptUnsafe()
        }
      }
    })
  )
}
