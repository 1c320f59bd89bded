/**
 * Encryption at rest through the real CLI and nats.js: a broker whose config says `jetstream { cipher, key }`
 * (the key from an environment variable) serves a client, dies with kill -9, restarts with everything intact,
 * and never writes the payloads, subjects or stream configuration in the clear. A wrong key or no key stops the
 * start with the file named, and leaves the store byte for byte as it was.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { headers } from "@nats-io/transport-node"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { runCli, startCli } from "../support/Process.ts"

const SECRET = "card-4111-1111-1111-1111"
const SUBJECT = "orders.customer-4711"
const DESCRIPTION = "payments of customer 4711"

const filesOf = (dir: string): Map<string, string> => {
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

describe("encrypted JetStream store through the CLI", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-encrypted-"))
  const storeDir = path.join(root, "store")
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }))
  const conf = (key: string | undefined) => {
    const file = path.join(root, `js-${key ?? "none"}.conf`)
    const body = key === undefined ? "" : `, cipher: aes, key: ${key}`
    fs.writeFileSync(file, `jetstream { store_dir: "${storeDir}"${body} }\n`)
    return file
  }

  it("serves, survives kill -9 and restarts intact; nothing readable on disk", async () => {
    process.env["EJS_SPEC_JS_KEY"] = "k-spec-2f9a"
    const file = conf("$EJS_SPEC_JS_KEY")
    let broker = await startCli(["-c", file])
    expect(broker.log()).toContain("Encryption:      AES-GCM")
    let nc = await connect({ servers: `127.0.0.1:${broker.port}` })
    let jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "PAY", subjects: ["orders.>"], description: DESCRIPTION })
    const js = jetstream(nc)
    for (let i = 1; i <= 20; i++) {
      const h = headers()
      h.set("X-Card", SECRET)
      await js.publish(`${SUBJECT}.${i % 2}`, `${SECRET} #${i}`, { headers: h })
    }
    await jsm.consumers.add("PAY", { durable_name: "billing", ack_policy: AckPolicy.Explicit })
    const c = await js.consumers.get("PAY", "billing")
    const acked: Array<number> = []
    for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) if (await m.ackAck()) acked.push(m.seq)
    expect(acked).toEqual([1, 2, 3, 4, 5])
    nc.close().catch(() => {})
    expect(await broker.stop("SIGKILL")).toBe(null)

    broker = await startCli(["-c", file])
    nc = await connect({ servers: `127.0.0.1:${broker.port}` })
    jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info("PAY")
    expect([info.state.messages, info.state.last_seq, info.config.description]).toEqual([20, 20, DESCRIPTION])
    const m7 = (await jsm.streams.getMessage("PAY", { seq: 7 }))!
    expect([m7.subject, m7.string(), m7.header.get("X-Card")]).toEqual([`${SUBJECT}.1`, `${SECRET} #7`, SECRET])
    const last = (await jsm.streams.getMessage("PAY", { last_by_subj: `${SUBJECT}.0` }))!
    expect(last.seq).toBe(20)
    const ci = await jsm.consumers.info("PAY", "billing")
    expect([ci.ack_floor.stream_seq, ci.num_pending]).toEqual([5, 15])
    await jetstream(nc).publish(`${SUBJECT}.0`, `${SECRET} #21`)
    await nc.close()
    expect(await broker.stop()).toBe(0)

    const all = Buffer.concat([...filesOf(storeDir).values()].map((h) => Buffer.from(h, "hex")))
    for (const needle of [SECRET, SUBJECT, DESCRIPTION, "billing\"", "orders.>"]) {
      expect(all.indexOf(needle), needle).toBe(-1)
    }
  })

  it("a wrong key, or none, refuses to start naming the file and changes nothing", async () => {
    const before = filesOf(storeDir)
    expect(before.size).toBeGreaterThan(3)
    const wrong = await runCli(["-p", "-1", "-c", conf("k-wrong-0000")])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(
      /encrypted store file .+: the configured jetstream.key does not open this file \(a wrong key, or a damaged encryption header\); nothing was changed/
    )
    expect(wrong.stderr).not.toContain("Listening for client connections")
    const none = await runCli(["-p", "-1", "-c", conf(undefined)])
    expect(none.code).toBe(1)
    expect(none.stderr).toContain("the file is encrypted and no key is configured (set jetstream.key)")
    expect(filesOf(storeDir)).toEqual(before)
  })
})
