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
      return {
        nowMs: () => clock.currentTimeMillisUnsafe(),
        nowNs: () => {
          let ns = clock.currentTimeNanosUnsafe()
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
