/**
 * Which account is the system account, as nats-server 2.9.10 decides it: `system_account` (it
 * must be configured, and may not have JetStream), else an account named `$SYS`, else a created
 * `$SYS`; none with `no_system_account`. A config whose only account is the system account keeps
 * credential-less clients in `$G`. /accountz names it in `system_account`. Runs against
 * nats-server too when it is on PATH.
 */
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { startBrokerWithConf, startNatsWithConf, writeConf } from "../auth/AuthServers.ts"
import { natsServerPath } from "../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("system account config differential skipped: nats-server is not on PATH")

const errors = (text: string) => {
  const r = ConfigFile.load(writeConf(text))
  return r._tag === "Failure" ? r.errors.map((e) => e.message) : []
}
const accountsOf = (text: string) => {
  const r = ConfigFile.load(writeConf(text))
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  return r.config.accounts
}

const accountz = async (port: number) => {
  const res = await fetch(`http://127.0.0.1:${port}/accountz`)
  const body = (await res.json()) as { system_account?: string; accounts: Array<string> }
  return { system_account: body.system_account, accounts: [...body.accounts].sort() }
}

describe("system account configuration", () => {
  it("refuses a system_account that names no configured account, and JetStream on it", () => {
    expect(errors("system_account: NOPE\n")).toEqual(["error resolving system account: account missing"])
    expect(errors("accounts { S: { jetstream: enabled } }\nsystem_account: S\n")).toEqual([
      "Not allowed to enable JetStream on the system account"
    ])
    expect(errors("system_account: 5\n")).toEqual(["system account name must be a string"])
  })

  it("takes system_account, then an account named $SYS, then the default; none with no_system_account", () => {
    expect(accountsOf("accounts { S: {} }\nsystem_account: S\n")?.systemAccount).toBe("S")
    expect(accountsOf("accounts { A: {} }\n")?.systemAccount).toBe("$SYS")
    expect(accountsOf("system_account: \"$SYS\"\n")?.systemAccount).toBe("$SYS")
    expect(accountsOf("no_system_account: true\n")?.systemAccount).toBeUndefined()
    // Nothing about accounts: the default (config.accounts undefined means $G and a created $SYS).
    expect(accountsOf("port: 4222\n")).toBeUndefined()
  })

  it("/accountz names the system account, as nats-server", async () => {
    const cases = [
      ["port: -1\n", { system_account: "$SYS", accounts: ["$G", "$SYS"] }],
      ["accounts { S: {}, A: {} }\nsystem_account: S\n", { system_account: "S", accounts: ["$G", "A", "S"] }],
      ["no_system_account: true\n", { system_account: undefined, accounts: ["$G"] }]
    ] as const
    for (const [text, expected] of cases) {
      const conf = `${text}http_port: -1\n`
      const ours = await startBrokerWithConf(conf)
      try {
        expect([text, await accountz(ours.monitorPort!)]).toEqual([text, expected])
      } finally {
        await ours.stop()
      }
      if (natsServer !== undefined) {
        const theirs = await startNatsWithConf(conf)
        try {
          expect([text, await accountz(theirs.monitorPort!)]).toEqual([text, expected])
        } finally {
          await theirs.stop()
        }
      }
    }
  })

  it("with the system account as the only account, clients without credentials still land in $G", async () => {
    const conf = "accounts { SYS: { users: [ { user: sys, password: sys } ] } }\nsystem_account: SYS\n"
    const run = async (url: string) => {
      const anon = await connect({ servers: url, reconnect: false })
      const sys = await connect({ servers: url, reconnect: false, user: "sys", pass: "sys" })
      try {
        const ping = JSON.parse(new TextDecoder().decode((await sys.request("$SYS.REQ.SERVER.PING")).data))
        // The anonymous client is in $G: it does not see the system account's services.
        const anonPing = await anon.request("$SYS.REQ.SERVER.PING", new Uint8Array(), { timeout: 1_000 }).then(
          () => "answered",
          (e: Error) => e.message
        )
        const bad = await connect({ servers: url, reconnect: false, user: "sys", pass: "wrong" }).then(
          async (nc) => (await nc.close(), "connected"),
          (e: Error) => e.message
        )
        return { connections: ping.statsz.connections, anonPing, bad }
      } finally {
        await anon.close()
        await sys.close()
      }
    }
    const ours = await startBrokerWithConf(conf)
    try {
      expect(await run(ours.url)).toEqual({
        connections: 2,
        anonPing: "no responders: '$SYS.REQ.SERVER.PING'",
        bad: "Authorization Violation"
      })
    } finally {
      await ours.stop()
    }
    if (natsServer !== undefined) {
      const theirs = await startNatsWithConf(conf)
      try {
        expect(await run(theirs.url)).toEqual({
          connections: 2,
          anonPing: "no responders: '$SYS.REQ.SERVER.PING'",
          bad: "Authorization Violation"
        })
      } finally {
        await theirs.stop()
      }
    }
  })
})
