/**
 * Publish path properties: sequence assignment and stream state, deduplication by Nats-Msg-Id, and
 * optimistic concurrency with the Nats-Expected-* headers.
 */
import { headers } from "@nats-io/transport-node"
import * as fc from "fast-check"
import { define, expectEqual, violation } from "./Property.ts"
import { addStream, dc, outcome, sc, withSession } from "./Wire.ts"

/** Memory-store size of a message, the formula nats-server and this broker share. */
export const memSize = (subject: string, hdrLen: number, dataLen: number) => subject.length + hdrLen + dataLen + 16

type SeqOp =
  | { readonly op: "pub"; readonly subject: number; readonly size: number }
  | { readonly op: "delete"; readonly pick: number }
  | { readonly op: "purge"; readonly subject: number }

const seqOp: fc.Arbitrary<SeqOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("pub" as const), subject: fc.nat(2), size: fc.nat(48) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("purge" as const), subject: fc.nat(2) }) }
)

const payload = (i: number, size: number) => sc.encode(`${i}|${".".repeat(size)}`)

export const publishSequence = define({
  name: "publish-sequence",
  description:
    "publish acks carry strictly increasing (contiguous) sequences and stream info (messages, bytes, first/last seq) and every stored message match a model",
  cost: "fast",
  arbitrary: fc.array(seqOp, { minLength: 1, maxLength: 20 }),
  render: (ops) =>
    ops.map((o, i) =>
      o.op === "pub"
        ? `#${i} publish subject=s${o.subject} payload="${i}|" + ${o.size} dots`
        : o.op === "delete"
        ? `#${i} delete the (${o.pick} mod n)-th stored message`
        : `#${i} purge filter=s${o.subject}`
    ),
  check: async (ctx, ops) => {
    const name = ctx.name("SEQ")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      const model: Array<{ seq: number; subject: string; data: Uint8Array }> = []
      let last = 0
      for (const [i, o] of ops.entries()) {
        if (o.op === "pub") {
          const subject = `${name}.s${o.subject}`
          const data = payload(i, o.size)
          const ack = await s.js.publish(subject, data)
          if (ack.seq <= last) violation(`op #${i}: ack seq ${ack.seq} is not greater than the previous ${last}`)
          expectEqual(`op #${i}: ack`, { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate }, {
            stream: name,
            seq: last + 1,
            duplicate: false
          })
          last = ack.seq
          model.push({ seq: ack.seq, subject, data })
        } else if (o.op === "delete") {
          if (model.length === 0) continue
          const [m] = model.splice(o.pick % model.length, 1)
          const ok = await s.jsm.streams.deleteMessage(name, m!.seq, false)
          expectEqual(`op #${i}: delete seq ${m!.seq}`, ok, true)
        } else {
          const subject = `${name}.s${o.subject}`
          const before = model.length
          for (let k = model.length - 1; k >= 0; k--) if (model[k]!.subject === subject) model.splice(k, 1)
          const r = await s.jsm.streams.purge(name, { filter: subject })
          expectEqual(`op #${i}: purge ${subject} purged`, r.purged, before - model.length)
        }
      }
      const st = (await s.jsm.streams.info(name)).state
      expectEqual("stream state", {
        messages: st.messages,
        bytes: st.bytes,
        last_seq: st.last_seq,
        first_seq: model.length > 0 ? st.first_seq : "(empty)"
      }, {
        messages: model.length,
        bytes: model.reduce((n, m) => n + memSize(m.subject, 0, m.data.length), 0),
        last_seq: last,
        first_seq: model.length > 0 ? model.reduce((a, m) => Math.min(a, m.seq), Infinity) : "(empty)"
      })
      for (const m of model) {
        const got = await s.jsm.streams.getMessage(name, { seq: m.seq })
        expectEqual(
          `stored message ${m.seq}`,
          got === null ? null : { subject: got.subject, data: dc.decode(got.data) },
          {
            subject: m.subject,
            data: dc.decode(m.data)
          }
        )
      }
    })
  }
})

type DedupOp = { readonly subject: number; readonly id: number | null }

export const dedup = define({
  name: "dedup-window",
  description:
    "within the duplicate window a repeated Nats-Msg-Id is acked duplicate:true with the original sequence and not stored again",
  cost: "fast",
  arbitrary: fc.array(fc.record({ subject: fc.nat(1), id: fc.option(fc.nat(4), { nil: null }) }), {
    minLength: 1,
    maxLength: 20
  }),
  render: (ops: ReadonlyArray<DedupOp>) =>
    ops.map((o, i) => `#${i} publish subject=s${o.subject}${o.id === null ? "" : ` Nats-Msg-Id=id${o.id}`}`),
  check: async (ctx, ops) => {
    const name = ctx.name("DUP")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`], duplicate_window: 60_000_000_000 })
      const firstSeq = new Map<number, number>()
      let last = 0
      for (const [i, o] of ops.entries()) {
        const ack = await s.js.publish(
          `${name}.s${o.subject}`,
          sc.encode(String(i)),
          o.id === null ? {} : {
            msgID: `id${o.id}`
          }
        )
        const original = o.id === null ? undefined : firstSeq.get(o.id)
        if (original !== undefined) {
          expectEqual(`op #${i}: ack of a duplicate`, { seq: ack.seq, duplicate: ack.duplicate }, {
            seq: original,
            duplicate: true
          })
        } else {
          expectEqual(`op #${i}: ack`, { seq: ack.seq, duplicate: ack.duplicate }, { seq: last + 1, duplicate: false })
          last = ack.seq
          if (o.id !== null) firstSeq.set(o.id, ack.seq)
        }
      }
      const st = (await s.jsm.streams.info(name)).state
      expectEqual("stream state", { messages: st.messages, last_seq: st.last_seq }, { messages: last, last_seq: last })
    })
  }
})

