/**
 * `/metrics` in the Prometheus text exposition format (0.0.4).
 *
 * Metric names mirror prometheus-nats-exporter, so existing NATS dashboards and alerts work
 * unchanged: `gnatsd_varz_<varz field>` for server figures and `jetstream_server_*`,
 * `jetstream_stream_*`, `jetstream_consumer_*` for /jsz figures, labelled with `server_id` (and
 * `account`, `stream_name`, `consumer_name` where they apply). Values are computed from the same
 * pure functions as /varz and /jsz, so the two never disagree.
 */
import { consumerInfo } from "../jetstream/api/ConsumerApi.ts"
import type { JetStreamShape } from "../jetstream/JetStream.ts"
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

export const metrics = (input: MetricsInput): string => {
  const out = new Exposition()
  const server = { server_id: input.serverId }
  for (const [field, type, help] of VARZ_FIELDS) {
    const v = input.varz[field]
    if (typeof v === "number") out.add(`gnatsd_varz_${field}`, type, help, server, v)
  }
  const start = input.varz.start
  if (typeof start === "string") out.add("gnatsd_varz_start_time_seconds", "gauge", "Server start time (Unix seconds)", server, Date.parse(start) / 1000)
  const js = input.jetstream
  if (js === undefined) return out.text()

  const account = { ...server, account: "$G" }
  let memory = 0
  let storage = 0
  let messages = 0
  let bytes = 0
  let consumers = 0
  const streams = js.registry.all()
  for (const s of streams) {
    const st = s.store.state()
    if (s.config.storage === "memory") memory += st.bytes
    else storage += st.bytes
    messages += st.msgs
    bytes += st.bytes
    consumers += s.consumers.size
    const labels = { ...account, stream_name: s.name }
    out.add("jetstream_stream_total_messages", "gauge", "Messages stored in the stream", labels, st.msgs)
    out.add("jetstream_stream_total_bytes", "gauge", "Bytes stored in the stream", labels, st.bytes)
    out.add("jetstream_stream_first_seq", "gauge", "First sequence in the stream", labels, st.firstSeq)
    out.add("jetstream_stream_last_seq", "gauge", "Last sequence in the stream", labels, st.lastSeq)
    out.add("jetstream_stream_consumer_count", "gauge", "Consumers on the stream", labels, s.consumers.size)
    for (const c of js.registry.consumersOf(s.name)) {
      const info = consumerInfo(c)
      const cl = { ...labels, consumer_name: c.name }
      const delivered = info.delivered as { stream_seq: number; consumer_seq: number }
      const ackFloor = info.ack_floor as { stream_seq: number; consumer_seq: number }
      out.add("jetstream_consumer_num_pending", "gauge", "Messages not yet delivered to the consumer", cl, info.num_pending as number)
      out.add("jetstream_consumer_num_ack_pending", "gauge", "Delivered messages awaiting acknowledgement", cl, info.num_ack_pending as number)
      out.add("jetstream_consumer_num_redelivered", "gauge", "Messages redelivered and not yet acknowledged", cl, info.num_redelivered as number)
      out.add("jetstream_consumer_num_waiting", "gauge", "Waiting pull requests", cl, info.num_waiting as number)
      out.add("jetstream_consumer_delivered_stream_seq", "gauge", "Last delivered stream sequence", cl, delivered.stream_seq)
      out.add("jetstream_consumer_delivered_consumer_seq", "gauge", "Last delivered consumer sequence", cl, delivered.consumer_seq)
      out.add("jetstream_consumer_ack_floor_stream_seq", "gauge", "Stream sequence of the ack floor", cl, ackFloor.stream_seq)
    }
  }
  out.add("jetstream_server_total_streams", "gauge", "Streams on the server", server, streams.length)
  out.add("jetstream_server_total_consumers", "gauge", "Consumers on the server", server, consumers)
  out.add("jetstream_server_total_messages", "gauge", "Messages stored in all streams", server, messages)
  out.add("jetstream_server_total_message_bytes", "gauge", "Bytes stored in all streams", server, bytes)
  out.add("gnatsd_varz_jetstream_stats_memory", "gauge", "Bytes used by memory streams", server, memory)
  out.add("gnatsd_varz_jetstream_stats_storage", "gauge", "Bytes used by file streams", server, storage)
  out.add("gnatsd_varz_jetstream_stats_api_total", "counter", "JetStream API requests served", server, js.stats.total)
  out.add("gnatsd_varz_jetstream_stats_api_errors", "counter", "JetStream API requests answered with an error", server, js.stats.errors)
  if (input.limits !== undefined) {
    out.add("gnatsd_varz_jetstream_config_max_memory", "gauge", "Memory available to JetStream", server, input.limits.maxMemory)
    out.add("gnatsd_varz_jetstream_config_max_storage", "gauge", "Storage available to JetStream", server, input.limits.maxStorage)
  }
  return out.text()
}
