/**
 * A write error that is not a full disk (here an injected EIO on the segment write) is persistent: the stream
 * answers every later publish with nats-server's 10077 store error without trying again, says so once in the
 * log, stays readable, the API keeps answering, and a restart (which recovers from what is on disk) clears it.
 * Full-disk behaviour, on a real tmpfs, is in DiskFull.spec.ts.
 */
import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { afterAll, describe, expect, it } from "vitest"
import { startBroker } from "../support/Broker.ts"

const realWriteSync = fs.writeSync
let armed = false
// Buffer writes with a length are the stores' (segment records); the logger and metadata write strings.
fs.writeSync = ((fd: number, buf: Uint8Array, offset?: number, length?: number, position?: number | null) => {
  if (armed && typeof length === "number") {
    armed = false
    throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" })
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
    expect(await apiErrorOf(js.publish("bad", "lost"))).toEqual(expected)
    expect(armed).toBe(false)
    // The disk works again, but the stream does not try: the file is in a state it cannot vouch for.
    for (let i = 0; i < 3; i++) expect(await apiErrorOf(js.publish("bad", "refused"))).toEqual(expected)
    const log = fs.readFileSync(logFile, "utf8")
    expect(log.match(/failed to store a msg on stream 'BAD'.*refuses writes until the server restarts/g)).toHaveLength(1)

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
