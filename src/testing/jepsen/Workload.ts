/**
 * The Jepsen workload, through nats.js: publishers (each connected first to its own node,
 * reconnecting to the others when it dies) publishing unique `Nats-Msg-Id`s one at a time and
 * retrying an id until it gets a PubAck, and workers on a durable pull consumer (explicit acks)
 * that confirm each ack with `ackAck()`. Everything they see goes into the history.
 */
import { jetstream } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import type { ConfirmedAck, DeliveryRecord, PublishRecord } from "./History.ts"

export const STREAM = "JEPSEN"
export const SUBJECT = "jepsen"
export const DURABLE = "workers"

const now = () => performance.now()
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** A connection that tries `first`, then the others, forever; quick to notice a dead or frozen node. */
export const connectTo = (first: string, others: ReadonlyArray<string>): Promise<NatsConnection> =>
  connect({
    servers: [first, ...others],
    noRandomize: true,
    ignoreClusterUpdates: true,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 1000,
    maxPingOut: 2,
    timeout: 2000
  })

export interface WorkloadHistory {
  readonly publishes: Array<PublishRecord>
  readonly deliveries: Array<DeliveryRecord>
  readonly confirmedAcks: Array<ConfirmedAck>
}

export interface Workload {
  /** Stops new publishes; resolves when every publisher has its current id acked (or `abandonAfterMs` passed). */
  stopPublishers(abandonAfterMs: number): Promise<void>
  stopWorkers(): Promise<void>
  close(): Promise<void>
}

export interface WorkloadOptions {
  readonly urls: ReadonlyArray<string>
  readonly publishers: number
  readonly workers: number
  readonly publishTimeoutMs: number
  /** Pause between two publishes of one publisher (0: none). */
  readonly publishPauseMs: number
  readonly history: WorkloadHistory
  /** Called on every PubAck (to time failovers). */
  readonly onAck: (sentAt: number, at: number) => void
}

const MAX_ERRORS = 20

export const startWorkload = async (o: WorkloadOptions): Promise<Workload> => {
  const conns: Array<NatsConnection> = []
  const at = (i: number) => {
    const own = o.urls[i % o.urls.length]!
    return connectTo(own, o.urls.filter((u) => u !== own))
  }
  for (let k = 0; k < o.publishers + o.workers; k++) conns.push(await at(k))
  let publishing = true
  let abandoned = false
  let working = true

  const publisher = async (k: number) => {
    const js = jetstream(conns[k]!, { timeout: o.publishTimeoutMs })
    for (let n = 1; publishing; n++) {
      const msgId = `p${k}-${n}`
      const rec: PublishRecord = { publisher: k, msgId, firstSentAt: now(), attempts: 0, acks: [], errors: [] }
      o.history.publishes.push(rec)
      while (!abandoned) {
        const sentAt = now()
        rec.attempts++
        try {
          const ack = await js.publish(`${SUBJECT}.${k}`, msgId, { msgID: msgId, timeout: o.publishTimeoutMs })
          const got = now()
          rec.acks.push({ seq: ack.seq, duplicate: ack.duplicate, sentAt, at: got })
          o.onAck(sentAt, got)
          break
        } catch (e) {
          if (rec.errors.length < MAX_ERRORS) rec.errors.push(message(e))
          await sleep(100)
        }
      }
      if (o.publishPauseMs > 0) await sleep(o.publishPauseMs)
    }
  }

  const worker = async (w: number) => {
    const nc = conns[o.publishers + w]!
    const js = jetstream(nc, { timeout: 2000 })
    while (working) {
      try {
        const consumer = await js.consumers.get(STREAM, DURABLE)
        while (working) {
          const pulledAt = now()
          const batch = await consumer.fetch({ max_messages: 20, expires: 1500 })
          for await (const m of batch) {
            o.history.deliveries.push({
              worker: w,
              seq: m.seq,
              deliveryCount: m.info.deliveryCount,
              pulledAt,
              at: now(),
              drain: false,
              via: nc.getServer()
            })
            try {
              if (await m.ackAck({ timeout: 2000 })) {
                o.history.confirmedAcks.push({ worker: w, seq: m.seq, at: now(), via: nc.getServer() })
              }
            } catch {
              // not confirmed: the message may come again, which is allowed
            }
          }
        }
      } catch {
        await sleep(250)
      }
    }
  }

  const publishers = Array.from({ length: o.publishers }, (_, k) => publisher(k))
  const workers = Array.from({ length: o.workers }, (_, w) => worker(w))
  return {
    stopPublishers: async (abandonAfterMs) => {
      publishing = false
      const timer = setTimeout(() => (abandoned = true), abandonAfterMs)
      await Promise.all(publishers)
      clearTimeout(timer)
    },
    stopWorkers: async () => {
      working = false
      await Promise.all(workers)
    },
    close: async () => {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)))
    }
  }
}

/**
 * After the run: pulls from the durable until `settled` (nothing pending, nothing awaiting an ack)
 * or `ms` passed, acking each message; the deliveries are recorded as the drain's.
 */
export const drainDurable = async (
  urls: ReadonlyArray<string>,
  history: WorkloadHistory,
  settled: () => Promise<boolean>,
  ms: number
): Promise<void> => {
  const nc = await connectTo(urls[0]!, urls.slice(1))
  try {
    const js = jetstream(nc, { timeout: 2000 })
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      try {
        const consumer = await js.consumers.get(STREAM, DURABLE)
        const pulledAt = now()
        let got = 0
        for await (const m of await consumer.fetch({ max_messages: 100, expires: 1000 })) {
          got++
          history.deliveries.push({
            worker: -1,
            seq: m.seq,
            deliveryCount: m.info.deliveryCount,
            pulledAt,
            at: now(),
            drain: true,
            via: nc.getServer()
          })
          if (await m.ackAck({ timeout: 2000 }).catch(() => false)) {
            history.confirmedAcks.push({ worker: -1, seq: m.seq, at: now(), via: nc.getServer() })
          }
        }
        if (got === 0 && await settled()) return
      } catch {
        await sleep(250)
      }
    }
  } finally {
    await nc.close().catch(() => undefined)
  }
}
