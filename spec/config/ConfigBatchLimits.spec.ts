/**
 * `jetstream { limits { batch { max_inflight_per_stream, max_inflight_total, max_msgs, timeout } } }`
 * (nats-server 2.12 opts.go parseJetStreamLimitsBatch) read strictly; the other `limits` keys are
 * accepted with a warning (not enforced here), unknown ones refused.
 */
import { assert, describe, it } from "vitest"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { planReload } from "../../src/config/ReloadPlan.ts"
import { configChecks } from "../support/ConfigText.ts"

const load = (text: string) =>
  ConfigFile.load("/etc/b.conf", {
    readFile: (f: string) => {
      if (f !== "/etc/b.conf") throw new Error(`ENOENT: no such file '${f}'`)
      return text
    },
    env: {}
  })
const { ok, errors } = configChecks(load)
const batch = (body: string) => `jetstream {\n  limits {\n    batch {\n      ${body}\n    }\n  }\n}`

describe("jetstream.limits.batch", () => {
  it("is read into batchLimits (keys in any case; unset ones 0 = nats-server's default)", () => {
    const r = ok(
      batch("max_inflight_per_stream: 3\n      MAX_INFLIGHT_TOTAL: 7\n      max_msgs: 20\n      timeout: \"1.5s\"")
    )
    assert.deepStrictEqual(r.config, {
      jetstream: true,
      batchLimits: { maxInflightPerStream: 3, maxInflightTotal: 7, maxMsgs: 20, timeoutMs: 1500 }
    })
    assert.deepStrictEqual(r.warnings, [])
    assert.deepStrictEqual(ok(batch("max_msgs: 5")).config.batchLimits, {
      maxInflightPerStream: 0,
      maxInflightTotal: 0,
      maxMsgs: 5,
      timeoutMs: 0
    })
  })

  it("wrong types, negative values and bad durations are refused at load", () => {
    assert.deepStrictEqual(errors(batch("max_msgs: \"many\"")), [
      "/etc/b.conf:4:7: jetstream.limits.batch.max_msgs: expected an integer, got a string (\"many\")"
    ])
    assert.deepStrictEqual(errors(batch("max_inflight_total: -1")), [
      "/etc/b.conf:4:7: jetstream.limits.batch.max_inflight_total: must be 0 (nats-server's default) or a positive integer, got -1"
    ])
    // nats-server reads the timeout as a duration string only.
    assert.deepStrictEqual(errors(batch("timeout: 10")), [
      "/etc/b.conf:4:7: jetstream.limits.batch.timeout: expected a duration such as \"10s\", got an integer"
    ])
    assert.deepStrictEqual(errors(batch("timeout: \"soon\"")), [
      "/etc/b.conf:4:7: jetstream.limits.batch.timeout: invalid duration \"soon\""
    ])
    assert.deepStrictEqual(errors(batch("timeout: \"-1s\"")), [
      "/etc/b.conf:4:7: jetstream.limits.batch.timeout: must not be negative, got \"-1s\""
    ])
    assert.deepStrictEqual(errors(batch("max_size: 3")), ["/etc/b.conf:4:7: unknown field \"max_size\""])
    assert.deepStrictEqual(errors("jetstream { limits { batch: 3 } }"), [
      "/etc/b.conf:1:22: Expected a map to define batch limits, got an integer"
    ])
    assert.deepStrictEqual(errors("jetstream { limits: true }"), [
      "/etc/b.conf:1:13: Expected a map to define JetStreamLimits, got a Bool"
    ])
  })

  it("the other limits are accepted with a warning; unknown ones are refused", () => {
    const r = ok("jetstream { limits { max_ack_pending: 100, duplicate_window: \"1m\" } }")
    assert.deepStrictEqual(r.config, { jetstream: true })
    assert.deepStrictEqual(r.warnings.map(ConfigFile.renderIssue), [
      "/etc/b.conf:1:22: jetstream.limits.max_ack_pending is not supported yet and is ignored",
      "/etc/b.conf:1:44: jetstream.limits.duplicate_window is not supported yet and is ignored"
    ])
    assert.deepStrictEqual(errors("jetstream { limits { max_streams: 1 } }"), [
      "/etc/b.conf:1:22: unknown field \"max_streams\""
    ])
  })

  it("a reload that changes them is refused (nats-server: not reloadable)", () => {
    const before = BrokerConfig.make({ jetstream: true })
    const after = BrokerConfig.make({
      jetstream: true,
      batchLimits: { maxInflightPerStream: 0, maxInflightTotal: 0, maxMsgs: 5, timeoutMs: 0 }
    })
    const plan = planReload(before, after)
    assert.strictEqual(plan.ok, false)
    assert.strictEqual((plan as { error: string }).error, "config reload not supported for JetStreamLimits")
  })
})
