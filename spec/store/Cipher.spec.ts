/**
 * Encryption at rest in the store: records, journals and metadata documents round-trip under each cipher, the
 * bytes on disk do not contain what was stored, a wrong key (or no key for an encrypted store) is refused
 * before anything is changed, and a store written without encryption stays readable once a key is set.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import type { StreamConfig } from "../../src/jetstream/model/StreamConfig.ts"
import { isEncrypted, StoreCipher, verifyStore } from "../../src/store/Cipher.ts"
import type { EventLogOptions } from "../../src/store/EventLog.ts"
import { EventLogStore } from "../../src/store/EventLogStore.ts"
import { FileLog } from "../../src/store/FileStore.ts"
import type { AppendRecord } from "../../src/store/MessageLog.ts"
import { MetaStore } from "../../src/store/MetaStore.ts"
import * as SealedSubjects from "../../src/store/SealedSubjects.ts"
import { isStoreError, type StoreError } from "../../src/store/StoreError.ts"
import { defaultStreamConfig } from "../support/StreamConfigs.ts"
import { tempDir } from "./support.ts"

const SECRET = "the-payload-nobody-may-read"
const SUBJECT = "orders.customer-4711"

const rec = (i: number, size = 40): AppendRecord => ({
  subject: `${SUBJECT}.${i % 3}`,
  hdr: i % 2 === 0 ? Buffer.from(`NATS/1.0\r\nX-Secret: ${SECRET}\r\n\r\n`) : undefined,
  data: Buffer.from(`${SECRET}#${i}#`.padEnd(size, "x")),
  ts: BigInt(1_000 + i)
})

const open = (dir: string, cipher: StoreCipher | undefined, maxSegmentBytes = 1024) =>
  FileLog.openSync(dir, "S", { maxSegmentBytes }, "write", undefined, cipher)

/** Every file under `dir` with its bytes, to prove a refused open changed nothing. */
const snapshotFiles = (dir: string): Map<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.set(path.relative(dir, p), fs.readFileSync(p).toString("hex"))
    }
  }
  walk(dir)
  return out
}

const allBytes = (dir: string): Buffer =>
  Buffer.concat([...snapshotFiles(dir).values()].map((h) => Buffer.from(h, "hex")))

const encryptionError = (f: () => unknown): StoreError => {
  try {
    f()
  } catch (e) {
    if (isStoreError(e) && e.reason._tag === "Encryption") return e
    throw e
  }
  throw new Error("expected an Encryption StoreError")
}

const same = (got: AppendRecord | undefined, want: AppendRecord) => {
  assert.isDefined(got)
  assert.strictEqual(got!.subject, want.subject)
  assert.strictEqual(got!.ts, want.ts)
  assert.strictEqual(Buffer.from(got!.data).toString(), Buffer.from(want.data).toString())
  assert.strictEqual(
    got!.hdr === undefined ? undefined : Buffer.from(got!.hdr).toString(),
    want.hdr === undefined ? undefined : Buffer.from(want.hdr).toString()
  )
}

interface Ev {
  readonly n: number
  readonly note: string
}
const journal: EventLogOptions<ReadonlyArray<Ev>, Ev> = {
  initial: [],
  fold: (s, e) => [...s, e],
  decodeEvent: (u) => u as Ev,
  decodeState: (u) => u as ReadonlyArray<Ev>,
  snapshotEvery: 5
}

const streamConfig = (name: string): StreamConfig => defaultStreamConfig(name, { description: SECRET })

/** A whole store written with `cipher`: a stream log over several segments, a journal, a metadata document. */
const writeStore = (root: string, cipher: StoreCipher | undefined) =>
  Effect.gen(function*() {
    const log = open(path.join(root, "streams", "S"), cipher)
    log.appendBatch(Array.from({ length: 40 }, (_, i) => rec(i)))
    log.remove(3)
    yield* log.close()
    yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* EventLogStore
      const j = yield* store.open("S~worker", journal)
      j.append(Array.from({ length: 7 }, (_, n) => ({ n, note: SECRET })))
    })).pipe(Effect.provide(EventLogStore.layerFile({ dir: path.join(root, "consumers"), cipher })))
    yield* MetaStore.use((m) => m.saveStream({ config: streamConfig("S"), created: "1767225600000000000" })).pipe(
      Effect.provide(MetaStore.layerFile({ dir: path.join(root, "meta"), cipher }))
    )
  })

