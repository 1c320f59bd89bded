/**
 * Mirror promotion (nats-server 2.12, `configUpdateCheckLocked` / `update`; what nats.c's
 * JetStreamMirrorsRemove expects): a stream update without `mirror` turns the mirror into a normal
 * stream that keeps its messages, stops following, takes publishes on the subjects the update gives
 * it, and (for a WorkQueue origin) deletes its flow-control consumer on the origin. Any other change
 * of `mirror` is still refused with 10055. Modelled on nats-server's
 * TestJetStreamPromoteMirrorUpdatingOrigin; ours only (nats-server 2.9.10 refuses the removal).
 */
import { jetstream, type JetStreamManager, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../../support/Broker.ts"
import { sleep } from "../../support/Js.ts"
import { waitFor } from "./MirrorScenarios.ts"

const dc = new TextDecoder()

let broker: RunningBroker
let nc: NatsConnection
let jsm: JetStreamManager
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  jsm = await jetstreamManager(nc)
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

type Json = Record<string, unknown>
/** A raw STREAM.UPDATE, so the exact error and the reply's members are seen. */
const update = async (name: string, config: Json): Promise<Json> => {
  const m = await nc.request(`$JS.API.STREAM.UPDATE.${name}`, JSON.stringify({ name, ...config }), { timeout: 2000 })
  return JSON.parse(dc.decode(m.data)) as Json
}

describe("removing a stream's mirror on update", () => {
  it("promotes the mirror: it keeps its messages, stops following, and takes publishes", async () => {
    const js = jetstream(nc)
    await jsm.streams.add({ name: "O", subjects: ["foo"], storage: StorageType.Memory })
    await jsm.streams.add({ name: "M", mirror: { name: "O" }, storage: StorageType.Memory })
    await js.publish("foo", "o1")
    await js.publish("foo", "o2")
    await waitFor(jsm, "M", (si) => si.state.last_seq === 2)

    expect((await update("M", { mirror: { name: "OTHER" }, storage: "memory" })).error).toEqual({
      code: 400,
      err_code: 10055,
      description: "stream mirror configuration can not be updated"
    })
    // The origin still listens on foo: the promoted stream may not take it yet.
    expect((await update("M", { subjects: ["foo"], storage: "memory" })).error).toEqual({
      code: 400,
      err_code: 10065,
      description: "subjects overlap with an existing stream"
    })
    expect((await jsm.streams.info("M")).config.mirror).toEqual({ name: "O" })

    await jsm.streams.update("O", { subjects: ["bar"] })
    const promoted = await update("M", { subjects: ["foo"], storage: "memory" })
    expect(promoted.error).toBeUndefined()
    expect((promoted.config as Json).mirror).toBeUndefined()
    expect((promoted.config as Json).subjects).toEqual(["foo"])
    expect(promoted.mirror).toBeUndefined()
    expect((promoted.state as Json).last_seq).toBe(2)

    // The origin's new messages no longer travel; the promoted stream stores its own publishes.
    await js.publish("bar", "o3")
    const ack = await js.publish("foo", "m3")
    expect([ack.stream, ack.seq]).toEqual(["M", 3])
    await sleep(300)
    const si = await jsm.streams.info("M")
    expect([si.state.messages, si.state.last_seq, si.mirror]).toEqual([3, 3, undefined])
    expect(dc.decode((await jsm.streams.getMessage("M", { seq: 3 }))!.data)).toBe("m3")
    expect((await jsm.streams.info("O")).state.last_seq).toBe(3)
  })

  it("deletes the mirror's flow-control consumer on a WorkQueue origin", async () => {
    const js = jetstream(nc)
    await jsm.streams.add({
      name: "WO",
      subjects: ["wo"],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.Memory
    })
    await jsm.streams.add({ name: "WM", mirror: { name: "WO" }, storage: StorageType.Memory })
    await js.publish("wo", "w1")
    await waitFor(jsm, "WM", (si) => si.state.last_seq === 1)
    // Acked once the mirror stored it: the work queue drops it.
    await waitFor(jsm, "WO", (si) => si.state.messages === 0)
    const names = async () => {
      const out: Array<string> = []
      for await (const c of jsm.consumers.list("WO")) out.push(c.name)
      return out
    }
    const before = await names()
    expect(before.length).toBe(1)
    expect(before[0]).toMatch(/^JS_MIRROR_/)
    const promoted = await update("WM", { subjects: ["wm"], storage: "memory" })
    expect(promoted.error).toBeUndefined()
    await sleep(200)
    expect(await names()).toEqual([])
    await js.publish("wo", "w2")
    await sleep(300)
    expect((await jsm.streams.info("WM")).state.last_seq).toBe(1)
    // Nothing consumed it: the work queue keeps w2.
    expect((await jsm.streams.info("WO")).state.messages).toBe(1)
  })
})
