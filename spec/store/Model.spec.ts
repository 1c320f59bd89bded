/**
 * Model-based property: random command sequences (append, delete, purge variants, limits, close-and-reopen) run
 * against the file layer, the memory layer and a deliberately naive model (a Map from sequence to message). After
 * every command all three must agree on the state, every message, and the filter queries. The file layer also
 * runs encrypted, compressed (`compression: "s2"`, turned on and off between commands and across reopens, so
 * segments of both formats and records of both kinds mix) and both: its answers must not change.
 */
import { Effect } from "effect"
import fc from "fast-check"
import { describe, it } from "vitest"
import { StoreCipher } from "../../src/store/Cipher.ts"
import { FileLog } from "../../src/store/FileStore.ts"
import { MemoryLog, MemoryPool } from "../../src/store/MemoryStore.ts"
import type { Limits, MessageLog, PurgeRequest, StoreState } from "../../src/store/MessageLog.ts"
import { matches } from "../../src/store/SubjectFilter.ts"
import { tempDir } from "./support.ts"

const SUBJECTS = ["a", "b", "a.x", "a.y", "b.x.z"]
const FILTERS = ["a", "a.*", "*.x", ">", "b.>", "zz", "*"]

interface Msg {
  readonly subject: string
  readonly data: Uint8Array
  readonly ts: bigint
}

/** The obviously-correct model. */
class Model {
  msgs = new Map<number, Msg>()
  lastSeq = 0
  lastTs = 0n

  private sorted(): Array<number> {
    return [...this.msgs.keys()].sort((a, b) => a - b)
  }
  private size(m: Msg) {
    return m.subject.length + m.data.length + 16
  }
  append(batch: Array<Msg>) {
    for (const m of batch) {
      this.msgs.set(++this.lastSeq, m)
      this.lastTs = m.ts
    }
  }
  remove(seq: number) {
    return this.msgs.delete(seq)
  }
  purge(r: PurgeRequest): number {
    const before = this.msgs.size
    const f = r.filter ?? ""
    const all = f === "" || f === ">"
    const seq = r.seq ?? 0
    const keep = r.keep ?? 0
    if (all) {
      if (seq > 1) {
        for (const s of this.sorted()) if (s < seq) this.msgs.delete(s)
        if (seq > this.lastSeq + 1) this.lastSeq = seq - 1
      }
      if (keep > 0) {
        const seqs = this.sorted()
        for (const s of seqs.slice(0, Math.max(0, seqs.length - keep))) this.msgs.delete(s)
      } else if (seq <= 1) this.msgs.clear()
    } else {
      const matching = this.sorted().filter((s) => matches(f, this.msgs.get(s)!.subject))
      let budget = keep > 0 ? matching.length - keep : Infinity
      for (const s of matching) {
        if (budget <= 0 || (seq > 1 && s >= seq)) break
        this.msgs.delete(s)
        budget--
      }
    }
    return before - this.msgs.size
  }
  enforce(l: Limits) {
    const per = l.maxMsgsPerSubject ?? 0
    if (per > 0) {
      const bySubj = new Map<string, Array<number>>()
      for (const s of this.sorted()) {
        const subj = this.msgs.get(s)!.subject
        bySubj.set(subj, [...(bySubj.get(subj) ?? []), s])
      }
      for (const seqs of bySubj.values()) {
        for (const s of seqs.slice(0, Math.max(0, seqs.length - per))) this.msgs.delete(s)
      }
    }
    const max = l.maxMsgs ?? 0
    if (max > 0) { while (this.msgs.size > max) this.msgs.delete(this.sorted()[0]!) }
    const maxBytes = l.maxBytes ?? 0
    if (maxBytes > 0) {
      while (this.bytes() > maxBytes) this.msgs.delete(this.sorted()[0]!)
    }
    if ((l.maxAgeNs ?? 0n) > 0n) {
      for (const s of this.sorted()) if (this.msgs.get(s)!.ts <= l.nowNs! - l.maxAgeNs!) this.msgs.delete(s)
    }
  }
  bytes() {
    let b = 0
    for (const m of this.msgs.values()) b += this.size(m)
    return b
  }
  state(): StoreState {
    const seqs = this.sorted()
    const first = seqs.length > 0 ? seqs[0]! : this.lastSeq + 1
    return {
      msgs: seqs.length,
      bytes: this.bytes(),
      firstSeq: first,
      firstTs: seqs.length > 0 ? this.msgs.get(first)!.ts : 0n,
      lastSeq: this.lastSeq,
      lastTs: this.lastTs,
      numDeleted: seqs.length > 0 ? this.lastSeq - first + 1 - seqs.length : 0,
      numSubjects: new Set([...this.msgs.values()].map((m) => m.subject)).size
    }
  }
}

