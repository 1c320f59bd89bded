/**
 * `/metrics` in the Prometheus text exposition format (0.0.4).
 *
 * Names and labels are prometheus-nats-exporter's, so its Grafana dashboards and existing alerts work
 * when Prometheus scrapes the broker directly: `gnatsd_varz_<varz field>` for server figures and
 * `jetstream_server_*`, `jetstream_stream_*`, `jetstream_consumer_*` for /jsz figures. The exporter's
 * `-prefix` flag replaces both `gnatsd` and `jetstream`; its JetStream dashboard expects `-prefix nats`
 * (`nats_varz_*`, `nats_stream_total_messages`, `nats_consumer_num_pending`, ...), which
 * `/metrics?prefix=nats` serves. Labels: `server_id` on varz figures; the exporter's server, stream
 * and consumer label sets (`server_name`, `cluster`, `domain`, `meta_leader`, `is_meta_leader`,
 * `account`, `account_id`, `stream_name`, `stream_leader`, `is_stream_leader`, `consumer_name`,
 * `consumer_leader`, `is_consumer_leader`, `consumer_desc`, `consumer_created`) on /jsz figures, with
 * a lone server's values (no cluster, it leads everything). Values are computed from the same pure
 * functions as /varz and /jsz, so the two never disagree.
 */
import { consumerInfo } from "../jetstream/api/ConsumerApi.ts"
import type { JetStreamShape } from "../jetstream/JetStream.ts"
import { enabledAccounts } from "./Jsz.ts"
import type { JetStreamLimits } from "./Sources.ts"

type Labels = Readonly<Record<string, string>>

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const labelText = (labels: Labels): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

class Exposition {
  private readonly lines: Array<string> = []
  private readonly families = new Map<string, Array<string>>()