type ExpectOp = {
  readonly subject: number
  readonly lastSeq: number | null
  readonly lastSubjSeq: number | null
  readonly lastMsgId: "current" | "other" | null
}

/** err_code values from nats-server errors.json. */
const WRONG_LAST_SEQUENCE = "10071"
const WRONG_LAST_MSG_ID = "10070"

export const expectedHeaders = define({
  name: "expected-headers",
  description:
    "Nats-Expected-Last-Sequence / -Last-Subject-Sequence / -Last-Msg-Id accept a publish only when they match the stream, otherwise it is rejected (10071 / 10070) and nothing is stored",
  cost: "fast",
  arbitrary: fc.array(
    fc.record({
      subject: fc.nat(1),
      // Offsets from the true value, so that both matching and stale expectations are generated.
      lastSeq: fc.option(fc.integer({ min: -2, max: 1 }), { nil: null }),
      lastSubjSeq: fc.option(fc.integer({ min: -2, max: 1 }), { nil: null }),
      lastMsgId: fc.option(fc.constantFrom("current" as const, "other" as const), { nil: null })
    }),
    { minLength: 1, maxLength: 15 }
  ),
  render: (ops: ReadonlyArray<ExpectOp>) =>
    ops.map((o, i) => {
      const parts = [`#${i} publish subject=s${o.subject} Nats-Msg-Id=m${i}`]
      if (o.lastSeq !== null) {
        parts.push(`Nats-Expected-Last-Sequence=<last seq ${o.lastSeq >= 0 ? "+" : ""}${o.lastSeq}>`)
      }
      if (o.lastSubjSeq !== null) {
        parts.push(
          `Nats-Expected-Last-Subject-Sequence=<last seq of s${o.subject} ${
            o.lastSubjSeq >= 0 ? "+" : ""
          }${o.lastSubjSeq}>`
        )
      }
      if (o.lastMsgId !== null) {
        parts.push(
          `Nats-Expected-Last-Msg-Id=${o.lastMsgId === "current" ? "<id of the last stored message>" : `x${i}`}`
        )
      }
      return parts.join(" ")
    }),
  check: async (ctx, ops) => {
    const name = ctx.name("EXP")
    await withSession(ctx.url, [name], async (s) => {
      await addStream(s, { name, subjects: [`${name}.>`] })
      let lastSeq = 0
      let lastMsgId = ""
      const lastBySubject = new Map<string, number>()
      for (const [i, o] of ops.entries()) {
        const subject = `${name}.s${o.subject}`
        const h = headers()
        h.set("Nats-Msg-Id", `m${i}`)
        let seqOk = true
        let idOk = true
        if (o.lastSeq !== null) {
          const v = Math.max(0, lastSeq + o.lastSeq)
          h.set("Nats-Expected-Last-Sequence", String(v))
          seqOk &&= v === lastSeq
        }
        if (o.lastSubjSeq !== null) {
          const cur = lastBySubject.get(subject) ?? 0
          const v = Math.max(0, cur + o.lastSubjSeq)
          h.set("Nats-Expected-Last-Subject-Sequence", String(v))
          seqOk &&= v === cur
        }
        if (o.lastMsgId !== null) {
          const v = o.lastMsgId === "current" ? lastMsgId : `x${i}`
          // An empty expected id is no expectation (nats-server getExpectedLastMsgId).
          if (v !== "") {
            h.set("Nats-Expected-Last-Msg-Id", v)
            idOk = v === lastMsgId
          }
        }
        const r = await outcome(s.js.publish(subject, sc.encode(String(i)), { headers: h }))
        const expected = !seqOk ? WRONG_LAST_SEQUENCE : !idOk ? WRONG_LAST_MSG_ID : "ok"
        const got = r.ok ? "ok" : r.code
        if (got !== expected) {
          violation(
            `op #${i}: expected ${expected === "ok" ? "the publish to be stored" : `rejection ${expected}`}, got ${
              got === "ok" ? "stored" : got
            }`
          )
        }
        if (r.ok) {
          expectEqual(`op #${i}: ack seq`, r.value.seq, lastSeq + 1)
          lastSeq = r.value.seq
          lastMsgId = `m${i}`
          lastBySubject.set(subject, r.value.seq)
        }
      }
      const st = (await s.jsm.streams.info(name)).state
      expectEqual("stream state", { messages: st.messages, last_seq: st.last_seq }, {
        messages: lastSeq,
        last_seq: lastSeq
      })
    })
  }
})
