/**
 * Consumer `filter_subjects` (nats-server 2.10+) over real sockets. nats.js v3 refuses to send the
 * field to a server advertising 2.9.10, so consumers are created with raw `$JS.API.CONSUMER.CREATE`
 * requests on a nats.js connection; messages are then read through the normal client (`fetch`).
 * Covers: delivery of exactly the messages matching any filter, in stream order, with exact
 * num_pending; every validation error with its nats-server body (and nothing created); and a
 * property comparing delivery and num_pending with a reference model for random streams and filters.
 */
import { jetstream, type JetStreamClient, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { matches, overlaps } from "../../src/subject/Subject.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

type ApiReply = {
  error?: { code: number; err_code: number; description: string }
  config?: Record<string, unknown>
  num_pending?: number
}

let broker: RunningBroker
let nc: NatsConnection
let jsm: JetStreamManager
let js: JetStreamClient

beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  jsm = await jetstreamManager(nc)
  js = jetstream(nc)
})

afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

const api = async (subject: string, body: unknown): Promise<ApiReply> => {
  const m = await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), {
    timeout: 5000
  })
  return m.json<ApiReply>()
}

const create = (stream: string, name: string, config: Record<string, unknown>, subject?: string) =>
  api(subject ?? `CONSUMER.CREATE.${stream}.${name}`, { stream_name: stream, config: { name, ...config } })

const pending = async (stream: string, name: string): Promise<number> =>
  (await api(`CONSUMER.INFO.${stream}.${name}`, "")).num_pending!

/** Fetch exactly `n` messages (the broker must have them); returns [subject, stream seq]. */
const fetchN = async (stream: string, name: string, n: number): Promise<Array<[string, number]>> => {
  const out: Array<[string, number]> = []
  if (n === 0) return out
  const c = await js.consumers.get(stream, name)
  const it = await c.fetch({ max_messages: n, expires: 2000 })
  for await (const m of it) out.push([m.subject, m.seq])
  return out
}

describe("filter_subjects: delivery and num_pending", () => {
  it("two filters deliver exactly the matching messages in stream order, num_pending exact", async () => {
    await jsm.streams.add({ name: "TWO", subjects: ["two.>"], storage: "memory" })
    const subjects = ["two.a", "two.b", "two.c", "two.a", "two.x.y", "two.b", "two.c", "two.b.z"]
    for (const s of subjects) await js.publish(s, "m")
    const reply = await create("TWO", "C", { ack_policy: "explicit", filter_subjects: ["two.a", "two.b.>"] })
    expect(reply.error).toBeUndefined()
    expect(reply.config?.filter_subjects).toEqual(["two.a", "two.b.>"])
    expect(reply.num_pending).toBe(3)
    expect(await fetchN("TWO", "C", 2)).toEqual([["two.a", 1], ["two.a", 4]])
    expect(await pending("TWO", "C")).toBe(1)
    await js.publish("two.b.q", "m") // seq 9, matches two.b.>
    await js.publish("two.c", "m") // seq 10, matches neither
    expect(await pending("TWO", "C")).toBe(2)
    expect(await fetchN("TWO", "C", 2)).toEqual([["two.b.z", 8], ["two.b.q", 9]])
    expect(await pending("TWO", "C")).toBe(0)
  })

  it("an update that changes the filters applies them from the current position", async () => {
    await jsm.streams.add({ name: "UPD", subjects: ["upd.>"], storage: "memory" })
    for (const s of ["upd.a", "upd.b", "upd.a", "upd.c", "upd.b"]) await js.publish(s, "m")
    expect((await create("UPD", "U", { ack_policy: "explicit", filter_subject: "upd.a" })).error).toBeUndefined()
    expect(await fetchN("UPD", "U", 1)).toEqual([["upd.a", 1]])
    const updated = await create("UPD", "U", { ack_policy: "explicit", filter_subjects: ["upd.b", "upd.c"] })
    expect(updated.error).toBeUndefined()
    expect(updated.config?.filter_subjects).toEqual(["upd.b", "upd.c"])
    expect(updated.config?.filter_subject).toBeUndefined()
    expect(await pending("UPD", "U")).toBe(3)
    expect(await fetchN("UPD", "U", 3)).toEqual([["upd.b", 2], ["upd.c", 4], ["upd.b", 5]])
    expect(await pending("UPD", "U")).toBe(0)
  })

  it("deliver last starts at the latest last message across the filters", async () => {
    await jsm.streams.add({ name: "LAST", subjects: ["last.>"], storage: "memory" })
    for (const s of ["last.a", "last.b", "last.a", "last.c"]) await js.publish(s, "m")
    expect((await create("LAST", "L", { deliver_policy: "last", filter_subjects: ["last.a", "last.b"] })).error)
      .toBeUndefined()
    expect(await pending("LAST", "L")).toBe(1)
    expect(await fetchN("LAST", "L", 1)).toEqual([["last.a", 3]])
    expect(
      (await create("LAST", "P", { deliver_policy: "last_per_subject", filter_subjects: ["last.b", "last.c"] })).error
    ).toBeUndefined()
    expect(await pending("LAST", "P")).toBe(2)
    expect(await fetchN("LAST", "P", 2)).toEqual([["last.b", 2], ["last.c", 4]])
  })
})

