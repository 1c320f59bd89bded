/**
 * Message tracing (2.11, ADR-41) over real sockets with nats.js: the event a traced publish makes
 * the broker send, field by field (nats-server's MsgTraceEvent: `server`, `request`, `hops`, and the
 * `in` / `sm` / `js` / `eg` events), trace-only delivery, JetStream's part, and `traceparent` with an
 * account's `msg_trace`. nats-server 2.9.10 has no tracing: expected values are from msgtrace.go.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, type Msg, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"
import { rawExchange } from "../support/Raw.ts"

type Event = {
  server: Record<string, unknown>
  request: { header?: Record<string, Array<string>>; msgsize?: number }
  hops?: number
  events: Array<Record<string, unknown>>
}

/** Collects the trace events published on `dest`. */
const collector = (nc: NatsConnection, dest: string) => {
  const events: Array<Event> = []
  nc.subscribe(dest, { callback: (_e, m) => void events.push(m.json<Event>()) })
  return events
}

const waitFor = async <T>(what: string, f: () => T | undefined, ms = 5_000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** An event without its timestamps, which are only checked for their shape. */
const untimed = (e: Record<string, unknown>) => {
  expect(e["ts"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  const { ts: _ts, ...rest } = e
  return rest
}

const traceHeaders = (dest: string, extra: Record<string, string> = {}) => {
  const h = headers()
  h.set("Nats-Trace-Dest", dest)
  for (const [k, v] of Object.entries(extra)) h.set(k, v)
  return h
}

let broker: RunningBroker
let pub: NatsConnection
let sub: NatsConnection
let watcher: NatsConnection
beforeAll(async () => {
  broker = await startBroker({
    jetstream: true,
    serverName: "tracer",
    mappings: [{ src: "map.in", dests: [{ subject: "map.out", weight: 100 }] }]
  })
  pub = await connect({ servers: broker.url, name: "publisher", reconnect: false })
  sub = await connect({ servers: broker.url, name: "subscriber", reconnect: false })
  watcher = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await pub?.close()
  await sub?.close()
  await watcher?.close()
  await broker?.stop()
})

describe("Nats-Trace-Dest", () => {
  it("client ingress and client egress, the message delivered", async () => {
    const events = collector(watcher, "tr.1")
    const got: Array<Msg> = []
    sub.subscribe("t1.foo", { callback: (_e, m) => void got.push(m) })
    sub.subscribe("t1.*", { queue: "q1", callback: (_e, m) => void got.push(m) })
    await sub.flush()
    await watcher.flush()
    pub.publish("t1.foo", "hello", { headers: traceHeaders("tr.1") })
    const e = await waitFor("the trace event", () => events[0])
    await waitFor("both deliveries", () => (got.length === 2 ? true : undefined))
    expect(got.map((m) => m.string())).toEqual(["hello", "hello"])
    expect(e.server["name"]).toBe("tracer")
    expect(e.server["id"]).toBe(broker.server.serverId)
    expect(e.server["ver"]).toBe(ADVERTISED_NATS_VERSION)
    expect(e.server["host"]).toBe("127.0.0.1")
    expect(e.server["jetstream"]).toBe(true)
    // "NATS/1.0\r\nNats-Trace-Dest: tr.1\r\n\r\n" (35 bytes) + "hello".
    expect(e.request).toEqual({ header: { "Nats-Trace-Dest": ["tr.1"] }, msgsize: 40 })
    expect(e.hops).toBeUndefined()
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "publisher", acc: "$G", subj: "t1.foo" },
      { type: "eg", kind: 0, cid: sub.info!.client_id, name: "subscriber", sub: "t1.foo" },
      { type: "eg", kind: 0, cid: sub.info!.client_id, name: "subscriber", sub: "t1.*", queue: "q1" }
    ])
    await sleep(50)
    expect(events.length).toBe(1)
  })

  it("Nats-Trace-Only: egress events, nothing delivered", async () => {
    const events = collector(watcher, "tr.2")
    const got: Array<Msg> = []
    sub.subscribe("t.only", { callback: (_e, m) => void got.push(m) })
    await sub.flush()
    await watcher.flush()
    pub.publish("t.only", "x", { headers: traceHeaders("tr.2", { "Nats-Trace-Only": "true" }) })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.request.header).toEqual({ "Nats-Trace-Dest": ["tr.2"], "Nats-Trace-Only": ["true"] })
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "publisher", acc: "$G", subj: "t.only" },
      { type: "eg", kind: 0, cid: sub.info!.client_id, name: "subscriber", sub: "t.only" }
    ])
    // A later untraced message arrives alone: the traced one was never delivered.
    pub.publish("t.only", "after")
    await waitFor("the untraced message", () => (got.length > 0 ? true : undefined))
    expect(got.map((m) => m.string())).toEqual(["after"])
  })

  it("a subject mapping adds an sm event; the egress names the mapped subscription", async () => {
    const events = collector(watcher, "tr.3")
    sub.subscribe("map.out", { callback: () => {} })
    await sub.flush()
    await watcher.flush()
    pub.publish("map.in", "m", { headers: traceHeaders("tr.3") })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "publisher", acc: "$G", subj: "map.in" },
      { type: "sm", to: "map.out" },
      { type: "eg", kind: 0, cid: sub.info!.client_id, name: "subscriber", sub: "map.out" }
    ])
  })

  it("no echo: the publisher's own subscription is named with nats-server's error", async () => {
    const self = await connect({ servers: broker.url, name: "noecho", noEcho: true, reconnect: false })
    const events = collector(watcher, "tr.4")
    self.subscribe("t.echo", { callback: () => {} })
    await self.flush()
    await watcher.flush()
    self.publish("t.echo", "e", { headers: traceHeaders("tr.4") })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: self.info!.client_id, name: "noecho", acc: "$G", subj: "t.echo" },
      {
        type: "eg",
        kind: 0,
        cid: self.info!.client_id,
        name: "noecho",
        sub: "t.echo",
        error: "Not delivered because of no echo"
      }
    ])
    await self.close()
  })

  it("an invalid destination traces nothing and delivers; a disabled one too", async () => {
    const events = collector(watcher, "tr.5")
    const got: Array<Msg> = []
    sub.subscribe("t.bad", { callback: (_e, m) => void got.push(m) })
    await sub.flush()
    await watcher.flush()
    pub.publish("t.bad", "1", { headers: traceHeaders("tr.*") })
    pub.publish("t.bad", "2", { headers: traceHeaders("trace disabled") })
    pub.publish("t.bad", "3", { headers: traceHeaders("tr.*", { "Nats-Trace-Only": "1" }) })
    await waitFor("the deliveries", () => (got.length === 2 ? true : undefined))
    await pub.flush()
    await sleep(50)
    // The trace-only message with an invalid destination is dropped (nats-server: not delivered).
    expect(got.map((m) => m.string())).toEqual(["1", "2"])
    expect(events).toEqual([])
  })
})

