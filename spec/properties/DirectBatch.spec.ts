/**
 * Batched direct get as a property: over random streams (subjects, headers, deletes), random batch
 * and multi_last requests (start seq / start_time / next_by_subj, batch sizes, max_bytes, up_to_seq /
 * up_to_time) give exactly the replies of a reference model written from ADR-31 and nats-server's
 * getDirectRequest / getDirectMulti: the same messages in order, each with the matching messages
 * left (Nats-Num-Pending) and the previous reply's sequence (Nats-Last-Sequence), then the same EOB.
 */
import { fc } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import type { DirectGetRequest } from "../../src/jetstream/model/DirectGetRequest.ts"
import { answerDirectGet, type DirectReply } from "../../src/jetstream/stream/DirectBatch.ts"
import { decodeHeaders } from "../../src/protocol/Headers.ts"
import { MemoryLog, MemoryPool } from "../../src/store/MemoryStore.ts"

interface Msg {
  readonly seq: number
  readonly subject: string
  readonly hdr: string
  readonly data: number
  readonly ts: bigint
}

type Op = { op: "pub"; subject: string; hdr: boolean; size: number } | { op: "del"; pick: number }

type Reply =
  | { readonly kind: "msg"; readonly seq: number; readonly pending?: number; readonly last?: number }
  | { readonly kind: "eob"; readonly pending: number; readonly last: number; readonly upTo?: number }
  | { readonly kind: "status"; readonly text: string }

const SUBJECTS = ["a.x", "a.y", "b.x", "b.y.z"]
const FILTERS = ["a.x", "a.*", "*.x", "b.>", ">", "c", ""]
const ts = (seq: number) => BigInt(seq) * 1000n

const matches = (filter: string, subject: string): boolean => {
  const f = filter.split(".")
  const s = subject.split(".")
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false
  }
  return f.length === s.length
}

class Model {
  readonly live: Array<Msg> = []
  lastSeq = 0
  constructor(ops: ReadonlyArray<Op>) {
    for (const o of ops) {
      if (o.op === "pub") {
        const seq = ++this.lastSeq
        this.live.push({
          seq,
          subject: o.subject,
          hdr: o.hdr ? `NATS/1.0\r\nK: v${seq}\r\n\r\n` : "",
          data: o.size,
          ts: ts(seq)
        })
      } else if (this.live.length > 0) this.live.splice(o.pick % this.live.length, 1)
    }
  }
  first = () => this.live[0]?.seq ?? this.lastSeq + 1
  size = (m: Msg) => m.subject.length + m.hdr.length + m.data
  atOrAfter = (t: bigint) => this.live.find((m) => m.ts >= t)?.seq ?? this.lastSeq + 1

  answer(q: DirectGetRequest, maxPending: number): Array<Reply> {
    const limit = q.max_bytes === 0n ? maxPending : Number(q.max_bytes)
    return q.multi_last.length > 0 ? this.multi(q, limit) : this.batch(q, limit)
  }

  batch(q: DirectGetRequest, limit: number): Array<Reply> {
    const start = q.start_time !== undefined ? this.atOrAfter(q.start_time) : Number(q.seq)
    const filter = q.next_by_subj === "" ? ">" : q.next_by_subj
    const candidates = this.live.filter((m) => m.seq >= start && matches(filter, m.subject))
    if (q.batch === 0n) {
      // A single get names its sequence exactly unless it follows a subject.
      const m = q.next_by_subj === "" ? this.live.find((x) => x.seq === start) : candidates[0]
      return m === undefined ? [{ kind: "status", text: "404 Message Not Found" }] : [{ kind: "msg", seq: m.seq }]
    }
    const want = Number(q.batch)
    if (want > 0 && candidates.length === 0) return [{ kind: "status", text: "404 Message Not Found" }]
    const out: Array<Reply> = []
    let bytes = 0
    let taken = 0
    for (const m of candidates.slice(0, Math.max(want, 0))) {
      out.push({
        kind: "msg",
        seq: m.seq,
        pending: candidates.length - taken - 1,
        last: out.length === 0 ? 0 : candidates[taken - 1]!.seq
      })
      taken++
      bytes += this.size(m)
      if (bytes >= limit) break
    }
    out.push({ kind: "eob", pending: candidates.length - taken, last: taken === 0 ? 0 : candidates[taken - 1]!.seq })
    return out
  }

  multi(q: DirectGetRequest, limit: number): Array<Reply> {
    let upTo = Number(q.up_to_seq)
    if (q.up_to_time !== undefined) {
      const at = this.atOrAfter(q.up_to_time)
      if (at <= this.first()) return [{ kind: "status", text: "404 No Results" }]
      upTo = at - 1
    }
    if (upTo === 0) upTo = this.lastSeq
    const lastPerSubject = new Map<string, number>()
    for (const m of this.live) {
      if (m.seq <= upTo && q.multi_last.some((f) => f !== "" && matches(f, m.subject))) {
        lastPerSubject.set(m.subject, m.seq)
      }
    }
    const seqs = [...lastPerSubject.values()].sort((a, b) => a - b)
    if (seqs.length === 0) return [{ kind: "status", text: "404 No Results" }]
    const out: Array<Reply> = []
    let bytes = 0
    let sent = 0
    let last = 0
    let visited = 0
    for (const s of seqs) {
      visited++
      if (s < Number(q.seq)) continue
      out.push({ kind: "msg", seq: s, pending: seqs.length - visited, last })
      last = s
      bytes += this.size(this.live.find((m) => m.seq === s)!)
      if (bytes >= limit) break
      sent++
      if (q.batch > 0n && sent >= Number(q.batch)) break
    }
    out.push({ kind: "eob", pending: seqs.length - visited, last, upTo })
    return out
  }
}

