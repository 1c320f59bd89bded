/**
 * The `accounts {}` block read into AccountsSettings, its errors with nats-server's texts, and
 * (when nats-server is on PATH) the same files checked by `nats-server -t`: both accept the same
 * files, and for a refused one nats-server's output contains our message.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { UNLIMITED } from "../../src/accounts/AccountSettings.ts"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { planReload } from "../../src/config/ReloadPlan.ts"
import { natsServerPath } from "../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("accounts config differential skipped: nats-server is not on PATH")

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acc-cfg-"))
let n = 0
const write = (text: string) => {
  const file = path.join(dir, `c${n++}.conf`)
  fs.writeFileSync(file, text)
  return file
}
const load = (text: string) => ConfigFile.load(write(text))
const messages = (text: string): Array<string> => {
  const r = load(text)
  return r._tag === "Failure" ? r.errors.map((e) => e.message) : []
}

describe("accounts block", () => {
  it("reads users, JetStream limits, exports and imports", () => {
    const r = load(`
      jetstream: enabled
      accounts {
        A: {
          users: [ { user: a, password: pa }, { user: a2, password: pa2, permissions: { publish: "x" } } ]
          default_permissions: { subscribe: "y" }
          jetstream: { max_mem: 1M, max_file: 2048, max_streams: 3, max_consumers: 4, max_bytes_required: true }
          exports: [ { stream: "s.>", accounts: [B] }, { service: "q.*", response: chunked, threshold: "5s" } ]
        }
        B: {
          users: [ { user: b, password: pb } ]
          jetstream: enabled
          imports: [
            { stream: { account: A, subject: "s.>" }, prefix: p }
            { service: { account: A, subject: "q.one" }, to: "ask" }
          ]
        }
        C: { jetstream: disabled }
      }
    `)
    if (r._tag === "Failure") assert.fail(r.errors.map(ConfigFile.renderIssue).join("\n"))
    const accounts = r.config.accounts!.accounts
    assert.deepStrictEqual(accounts.map((a) => a.name), ["A", "B", "C"])
    const [a, b, c] = accounts as [typeof accounts[0], typeof accounts[0], typeof accounts[0]]
    assert.deepStrictEqual(a.jetstream, {
      ...UNLIMITED,
      maxMemory: 1_000_000,
      maxStore: 2048,
      maxStreams: 3,
      maxConsumers: 4,
      maxBytesRequired: true
    })
    assert.deepStrictEqual(b.jetstream, UNLIMITED)
    assert.strictEqual(c.jetstream, undefined)
    assert.deepStrictEqual(a.exports.streams, [{ subject: "s.>", accounts: ["B"] }])
    assert.deepStrictEqual(a.exports.services, [
      { subject: "q.*", accounts: undefined, responseType: "Chunked", responseThresholdMs: 5000 }
    ])
    assert.deepStrictEqual(b.imports.streams, [{ account: "A", subject: "s.>", prefix: "p", to: undefined }])
    assert.deepStrictEqual(b.imports.services, [{ account: "A", subject: "q.one", to: "ask" }])
    // Account users are the server's users, tagged with their account; defaults fill missing permissions.
    const users = r.config.auth!.users
    assert.deepStrictEqual(users.map((u) => [u.user, u.account]), [["a", "A"], ["a2", "A"], ["b", "B"]])
    assert.deepStrictEqual(users[0]!.permissions?.subscribe, { allow: ["y"] })
    assert.deepStrictEqual(users[1]!.permissions?.publish, { allow: ["x"] })
  })

  it("accounts without users leave the server open, as nats-server", () => {
    const r = load("accounts { A: {}, B: {} }")
    if (r._tag === "Failure") assert.fail(r.errors.map(ConfigFile.renderIssue).join("\n"))
    assert.strictEqual(r.config.auth, undefined)
    assert.deepStrictEqual(r.config.accounts!.accounts.map((a) => a.name), ["A", "B"])
  })
})

/** Config text → the message nats-server gives (found in its `-t` output too). */
const refused: Array<readonly [string, string]> = [
  [
    "accounts { B: { imports: [ {stream: {account: C, subject: foo}} ] } }",
    "\"C\" account not defined for stream import"
  ],
  [
    "accounts { B: { imports: [ {service: {account: C, subject: foo}} ] } }",
    "\"C\" account not defined for service import"
  ],
  [
    "accounts { A: {}, B: { imports: [ {stream: {account: A, subject: foo}} ] } }",
    "Error adding stream import \"foo\": stream import not authorized"
  ],
  [
    "accounts { A: { exports: [ {stream: bar} ] }, B: { imports: [ {stream: {account: A, subject: foo}} ] } }",
    "Error adding stream import \"foo\": stream import not authorized"
  ],
  [
    "accounts { A: { exports: [ {stream: \"foo.>\", accounts: [C]} ] }, B: { imports: [ {stream: {account: A, subject: foo.x}} ] }, C: {} }",
    "Error adding stream import \"foo.x\": stream import not authorized"
  ],
  [
    "accounts { A: { exports: [ {service: foo, accounts: [B]} ] }, B: {}, C: { imports: [ {service: {account: A, subject: foo}} ] } }",
    "Error adding service import \"foo\": service import not authorized"
  ],
  [
    "accounts { A: { exports: [ {stream: foo} ] }, B: { imports: [ {stream: {account: A, subject: foo}, prefix: \"x.*\"} ] } }",
    "Error adding stream import \"foo\": stream import prefix can not contain wildcard tokens"
  ],
  [
    "accounts { A: { exports: [ {stream: foo} ] }, B: { imports: [ {stream: {account: A, subject: foo}}, {stream: {account: A, subject: foo}} ] } }",
    "Error adding stream import \"foo\": stream import already exists"
  ],
  ["accounts { A: { exports: [ {service: foo, accounts: [C]} ] } }", "\"C\" account not defined for service export"],
  ["accounts { A: { exports: [ {stream: foo, accounts: [C]} ] } }", "\"C\" account not defined for stream export"],
  ["accounts { A: { users: [{user: a}] }, B: { users: [{user: a}] } }", "Duplicate user \"a\" detected"],
  ["accounts { A: { users: [{user: a}] } }\nauthorization { users: [{user: a}] }", "Duplicate user \"a\" detected"],
  ["accounts { \"$G\": {} }", "\"$G\" is a Reserved Account"],
  ["accounts { A: 1 }", "Expected map entries for accounts"],
  ["accounts { A: { foo: 1 } }", "unknown field \"foo\""],
  ["accounts { A: { jetstream: maybe } }", "Expected 'enabled' or 'disabled' for string value, got 'maybe'"],
  ["accounts { A: { jetstream: { max_streams: \"x\" } } }", "Expected a parseable size for \"max_streams\", got x"],
  ["accounts { A: { jetstream: { max_bytes: 1 } } }", "Expected a parseable bool for \"max_bytes\", got 1"],
  ["accounts { A: { jetstream: { widgets: 1 } } }", "unknown field \"widgets\""],
  ["accounts { A: { exports: [ {service: foo, response: lots} ] } }", "Unknown response type: \"lots\""],
  ["accounts { A: { exports: [ {stream: foo, response: stream} ] } }", "Detected response directive on non-service"],
  [
    "accounts { A: { exports: [ {service: foo, threshold: \"soon\"} ] } }",
    "Expected response threshold to be a parseable time duration, got \"soon\""
  ],
  ["accounts { A: { exports: { stream: foo } } }", "Exports should be an array, got map[string]interface {}"],
  ["accounts { A: { imports: [ {stream: {account: A}} ] } }", "Expect an account name and a subject"],
  [
    "accounts { A: { exports: [ {service: foo}, {service: bar} ] }, B: { imports: [ {service: {account: A, subject: foo}, to: x}, {service: {account: A, subject: bar}, to: x} ] } }",
    "Duplicate service import subject \"x\", previously used in import for account \"A\", subject \"foo\""
  ],
  [
    "accounts { A: { exports: [ {service: \"a.*\"} ] }, B: { imports: [ {service: {account: A, subject: \"a.*\"}, to: b} ] } }",
    "Error adding service import \"a.*\": failed to create mapping transform for service import subject \"b\" to \"a.*\": invalid mapping destination: not using all of the token wildcard(s) in b"
  ]
]