  add(name: string, type: "gauge" | "counter", help: string, labels: Labels, value: number): void {
    let family = this.families.get(name)
    if (family === undefined) {
      family = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`]
      this.families.set(name, family)
    }
    family.push(`${name}${labelText(labels)} ${Number.isFinite(value) ? String(value) : "NaN"}`)
  }

  text(): string {
    for (const family of this.families.values()) this.lines.push(...family)
    return this.lines.join("\n") + "\n"
  }
}

export interface MetricsInput {
  readonly serverId: string
  readonly serverName: string
  readonly domain: string | undefined
  /** The exporter's `-prefix`: replaces `gnatsd` and `jetstream` in every name (see {@link parsePrefix}). */
  readonly prefix: string | undefined
  /** The /varz object (numbers are read from it by field name). */
  readonly varz: Record<string, unknown>
  readonly jetstream: JetStreamShape | undefined
  readonly limits: JetStreamLimits | undefined
}

// /varz fields exported as gnatsd_varz_<field>; counters only grow, gauges go up and down.
const VARZ_FIELDS: ReadonlyArray<readonly [string, "gauge" | "counter", string]> = [
  ["connections", "gauge", "Open client connections"],
  ["total_connections", "counter", "Client connections accepted since start"],
  ["subscriptions", "gauge", "Subscriptions in the server's sublist"],
  ["slow_consumers", "counter", "Connections closed as slow consumers"],
  ["in_msgs", "counter", "Messages received from clients"],
  ["out_msgs", "counter", "Messages sent to clients"],
  ["in_bytes", "counter", "Payload bytes received from clients"],
  ["out_bytes", "counter", "Payload bytes sent to clients"],
  ["mem", "gauge", "Resident set size in bytes"],
  ["cpu", "gauge", "CPU use in percent of one core"],
  ["cores", "gauge", "CPU cores"],
  ["max_connections", "gauge", "Configured connection limit"],
  ["max_payload", "gauge", "Configured maximum payload"]
]

/** A Prometheus metric name prefix, as the `prefix` query parameter gives it. */
export const parsePrefix = (value: string | null): string | undefined | Error =>
  value === null ? undefined : /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(value)
    ? value
    : new Error(`invalid prefix ${JSON.stringify(value)}: a metric name prefix is [a-zA-Z_][a-zA-Z0-9_]*`)

// RFC 3339 to the second, as the exporter formats `consumer_created` (Go's time.RFC3339, in UTC here).
const rfc3339 = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().replace(/\.\d{3}Z$/, "Z")

export const metrics = (input: MetricsInput): string => {
  const out = new Exposition()
  const core = input.prefix ?? "gnatsd"
  const jsSystem = input.prefix ?? "jetstream"
  const server = { server_id: input.serverId }
  for (const [field, type, help] of VARZ_FIELDS) {
    const v = input.varz[field]
    if (typeof v === "number") out.add(`${core}_varz_${field}`, type, help, server, v)
  }
  const start = input.varz.start
  if (typeof start === "string") {
    out.add(
      `${core}_varz_start_time_seconds`,
      "gauge",
      "Server start time (Unix seconds)",
      server,
      Date.parse(start) / 1000
    )
  }
  const js = input.jetstream
  // The exporter's server label set: no cluster, so no meta leader and this server leads.
  const jsServer = {
    server_id: input.serverId,
    server_name: input.serverName,
    cluster: "",
    domain: input.domain ?? "",
    meta_leader: "",
    is_meta_leader: "true"
  }
  out.add(
    `${jsSystem}_server_jetstream_disabled`,
    "gauge",
    "JetStream disabled or not",
    jsServer,
    js === undefined ? 1 : 0
  )
  if (js === undefined) return out.text()

  let memory = 0
  let storage = 0
  let messages = 0
  let bytes = 0
  let consumers = 0
  let streams = 0
  let apiTotal = 0
  let apiErrors = 0
  // Every JetStream account, labelled with its name (nats-server's exporter labels account and account_id).
  for (const acc of enabledAccounts(js)) {
    apiTotal += acc.stats.total
    apiErrors += acc.stats.errors
    const account = { ...jsServer, account: acc.account, account_id: acc.account }
    for (const s of acc.registry.all()) {
      streams++
      const st = s.store.state()
      if (s.config.storage === "memory") memory += st.bytes
      else storage += st.bytes
      messages += st.msgs
      bytes += st.bytes
      consumers += s.consumers.size
      const labels = { ...account, stream_name: s.name, stream_leader: "", is_stream_leader: "true" }
      out.add(`${jsSystem}_stream_total_messages`, "gauge", "Messages stored in the stream", labels, st.msgs)
      out.add(`${jsSystem}_stream_total_bytes`, "gauge", "Bytes stored in the stream", labels, st.bytes)
      out.add(`${jsSystem}_stream_first_seq`, "gauge", "First sequence in the stream", labels, st.firstSeq)
      out.add(`${jsSystem}_stream_last_seq`, "gauge", "Last sequence in the stream", labels, st.lastSeq)
      out.add(`${jsSystem}_stream_consumer_count`, "gauge", "Consumers on the stream", labels, s.consumers.size)
      for (const c of acc.registry.consumersOf(s.name)) {
        const info = consumerInfo(c)
        const cl = {
          ...labels,
          consumer_name: c.name,
          consumer_leader: "",
          is_consumer_leader: "true",
          consumer_desc: c.config.description ?? "",
          consumer_created: rfc3339(c.created)
        }
        const delivered = info.delivered as { stream_seq: number; consumer_seq: number }
        const ackFloor = info.ack_floor as { stream_seq: number; consumer_seq: number }
        const m = (name: string, help: string, value: number) =>
          out.add(`${jsSystem}_consumer_${name}`, "gauge", help, cl, value)
        m("num_pending", "Messages not yet delivered to the consumer", info.num_pending as number)
        m("num_ack_pending", "Delivered messages awaiting acknowledgement", info.num_ack_pending as number)
        m("num_redelivered", "Messages redelivered and not yet acknowledged", info.num_redelivered as number)
        m("num_waiting", "Waiting pull requests", info.num_waiting as number)
        m("delivered_stream_seq", "Last delivered stream sequence", delivered.stream_seq)
        m("delivered_consumer_seq", "Last delivered consumer sequence", delivered.consumer_seq)
        m("ack_floor_stream_seq", "Stream sequence of the ack floor", ackFloor.stream_seq)
        m("ack_floor_consumer_seq", "Consumer sequence of the ack floor", ackFloor.consumer_seq)
      }
    }
  }
  out.add(`${jsSystem}_server_total_streams`, "gauge", "Streams on the server", jsServer, streams)
  out.add(`${jsSystem}_server_total_consumers`, "gauge", "Consumers on the server", jsServer, consumers)
  out.add(`${jsSystem}_server_total_messages`, "gauge", "Messages stored in all streams", jsServer, messages)
  out.add(`${jsSystem}_server_total_message_bytes`, "gauge", "Bytes stored in all streams", jsServer, bytes)
  if (input.limits !== undefined) {
    out.add(`${jsSystem}_server_max_memory`, "gauge", "Memory available to JetStream", jsServer, input.limits.maxMemory)
    out.add(
      `${jsSystem}_server_max_storage`,
      "gauge",
      "Storage available to JetStream",
      jsServer,
      input.limits.maxStorage
    )
  }
  // The varz collector's view of /varz's jetstream object.
  out.add(`${core}_varz_jetstream_stats_memory`, "gauge", "Bytes used by memory streams", server, memory)
  out.add(`${core}_varz_jetstream_stats_storage`, "gauge", "Bytes used by file streams", server, storage)
  out.add(`${core}_varz_jetstream_stats_api_total`, "counter", "JetStream API requests served", server, apiTotal)
  out.add(
    `${core}_varz_jetstream_stats_api_errors`,
    "counter",
    "JetStream API requests answered with an error",
    server,
    apiErrors
  )
  if (input.limits !== undefined) {
    out.add(
      `${core}_varz_jetstream_config_max_memory`,
      "gauge",
      "Memory available to JetStream",
      server,
      input.limits.maxMemory
    )
    out.add(
      `${core}_varz_jetstream_config_max_storage`,
      "gauge",
      "Storage available to JetStream",
      server,
      input.limits.maxStorage
    )
  }
  return out.text()
}
