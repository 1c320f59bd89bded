/**
 * Direct get (`$JS.API.DIRECT.GET.<stream>[.<subject>]`): answered inline from the router callback,
 * without the stream's mailbox, because it only reads the log. Replies are the stored message with
 * `Nats-Stream` / `Nats-Subject` / `Nats-Sequence` / `Nats-Time-Stamp` headers, or a 404/408 status,
 * byte-compatible with nats-server 2.9.10; 2.11's batch forms are in DirectBatch.ts.
 */
import { Buffer } from "node:buffer"
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Subscription } from "../../core/Router.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { toWire } from "../../subject/Subject.ts"
import { refusesApiLevel } from "../model/ApiLevel.ts"
import { directGetBySubjectRequest, type DirectGetDecoded, directGetRequest } from "../model/DirectGetRequest.ts"
import { type MsgGetRequest, seqNumber } from "../model/Requests.ts"
import { answerDirectGet, type DirectGetSource, messageReply } from "./DirectBatch.ts"

export type { DirectGetSource } from "./DirectBatch.ts"

const status = (text: string) => Buffer.from(`NATS/1.0 ${text}\r\n\r\n`, "latin1")
const LEVEL_REFUSED = status("412 Required Api Level")

/** nats-server's default max_pending, the batch byte limit when the stream is not told the server's. */
const DEFAULT_MAX_PENDING = 64 * 1024 * 1024

const reply = (client: InternalClient, to: string, hdr: Uint8Array, data?: Uint8Array) => {
  // No header block at all (a `no_hdr` reply) is a plain MSG, as nats-server sends it.
  if (hdr.length === 0) return void client.publish(to, undefined, -1, data ?? hdr)
  const msg = data === undefined || data.length === 0 ? hdr : Buffer.concat([hdr, data])
  client.publish(to, undefined, hdr.length, msg)
}

export const directReply = (
  actor: { readonly name: string },
  m: StoredMessage
): { hdr: Uint8Array; data: Uint8Array } => messageReply(actor.name, m)

/**
 * Subscribes the stream's direct get subjects; returns the subscriptions to remove later. A mirror
 * with `mirror_direct` also answers for its origin (`forStream`), in the same queue group, so
 * direct gets spread over the origin and its mirrors (the replies name the stream that answered).
 */
export const subscribeDirectGet = (
  actor: DirectGetSource,
  client: InternalClient,
  forStream: string = actor.name,
  maxPending: number = DEFAULT_MAX_PENDING
): Array<Subscription> => {
  const base = `$JS.API.DIRECT.GET.${forStream}`
  const answer = (to: string, hdrLen: number, msg: Uint8Array, decode: (body: Uint8Array) => DirectGetDecoded) => {
    if (hdrLen > 0 && refusesApiLevel(msg.subarray(0, hdrLen))) return reply(client, to, LEVEL_REFUSED)
    const req = decode(hdrLen > 0 ? msg.subarray(hdrLen) : msg)
    if ("status" in req) return reply(client, to, status(req.status))
    for (const r of answerDirectGet(actor, req, maxPending)) reply(client, to, r.hdr, r.data)
  }
  const subs: Array<Subscription | undefined> = [
    client.subscribe(base, (_s, to, hdrLen, msg) => {
      if (to !== undefined) answer(to, hdrLen, msg, directGetRequest)
    }, "_sys_"),
    client.subscribe(`${base}.>`, (subject, to, hdrLen, msg) => {
      if (to !== undefined) {
        answer(to, hdrLen, msg, (body) => directGetBySubjectRequest(body, subject.slice(base.length + 1)))
      }
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