const parse = (r: DirectReply, batch: boolean): Reply => {
  const { status, entries } = decodeHeaders(r.hdr)
  const h = new Map(entries)
  const n = (k: string) => Number(h.get(k))
  if (status.startsWith("204")) {
    expect(status).toBe("204 EOB")
    return h.has("Nats-UpTo-Sequence")
      ? { kind: "eob", pending: n("Nats-Num-Pending"), last: n("Nats-Last-Sequence"), upTo: n("Nats-UpTo-Sequence") }
      : { kind: "eob", pending: n("Nats-Num-Pending"), last: n("Nats-Last-Sequence") }
  }
  if (status !== "") return { kind: "status", text: status }
  expect(h.get("Nats-Stream")).toBe("S")
  return batch
    ? { kind: "msg", seq: n("Nats-Sequence"), pending: n("Nats-Num-Pending"), last: n("Nats-Last-Sequence") }
    : { kind: "msg", seq: n("Nats-Sequence") }
}

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("pub" as const),
      subject: fc.constantFrom(...SUBJECTS),
      hdr: fc.boolean(),
      size: fc.constantFrom(0, 1, 2, 5, 30)
    })
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("del" as const), pick: fc.nat() }) }
)

const base: DirectGetRequest = {
  seq: 0n,
  last_by_subj: "",
  next_by_subj: "",
  batch: 0n,
  max_bytes: 0n,
  start_time: undefined,
  multi_last: [],
  up_to_seq: 0n,
  up_to_time: undefined,
  no_hdr: false
}
const time = fc.integer({ min: 0, max: 45 }).map((n) => BigInt(n) * 500n)
const batchReq: fc.Arbitrary<DirectGetRequest> = fc.record({
  from: fc.oneof(fc.record({ seq: fc.integer({ min: 1, max: 40 }) }), fc.record({ time })),
  next: fc.option(fc.constantFrom(...FILTERS), { nil: undefined }),
  batch: fc.integer({ min: -1, max: 8 }),
  maxBytes: fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 30 })),
  // Accepted with a batch but only read by multi_last (nats-server getDirectRequest ignores it).
  upTo: fc.integer({ min: 0, max: 40 })
}).map(({ from, next, batch, maxBytes, upTo }) => ({
  ...base,
  up_to_seq: BigInt(upTo),
  seq: "seq" in from ? BigInt(from.seq) : 0n,
  start_time: "time" in from ? from.time : undefined,
  next_by_subj: next ?? "",
  batch: BigInt(batch),
  max_bytes: BigInt(maxBytes)
}))
const multiReq: fc.Arbitrary<DirectGetRequest> = fc.record({
  filters: fc.uniqueArray(fc.constantFrom(...FILTERS), { minLength: 1, maxLength: 3 }),
  upTo: fc.oneof(fc.constant({}), fc.record({ seq: fc.integer({ min: 1, max: 40 }) }), fc.record({ time })),
  min: fc.integer({ min: 0, max: 20 }),
  batch: fc.integer({ min: 0, max: 4 }),
  maxBytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 }))
}).map(({ filters, upTo, min, batch, maxBytes }) => ({
  ...base,
  multi_last: filters,
  seq: BigInt(min),
  up_to_seq: "seq" in upTo ? BigInt(upTo.seq) : 0n,
  up_to_time: "time" in upTo ? upTo.time : undefined,
  batch: BigInt(batch),
  max_bytes: BigInt(maxBytes)
}))

describe("batched direct get: replies equal the reference model", () => {
  it("batch and multi_last over random streams", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.oneof(batchReq, multiReq),
        fc.constantFrom(64, 1 << 26),
        (ops, req, maxPending) => {
          const model = new Model(ops)
          const log = new MemoryLog("S", {}, new MemoryPool(Infinity)).acquire()
          let seq = 0
          for (const o of ops) {
            if (o.op === "pub") {
              seq++
              const hdr = o.hdr ? new TextEncoder().encode(`NATS/1.0\r\nK: v${seq}\r\n\r\n`) : undefined
              log.appendBatch([{ subject: o.subject, hdr, data: new Uint8Array(o.size), ts: ts(seq) }])
            }
          }
          // Apply the model's deletes to the log: whatever is not live was deleted.
          const live = new Set(model.live.map((m) => m.seq))
          for (let s = 1; s <= seq; s++) if (!live.has(s)) log.remove(s)
          const isBatch = req.batch !== 0n || req.multi_last.length > 0
          const got = answerDirectGet({ name: "S", store: log }, req, maxPending).map((r) => parse(r, isBatch))
          expect(got).toEqual(model.answer(req, maxPending))
          // Stored headers are kept, ahead of ours, and the payload is the stored one.
          for (const r of answerDirectGet({ name: "S", store: log }, req, maxPending)) {
            const { status, entries } = decodeHeaders(r.hdr)
            if (status !== "") continue
            const s = Number(new Map(entries).get("Nats-Sequence"))
            const m = model.live.find((x) => x.seq === s)!
            expect(r.data.length).toBe(m.data)
            if (m.hdr !== "") expect(entries[0]).toEqual(["K", `v${s}`])
          }
        }
      ),
      { numRuns: 400 }
    )
  })
})
