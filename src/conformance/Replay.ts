/**
 * Replay: a consumer created with deliver_policy by_start_sequence / by_start_time (optionally with a
 * filter subject) delivers exactly the matching suffix of the stream, in order, and reports it as
 * num_pending when created.
 */
import { AckPolicy, type ConsumerConfig, DeliverPolicy } from "@nats-io/jetstream"
import * as fc from "fast-check"
import { define, expectEqual } from "./Property.ts"
import { addStream, dc, fetchBatch, sc, type Session, sleep, withSession } from "./Wire.ts"

interface ReplayCase {
  readonly subjects: ReadonlyArray<number>
  readonly pauses: ReadonlyArray<number>
  readonly filter: number | null
  readonly start: number
  /** by_start_time only: nanoseconds added to the chosen message's timestamp (-1, 0, +1). */
  readonly shiftNs: number
}

const replayCase = (byTime: boolean): fc.Arbitrary<ReplayCase> =>
  fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      subjects: fc.array(fc.nat(2), { minLength: n, maxLength: n }),
      pauses: byTime ? fc.array(fc.nat(3), { minLength: n, maxLength: n }) : fc.constant([]),
      filter: fc.option(fc.nat(2), { nil: null }),
      start: fc.nat(n + 1),
      shiftNs: byTime ? fc.constantFrom(-1, 0, 1) : fc.constant(0)
    })
  )

/** RFC 3339 with up to nanosecond fraction → nanoseconds since the epoch. */
export const parseNs = (ts: string): bigint => {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts)
  if (m === null) throw new Error(`unparseable timestamp ${ts}`)
  const whole = BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1_000_000n
  return whole + BigInt((m[2] ?? "").padEnd(9, "0").slice(0, 9))
}

export const formatNs = (ns: bigint): string => {
  const secs = ns / 1_000_000_000n
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0")
  return `${new Date(Number(secs) * 1000).toISOString().slice(0, 19)}.${frac}Z`
}

const render = (byTime: boolean) => (c: ReplayCase) => [
  "add stream storage=memory",
  ...c.subjects.map((s, i) =>
    `publish #${i + 1} subject=s${s}${byTime && c.pauses[i]! > 0 ? ` after ${c.pauses[i]}ms` : ""}`
  ),
  byTime
    ? `add consumer deliver_policy=by_start_time opt_start_time=<timestamp of seq ${c.start + 1}>${
      c.shiftNs === 0 ? "" : `${c.shiftNs > 0 ? "+" : ""}${c.shiftNs}ns`
    } (latest timestamp+1ns if beyond)`
    : `add consumer deliver_policy=by_start_sequence opt_start_seq=${c.start + 1}`,
  ...(c.filter !== null ? [`  filter_subject=s${c.filter}`] : []),
  "fetch everything pending, compare with the model suffix"
]

const publishAll = async (s: Session, name: string, c: ReplayCase) => {
  const out: Array<{ seq: number; subject: string; data: string }> = []
  for (const [i, sub] of c.subjects.entries()) {
    if ((c.pauses[i] ?? 0) > 0) await sleep(c.pauses[i]!)
    const subject = `${name}.s${sub}`
    const ack = await s.js.publish(subject, sc.encode(`m${i + 1}`))
    out.push({ seq: ack.seq, subject, data: `m${i + 1}` })
  }
  return out
}

const consumeAndCompare = async (
  s: Session,
  name: string,
  cfg: Partial<ConsumerConfig>,
  expected: ReadonlyArray<{ seq: number; subject: string; data: string }>
) => {
  const info = await s.jsm.consumers.add(name, { name: "replay", ack_policy: AckPolicy.None, ...cfg })
  expectEqual("num_pending of the new consumer", info.num_pending, expected.length)
  const c = await s.js.consumers.get(name, "replay")
  const got: Array<{ seq: number; subject: string; data: string }> = []
  // Pull until the expected count arrived or a pull comes back empty (a short server means a missing message).
  while (got.length < expected.length) {
    const batch = await fetchBatch(c, expected.length - got.length, 1000)
    if (batch.length === 0) break
    for (const m of batch) got.push({ seq: m.seq, subject: m.subject, data: dc.decode(m.data) })
  }
  expectEqual("delivered messages (stream seq, subject, data)", got, expected)
  expectEqual("num_pending after the replay", (await s.jsm.consumers.info(name, "replay")).num_pending, 0)
}

export const replayBySequence = define({
  name: "replay-by-sequence",
  description:
    "deliver_policy by_start_sequence delivers exactly the messages with seq >= opt_start_seq (and the filter), in order",
  cost: "fast",
  arbitrary: replayCase(false),
  render: render(false),
  check: async (ctx, c) => {
    const name = ctx.name("RSEQ")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      const all = await publishAll(s, name, c)
      const start = c.start + 1
      const filter = c.filter === null ? undefined : `${name}.s${c.filter}`
      const expected = all.filter((m) => m.seq >= start && (filter === undefined || m.subject === filter))
      await consumeAndCompare(s, name, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: start,
        ...(filter !== undefined ? { filter_subject: filter } : {})
      }, expected)
    })
  }
})

export const replayByTime = define({
  name: "replay-by-time",
  description:
    "deliver_policy by_start_time delivers exactly the messages stored at or after opt_start_time (nanosecond precision, and the filter), in order",
  cost: "fast",
  arbitrary: replayCase(true),
  render: render(true),
  check: async (ctx, c) => {
    const name = ctx.name("RTIME")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      const all = await publishAll(s, name, c)
      const times: Array<bigint> = []
      for (const m of all) {
        const sm = await s.jsm.streams.getMessage(name, { seq: m.seq })
        times.push(parseNs(sm!.timestamp))
      }
      const startNs = c.start < all.length ? times[c.start]! + BigInt(c.shiftNs) : times[times.length - 1]! + 1n
      const filter = c.filter === null ? undefined : `${name}.s${c.filter}`
      const expected = all.filter((m, i) => times[i]! >= startNs && (filter === undefined || m.subject === filter))
      await consumeAndCompare(s, name, {
        deliver_policy: DeliverPolicy.StartTime,
        opt_start_time: formatNs(startNs),
        ...(filter !== undefined ? { filter_subject: filter } : {})
      }, expected)
    })
  }
})
