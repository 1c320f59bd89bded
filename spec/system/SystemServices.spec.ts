import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { InternalClient } from "../../src/core/InternalClient.ts"
import { MessageRouter } from "../../src/core/Router.ts"
import { decodeEventOptions } from "../../src/system/EventOptions.ts"
import { ReportError, startSystemServices, type SystemReports } from "../../src/system/SystemServices.ts"

const identity = {
  id: "NSERVERID",
  name: "east-1",
  host: "10.0.0.5",
  cluster: "",
  tags: ["az:1", "ssd"],
  domain: "hub",
  version: "2.9.10",
  jetstream: true,
  at210: false
}

const calls: Array<[string, unknown]> = []
const reports: SystemReports = {
  statsz: () => ({ connections: 3 }),
  varz: () => ({ server_id: "NSERVERID" }),
  connz: (o) => {
    calls.push(["connz", o])
    return o.sort === "bogus" ? new ReportError("invalid sorting option: bogus") : { num_connections: 1 }
  },
  subsz: (o) => {
    calls.push(["subsz", o])
    return { num_subscriptions: 2 }
  },
  jsz: (o) => {
    calls.push(["jsz", o])
    return { streams: 4 }
  },
  accountJsz: (o) => {
    calls.push(["accountJsz", o])
    return { name: o.account }
  },
  healthz: () => ({ status: "ok" }),
  accountz: (o) => ({ account: o.account }),
  routez: (o) => {
    calls.push(["routez", o])
    return { num_routes: 0 }
  },
  accountInfo: (acc) => (acc === "A" ? { account_name: "A" } : new ReportError(`account "${acc}" not found`))
}

const setup = (id: typeof identity = identity) => {
  const router = new MessageRouter()
  const sys = new InternalClient(router)
  const services = startSystemServices(sys, id, reports, () => Date.UTC(2026, 11, 3, 10, 0, 0))
  const probe = new InternalClient(router)
  const received: Array<{ subject: string; body: Record<string, any> }> = []
  probe.subscribe(">", (subject, _r, _h, msg) => {
    if (subject.startsWith("_INBOX.") || subject.startsWith("$SYS.ACCOUNT.") || subject.startsWith("$SYS.SERVER.")) {
      received.push({ subject, body: JSON.parse(Buffer.from(msg).toString("utf8")) })
    }
  })
  const request = (subject: string, body = "") => {
    received.length = 0
    probe.publish(subject, "_INBOX.r", 0, Buffer.from(body))
    return received.map((r) => r.body)
  }
  return { services, request, received, probe }
}

