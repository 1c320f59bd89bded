/**
 * Operator-mode configuration keys: our loader against `nats-server -c file -t` (same message at
 * the same position) for each broken key, and against nats-server's start-up error for the
 * checks it only makes when starting (validateTrustedOperators; we make them at load, so our
 * `-t` reports them too). Deliberate differences are asserted on their own: URL and directory
 * resolvers and claims we have not built are refused.
 */
import { createAccount, encodeUser, type KeyPair } from "@nats-io/jwt"
import { createUser } from "@nats-io/nkeys"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../../src/config/ConfigFile.ts"
import { natsServerPath } from "../../support/Broker.ts"
import { makeAccount, makeOperator, type Operator, operatorConf, type TestAccount, tmpDir } from "./JwtFixtures.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("JWT config differential skipped: nats-server is not on PATH")

/** nats-server's first line of output for `args` (`-t` check, or a start that fails). */
const natsSays = (args: ReadonlyArray<string>) =>
  new Promise<string>((resolve) => {
    const child = execFile(natsServer!, [...args], { timeout: 5_000 }, (_err, stdout, stderr) =>
      resolve((stdout + stderr).trim().split("\n")[0]!.replace(/^nats-server: /, "")))
    child.stdin?.end()
  })

const ours = (file: string): string => {
  const r = ConfigFile.load(file)
  return r._tag === "Success" ? `configuration file ${file} is valid` : r.errors.map(ConfigFile.renderIssue).join("\n")
}

let dir: string
let op: Operator
let acc: TestAccount
let userJwt: string
beforeAll(async () => {
  dir = tmpDir()
  op = await makeOperator()
  acc = await makeAccount(op.kp)
  userJwt = await encodeUser("U", createUser() as unknown as KeyPair, acc.kp)
})

let n = 0
const write = (text: string) => {
  const file = path.join(dir, `c${n++}.conf`)
  fs.writeFileSync(file, `port: -1\n${text}\n`)
  return file
}

describe("operator keys under -t", () => {
  it.skipIf(natsServer === undefined)("reports what nats-server -t reports", async () => {
    const opFile = path.join(dir, "op.jwt")
    fs.writeFileSync(opFile, op.jwt)
    // nsc writes operator JWTs armoured like a .creds file.
    const decorated = path.join(dir, "op-decorated.jwt")
    fs.writeFileSync(decorated, `-----BEGIN NATS OPERATOR JWT-----\n${op.jwt}\n------END NATS OPERATOR JWT------\n`)
    const tampered = op.jwt.slice(0, -4) + (op.jwt.endsWith("AAAA") ? "BBBB" : "AAAA")
    const samples = [
      operatorConf(dir, op, [acc]),
      `operator: "${decorated}"\nresolver: MEMORY\nresolver_preload: { ${acc.key}: ${acc.jwt} }`,
      `operator: "${dir}"\nresolver: MEMORY`,
      `operator: ${op.jwt}\nresolver: MEMORY\nresolver_preload: { ${acc.key}: ${acc.jwt} }`,
      `operator: "${opFile}"\nresolver: mem`,
      `operator: "${opFile}"\nresolver: MEMORY\nsystem_account: ${acc.key}\nresolver_preload: { ${acc.key}: ${acc.jwt} }`,
      "operator: /nope/op.jwt\nresolver: MEMORY",
      `operator: ${acc.jwt}\nresolver: MEMORY`,
      `operator: ${tampered}\nresolver: MEMORY`,
      "operator: eyJabc\nresolver: MEMORY",
      "operator: 42\nresolver: MEMORY",
      `operator: ["${opFile}"]\nresolver: MEMORY`,
      `operator: "${opFile}"\nresolver: BOGUS`,
      `operator: "${opFile}"\nresolver: 42`,
      `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: 5`,
      `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: {\n  ${acc.key}: 5\n}`,
      `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: {\n  ${acc.key}: garbage\n}`,
      `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: {\n  ${acc.key}: ${userJwt}\n}`,
      "trusted: garbage\nresolver: MEMORY",
      `trusted: ["${op.kp.getPublicKey()}", 1 ]\nresolver: MEMORY`,
      "trusted: true\nresolver: MEMORY",
      `trusted: ["${op.kp.getPublicKey()}"]\nresolver: MEMORY\nresolver_preload: { ${acc.key}: ${acc.jwt} }`,
      `operator: "${opFile}"\nresolver: MEMORY\nsystem_account: 5`
    ]
    for (const text of samples) {
      const file = write(text)
      expect(ours(file), text).toBe(await natsSays(["-c", file, "-t"]))
    }
  })

  it.skipIf(natsServer === undefined)("reports nats-server's start-up errors of operator mode", async () => {
    const opFile = path.join(dir, "op2.jwt")
    fs.writeFileSync(opFile, op.jwt)
    const foreign = await makeAccount((await makeOperator()).kp)
    const samples = [
      `operator: "${opFile}"\nresolver: MEMORY\nauthorization { users: [ { user: a, password: b } ] }`,
      `operator: "${opFile}"\nresolver: MEMORY\ntrusted: ${op.kp.getPublicKey()}`,
      `operator: "${opFile}"\nresolver: MEMORY\nno_auth_user: ann`,
      `operator: "${opFile}"\nresolver: MEMORY\nsystem_account: ${acc.key}`,
      `operator: "${opFile}"\nresolver: MEMORY\nsystem_account: SYS`,
      `operator: "${opFile}"\nresolver: MEMORY\nsystem_account: ${foreign.key}\nresolver_preload: { ${foreign.key}: ${foreign.jwt} }`
    ]
    for (const text of samples) {
      const file = write(text)
      const mine = ours(file)
      const theirs = await natsSays(["-c", file, "-a", "127.0.0.1", "-p", "-1"])
      // nats-server names no position for these; we name the operator key's.
      expect(mine.replace(/^[^:]+:\d+:\d+: /, ""), text).toBe(theirs)
    }
  })
})

