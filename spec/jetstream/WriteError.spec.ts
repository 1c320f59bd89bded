/**
 * A write error that is not a full disk (here an injected EIO on the segment write) is persistent: the stream
 * answers every later publish with nats-server's 10077 store error without trying again, says so once in the
 * log, stays readable, the API keeps answering, and a restart (which recovers from what is on disk) clears it.
 * Full-disk behaviour, on a real tmpfs, is in DiskFull.spec.ts.
 */
import { jetstream, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

const realWriteSync = fs.writeSync
let armed = false
/** Segment writes still allowed before a full disk: then one short write and ENOSPC. */
let fullAfter: number | undefined
// Buffer writes with a length are the stores' (segment records); the logger and metadata write strings.
fs.writeSync = ((fd: number, buf: Uint8Array, offset?: number, length?: number, position?: number | null) => {
  if (armed && typeof length === "number") {
    armed = false
    throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" })
  }
  if (fullAfter !== undefined && typeof length === "number") {
    if (fullAfter-- > 0) return realWriteSync(fd, buf, offset, length, position)
    if (fullAfter === -1 && length > 1) return realWriteSync(fd, buf, offset, Math.floor(length / 2), position)
    fullAfter = undefined
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
  }
  return realWriteSync(fd, buf, offset, length, position)
}) as typeof fs.writeSync
syncBuiltinESMExports()

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-write-error-"))
afterAll(() => {
  fs.writeSync = realWriteSync
  syncBuiltinESMExports()
  fs.rmSync(root, { recursive: true, force: true })
})

const apiErrorOf = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (e: unknown) => e)
  expect(e).toBeInstanceOf(JetStreamApiError)
  return (e as JetStreamApiError).apiError()
}

describe("a persistent write error", () => {
  it("makes the stream refuse writes until a restart, reported once, while reads and the API keep working", async () => {
    const storeDir = path.join(root, "store")
    const logFile = path.join(root, "broker.log")
    let broker = await startBroker({ jetstream: true, storeDir, logFile }, { silent: false })
    let nc = await connect({ servers: broker.url })
    let jsm = await jetstreamManager(nc)
    let js = jetstream(nc)
    await jsm.streams.add({ name: "BAD", subjects: ["bad"] })
    for (let i = 1; i <= 3; i++) expect((await js.publish("bad", `m${i}`)).seq).toBe(i)

    armed = true
    const expected = {
      code: 503,
      err_code: 10077,
      description: `write ${path.join(storeDir, "streams", "BAD", "0000000000000001.seg")}: i/o error`
    }
    expect(await apiErrorOf(js.publish("bad", "lost", { msgID: "lost-1" }))).toEqual(expected)
    expect(armed).toBe(false)
    // The disk works again, but the stream does not try: the file is in a state it cannot vouch for.
    for (let i = 0; i < 3; i++) expect(await apiErrorOf(js.publish("bad", "refused"))).toEqual(expected)
    // A retry of the lost message is refused too, never acknowledged as a duplicate of what was not stored.
    expect(await apiErrorOf(js.publish("bad", "lost", { msgID: "lost-1" }))).toEqual(expected)
    const log = fs.readFileSync(logFile, "utf8")
    expect(log.match(/failed to store a msg on stream 'BAD'.*refuses writes until the server restarts/g)).toHaveLength(
      1
    )

    expect((await jsm.getAccountInfo()).streams).toBe(1)
    expect((await jsm.streams.info("BAD")).state).toMatchObject({ messages: 3, last_seq: 3 })
    expect(new TextDecoder().decode((await jsm.streams.getMessage("BAD", { seq: 2 }))!.data)).toBe("m2")
    await nc.close()
    await broker.stop()

    broker = await startBroker({ jetstream: true, storeDir, logFile }, { silent: false })
    nc = await connect({ servers: broker.url })
    jsm = await jetstreamManager(nc)
    js = jetstream(nc)
    expect((await js.publish("bad", "m4")).seq).toBe(4)
    expect((await jsm.streams.info("BAD")).state).toMatchObject({ messages: 4, first_seq: 1, last_seq: 4 })
    await nc.close()
    await broker.stop()
  })
})

describe("a disk filling up in the middle of a batch", () => {
  it("acks exactly the messages that were stored, and the next publish gets the next sequence", async () => {
    const storeDir = path.join(root, "batch")
    let broker = await startBroker({ jetstream: true, storeDir })
    let nc = await connect({ servers: broker.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "B", subjects: ["b.*"], retention: "interest" as never })
    // An interest stream with a consumer keeps everything; the consumer's interest is what retention checks.
    await jsm.consumers.add("B", { durable_name: "all", ack_policy: "explicit" as never })
    const js = jetstream(nc)
    const size = 100_000
    const body = (i: number) => new Uint8Array(size).fill(i % 251)
    // 60 publishes of 100 kB in flight: the 1 MiB pending buffer is written several times in one batch.
    fullAfter = 3
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => js.publish(`b.${i}`, body(i))))
    fullAfter = undefined
    const acked = results.flatMap((r, i) => (r.status === "fulfilled" ? [[i, r.value.seq] as const] : []))
    const failed = results.filter((r) => r.status === "rejected")
    expect(failed.length).toBeGreaterThan(0)
    expect(acked.length).toBeGreaterThanOrEqual(3) // at least one message in each of the writes that went through
    for (const f of failed) {
      expect(((f as PromiseRejectedResult).reason as JetStreamApiError).apiError().err_code).toBe(10077)
    }
    // Acked sequences are 1..n with no gap, and each holds the message that was acked for it.
    expect(acked.map(([, seq]) => seq).sort((a, b) => a - b)).toEqual(acked.map((_, k) => k + 1))
    expect((await jsm.streams.info("B")).state).toMatchObject({ messages: acked.length, last_seq: acked.length })
    for (const [i, seq] of acked) expect((await jsm.streams.getMessage("B", { seq }))!.subject).toBe(`b.${i}`)
    expect((await js.publish("b.next", body(1))).seq).toBe(acked.length + 1)
    await nc.close()
    await broker.stop()

    broker = await startBroker({ jetstream: true, storeDir })
    nc = await connect({ servers: broker.url })
    const after = await jetstreamManager(nc)
    expect((await after.streams.info("B")).state).toMatchObject({
      messages: acked.length + 1,
      last_seq: acked.length + 1
    })
    for (const [i, seq] of acked) {
      const m = (await after.streams.getMessage("B", { seq }))!
      expect([m.subject, m.data.length, m.data[0]]).toEqual([`b.${i}`, size, i % 251])
    }
    await nc.close()
    await broker.stop()
  })
})
