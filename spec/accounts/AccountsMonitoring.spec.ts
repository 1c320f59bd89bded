/**
 * `/accountz`, `/accountz?acc=` and `/connz?acc=` (with `auth`) against nats-server 2.9.10 (when
 * on PATH) with the same configuration, on the fields both have: nats-server's system account
 * (`$SYS` and the `$SYS.REQ.*` imports it adds to every account) is not built here, and its
 * sublist counts include those imports, so they are left out of the comparison.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startBrokerWithConf, startNatsWithConf } from "../auth/AuthServers.ts"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { apiStatsWithout211 } from "../support/Level211.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("accounts monitoring differential skipped: nats-server is not on PATH")

const CONF = `
http: "127.0.0.1:-1"
accounts {
  A: {
    users: [ { user: a, password: a } ]
    exports: [ { stream: "s.>", accounts: [B] }, { service: q, response: stream } ]
  }
  B: {
    users: [ { user: b, password: b } ]
    imports: [ { stream: { account: A, subject: "s.>" }, prefix: p }, { service: { account: A, subject: q }, to: ask } ]
  }
}
`

type Json = Record<string, unknown>

const get = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`)
  const body = await r.text()
  return { status: r.status, body: r.headers.get("content-type")?.includes("json") === true ? JSON.parse(body) : body }
}

/** What both servers must agree on. */
const comparable = async (port: number, url: string) => {
  const nc = await connect({ servers: url, reconnect: false, user: "a", pass: "a", name: "acc-a" })
  const nb = await connect({ servers: url, reconnect: false, user: "b", pass: "b", name: "acc-b" })
  try {
    await nc.flush()
    await nb.flush()
    const list = (await get(port, "/accountz")).body as Json
    const detail = (acc: string) =>
      get(port, `/accountz?acc=${acc}`).then(({ body }) => {
        const d = (body as Json).account_detail as Json
        const imports = ((d.imports ?? []) as Array<Json>).filter((i) => i.account !== "$SYS")
        return {
          account_name: d.account_name,
          expired: d.expired,
          complete: d.complete,
          jetstream_enabled: d.jetstream_enabled,
          leafnode_connections: d.leafnode_connections,
          client_connections: d.client_connections,
          exports: ((d.exports ?? []) as Array<Json>).sort((x, y) =>
            String(x.subject).localeCompare(String(y.subject))
          ),
          imports,
          // `imports` is always there on nats-server (its `$SYS` ones): compared as a list instead.
          keys: Object.keys(d).filter((k) => k !== "update_time" && k !== "imports")
        }
      })
    const connzA = (await get(port, "/connz?acc=A&auth=true")).body as Json
    const connzNoAuth = (await get(port, "/connz?acc=B")).body as Json
    const unknown = (await get(port, "/connz?acc=Z")).body as Json
    const entry = (c: Json) => ({ name: c.name, authorized_user: c.authorized_user, account: c.account })
    return {
      accounts: ((list.accounts as Array<string>).filter((a) => a !== "$SYS")).sort(),
      listKeys: Object.keys(list).filter((k) => k !== "system_account"),
      a: await detail("A"),
      b: await detail("B"),
      missing: await get(port, "/accountz?acc=Z"),
      connzA: { total: connzA.total, connections: (connzA.connections as Array<Json>).map(entry) },
      connzNoAuth: (connzNoAuth.connections as Array<Json>).map(entry),
      unknown: { ...unknown, now: typeof unknown.now }
    }
  } finally {
    await nc.close()
    await nb.close()
  }
}

const DETAIL_KEYS = [
  "account_name",
  "expired",
  "complete",
  "jetstream_enabled",
  "leafnode_connections",
  "client_connections",
  "subscriptions",
  "sublist_stats"
]

describe("accounts monitoring", () => {
  let ours: RunningBroker
  let theirs: RunningNatsServer | undefined
  beforeAll(async () => {
    ours = await startBrokerWithConf(CONF)
    if (natsServer !== undefined) theirs = await startNatsWithConf(CONF)
  })
  afterAll(async () => {
    await ours?.stop()
    await theirs?.stop()
  })

  it("/accountz and /connz?acc= as nats-server", async () => {
    const got = await comparable(ours.monitorPort!, ours.url)
    expect(got).toEqual({
      accounts: ["$G", "A", "B"],
      listKeys: ["server_id", "now", "accounts"],
      a: {
        account_name: "A",
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: 1,
        exports: [
          { subject: "q", type: "service", response_type: "Streamed" },
          { subject: "s.>", type: "stream", approved_accounts: ["B"] }
        ],
        imports: [],
        keys: [...DETAIL_KEYS.slice(0, 7), "exports", ...DETAIL_KEYS.slice(7)]
      },
      b: {
        account_name: "B",
        expired: false,
        complete: true,
        jetstream_enabled: false,
        leafnode_connections: 0,
        client_connections: 1,
        exports: [],
        imports: [
          {
            subject: "s.>",
            account: "A",
            local_subject: "p.s.>",
            type: "stream",
            invalid: false,
            share: false,
            tracking: false
          },
          { subject: "ask", account: "A", to: "q", type: "service", invalid: false, share: false, tracking: false }
        ],
        keys: DETAIL_KEYS
      },
      missing: { status: 400, body: "Account Z does not exist" },
      connzA: { total: 1, connections: [{ name: "acc-a", authorized_user: "a", account: "A" }] },
      connzNoAuth: [{ name: "acc-b", authorized_user: undefined, account: undefined }],
      unknown: {
        server_id: "",
        now: "string",
        num_connections: 0,
        total: 0,
        offset: 0,
        limit: 1024,
        connections: null
      }
    })
    if (theirs !== undefined) {
      const nats = await comparable(theirs.monitorPort!, theirs.url)
      expect(nats).toEqual(got)
    }
  })
})

