/**
 * Raw `$JS.API` request bodies against a seeded stream: the reply as the client sees it and the
 * stream / consumer state before and after. Shared by the recorded suite (RequestBodies.spec.ts),
 * the differential suite (RequestBodies.differential.spec.ts) and the mutation property.
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node"

const sc = new TextEncoder()
const dc = new TextDecoder()

/** The first message `body` sent to `subject` gets back within `waitMs`, or undefined. */
export const ask = (
  nc: NatsConnection,
  subject: string,
  body: Uint8Array | string,
  waitMs = 1000
): Promise<Msg | undefined> =>
  new Promise((resolve) => {
    const inbox = createInbox()
    const timer = setTimeout(() => {
      sub.unsubscribe()
      resolve(undefined)
    }, waitMs)
    const sub = nc.subscribe(inbox, {
      max: 1,
      callback: (_e, m) => {
        clearTimeout(timer)
        resolve(m)
      }
    })
    nc.publish(subject, typeof body === "string" ? sc.encode(body) : body, { reply: inbox })
  })

export const askJson = async (
  nc: NatsConnection,
  subject: string,
  body: Uint8Array | string
): Promise<Record<string, unknown>> => {
  const m = await ask(nc, subject, body)
  if (m === undefined) throw new Error(`no reply on ${subject}`)
  return JSON.parse(dc.decode(m.data)) as Record<string, unknown>
}

/** A reply reduced to what does not vary between servers or runs (no timestamps, no ids). */
export const replyOf = (m: Msg | undefined): unknown => {
  if (m === undefined) return "no reply"
  if (m.headers !== undefined && m.data.length === 0) return `status ${m.headers.code} ${m.headers.description}`
  if (m.headers !== undefined) return `message seq ${m.headers.get("Nats-Sequence")} ${dc.decode(m.data)}`.trimEnd()
  const text = dc.decode(m.data)
  if (!text.startsWith("{")) return `data ${text}` // a pull delivery
  const r = JSON.parse(text) as Record<string, unknown>
  if (r.error !== undefined) return r
  const out: Record<string, unknown> = { type: r.type }
  for (const k of ["success", "purged", "total", "offset", "limit"]) if (k in r) out[k] = r[k]
  if (Array.isArray(r.streams)) {
    out.streams = r.streams.map((s) => (typeof s === "string" ? s : (s as { config: { name: string } }).config.name))
  }
  if (Array.isArray(r.consumers)) {
    out.consumers = r.consumers.map((c) => (typeof c === "string" ? c : (c as { name: string }).name))
  }
  const msg = r.message as { seq?: number; subject?: string } | undefined
  if (msg !== undefined) out.message = `${msg.seq} ${msg.subject}`
  const state = r.state as { messages?: number } | undefined
  if (state !== undefined) out.messages = state.messages
  if (typeof r.name === "string") out.name = r.name
  return out
}

/**
 * A stream `name` (subjects `<name>.>`, file storage, direct get allowed) holding 10 messages on
 * `<name>.0` .. `<name>.2`, with a durable pull consumer `C` that has one delivered, unacked message.
 */
export const seed = async (nc: NatsConnection, name: string): Promise<void> => {
  await askJson(nc, `$JS.API.STREAM.DELETE.${name}`, "")
  const created = await askJson(
    nc,
    `$JS.API.STREAM.CREATE.${name}`,
    JSON.stringify({ name, subjects: [`${name}.>`], allow_direct: true })
  )
  if (created.error !== undefined) throw new Error(JSON.stringify(created.error))
  for (let i = 0; i < 10; i++) {
    const ack = await ask(nc, `${name}.${i % 3}`, `m${i}`)
    if (ack === undefined) throw new Error("no publish ack")
  }
  const consumer = await askJson(
    nc,
    `$JS.API.CONSUMER.DURABLE.CREATE.${name}.C`,
    JSON.stringify({ stream_name: name, config: { durable_name: "C", ack_policy: "explicit" } })
  )
  if (consumer.error !== undefined) throw new Error(JSON.stringify(consumer.error))
  const first = await ask(nc, `$JS.API.CONSUMER.MSG.NEXT.${name}.C`, JSON.stringify({ batch: 1, no_wait: true }))
  if (first === undefined || first.data.length === 0) throw new Error("no first delivery")
}

