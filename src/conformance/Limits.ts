/**
 * Stream limits: max_msgs, max_bytes, max_msgs_per_subject with discard old/new (memory storage, whose
 * byte accounting is subject + headers + data + 16 on both servers), and max_age expiry.
 */
import * as fc from "fast-check"
import { define, expectEqual, violation } from "./Property.ts"
import { memSize } from "./Publish.ts"
import { addStream, nanos, outcome, sc, sleep, withSession } from "./Wire.ts"

interface LimitsCase {
  readonly maxMsgs: number | null
  readonly maxBytes: number | null
  readonly maxPerSubject: number | null
  readonly discard: "old" | "new"
  readonly pubs: ReadonlyArray<{ readonly subject: number; readonly size: number }>
}

interface Stored {
  readonly seq: number
  readonly subject: string
  readonly size: number
}

type Decision = "store" | "reject" | "either"

/**
 * nats-server 2.9.x admits a discard-new message when the stream's bytes plus the message's header and
 * payload (without subject and the 16-byte overhead) stay below max_bytes, then evicts the oldest
 * messages to get back under max_bytes (memstore storeRawMsg + enforceBytesLimit). Later releases
 * count the whole message; this broker counts the whole message and never evicts under discard new.
 */
const isNats29 = (implementation: string) => /^nats-server 2\.9\./.test(implementation)

/**
 * Discard-new admission. At max_msgs / max_bytes a message whose subject is at max_msgs_per_subject
 * is still admitted when replacing the subject's oldest keeps the stream within its limits (nats-server
 * storeRawMsg: "at the limit we will replace, so this is ok"). A message that would fill max_bytes
 * exactly may go either way (nats-server 2.10+ checks `bytes + size >= max_bytes`).
 */
const admitNew = (
  c: LimitsCase,
  msgs: ReadonlyArray<Stored>,
  subject: string,
  size: number,
  payload: number,
  nats29: boolean
): Decision => {
  const same = msgs.filter((m) => m.subject === subject)
  const asl = c.maxPerSubject !== null && same.length >= c.maxPerSubject
  if (c.maxMsgs !== null && msgs.length >= c.maxMsgs && !asl) return "reject"
  if (c.maxBytes !== null) {
    const bytes = msgs.reduce((n, m) => n + m.size, 0)
    if (nats29) return !asl && bytes + payload >= c.maxBytes ? "reject" : "store"
    if (bytes + size > c.maxBytes) {
      // At the subject limit the newcomer replaces the subject's oldest message. nats-server 2.10+ admits
      // it only when it is no bigger than that message; this broker does not replace under discard new
      // and rejects. Either is safe (no limit exceeded), so both are accepted while it would fit.
      return asl && bytes - same[0]!.size + size <= c.maxBytes ? "either" : "reject"
    }
    if (bytes + size === c.maxBytes) return "either"
  }
  return "store"
}

/** Limits enforcement after a store: per subject, then max_msgs, then max_bytes, oldest first. */
const enforce = (c: LimitsCase, msgs: Array<Stored>, subject: string, nats29: boolean) => {
  if (c.maxPerSubject !== null) {
    while (msgs.filter((m) => m.subject === subject).length > c.maxPerSubject) {
      msgs.splice(msgs.findIndex((m) => m.subject === subject), 1)
    }
  }
  if (c.discard === "new" && !nats29) return
  if (c.maxMsgs !== null) { while (msgs.length > c.maxMsgs) msgs.shift() }
  if (c.maxBytes !== null) { while (msgs.reduce((n, m) => n + m.size, 0) > c.maxBytes) msgs.shift() }
}

const limitsCase: fc.Arbitrary<LimitsCase> = fc
  .record({
    maxMsgs: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    // Larger than any single message (subject ≤ 24 + 40 + 16), so no message alone exceeds it.
    maxBytes: fc.option(fc.integer({ min: 100, max: 400 }), { nil: null }),
    maxPerSubject: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
    discard: fc.constantFrom("old" as const, "new" as const),
    pubs: fc.array(fc.record({ subject: fc.nat(2), size: fc.nat(40) }), { minLength: 1, maxLength: 20 })
  })
  .filter((c) => c.maxMsgs !== null || c.maxBytes !== null || c.maxPerSubject !== null)

