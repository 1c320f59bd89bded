/**
 * Child process for the kill -9 test: appends deterministic messages forever and prints "ack <seq>" after each
 * batch is acknowledged under the default policy (flushed to the OS), until the parent kills it.
 */
import { FileLog } from "../../src/store/FileStore.ts"

const dir = process.argv[2]!
const log = FileLog.openSync(dir, "K", { maxSegmentBytes: 64 * 1024 }, "write")
export const payload = (seq: number) => new Uint8Array(50 + (seq % 100)).fill(seq & 255)
for (;;) {
  const first = log.state().lastSeq + 1
  const batch = Array.from({ length: 10 }, (_, i) => ({
    subject: `k.${(first + i) % 7}`,
    hdr: undefined,
    data: payload(first + i),
    ts: BigInt(first + i)
  }))
  const seqs = log.appendBatch(batch)
  log.flush() // what sync() does under the default "write" policy
  process.stdout.write(`ack ${seqs[seqs.length - 1]}\n`)
  // Yield so the ack reaches the parent promptly instead of the loop running far ahead of it.
  await new Promise((resolve) => setImmediate(resolve))
}
