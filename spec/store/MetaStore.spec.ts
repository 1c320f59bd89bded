/**
 * The metadata store: documents round-trip in both layers, and what is read back from disk is decoded
 * strictly — a corrupt, wrong-typed or foreign document is a Corrupt StoreError naming its file, reported
 * next to the documents that did decode.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ConsumerConfig } from "../../src/jetstream/model/ConsumerConfig.ts"
import type { StreamConfig } from "../../src/jetstream/model/StreamConfig.ts"
import { StoreCipher } from "../../src/store/Cipher.ts"
import { MetaStore } from "../../src/store/MetaStore.ts"
import { defaultStreamConfig } from "../support/StreamConfigs.ts"
import { tempDir } from "./support.ts"

const stream = (name: string, over: Partial<StreamConfig> = {}): StreamConfig => defaultStreamConfig(name, over)

const consumer: ConsumerConfig = {
  durable_name: "worker",
  deliver_policy: "all",
  ack_policy: "explicit",
  ack_wait: 30_000_000_000,
  max_deliver: -1,
  replay_policy: "instant",
  max_ack_pending: 1000,
  num_replicas: 0,
  backoff: [1_000_000_000, 2_000_000_000],
  metadata: { team: "billing" }
}

const layers: ReadonlyArray<readonly [string, () => Layer.Layer<MetaStore>]> = [
  ["memory", () => MetaStore.layerMemory],
  ["file", () => MetaStore.layerFile({ dir: tempDir() })],
  ["file, encrypted", () => MetaStore.layerFile({ dir: tempDir(), cipher: new StoreCipher("chacha", "meta key") })]
]

describe("MetaStore", () => {
  for (const [label, make] of layers) {
    it.effect(`${label}: saves, loads and removes stream and consumer documents`, () =>
      Effect.gen(function*() {
        const meta = yield* MetaStore
        yield* meta.saveStream({ config: stream("B", { description: "b", metadata: { k: "v" } }), created: "2" })
        yield* meta.saveStream({ config: stream("A", { first_seq: 10 }), created: "1" })
        yield* meta.saveConsumer("A", "worker", { config: consumer, created: "3" })
        const loaded = yield* meta.loadStreams
        assert.deepStrictEqual(loaded.problems, [])
        assert.deepStrictEqual(loaded.metas.map((m) => [m.config.name, m.created]), [["A", "1"], ["B", "2"]])
        assert.deepStrictEqual(loaded.metas[1]!.config, stream("B", { description: "b", metadata: { k: "v" } }))
        const consumers = yield* meta.loadConsumers("A")
        assert.deepStrictEqual(consumers.metas, [{ name: "worker", config: consumer, created: "3" }])
        yield* meta.removeConsumer("A", "worker")
        assert.deepStrictEqual((yield* meta.loadConsumers("A")).metas, [])
        yield* meta.saveConsumer("B", "c", { config: consumer, created: "4" })
        yield* meta.removeStream("B")
        assert.deepStrictEqual((yield* meta.loadStreams).metas.map((m) => m.config.name), ["A"])
        assert.deepStrictEqual((yield* meta.loadConsumers("B")).metas, [])
      }).pipe(Effect.provide(make())))
  }

  it.effect("file: every bad document is a Corrupt error naming its file; the good ones still load", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const files = path.join(dir, "streams")
      const layer = MetaStore.layerFile({ dir })
      yield* MetaStore.use((m) => m.saveStream({ config: stream("GOOD"), created: "5" })).pipe(Effect.provide(layer))
      const good = JSON.parse(fs.readFileSync(path.join(files, "GOOD.json"), "utf8")) as {
        config: Record<string, unknown>
      }
      const bad: Record<string, string> = {
        "1-torn.json": "{\"config\":{\"name\":\"X\"",
        "2-wrong-type.json": JSON.stringify({ ...good, config: { ...good.config, name: "W", max_msgs: "10" } }),
        "3-unknown-field.json": JSON.stringify({
          ...good,
          config: { ...good.config, name: "U", allow_everything: true }
        }),
        "4-unknown-value.json": JSON.stringify({
          ...good,
          config: { ...good.config, name: "V", retention: "forever" }
        }),
        "5-missing-field.json": JSON.stringify({ config: good.config }),
        "6-fraction.json": JSON.stringify({ ...good, config: { ...good.config, name: "F", max_bytes: 1.5 } }),
        "7-not-an-object.json": "[]"
      }
      for (const [f, text] of Object.entries(bad)) fs.writeFileSync(path.join(files, f), text)
      const loaded = yield* MetaStore.use((m) => m.loadStreams).pipe(Effect.provide(layer))
      assert.deepStrictEqual(loaded.metas.map((m) => m.config.name), ["GOOD"])
      assert.deepStrictEqual(
        loaded.problems.map((p) => [p.reason._tag, p.reason._tag === "Corrupt" ? p.reason.path : ""]),
        Object.keys(bad).sort().map((f) => ["Corrupt", path.join(files, f)])
      )
      for (const p of loaded.problems) assert.include(p.message, path.join(files, ""))
    }))

  it("file: any stored config value that is not a well-formed document is refused, never defaulted", () =>
    fc.assert(
      fc.property(
        fc.constantFrom("max_msgs", "max_age", "storage", "discard", "subjects", "sealed", "duplicate_window"),
        fc.oneof(
          fc.string(),
          fc.boolean(),
          fc.constant(null),
          fc.double({ noInteger: true }),
          fc.array(fc.nat(), { minLength: 1 })
        ),
        (key, value) => {
          const config: Record<string, unknown> = { ...stream("P"), [key]: value }
          const valid = (key === "max_msgs" || key === "max_age" || key === "duplicate_window")
            ? typeof value === "number" && Number.isInteger(value)
            : key === "storage"
            ? value === "file" || value === "memory"
            : key === "discard"
            ? value === "old" || value === "new"
            : key === "subjects"
            ? Array.isArray(value) && value.every((v) => typeof v === "string")
            : typeof value === "boolean"
          const dir = tempDir()
          fs.mkdirSync(path.join(dir, "streams"))
          fs.writeFileSync(path.join(dir, "streams", "P.json"), JSON.stringify({ config, created: "1" }))
          const loaded = Effect.runSync(
            MetaStore.use((m) => m.loadStreams).pipe(Effect.provide(MetaStore.layerFile({ dir })))
          )
          return valid ? loaded.metas.length === 1 : loaded.metas.length === 0 && loaded.problems.length === 1
        }
      ),
      { numRuns: 200 }
    ))
})