describe("JetStream", () => {
  it("a stored message: js event with the stream and subject, the stored copy's trace disabled", async () => {
    const jsm = await jetstreamManager(pub)
    await jsm.streams.add({ name: "TRS", subjects: ["trs.>"] })
    const events = collector(watcher, "tr.js")
    await watcher.flush()
    const ack = await pub.request("trs.a", "stored", { headers: traceHeaders("tr.js"), timeout: 2_000 })
    expect(ack.json()).toEqual({ stream: "TRS", seq: 1 })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "publisher", acc: "$G", subj: "trs.a" },
      { type: "js", stream: "TRS", subject: "trs.a" }
    ])
    const stored = await jsm.streams.getMessage("TRS", { seq: 1 })
    expect(stored!.header.get("Nats-Trace-Dest")).toBe("trace disabled")
    expect(stored!.string()).toBe("stored")
  })

  it("trace-only: checked but neither stored nor acked", async () => {
    const jsm = await jetstreamManager(pub)
    await jsm.streams.add({ name: "TRO", subjects: ["tro.>"] })
    const events = collector(watcher, "tr.jso")
    const acks: Array<Msg> = []
    const inbox = "_INBOX.tro"
    pub.subscribe(inbox, { callback: (_e, m) => void acks.push(m) })
    await pub.flush()
    await watcher.flush()
    pub.publish("tro.a", "x", { reply: inbox, headers: traceHeaders("tr.jso", { "Nats-Trace-Only": "true" }) })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: pub.info!.client_id, name: "publisher", acc: "$G", subj: "tro.a" },
      { type: "js", stream: "TRO", subject: "tro.a" }
    ])
    // A failing check is reported in the js event and answered as usual.
    pub.publish("tro.b", "y", {
      reply: inbox,
      headers: traceHeaders("tr.jso", { "Nats-Trace-Only": "true", "Nats-Expected-Stream": "OTHER" })
    })
    const f = await waitFor("the second event", () => events[1])
    expect(f.events.map(untimed)[1]).toEqual({ type: "js", stream: "TRO", error: "expected stream does not match" })
    await waitFor("the error ack", () => acks[0])
    expect(acks.map((m) => m.json())).toEqual([{
      error: { code: 400, err_code: 10060, description: "expected stream does not match" },
      stream: "TRO",
      seq: 0
    }])
    expect((await jsm.streams.info("TRO")).state.messages).toBe(0)
  })

  it("interest retention without consumers reports nointerest", async () => {
    const jsm = await jetstreamManager(pub)
    await jsm.streams.add({ name: "TRI", subjects: ["tri.>"], retention: "interest" as never })
    const events = collector(watcher, "tr.jsi")
    await watcher.flush()
    await pub.request("tri.a", "i", { headers: traceHeaders("tr.jsi"), timeout: 2_000 })
    const e = await waitFor("the trace event", () => events[0])
    expect(untimed(e.events[1]!)).toEqual({ type: "js", stream: "TRI", subject: "tri.a", nointerest: true })
  })
})