describe("encryption at rest", () => {
  for (const name of ["chacha", "aes"] as const) {
    it(`${name}: records round-trip across reopen, and no file holds the subject or payload`, () => {
      const dir = tempDir()
      const cipher = new StoreCipher(name, "k1")
      const recs = Array.from({ length: 60 }, (_, i) => rec(i))
      const log = open(dir, cipher)
      log.appendBatch(recs)
      for (let s = 1; s <= 60; s++) same(log.get(s), recs[s - 1]!)
      Effect.runSync(log.close())
      const segs = fs.readdirSync(dir).filter((f) => f.endsWith(".seg"))
      assert.isAbove(segs.length, 2)
      for (const f of segs) assert.isTrue(isEncrypted(fs.readFileSync(path.join(dir, f))), f)
      const bytes = allBytes(dir)
      assert.strictEqual(bytes.indexOf(SECRET), -1)
      assert.strictEqual(bytes.indexOf(SUBJECT), -1)
      const again = open(dir, cipher)
      assert.strictEqual(again.report.truncatedBytes, 0)
      assert.strictEqual(again.state().msgs, 60)
      assert.strictEqual(again.subjectCounts(`${SUBJECT}.1`).get(`${SUBJECT}.1`), 20)
      for (let s = 1; s <= 60; s++) same(again.get(s), recs[s - 1]!)
      Effect.runSync(again.close())
    })
  }

  it("reopening reads subjects from the saved subject files, and ignores one that does not match the records", () => {
    const dir = tempDir()
    const cipher = new StoreCipher("chacha", "k-subjects")
    const recs = Array.from({ length: 30 }, (_, i) => rec(i))
    const log = open(dir, cipher)
    log.appendBatch(recs)
    Effect.runSync(log.close())
    const segs = fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()
    const saved = fs.readdirSync(dir).filter((f) => f.endsWith(".subjects")).sort()
    // Every sealed segment at its rotation, the newest at close.
    assert.deepStrictEqual(saved, segs.map((f) => f.replace(".seg", ".subjects")))
    assert.strictEqual(allBytes(dir).indexOf(SUBJECT), -1)
    // A stale file (other nonces, other subjects) for the first segment must not rename its records.
    const base = Number(segs[0]!.slice(0, 16))
    const saved0 = SealedSubjects.read(dir, base, cipher)!
    // The saved file is what a reopen uses: one naming other subjects (with the records' own nonces) wins.
    const relabelled = [...saved0.seqs].map((seq, i) => ({
      seq,
      nonce: Buffer.from(saved0.body.subarray(saved0.offs[i]! + 8, saved0.offs[i]! + 20)),
      subject: "saved.subject"
    }))
    SealedSubjects.write(dir, base, relabelled, cipher)
    const relabelledLog = open(dir, cipher)
    assert.strictEqual(relabelledLog.subjectCounts("saved.subject").get("saved.subject"), relabelled.length)
    Effect.runSync(relabelledLog.close())
    const stale = [...saved0.seqs].map((seq) => ({
      seq,
      nonce: Buffer.alloc(12, 7),
      subject: "wrong.subject"
    }))
    assert.isAbove(stale.length, 0)
    SealedSubjects.write(dir, base, stale, cipher)
    const again = open(dir, cipher)
    assert.strictEqual(again.subjectCounts("wrong.subject").size, 0)
    assert.strictEqual(again.subjectCounts(`${SUBJECT}.0`).get(`${SUBJECT}.0`), 10)
    for (let s = 1; s <= 30; s++) same(again.get(s), recs[s - 1]!)
    Effect.runSync(again.close())
  })

  it("a random store round-trips under a random key and cipher (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.constantFrom("chacha" as const, "aes" as const),
        fc.array(fc.tuple(fc.nat(2), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 30 }),
        (key, name, items) => {
          const dir = tempDir()
          const cipher = new StoreCipher(name, key)
          const recs = items.map(([s, data], i): AppendRecord => ({
            subject: `s.${s}`,
            hdr: undefined,
            data,
            ts: BigInt(i)
          }))
          const log = open(dir, cipher, 512)
          log.appendBatch(recs)
          Effect.runSync(log.close())
          const again = open(dir, cipher, 512)
          for (let s = 1; s <= recs.length; s++) {
            const m = again.get(s)!
            assert.strictEqual(m.subject, recs[s - 1]!.subject)
            assert.strictEqual(Buffer.compare(m.data, recs[s - 1]!.data), 0)
          }
          Effect.runSync(again.close())
        }
      ),
      { numRuns: 60 }
    )
  })

  it.effect("a wrong key is refused naming the file, and leaves every file byte for byte as it was", () =>
    Effect.gen(function*() {
      const root = tempDir()
      yield* writeStore(root, new StoreCipher("chacha", "right"))
      // A torn tail that a normal recovery would truncate: a refused open must not "repair" it.
      const segs = fs.readdirSync(path.join(root, "streams", "S")).filter((f) => f.endsWith(".seg")).sort()
      fs.appendFileSync(path.join(root, "streams", "S", segs[segs.length - 1]!), Buffer.from([1, 2, 3, 4, 5]))
      const before = snapshotFiles(root)
      const wrong = new StoreCipher("chacha", "wrong")

      const e1 = encryptionError(() => verifyStore(root, wrong))
      assert.match(e1.message, /^encrypted store file .+: the configured jetstream.key does not open this file/)
      const e2 = encryptionError(() => open(path.join(root, "streams", "S"), wrong))
      assert.match(e2.message, /streams\/S\/0000000000000001\.seg/)
      const journalOpen = yield* Effect.exit(
        Effect.scoped(EventLogStore.use((s) => s.open("S~worker", journal))).pipe(
          Effect.provide(EventLogStore.layerFile({ dir: path.join(root, "consumers"), cipher: wrong }))
        )
      )
      assert.isTrue(Exit.isFailure(journalOpen))
      assert.match(String(journalOpen), /S%7Eworker\.snap: the configured jetstream.key does not open this file/)
      const meta = yield* Effect.exit(
        MetaStore.use((m) => m.loadStreams).pipe(
          Effect.provide(MetaStore.layerFile({ dir: path.join(root, "meta"), cipher: wrong }))
        )
      )
      assert.isTrue(Exit.isFailure(meta), "a wrong key is not a skippable document problem")
      assert.match(String(meta), /S\.json.*does not open this file/)
      // The other cipher with the right key opens: each file names the cipher it was written with.
      assert.strictEqual(verifyStore(root, new StoreCipher("aes", "right")), 0)
      assert.deepStrictEqual(snapshotFiles(root), before)
    }))

  it.effect("an encrypted store without a key is refused and left unchanged", () =>
    Effect.gen(function*() {
      const root = tempDir()
      yield* writeStore(root, new StoreCipher("aes", "k"))
      const before = snapshotFiles(root)
      const e = encryptionError(() => verifyStore(root, undefined))
      assert.match(e.message, /the file is encrypted and no key is configured \(set jetstream.key\)/)
      encryptionError(() => open(path.join(root, "streams", "S"), undefined))
      const meta = yield* Effect.exit(
        MetaStore.use((m) => m.loadStreams).pipe(Effect.provide(MetaStore.layerFile({ dir: path.join(root, "meta") })))
      )
      assert.match(String(meta), /no key is configured/)
      assert.deepStrictEqual(snapshotFiles(root), before)
    }))

  it.effect("a plaintext store stays readable after encryption is turned on, and what is written next is sealed", () =>
    Effect.gen(function*() {
      const root = tempDir()
      yield* writeStore(root, undefined)
      const cipher = new StoreCipher("chacha", "now-encrypted")
      const dir = path.join(root, "streams", "S")
      const plainSegments = fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).length
      assert.isAbove(plainSegments, 1)
      // The segments, the journal's snapshot (its 7 events went into it: the events file is empty) and the
      // document; not the manifest or floor, which hold sequence numbers only.
      assert.strictEqual(verifyStore(root, cipher), plainSegments + 2)
      const log = open(dir, cipher)
      assert.strictEqual(log.state().msgs, 39)
      for (let s = 1; s <= 40; s++) if (s !== 3) same(log.get(s), rec(s - 1))
      const [seq] = log.appendBatch([rec(100)])
      assert.strictEqual(seq, 41)
      Effect.runSync(log.close())
      const segs = fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort()
      const newest = fs.readFileSync(path.join(dir, segs[segs.length - 1]!))
      assert.isTrue(isEncrypted(newest))
      assert.strictEqual(newest.indexOf(SECRET), -1)
      const again = open(dir, cipher)
      same(again.get(41), rec(100))
      same(again.get(1), rec(0))
      Effect.runSync(again.close())
      // The journal is converted on open, the document on load: both now sealed, same content.
      const state = yield* Effect.scoped(
        EventLogStore.use((s) => Effect.map(s.open("S~worker", journal), (j) => j.state()))
      )
        .pipe(Effect.provide(EventLogStore.layerFile({ dir: path.join(root, "consumers"), cipher })))
      assert.deepStrictEqual(state.map((e) => e.n), [0, 1, 2, 3, 4, 5, 6])
      const loaded = yield* MetaStore.use((m) => m.loadStreams).pipe(
        Effect.provide(MetaStore.layerFile({ dir: path.join(root, "meta"), cipher }))
      )
      assert.strictEqual(loaded.metas[0]!.config.description, SECRET)
      for (const sub of ["consumers", "meta"]) assert.strictEqual(allBytes(path.join(root, sub)).indexOf(SECRET), -1)
      // Only the old stream segments are still plaintext; without the key the store is now refused.
      assert.strictEqual(verifyStore(root, cipher), plainSegments)
      encryptionError(() => verifyStore(root, undefined))
    }))
})
