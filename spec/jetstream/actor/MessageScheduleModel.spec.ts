/**
 * Message schedules against a model: random `@at`, `@every` and cron schedules, clock steps and
 * restarts (with downtime) fire at exactly the instants the model computes, each firing once. The
 * model is the ADR-51 rule set written plainly (no heap, no store): a schedule fires when the clock
 * reaches its next instant, or at recovery when that instant fell into downtime; a repeating one then
 * moves on from the instant it was due (skipping ahead to the current second when that is past).
 * Also the cron evaluator against a brute-force search over seconds.
 */
import { assert, describe, it } from "@effect/vitest"
import { fc } from "@fast-check/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { loadZone, nextCron, parseCron, UTC } from "../../../src/jetstream/stream/Cron.ts"
import { settle } from "../../support/ActorHarness.ts"
import { scheduleStream, setupSchedules, withScheduleClock } from "../../support/Schedules.ts"

const T0 = Date.UTC(2026, 0, 1)
const SEC = 1000

type Pattern = { readonly kind: "at"; readonly atMs: number } | { readonly kind: "every"; readonly s: number } | {
  readonly kind: "cron"
  readonly step: number
}

const roundSec = (ms: number) => Math.floor((ms + 500) / SEC) * SEC

/** The model's next firing after `ts` (ms), skipping ahead past `now`; undefined for a one-off that fired. */
const modelNext = (p: Pattern, ts: number, now: number): number => {
  if (p.kind === "at") return p.atMs
  if (p.kind === "every") {
    const at = roundSec(ts) + p.s * SEC
    return at < now ? roundSec(now) + p.s * SEC : at
  }
  // `*/step * * * * *`: the next second after ts whose seconds field is a multiple of step.
  const after = (t: number) => {
    let s = Math.floor(t / SEC) + 1
    while ((s % 60) % p.step !== 0) s++
    return s * SEC
  }
  const at = after(ts)
  return at < now ? after(roundSec(now)) : at
}

const header = (p: Pattern): string =>
  p.kind === "at" ?
    `@at ${new Date(p.atMs).toISOString()}` :
    p.kind === "every" ?
    `@every ${p.s}s` :
    `*/${p.step} * * * * *`

type Step =
  | { readonly _tag: "add"; readonly pattern: Pattern; readonly slot: number }
  | { readonly _tag: "wait"; readonly ms: number }
  | { readonly _tag: "restart"; readonly downMs: number }

const patternArb = (nowMs: number): fc.Arbitrary<Pattern> =>
  fc.oneof(
    fc.integer({ min: -5000, max: 40_000 }).map((d) => ({ kind: "at" as const, atMs: nowMs + d })),
    fc.integer({ min: 1, max: 15 }).map((s) => ({ kind: "every" as const, s })),
    fc.constantFrom(5, 10, 15, 20, 30).map((step) => ({ kind: "cron" as const, step }))
  )

const stepsArb: fc.Arbitrary<ReadonlyArray<Step>> = fc.array(
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(patternArb(T0), fc.integer({ min: 0, max: 3 })).map(([pattern, slot]) => ({
        _tag: "add" as const,
        pattern,
        slot
      }))
    },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 12_000 }).map((ms) => ({ _tag: "wait" as const, ms })) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: 20_000 }).map((downMs) => ({ _tag: "restart" as const, downMs }))
    }
  ),
  { minLength: 1, maxLength: 14 }
)

interface ModelSchedule {
  readonly pattern: Pattern
  /** The next firing (ms). */
  at: number
}

describe("message schedules against a model", () => {
  const run = (steps: ReadonlyArray<Step>) =>
    withScheduleClock(Effect.gen(function*() {
      const broker = yield* setupSchedules(scheduleStream)
      let now = T0
      const model = new Map<string, ModelSchedule>()
      const expected: Array<string> = []
      /** Everything due up to `now` fires, in schedule order (schedules are appended in slot-add order). */
      const order: Array<string> = []
      const fireDue = () => {
        const due = order.filter((s) => model.has(s) && model.get(s)!.at <= now)
        for (const subject of due) {
          const m = model.get(subject)!
          expected.push(`${now} ${subject}`)
          if (m.pattern.kind === "at") model.delete(subject)
          else m.at = modelNext(m.pattern, m.at, now)
        }
      }
      /** Advances the model to `until`, firing at each instant on the way. */
      const advance = (until: number) => {
        while (true) {
          let next = Infinity
          for (const m of model.values()) next = Math.min(next, m.at)
          if (next > until) break
          now = Math.max(now, next)
          fireDue()
        }
        now = until
      }
      for (const step of steps) {
        if (step._tag === "add") {
          const subject = `sched.${step.slot}`
          // A new schedule on a subject replaces the old one (and moves it to the end of the order).
          const i = order.indexOf(subject)
          if (i >= 0) order.splice(i, 1)
          order.push(subject)
          model.set(subject, { pattern: step.pattern, at: modelNext(step.pattern, now, now) })
          const ack = yield* broker.publish(subject, [
            ["Nats-Schedule", header(step.pattern)],
            ["Nats-Schedule-Target", `out.${step.slot}`]
          ])
          assert.include(ack, "\"seq\"")
          // A schedule already due fires at once.
          yield* settle
          fireDue()
        } else if (step._tag === "wait") {
          yield* TestClock.adjust(step.ms).pipe(Effect.andThen(settle))
          advance(now + step.ms)
        } else {
          // Nothing fires while stopped; what fell due fires once at recovery.
          yield* broker.restart(step.downMs)
          now += step.downMs
          fireDue()
        }
      }
      const produced: Array<string> = []
      const st = broker.log.state()
      for (let s = st.firstSeq; s <= st.lastSeq; s++) {
        const m = broker.log.get(s)
        if (m === undefined || !m.subject.startsWith("out.")) continue
        produced.push(`${Number(m.ts / 1_000_000n)} sched.${m.subject.slice(4)}`)
      }
      assert.deepStrictEqual(produced, expected, JSON.stringify(steps))
    })).pipe(Effect.provide(TestClock.layer()))

  it("fire at the model's instants, each once, across restarts", async () => {
    await fc.assert(fc.asyncProperty(stepsArb, (steps) => Effect.runPromise(run(steps))), { numRuns: 40 })
  }, 120_000)
})

