/**
 * Store benchmark: `npx tsx bench/store.bench.ts` (add `--expose-gc` via NODE_OPTIONS for steadier RSS numbers).
 *
 * Measures, for the file layer: append throughput per sync policy for 128 B and 16 KiB payloads (batches of 100
 * appended then `sync`, as the stream actor does), sequential and random reads, reopen time of a 1M-message
 * stream and RSS growth per stored message; the memory layer's append rate for comparison. Targets (issue #3):
 * >= 500k msgs/s at 128 B with the default policy, reopen of 1M <= 2 s, <= 64 B RSS per message.
 *
 * `--cipher=chacha` or `--cipher=aes` runs every file-layer case encrypted (jetstream { cipher, key }), to
 * measure what encryption at rest costs against the same run without it. `--compress` runs them with
 * `compression: "s2"` (Compression.ts); `--payload=json` stores JSON-like payloads (repetitive, as real messages
 * are) instead of one repeated byte, which flatters any compressor.
 *
 * Data goes to a temp directory that is removed at the end.
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type CipherName, StoreCipher } from "../src/store/Cipher.ts"
import { FileLog } from "../src/store/FileStore.ts"
import { MemoryLog, MemoryPool } from "../src/store/MemoryStore.ts"
import type { AppendRecord, MessageLog, SyncPolicy } from "../src/store/MessageLog.ts"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-store-bench-"))
process.on("exit", () => fs.rmSync(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => path.join(root, String(dirs++))

const cipherArg = process.argv.find((a) => a.startsWith("--cipher="))?.slice("--cipher=".length)
if (cipherArg !== undefined && cipherArg !== "chacha" && cipherArg !== "aes") throw new Error(`--cipher=${cipherArg}?`)
const cipher = cipherArg === undefined ? undefined : new StoreCipher(cipherArg as CipherName, "bench key")
const compress = process.argv.includes("--compress")
const jsonPayload = process.argv.includes("--payload=json")
const openFile = (dir: string, policy: SyncPolicy) =>
  FileLog.openSync(dir, "B", { compress }, policy, undefined, cipher)

const gc = (): void => (globalThis as { gc?: () => void }).gc?.()
const now = () => performance.now()
const rows: Array<Record<string, string>> = []
const row = (r: Record<string, string>) => {
  rows.push(r)
  console.log(Object.values(r).join("  |  "))
}
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits })

/** `size` bytes of JSON-like text: `{"id":…,"status":"shipped","lines":[{"sku":"AB-1","qty":1},…]}`, cut. */
const jsonOf = (size: number): Uint8Array => {
  let s = `{"id":12345,"status":"shipped","lines":[`
  for (let i = 0; s.length < size; i++) s += `{"sku":"AB-${i % 7}","qty":${i % 3},"price":${(i * 37) % 1000}},`
  return new TextEncoder().encode(s.slice(0, size))
}

const batchOf = (size: number, n: number, base: number): Array<AppendRecord> => {
  const data = jsonPayload ? jsonOf(size) : new Uint8Array(size).fill(7)
  return Array.from(
    { length: n },
    (_, i) => ({ subject: `bench.s.${(base + i) % 100}`, hdr: undefined, data, ts: BigInt(base + i) })
  )
}

const BATCH = 100

const segBytes = (dir: string) =>
  fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0)

const appendRun = async (log: MessageLog, size: number, total: number) => {
  const batch = batchOf(size, BATCH, 0)
  const t0 = now()
  for (let done = 0; done < total; done += BATCH) {
    log.appendBatch(batch)
    await Effect.runPromise(log.sync())
  }
  const secs = (now() - t0) / 1000
  return { rate: total / secs, mbs: (total * size) / secs / 1e6, secs }
}

const policies: ReadonlyArray<readonly [string, SyncPolicy]> = [
  ["write (default)", "write"],
  ["interval 1s", { intervalMs: 1000 }],
  ["always", "always"]
]