export const limits = define({
  name: "limits-discard",
  description:
    "max_msgs, max_bytes and max_msgs_per_subject are never exceeded; discard old drops the oldest, discard new rejects the newcomer unless per-subject replacement makes room, and drops no other stored message",
  cost: "fast",
  differences:
    "discard new + max_bytes: nats-server 2.9.x admits a message when stored bytes + header + payload < max_bytes (subject and the 16-byte overhead not counted) and then evicts the oldest messages, so discard new can drop stored messages there; against nats-server 2.9.x (INFO version 2.9.x with a Go runtime in `go`) the model follows that rule, against any other server the strict rule (whole size, never evict). A message that fills max_bytes exactly may be stored or rejected (nats-server 2.10+ rejects it, this broker stores it); so may a message over max_bytes whose subject is at max_msgs_per_subject when replacing the subject's oldest would make it fit (nats-server 2.10+ admits it only if it is no bigger than that message; this broker admits it when the replacement makes room).",
  arbitrary: limitsCase,
  render: (c) => [
    `add stream storage=memory discard=${c.discard}${c.maxMsgs !== null ? ` max_msgs=${c.maxMsgs}` : ""}${
      c.maxBytes !== null ? ` max_bytes=${c.maxBytes}` : ""
    }${c.maxPerSubject !== null ? ` max_msgs_per_subject=${c.maxPerSubject}` : ""}`,
    ...c.pubs.map((p, i) => `#${i} publish subject=s${p.subject} payload=${p.size} bytes`)
  ],
  check: async (ctx, c) => {
    const name = ctx.name("LIM")
    const nats29 = isNats29(ctx.implementation)
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, {
        name,
        subjects: [`${name}.>`],
        discard: c.discard as never,
        ...(c.maxMsgs !== null ? { max_msgs: c.maxMsgs } : {}),
        ...(c.maxBytes !== null ? { max_bytes: c.maxBytes } : {}),
        ...(c.maxPerSubject !== null ? { max_msgs_per_subject: c.maxPerSubject } : {})
      })
      const model: Array<Stored> = []
      let last = 0
      for (const [i, p] of c.pubs.entries()) {
        const subject = `${name}.s${p.subject}`
        const size = memSize(subject, 0, p.size)
        const decision = c.discard === "new" ? admitNew(c, model, subject, size, p.size, nats29) : "store"
        const r = await outcome(s.js.publish(subject, sc.encode("x".repeat(p.size))))
        if (decision === "store" && !r.ok) violation(`publish #${i}: expected it to be stored, got rejection ${r.code}`)
        if (decision === "reject" && r.ok) {
          violation(`publish #${i}: expected a discard-new rejection, got stored at seq ${r.value.seq}`)
        }
        if (r.ok) {
          expectEqual(`publish #${i}: ack seq`, r.value.seq, last + 1)
          last = r.value.seq
          model.push({ seq: r.value.seq, subject, size })
          enforce(c, model, subject, nats29)
        }
        const st = (await s.jsm.streams.info(name)).state
        if (c.maxMsgs !== null && st.messages > c.maxMsgs) {
          violation(`after publish #${i}: ${st.messages} messages > max_msgs ${c.maxMsgs}`)
        }
        if (c.maxBytes !== null && st.bytes > c.maxBytes) {
          violation(`after publish #${i}: ${st.bytes} bytes > max_bytes ${c.maxBytes}`)
        }
        expectEqual(`after publish #${i}: stream state`, {
          messages: st.messages,
          bytes: st.bytes,
          last_seq: st.last_seq
        }, {
          messages: model.length,
          bytes: model.reduce((n, m) => n + m.size, 0),
          last_seq: last
        })
      }
      const kept: Array<number> = []
      for (let seq = 1; seq <= last; seq++) {
        const m = await s.jsm.streams.getMessage(name, { seq }).catch(() => null)
        if (m !== null) kept.push(seq)
      }
      expectEqual("retained sequences", kept, model.map((m) => m.seq))
    })
  }
})

interface AgeCase {
  readonly maxAgeMs: number
  readonly phases: ReadonlyArray<{ readonly pauseMs: number; readonly count: number }>
  readonly observeAfterMs: number
}

/** Timer slack either side of the expiry instant (server timers, scheduling, the info round trip). */
const SLACK_MS = 350

export const maxAge = define({
  name: "limits-max-age",
  description:
    "with a short max_age, a message is still stored while younger than max_age and gone once older (±350 ms timer slack), and the stream ends empty",
  cost: "slow",
  arbitrary: fc.record({
    maxAgeMs: fc.constantFrom(800, 1200),
    phases: fc.array(fc.record({ pauseMs: fc.integer({ min: 0, max: 600 }), count: fc.integer({ min: 1, max: 3 }) }), {
      minLength: 1,
      maxLength: 4
    }),
    observeAfterMs: fc.integer({ min: 0, max: 1200 })
  }),
  render: (c: AgeCase) => [
    `add stream storage=memory max_age=${c.maxAgeMs}ms`,
    ...c.phases.map((p, i) => `phase ${i}: sleep ${p.pauseMs}ms, publish ${p.count} messages`),
    `sleep ${c.observeAfterMs}ms, read every sequence`,
    `wait until max_age + slack has passed for the newest message: stream must be empty`
  ],
  check: async (ctx, c) => {
    const name = ctx.name("AGE")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`], max_age: nanos(c.maxAgeMs) })
      const sent: Array<{ seq: number; before: number; after: number }> = []
      for (const p of c.phases) {
        await sleep(p.pauseMs)
        for (let k = 0; k < p.count; k++) {
          const before = Date.now()
          const ack = await s.js.publish(`${name}.a`, sc.encode(String(sent.length)))
          sent.push({ seq: ack.seq, before, after: Date.now() })
        }
      }
      await sleep(c.observeAfterMs)
      for (const m of sent) {
        const t0 = Date.now()
        const got = await s.jsm.streams.getMessage(name, { seq: m.seq }).catch(() => null)
        const t1 = Date.now()
        const oldest = t1 - m.before
        const youngest = t0 - m.after
        if (got === null && oldest < c.maxAgeMs - SLACK_MS) {
          violation(`seq ${m.seq} expired after at most ${oldest}ms (max_age ${c.maxAgeMs}ms)`)
        }
        if (got !== null && youngest > c.maxAgeMs + SLACK_MS) {
          violation(`seq ${m.seq} still stored at least ${youngest}ms after publish (max_age ${c.maxAgeMs}ms)`)
        }
      }
      const newest = sent[sent.length - 1]!.after
      await sleep(Math.max(0, newest + c.maxAgeMs + SLACK_MS - Date.now()))
      const st = (await s.jsm.streams.info(name)).state
      expectEqual("stream state after every message aged out", { messages: st.messages, bytes: st.bytes }, {
        messages: 0,
        bytes: 0
      })
    })
  }
})