const JS_CONF = (dir: string) => `
http: "127.0.0.1:-1"
jetstream { store_dir: "${dir}" }
accounts {
  A: { users: [ { user: a, password: a } ], jetstream: enabled }
  B: { users: [ { user: b, password: b } ], jetstream: { max_mem: 1M, max_file: 2M } }
  N: { users: [ { user: n, password: n } ] }
}
`

describe("/subsz and /varz over accounts", () => {
  it("count every account's subscriptions; acc= selects one", async () => {
    const broker = await startBrokerWithConf(CONF)
    const a = await connect({ servers: broker.url, reconnect: false, user: "a", pass: "a" })
    const b = await connect({ servers: broker.url, reconnect: false, user: "b", pass: "b" })
    try {
      a.subscribe("x.>")
      b.subscribe("y")
      b.subscribe("z")
      await a.flush()
      await b.flush()
      const port = broker.monitorPort!
      const subjects = async (q: string) => {
        const body = (await get(port, `/subsz?subs=1${q}`)).body as Json
        // The exporter's response subscription has a random `_R_.<prefix>.>` subject.
        return ((body.subscriptions_list ?? []) as Array<Json>).map((s) => String(s.subject))
          .map((s) => (s.startsWith("_R_.") ? "_R_" : s)).sort()
      }
      // A holds the stream import's subscription on "s.>" and the service's response one, B the service
      // import's on "ask".
      expect(await subjects("&acc=A")).toEqual(["_R_", "s.>", "x.>"])
      expect(await subjects("&acc=B")).toEqual(["ask", "y", "z"])
      expect(await subjects("&acc=NOPE")).toEqual([])
      // The system account's services subscribe in $SYS (as nats-server's), counted with the rest.
      const system = await subjects("&acc=$SYS")
      expect(system).toContain("$SYS.REQ.SERVER.PING")
      expect(system.every((s) => s.startsWith("$SYS.") || s.startsWith("$JS."))).toBe(true)
      expect((await subjects("")).filter((s) => !system.includes(s))).toEqual(["_R_", "ask", "s.>", "x.>", "y", "z"])
      expect(((await get(port, "/subsz")).body as Json).num_subscriptions).toBe(6 + system.length)
      expect(((await get(port, "/varz")).body as Json).subscriptions).toBe(6 + system.length)
    } finally {
      await a.close()
      await b.close()
      await broker.stop()
    }
  })
})

describe("/jsz over accounts", () => {
  const run = async (port: number, url: string) => {
    for (const [u, n] of [["a", 2], ["b", 1]] as const) {
      const nc = await connect({ servers: url, reconnect: false, user: u, pass: u })
      try {
        const jsm = await jetstreamManager(nc)
        for (let i = 0; i < n; i++) await jsm.streams.add({ name: `S${i}`, subjects: [`${u}.${i}`] })
        await nc.request(`${u}.0`, new Uint8Array(10))
      } finally {
        await nc.close()
      }
    }
    const jsz = (await get(port, "/jsz?accounts=true")).body as Json
    const one = (await get(port, "/jsz?acc=B")).body as Json
    const paged = (await get(port, "/jsz?accounts=true&offset=1&limit=1")).body as Json
    const details = (j: Json) =>
      ((j.account_details ?? []) as Array<Json>).map((d) => ({
        name: d.name,
        reserved_memory: d.reserved_memory,
        reserved_storage: d.reserved_storage,
        api: d.api
      })).sort((x, y) => String(x.name).localeCompare(String(y.name)))
    return {
      accounts: jsz.accounts,
      streams: jsz.streams,
      messages: jsz.messages,
      api: jsz.api,
      details: details(jsz),
      one: details(one),
      paged: details(paged)
    }
  }

  it("adds up every JetStream account and lists each, as nats-server", async () => {
    const dirs = [
      fs.mkdtempSync(path.join(os.tmpdir(), "acc-jsz-")),
      fs.mkdtempSync(path.join(os.tmpdir(), "acc-jsz-"))
    ]
    const ours = await startBrokerWithConf(JS_CONF(dirs[0]!))
    try {
      // The 2.9.10 values; our 2.11 `api.level` is asserted and taken out first (Level211.ts).
      const got = apiStatsWithout211(await run(ours.monitorPort!, ours.url))
      expect(got).toEqual({
        accounts: 2,
        streams: 3,
        messages: 2,
        api: { total: 5, errors: 0 },
        details: [
          {
            name: "A",
            reserved_memory: 18446744073709552000,
            reserved_storage: 18446744073709552000,
            api: { total: 3, errors: 0 }
          },
          { name: "B", reserved_memory: 1000000, reserved_storage: 2000000, api: { total: 2, errors: 0 } }
        ],
        one: [{ name: "B", reserved_memory: 1000000, reserved_storage: 2000000, api: { total: 2, errors: 0 } }],
        paged: [{ name: "B", reserved_memory: 1000000, reserved_storage: 2000000, api: { total: 2, errors: 0 } }]
      })
      // /metrics labels each stream with its account.
      const metrics = String((await get(ours.monitorPort!, "/metrics")).body)
      const streamLines = metrics.split("\n").filter((l) => l.includes("_stream_total_messages{"))
      expect(streamLines.map((l) => /account="(\w+)"/.exec(l)?.[1]).sort()).toEqual(["A", "A", "B"])
      if (natsServer !== undefined) {
        const theirs = await startNatsWithConf(JS_CONF(dirs[1]!))
        try {
          expect(await run(theirs.monitorPort!, theirs.url)).toEqual(got)
        } finally {
          await theirs.stop()
        }
      }
    } finally {
      await ours.stop()
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
    }
  })
})