interface Real {
  cipher: StoreCipher | undefined
  compress: boolean
  file: FileLog
  mem: MessageLog
  dir: string
  nextTs: bigint
}

const openFile = (dir: string, cipher: StoreCipher | undefined, compress = false) =>
  FileLog.openSync(
    dir,
    "M",
    { maxSegmentBytes: 400, readCacheBytes: 64 * 1024, compress },
    "write",
    undefined,
    cipher
  )

const hex = (b: Uint8Array | undefined) => (b === undefined ? "-" : Buffer.from(b).toString("hex"))

const fail = (what: string, a: unknown, b: unknown): never => {
  throw new Error(`${what}: ${String(a)} !== ${String(b)}`)
}
const eq = (what: string, a: unknown, b: unknown) => {
  const sa = JSON.stringify(a, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
  const sb = JSON.stringify(b, (_, v) => (typeof v === "bigint" ? `${v}n` : v))
  if (sa !== sb) fail(what, sa, sb)
}

const compare = (m: Model, r: Real) => {
  const ms = m.state()
  for (const [label, log] of [["file", r.file], ["memory", r.mem]] as const) {
    const st = log.state()
    // lastTs is only promised while the last message exists (a fully deleted tail segment may take it along).
    const expected = m.msgs.has(m.lastSeq) ? ms : { ...ms, lastTs: st.lastTs }
    eq(`${label} state`, st, expected)
    for (let s = ms.firstSeq - 1; s <= ms.lastSeq + 1; s++) {
      const want = m.msgs.get(s)
      const got = log.get(s)
      if (want === undefined) {
        if (got !== undefined) fail(`${label} get(${s})`, "present", "absent")
        continue
      }
      if (got === undefined) fail(`${label} get(${s})`, "absent", "present")
      eq(`${label} get(${s})`, [got!.subject, hex(got!.data), got!.ts, hex(got!.hdr)], [
        want.subject,
        hex(want.data),
        want.ts,
        "-"
      ])
    }
    for (const back of [0n, 15n, 40n, 1000n]) {
      const t = r.nextTs - back
      const want = [...m.msgs.entries()].filter(([, v]) => v.ts >= t).map(([k]) => k).sort((a, b) => a - b)[0]
      eq(`${label} firstSeqAtOrAfterTime(${t})`, log.firstSeqAtOrAfterTime(t), want)
    }
    for (const f of FILTERS) {
      const modelLast = [...m.msgs.entries()].filter(([, v]) => matches(f, v.subject)).map(([k]) => k)
      eq(
        `${label} lastBySubject(${f})`,
        log.lastBySubject(f)?.seq,
        modelLast.length ? Math.max(...modelLast) : undefined
      )
      const start = ms.firstSeq + 2
      const after = modelLast.filter((s) => s >= start).sort((a, b) => a - b)
      eq(`${label} firstSeqMatching(${f})`, log.firstSeqMatching(start, f), after[0])
      eq(`${label} countMatching(${f})`, log.countMatching(start, f), after.length)
      const counts = new Map<string, number>()
      for (const v of m.msgs.values()) {
        if (matches(f, v.subject)) counts.set(v.subject, (counts.get(v.subject) ?? 0) + 1)
      }
      eq(`${label} subjectCounts(${f})`, [...log.subjectCounts(f)].sort(), [...counts].sort())
    }
  }
}

type Cmd = fc.Command<Model, Real>

const cmd = (name: string, run: (m: Model, r: Real) => void): Cmd => ({
  check: () => true,
  run: (m, r) => {
    run(m, r)
    compare(m, r)
  },
  toString: () => name
})

const append = fc.array(
  fc.record({ s: fc.integer({ min: 0, max: SUBJECTS.length - 1 }), n: fc.nat(150), z: fc.boolean() }),
  { minLength: 1, maxLength: 8 }
).map((batch) =>
  cmd(`append(${batch.map((b) => `${SUBJECTS[b.s]}:${b.n}${b.z ? "z" : ""}`).join(",")})`, (m, r) => {
    const recs = batch.map((b) => {
      r.nextTs += 10n
      // `z`: a payload that compresses (a short period), else one that does not (stays a plain record).
      const data = new Uint8Array(b.n).map((_, i) => (b.z ? i % 5 : i * 31 + b.n) & 255)
      return { subject: SUBJECTS[b.s]!, hdr: undefined, data, ts: r.nextTs }
    })
    const a = r.file.appendBatch(recs)
    const b = r.mem.appendBatch(recs)
    const before = m.lastSeq
    m.append(recs)
    eq("append seqs", [a, b], [recs.map((_, i) => before + i + 1), recs.map((_, i) => before + i + 1)])
  })
)

const remove = fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean()).map(([x, erase]) =>
  cmd(`remove(${x.toFixed(2)}, ${erase})`, (m, r) => {
    const st = m.state()
    const seq = st.firstSeq - 1 + Math.floor(x * (st.lastSeq - st.firstSeq + 3))
    const want = m.remove(seq)
    eq(`remove(${seq}) file`, r.file.remove(seq, { erase }), want)
    eq(`remove(${seq}) mem`, r.mem.remove(seq, { erase }), want)
  })
)