const cycles: ReadonlyArray<readonly [string, string]> = [
  [
    "accounts { A: { exports: [{stream: x}], imports: [{stream: {account: B, subject: x}}] }, B: { exports: [{stream: x}], imports: [{stream: {account: A, subject: x}}] } }",
    "Error adding stream import \"x\": import forms a cycle"
  ],
  [
    "accounts { A: { exports: [{service: x}], imports: [{service: {account: B, subject: x}}] }, B: { exports: [{service: x}], imports: [{service: {account: A, subject: x}}] } }",
    "Error adding service import \"x\": import forms a cycle"
  ]
]
refused.push(...cycles)

// One subject exported twice is one export: any account list restricts it, lists add up.
refused.push(
  [
    "accounts { A: { exports: [{stream: x}, {stream: x, accounts: [C]}] }, B: { imports: [{stream: {account: A, subject: x}}] }, C: {} }",
    "Error adding stream import \"x\": stream import not authorized"
  ],
  [
    "accounts { A: { exports: [{stream: x, accounts: [C]}, {stream: x}] }, B: { imports: [{stream: {account: A, subject: x}}] }, C: {} }",
    "Error adding stream import \"x\": stream import not authorized"
  ],
  [
    "accounts { A: { exports: [{service: x}, {service: x, accounts: [C]}] }, B: { imports: [{service: {account: A, subject: x}}] }, C: {} }",
    "Error adding service import \"x\": service import not authorized"
  ]
)