describe("system account services", () => {
  it("answers PING with the statsz message and the server identity, seq counting up", () => {
    const { request } = setup()
    const [a] = request("$SYS.REQ.SERVER.PING")
    expect(a).toEqual({
      server: {
        name: "east-1",
        host: "10.0.0.5",
        id: "NSERVERID",
        domain: "hub",
        ver: "2.9.10",
        tags: ["az:1", "ssd"],
        seq: 1,
        jetstream: true,
        time: "2026-12-03T10:00:00Z"
      },
      statsz: { connections: 3 }
    })
    const [b] = request("$SYS.REQ.SERVER.PING.STATSZ", "{}")
    expect(b!.server.seq).toBe(2)
  })

  it("at the 2.10 level the server object has 2.10's key order and capability flags", () => {
    // nats-server 2.10 events.go ServerInfo: jetstream, flags, seq, time (2.9.10: seq, jetstream, time).
    const { request } = setup({ ...identity, version: "2.10.29", at210: true })
    const [a] = request("$SYS.REQ.SERVER.PING")
    expect(Object.keys(a!.server)).toEqual([
      "name",
      "host",
      "id",
      "domain",
      "ver",
      "tags",
      "jetstream",
      "flags",
      "seq",
      "time"
    ])
    expect(a!.server).toMatchObject({ ver: "2.10.29", jetstream: true, flags: 1, seq: 1 })
    const off = setup({ ...identity, jetstream: false, at210: true }).request("$SYS.REQ.SERVER.PING")[0]!
    expect(off.server).toMatchObject({ jetstream: false, flags: 0 })
  })

  it("serves every monitoring report on the ping and the per-server subjects", () => {
    const { request } = setup()
    expect(request("$SYS.REQ.SERVER.PING.VARZ")[0]!.data).toEqual({ server_id: "NSERVERID" })
    expect(request("$SYS.REQ.SERVER.NSERVERID.JSZ", `{"accounts":true,"streams":true}`)[0]!.data).toEqual({
      streams: 4
    })
    expect(calls.at(-1)).toEqual([
      "jsz",
      {
        account: "",
        accounts: true,
        streams: true,
        consumer: false,
        config: false,
        leader_only: false,
        offset: 0,
        limit: 0
      }
    ])
    expect(request("$SYS.REQ.SERVER.PING.HEALTHZ")[0]!.data).toEqual({ status: "ok" })
    expect(request("$SYS.REQ.SERVER.PING.ACCOUNTZ", `{"account":"A"}`)[0]!.data).toEqual({ account: "A" })
    expect(request("$SYS.REQ.SERVER.PING.ROUTEZ", `{"subscriptions":true}`)[0]!.data).toEqual({ num_routes: 0 })
    expect(calls.at(-1)).toEqual(["routez", { subscriptions: true, subscriptions_detail: false }])
    expect(request("$SYS.REQ.SERVER.OTHERID.VARZ")).toEqual([])
  })

  it("stays silent when the filters exclude this server, answers when they match", () => {
    const { request } = setup()
    expect(request("$SYS.REQ.SERVER.PING.VARZ", `{"server_name":"west"}`)).toEqual([])
    expect(request("$SYS.REQ.SERVER.PING.VARZ", `{"tags":["ssd","gpu"]}`)).toEqual([])
    expect(request("$SYS.REQ.SERVER.PING.VARZ", `{"domain":"leaf"}`)).toEqual([])
    expect(request("$SYS.REQ.SERVER.PING", `{"host":"192.168"}`)).toEqual([])
    expect(request("$SYS.REQ.SERVER.PING.VARZ", `{"server_name":"east","tags":["SSD"],"domain":"hub"}`)).toHaveLength(1)
  })

  it("answers a body that does not decode with code 400 and a report refusal with 500", () => {
    const { request } = setup()
    expect(request("$SYS.REQ.SERVER.PING.CONNZ", `{"auth":"yes"}`)[0]!.error).toEqual({
      code: 400,
      description: "json: cannot unmarshal string into Go struct field ConnzEventOptions.auth of type bool"
    })
    expect(request("$SYS.REQ.SERVER.PING.CONNZ", `{"sorting":"cid"}`)[0]!.error).toEqual({
      code: 400,
      description: `json: unknown field "sorting"`
    })
    expect(request("$SYS.REQ.SERVER.PING.CONNZ", `{"sort":"bogus"}`)[0]).toMatchObject({
      error: { code: 500, description: "invalid sorting option: bogus" }
    })
    // As nats-server: the refused report's nil pointer is marshalled, a body that did not decode has no `data`.
    expect(request("$SYS.REQ.SERVER.PING.CONNZ", `{"sort":"bogus"}`)[0]!.data).toBeNull()
    expect(request("$SYS.REQ.SERVER.PING.CONNZ", `{"auth":"yes"}`)[0]!.data).toBeUndefined()
  })

  it("scopes the account services to the account in the subject", () => {
    const { request } = setup()
    request("$SYS.REQ.ACCOUNT.A.SUBSZ")
    expect(calls.at(-1)).toEqual(["subsz", { offset: 0, limit: 0, subscriptions: true, account: "A", test: "" }])
    request("$SYS.REQ.ACCOUNT.B.CONNZ", `{"auth":true}`)
    expect(calls.at(-1)![1]).toMatchObject({ acc: "B", auth: true })
    // nats-server JszAccount: the account's detail alone, not the server-wide report.
    expect(request("$SYS.REQ.ACCOUNT.A.JSZ")[0]!.data).toEqual({ name: "A" })
    expect(calls.at(-1)).toMatchObject(["accountJsz", { account: "A" }])
    expect(request("$SYS.REQ.ACCOUNT.A.INFO")[0]!.data).toEqual({ account_name: "A" })
    expect(request("$SYS.REQ.ACCOUNT.Z.INFO")[0]!.error).toEqual({ code: 500, description: `account "Z" not found` })
  })

  it("publishes connect and disconnect events for accounts other than the global one", () => {
    const { services, received } = setup()
    received.length = 0
    const c = {
      start: Date.UTC(2026, 11, 3, 9, 0, 0),
      host: "127.0.0.1",
      id: 7,
      account: "A",
      user: "alice",
      name: "svc",
      lang: "nats.js",
      version: "3.0.0"
    }
    services.connected({ ...c, account: "$G" })
    expect(received).toEqual([])
    services.connected(c)
    services.disconnected(c, { msgs: 2, bytes: 10 }, { msgs: 1, bytes: 5 }, "Client Closed")
    expect(received.map((r) => r.subject)).toEqual(["$SYS.ACCOUNT.A.CONNECT", "$SYS.ACCOUNT.A.DISCONNECT"])
    expect(received[0]!.body).toMatchObject({
      type: "io.nats.server.advisory.v1.client_connect",
      client: {
        start: "2026-12-03T09:00:00Z",
        host: "127.0.0.1",
        id: 7,
        acc: "A",
        user: "alice",
        name: "svc",
        lang: "nats.js",
        ver: "3.0.0",
        kind: "Client",
        client_type: "nats"
      }
    })
    expect(received[0]!.body.id).toHaveLength(22)
    expect(received[1]!.body).toMatchObject({
      type: "io.nats.server.advisory.v1.client_disconnect",
      client: { acc: "A", stop: "2026-12-03T10:00:00Z" },
      sent: { msgs: 2, bytes: 10 },
      received: { msgs: 1, bytes: 5 },
      reason: "Client Closed"
    })
  })
})

describe("event option bodies", () => {
  it("decode case-insensitively, null keeps zero values, arrays of tags", () => {
    const r = decodeEventOptions("SUBSZ", Buffer.from(`{"OFFSET":2,"Subscriptions":true,"test":null,"tags":["a"]}`))
    expect(r).toEqual({
      ok: true,
      filter: { server_name: "", cluster: "", host: "", tags: ["a"], domain: "" },
      options: { offset: 2, limit: 0, subscriptions: true, account: "", test: "" }
    })
  })
  it("refuse numbers out of a Go type's range and non-object documents", () => {
    expect(decodeEventOptions("CONNZ", Buffer.from(`{"cid":-1}`))).toEqual({
      ok: false,
      error: "json: cannot unmarshal number -1 into Go struct field ConnzEventOptions.cid of type uint64"
    })
    expect(decodeEventOptions("JSZ", Buffer.from(`[1]`))).toEqual({
      ok: false,
      error: "json: cannot unmarshal array into Go value of type server.JszEventOptions"
    })
    expect(decodeEventOptions("VARZ", Buffer.from(`{"x":1}`))).toEqual({ ok: false, error: `json: unknown field "x"` })
  })
})
