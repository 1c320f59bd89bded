/**
 * What a consumer publishes about itself: advisories (`$JS.EVENT.ADVISORY.CONSUMER.*`) and sampled
 * ack metrics (`$JS.EVENT.METRIC.CONSUMER.ACK.*`), in nats-server's JSON shapes.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import { encodeJson, formatTime } from "../codec/Json.ts"

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/** A 22-character event id (nats-server uses a nuid). */
export const randomId = (): string => {
  let s = ""
  for (let i = 0; i < 22; i++) s += ID_CHARS[Math.floor(Math.random() * ID_CHARS.length)]
  return s
}

const publish = (client: InternalClient, subject: string, body: Record<string, unknown>): void => {
  client.publish(subject, undefined, -1, Buffer.from(encodeJson(body), "utf8"))
}

const timestamp = (nowMs: number) => formatTime(BigInt(Math.floor(nowMs)) * 1_000_000n)

export const advisory = (
  client: InternalClient,
  stream: string,
  consumer: string,
  nowMs: number,
  kind: string,
  type: string,
  fields: Record<string, number | string>
): void =>
  publish(client, `$JS.EVENT.ADVISORY.CONSUMER.${kind}.${stream}.${consumer}`, {
    type: `io.nats.jetstream.advisory.v1.${type}`,
    id: randomId(),
    timestamp: timestamp(nowMs),
    stream,
    consumer,
    ...fields
  })

/** An advisory of any shape: `type` (io.nats.jetstream.advisory.v1.<type>), `id`, `timestamp`, then `fields`. */
export const typedEvent = (
  client: InternalClient,
  subject: string,
  type: string,
  nowMs: number,
  fields: Record<string, unknown>
): void =>
  publish(client, subject, {
    type: `io.nats.jetstream.advisory.v1.${type}`,
    id: randomId(),
    timestamp: timestamp(nowMs),
    ...fields
  })

export const ackMetric = (
  client: InternalClient,
  stream: string,
  consumer: string,
  nowMs: number,
  fields: { consumer_seq: number; stream_seq: number; ack_time: number; deliveries: number }
): void =>
  publish(client, `$JS.EVENT.METRIC.CONSUMER.ACK.${stream}.${consumer}`, {
    type: "io.nats.jetstream.metric.v1.consumer_ack",
    id: randomId(),
    timestamp: timestamp(nowMs),
    stream,
    consumer,
    ...fields
  })

/** sample_freq "50%" or "50" → 50; anything else → 0 (validated at create time). */
export const sampleFrequency = (f: string | undefined): number => {
  if (f === undefined || f === "") return 0
  const n = Number(f.endsWith("%") ? f.slice(0, -1) : f)
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0
}
