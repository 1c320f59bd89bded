/**
 * `pedantic` (2.11): every adjustment nats-server 2.11 guards in checkStreamCfg and
 * setConsumerConfigDefaults is refused with 10157 when the request is pedantic, and made as before
 * when it is not. Texts are nats-server's (some carry the "pedantic mode: " prefix twice).
 */
import { assert, describe, it } from "vitest"
import { decodeConsumerCreate } from "../../../src/jetstream/model/ConsumerConfig.ts"
import { decodeStreamCreate, decodeStreamUpdate, type StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"

const pedanticErr = (text: string) => ({ code: 400, err_code: 10157, description: `pedantic mode: ${text}` })

const stream = (body: Record<string, unknown>, limits = {}) => {
  const name = body["name"] as string
  return decodeStreamCreate(JSON.stringify(body), name, limits)
}
const streamError = (body: Record<string, unknown>, limits = {}) => {
  const r = stream(body, limits)
  return r.ok ? undefined : { code: r.error.code, err_code: r.error.err_code, description: r.error.description }
}
const config = (body: Record<string, unknown>): StreamConfig => {
  const r = stream(body)
  if (!r.ok) throw new Error(r.error.description)
  return r.config
}

describe("pedantic stream requests", () => {
  it("a default duplicate window shortened to max_age", () => {
    const body = { name: "P", subjects: ["p"], max_age: 60_000_000_000 }
    assert.deepStrictEqual(
      streamError({ ...body, pedantic: true }),
      pedanticErr("pedantic mode: duplicate window cannot be bigger than max age")
    )
    assert.strictEqual(config(body).duplicate_window, 60_000_000_000)
    // Setting the window explicitly leaves nothing to adjust.
    assert.strictEqual(
      config({ ...body, duplicate_window: 60_000_000_000, pedantic: true }).duplicate_window,
      60_000_000_000
    )
    assert.strictEqual(config({ name: "P", subjects: ["p"], pedantic: true }).duplicate_window, 120_000_000_000)
  })

  it("a mirror's mirror_direct overwritten by the origin's allow_direct", () => {
    const origin = config({ name: "O", subjects: ["o"], allow_direct: true })
    const limits = { stream: (n: string) => (n === "O" ? origin : undefined) }
    assert.deepStrictEqual(
      streamError({ name: "M", mirror: { name: "O" }, pedantic: true }, limits),
      pedanticErr("origin stream has direct get set, mirror has it disabled")
    )
    const r = stream({ name: "M", mirror: { name: "O" }, mirror_direct: true, pedantic: true }, limits)
    assert.ok(r.ok && r.config.mirror_direct)
    const plain = stream({ name: "M", mirror: { name: "O" } }, limits)
    assert.ok(plain.ok && plain.config.mirror_direct)
  })

  it("an empty republish source, and the implicit republish of a transformed subject", () => {
    assert.deepStrictEqual(
      streamError({ name: "R", subjects: ["r.>"], republish: { dest: "out.>" }, pedantic: true }),
      pedanticErr("pedantic mode: republish source can not be empty")
    )
    assert.strictEqual(config({ name: "R", subjects: ["r.>"], republish: { dest: "out.>" } }).republish?.src, ">")
    const implicit = {
      name: "R",
      subjects: ["r.*"],
      subject_transform: { src: "r.*", dest: "t.{{wildcard(1)}}" },
      republish: { src: ">", dest: ">" }
    }
    assert.deepStrictEqual(
      streamError({ ...implicit, pedantic: true }),
      pedanticErr("implicit republish based on subject transform")
    )
    assert.strictEqual(config(implicit).republish?.src, "t.{{wildcard(1)}}")
  })

  it("applies to STREAM.UPDATE too; pedantic must be a bool", () => {
    const current = config({ name: "U", subjects: ["u"] })
    const r = decodeStreamUpdate(
      JSON.stringify({ name: "U", subjects: ["u"], max_age: 1_000_000_000, pedantic: true }),
      "U",
      current
    )
    assert.ok(!r.ok && r.error.err_code === 10157)
    assert.strictEqual(streamError({ name: "U", pedantic: 1 })?.err_code, 10025)
  })
})

describe("pedantic consumer requests", () => {
  const s = config({
    name: "S",
    subjects: ["s.>"],
    consumer_limits: { max_ack_pending: 50, inactive_threshold: 60_000_000_000 }
  })
  const plainStream = config({ name: "S", subjects: ["s.>"] })
  const create = (cfg: Record<string, unknown>, pedantic: boolean, on: StreamConfig = s, limits = {}) =>
    decodeConsumerCreate(
      JSON.stringify({ stream_name: "S", config: { name: "C", ack_policy: "explicit", ...cfg }, pedantic }),
      "$JS.API.CONSUMER.CREATE.S.C",
      on,
      limits
    )
  const errorOf = (r: ReturnType<typeof create>) => (r.ok ? undefined : r.error.description)

  it("max_ack_pending and inactive_threshold taken from the stream's consumer_limits", () => {
    assert.strictEqual(
      errorOf(create({}, true)),
      "pedantic mode: max_ack_pending must be set if it's configured in stream limits"
    )
    assert.strictEqual(
      errorOf(create({ max_ack_pending: 10 }, true)),
      "pedantic mode: inactive_threshold must be set if it's configured in stream limits"
    )
    const ok = create({ max_ack_pending: 10, inactive_threshold: 30_000_000_000 }, true)
    assert.ok(ok.ok)
    const adjusted = create({}, false)
    assert.ok(adjusted.ok && adjusted.request.config.max_ack_pending === 50)
  })

  it("ack_wait replaced by the first backoff (the default ack_wait counts as set)", () => {
    const backoff = { backoff: [1_000_000_000, 2_000_000_000], max_deliver: 5 }
    assert.strictEqual(
      errorOf(create(backoff, true, plainStream)),
      "pedantic mode: first backoff value has to equal batch AckWait"
    )
    assert.ok(create({ ...backoff, ack_wait: 1_000_000_000 }, true, plainStream).ok)
    const plain = create(backoff, false, plainStream)
    assert.ok(plain.ok && plain.request.config.ack_wait === 1_000_000_000)
  })

  it("a pull consumer's max_batch from the server's max_request_batch", () => {
    assert.strictEqual(
      errorOf(create({}, true, plainStream, { maxRequestBatch: 20 })),
      "pedantic mode: max_request_batch must be set if it's JetStream limits are set"
    )
    assert.ok(create({ max_batch: 20 }, true, plainStream, { maxRequestBatch: 20 }).ok)
    // Defaults nats-server fills without asking (max_ack_pending 1000, max_deliver -1) are not refused.
    const defaults = create({}, true, plainStream)
    assert.ok(
      defaults.ok && defaults.request.config.max_ack_pending === 1000 && defaults.request.config.max_deliver === -1
    )
  })
})

describe("pedantic and subject delete markers (checkStreamCfg: the stream's invalid-config error)", () => {
  it("markers without allow_msg_ttl or roll-ups are refused instead of turning them on", () => {
    const base = { name: "T", subjects: ["t"], subject_delete_marker_ttl: 1_000_000_000 }
    assert.deepStrictEqual(streamError({ ...base, pedantic: true }), {
      code: 500,
      err_code: 10052,
      description: "subject delete marker cannot be set if message TTLs are disabled"
    })
    assert.deepStrictEqual(streamError({ ...base, allow_msg_ttl: true, pedantic: true }), {
      code: 500,
      err_code: 10052,
      description: "subject delete marker cannot be set if roll-ups are disabled"
    })
    assert.ok(stream({ ...base, allow_msg_ttl: true, allow_rollup_hdrs: true, pedantic: true }).ok)
    const adjusted = config(base)
    assert.ok(adjusted.allow_msg_ttl === true && adjusted.allow_rollup_hdrs)
  })
})