const main = async () => {
  console.log(
    `store benchmark, node ${process.version}, ${os.cpus().length} cpus, batches of ${BATCH}, ` +
      `file layer ${cipher === undefined ? "plaintext" : `encrypted (${cipher.cipher})`}` +
      `${compress ? ", compressed (s2)" : ""}, payload ${jsonPayload ? "JSON-like" : "one repeated byte"}`
  )
  console.log("case  |  msgs  |  msgs/s  |  MB/s")
  for (const size of [128, 16 * 1024]) {
    for (const [label, policy] of policies) {
      const total = policy === "always" ? (size === 128 ? 50_000 : 10_000) : size === 128 ? 1_000_000 : 40_000
      const dir = freshDir()
      const log = openFile(dir, policy)
      const r = await appendRun(log, size, total)
      row({ case: `append file ${size} B, ${label}`, msgs: fmt(total), rate: fmt(r.rate), mbs: fmt(r.mbs, 1) })
      if (size > 128 && policy === "write") {
        // What compression costs on the way out, and saves on disk, for messages big enough to compress.
        const t = now()
        for (let s = 1; s <= total; s++) log.get(s)
        const secs = (now() - t) / 1000
        row({
          case: `sequential get ${size} B`,
          msgs: fmt(total),
          rate: fmt(total / secs),
          mbs: fmt(total * size / secs / 1e6, 1)
        })
        row({
          case: `segment files, ${fmt(total)} x ${size} B`,
          msgs: fmt(total),
          rate: `${fmt(segBytes(dir) / 1e6, 1)} MB`,
          mbs: ""
        })
      }
      await Effect.runPromise(log.close())
    }
    const mem = new MemoryLog("M", {}, new MemoryPool(Infinity)).acquire()
    const total = size === 128 ? 1_000_000 : 40_000
    const r = await appendRun(mem, size, total)
    row({ case: `append memory ${size} B`, msgs: fmt(total), rate: fmt(r.rate), mbs: fmt(r.mbs, 1) })
  }

  // 1M x 128 B stream: reopen, reads, RSS.
  const dir = freshDir()
  {
    const log = openFile(dir, "write")
    for (let done = 0; done < 1_000_000; done += 1000) log.appendBatch(batchOf(128, 1000, done))
    await Effect.runPromise(log.close())
  }
  row({ case: "segment files, 1M x 128 B", msgs: "1,000,000", rate: `${fmt(segBytes(dir) / 1e6, 1)} MB`, mbs: "" })
  gc()
  const rss0 = process.memoryUsage().rss
  const t0 = now()
  const log = openFile(dir, "write")
  const reopenMs = now() - t0
  gc()
  const rss1 = process.memoryUsage().rss
  row({
    case: "reopen 1M x 128 B (scan, no index file)",
    msgs: fmt(log.state().msgs),
    rate: `${fmt(reopenMs)} ms`,
    mbs: ""
  })
  row({
    case: "RSS growth holding 1M messages",
    msgs: "1,000,000",
    rate: `${fmt((rss1 - rss0) / 1e6, 1)} MB`,
    mbs: `${fmt((rss1 - rss0) / 1_000_000, 1)} B/msg`
  })

  let t = now()
  let bytes = 0
  for (let s = 1; s <= 1_000_000; s++) bytes += log.get(s)!.data.length
  let secs = (now() - t) / 1000
  row({ case: "sequential get 1M x 128 B", msgs: "1,000,000", rate: fmt(1e6 / secs), mbs: fmt(bytes / secs / 1e6, 1) })

  t = now()
  bytes = 0
  let x = 12345
  for (let i = 0; i < 200_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    bytes += log.get(1 + (x % 1_000_000))!.data.length
  }
  secs = (now() - t) / 1000
  row({
    case: "random get 1M x 128 B (page cache warm)",
    msgs: "200,000",
    rate: fmt(2e5 / secs),
    mbs: fmt(bytes / secs / 1e6, 1)
  })

  t = now()
  let found = 0
  for (let i = 0; i < 1000; i++) if (log.lastBySubject(`bench.s.${i % 100}`) !== undefined) found++
  row({ case: "lastBySubject (literal) x 1000", msgs: fmt(found), rate: fmt(1000 / ((now() - t) / 1000)), mbs: "" })
  await Effect.runPromise(log.close())
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
