/**
 * Message schedules (ADR-51) in the stream actor under TestClock: exact firing instants of `@at`,
 * `@every` and cron, the produced message's headers, source sampling, cancelling, the PubAck errors,
 * and restarts (a new actor over the same log). Expected values are nats-server's current ones
 * (scheduler.go, cron.go, stream.go processJetStreamMsg, errors.json); 2.9.10 has no schedules.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { after } from "../../support/ActorHarness.ts"
import { iso, scheduleStream, setupSchedules, T0, withScheduleClock } from "../../support/Schedules.ts"

const ack = (seq: number) => `{"stream":"S", "seq":${seq}}`
const err = (code: number, description: string) =>
  `{"error":{"code":400,"err_code":${code},"description":"${description}"},"stream":"S","seq":0}`

describe("StreamActor message schedules: firing", () => {
  it.effect("@at fires once at its instant into the target; the schedule is purged", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live, headers, body, log } = yield* setupSchedules(scheduleStream)
      const got = yield* publish("sched.a", [
        ["Nats-Schedule", `@at ${iso(T0 + 5000)}`],
        ["Nats-Schedule-Target", "out.a"],
        ["Nats-Schedule-TTL", "5m"],
        ["Nats-Msg-Id", "m1"],
        ["Custom", "kept"]
      ], "payload")
      assert.strictEqual(got, ack(1))
      // The schedule is stored as a roll-up of its subject.
      assert.include(headers(1), "Nats-Rollup: sub\r\n")
      yield* after(4999)
      assert.deepStrictEqual(live(), ["1 sched.a"])
      yield* after(1)
      assert.deepStrictEqual(live(), ["2 out.a"])
      assert.strictEqual(body(2), "payload")
      assert.strictEqual(
        headers(2),
        "NATS/1.0\r\nCustom: kept\r\nNats-Scheduler: sched.a\r\nNats-Schedule-Next: purge\r\nNats-TTL: 5m\r\n\r\n"
      )
      // Nothing fires again; the produced message goes after its Nats-Schedule-TTL.
      yield* after(299_999)
      assert.deepStrictEqual(live(), ["2 out.a"])
      yield* after(3_600_000)
      assert.deepStrictEqual(live(), [])
      assert.strictEqual(log.state().lastSeq, 2)
    })))

  it.effect("@at in the past fires at once", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live } = yield* setupSchedules(scheduleStream)
      yield* publish("sched.a", [["Nats-Schedule", "@at 2020-01-01T00:00:00Z"], ["Nats-Schedule-Target", "out.a"]])
      yield* after(0)
      assert.deepStrictEqual(live(), ["2 out.a"])
    })))

  it.effect("@every fires from the stored second on, and writes the next firing", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live, headers } = yield* setupSchedules(scheduleStream)
      yield* after(600)
      // Stored at T0+0.6s: rounded to T0+1s, so the first firing is T0+6s.
      yield* publish("sched.e", [["Nats-Schedule", "@every 5s"], ["Nats-Schedule-Target", "out.e"]])
      yield* after(5399)
      assert.deepStrictEqual(live(), ["1 sched.e"])
      yield* after(1)
      assert.deepStrictEqual(live(), ["1 sched.e", "2 out.e"])
      assert.include(headers(2), `Nats-Schedule-Next: ${iso(T0 + 11_000)}\r\n`)
      yield* after(5000)
      assert.deepStrictEqual(live(), ["1 sched.e", "2 out.e", "3 out.e"])
      assert.include(headers(3), `Nats-Schedule-Next: ${iso(T0 + 16_000)}\r\n`)
    })))

  it.effect("cron and predefined schedules fire on their wall-clock instants, in a time zone too", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live, headers } = yield* setupSchedules(scheduleStream)
      yield* publish("sched.c", [["Nats-Schedule", "*/20 * * * * *"], ["Nats-Schedule-Target", "out.c"]])
      yield* publish("sched.h", [["Nats-Schedule", "@hourly"], ["Nats-Schedule-Target", "out.h"]])
      // 09:00 in Amsterdam is 08:00 UTC in January.
      yield* publish("sched.z", [
        ["Nats-Schedule", "0 0 9 * * *"],
        ["Nats-Schedule-Time-Zone", "Europe/Amsterdam"],
        ["Nats-Schedule-Target", "out.z"]
      ])
      yield* after(19_999)
      assert.strictEqual(live().length, 3)
      yield* after(1)
      assert.deepStrictEqual(live().slice(3), ["4 out.c"])
      assert.include(headers(4), `Nats-Schedule-Next: ${iso(T0 + 40_000)}\r\n`)
      const on = (subject: string) =>
        live().filter((l) => l.endsWith(` ${subject}`)).map((l) => Number(l.split(" ")[0]))
      yield* after(3_600_000 - 20_001)
      assert.deepStrictEqual(on("out.h"), [])
      yield* after(1)
      assert.strictEqual(on("out.h").length, 1)
      assert.include(headers(on("out.h")[0]!), `Nats-Schedule-Next: ${iso(T0 + 7_200_000)}\r\n`)
      assert.strictEqual(on("out.c").length, 180)
      yield* after(7 * 3_600_000 - 1)
      assert.deepStrictEqual(on("out.z"), [])
      yield* after(1)
      assert.strictEqual(on("out.z").length, 1)
      // Written in the schedule's zone, as Go formats a time in its location.
      assert.include(headers(on("out.z")[0]!), "Nats-Schedule-Next: 2026-01-02T09:00:00+01:00\r\n")
    })))

  it.effect("Nats-Schedule-Source publishes the source's last message, or the schedule's own without one", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, headers, body, live } = yield* setupSchedules(scheduleStream)
      yield* publish("sched.s", [
        ["Nats-Schedule", "@every 10s"],
        ["Nats-Schedule-Source", "src.t"],
        ["Nats-Schedule-Target", "out.s"],
        ["Nats-Schedule-Rollup", "sub"]
      ], "fallback")
      yield* after(10_000)
      assert.strictEqual(body(2), "fallback")
      yield* publish("src.t", [["Unit", "C"]], "21.5")
      yield* after(10_000)
      // Each produced message rolls up the target: only the newest is kept.
      assert.deepStrictEqual(live(), ["1 sched.s", "3 src.t", "4 out.s"])
      assert.strictEqual(body(4), "21.5")
      assert.strictEqual(
        headers(4),
        `NATS/1.0\r\nUnit: C\r\nNats-Scheduler: sched.s\r\nNats-Schedule-Next: ${
          iso(T0 + 30_000)
        }\r\nNats-Rollup: sub\r\n\r\n`
      )
    })))

  it.effect("a schedule ends when replaced, deleted, or purged by a Nats-Schedule-Next: purge publish", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live, actor, restart } = yield* setupSchedules(scheduleStream)
      yield* publish("sched.a", [["Nats-Schedule", "@every 1s"], ["Nats-Schedule-Target", "out.a"]])
      yield* publish("sched.b", [["Nats-Schedule", "@every 1s"], ["Nats-Schedule-Target", "out.b"]])
      yield* publish("sched.c", [["Nats-Schedule", "@every 1s"], ["Nats-Schedule-Target", "out.c"]])
      // Replaced by a plain message (the roll-up keeps only the newest on the subject).
      yield* publish("sched.a", [])
      yield* Effect.sync(() => actor().removeMessage(2, false))
      assert.strictEqual(
        yield* publish("out.cancelled", [["Nats-Schedule-Next", "purge"], ["Nats-Scheduler", "sched.c"]]),
        ack(5)
      )
      yield* after(5000)
      // A plain message is no roll-up: the old schedule message stays, but no longer schedules.
      assert.deepStrictEqual(live(), ["1 sched.a", "4 sched.a", "5 out.cancelled"])
      yield* restart()
      yield* after(5000)
      assert.deepStrictEqual(live(), ["1 sched.a", "4 sched.a", "5 out.cancelled"])
    })))
})

