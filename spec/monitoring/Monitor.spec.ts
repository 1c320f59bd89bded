/**
 * The monitoring port of an in-process broker, driven by the official nats.js clients: exact values
 * in every endpoint for a known scenario (the counters were checked against nats-server 2.9.10 for
 * the same scenario; spec/monitoring/Differential.spec.ts re-checks the shapes live).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { API_LEVEL } from "../../src/jetstream/model/ApiLevel.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { runScenario, type Scenario } from "./MonitorScenario.ts"

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/

describe("monitoring endpoints", () => {
  let broker: RunningBroker
  let scenario: Scenario
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${broker.monitorPort}${path}`)
    return { status: r.status, type: r.headers.get("content-type"), text: await r.text() }
  }
  const getJson = async (path: string) => {
    const r = await get(path)
    expect(r.status, r.text).toBe(200)
    expect(r.type).toBe("application/json")
    return JSON.parse(r.text) as Record<string, any> // any: JSON from the wire, checked field by field
  }

  beforeAll(async () => {
    broker = await startBroker({ jetstream: true, httpPort: -1, httpHost: "127.0.0.1" })
    scenario = await runScenario(broker.url)
  })
  afterAll(async () => {
    await scenario?.close()
    await broker?.stop()
  })

  it("binds a random port and answers /healthz", async () => {
    expect(broker.monitorPort).toBeGreaterThan(0)
    for (const q of ["", "?js-enabled-only=true", "?js-server-only=true", "?js-enabled=1"]) {
      expect(await get(`/healthz${q}`)).toEqual({ status: 200, type: "application/json", text: "{\"status\":\"ok\"}" })
    }
    // 2.10's asset checks (monitor.go healthz): the memory stream ORDERS and its consumer are found.
    for (const q of ["?account=$G", "?account=$G&stream=ORDERS", "?account=%24G&stream=ORDERS&consumer=worker"]) {
      expect([q, await get(`/healthz${q}`)]).toEqual([
        q,
        { status: 200, type: "application/json", text: "{\"status\":\"ok\"}" }
      ])
    }
    expect(await get("/healthz?account=$G&stream=NOPE")).toEqual({
      status: 404,
      type: "application/json",
      text: "{\"status\":\"unavailable\",\"error\":\"JetStream stream \\\"NOPE\\\" not found on account \\\"$G\\\"\"}"
    })
    expect(JSON.parse((await get("/healthz?account=$G&stream=ORDERS&consumer=x&details=true")).text)).toEqual({
      status: "error",
      errors: [{
        type: "CONSUMER",
        account: "$G",
        stream: "ORDERS",
        consumer: "x",
        error: "JetStream consumer \"x\" not found for stream \"ORDERS\" on account \"$G\""
      }]
    })
    expect((await get("/healthz?stream=ORDERS")).status).toBe(400)
    expect(await get("/healthz?js-enabled-only=maybe")).toEqual({
      status: 400,
      type: "text/plain; charset=utf-8",
      text: "Error decoding boolean for 'js-enabled-only': strconv.ParseBool: parsing \"maybe\": invalid syntax"
    })
  })

  it("/varz reports server info, limits and traffic in nats-server's key order", async () => {
    const v = await getJson("/varz")
    expect(Object.keys(v)).toEqual([
      "server_id",
      "server_name",
      "version",
      "proto",
      "go",
      "host",
      "port",
      "max_connections",
      "ping_interval",
      "ping_max",
      "http_host",
      "http_port",
      "http_base_path",
      "https_port",
      "auth_timeout",
      "max_control_line",
      "max_payload",
      "max_pending",
      "cluster",
      "gateway",
      "leaf",
      "mqtt",
      "websocket",
      "jetstream",
      "tls_timeout",
      "write_deadline",
      "start",
      "now",
      "uptime",
      "mem",
      "cores",
      "gomaxprocs",
      "cpu",
      "connections",
      "total_connections",
      "routes",
      "remotes",
      "leafnodes",
      "in_msgs",
      "out_msgs",
      "in_bytes",
      "out_bytes",
      "slow_consumers",
      "subscriptions",
      "http_req_stats",
      "config_load_time",
      // 2.14 monitor.go Varz: the feature flags in effect.
      "feature_flags",
      "system_account",
      // 2.10 monitor.go Varz: the slow consumers by connection kind, last.
      "slow_consumer_stats"
    ])
    expect(v.server_id).toBe(broker.server.serverId)
    expect(v).toMatchObject({
      version: ADVERTISED_NATS_VERSION,
      proto: 1,
      host: "127.0.0.1",
      port: broker.port,
      max_connections: 65536,
      ping_interval: 120_000_000_000,
      ping_max: 2,
      http_host: "127.0.0.1",
      http_port: broker.monitorPort,
      max_control_line: 4096,
      max_payload: 1048576,
      max_pending: 67108864,
      write_deadline: 10_000_000_000,
      connections: 1,
      total_connections: 1,
      in_msgs: 13,
      out_msgs: 14,
      in_bytes: 421,
      slow_consumers: 0,
      slow_consumer_stats: { clients: 0, routes: 0, gateways: 0, leafs: 0 },
      cluster: {},
      gateway: {},
      leaf: {},
      mqtt: {},
      websocket: {}
    })
    expect(v.uptime).toMatch(/^\d+s$/)
    expect(v.start).toMatch(ISO)
    expect(v.mem).toBeGreaterThan(1_000_000)
    // Every account's: the global one's and the system account's services'.
    const system = (await getJson("/subsz?acc=$SYS")).num_subscriptions
    expect(system).toBeGreaterThanOrEqual(19)
    expect(v.subscriptions).toBe(broker.router.sublist.size + system)
    expect(v.jetstream.config.max_memory).toBeGreaterThan(0)
    expect(v.jetstream.config.sync_interval).toBe(120_000_000_000)
    expect(v.jetstream.stats).toEqual({
      memory: 170,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: 1,
      ha_assets: 0,
      // 2.11 JetStreamAPIStats: the API level first (ADR-44).
      api: { level: API_LEVEL, total: 6, errors: 0 }
    })
    expect(Object.keys(v.jetstream.stats.api)).toEqual(["level", "total", "errors"])
    // Pretty-printed like Go's json.MarshalIndent, with the request counted before it is answered.
    const raw = (await get("/varz")).text
    expect(raw.startsWith("{\n  \"server_id\": ")).toBe(true)
    expect(JSON.parse(raw).http_req_stats["/varz"]).toBe(2)
  })

  it("/connz pages, lists subscriptions and sorts", async () => {
    const c = await getJson("/connz?subs=true")
    expect(c).toMatchObject({ num_connections: 1, total: 1, offset: 0, limit: 1024 })
    const conn = c.connections[0]
    expect(Object.keys(conn)).toEqual([
      "cid",
      "kind",
      "type",
      "ip",
      "port",
      "start",
      "last_activity",
      "uptime",
      "idle",
      "pending_bytes",
      "in_msgs",
      "out_msgs",
      "in_bytes",
      "out_bytes",
      "subscriptions",
      "name",
      "lang",
      "version",
      "subscriptions_list"
    ])
    expect(conn).toMatchObject({
      cid: 1,
      kind: "Client",
      type: "nats",
      ip: "127.0.0.1",
      pending_bytes: 0,
      in_msgs: 13,
      out_msgs: 14,
      in_bytes: 421,
      subscriptions: 3,
      name: "monitor-test",
      lang: "nats.js"
    })
    expect(conn.subscriptions_list.slice(0, 2)).toEqual(["mon.a", "mon.b"])
    expect(conn.subscriptions_list[2]).toMatch(/^_INBOX\..+\.\*$/)

    const detail = await getJson("/connz?subs=detail")
    expect(detail.connections[0].subscriptions_list).toBeUndefined()
    expect(detail.connections[0].subscriptions_list_detail.slice(0, 2)).toEqual([
      { subject: "mon.a", sid: "1", msgs: 0, cid: 1 },
      { subject: "mon.b", qgroup: "q", sid: "2", msgs: 0, cid: 1 }
    ])
    expect((await getJson("/connz")).connections[0].subscriptions_list).toBeUndefined()

    // A second client to page and sort over.
    const other = await runScenarioless(broker.url)
    try {
      const all = await getJson("/connz?sort=msgs_from")
      expect(all.connections.map((x: { cid: number }) => x.cid)).toEqual([1, 2])
      expect((await getJson("/connz?sort=start")).connections.map((x: { cid: number }) => x.cid)).toEqual([1, 2])
      const page = await getJson("/connz?offset=1&limit=1")
      expect(page).toMatchObject({ num_connections: 1, total: 2, offset: 1, limit: 1 })
      expect(page.connections[0].cid).toBe(2)
      expect(page.connections[0].name).toBeUndefined()
      expect((await getJson("/connz?cid=2")).connections.map((x: { cid: number }) => x.cid)).toEqual([2])
      expect((await getJson("/connz?offset=5")).connections).toEqual([])
      expect((await getJson("/connz?state=closed")).connections).toEqual([])
    } finally {
      await other.close()
    }
    expect(await get("/connz?sort=bogus")).toMatchObject({ status: 400, text: "invalid sorting option: bogus" })
    expect(await get("/connz?sort=stop")).toMatchObject({
      status: 400,
      text: "sort by stop only valid on closed connections"
    })
    expect(await get("/connz?limit=x")).toMatchObject({
      status: 400,
      text: "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax"
    })
  })

  it("/subsz reports sublist statistics, and the list with subs=1", async () => {
    // The global account's: the system account's services hold subscriptions of their own.
    const s = await getJson("/subsz?acc=$G")
    expect(Object.keys(s)).toEqual([
      "num_subscriptions",
      "num_cache",
      "num_inserts",
      "num_removes",
      "num_matches",
      "cache_hit_rate",
      "max_fanout",
      "avg_fanout"
    ])
    expect(s.num_subscriptions).toBe(broker.router.sublist.size)
    const d = await getJson("/subsz?subs=1&limit=500&acc=$G")
    expect(d).toMatchObject({
      server_id: broker.server.serverId,
      total: broker.router.sublist.size,
      offset: 0,
      limit: 500
    })
    const mine = d.subscriptions_list.filter((x: { cid: number }) => x.cid === 1)
    expect(mine.slice(0, 2)).toEqual([
      { subject: "mon.a", sid: "1", msgs: 0, cid: 1 },
      { subject: "mon.b", qgroup: "q", sid: "2", msgs: 0, cid: 1 }
    ])
    const tested = await getJson("/subsz?subs=1&test=mon.b")
    expect(tested.subscriptions_list).toEqual([{ subject: "mon.b", qgroup: "q", sid: "2", msgs: 0, cid: 1 }])
    expect(await get("/subsz?subs=1&test=mon.*")).toMatchObject({
      status: 400,
      text: "invalid test subject, must be valid publish subject: mon.*"
    })
  })

  it("/jsz reports counts and usage; streams, consumers and config on request", async () => {
    const j = await getJson("/jsz")
    expect(j).toMatchObject({
      server_id: broker.server.serverId,
      memory: 170,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: 1,
      ha_assets: 0,
      streams: 1,
      consumers: 2,
      messages: 5,
      bytes: 170
    })
    expect(j.account_details).toBeUndefined()
    expect(j.api).toEqual({ level: API_LEVEL, total: 6, errors: 0 })
    expect(Object.keys(j.api)).toEqual(["level", "total", "errors"])
    // 2.10 monitor.go JSInfo: `total` (the JetStream accounts) last; JetStreamConfig `sync_interval`.
    expect(Object.keys(j).at(-1)).toBe("total")
    expect(j.total).toBe(1)
    expect(j.config.sync_interval).toBe(120_000_000_000)
    expect(j.config).not.toHaveProperty("sync_always")

    const full = await getJson("/jsz?streams=true&consumers=true&config=true")
    const account = full.account_details[0]
    expect(Object.keys(account)).toEqual([
      "name",
      "id",
      "memory",
      "storage",
      "reserved_memory",
      "reserved_storage",
      "accounts",
      "ha_assets",
      "api",
      "stream_detail"
    ])
    expect(account).toMatchObject({ name: "$G", id: "$G", memory: 170, storage: 0, accounts: 0 })
    // uint64(-1), printed exactly (a JS number cannot hold it, so check the text).
    expect((await get("/jsz?accounts=true")).text).toContain("\"reserved_memory\": 18446744073709551615")
    const stream = account.stream_detail[0]
    expect(Object.keys(stream)).toEqual(["name", "created", "cluster", "config", "state", "consumer_detail"])
    expect(stream.cluster).toEqual({ leader: broker.server.serverName })
    expect(stream.config).toMatchObject({ name: "ORDERS", subjects: ["orders.>"], storage: "memory" })
    // 2.11 monitor.go shows the stored config: `allow_msg_ttl` (no omitempty) and `_nats.req.level`,
    // without the reply-only `_nats.ver`/`_nats.level` (consumer configs alike).
    expect([stream.config.allow_msg_ttl, stream.config.metadata]).toEqual([false, { "_nats.req.level": "0" }])
    expect(stream.state).toMatchObject({
      messages: 5,
      bytes: 170,
      first_seq: 1,
      last_seq: 5,
      num_subjects: 2,
      consumer_count: 2
    })
    const byName = Object.fromEntries(stream.consumer_detail.map((c: { name: string }) => [c.name, c]))
    expect(byName.worker.config.metadata).toEqual({ "_nats.req.level": "0" })
    expect(byName.worker).toMatchObject({
      stream_name: "ORDERS",
      name: "worker",
      delivered: { consumer_seq: 3, stream_seq: 3 },
      ack_floor: { consumer_seq: 1, stream_seq: 1 },
      num_ack_pending: 2,
      num_redelivered: 0,
      num_waiting: 0,
      num_pending: 2
    })
    expect(byName.worker.config).toMatchObject({ durable_name: "worker", ack_policy: "explicit" })
    // 2.10 ConsumerInfo ends with `ts` (consumer.go info), in jsz too.
    expect(Object.keys(byName.worker).at(-1)).toBe("ts")
    expect(Date.parse(byName.worker.ts)).toBeGreaterThan(Date.now() - 60_000)
    expect(stream.config).toMatchObject({ compression: "none", consumer_limits: {} })
    expect(byName.idle).toMatchObject({
      num_ack_pending: 0,
      num_pending: 5,
      delivered: { consumer_seq: 0, stream_seq: 0 }
    })

    const noConfig = await getJson("/jsz?consumers=true")
    const s2 = noConfig.account_details[0].stream_detail[0]
    expect(s2.config).toBeUndefined()
    expect(s2.consumer_detail.every((c: { config?: unknown }) => c.config === undefined)).toBe(true)
    expect((await getJson("/jsz?streams=true")).account_details[0].stream_detail[0].consumer_detail).toBeUndefined()
    // The subject's ">" is escaped as Go's encoder does.
    expect((await get("/jsz?streams=true&config=true")).text).toContain("\"orders.\\u003e\"")
  })

  it("/metrics exposes Prometheus text with nats-exporter names", async () => {
    const r = await get("/metrics")
    expect(r.status).toBe(200)
    expect(r.type).toBe("text/plain; version=0.0.4; charset=utf-8")
    const id = broker.server.serverId
    const lines = r.text.split("\n")
    // consumer_created is the consumer's creation time to the second (RFC 3339), as the exporter's.
    const created = Object.fromEntries(
      await Promise.all(["worker", "idle"].map(async (name) => {
        const c = (await getJson("/jsz?consumers=true")).account_details[0].stream_detail[0].consumer_detail
          .find((x: { name: string }) => x.name === name)
        return [name, new Date(c.created).toISOString().replace(/\.\d{3}Z$/, "Z")]
      }))
    ) as Record<string, string>
    for (
      const line of [
        `gnatsd_varz_connections{server_id="${id}"} 1`,
        `gnatsd_varz_in_msgs{server_id="${id}"} 13`,
        `gnatsd_varz_in_bytes{server_id="${id}"} 421`,
        `jetstream_stream_total_messages{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true"} 5`,
        `jetstream_stream_total_bytes{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true"} 170`,
        `jetstream_consumer_num_pending{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true",consumer_name="worker",consumer_leader="",is_consumer_leader="true",consumer_desc="",consumer_created="${created.worker}"} 2`,
        `jetstream_consumer_num_ack_pending{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true",consumer_name="worker",consumer_leader="",is_consumer_leader="true",consumer_desc="",consumer_created="${created.worker}"} 2`,
        `jetstream_consumer_num_redelivered{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true",consumer_name="worker",consumer_leader="",is_consumer_leader="true",consumer_desc="",consumer_created="${created.worker}"} 0`,
        `jetstream_consumer_num_pending{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true",account="$G",account_id="$G",stream_name="ORDERS",stream_leader="",is_stream_leader="true",consumer_name="idle",consumer_leader="",is_consumer_leader="true",consumer_desc="",consumer_created="${created.idle}"} 5`,
        `jetstream_server_total_streams{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true"} 1`,
        `jetstream_server_total_consumers{server_id="${id}",server_name="${id}",cluster="",domain="",meta_leader="",is_meta_leader="true"} 2`,
        "# TYPE gnatsd_varz_jetstream_stats_api_total counter",
        `gnatsd_varz_jetstream_stats_api_errors{server_id="${id}"} 0`
      ]
    ) expect(lines).toContain(line)
    expect(lines.some((l) => l.startsWith(`gnatsd_varz_jetstream_stats_api_total{server_id="${id}"} `))).toBe(true)
    // Every sample line belongs to a family announced with HELP and TYPE.
    const families = new Set(lines.filter((l) => l.startsWith("# TYPE ")).map((l) => l.split(" ")[2]))
    for (const l of lines) if (l !== "" && !l.startsWith("#")) expect(families.has(l.split(/[{ ]/)[0])).toBe(true)
  })

  it("answers unknown paths with 404 and supports JSONP callbacks", async () => {
    expect(await get("/nope")).toMatchObject({ status: 404, text: "404 page not found\n" })
    const r = await get("/healthz?callback=cb")
    expect(r).toEqual({ status: 200, type: "application/javascript", text: "cb({\"status\":\"ok\"})" })
  })
})

// A plain client (no name, no subscriptions) to page over.
const runScenarioless = async (url: string) => {
  const { connect } = await import("@nats-io/transport-node")
  const nc = await connect({ servers: url })
  await nc.flush()
  return { close: () => nc.close() }
}

describe("monitoring without JetStream", () => {
  it("reports an empty jetstream block and a disabled /jsz", async () => {
    const broker = await startBroker({ httpPort: -1, httpHost: "127.0.0.1" })
    try {
      const base = `http://127.0.0.1:${broker.monitorPort}`
      const v = (await (await fetch(`${base}/varz`)).json()) as Record<string, unknown>
      expect(v.jetstream).toEqual({})
      const j = (await (await fetch(`${base}/jsz`)).json()) as Record<string, unknown>
      expect(j).toMatchObject({ disabled: true, streams: 0, total: 0 })
      expect(await (await fetch(`${base}/healthz`)).text()).toBe("{\"status\":\"ok\"}")
    } finally {
      await broker.stop()
    }
  })

  it("starts no monitor when httpPort is not set", async () => {
    const broker = await startBroker({})
    try {
      expect(broker.monitorPort).toBeUndefined()
    } finally {
      await broker.stop()
    }
  })
})
