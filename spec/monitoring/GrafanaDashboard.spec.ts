/**
 * /metrics against what prometheus-nats-exporter's Grafana dashboards query. Its JetStream dashboard
 * (walkthrough/grafana-jetstream-dash*.json) is built for the exporter run with `-prefix nats`; we
 * serve that naming on `/metrics?prefix=nats` and the exporter's default (`gnatsd_` / `jetstream_`)
 * on `/metrics`. Every series a panel or template variable reads must exist with the labels it
 * filters and groups by, and carry the value the broker reports in /jsz.
 */
import { AckPolicy, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { startTestServer } from "../../src/testing/index.ts"

interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Parses the text exposition format (what Prometheus does with the scrape). */
const parse = (text: string): Array<Sample> =>
  text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l)
    if (m === null) throw new Error(`not an exposition line: ${l}`)
    const labels: Record<string, string> = {}
    for (const p of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]!] = p[2]!
    return { name: m[1]!, labels, value: Number(m[3]) }
  })

/**
 * The dashboard's queries, by series and the labels each one filters or groups by
 * (`$server` = server_id, `$stream` = stream_name, `$consumer` = consumer_name).
 */
const DASHBOARD: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
  ["varz_jetstream_stats_storage", ["server_id"]],
  ["varz_jetstream_config_max_storage", ["server_id"]],
  ["varz_jetstream_stats_memory", ["server_id"]],
  ["varz_jetstream_config_max_memory", ["server_id"]],
  ["varz_connections", ["server_id"]],
  ["server_total_consumers", ["server_id"]],
  ["server_total_streams", ["server_id"]],
  ["stream_total_bytes", ["stream_name"]],
  ["stream_total_messages", ["stream_name"]],
  ["stream_last_seq", ["server_id", "stream_name"]],
  ["consumer_num_pending", ["server_id", "stream_name", "consumer_name"]],
  ["consumer_delivered_consumer_seq", ["server_id", "stream_name", "consumer_name"]],
  ["consumer_num_ack_pending", ["server_id", "stream_name", "consumer_name"]]
]

describe("prometheus-nats-exporter dashboards against /metrics", () => {
  it("every series of the JetStream dashboard exists with its labels and the /jsz values", async () => {
    await using srv = await startTestServer({ monitoring: true, storage: "file" })
    const nc = await connect({ servers: srv.url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
    await jsm.streams.add({ name: "CACHE", subjects: ["cache.>"], storage: StorageType.Memory })
    const js = jetstream(nc)
    for (let i = 0; i < 5; i++) await js.publish(`orders.${i}`, "x".repeat(10))
    await js.publish("cache.a", "y")
    await jsm.consumers.add("ORDERS", { durable_name: "billing", ack_policy: AckPolicy.Explicit, description: "bills" })
    const batch = await (await js.consumers.get("ORDERS", "billing")).fetch({ max_messages: 2, expires: 1000 })
    for await (const _ of batch) { /* delivered, left unacked */ }

    const get = async (q: string) => {
      const r = await fetch(`${srv.monitorUrl}/metrics${q}`)
      expect(r.status).toBe(200)
      return parse(await r.text())
    }
    const jsz = await (await fetch(`${srv.monitorUrl}/jsz?consumers=true`)).json() as {
      server_id: string
      memory: number
      storage: number
      account_details: Array<{ stream_detail: Array<{ name: string; state: { bytes: number } }> }>
    }
    for (const [q, core, jsPrefix] of [["?prefix=nats", "nats", "nats"], ["", "gnatsd", "jetstream"]] as const) {
      const samples = await get(q)
      const find = (series: string, labels: Record<string, string> = {}) => {
        const name = `${series.startsWith("varz_") ? core : jsPrefix}_${series}`
        return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      }
      for (const [series, labels] of DASHBOARD) {
        const found = find(series)
        expect(found.length, `${series} (${q || "default"})`).toBeGreaterThan(0)
        for (const s of found) for (const l of labels) expect(s.labels[l], `${s.name} label ${l}`).toBeTruthy()
      }
      const id = { server_id: jsz.server_id }
      expect(find("varz_connections", id)[0]!.value).toBe(1)
      expect(find("server_total_streams", id)[0]!.value).toBe(2)
      expect(find("server_total_consumers", id)[0]!.value).toBe(1)
      expect(find("varz_jetstream_stats_storage", id)[0]!.value).toBe(jsz.storage)
      expect(find("varz_jetstream_stats_memory", id)[0]!.value).toBe(jsz.memory)
      expect(find("varz_jetstream_config_max_storage", id)[0]!.value).toBeGreaterThan(0)
      const orders = { stream_name: "ORDERS" }
      expect(find("stream_total_messages", orders)[0]!.value).toBe(5)
      expect(find("stream_last_seq", orders)[0]!.value).toBe(5)
      expect(find("stream_total_bytes", orders)[0]!.value).toBe(
        jsz.account_details[0]!.stream_detail.find((s) => s.name === "ORDERS")!.state.bytes
      )
      const billing = { stream_name: "ORDERS", consumer_name: "billing", consumer_desc: "bills", account: "$G" }
      expect(find("consumer_num_pending", billing)[0]!.value).toBe(3)
      expect(find("consumer_num_ack_pending", billing)[0]!.value).toBe(2)
      expect(find("consumer_delivered_consumer_seq", billing)[0]!.value).toBe(2)
      expect(find("consumer_ack_floor_consumer_seq", billing)[0]!.value).toBe(0)
      expect(find("server_jetstream_disabled", id)[0]!.value).toBe(0)
    }
    await nc.close()
  })

  it("a prefix that is not a metric name is a 400, not a default", async () => {
    await using srv = await startTestServer({ monitoring: true })
    const r = await fetch(`${srv.monitorUrl}/metrics?prefix=9bad-name`)
    expect(r.status).toBe(400)
    expect(await r.text()).toContain("invalid prefix")
  })
})
