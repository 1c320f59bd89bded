/**
 * Durable sourcing (2.14, ADR-60) across broker restarts: a mirror and a source following two user
 * consumers of one Interest origin keep following them after each restart (the config, `consumer`
 * included, comes back from the store), and whatever the order of publishes and restarts each of
 * them ends up with every origin message exactly once, in order, while the origin, acked only
 * through the flow-control answers, drains.
 */
import { AckPolicy, type JetStreamManager, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream"
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node"
import fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../../support/Broker.ts"
import { sleep } from "../../support/Js.ts"

const sc = new TextEncoder()

const payloads = async (jsm: JetStreamManager, stream: string): Promise<Array<string>> => {
  const st = (await jsm.streams.info(stream)).state
  const out: Array<string> = []
  for (let seq = st.first_seq; seq <= st.last_seq && st.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (m !== null) out.push(m.string())
  }
  return out
}

const until = async (what: () => Promise<boolean>, ms: number): Promise<boolean> => {
  const end = Date.now() + ms
  while (!(await what())) {
    if (Date.now() > end) return false
    await sleep(100)
  }
  return true
}

type Step = { readonly _tag: "publish"; readonly n: number } | { readonly _tag: "restart" }

describe("durable sourcing across restarts", () => {
  it("the mirror and the source each hold every origin message once, in order, and the origin drains", async () => {
    const step = fc.oneof(
      fc.integer({ min: 1, max: 40 }).map((n): Step => ({ _tag: "publish", n })),
      fc.constant<Step>({ _tag: "restart" })
    )
    await fc.assert(
      // At least one restart, anywhere among the publishes.
      fc.asyncProperty(
        fc.tuple(fc.array(step, { maxLength: 3 }), fc.array(step, { maxLength: 2 })).map(([a, b]): Array<Step> => [
          ...a,
          { _tag: "restart" },
          ...b
        ]),
        async (steps) => {
          const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-durable-src-"))
          let broker: RunningBroker | undefined
          let nc: NatsConnection | undefined
          try {
            const start = async () => {
              broker = await startBroker({ jetstream: true, storeDir })
              nc = await connect({ servers: broker.url, reconnect: false })
              return jetstreamManager(nc)
            }
            let jsm = await start()
            await jsm.streams.add({ name: "O", subjects: ["o.>"], retention: RetentionPolicy.Interest })
            for (const [name, deliver] of [["CM", "d.mirror"], ["CS", "d.source"]] as const) {
              await jsm.consumers.add("O", {
                durable_name: name,
                deliver_subject: deliver,
                ack_policy: AckPolicy.FlowControl,
                idle_heartbeat: nanos(1000)
              })
            }
            await jsm.streams.add({
              name: "M",
              mirror: { name: "O", consumer: { name: "CM", deliver_subject: "d.mirror" } }
            })
            await jsm.streams.add({
              name: "S",
              sources: [{ name: "O", consumer: { name: "CS", deliver_subject: "d.source" } }]
            })
            const sent: Array<string> = []
            for (const s of steps) {
              if (s._tag === "publish") {
                const js = jsm.jetstream()
                for (let i = 0; i < s.n; i++) {
                  const p = `m${sent.length + 1}`
                  sent.push(p)
                  await js.publish(`o.${i % 3}`, sc.encode(p))
                }
              } else {
                await nc!.close()
                await broker!.stop()
                broker = undefined
                jsm = await start()
                const info = await jsm.streams.info("S")
                expect(info.config.sources).toEqual([{
                  name: "O",
                  consumer: { name: "CS", deliver_subject: "d.source" }
                }])
              }
            }
            const done = await until(async () =>
              (await jsm.streams.info("M")).state.messages === sent.length &&
              (await jsm.streams.info("S")).state.messages === sent.length &&
              (await jsm.streams.info("O")).state.messages === 0, 15000)
            expect(await payloads(jsm, "M")).toEqual(sent)
            expect(await payloads(jsm, "S")).toEqual(sent)
            expect((await jsm.streams.info("O")).state.messages).toBe(0)
            expect(done).toBe(true)
          } finally {
            await nc?.close().catch(() => {})
            await broker?.stop()
            fs.rmSync(storeDir, { recursive: true, force: true })
          }
        }
      ),
      { numRuns: 6 }
    )
  }, 240_000)
})
