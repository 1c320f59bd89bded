/**
 * Helpers shared by the client scenarios (spec/jetstream/*Scenarios.ts, spec/kv/KvScenarios.ts):
 * connections that are always closed, failures turned into comparable strings, and raw pulls that
 * record the status messages a pull request gets.
 */
import { type JetStreamManager, jetstreamManager, type StoredMsg } from "@nats-io/jetstream"
import { connect, createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node"

const sc = new TextEncoder()
const dc = new TextDecoder()

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits (up to 8 s) until `f` returns something other than undefined. */
export const until = async <A>(f: () => Promise<A | undefined>): Promise<A> => {
  for (let i = 0; i < 160; i++) {
    const v = await f()
    if (v !== undefined) return v
    await sleep(50)
  }
  throw new Error("condition not reached in 8s")
}

/** A stored message's headers as a record (empty for none or no message). */
export const headersOf = (m: StoredMsg | null): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const k of m?.header?.keys() ?? []) out[k] = m!.header.get(k)
  return out
}

/** Connect (no reconnect), run `f`, close. */
export const withNc = async <A>(url: string, f: (nc: NatsConnection) => Promise<A>): Promise<A> => {
  const nc = await connect({ servers: url, reconnect: false })
  try {
    return await f(nc)
  } finally {
    await nc.close()
  }
}

/** Connect (no reconnect) with a JetStream manager, run `f`, close. */
export const withJs = <A>(url: string, f: (nc: NatsConnection, jsm: JetStreamManager) => Promise<A>): Promise<A> =>
  withNc(url, async (nc) => f(nc, await jetstreamManager(nc)))

/** What a failed call reports: the API error (code, err_code, description) or the client error. */
export const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
    return "ok"
  } catch (e) {
    const x = e as { name?: string; apiError?: () => { code: number; err_code: number; description: string } }
    if (typeof x.apiError === "function") {
      const api = x.apiError()
      return `${api.code} ${api.err_code} ${api.description}`
    }
    return `${x.name}: ${(e as Error).message}`
  }
}

/**
 * What a failed call reports as the client shows it: the error's name and message, even for an API
 * error. Kept apart from `failure` on purpose: the KV and object store scenarios record this form
 * (e.g. "JetStreamApiError: wrong last sequence: 2"), not the code/err_code/description `failure`
 * would give for the same error.
 */
export const clientFailure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p
    return "ok"
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
}

const pendingHeaders = (m: Msg, keys: ReadonlyArray<string>) =>
  keys.filter((k) => m.headers!.get(k) !== "").map((k) => ` ${k}=${m.headers!.get(k)}`).join("")

/**
 * A message a pull inbox got: a status as "code description" with the pending and last-delivered
 * headers it carries, or a message as `msg:<its data>`.
 */
export const statusOf = (m: Msg) =>
  m.headers === undefined
    ? `msg:${dc.decode(m.data)}`
    : `${m.headers.code} ${m.headers.description}${
      pendingHeaders(m, ["Nats-Pending-Messages", "Nats-Pending-Bytes", "Nats-Last-Consumer", "Nats-Last-Stream"])
    }`

/**
 * Like `statusOf`, for scenarios whose messages carry headers or sizes that matter (byte limits,
 * flow control): any message with data is shown as `msg:<its length>`, and a status shows the
 * pending headers only.
 */
export const sizedStatusOf = (m: Msg) =>
  m.headers === undefined || m.data.length > 0
    ? `msg:${m.data.length}`
    : `${m.headers.code} ${m.headers.description}${pendingHeaders(m, ["Nats-Pending-Messages", "Nats-Pending-Bytes"])}`

/**
 * Raw pull: publish a request body to MSG.NEXT and collect the replies for `ms`, each shown by
 * `show` (`statusOf` unless given).
 */
export const rawPull = async (
  nc: NatsConnection,
  stream: string,
  consumer: string,
  body: unknown,
  ms: number,
  show: (m: Msg) => string = statusOf
) => {
  const inbox = createInbox()
  const got: Array<string> = []
  const sub = nc.subscribe(inbox, { callback: (_e, m) => void got.push(show(m)) })
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, sc.encode(JSON.stringify(body)), { reply: inbox })
  await sleep(ms)
  sub.unsubscribe()
  return got
}
