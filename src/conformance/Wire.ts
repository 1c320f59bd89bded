/**
 * Client plumbing shared by the properties: connections through the official nats.js clients,
 * resource cleanup, API error codes, polling, bounded fetches.
 */
import {
  type Consumer,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  type StreamConfig
} from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"

export const sc = new TextEncoder()
export const dc = new TextDecoder()
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface Session {
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
}

export const open = async (url: string): Promise<Session> => {
  const nc = await connect({ servers: url, reconnect: false, timeout: 5_000 })
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 })
    return { nc, js: jetstream(nc, { timeout: 5_000 }), jsm }
  } catch (e) {
    await nc.close()
    throw e
  }
}

/** Opens a session, runs `f`, deletes the named streams (best effort) and closes. */
export const withSession = async <A>(
  url: string,
  streams: ReadonlyArray<string>,
  f: (s: Session) => Promise<A>
): Promise<A> => {
  const s = await open(url)
  try {
    return await f(s)
  } finally {
    await cleanup(s, streams)
    await s.nc.close().catch(() => undefined)
  }
}

export const cleanup = async (s: Session, streams: ReadonlyArray<string>): Promise<void> => {
  if (s.nc.isClosed()) return
  for (const name of streams) await s.jsm.streams.delete(name).catch(() => false)
}

/** Creates a stream with the conformance defaults (memory storage unless said otherwise, 1 replica). */
export const addStream = (s: Session, cfg: Partial<StreamConfig> & { name: string }) =>
  s.jsm.streams.add({ storage: "memory" as StreamConfig["storage"], num_replicas: 1, ...cfg })

/** `err_code` of a JetStream API error (e.g. 10071 wrong last sequence), or undefined. */
export const apiErrCode = (e: unknown): number | undefined => {
  const x = e as { apiError?: () => { err_code?: number } }
  return typeof x?.apiError === "function" ? x.apiError().err_code : undefined
}

/** Runs `p`; "ok" when it resolves, otherwise the API err_code (or the error text). */
export const outcome = async <A>(p: Promise<A>): Promise<{ ok: true; value: A } | { ok: false; code: string }> => {
  try {
    return { ok: true, value: await p }
  } catch (e) {
    const code = apiErrCode(e)
    return { ok: false, code: code !== undefined ? String(code) : e instanceof Error ? e.message : String(e) }
  }
}

/** Polls `probe` until it returns a value without throwing or the deadline passes (then rethrows). */
export const eventually = async <A>(timeoutMs: number, probe: () => Promise<A>): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await probe()
    } catch (e) {
      if (Date.now() > deadline) throw e
      await sleep(25)
    }
  }
}

/** One pull request for up to `max` messages, waiting at most `expiresMs`. */
export const fetchBatch = async (c: Consumer, max: number, expiresMs: number): Promise<Array<JsMsg>> => {
  const out: Array<JsMsg> = []
  if (max <= 0) return out
  const it = await c.fetch({ max_messages: max, expires: expiresMs })
  for await (const m of it) out.push(m)
  return out
}

/**
 * One pull request for up to `max` messages, handling each as it arrives (so an ack goes out before a
 * later redelivery can be mistaken for one after it). Returns how many arrived.
 */
export const fetchEach = async (
  c: Consumer,
  max: number,
  expiresMs: number,
  f: (m: JsMsg) => Promise<void> | void
): Promise<number> => {
  if (max <= 0) return 0
  let n = 0
  const it = await c.fetch({ max_messages: max, expires: expiresMs })
  for await (const m of it) {
    n++
    await f(m)
  }
  return n
}

export const nanos = (ms: number) => ms * 1_000_000

/** A short random tag for resource names (letters and digits, valid in stream names and subjects). */
export const randomTag = () => Math.random().toString(36).slice(2).padEnd(8, "0").slice(0, 8)
