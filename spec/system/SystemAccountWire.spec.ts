/**
 * The system account over the wire with @nats-io/transport-node: a user of `system_account: SYS`
 * asks the `$SYS.REQ.*` services and watches connect/disconnect events; a user of another account
 * cannot reach them. Every scenario runs on our broker and, when it is on PATH, on nats-server
 * 2.9.10 with the same configuration file: values are asserted on both, and the envelopes' key
 * sets (`server`, `data`, `error`) must match.
 *
 * The `nats` CLI is not installed here, so the requests `nats server list` and
 * `nats server report jetstream` send are emulated from natscli's source (subjects and bodies).
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startBrokerWithConf, startNatsWithConf } from "../auth/AuthServers.ts"
import { natsServerPath } from "../support/Broker.ts"
import { OUR_VERSION, REFERENCE_VERSION } from "../support/Level210.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("system account differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

const conf = (storeDir: string) => `
accounts {
  SYS: { users: [ { user: sys, password: sys } ] }
  A: { users: [ { user: a, password: a } ], jetstream: enabled }
  B: { users: [ { user: b, password: b } ] }
}
system_account: SYS
jetstream { store_dir: "${storeDir}" }
`

type Json = Record<string, any>

interface Target {
  readonly name: string
  readonly url: string
  readonly stop: () => Promise<void>
}

const targets: Array<Target> = []
const dirs: Array<string> = []

beforeAll(async () => {
  const ours = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-sys-"))
  dirs.push(ours)
  const broker = await startBrokerWithConf(conf(ours), true)
  targets.push({ name: "broker", url: broker.url, stop: () => broker.stop() })
  if (natsServer !== undefined) {
    const theirs = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-sys-nats-"))
    dirs.push(theirs)
    const nats = await startNatsWithConf(conf(theirs))
    targets.push({ name: "nats-server", url: nats.url, stop: () => nats.stop() })
  }
})

afterAll(async () => {
  for (const t of targets) await t.stop()
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

const as = (url: string, user: string) => connect({ servers: url, reconnect: false, user, pass: user })

const ask = async (nc: NatsConnection, subject: string, body: unknown = undefined): Promise<Json> => {
  const m = await nc.request(subject, body === undefined ? new Uint8Array() : sc.encode(JSON.stringify(body)), {
    timeout: 3_000
  })
  return JSON.parse(dc.decode(m.data))
}

/** Runs `scenario` on every target; returns the results by target name. */
const onEach = async <T>(scenario: (url: string) => Promise<T>): Promise<Array<[string, T]>> => {
  const out: Array<[string, T]> = []
  for (const t of targets) out.push([t.name, await scenario(t.url)])
  return out
}

const keys = (v: unknown) => Object.keys(v as object).sort()

/** Our answer's top-level and `server` key sets equal nats-server's. */
const sameEnvelope = (results: Array<[string, Json]>) => {
  if (results.length < 2) return
  const [[, ours], [, theirs]] = results
  expect(keys(ours)).toEqual(keys(theirs))
  // 2.10 events.go ServerInfo adds capability `flags` (JetStreamEnabled = 1) before `seq`.
  expect(keys(ours!.server)).toEqual([...keys(theirs!.server), "flags"].sort())
  expect(Object.keys(ours!.server).slice(-4)).toEqual(["jetstream", "flags", "seq", "time"])
  expect(ours!.server.flags).toBe(ours!.server.jetstream ? 1 : 0)
}