describe("StreamActor message schedules: publish errors", () => {
  it.effect("answers nats-server's err_code for each invalid schedule and stores nothing", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live } = yield* setupSchedules(scheduleStream)
      const target = ["Nats-Schedule-Target", "out.x"] as const
      const cases: Array<[ReadonlyArray<readonly [string, string]>, number, string]> = [
        [[["Nats-Schedule", "@at tomorrow"], target], 10189, "message schedules pattern is invalid"],
        [[["Nats-Schedule", "@every 500ms"], target], 10189, "message schedules pattern is invalid"],
        [[["Nats-Schedule", "0 0 0 30 2 *"], target], 10189, "message schedules pattern is invalid"],
        [[["Nats-Schedule", "* * * * *"], target], 10189, "message schedules pattern is invalid"],
        [
          [["Nats-Schedule", "@at 2030-01-01T00:00:00Z"], ["Nats-Schedule-Time-Zone", "UTC"], target],
          10189,
          "message schedules pattern is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Time-Zone", "Mars/Olympus"], target],
          10223,
          "message schedules time zone is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Time-Zone", ""], target],
          10223,
          "message schedules time zone is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Time-Zone", "+02:00"], target],
          10223,
          "message schedules time zone is invalid"
        ],
        [[["Nats-Schedule", "@daily"]], 10190, "message schedules target is invalid"],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Target", "sched.x"]],
          10190,
          "message schedules target is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Target", "out.*"]],
          10190,
          "message schedules target is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], ["Nats-Schedule-Target", "elsewhere"]],
          10190,
          "message schedules target is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], target, ["Nats-Schedule-TTL", "soon"]],
          10191,
          "message schedules invalid per-message TTL"
        ],
        [
          [["Nats-Schedule", "@daily"], target, ["Nats-Schedule-Rollup", "all"]],
          10192,
          "message schedules invalid rollup"
        ],
        [[["Nats-Schedule", "@daily"], target, ["Nats-Rollup", "all"]], 10192, "message schedules invalid rollup"],
        [
          [["Nats-Schedule", "@daily"], target, ["Nats-Schedule-Source", "out.x"]],
          10203,
          "message schedules source is invalid"
        ],
        [
          [["Nats-Schedule", "@daily"], target, ["Nats-Schedule-Source", "nowhere"]],
          10203,
          "message schedules source is invalid"
        ],
        [
          [["Nats-Schedule-Next", "2030-01-01T00:00:00Z"], ["Nats-Scheduler", "sched.a"]],
          10212,
          "message schedules invalid scheduler"
        ],
        [[["Nats-Schedule-Next", "purge"]], 10212, "message schedules invalid scheduler"],
        [
          [["Nats-Schedule-Next", "purge"], ["Nats-Scheduler", "sched.x"]],
          10212,
          "message schedules invalid scheduler"
        ],
        [[["Nats-Scheduler", "sched.a"]], 10212, "message schedules invalid scheduler"]
      ]
      for (const [hdrs, code, description] of cases) {
        assert.strictEqual(yield* publish("sched.x", hdrs), err(code, description), JSON.stringify(hdrs))
      }
      // Ending a subject that holds no schedule is refused; an empty subject is accepted.
      yield* publish("out.plain", [])
      assert.strictEqual(
        yield* publish("out.y", [["Nats-Schedule-Next", "purge"], ["Nats-Scheduler", "out.plain"]]),
        err(10212, "message schedules invalid scheduler")
      )
      assert.deepStrictEqual(live(), ["1 out.plain"])
    })))

  it.effect("a stream without schedules refuses every schedule header with 10188 (TTLs off: 10166 first)", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live } = yield* setupSchedules({
        name: "S",
        subjects: ["sched.>", "out.>"],
        storage: "memory",
        allow_msg_ttl: true
      })
      const disabled = err(10188, "message schedules is disabled")
      assert.strictEqual(
        yield* publish("sched.a", [["Nats-Schedule", "@daily"], ["Nats-Schedule-Target", "out.a"]]),
        disabled
      )
      assert.strictEqual(yield* publish("sched.a", [["Nats-Schedule", "nonsense"]]), disabled)
      assert.strictEqual(yield* publish("sched.a", [["Nats-Schedule-Time-Zone", ""]]), disabled)
      assert.strictEqual(
        yield* publish("out.a", [["Nats-Schedule-Next", "purge"], ["Nats-Scheduler", "sched.a"]]),
        disabled
      )
      assert.strictEqual(yield* publish("sched.a", [["Nats-Schedule-Target", "out.a"]]), ack(1))
      assert.deepStrictEqual(live(), ["1 sched.a"])
      const noTtl = yield* setupSchedules({ ...scheduleStream, allow_msg_ttl: false })
      assert.strictEqual(
        yield* noTtl.publish("sched.a", [
          ["Nats-Schedule", "@daily"],
          ["Nats-Schedule-Target", "out.a"],
          ["Nats-Schedule-TTL", "5m"]
        ]),
        err(10166, "per-message TTL is disabled")
      )
    })))
})

