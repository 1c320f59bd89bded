/**
 * The actor kernel on its own: batching and ordering, calls with typed failures, recovery after a
 * defect, and a persistent defect stopping the actor (with the queued work answered, not hung).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { ActorKernel } from "../../../src/jetstream/actor/ActorKernel.ts"

type Cmd =
  | { readonly _tag: "Add"; readonly n: number }
  | { readonly _tag: "Boom" }
  /** Fails after more work arrived behind it (what concurrent publishers do). */
  | { readonly _tag: "BoomWithBacklog"; readonly behind: number }

class Counter {
  total = 0
  batches: Array<number> = []
  recovered = 0
  interrupted: Array<number> = []
  refused: Array<Cmd> = []
}

const setup = (maxRestarts = 2) =>
  Effect.gen(function*() {
    const errors: Array<string> = []
    const kernel = yield* ActorKernel.make<Cmd, Counter>({
      label: "test 'counter'",
      capacity: 16,
      maxRestarts,
      window: "10 seconds",
      logError: (l) => errors.push(l)
    })
    const state = new Counter()
    yield* kernel.start(
      (batch) =>
        Effect.sync(() => {
          state.batches.push(batch.length)
          for (const cmd of batch) {
            if (cmd._tag === "Call") cmd.run(state)
            else if (cmd._tag === "Add") state.total += cmd.n
            else if (cmd._tag === "Boom") throw new Error("boom")
            else {
              for (let i = 0; i < cmd.behind; i++) kernel.offer({ _tag: "Add", n: 1 })
              throw new Error("boom")
            }
          }
        }),
      (batch) => {
        state.recovered++
        state.interrupted.push(batch.length)
      },
      (cmd) => void state.refused.push(cmd)
    )
    return { kernel, state, errors }
  })

/** Lets the kernel's loop take what is queued (it runs when the test fiber yields). */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) yield* Effect.yieldNow
})

const fail = (e: unknown) => `thrown: ${String(e)}`
const unavailable = () => "unavailable"

describe("ActorKernel", () => {
  it.effect("takes everything queued as one batch and runs calls in order with the other commands", () =>
    Effect.gen(function*() {
      const { kernel, state } = yield* setup()
      for (let i = 1; i <= 5; i++) assert.isTrue(kernel.offer({ _tag: "Add", n: i }))
      const seen = yield* kernel.call((s) => s.total, fail, unavailable)
      assert.strictEqual(seen, 15)
      assert.deepStrictEqual(state.batches, [6])
    }).pipe(Effect.scoped))

  it.effect("a thrown value in a call is the caller's typed failure; the actor goes on", () =>
    Effect.gen(function*() {
      const { kernel, errors } = yield* setup()
      const failed = yield* Effect.flip(kernel.call(
        () => {
          throw new Error("no such message")
        },
        fail,
        unavailable
      ))
      assert.strictEqual(failed, "thrown: Error: no such message")
      assert.strictEqual(yield* kernel.call((s) => s.total, fail, unavailable), 0)
      assert.deepStrictEqual(errors, [])
    }).pipe(Effect.scoped))

  it.effect("a full mailbox refuses at once instead of blocking the caller", () =>
    Effect.gen(function*() {
      const { kernel } = yield* setup()
      // The loop has not run yet (no yield since start), so 16 offers fill the mailbox.
      let accepted = 0
      for (let i = 0; i < 20; i++) if (kernel.offer({ _tag: "Add", n: 1 })) accepted++
      assert.strictEqual(accepted, 16)
      assert.strictEqual(yield* Effect.flip(kernel.call((s) => s.total, fail, unavailable)), "unavailable")
      yield* settle
      assert.strictEqual(yield* kernel.call((s) => s.total, fail, unavailable), 16)
    }).pipe(Effect.scoped))

  it.effect("a defect is logged, recover runs, and the next batch is processed", () =>
    Effect.gen(function*() {
      const { kernel, errors } = yield* setup()
      kernel.offer({ _tag: "Boom" })
      yield* settle
      assert.strictEqual(yield* kernel.call((s) => s.recovered, fail, unavailable), 1)
      kernel.offer({ _tag: "Add", n: 7 })
      assert.strictEqual(yield* kernel.call((s) => s.total, fail, unavailable), 7)
      assert.strictEqual(kernel.state, "running")
      assert.strictEqual(errors.length, 1)
      assert.match(errors[0]!, /^JetStream test 'counter' failed, recovering: .*boom/s)
    }).pipe(Effect.scoped))

  it.effect("defects spread beyond the window are each recovered (Clock time, not wall time)", () =>
    Effect.gen(function*() {
      const { kernel, state } = yield* setup(1)
      for (let i = 0; i < 4; i++) {
        kernel.offer({ _tag: "Boom" })
        yield* settle
        yield* TestClock.adjust("11 seconds")
      }
      assert.strictEqual(state.recovered, 4)
      assert.strictEqual(kernel.state, "running")
    }).pipe(Effect.scoped))

  it.effect("a persistent defect stops the actor once; queued work is answered and later offers refused", () =>
    Effect.gen(function*() {
      const { kernel, state, errors } = yield* setup(2)
      for (let i = 0; i < 2; i++) {
        kernel.offer({ _tag: "Boom" })
        yield* settle
      }
      assert.strictEqual(kernel.state, "running")
      // The third defect in the window stops the actor; the call in its batch is answered.
      kernel.offer({ _tag: "Boom" })
      const answer = yield* Effect.flip(kernel.call((s) => s.total, fail, unavailable))
      assert.strictEqual(answer, "unavailable")
      assert.strictEqual(kernel.state, "failed")
      assert.match(kernel.failure ?? "", /boom/)
      assert.isFalse(kernel.offer({ _tag: "Add", n: 1 }))
      assert.strictEqual(yield* Effect.flip(kernel.call((s) => s.total, fail, unavailable)), "unavailable")
      // recover runs for the stopping defect too (the actor settles its state once more).
      assert.strictEqual(state.recovered, 3)
      assert.strictEqual(errors.filter((l) => l.includes("is stopped")).length, 1)
    }).pipe(Effect.scoped))

  it.effect("recover sees the interrupted batch; a call in it is refused, not left hanging", () =>
    Effect.gen(function*() {
      const { kernel, state } = yield* setup(3)
      kernel.offer({ _tag: "Add", n: 2 })
      kernel.offer({ _tag: "Boom" })
      const inBatch = kernel.call((s) => s.total, fail, unavailable)
      assert.strictEqual(yield* Effect.flip(inBatch), "unavailable")
      assert.deepStrictEqual(state.interrupted, [3])
      assert.strictEqual(kernel.state, "running")
    }).pipe(Effect.scoped))

  it.effect("commands still queued behind a persistent failure go to `refused`", () =>
    Effect.gen(function*() {
      const { kernel, state } = yield* setup(0)
      kernel.offer({ _tag: "BoomWithBacklog", behind: 3 })
      const answer = yield* Effect.flip(kernel.call((s) => s.total, fail, unavailable))
      assert.strictEqual(answer, "unavailable")
      assert.strictEqual(kernel.state, "failed")
      assert.deepStrictEqual(state.refused, [{ _tag: "Add", n: 1 }, { _tag: "Add", n: 1 }, { _tag: "Add", n: 1 }])
      assert.strictEqual(state.total, 0)
      assert.isFalse(kernel.offer({ _tag: "Add", n: 4 }))
    }).pipe(Effect.scoped))
})
