/**
 * `compression: "s2"` (2.10) over a real socket, as raw `$JS.API` requests (nats.js will not send it to a
 * server advertising 2.9.10): a file stream compresses what it stores (its segment files shrink; the bytes it
 * reports stay the uncompressed ones), the setting can be changed on update in both directions as nats-server
 * allows (stream.go configUpdateCheck has no rule for it), and is kept across a restart; a memory stream takes
 * and reports it and stores as before (nats-server's memory store ignores it). Values: nats-server 2.10+
 * stream.go StreamConfig / checkStreamCfg ("none" and "s2" only; anything else is invalid JSON). No
 * differential part: the installed nats-server is 2.9.10, which has no `compression`.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

type Reply = {
  error?: { code: number; err_code: number; description: string }
  config?: Record<string, unknown>
  state?: { messages: number; bytes: number }
  message?: { data?: string }
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-z210-"))
let broker: RunningBroker
let nc: NatsConnection

const api = async (subject: string, body: unknown): Promise<Reply> => {
  const data = typeof body === "string" ? body : JSON.stringify(body)
  const m = await nc.request(`$JS.API.${subject}`, enc.encode(data), { timeout: 5000 })
  return JSON.parse(dec.decode(m.data)) as Reply
}

const order = (i: number) =>
  JSON.stringify({ id: i, status: "shipped", lines: Array(10).fill({ sku: "AB-1", qty: 1 }) })

const publishOrders = async (subject: string, from: number, n: number) => {
  for (let i = from; i < from + n; i++) await nc.request(subject, enc.encode(order(i)), { timeout: 5000 })
}

/** Bytes of a stream's segment files on disk. */
const diskBytes = (stream: string) => {
  const dir = path.join(storeDir, "streams", stream)
  return fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).reduce(
    (n, f) => n + fs.statSync(path.join(dir, f)).size,
    0
  )
}

const restart = async () => {
  await nc.close()
  await broker.stop()
  broker = await startBroker({ jetstream: true, storeDir })
  nc = await connect({ servers: broker.url, reconnect: false })
}

beforeAll(async () => {
  broker = await startBroker({ jetstream: true, storeDir })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
  fs.rmSync(storeDir, { recursive: true, force: true })
})

describe("stream compression", () => {
  it("a file stream with s2 stores the same messages in less disk and reports uncompressed bytes", async () => {
    const plain = await api("STREAM.CREATE.ZP", { name: "ZP", subjects: ["zp"] })
    const z = await api("STREAM.CREATE.ZS", { name: "ZS", subjects: ["zs"], compression: "s2" })
    expect(plain.error).toBeUndefined()
    // 2.10 writes `compression` on every config (stream.go StreamConfig, no omitempty).
    expect(plain.config?.compression).toBe("none")
    expect(z.config?.compression).toBe("s2")
    await publishOrders("zp", 0, 200)
    await publishOrders("zs", 0, 200)
    const [ip, iz] = [await api("STREAM.INFO.ZP", ""), await api("STREAM.INFO.ZS", "")]
    expect(iz.state).toEqual(expect.objectContaining({ messages: 200, bytes: ip.state!.bytes }))
    const got = await api("STREAM.MSG.GET.ZS", { seq: 117 })
    expect(Buffer.from(got.message!.data!, "base64").toString()).toBe(order(116))
    expect(diskBytes("ZS")).toBeLessThan(diskBytes("ZP") * 0.6)
  })

  it("can be turned off and on again on update, and survives a restart", async () => {
    const off = await api("STREAM.UPDATE.ZS", { name: "ZS", subjects: ["zs"], compression: "none" })
    expect(off.error).toBeUndefined()
    expect(off.config?.compression).toBe("none")
    await publishOrders("zs", 200, 10)
    const on = await api("STREAM.UPDATE.ZS", { name: "ZS", subjects: ["zs"], compression: "s2" })
    expect(on.config?.compression).toBe("s2")
    await publishOrders("zs", 210, 10)
    await restart()
    const info = await api("STREAM.INFO.ZS", "")
    expect(info.config?.compression).toBe("s2")
    expect(info.state?.messages).toBe(220)
    for (const seq of [1, 205, 215, 220]) {
      const m = await api("STREAM.MSG.GET.ZS", { seq })
      expect(Buffer.from(m.message!.data!, "base64").toString()).toBe(order(seq - 1))
    }
  })

  it("a memory stream takes and reports it, and stores as before", async () => {
    const r = await api("STREAM.CREATE.ZM", { name: "ZM", subjects: ["zm"], storage: "memory", compression: "s2" })
    expect(r.error).toBeUndefined()
    expect(r.config?.compression).toBe("s2")
    await publishOrders("zm", 0, 3)
    const m = await api("STREAM.MSG.GET.ZM", { seq: 2 })
    expect(Buffer.from(m.message!.data!, "base64").toString()).toBe(order(1))
  })

  it("only none and s2 are values (others, null and an empty string are invalid JSON)", async () => {
    for (const compression of ["zstd", "S2", "", null, 1]) {
      expect((await api("STREAM.CREATE.ZBAD", { name: "ZBAD", compression })).error).toEqual({
        code: 400,
        err_code: 10025,
        description: "invalid JSON"
      })
    }
  })
})
