/**
 * The 2.11 keys this broker honours, read strictly: `jetstream { max_buffered_msgs, max_buffered_size,
 * request_queue_limit }` and an account's `msg_trace` / `trace_dest` (nats-server opts.go
 * parseJetStream and parseAccountMsgTrace, with their error texts). Keys next to them that are not
 * built stay refused.
 */
import { assert, describe, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
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

describe("jetstream ingest and API queue limits", () => {
  it("are read into the config", () => {
    const r = ok("jetstream {\n  max_buffered_msgs: 50000\n  max_buffered_size: 256MiB\n  request_queue_limit: 100\n}")
    assert.deepStrictEqual(r.config, {
      jetstream: true,
      maxBufferedMsgs: 50_000,
      maxBufferedSize: 256 * 1024 * 1024,
      requestQueueLimit: 100
    })
    assert.deepStrictEqual(r.notes, [])
    assert.deepStrictEqual(r.warnings, [])
  })

  it("wrong types are refused", () => {
    assert.deepStrictEqual(errors("jetstream { max_buffered_msgs: \"many\" }"), [
      "/etc/b.conf:1:13: max_buffered_msgs: expected an integer, got a string (\"many\")"
    ])
    assert.deepStrictEqual(errors("jetstream { request_queue_limit: true }").length, 1)
    assert.strictEqual(errors("jetstream { max_buffered_size: [1] }").length, 1)
  })

  it("a key beside them that is not built is still refused", () => {
    assert.deepStrictEqual(errors("jetstream { info_queue_limit: 10 }"), [
      "/etc/b.conf:1:13: unknown field \"info_queue_limit\""
    ])
  })
})

const account = (trace: string) => `accounts {\n  A: {\n    users: [ { user: a, password: a } ]\n    ${trace}\n  }\n}`
const msgTraceOf = (text: string) => ok(text).config.accounts?.accounts.find((x) => x.name === "A")?.msgTrace

describe("account msg_trace", () => {
  it("a block with dest and sampling; a percentage string; a destination alone is 100%", () => {
    assert.deepStrictEqual(msgTraceOf(account("msg_trace: { dest: \"acc.trace\", sampling: 25 }")), {
      dest: "acc.trace",
      sampling: 25
    })
    assert.deepStrictEqual(msgTraceOf(account("msg_trace: { dest: \"t.x\", sampling: \"40%\" }")), {
      dest: "t.x",
      sampling: 40
    })
    assert.deepStrictEqual(msgTraceOf(account("trace_dest: \"t.y\"")), { dest: "t.y", sampling: 100 })
    assert.deepStrictEqual(msgTraceOf(account("msg_trace: { dest: \"t.z\" }")), { dest: "t.z", sampling: 100 })
    assert.strictEqual(msgTraceOf(account("")), undefined)
  })

  it("nats-server's errors: invalid destination, sampling out of range or not a number, unknown field", () => {
    const only = (text: string) => errors(account(text)).map((e) => e.replace(/^\/etc\/b\.conf:\d+:\d+: /, ""))
    assert.deepStrictEqual(only("msg_trace: { dest: \"t.*\" }"), ["Trace destination \"t.*\" is not valid"])
    assert.deepStrictEqual(only("msg_trace: { dest: \"t.a\", sampling: 0 }"), [
      "Ttrace destination sampling value 0 is invalid, needs to be [1..100]"
    ])
    assert.deepStrictEqual(only("msg_trace: { dest: \"t.a\", sampling: 101 }"), [
      "Ttrace destination sampling value 101 is invalid, needs to be [1..100]"
    ])
    assert.deepStrictEqual(only("msg_trace: { dest: \"t.a\", sampling: \"half\" }"), [
      "Invalid trace destination sampling value \"half\""
    ])
    assert.deepStrictEqual(only("msg_trace: { dest: \"t.a\", rate: 5 }"), [
      "Unknown field \"rate\" parsing account message trace map/struct \"msg_trace\""
    ])
    assert.deepStrictEqual(only("msg_trace: 5"), [
      "Expected account message trace \"msg_trace\" to be a string or a map/struct, got int64"
    ])
    assert.deepStrictEqual(only("msg_trace: { dest: 5 }"), ["Field \"dest\" should be a string, got int64"])
  })
})
