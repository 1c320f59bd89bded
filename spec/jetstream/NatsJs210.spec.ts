/**
 * The 2.10 features through nats.js v3 as it uses them once a server says 2.10: the client decides from
 * the INFO version, which is ours (ADVERTISED_NATS_VERSION, 2.10 or later), so nothing is forced here. Then: a
 * stream with `subject_transform` and
 * `compression: s2` from `jsm.streams.add`, a source with `subject_transforms`, and KV's multi-key
 * `watch()` (a consumer with `filter_subjects`). No nats-server comparison: 2.9.10 has none of these.
 */
import { jetstreamManager, StoreCompression } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

describe("nats.js at the 2.10 level", () => {
  it("enables its 2.10 features from our INFO alone", () => {
    expect(nc.info?.version).toBe(ADVERTISED_NATS_VERSION)
    const features = (nc as unknown as { features: { supports(f: string): boolean } }).features
    for (const f of ["js_stream_subject_transform", "js_stream_compression", "js_multiple_consumer_filter"]) {
      expect([f, features.supports(f)]).toEqual([f, true])
    }
  })

  it("streams.add with subject_transform and s2 compression; messages stored under the new subject", async () => {
    const jsm = await jetstreamManager(nc)
    const si = await jsm.streams.add({
      name: "NJT",
      subjects: ["njt.in.*"],
      subject_transform: { src: "njt.in.*", dest: "njt.out.{{wildcard(1)}}" },
      compression: StoreCompression.S2
    })
    expect(si.config.subject_transform).toEqual({ src: "njt.in.*", dest: "njt.out.{{wildcard(1)}}" })
    expect(si.config.compression).toBe("s2")
    const js = jsm.jetstream()
    const ack = await js.publish("njt.in.a", "hello")
    expect(ack.seq).toBe(1)
    const m = await jsm.streams.getMessage("NJT", { seq: 1 })
    expect(m?.subject).toBe("njt.out.a")
    expect(m?.string()).toBe("hello")
    const updated = await jsm.streams.update("NJT", { compression: StoreCompression.None })
    expect(updated.config.compression ?? "none").toBe("none")
  })

  it("a source with subject_transforms, as nats.js sends it", async () => {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "NJO", subjects: ["njo.>"] })
    const js = jsm.jetstream()
    for (const s of ["njo.a", "njo.b", "njo.a"]) await js.publish(s)
    await jsm.streams.add({
      name: "NJS",
      sources: [{ name: "NJO", subject_transforms: [{ src: "njo.a", dest: "copied.a" }] }]
    })
    let info = await jsm.streams.info("NJS")
    for (let i = 0; i < 100 && info.state.messages < 2; i++) {
      await sleep(50)
      info = await jsm.streams.info("NJS")
    }
    expect(info.state.messages).toBe(2)
    expect(info.sources?.[0]?.subject_transforms).toEqual([{ src: "njo.a", dest: "copied.a" }])
    expect((await jsm.streams.getMessage("NJS", { seq: 2 }))?.subject).toBe("copied.a")
  })

  it("KV watch() of several keys sees those keys only", async () => {
    const kv = await new Kvm(nc).create("NJKV")
    const iter = await kv.watch({ key: ["a", "c"] })
    const seen: Array<string> = []
    const done = (async () => {
      for await (const e of iter) {
        seen.push(`${e.key}=${e.string()}`)
        if (seen.length === 3) break
      }
    })()
    await kv.put("a", "1")
    await kv.put("b", "2")
    await kv.put("c", "3")
    await kv.put("b", "4")
    await kv.put("a", "5")
    await Promise.race([done, sleep(5000)])
    iter.stop()
    expect(seen).toEqual(["a=1", "c=3", "a=5"])
  })
})