/** Everything an error reply must leave as it was: messages, sequences, consumers and their progress. */
export const snapshot = async (nc: NatsConnection, name: string): Promise<unknown> => {
  const info = await askJson(nc, `$JS.API.STREAM.INFO.${name}`, "")
  const st = info.state as Record<string, unknown> | undefined
  const names = await askJson(nc, `$JS.API.CONSUMER.NAMES.${name}`, "")
  const consumers: Record<string, unknown> = {}
  for (const c of (names.consumers as Array<string> | undefined) ?? []) {
    const ci = await askJson(nc, `$JS.API.CONSUMER.INFO.${name}.${c}`, "")
    const d = ci.delivered as Record<string, unknown>
    const a = ci.ack_floor as Record<string, unknown>
    consumers[c] = {
      delivered: [d.consumer_seq, d.stream_seq],
      ack_floor: [a.consumer_seq, a.stream_seq],
      num_pending: ci.num_pending,
      num_ack_pending: ci.num_ack_pending,
      num_redelivered: ci.num_redelivered,
      num_waiting: ci.num_waiting,
      config: ci.config
    }
  }
  const messages: Array<string> = []
  const last = typeof st?.last_seq === "number" ? st.last_seq : 0
  for (let seq = 1; seq <= last; seq++) {
    const m = await askJson(nc, `$JS.API.STREAM.MSG.GET.${name}`, JSON.stringify({ seq }))
    const msg = m.message as { subject: string; data?: string } | undefined
    messages.push(msg === undefined ? `${seq} -` : `${seq} ${msg.subject} ${msg.data ?? ""}`)
  }
  return {
    exists: info.error === undefined,
    state: st === undefined
      ? undefined
      : {
        messages: st.messages,
        first_seq: st.first_seq,
        last_seq: st.last_seq,
        num_deleted: st.num_deleted,
        consumer_count: st.consumer_count
      },
    messages,
    consumers
  }
}

/** Seeds `name`, sends `body` to `$JS.API.<op>` (with `{s}` standing for the stream name), and reports the reply and whether the state changed. */
export const probe = async (
  nc: NatsConnection,
  name: string,
  op: string,
  body: Uint8Array | string
): Promise<{ reply: unknown; changed: boolean }> => {
  await seed(nc, name)
  const before = JSON.stringify(await snapshot(nc, name))
  const reply = replyOf(await ask(nc, `$JS.API.${op.replaceAll("{s}", name)}`, body, 500))
  const after = JSON.stringify(await snapshot(nc, name))
  await askJson(nc, `$JS.API.STREAM.DELETE.${name}`, "")
  return { reply, changed: before !== after }
}

/**
 * Bodies nats-server 2.9.10 and the broker answer alike, by operation (`{s}` = the stream): wrong
 * types, negatives and fractions into uint64, exponents, numbers past the range, truncation, non-
 * objects, null, case-folded and duplicate keys, and the valid forms.
 */