describe("cron evaluator", () => {
  const field = (max: number, min = 0) =>
    fc.oneof(
      fc.constant("*"),
      fc.integer({ min, max }).map(String),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) =>
        `${Math.min(a, b)}-${Math.max(a, b)}`
      ),
      fc.integer({ min: 1, max: 7 }).map((s) => `*/${s}`),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${a},${b}`)
    )
  const matches = (f: string, v: number, min: number, max: number): boolean =>
    f.split(",").some((part) => {
      const [range, stepText] = part.split("/")
      const step = stepText === undefined ? 1 : Number(stepText)
      const [lo, hi] = range === "*" ? [min, max] : range!.includes("-") ? range!.split("-").map(Number) : [
        Number(range),
        stepText === undefined ? Number(range) : max
      ]
      return v >= lo! && v <= hi! && (v - lo!) % step === 0
    })

  it("finds the first matching second after ts (UTC), as a brute-force scan does", () => {
    fc.assert(
      fc.property(
        field(59),
        field(59),
        field(23),
        fc.integer({ min: 0, max: 400 * 86_400 }),
        (sec, min, hour, offset) => {
          const pattern = `${sec} ${min} ${hour} * * *`
          const spec = parseCron(pattern)
          assert.isDefined(spec)
          const ts = BigInt(T0 + offset * SEC) * 1_000_000n + 123n
          const got = nextCron(spec!, UTC, ts)
          let t = T0 + offset * SEC + SEC
          while (true) {
            const d = new Date(t)
            if (
              matches(sec, d.getUTCSeconds(), 0, 59) && matches(min, d.getUTCMinutes(), 0, 59) &&
              matches(hour, d.getUTCHours(), 0, 23)
            ) break
            t += SEC
          }
          assert.strictEqual(got, BigInt(t) * 1_000_000n, pattern)
        }
      ),
      { numRuns: 60 }
    )
  })

  it("day of month and day of week: either when both are restricted, both when one is a star", () => {
    const next = (p: string, from: string, zone = UTC) =>
      new Date(Number(nextCron(parseCron(p)!, zone, BigInt(Date.parse(from)) * 1_000_000n)! / 1_000_000n))
        .toISOString()
    // 2026-01-01 is a Thursday.
    assert.strictEqual(next("0 30 4 1,15 * 5", "2026-01-01T05:00:00Z"), "2026-01-02T04:30:00.000Z")
    assert.strictEqual(next("0 30 4 * * fri", "2026-01-01T05:00:00Z"), "2026-01-02T04:30:00.000Z")
    assert.strictEqual(next("0 30 4 15 * *", "2026-01-01T05:00:00Z"), "2026-01-15T04:30:00.000Z")
    assert.strictEqual(next("0 0 0 1 jan-mar *", "2026-04-01T00:00:00Z"), "2027-01-01T00:00:00.000Z")
    assert.strictEqual(next("0 0 0 29 2 *", "2026-01-01T00:00:00Z"), "2028-02-29T00:00:00.000Z")
    assert.strictEqual(next("0 0 * * * *", "2026-01-01T00:00:00Z"), "2026-01-01T01:00:00.000Z")
    // In a zone: 02:30 does not exist on 2026-03-29 in Amsterdam (clocks go 02:00 → 03:00).
    const ams = loadZone("Europe/Amsterdam")!
    assert.strictEqual(next("0 0 9 * * *", "2026-06-01T00:00:00Z", ams), "2026-06-01T07:00:00.000Z")
    assert.strictEqual(next("0 30 2 * * *", "2026-03-28T12:00:00Z", ams), "2026-03-30T00:30:00.000Z")
    for (
      const bad of [
        "* * * * *",
        "60 * * * * *",
        "* * 24 * * *",
        "* * * 0 * *",
        "* * * * 13 *",
        "* * * * * 7",
        "5-1 * * * * *",
        "*/0 * * * * *",
        "a * * * * *",
        "1-2-3 * * * * *"
      ]
    ) {
      assert.isUndefined(parseCron(bad), bad)
    }
    assert.isUndefined(nextCron(parseCron("0 0 0 30 2 *")!, UTC, 0n))
    for (const z of ["+02:00", "america/new_york", "Mars/Olympus", "", "../etc"]) assert.isUndefined(loadZone(z), z)
    for (const z of ["UTC", "Local", "America/New_York", "Asia/Tokyo"]) assert.isDefined(loadZone(z), z)
  })
})