/** Accepted by both. */
const accepted: ReadonlyArray<string> = [
  "accounts { A: { exports: [{stream: x, accounts: [C]}, {stream: x, accounts: [B]}] }, B: { imports: [{stream: {account: A, subject: x}}] }, C: {} }",
  // The prefix takes the imported subject out of the exporter's reach: no cycle.
  "accounts { A: { exports: [{stream: x}], imports: [{stream: {account: B, subject: x}, prefix: p}] }, B: { exports: [{stream: x}], imports: [{stream: {account: A, subject: x}}] } }",
  "accounts { A: {}, B: {} }",
  "accounts [A, B]",
  "accounts { A: { jetstream: enabled } }\njetstream: enabled",
  "accounts { A: { jetstream: { max_mem: 1G, max_file: 10G, max_streams: 10, max_consumers: 100, max_ack_pending: 5 } } }",
  "accounts { A: { exports: [ {stream: \"foo.*\"} ] }, B: { imports: [ {stream: {account: A, subject: \"foo.*\"}, to: \"bar.*\"} ] } }",
  "accounts { A: { exports: [ {service: \"foo.>\"} ] }, B: { imports: [ {service: {account: A, subject: \"foo.x\"}, to: bar} ] } }",
  "accounts { A: { exports: [ {service: foo, response: singleton}, {service: bar, response_type: stream, response_threshold: \"10s\"} ] } }",
  "accounts { A: { users: [ {user: a, password: b} ], default_permissions: { publish: \"x.>\" } } }\nno_auth_user: a"
]

/** Not built: refused with a clear error (nats-server accepts them). */
const notBuilt: ReadonlyArray<readonly [string, RegExp]> = [
  ["accounts { A: { mappings: { a: b } } }", /subject mappings are not supported yet/],
  ["accounts { A: { limits: { max_connections: 1 } } }", /account limits are not supported yet/],
  ["accounts { A: { exports: [ {service: foo, latency: lat.foo} ] } }", /service latency tracking is not supported yet/]
]

describe("accounts errors", () => {
  it("refuses bad blocks with nats-server's texts", () => {
    for (const [text, message] of refused) assert.include(messages(text), message, text)
  })
  it("refuses account users beside a token (nats-server: one of two texts, by Go map order)", () => {
    assert.include(
      messages("accounts { A: { users: [{user: a}] } }\nauthorization { token: t }"),
      "Can not have a token and a users array"
    )
  })
  it("refuses an import with both prefix and to (nats-server only when it reads `to` last: Go map order)", () => {
    assert.include(
      messages(
        "accounts { A: { exports: [ {stream: foo} ] }, B: { imports: [ {stream: {account: A, subject: foo}, prefix: p, to: q} ] } }"
      ),
      "Stream import can not have a 'prefix' and a 'to' property"
    )
  })
  it("accepts the valid ones", () => {
    for (const text of accepted) assert.deepStrictEqual(messages(text), [], text)
  })
  it("refuses what is not built", () => {
    for (const [text, message] of notBuilt) {
      const got = messages(text)
      assert.strictEqual(got.length, 1, text)
      assert.match(got[0]!, message)
    }
  })
})

const natsCheck = (file: string) =>
  new Promise<{ ok: boolean; output: string }>((resolve) => {
    execFile(natsServer!, ["-c", file, "-t"], { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ ok: err === null, output: stdout + stderr }))
  })

describe.skipIf(natsServer === undefined)("accounts config: ours vs nats-server -t", () => {
  it("agrees on every sample, with the same message", async () => {
    const checks = await Promise.all([
      ...refused.map(async ([text, message]) => ({ text, message, nats: await natsCheck(write(text)) })),
      ...accepted.map(async (text) => ({ text, message: undefined, nats: await natsCheck(write(text)) }))
    ])
    for (const c of checks) {
      if (c.message === undefined) assert.isTrue(c.nats.ok, `nats-server refused ${c.text}: ${c.nats.output}`)
      else {
        assert.isFalse(c.nats.ok, `nats-server accepted ${c.text}`)
        assert.include(c.nats.output, c.message, c.text)
      }
    }
  })
})

describe("accounts and configuration reload", () => {
  const config = (text: string) => {
    const r = load(text)
    if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
    return BrokerConfig.make(r.config)
  }
  const accounts = "accounts { A: { users: [ { user: a, password: a } ], exports: [ { stream: x } ] } }\n"
  it("an unchanged accounts block lets the rest (authorization) reload", () => {
    const plan = planReload(
      config(accounts + "authorization { users: [ { user: g, password: g } ] }"),
      config(accounts + "authorization { users: [ { user: g, password: g2 } ] }")
    )
    assert.deepStrictEqual(plan, { ok: true, notices: ["Reloaded: authorization users"], authChanged: true })
  })
  it("a changed accounts block is refused (account reload is not built) and nothing changes", () => {
    const plan = planReload(config(accounts), config(accounts.replace("stream: x", "stream: y")))
    assert.strictEqual(plan.ok, false)
    if (!plan.ok) assert.match(plan.error, /^config reload not supported for /)
  })
})
