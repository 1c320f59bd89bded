/**
 * `allow_msg_ttl` and `subject_delete_marker_ttl` (2.11) in the stream config decoder and encoder, with
 * nats-server's current checkStreamCfg / update rules and texts (stream.go; 2.9.10 has neither field).
 */
import { assert, describe, it } from "vitest"
import { encodeJson } from "../../../src/jetstream/codec/Json.ts"
import { ApiErrors } from "../../../src/jetstream/model/ApiError.ts"
import { decodeStreamCreate, decodeStreamUpdate, type StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"
import { encodeStreamConfig } from "../../../src/jetstream/model/StreamConfigEncode.ts"

const create = (extra: Record<string, unknown>) => decodeStreamCreate(encodeJson({ name: "S", ...extra }), "S")
const config = (extra: Record<string, unknown>): StreamConfig => {
  const r = create(extra)
  if (!r.ok) throw new Error(r.error.description)
  return r.config
}
const SEC = 1_000_000_000

describe("per-message TTL config", () => {
  it("markers imply TTLs and roll-ups (not pedantic), and lift deny_purge", () => {
    const c = config({ subject_delete_marker_ttl: 5 * SEC, deny_purge: true })
    assert.deepStrictEqual(
      [c.allow_msg_ttl, c.subject_delete_marker_ttl, c.allow_rollup_hdrs, c.deny_purge],
      [true, 5 * SEC, true, false]
    )
    const plain = config({})
    assert.deepStrictEqual([plain.allow_msg_ttl, plain.subject_delete_marker_ttl], [undefined, undefined])
  })

  it("refuses short, negative and mirrored markers and rollups without purge", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ subject_delete_marker_ttl: SEC - 1 }, "subject delete marker TTL must be at least 1 second"],
      [{ subject_delete_marker_ttl: -1 }, "subject delete marker TTL must not be negative"],
      [
        { subject_delete_marker_ttl: SEC, allow_rollup_hdrs: true, deny_purge: true },
        "roll-ups require the purge permission"
      ],
      [{ mirror: { name: "O" }, subject_delete_marker_ttl: SEC }, "subject delete markers forbidden on mirrors"]
    ]
    for (const [extra, text] of cases) {
      assert.deepStrictEqual(create(extra), { ok: false, error: ApiErrors.streamInvalidConfig(text) }, text)
    }
    // Wrong types are Go's invalid JSON.
    for (const extra of [{ allow_msg_ttl: 1 }, { subject_delete_marker_ttl: "1s" }]) {
      assert.deepStrictEqual(create(extra), { ok: false, error: ApiErrors.invalidJSON() })
    }
  })

  it("an update may turn allow_msg_ttl on, never off", () => {
    const off = config({})
    const on = decodeStreamUpdate(encodeJson({ ...encodeStreamConfig(off, false), allow_msg_ttl: true }), "S", off)
    assert.isTrue(on.ok && on.config.allow_msg_ttl === true)
    const current = config({ allow_msg_ttl: true })
    assert.deepStrictEqual(decodeStreamUpdate(encodeJson({ name: "S" }), "S", current), {
      ok: false,
      error: ApiErrors.streamInvalidConfig("message TTL status can not be disabled")
    })
  })

  it("writes allow_msg_ttl always at the 2.11 level, when set before it; subject_delete_marker_ttl when set", () => {
    const plain = config({})
    const tail = (c: StreamConfig, at211: boolean) =>
      encodeJson(encodeStreamConfig(c, true, at211)).split("\"consumer_limits\":{}")[1]
    assert.strictEqual(tail(plain, false), "}")
    assert.strictEqual(tail(plain, true), ",\"allow_msg_ttl\":false}")
    const marked = config({ subject_delete_marker_ttl: 60 * SEC })
    assert.strictEqual(tail(marked, false), ",\"allow_msg_ttl\":true,\"subject_delete_marker_ttl\":60000000000}")
  })
})