describe("system account services", () => {
  it("PING collects one statsz from the single server", async () => {
    const results = await onEach(async (url) => {
      const nc = await as(url, "sys")
      try {
        const got: Array<Json> = []
        const inbox = nc.subscribe("_INBOX.ping.>")
        void (async () => {
          for await (const m of inbox) got.push(JSON.parse(dc.decode(m.data)))
        })()
        nc.publish("$SYS.REQ.SERVER.PING", new Uint8Array(), { reply: "_INBOX.ping.1" })
        await nc.flush()
        await new Promise((r) => setTimeout(r, 300))
        return got
      } finally {
        await nc.close()
      }
    })
    for (const [name, got] of results) {
      expect([name, got.length]).toEqual([name, 1])
      const r = got[0]!
      expect([name, r.server.ver]).toEqual([name, name === "broker" ? OUR_VERSION : REFERENCE_VERSION])
      expect(r.server.jetstream).toBe(true)
      expect(r.statsz.connections).toBe(1)
      expect(r.statsz.sent).toEqual(expect.objectContaining({ msgs: expect.any(Number), bytes: expect.any(Number) }))
    }
    sameEnvelope(results.map(([n, g]) => [n, g[0]!]))
    if (results.length === 2) {
      // Ours leaves out what a single server without routes has none of (`routes`, `gateways`).
      const [[, [ours]], [, [theirs]]] = results
      // 2.10 events.go ServerStats ends with `gomaxprocs`, which 2.9.10 does not send.
      expect(Object.keys(ours!.statsz).at(-1)).toBe("gomaxprocs")
      expect(ours!.statsz.gomaxprocs).toBe(ours!.statsz.cores)
      for (const k of keys(ours!.statsz).filter((k) => k !== "gomaxprocs")) expect(keys(theirs!.statsz)).toContain(k)
    }
  })

  it("PING.JSZ with accounts:true details each JetStream account", async () => {
    const results = await onEach(async (url) => {
      const a = await as(url, "a")
      const sys = await as(url, "sys")
      try {
        const jsm = await jetstreamManager(a)
        await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
        await a.request("orders.1", sc.encode("x"))
        return await ask(sys, "$SYS.REQ.SERVER.PING.JSZ", { accounts: true })
      } finally {
        await a.close()
        await sys.close()
      }
    })
    for (const [name, r] of results) {
      const details = r.data.account_details as Array<Json>
      expect([name, details.map((d) => d.name)]).toEqual([name, ["A"]])
      expect(details[0]!.stream_detail).toBeUndefined()
      expect(details[0]!.api.total).toBeGreaterThanOrEqual(1)
      expect(r.data.streams).toBe(1)
      expect(r.data.messages).toBe(1)
    }
    sameEnvelope(results)
  })

  it("CONNZ filtered by account, with auth, lists that account's clients only", async () => {
    const results = await onEach(async (url) => {
      const a = await as(url, "a")
      const b = await as(url, "b")
      const sys = await as(url, "sys")
      try {
        return await ask(sys, "$SYS.REQ.SERVER.PING.CONNZ", { acc: "A", auth: true })
      } finally {
        await a.close()
        await b.close()
        await sys.close()
      }
    })
    for (const [name, r] of results) {
      const conns = r.data.connections as Array<Json>
      expect([name, conns.map((c) => [c.account, c.authorized_user])]).toEqual([name, [["A", "a"]]])
      expect(r.data.num_connections).toBe(1)
    }
    sameEnvelope(results)
  })

  it("CONNZ with a bad sort answers error code 500; a body of the wrong type 400", async () => {
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        return [
          await ask(sys, "$SYS.REQ.SERVER.PING.CONNZ", { sort: "bogus" }),
          await ask(sys, "$SYS.REQ.SERVER.PING.CONNZ", { auth: "yes" })
        ] as const
      } finally {
        await sys.close()
      }
    })
    for (const [name, [sort, type]] of results) {
      expect([name, sort.error]).toEqual([name, { code: 500, description: "invalid sorting option: bogus" }])
      expect([name, type.error.code]).toEqual([name, 400])
      expect(type.data).toBeUndefined()
    }
    sameEnvelope(results.map(([n, [s]]) => [n, s]))
    sameEnvelope(results.map(([n, [, t]]) => [n, t]))
  })

  it("ACCOUNT.<acc>.INFO describes the account", async () => {
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        return await ask(sys, "$SYS.REQ.ACCOUNT.A.INFO")
      } finally {
        await sys.close()
      }
    })
    for (const [name, r] of results) {
      expect([name, r.data.account_name, r.data.jetstream_enabled]).toEqual([name, "A", true])
    }
    sameEnvelope(results)
  })

  it("a system user sees the connect and disconnect events of an account's client", async () => {
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        const events: Array<[string, Json]> = []
        const sub = sys.subscribe("$SYS.ACCOUNT.*.*")
        void (async () => {
          for await (const m of sub) events.push([m.subject, JSON.parse(dc.decode(m.data))])
        })()
        await sys.flush()
        const a = await connect({ servers: url, reconnect: false, user: "a", pass: "a", name: "client-a" })
        a.publish("x", sc.encode("12345"))
        await a.flush()
        await a.close()
        // Only account A's: nats-server sends events from its own send loop, so the system user's own
        // CONNECT may arrive after the subscription.
        const ofA = () => events.filter(([s]) => s === "$SYS.ACCOUNT.A.CONNECT" || s === "$SYS.ACCOUNT.A.DISCONNECT")
        const deadline = Date.now() + 3_000
        while (ofA().length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20))
        }
        return ofA()
      } finally {
        await sys.close()
      }
    })
    for (const [name, events] of results) {
      expect([name, events.map(([s]) => s)]).toEqual([name, ["$SYS.ACCOUNT.A.CONNECT", "$SYS.ACCOUNT.A.DISCONNECT"]])
      const [[, c], [, d]] = events as [[string, Json], [string, Json]]
      expect(c.type).toBe("io.nats.server.advisory.v1.client_connect")
      expect(c.client).toMatchObject({ acc: "A", user: "a", name: "client-a", lang: "nats.js" })
      expect(d.type).toBe("io.nats.server.advisory.v1.client_disconnect")
      expect(d.reason).toBe("Client Closed")
      expect(d.sent.msgs).toBe(1)
      expect(d.sent.bytes).toBe(5)
    }
    if (results.length === 2) {
      const [[, ours], [, theirs]] = results
      for (let i = 0; i < 2; i++) {
        expect(keys(ours![i]![1])).toEqual(keys(theirs![i]![1]))
        // nats-server adds `rtt` (and `jwt`/`issuer_key` in operator mode) to the client; we send no rtt.
        const drop = (k: string) => k !== "rtt"
        expect(keys(ours![i]![1].client).filter(drop)).toEqual(keys(theirs![i]![1].client).filter(drop))
      }
    }
  })

  it("a client of another account cannot reach $SYS.REQ services (no responders)", async () => {
    for (const t of targets) {
      const b = await as(t.url, "b")
      try {
        for (const subject of ["$SYS.REQ.SERVER.PING", "$SYS.REQ.SERVER.PING.JSZ", "$SYS.REQ.SERVER.PING.VARZ"]) {
          await expect(b.request(subject, new Uint8Array(), { timeout: 2_000 }), `${t.name} ${subject}`).rejects
            .toThrow(/no responders/i)
        }
      } finally {
        await b.close()
      }
    }
  })

  it("answers what `nats server list` and `nats server report jetstream [--account A]` send", async () => {
    // natscli (cli/server_list_command.go, server_report_command.go): `server list` pings with no
    // body; `report jetstream` marshals JszEventOptions, whose fields are all omitempty, so the body
    // is `{}`, or with --account the account, streams, consumer and limit 10000.
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        const list = await ask(sys, "$SYS.REQ.SERVER.PING")
        const report = await ask(sys, "$SYS.REQ.SERVER.PING.JSZ", {})
        const forAccount = await ask(sys, "$SYS.REQ.SERVER.PING.JSZ", {
          account: "A",
          streams: true,
          consumer: true,
          limit: 10000
        })
        return [list, report, forAccount] as const
      } finally {
        await sys.close()
      }
    })
    for (const [name, [list, report, forAccount]] of results) {
      expect([name, list.server.jetstream, typeof list.statsz.connections]).toEqual([name, true, "number"])
      expect([name, report.data.streams, report.data.account_details]).toEqual([name, 1, undefined])
      const details = forAccount.data.account_details as Array<Json>
      expect([name, details.map((d) => d.name)]).toEqual([name, ["A"]])
      expect(details[0]!.stream_detail.map((s: Json) => s.name)).toEqual(["ORDERS"])
      expect(details[0]!.stream_detail[0].state.messages).toBe(1)
    }
    sameEnvelope(results.map(([n, [l]]) => [n, l]))
    sameEnvelope(results.map(([n, [, r]]) => [n, r]))
    sameEnvelope(results.map(([n, [, , a]]) => [n, a]))
  })

  it("takes a Go-marshalled body with every filter key present (tags: null) as nats-server", async () => {
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        return await ask(sys, "$SYS.REQ.SERVER.PING.VARZ", {
          server_name: "",
          cluster: "",
          host: "",
          tags: null,
          domain: ""
        })
      } finally {
        await sys.close()
      }
    })
    for (const [name, r] of results) expect([name, typeof r.data.server_id]).toEqual([name, "string"])
    sameEnvelope(results)
  })

  it("answers HEALTHZ, ACCOUNTZ and the account-scoped services with nats-server's data keys", async () => {
    const asks: ReadonlyArray<readonly [string, unknown]> = [
      ["$SYS.REQ.SERVER.PING.HEALTHZ", undefined],
      ["$SYS.REQ.SERVER.PING.ACCOUNTZ", undefined],
      ["$SYS.REQ.SERVER.PING.ACCOUNTZ", { account: "A" }],
      ["$SYS.REQ.ACCOUNT.A.CONNZ", undefined],
      ["$SYS.REQ.ACCOUNT.A.SUBSZ", undefined],
      ["$SYS.REQ.ACCOUNT.A.JSZ", undefined]
    ]
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      const a = await as(url, "a")
      try {
        a.subscribe("watch.me")
        await a.flush()
        const out: Array<Json> = []
        for (const [subject, body] of asks) out.push(await ask(sys, subject, body))
        return out
      } finally {
        await a.close()
        await sys.close()
      }
    })
    for (const [name, [health, accounts, accountA, connz, subsz]] of results) {
      // 2.10 answers HEALTHZ with `status_code` in the body (monitor.go healthz; only HTTP drops it).
      expect([name, health!.data]).toEqual([
        name,
        name === "broker" ? { status: "ok", status_code: 200 } : { status: "ok" }
      ])
      expect([name, accounts!.data.system_account, [...accounts!.data.accounts].sort()]).toEqual([
        name,
        "SYS",
        ["$G", "A", "B", "SYS"]
      ])
      expect([name, accountA!.data.account_detail.account_name]).toEqual([name, "A"])
      expect([name, connz!.data.num_connections]).toEqual([name, 1])
      const subjects = (subsz!.data.subscriptions_list as Array<Json>).map((x) => x.subject)
      expect([name, subjects.includes("watch.me")]).toEqual([name, true])
    }
    if (results.length === 2) {
      const [[, ours], [, theirs]] = results
      asks.forEach(([subject], i) => {
        expect([subject, keys(ours![i])]).toEqual([subject, keys(theirs![i])])
        const ourKeys = keys(ours![i]!.data).filter((k) => !(subject.endsWith(".HEALTHZ") && k === "status_code"))
        expect([subject, ourKeys]).toEqual([subject, keys(theirs![i]!.data)])
      })
    }
  })

  it("refuses the account services for an unknown account or one without JetStream as nats-server", async () => {
    const results = await onEach(async (url) => {
      const sys = await as(url, "sys")
      try {
        return [
          await ask(sys, "$SYS.REQ.ACCOUNT.NOPE.INFO"),
          await ask(sys, "$SYS.REQ.ACCOUNT.NOPE.JSZ"),
          await ask(sys, "$SYS.REQ.ACCOUNT.B.JSZ")
        ]
      } finally {
        await sys.close()
      }
    })
    for (const [name, [info, jszUnknown, jszPlain]] of results) {
      expect([name, info!.error]).toEqual([name, { code: 500, description: "Account NOPE does not exist" }])
      expect([name, jszUnknown!.error]).toEqual([name, { code: 500, description: `account "NOPE" not found` }])
      expect([name, jszPlain!.error]).toEqual([name, { code: 500, description: `account "B" not jetstream enabled` }])
    }
    if (results.length === 2) {
      const [[, ours], [, theirs]] = results
      ours!.forEach((r, i) => expect(keys(r)).toEqual(keys(theirs![i])))
    }
  })
})