describe("StreamActor message schedules: restarts", () => {
  it.effect("an @at that fell due while stopped fires once on recovery; repeating ones keep their instants", () =>
    withScheduleClock(Effect.gen(function*() {
      const { publish, live, restart, headers } = yield* setupSchedules(scheduleStream)
      yield* publish("sched.a", [["Nats-Schedule", `@at ${iso(T0 + 3000)}`], ["Nats-Schedule-Target", "out.a"]])
      yield* publish("sched.e", [["Nats-Schedule", "@every 10s"], ["Nats-Schedule-Target", "out.e"]])
      yield* after(10_000)
      assert.deepStrictEqual(live(), ["2 sched.e", "3 out.a", "4 out.e"])
      yield* restart()
      assert.deepStrictEqual(live(), ["2 sched.e", "3 out.a", "4 out.e"])
      yield* after(9_999)
      assert.strictEqual(live().length, 3)
      yield* after(1)
      assert.deepStrictEqual(live().slice(3), ["5 out.e"])
      assert.include(headers(5), `Nats-Schedule-Next: ${iso(T0 + 30_000)}\r\n`)
      // Stopped across both firings (T0+25s and T0+30s) until T0+32.5s: each runs once at recovery
      // (in schedule order), then the interval goes on from the missed firing (T0+40s).
      yield* publish("sched.b", [["Nats-Schedule", `@at ${iso(T0 + 25_000)}`], ["Nats-Schedule-Target", "out.b"]])
      yield* restart(12_500)
      assert.deepStrictEqual(live().slice(3), ["5 out.e", "7 out.e", "8 out.b"])
      assert.include(headers(7), `Nats-Schedule-Next: ${iso(T0 + 40_000)}\r\n`)
      yield* after(7_499)
      assert.strictEqual(live().length, 6)
      yield* after(1)
      assert.deepStrictEqual(live().slice(6), ["9 out.e"])
      // Stopped for a minute: one catch-up firing, then the next from the recovery second.
      yield* restart(60_000)
      assert.deepStrictEqual(live().slice(6), ["9 out.e", "10 out.e"])
      assert.include(headers(10), `Nats-Schedule-Next: ${iso(T0 + 110_000)}\r\n`)
    })))
})
