/**
 * The file store on a real full disk: a 4 MiB tmpfs under the broker's store directory, filled by a
 * filler file. The broker is a CLI child process (so it can be killed with -9) and is driven by the
 * real clients. Needs root for the mount; without it the suite says why and does not run.
 */
import { jetstream, JetStreamApiError, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BrokerProcess, startCli } from "../support/Process.ts"

const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-diskfull-"))
const mountError = (() => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], { stdio: "pipe" })
    return undefined
  } catch (e) {
    return String((e as { stderr?: unknown }).stderr ?? e).trim()
  }
})()
if (mountError !== undefined) console.log(`DiskFull.spec: not run, cannot mount a tmpfs at ${mnt}: ${mountError}`)

const storeDir = path.join(mnt, "store")
const filler = path.join(mnt, "filler")

/** Writes the filler until the file system refuses (ENOSPC), then closes it so deleting it frees the space. */
const fillDisk = () => {
  const fd = fs.openSync(filler, "w")
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) fs.writeSync(fd, chunk)
  } catch (e) {
    expect((e as { code?: unknown }).code).toBe("ENOSPC")
  } finally {
    fs.closeSync(fd)
  }
}

const payload = (i: number, size: number) => new Uint8Array(size).fill(i % 251)

/** The PubAck error of a publish that must fail. */
const publishError = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (e: unknown) => e)
  expect(e).toBeInstanceOf(JetStreamApiError)
  return (e as JetStreamApiError).apiError()
}

const brokers: Array<BrokerProcess> = []
const connections: Array<NatsConnection> = []
const start = async () => {
  const b = await startCli(["-js", "-sd", storeDir])
  brokers.push(b)
  const nc = await connect({ servers: `127.0.0.1:${b.port}`, reconnect: false })
  connections.push(nc)
  return { b, nc, js: jetstream(nc, { timeout: 5000 }), jsm: await jetstreamManager(nc, { timeout: 5000 }) }
}

const stopAll = async () => {
  for (const nc of connections.splice(0)) await nc.close().catch(() => undefined)
  for (const b of brokers.splice(0)) if (b.child.exitCode === null) await b.stop("SIGKILL")
}

afterAll(async () => {
  await stopAll()
  if (mountError === undefined) execFileSync("umount", [mnt])
  fs.rmSync(mnt, { recursive: true, force: true })
})

describe.skipIf(mountError !== undefined)("a full disk under the file store", () => {
  beforeAll(() => fs.rmSync(storeDir, { recursive: true, force: true }))

  it("fails publishes with nats-server's store error, keeps the API answering, resumes by itself, and loses no ack across kill -9", async () => {
    const { b, js, jsm } = await start()
    await jsm.streams.add({ name: "FULL", subjects: ["full.>"] })
    for (let i = 1; i <= 5; i++) expect((await js.publish(`full.${i}`, payload(i, 10_000))).seq).toBe(i)

    fillDisk()
    const segment = path.join(storeDir, "streams", "FULL", "0000000000000001.seg")
    for (let i = 0; i < 3; i++) {
      expect(await publishError(js.publish("full.big", payload(9, 200_000)))).toEqual({
        code: 503,
        err_code: 10077,
        description: `write ${segment}: no space left on device`
      })
    }
    // Logged when the failure starts, not once per publish.
    await expect.poll(() => b.log(), { timeout: 5000 }).toContain("failed to store a msg on stream 'FULL'")
    expect(b.log().match(/failed to store a msg on stream 'FULL'/g)).toHaveLength(1)

    // The API keeps answering, and nothing of the failed publishes is in the stream.
    const account = await jsm.getAccountInfo()
    expect(account.storage).toBe(5 * ("full.1".length + 10_000 + 16))
    const info = await jsm.streams.info("FULL")
    expect(info.state).toMatchObject({ messages: 5, first_seq: 1, last_seq: 5, bytes: account.storage })
    expect((await jsm.streams.getMessage("FULL", { seq: 3 }))!.data).toEqual(payload(3, 10_000))

    // Freeing space is enough: the next publish gets the next sequence.
    fs.rmSync(filler)
    expect((await js.publish("full.big", payload(6, 200_000))).seq).toBe(6)
    // The child's log reaches us through a pipe, independently of the ack on the socket.
    await expect.poll(() => b.log(), { timeout: 5000 }).toContain("stream 'FULL' is storing messages again")

    // Every acknowledged message is on disk: kill -9 and restart.
    await stopAll()
    const again = await start()
    const st = await again.jsm.streams.info("FULL")
    expect(st.state).toMatchObject({ messages: 6, first_seq: 1, last_seq: 6 })
    for (let i = 1; i <= 5; i++) {
      expect((await again.jsm.streams.getMessage("FULL", { seq: i }))!.data).toEqual(payload(i, 10_000))
    }
    expect((await again.jsm.streams.getMessage("FULL", { seq: 6 }))!.data).toEqual(payload(6, 200_000))
    expect((await again.jsm.getAccountInfo()).storage).toBe(
      5 * ("full.1".length + 10_000 + 16) + ("full.big".length + 200_000 + 16)
    )
    await again.jsm.streams.delete("FULL")
    // Deleting the stream takes its bytes out of the running total.
    expect((await again.jsm.getAccountInfo()).storage).toBe(0)
    await stopAll()
  })

  it("recomputes the free-space limit: after the stream that filled the disk is deleted, a new one can be created", async () => {
    let { js, jsm } = await start()
    await jsm.streams.add({ name: "BIG", subjects: ["big"] })
    // Fill the disk with the stream itself.
    let stored = 0
    for (;;) {
      const r = await js.publish("big", payload(stored, 100_000)).then(() => true, () => false)
      if (!r) break
      stored++
    }
    expect(stored).toBeGreaterThan(20)
    // A restart on the full disk (the limit used to be computed once, here, as 0).
    await stopAll()
    ;({ js, jsm } = await start())
    const refused = await jsm.streams.add({ name: "NEW", subjects: ["new"], max_bytes: 1024 * 1024 }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(refused).toBeInstanceOf(JetStreamApiError)
    expect((refused as JetStreamApiError).apiError()).toEqual({
      code: 500,
      err_code: 10047,
      description: "insufficient storage resources available"
    })
    // A purge on the full disk succeeds (its floor overwrites a reserved file; the dead segment cannot roll yet).
    expect(await jsm.streams.purge("BIG")).toMatchObject({ success: true, purged: stored })
    expect((await jsm.streams.info("BIG")).state).toMatchObject({
      messages: 0,
      first_seq: stored + 1,
      last_seq: stored
    })
    expect(await jsm.streams.delete("BIG")).toBe(true)
    // The limit follows the space that deleting the stream freed, without a restart.
    const created = await jsm.streams.add({ name: "NEW", subjects: ["new"], max_bytes: 1024 * 1024 })
    expect(created.config.max_bytes).toBe(1024 * 1024)
    expect((await js.publish("new", payload(1, 100_000))).seq).toBe(1)
    await stopAll()
  })
})
