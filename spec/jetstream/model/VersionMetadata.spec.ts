/**
 * ADR-44 versioning metadata (jetstream_versioning.go of nats-server 2.11): `_nats.req.level`
 * stored on create/update, `_nats.ver` / `_nats.level` only in replies and stripped from input,
 * all from the 2.11 level only (the decoders take the level as an argument, so the 2.10 behaviour
 * — metadata as sent — stays what the API does while we advertise 2.10).
 */
import { assert, describe, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../../src/config/BrokerConfig.ts"
import { API_LEVEL } from "../../../src/jetstream/model/ApiLevel.ts"
import { decodeConsumerCreate } from "../../../src/jetstream/model/ConsumerConfig.ts"
import { decodeStreamCreate, decodeStreamUpdate, type StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"
import {
  adoptRequiredLevel,
  consumerRequiredLevel,
  replyConfig,
  streamRequiredLevel
} from "../../../src/jetstream/model/VersionMetadata.ts"

const streamOf = (body: Record<string, unknown>, versioned: boolean): StreamConfig => {
  const r = decodeStreamCreate(JSON.stringify(body), body["name"] as string, { versioned })
  if (!r.ok) throw new Error(r.error.description)
  return r.config
}

describe("versioning metadata", () => {
  it("a 2.11 create stores _nats.req.level, overwrites a sent one and drops the reply-only keys", () => {
    const sent = { a: "b", "_nats.req.level": "7", "_nats.ver": "9.9.9", "_nats.level": "9" }
    const at211 = streamOf({ name: "V", subjects: ["v"], metadata: sent }, true)
    assert.deepStrictEqual(at211.metadata, { a: "b", "_nats.req.level": "0" })
    assert.deepStrictEqual(streamOf({ name: "V", subjects: ["v"] }, true).metadata, { "_nats.req.level": "0" })
    // Below 2.11 nothing is added or removed.
    assert.deepStrictEqual(streamOf({ name: "V", subjects: ["v"], metadata: sent }, false).metadata, sent)
    assert.strictEqual(streamOf({ name: "V", subjects: ["v"] }, false).metadata, undefined)
  })

  it("an update is stamped too", () => {
    const current = streamOf({ name: "V", subjects: ["v"] }, true)
    const r = decodeStreamUpdate(
      JSON.stringify({ name: "V", subjects: ["v"], metadata: { "_nats.level": "3" } }),
      "V",
      current,
      { versioned: true }
    )
    assert.ok(r.ok)
    if (r.ok) assert.deepStrictEqual(r.config.metadata, { "_nats.req.level": "0" })
  })

  it("consumers: the same, through decodeConsumerCreate's level argument", () => {
    const stream = streamOf({ name: "S", subjects: ["s.>"] }, true)
    const create = (versioned: boolean) =>
      decodeConsumerCreate(
        JSON.stringify({ stream_name: "S", config: { name: "C", metadata: { x: "1", "_nats.ver": "1.0.0" } } }),
        "$JS.API.CONSUMER.CREATE.S.C",
        stream,
        {},
        stream.subjects,
        versioned
      )
    const v = create(true)
    assert.ok(
      v.ok && v.request.config.metadata?.["_nats.req.level"] === "0" && !("_nats.ver" in v.request.config.metadata)
    )
    const plain = create(false)
    assert.ok(plain.ok && plain.request.config.metadata?.["_nats.ver"] === "1.0.0")
  })

  it("replies add the server's release and API level from 2.11 only", () => {
    const c = streamOf({ name: "V", subjects: ["v"] }, true)
    assert.deepStrictEqual(replyConfig(c, true).metadata, {
      "_nats.req.level": "0",
      "_nats.ver": ADVERTISED_NATS_VERSION,
      "_nats.level": String(API_LEVEL)
    })
    assert.strictEqual(replyConfig(c, false), c)
  })

  it("an idempotent create compares with the existing asset's required level", () => {
    const stamped = { name: "V", metadata: { a: "b", "_nats.req.level": "0" } }
    const legacy = { name: "V", metadata: { a: "b" } }
    assert.deepStrictEqual(adoptRequiredLevel(stamped, legacy), legacy)
    assert.deepStrictEqual(adoptRequiredLevel({ name: "V", metadata: { "_nats.req.level": "0" } }, { name: "V" }), {
      name: "V"
    })
    assert.deepStrictEqual(adoptRequiredLevel(legacy, stamped), stamped)
  })

  it("required levels: 1 for 2.11's TTLs, pause and priority groups, 2 for 2.12's counters, 4 for 2.14's fast batches, else 0", () => {
    assert.strictEqual(streamRequiredLevel({}), 0)
    assert.strictEqual(streamRequiredLevel({ allow_batched: true }), 4)
    assert.strictEqual(streamRequiredLevel({ allow_batched: true, allow_msg_ttl: true }), 4)
    assert.strictEqual(streamRequiredLevel({ allow_batched: false, allow_msg_ttl: true }), 1)
    assert.strictEqual(streamRequiredLevel({ allow_msg_ttl: true }), 1)
    assert.strictEqual(streamRequiredLevel({ subject_delete_marker_ttl: 1n }), 1)
    assert.strictEqual(streamRequiredLevel({ allow_msg_counter: true }), 2)
    assert.strictEqual(streamRequiredLevel({ allow_msg_counter: false }), 0)
    assert.strictEqual(streamRequiredLevel({ allow_atomic: true }), 2)
    assert.strictEqual(streamRequiredLevel({ allow_atomic: true, allow_batched: true }), 4)
    assert.strictEqual(consumerRequiredLevel({ priority_policy: "none" }), 0)
    assert.strictEqual(consumerRequiredLevel({ priority_groups: ["g"] }), 1)
    assert.strictEqual(consumerRequiredLevel({ pause_until: "2030-01-01T00:00:00Z" }), 1)
    // 2.14 jetstream_versioning.go: flow-control acks need API level 4.
    assert.strictEqual(consumerRequiredLevel({ ack_policy: "flow_control", priority_groups: ["g"] }), 4)
    assert.strictEqual(consumerRequiredLevel({ ack_policy: "explicit" }), 0)
  })
})

describe("versioning metadata of a TTL stream", () => {
  it("a stream with per-message TTLs requires API level 1", () => {
    const c = streamOf({ name: "T", subjects: ["t"], allow_msg_ttl: true }, true)
    assert.strictEqual(c.metadata?.["_nats.req.level"], "1")
    const markers = streamOf({ name: "T", subjects: ["t"], subject_delete_marker_ttl: 1_000_000_000 }, true)
    assert.strictEqual(markers.metadata?.["_nats.req.level"], "1")
  })
})