describe("operator settings", () => {
  it("reads the operator, trusted keys, accounts and system account", async () => {
    const sk = createAccount()
    const a = await makeAccount(op.kp, {
      signing_keys: [sk.getPublicKey()],
      limits: {
        conn: 7,
        mem_storage: 1024,
        disk_storage: 2048,
        streams: 3,
        consumer: 4,
        max_ack_pending: 0,
        mem_max_stream_bytes: 512,
        disk_max_stream_bytes: 0
      },
      exports: [
        { name: "s", subject: "events.>", type: "stream" },
        { name: "q", subject: "help", type: "service", response_type: "Stream", response_threshold: 5e9 }
      ],
      imports: [
        { name: "i", subject: "other.events", account: acc.key, type: "stream", to: "pre" },
        { name: "j", subject: "other.svc", account: acc.key, type: "service", local_subject: "svc" },
        // The deprecated `to` of a service import names the exporter's subject (nats-server).
        { name: "k", subject: "ask", account: acc.key, type: "service", to: "other.ask" },
        { name: "l", subject: "plain.svc", account: acc.key, type: "service" }
      ],
      default_permissions: { sub: { allow: ["x.>"] } },
      revocations: { UREVOKED: 100 }
    })
    const file = write(operatorConf(dir, op, [a, acc], `system_account: ${acc.key}`))
    const r = ConfigFile.load(file)
    if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
    const operator = r.config.auth?.operator
    expect(operator?.trustedKeys).toEqual([op.kp.getPublicKey()])
    expect(operator?.systemAccount).toBe(acc.key)
    expect([...(operator?.accounts.keys() ?? [])]).toEqual([a.key, acc.key])
    expect(r.config.accounts?.systemAccount).toBe(acc.key)
    const settings = r.config.accounts?.accounts.find((x) => x.name === a.key)
    expect(settings).toEqual({
      name: a.key,
      users: [],
      nkeys: [],
      jetstream: {
        maxMemory: 1024,
        maxStore: 2048,
        maxStreams: 3,
        maxConsumers: 4,
        maxAckPending: -1,
        memoryMaxStreamBytes: 512,
        storeMaxStreamBytes: -1,
        maxBytesRequired: false
      },
      exports: {
        streams: [{ subject: "events.>", accounts: undefined }],
        services: [{ subject: "help", accounts: undefined, responseType: "Stream", responseThresholdMs: 5000 }]
      },
      imports: {
        streams: [{ account: acc.key, subject: "other.events", prefix: "pre", to: undefined }],
        services: [
          { account: acc.key, subject: "other.svc", to: "svc" },
          { account: acc.key, subject: "other.ask", to: "ask" },
          { account: acc.key, subject: "plain.svc", to: undefined }
        ]
      },
      defaultPermissions: { publish: undefined, subscribe: { allow: ["x.>"], deny: undefined } },
      revocations: new Map([["UREVOKED", 100]]),
      maxConnections: 7
    })
    // No JetStream limits: JetStream is off for the account (nats-server IsJSEnabled).
    expect(r.config.accounts?.accounts.find((x) => x.name === acc.key)?.jetstream).toBeUndefined()
  })

  it("takes the system account from the operator JWT and defaults to $SYS", async () => {
    const sysKp = createAccount()
    const withSys = await makeOperator({ system_account: sysKp.getPublicKey() })
    const file = write(operatorConf(dir, withSys, [await makeAccount(withSys.kp, {}, { kp: sysKp })]))
    const r = ConfigFile.load(file)
    expect(r._tag === "Success" ? r.config.accounts?.systemAccount : r.errors).toBe(sysKp.getPublicKey())
    const plain = ConfigFile.load(write(operatorConf(dir, op, [acc])))
    expect(plain._tag === "Success" ? plain.config.accounts?.systemAccount : plain.errors).toBe("$SYS")
  })

  it("leaves accounts no trusted key signed out of the account settings", async () => {
    const other = await makeOperator()
    const foreign = await makeAccount(other.kp)
    const r = ConfigFile.load(write(operatorConf(dir, op, [acc, foreign])))
    expect(r._tag === "Success" ? r.config.accounts?.accounts.map((x) => x.name) : r.errors).toEqual([acc.key])
  })

  const refusedCases: ReadonlyArray<[string, (o: Operator) => Promise<string>, RegExp]> = [
    [
      "a URL resolver",
      async (o) => `operator: ${o.jwt}\nresolver: URL(http://127.0.0.1:9/accounts)`,
      /URL account resolver is not supported yet/
    ],
    [
      "a directory resolver",
      async (o) => `operator: ${o.jwt}\nresolver: { type: full, dir: "/tmp" }`,
      /full\/cache directory\) are not supported yet/
    ],
    ["an account_server_url without a resolver", async () => {
      const u = await makeOperator({ account_server_url: "http://127.0.0.1:9" })
      return `operator: ${u.jwt}`
    }, /URL resolver, which is not supported yet/],
    [
      "token_req exports",
      async (o) =>
        operatorConf(dir, o, [
          await makeAccount(o.kp, { exports: [{ name: "x", subject: "x", type: "stream", token_req: true }] })
        ]),
      /token_req \(activation tokens\) is not supported yet/
    ],
    [
      "subscription limits",
      async (o) => operatorConf(dir, o, [await makeAccount(o.kp, { limits: { subs: 10 } })]),
      /limits.subs 10/
    ],
    [
      "subject mappings",
      async (o) =>
        operatorConf(dir, o, [await makeAccount(o.kp, { mappings: { a: [{ subject: "b", weight: 100 }] } } as never)]),
      /subject mappings are not supported yet/
    ],
    [
      "local_subject wildcard references",
      async (o) =>
        operatorConf(dir, o, [
          await makeAccount(o.kp, {
            imports: [{ name: "i", subject: "a.*", account: acc.key, type: "stream", local_subject: "b.$1" }]
          })
        ]),
      /local_subject wildcard references \(\$1\) are not supported yet/
    ],
    [
      "pinned accounts",
      async (o) => `operator: ${o.jwt}\nresolver: MEMORY\nresolver_pinned_accounts: [${acc.key}]`,
      /pinned accounts are not supported yet/
    ],
    // nats-server makes a URL resolver of the operator's empty account_server_url and fails to fetch.
    [
      "an operator without a resolver",
      async (o) => `operator: ${o.jwt}`,
      /operators require an account resolver to be configured/
    ],
    [
      "trusted keys without a resolver",
      async (o) => `trusted: ${o.kp.getPublicKey()}`,
      /trusted keys require an account resolver/
    ]
  ]
  for (const [name, text, message] of refusedCases) {
    it(`refuses ${name} with a clear error`, async () => {
      const o = await makeOperator()
      const r = ConfigFile.load(write(await text(o)))
      expect(r._tag).toBe("Failure")
      expect(r._tag === "Failure" ? r.errors.map(ConfigFile.renderIssue).join("\n") : "").toMatch(message)
    })
  }
})
