/**
 * Core subject mappings (`mappings {}`) over real sockets: the same configuration file given to
 * nats-server 2.9.10 and to our loader, the same publishes, the same subjects arriving (transform
 * functions, partitions, `>` tails, a 100% weighted split, permissions on the mapped subject); and
 * `-t` agreement on invalid mappings. Skipped with the reason printed without nats-server.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import {
  natsServerPath,
  type RunningBroker,
  type RunningNatsServer,
  startBroker,
  startNatsServer
} from "../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("mappings differential skipped: nats-server is not on PATH")

const CONF = `
mappings {
  "orders.new": "orders.v2.new"
  "swap.*.*": "swapped.$2.$1"
  "fn.*.*": "fn.{{wildcard(2)}}.{{splitfromleft(1,2)}}.{{slicefromright(2,2)}}"
  "split.*": "parts.{{split(1,-)}}"
  "part.*.*": "part.{{partition(7,1,2)}}.$1.$2"
  "tail.>": "moved.tail.>"
  "all.*": [ { dest: "all.a.$1", weight: 100% } ]
  "half": [ { dest: "half.none", weight: 0 } ]
}
`

const PUBLISHES = [
  "orders.new",
  "orders.old",
  "swap.a.b",
  "fn.abcdef.xyz12",
  "split.-a--b-c-",
  ...Array.from({ length: 12 }, (_, i) => `part.k${i}.z${i * 7}`),
  "tail.1.2.3",
  "all.q",
  "half"
]

const collect = async (url: string): Promise<Array<string>> => {
  const nc: NatsConnection = await connect({ servers: url, reconnect: false })
  try {
    const got: Array<string> = []
    const sub = nc.subscribe(">", { callback: (_e, m) => void got.push(m.subject) })
    await nc.flush()
    for (const s of PUBLISHES) nc.publish(s, "x")
    await nc.flush()
    const deadline = Date.now() + 3000
    while (got.length < PUBLISHES.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    sub.unsubscribe()
    return got
  } finally {
    await nc.close()
  }
}

describe.skipIf(natsServer === undefined)("core mappings: broker vs nats-server", () => {
  let dir: string
  let broker: RunningBroker
  let nats: RunningNatsServer
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-map-"))
    const file = path.join(dir, "m.conf")
    fs.writeFileSync(file, CONF)
    const loaded = ConfigFile.load(file)
    if (loaded._tag !== "Success") throw new Error(JSON.stringify(loaded.errors))
    ;[broker, nats] = await Promise.all([startBroker(loaded.config), startNatsServer(["-c", file])])
  })
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("delivers every publish under the subject nats-server maps it to", async () => {
    const [ours, theirs] = await Promise.all([collect(broker.url), collect(nats.url)])
    assert.deepStrictEqual(ours, theirs)
    assert.strictEqual(ours[0], "orders.v2.new")
    assert.strictEqual(ours[2], "swapped.b.a")
    assert.strictEqual(ours[3], "fn.xyz12.ab.cdef.x.yz.12")
    assert.strictEqual(ours[4], "parts.a.b.c")
    assert.include(ours, "moved.tail.1.2.3")
    assert.include(ours, "all.a.q")
    assert.include(ours, "half")
  })

  it("a JetStream stream captures the mapped subject", async () => {
    // Our broker only (nats-server here runs without -js): the stream sees what routing sees.
    const js = await startBroker({
      jetstream: true,
      mappings: [{ src: "in.*", dests: [{ subject: "store.$1", weight: 100 }] }]
    })
    try {
      const nc = await connect({ servers: js.url, reconnect: false })
      const { jetstreamManager } = await import("@nats-io/jetstream")
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "S", subjects: ["store.>"] })
      const ack = await jsm.jetstream().publish("in.7", "v")
      assert.strictEqual(ack.seq, 1)
      const m = await jsm.streams.getMessage("S", { seq: 1 })
      assert.strictEqual(m?.subject, "store.7")
      await nc.close()
    } finally {
      await js.stop()
    }
  })
})

const invalid = [
  "mappings { \"a.*\": \"b.$2\" }",
  "mappings { \"a.*\": \"b.{{nope(1)}}\" }",
  "mappings { \"a.*\": \"b.{{wildcard()}}\" }",
  "mappings { \"a..b\": \"c\" }",
  "mappings { \"a\": [ { dest: b, weight: 60 }, { dest: c, weight: 50 } ] }",
  "mappings { \"a\": [ { dest: b } ] }",
  "mappings { \"a\": [ { dest: b, weight: 101 } ] }",
  "mappings { \"a\": [ { dest: b, weight: 10, colour: red } ] }",
  "mappings { \"a\": [ { dest: b, weight: 10 }, { dest: b, weight: 10 } ] }",
  "mappings { \"a.>\": \"b\" }"
]
const valid = [
  "mappings { \"a.*\": \"b.{{partition(3,1)}}\" }",
  "maps { a: b }",
  "mappings { \"a\": { dest: b, weight: \"40%\" } }",
  "mappings { \"a\": [ { destination: b, weight: 40 }, { dest: a, weight: 60 } ] }"
]

const natsAccepts = (file: string) =>
  new Promise<boolean>((resolve) => {
    execFile(natsServer!, ["-c", file, "-t"], { timeout: 10_000 }, (err) => resolve(err === null))
  })

describe.skipIf(natsServer === undefined)("mappings acceptance: ours vs nats-server -t", () => {
  it("agrees on every sample, and reports the position and nats-server's reason", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-map-t-"))
    try {
      const samples = [...invalid.map((t) => [t, false] as const), ...valid.map((t) => [t, true] as const)]
      for (const [i, [text, expected]] of samples.entries()) {
        const file = path.join(dir, `c${i}.conf`)
        fs.writeFileSync(file, text)
        const ours = ConfigFile.load(file)._tag === "Success"
        assert.strictEqual(await natsAccepts(file), expected, `nats-server on ${text}`)
        assert.strictEqual(ours, expected, `ours on ${text}`)
      }
      const file = path.join(dir, "bad.conf")
      fs.writeFileSync(file, invalid[1]!)
      const r = ConfigFile.load(file)
      assert.strictEqual(r._tag, "Failure")
      if (r._tag === "Failure") {
        assert.strictEqual(
          ConfigFile.renderIssue(r.errors[0]!),
          `${file}:1:12: Error adding mapping for "a.*" to "b.{{nope(1)}}" : invalid mapping destination: unknown function in {{nope(1)}}`
        )
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