const purge = fc.oneof(
  fc.constant<PurgeRequest>({}),
  fc.nat(12).map((k): PurgeRequest => ({ keep: k + 1 })),
  fc.nat(30).map((d): PurgeRequest => ({ seq: -1 - d })), // relative to lastSeq, resolved below
  fc.record({ filter: fc.constantFrom(...FILTERS), keep: fc.nat(3) }).map((p): PurgeRequest =>
    p.keep > 0 ? p : { filter: p.filter }
  ),
  fc.record({ filter: fc.constantFrom(...FILTERS), seq: fc.nat(20) }).map((p): PurgeRequest => ({
    filter: p.filter,
    seq: -1 - p.seq
  }))
).map((req) =>
  cmd(`purge(${JSON.stringify(req)})`, (m, r) => {
    const resolved: PurgeRequest = req.seq === undefined ? req : { ...req, seq: Math.max(2, m.lastSeq + 3 + req.seq) }
    const want = m.purge(resolved)
    eq(`purge file`, r.file.purge(resolved), want)
    eq(`purge mem`, r.mem.purge(resolved), want)
  })
)

const limits = fc.record({
  maxMsgs: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  maxBytes: fc.option(fc.integer({ min: 50, max: 3000 }), { nil: undefined }),
  maxMsgsPerSubject: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  age: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined })
}, { requiredKeys: [] }).map((l) =>
  cmd(`enforce(${JSON.stringify(l)})`, (m, r) => {
    const limits: Limits = {
      ...(l.maxMsgs !== undefined ? { maxMsgs: l.maxMsgs } : {}),
      ...(l.maxBytes !== undefined ? { maxBytes: l.maxBytes } : {}),
      ...(l.maxMsgsPerSubject !== undefined ? { maxMsgsPerSubject: l.maxMsgsPerSubject } : {}),
      ...(l.age !== undefined ? { maxAgeNs: BigInt(l.age), nowNs: r.nextTs } : {})
    }
    const before = m.state()
    m.enforce(limits)
    const after = m.state()
    const want = { msgs: before.msgs - after.msgs, bytes: before.bytes - after.bytes }
    eq("enforce file", r.file.enforceLimits(limits), want)
    eq("enforce mem", r.mem.enforceLimits(limits), want)
  })
)

const reopen = fc.constant(
  cmd("reopen", (_m, r) => {
    Effect.runSync(r.file.close())
    r.file = openFile(r.dir, r.cipher, r.compress)
    Effect.runSync(r.mem.close())
    r.mem = (r.mem as MemoryLog).acquire()
    if (r.file.report.truncatedBytes !== 0) throw new Error(`clean reopen truncated: ${r.file.report.notes}`)
  })
)

const toggleCompression = fc.constant(
  cmd("toggle compression", (_m, r) => {
    r.compress = !r.compress
    r.file.setCompression(r.compress)
  })
)

describe("store model", () => {
  // The encrypted and the compressed file layer must answer exactly as the plain one (same accounting,
  // same recovery).
  const variants = [
    ["", undefined, false, 300],
    [" (encrypted, AES-256-GCM)", new StoreCipher("aes", "model key"), false, 100],
    [" (compressed)", undefined, true, 200],
    [" (compressed and encrypted)", new StoreCipher("chacha", "model key"), true, 100]
  ] as const
  it.each(variants)(
    "file layer%s ≡ memory layer ≡ model under random commands",
    (_label, cipher, compress, numRuns) => {
      const commands = compress ?
        [append, append, remove, purge, limits, reopen, toggleCompression] :
        [append, append, remove, purge, limits, reopen]
      fc.assert(
        fc.property(fc.commands(commands, { maxCommands: 50 }), (cmds) => {
          const dir = tempDir()
          const real: Real = {
            cipher,
            compress,
            file: openFile(dir, cipher, compress),
            mem: new MemoryLog("M", {}, new MemoryPool(Infinity)).acquire(),
            dir,
            nextTs: 0n
          }
          try {
            fc.modelRun(() => ({ model: new Model(), real }), cmds)
          } finally {
            Effect.runSync(real.file.close())
          }
        }),
        { numRuns }
      )
    }
  )
})
