/**
 * Mirrors and sources across restarts of a file-store broker: a mirror resumes at its last
 * sequence + 1 and a sourcing stream after the last `Nats-Stream-Source` it stored, so
 * whatever interleaving of publishes and restarts (including a restart while it is still catching
 * up), once caught up it equals its origin message for message (sequence, subject, headers, payload)
 * with no duplicate and no gap, and the sourcing stream holds every origin message exactly once.
 * Property-checked with fast-check.
 */
import { fc } from "@fast-check/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, headers } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { startBroker } from "../../support/Broker.ts"
import { contents, waitFor } from "./MirrorScenarios.ts"

type Op =
  | { readonly _tag: "publish"; readonly n: number; readonly subject: string }
  | { readonly _tag: "restart" }
  /** Removes the sourcing stream's source (config update), or puts it back. */
  | { readonly _tag: "unsource" }
  | { readonly _tag: "resource" }

const run = async (ops: ReadonlyArray<Op>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mirror-restart-"))
  let broker = await startBroker({ jetstream: true, storeDir: dir })
  let nc = await connect({ servers: broker.url, reconnect: false })
  try {
    let jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "RO", subjects: ["ro.*"] })
    await jsm.streams.add({ name: "RM", mirror: { name: "RO" } })
    await jsm.streams.add({ name: "RS", sources: [{ name: "RO" }] })
    let published = 0
    for (const op of ops) {
      if (op._tag === "unsource" || op._tag === "resource") {
        await jsm.streams.update("RS", { sources: op._tag === "unsource" ? [] : [{ name: "RO" }] } as never)
      } else if (op._tag === "publish") {
        const js = jetstream(nc)
        const acks = []
        for (let i = 0; i < op.n; i++) {
          const h = headers()
          h.set("N", String(++published))
          acks.push(js.publish(op.subject, `p${published}`, { headers: h }))
        }
        await Promise.all(acks)
      } else {
        // No waiting: the mirror may be in the middle of catching up.
        await nc.close()
        await broker.stop()
        broker = await startBroker({ jetstream: true, storeDir: dir })
        nc = await connect({ servers: broker.url, reconnect: false })
        jsm = await jetstreamManager(nc)
      }
    }
    // Whatever the last update said, the source is configured again for the final check.
    await jsm.streams.update("RS", { sources: [{ name: "RO" }] } as never)
    await waitFor(jsm, "RM", (si) => si.state.last_seq === published && si.mirror?.lag === 0)
    await waitFor(jsm, "RS", (si) => si.state.messages >= published && si.sources?.[0]?.lag === 0)
    const origin = await contents(jsm, "RO")
    const mirror = await contents(jsm, "RM")
    // The sourcing stream's copies, as (origin sequence from the header, subject, payload).
    const sourced =
      ((await contents(jsm, "RS")) as Array<{ subject: string; data: string; headers: Array<[string, string]> }>)
        .map((m) => ({
          seq: Number(m.headers.find(([k]) => k === "Nats-Stream-Source")![1].split(" ")[1]),
          subject: m.subject,
          data: m.data
        }))
    const info = await jsm.streams.info("RM")
    return { published, origin, mirror, sourced, state: info.state }
  } finally {
    await nc.close().catch(() => undefined)
    await broker.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    _tag: fc.constant("publish" as const),
    n: fc.integer({ min: 1, max: 60 }),
    subject: fc.constantFrom("ro.a", "ro.b")
  }),
  fc.constant({ _tag: "restart" as const }),
  fc.constant({ _tag: "unsource" as const }),
  fc.constant({ _tag: "resource" as const })
)

describe("mirrors across restarts", () => {
  it("resumes exactly after a restart", async () => {
    const r = await run([
      { _tag: "publish", n: 50, subject: "ro.a" },
      { _tag: "restart" },
      { _tag: "publish", n: 50, subject: "ro.b" }
    ])
    assert.strictEqual(r.published, 100)
    assert.strictEqual(r.state.messages, 100)
    assert.strictEqual(r.state.first_seq, 1)
    assert.deepStrictEqual(r.mirror, r.origin)
    assert.deepStrictEqual(r.sourced.map((m) => m.seq), Array.from({ length: 100 }, (_, i) => i + 1))
  }, 60_000)

  it(
    "property: any interleaving of publishes, restarts and source updates: mirror = origin, each origin message sourced once",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
          const r = await run(ops)
          assert.strictEqual(r.mirror.length, r.published)
          assert.deepStrictEqual(r.mirror, r.origin)
          assert.deepStrictEqual(
            r.sourced,
            (r.origin as Array<{ seq: number; subject: string; data: string }>).map((m) => ({
              seq: m.seq,
              subject: m.subject,
              data: m.data
            }))
          )
        }),
        { numRuns: 15 }
      )
    },
    240_000
  )
})