describe("filter_subjects: validation (nats-server's errors, nothing created)", () => {
  beforeAll(async () => {
    await jsm.streams.add({ name: "VAL", subjects: ["val.>"], storage: "memory" })
  })

  const cases: ReadonlyArray<[string, Record<string, unknown>, ApiReply["error"]]> = [
    ["both fields", { filter_subject: "val.a", filter_subjects: ["val.b"] }, {
      code: 400,
      err_code: 10136,
      description: "consumer cannot have both FilterSubject and FilterSubjects specified"
    }],
    ["an empty filter", { filter_subjects: ["val.a", ""] }, {
      code: 400,
      err_code: 10139,
      description: "consumer filter in FilterSubjects cannot be empty"
    }],
    ["overlapping filters", { filter_subjects: ["val.a", "val.*"] }, {
      code: 400,
      err_code: 10138,
      description: "consumer subject filters cannot overlap"
    }],
    ["a duplicate filter", { filter_subjects: ["val.a", "val.a"] }, {
      code: 400,
      err_code: 10138,
      description: "consumer subject filters cannot overlap"
    }],
    ["an invalid subject", { filter_subjects: ["val..a"] }, {
      code: 500,
      err_code: 10052,
      description: "invalid subject"
    }],
    // 2.10 checks filter_subject's syntax itself (2.9 refused it as outside the stream, 10093).
    ["an invalid filter_subject", { filter_subject: "val.>.a" }, {
      code: 500,
      err_code: 10052,
      description: "invalid subject"
    }]
  ]

  for (const [what, config, error] of cases) {
    it(`${what} is refused`, async () => {
      const name = `V${cases.findIndex((c) => c[0] === what)}`
      expect((await create("VAL", name, config)).error).toEqual(error)
      expect((await api(`CONSUMER.INFO.VAL.${name}`, "")).error?.err_code).toBe(10014)
    })
  }

  // nats-server >= 2.10 never raises 10093 (nats.c JetStreamMgtConsumers): a filter may name
  // subjects the stream does not hold, on create and on update, and such a consumer simply waits.
  it("a filter outside the stream is accepted, as one of several, on update too", async () => {
    const several = await create("VAL", "OUT", { filter_subjects: ["val.a", "other.a"] })
    expect(several.error).toBeUndefined()
    expect(several.config?.filter_subjects).toEqual(["val.a", "other.a"])
    const one = await create("VAL", "OUT1", { filter_subject: "other.b" })
    expect([one.error, one.config?.filter_subject, one.num_pending]).toEqual([undefined, "other.b", 0])
    const updated = await create("VAL", "OUT1", { filter_subject: "elsewhere.>" })
    expect([updated.error, updated.config?.filter_subject]).toEqual([undefined, "elsewhere.>"])
    await jsm.consumers.delete("VAL", "OUT")
    await jsm.consumers.delete("VAL", "OUT1")
  })

  it("the subject-based create API refuses several filters (10137)", async () => {
    const reply = await create("VAL", "SB", { filter_subjects: ["val.a", "val.b"] }, "CONSUMER.CREATE.VAL.SB.val.a")
    expect(reply.error).toEqual({
      code: 400,
      err_code: 10137,
      description: "consumer with multiple subject filters cannot use subject based API"
    })
  })

  it("colliding filters that are not subsets are accepted, and a message matching both counts once", async () => {
    await jsm.streams.add({ name: "COL", subjects: ["col.>"], storage: "memory" })
    for (const s of ["col.a.b", "col.a.c", "col.x.b", "col.x.c"]) await js.publish(s, "m")
    expect((await create("COL", "K", { filter_subjects: ["col.a.*", "col.*.b"] })).error).toBeUndefined()
    expect(await pending("COL", "K")).toBe(3)
    expect(await fetchN("COL", "K", 3)).toEqual([["col.a.b", 1], ["col.a.c", 2], ["col.x.b", 3]])
  })

  it("workqueue: filter lists must not overlap another consumer's (10100)", async () => {
    await jsm.streams.add({ name: "WQ", subjects: ["wq.>"], storage: "memory", retention: "workqueue" as never })
    expect((await create("WQ", "A", { ack_policy: "explicit", filter_subjects: ["wq.a", "wq.b"] })).error)
      .toBeUndefined()
    expect((await create("WQ", "B", { ack_policy: "explicit", filter_subjects: ["wq.c", "wq.b.>"] })).error)
      .toBeUndefined()
    expect((await create("WQ", "C", { ack_policy: "explicit", filter_subjects: ["wq.d", "wq.b.x"] })).error).toEqual({
      code: 400,
      err_code: 10100,
      description: "filtered consumer not unique on workqueue stream"
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Property: random streams and 1-4 non-overlapping filters against a reference model
// ---------------------------------------------------------------------------------------------

const token = fc.constantFrom("a", "b", "c")
const subjectArb = fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join("."))
const filterArb = fc.tuple(fc.array(fc.constantFrom("a", "b", "*"), { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([t, tail]) => (tail ? [...t, ">"] : t).join("."))
/** 1-4 filters where no two can match the same subject (so the model is a plain union). */
const filtersArb = fc.array(filterArb, { minLength: 1, maxLength: 4 }).map((fs) => {
  const kept: Array<string> = []
  for (const f of fs) if (kept.every((k) => !overlaps(k, f))) kept.push(f)
  return kept
})
type Policy = { deliver_policy: "all" } | { deliver_policy: "last" } | { deliver_policy: "last_per_subject" } | {
  deliver_policy: "by_start_sequence"
  opt_start_seq: number
}
const policyArb: fc.Arbitrary<Policy> = fc.oneof(
  fc.constant({ deliver_policy: "all" as const }),
  fc.constant({ deliver_policy: "last" as const }),
  fc.constant({ deliver_policy: "last_per_subject" as const }),
  fc.integer({ min: 1, max: 12 }).map((s) => ({ deliver_policy: "by_start_sequence" as const, opt_start_seq: s }))
)

/** What nats-server delivers: [subject, seq] in order. Subjects are relative to the stream prefix. */
const model = (msgs: ReadonlyArray<string>, filters: ReadonlyArray<string>, p: Policy): Array<[string, number]> => {
  const all = msgs.map((s, i) => [s, i + 1] as [string, number]).filter(([s]) => filters.some((f) => matches(f, s)))
  switch (p.deliver_policy) {
    case "all":
      return all
    case "by_start_sequence":
      return all.filter(([, q]) => q >= p.opt_start_seq)
    case "last":
      return all.slice(-1)
    case "last_per_subject": {
      const last = new Map<string, number>()
      for (const [s, q] of all) last.set(s, q)
      return all.filter(([s, q]) => last.get(s) === q)
    }
  }
}

let run = 0

describe("filter_subjects: property", () => {
  it("delivered sequence and num_pending equal the reference model", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(subjectArb, { minLength: 0, maxLength: 12 }),
        filtersArb,
        policyArb,
        async (msgs, filters, policy) => {
          const name = `PR${run++}`
          const prefix = name.toLowerCase()
          await jsm.streams.add({ name, subjects: [`${prefix}.>`], storage: "memory" })
          try {
            for (const s of msgs) await js.publish(`${prefix}.${s}`, "m")
            const reply = await create(name, "C", {
              ack_policy: "explicit",
              ...policy,
              filter_subjects: filters.map((f) => `${prefix}.${f}`)
            })
            expect(reply.error).toBeUndefined()
            const expected = model(msgs, filters, policy).map(([s, q]) => [`${prefix}.${s}`, q])
            expect(reply.num_pending).toBe(expected.length)
            const half = Math.floor(expected.length / 2)
            const first = await fetchN(name, "C", half)
            expect(await pending(name, "C")).toBe(expected.length - half)
            const rest = await fetchN(name, "C", expected.length - half)
            expect([...first, ...rest]).toEqual(expected)
            expect(await pending(name, "C")).toBe(0)
          } finally {
            await jsm.streams.delete(name)
          }
        }
      ),
      { numRuns: 40 }
    )
  }, 120_000)
})