export const sharedCases: ReadonlyArray<readonly [string, string]> = [
  ["STREAM.PURGE.{s}", `{"seq":"5"}`],
  ["STREAM.PURGE.{s}", `{"filter":5}`],
  ["STREAM.PURGE.{s}", `{"keep":"2"}`],
  ["STREAM.PURGE.{s}", `{"seq":-1}`],
  ["STREAM.PURGE.{s}", `{"seq":1.5}`],
  ["STREAM.PURGE.{s}", `{"seq":1e2}`],
  ["STREAM.PURGE.{s}", `{"seq":18446744073709551616}`],
  ["STREAM.PURGE.{s}", `{"keep":-1}`],
  ["STREAM.PURGE.{s}", `{"seq":`],
  ["STREAM.PURGE.{s}", `[1]`],
  ["STREAM.PURGE.{s}", `5`],
  ["STREAM.PURGE.{s}", `"a"`],
  ["STREAM.PURGE.{s}", `  `],
  ["STREAM.PURGE.{s}", `{"seq":2,"seq":"x"}`],
  ["STREAM.PURGE.{s}", `{"seq":1,"keep":1}`],
  ["STREAM.PURGE.{s}", `{"seq":null}`],
  ["STREAM.PURGE.{s}", `{"SEQ":4}`],
  ["STREAM.PURGE.{s}", `{"keep":3}`],
  ["STREAM.PURGE.{s}", `{"filter":"{s}.1"}`],
  ["STREAM.PURGE.{s}", `null`],
  ["STREAM.PURGE.{s}", ``],
  ["STREAM.PURGE.NOPE", `{"seq":"1"}`],
  ["STREAM.PURGE.NOPE", `{"seq":1,"keep":1}`],
  ["STREAM.MSG.GET.{s}", `{"seq":"5"}`],
  ["STREAM.MSG.GET.{s}", `{"seq":-1}`],
  ["STREAM.MSG.GET.{s}", `{"seq":1.5}`],
  ["STREAM.MSG.GET.{s}", `{"last_by_subj":5}`],
  ["STREAM.MSG.GET.{s}", `{"next_by_subj":"{s}.1","seq":"1"}`],
  ["STREAM.MSG.GET.{s}", `{"seq":`],
  ["STREAM.MSG.GET.{s}", ``],
  ["STREAM.MSG.GET.{s}", `null`],
  ["STREAM.MSG.GET.{s}", `{}`],
  ["STREAM.MSG.GET.{s}", `{"seq":3,"last_by_subj":"{s}.1"}`],
  ["STREAM.MSG.GET.{s}", `{"seq":3}`],
  ["STREAM.MSG.GET.{s}", `{"last_by_subj":"{s}.1"}`],
  ["STREAM.MSG.GET.{s}", `{"next_by_subj":"{s}.2","seq":4}`],
  ["STREAM.MSG.DELETE.{s}", `{"seq":"5"}`],
  ["STREAM.MSG.DELETE.{s}", `{"seq":-1}`],
  ["STREAM.MSG.DELETE.{s}", `{"no_erase":1,"seq":3}`],
  ["STREAM.MSG.DELETE.{s}", `{"seq":`],
  ["STREAM.MSG.DELETE.{s}", ``],
  ["STREAM.MSG.DELETE.{s}", `{}`],
  ["STREAM.MSG.DELETE.{s}", `{"seq":3,"no_erase":true}`],
  ["STREAM.INFO.{s}", `{"subjects_filter":5}`],
  ["STREAM.INFO.{s}", `{"deleted_details":1}`],
  ["STREAM.INFO.{s}", `{"offset":"1"}`],
  ["STREAM.INFO.{s}", `{"a":`],
  ["STREAM.INFO.{s}", `[]`],
  ["STREAM.INFO.{s}", `null`],
  ["STREAM.NAMES", `{"offset":1.5}`],
  ["STREAM.NAMES", `{"subject":5}`],
  ["STREAM.NAMES", `{`],
  ["STREAM.NAMES", `[]`],
  ["STREAM.NAMES", `{"offset":99999999999999999999}`],
  ["STREAM.NAMES", `{"offset":5}`],
  ["STREAM.NAMES", `{"subject":"{s}.1"}`],
  ["STREAM.LIST", `{"subject":5}`],
  ["STREAM.LIST", `{`],
  ["CONSUMER.NAMES.{s}", `{"offset":"1"}`],
  ["CONSUMER.NAMES.{s}", `{`],
  ["CONSUMER.NAMES.{s}", `null`],
  ["CONSUMER.NAMES.{s}", `{"offset":7}`],
  ["CONSUMER.LIST.{s}", `{`],
  ["CONSUMER.NAMES.NOPE", `{`],
  ["STREAM.DELETE.NOPE", `{`],
  ["STREAM.DELETE.NOPE", ` {} `],
  ["STREAM.DELETE.{s}", `{"a":1}`],
  ["STREAM.DELETE.{s}", `x`],
  ["CONSUMER.INFO.{s}.C", `{`],
  ["CONSUMER.INFO.{s}.C", `null`],
  ["CONSUMER.DELETE.{s}.C", `x`],
  ["CONSUMER.DELETE.{s}.C", `{"a":1}`],
  ["CONSUMER.CREATE.{s}", `{`],
  ["CONSUMER.CREATE.{s}", `{"stream_name":5}`],
  ["CONSUMER.CREATE.{s}", `{"stream_name":"{s}","config":{"durable_name":5}}`],
  ["DIRECT.GET.{s}", ``],
  ["DIRECT.GET.{s}", `{`],
  ["DIRECT.GET.{s}", `{"seq":"1"}`],
  ["DIRECT.GET.{s}", `{}`],
  ["DIRECT.GET.{s}", `null`],
  ["DIRECT.GET.{s}", `{"seq":1,"last_by_subj":"{s}.1"}`],
  ["DIRECT.GET.{s}", `{"seq":2}`],
  ["DIRECT.GET.{s}", `{"seq":99}`],
  ["CONSUMER.MSG.NEXT.{s}.C", `{"batch":"1"}`],
  ["CONSUMER.MSG.NEXT.{s}.C", `{"batch":1.5}`],
  ["CONSUMER.MSG.NEXT.{s}.C", `{"expires":-`],
  ["CONSUMER.MSG.NEXT.{s}.C", `{"batch":1,"no_wait":true}`],
  // A single server has no leaders to move: 10010 whatever the body or the stream.
  ["STREAM.LEADER.STEPDOWN.{s}", ``],
  ["STREAM.LEADER.STEPDOWN.NOPE", `{`],
  ["CONSUMER.LEADER.STEPDOWN.{s}.C", ``]
]