describe("traceparent and the account's msg_trace", () => {
  let accBroker: RunningBroker
  let a: NatsConnection
  let aw: NatsConnection
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-cfg-"))
    const file = path.join(dir, "b.conf")
    fs.writeFileSync(
      file,
      `accounts {\n  A: { users: [ { user: a, password: a } ], msg_trace: { dest: "acc.trace", sampling: 100 } }\n}\n`
    )
    const r = ConfigFile.load(file)
    if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
    accBroker = await startBroker(r.config)
    a = await connect({ servers: accBroker.url, user: "a", pass: "a", name: "pa", reconnect: false })
    aw = await connect({ servers: accBroker.url, user: "a", pass: "a", reconnect: false })
  })
  afterAll(async () => {
    await a?.close()
    await aw?.close()
    await accBroker?.stop()
  })

  it("a sampled traceparent is traced to the account's destination; an unsampled one is not", async () => {
    const events = collector(aw, "acc.trace")
    const got: Array<Msg> = []
    aw.subscribe("w3c", { callback: (_e, m) => void got.push(m) })
    await aw.flush()
    const unsampled = headers()
    unsampled.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
    a.publish("w3c", "u", { headers: unsampled })
    const sampled = headers()
    sampled.set("TraceParent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    a.publish("w3c", "s", { headers: sampled })
    const e = await waitFor("the trace event", () => events[0])
    expect(e.request.header).toEqual({ TraceParent: ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"] })
    expect(e.events.map(untimed)).toEqual([
      { type: "in", kind: 0, cid: a.info!.client_id, name: "pa", acc: "A", subj: "w3c" },
      { type: "eg", kind: 0, cid: aw.info!.client_id, sub: "w3c" }
    ])
    await waitFor("both deliveries", () => (got.length === 2 ? true : undefined))
    await sleep(50)
    expect(events.length).toBe(1)
  })
})

describe("a destination the publisher may not publish to", () => {
  it("is a publish violation and the message is not delivered (nats-server allowedToPublishOnMsgTraceDest)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "trace-perm-"))
    const file = path.join(dir, "b.conf")
    fs.writeFileSync(
      file,
      `authorization { users: [ { user: u, password: p, permissions: { publish: "t.>", subscribe: ">" } } ] }\n`
    )
    const r = ConfigFile.load(file)
    if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
    const b = await startBroker(r.config)
    try {
      const hdr = "NATS/1.0\r\nNats-Trace-Dest: tr.perm\r\n\r\n"
      const ok = "NATS/1.0\r\nNats-Trace-Dest: t.trace\r\n\r\n"
      const out = await rawExchange(
        b.port,
        `CONNECT {"verbose":false,"headers":true,"user":"u","pass":"p"}\r\nSUB t.p 1\r\nSUB t.trace 2\r\n` +
          `HPUB t.p ${hdr.length} ${hdr.length + 1}\r\n${hdr}x\r\n` +
          `HPUB t.p ${ok.length} ${ok.length + 1}\r\n${ok}y\r\nPING\r\n`
      )
      const lines = out.text.split("\r\n")
      expect(lines[0]).toBe(`-ERR 'Permissions Violation for Publish to "tr.perm"'`)
      // The second message (an allowed destination) is delivered, then its event on sid 2.
      expect(lines[1]).toBe(`HMSG t.p 1 ${ok.length} ${ok.length + 1}`)
      expect(out.text).toContain("\r\nMSG t.trace 2 ")
      expect(out.text.match(/HMSG t\.p /g)?.length).toBe(1)
    } finally {
      await b.stop()
    }
  })
})
