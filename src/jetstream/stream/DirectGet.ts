/**
 * Direct get (`$JS.API.DIRECT.GET.<stream>[.<subject>]`): answered inline from the router callback,
 * without the stream's mailbox, because it only reads the log. Replies are the stored message with
 * `Nats-Stream` / `Nats-Subject` / `Nats-Sequence` / `Nats-Time-Stamp` headers, or a 404/408 status,
 * byte-compatible with nats-server 2.9.10.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Subscription } from "../../core/Router.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { toWire } from "../../subject/Subject.ts"
import { formatTime } from "../codec/Json.ts"
import { directGetRequest, type MsgGetRequest, seqNumber } from "../model/Requests.ts"

const status = (text: string) => Buffer.from(`NATS/1.0 ${text}\r\n\r\n`, "latin1")
const NOT_FOUND = status("404 Message Not Found")
const BAD_REQUEST = status("408 Bad Request")

const reply = (client: InternalClient, to: string, hdr: Uint8Array, data?: Uint8Array) => {
  const msg = data === undefined || data.length === 0 ? hdr : Buffer.concat([hdr, data])
  client.publish(to, undefined, hdr.length, msg)
}

/** What direct get reads of its stream (the actor, seen structurally: the actor owns this module). */
export interface DirectGetSource {
  readonly name: string
  readonly store: MessageLog
}

export const directReply = (actor: DirectGetSource, m: StoredMessage): { hdr: Uint8Array; data: Uint8Array } => {
  const lines =
    `Nats-Stream: ${actor.name}\r\nNats-Subject: ${m.subject}\r\nNats-Sequence: ${m.seq}\r\nNats-Time-Stamp: ${
      formatTime(m.ts)
    }\r\n\r\n`
  if (m.hdr === undefined || m.hdr.length <= 2) {
    return { hdr: Buffer.from(`NATS/1.0\r\n${lines}`, "latin1"), data: m.data }
  }
  // Keep the stored headers and append ours before the terminating blank line.
  const stored = Buffer.from(m.hdr.buffer, m.hdr.byteOffset, m.hdr.length - 2)
  return { hdr: Buffer.concat([stored, Buffer.from(lines, "latin1")]), data: m.data }
}

/**
 * Subscribes the stream's direct get subjects; returns the subscriptions to remove later. A mirror
 * with `mirror_direct` also answers for its origin (`forStream`), in the same queue group, so
 * direct gets spread over the origin and its mirrors (the replies name the stream that answered).
 */
export const subscribeDirectGet = (
  actor: DirectGetSource,
  client: InternalClient,
  forStream: string = actor.name
): Array<Subscription> => {
  const base = `$JS.API.DIRECT.GET.${forStream}`
  const subs: Array<Subscription | undefined> = [
    client.subscribe(base, (_s, to, hdrLen, msg) => {
      if (to === undefined) return
      const body = hdrLen > 0 ? msg.subarray(hdrLen) : msg
      const req = directGetRequest(body)
      if ("status" in req) return reply(client, to, status(req.status))
      const m = lookupMessage(actor, req)
      if (m === undefined) return reply(client, to, NOT_FOUND)
      const r = directReply(actor, m)
      reply(client, to, r.hdr, r.data)
    }, "_sys_"),
    client.subscribe(`${base}.>`, (subject, to, hdrLen, msg) => {
      if (to === undefined) return
      const body = hdrLen > 0 ? msg.subarray(hdrLen) : msg
      if (body.length !== 0) return reply(client, to, BAD_REQUEST)
      const key = subject.slice(base.length + 1)
      if (key === "") return reply(client, to, BAD_REQUEST)
      const m = actor.store.lastBySubject(key)
      if (m === undefined) return reply(client, to, NOT_FOUND)
      const r = directReply(actor, m)
      reply(client, to, r.hdr, r.data)
    }, "_sys_")
  ]
  return subs.filter((s): s is Subscription => s !== undefined)
}

/** Shared by STREAM.MSG.GET and DIRECT.GET: find the message a (validated) get request names. */
export const lookupMessage = (
  actor: { readonly store: MessageLog },
  req: MsgGetRequest
) => {
  const seq = seqNumber(req.seq)
  if (seq > 0 && req.next_by_subj === "") return actor.store.get(seq)
  if (req.next_by_subj !== "") {
    const s = actor.store.firstSeqMatching(seq, toWire(req.next_by_subj))
    return s === undefined ? undefined : actor.store.get(s)
  }
  return actor.store.lastBySubject(toWire(req.last_by_subj))
}
