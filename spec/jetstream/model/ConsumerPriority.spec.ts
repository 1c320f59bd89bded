/**
 * The 2.11 consumer fields at the model level (ConsumerPriority.ts through decodeConsumerCreate) and
 * the PAUSE / UNPIN bodies (ConsumerControlRequests.ts): decoding as Go's encoding/json, defaults,
 * validation order and the normalized/encoded config, with nats-server's current rules.
 */
import { describe, expect, it } from "vitest"
import { decodeConsumerCreate, encodeConsumerConfig } from "../../../src/jetstream/model/ConsumerConfig.ts"
import { pauseRequest, unpinRequest } from "../../../src/jetstream/model/ConsumerControlRequests.ts"
import type { StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"
import { decodeStreamCreate } from "../../../src/jetstream/model/StreamConfig.ts"

const enc = new TextEncoder()
const streamResult = decodeStreamCreate(enc.encode(`{"name":"S","subjects":["s.>"]}`), "S")
if (!streamResult.ok) throw new Error("stream config")
const stream: StreamConfig = streamResult.config

const decode = (config: Record<string, unknown>) =>
  decodeConsumerCreate(
    JSON.stringify({ stream_name: "S", config: { name: "C", ack_policy: "explicit", ...config } }),
    "$JS.API.CONSUMER.CREATE.S.C",
    stream
  )
const errorOf = (config: Record<string, unknown>) => {
  const r = decode(config)
  return r.ok ? undefined : r.error.err_code
}

describe("priority fields in the consumer config", () => {
  it("are normalized and encoded after metadata, omitted when unset", () => {
    const r = decode({
      metadata: { a: "b" },
      pause_until: "2030-01-01T01:00:00.250+01:00",
      priority_groups: ["A"],
      priority_policy: "overflow",
      priority_timeout: 5
    })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const keys = Object.keys(encodeConsumerConfig(r.request.config))
    expect(keys.slice(-5)).toEqual([
      "metadata",
      "pause_until",
      "priority_groups",
      "priority_policy",
      "priority_timeout"
    ])
    expect(encodeConsumerConfig(r.request.config).pause_until).toBe("2030-01-01T00:00:00.25Z")
    const plain = decode({})
    expect(plain.ok && Object.keys(encodeConsumerConfig(plain.request.config)).some((k) => k.startsWith("p")))
      .toBe(false)
  })

  it("pause_until: Go's zero time is none, the epoch is kept; null is none", () => {
    const at = (v: unknown) => {
      const r = decode({ pause_until: v })
      return r.ok ? r.request.config.pause_until : `error ${r.error.err_code}`
    }
    expect(at("0001-01-01T00:00:00Z")).toBeUndefined()
    expect(at(null)).toBeUndefined()
    expect(at("1970-01-01T00:00:00Z")).toBe("1970-01-01T00:00:00Z")
    expect(at(5)).toBe("error 10025")
  })

  it("validation in nats-server's order, after the other checks", () => {
    // Push first: a push consumer with a policy (10178) before the missing groups (10159).
    expect(errorOf({ priority_policy: "overflow", deliver_subject: "d" })).toBe(10178)
    expect(errorOf({ priority_policy: "overflow" })).toBe(10159)
    expect(errorOf({ priority_policy: "overflow", priority_groups: ["", "a.b"] })).toBe(10161)
    expect(errorOf({ priority_policy: "overflow", priority_groups: ["ok", "a.b"] })).toBe(10162)
    expect(errorOf({ priority_policy: "none", priority_groups: ["A"] })).toBe(10196)
    expect(errorOf({ priority_timeout: 1 })).toBe(10197)
    // A negative timeout is 0 before the checks: accepted with policy none.
    expect(errorOf({ priority_timeout: -1 })).toBeUndefined()
    // An earlier check wins over the priority ones (sample frequency is checked before).
    expect(errorOf({ sample_freq: "x", priority_policy: "overflow" })).toBe(10095)
  })

  it("priority_policy's own decode error aborts the whole body, even after an unknown key", () => {
    const r = decode({ foo: 1, priority_policy: 7 })
    expect(r.ok ? undefined : r.error.description).toBe("invalid JSON: unknown priority policy: 7")
  })
})

describe("CONSUMER.PAUSE / UNPIN bodies", () => {
  it("PAUSE: only a JSON object or array is read; the deadline in ns", () => {
    expect(pauseRequest(enc.encode(""))).toBeUndefined()
    expect(pauseRequest(enc.encode("junk"))).toBeUndefined()
    expect(pauseRequest(enc.encode("{}"))).toBeUndefined()
    expect(pauseRequest(enc.encode(`{"pause_until":"1970-01-01T00:00:01Z"}`))).toBe(1_000_000_000n)
    expect(pauseRequest(enc.encode(`{"Pause_Until":"1970-01-01T00:00:00Z"}`))).toBe(0n)
    expect(pauseRequest(enc.encode(`{"pause_until":"0001-01-01T00:00:00Z"}`))).toBeUndefined()
    expect(pauseRequest(enc.encode(`[]`))).toMatchObject({ err_code: 10025, description: "invalid JSON" })
    expect(pauseRequest(enc.encode(`{"x":1}`))).toMatchObject({
      err_code: 10025,
      description: `invalid JSON: json: unknown field "x"`
    })
  })

  it("UNPIN: a group is required and must be a valid name", () => {
    expect(unpinRequest(enc.encode(`{"group":"A"}`))).toBe("A")
    expect(unpinRequest(enc.encode(""))).toMatchObject({ err_code: 10025 })
    expect(unpinRequest(enc.encode(`{}`))).toMatchObject({
      err_code: 10025,
      description: "invalid JSON: consumer group not specified"
    })
    expect(unpinRequest(enc.encode(`{"group":"a*"}`))).toMatchObject({ err_code: 10162 })
  })
})
