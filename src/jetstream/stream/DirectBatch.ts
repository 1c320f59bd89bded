/**
 * The replies to one (decoded) direct get, as nats-server 2.11 sends them: a single message, a
 * batch (`batch`, from `seq` / `start_time` / `next_by_subj`) closed by a `204 EOB` status, or the
 * last message per subject of `multi_last` (at or below `up_to_seq` / `up_to_time`) closed by a
 * `204 EOB` that also names the ceiling. Pure and synchronous over the log: the caller publishes.
 *
 * Batch replies carry `Nats-Num-Pending` (matching messages left after this one) and
 * `Nats-Last-Sequence` (the previous reply's sequence, 0 for the first), so a client can page.
 * `max_bytes` (default: the server's max_pending) counts subject + headers + data of each message
 * sent and stops once reached, the message that reaches it included.
 */
import { Buffer } from "node:buffer"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { toWire } from "../../subject/Subject.ts"
import { formatTime } from "../codec/Json.ts"
import type { DirectGetRequest } from "../model/DirectGetRequest.ts"
import { seqNumber } from "../model/Requests.ts"

/** One message of the reply stream: `data` is empty for a status. */
export interface DirectReply {
  readonly hdr: Uint8Array
  readonly data: Uint8Array
}

/** What direct get reads of its stream. */
export interface DirectGetSource {
  readonly name: string
  readonly store: MessageLog
}

/** nats-server's cap on `multi_last` answers (getDirectMulti's maxAllowedResponses). */
export const MULTI_LAST_MAX = 1024

const NONE = new Uint8Array(0)
const statusReply = (text: string, headers = ""): DirectReply => ({
  hdr: Buffer.from(`NATS/1.0 ${text}\r\n${headers}\r\n`, "latin1"),
  data: NONE
})
export const NOT_FOUND = statusReply("404 Message Not Found")
const NO_RESULTS = statusReply("404 No Results")
const TOO_MANY = statusReply("413 Too Many Results")

/** The stored message with the direct get headers appended (and the batch ones when `pending` is set). */
export const messageReply = (
  stream: string,
  m: StoredMessage,
  batch?: { readonly pending: number; readonly last: number }
): DirectReply => {
  let lines = `Nats-Stream: ${stream}\r\nNats-Subject: ${m.subject}\r\nNats-Sequence: ${m.seq}\r\nNats-Time-Stamp: ${
    formatTime(m.ts)
  }\r\n`
  if (batch !== undefined) lines += `Nats-Num-Pending: ${batch.pending}\r\nNats-Last-Sequence: ${batch.last}\r\n`
  lines += "\r\n"
  if (m.hdr === undefined || m.hdr.length <= 2) {
    return { hdr: Buffer.from(`NATS/1.0\r\n${lines}`, "latin1"), data: m.data }
  }
  // Keep the stored headers and append ours before the terminating blank line.
  const stored = Buffer.from(m.hdr.buffer, m.hdr.byteOffset, m.hdr.length - 2)
  return { hdr: Buffer.concat([stored, Buffer.from(lines, "latin1")]), data: m.data }
}

/** 2.12 `no_hdr`: the payload alone, as a message without a header block. */
const payloadReply = (m: StoredMessage): DirectReply => ({ hdr: NONE, data: m.data })

const sizeOf = (m: StoredMessage) => m.subject.length + (m.hdr?.length ?? 0) + m.data.length

/** nats-server's GetSeqFromTime: the first sequence stamped at or after `ns`, else one past the last. */
const seqFromTime = (store: MessageLog, ns: bigint): number =>
  store.firstSeqAtOrAfterTime(ns) ?? store.lastSequence() + 1

export const answerDirectGet = (src: DirectGetSource, req: DirectGetRequest, maxPending: number): Array<DirectReply> =>
  req.multi_last.length > 0 ? multiLast(src, req, maxPending) : batchOrSingle(src, req, maxPending)

const byteLimit = (req: DirectGetRequest, maxPending: number): number =>
  req.max_bytes === 0n ? maxPending : Number(req.max_bytes)

const batchOrSingle = (src: DirectGetSource, req: DirectGetRequest, maxPending: number): Array<DirectReply> => {
  const { store, name } = src
  let seq = req.start_time !== undefined ? seqFromTime(store, req.start_time) : seqNumber(req.seq)
  const next = req.next_by_subj === "" ? "" : toWire(req.next_by_subj)
  const isBatch = req.batch !== 0n
  const batch = isBatch ? Number(req.batch) : 1
  const pendingFrom = (from: number) => store.countMatching(Math.max(from, 1), next === "" ? ">" : next)
  let pending = isBatch ? pendingFrom(seq) : 0
  const limit = byteLimit(req, maxPending)
  const out: Array<DirectReply> = []
  let last = 0
  let sent = 0
  for (let i = 0; i < batch; i++) {
    let m: StoredMessage | undefined
    if (seq > 0 && next === "") {
      if (i === 0 && !isBatch) m = store.get(seq)
      else {
        const s = store.firstSeqMatching(seq, ">")
        m = s === undefined ? undefined : store.get(s)
      }
    } else if (next !== "") {
      const s = store.firstSeqMatching(Math.max(seq, 1), next)
      m = s === undefined ? undefined : store.get(s)
    } else {
      m = store.lastBySubject(toWire(req.last_by_subj))
    }
    if (m === undefined) {
      // A batch that found its first message ends with the EOB below; otherwise nothing was found.
      if (batch > 1 && i > 0) break
      return [NOT_FOUND]
    }
    seq = m.seq + 1
    // nats-server counts a batch's pending down only for the replies that carry it.
    if (req.no_hdr) out.push(payloadReply(m))
    else if (isBatch) {
      if (pending > 0) pending--
      out.push(messageReply(name, m, { pending, last }))
    } else out.push(messageReply(name, m))
    last = m.seq
    sent += sizeOf(m)
    if (sent >= limit) break
  }
  if (isBatch) out.push(statusReply("204 EOB", `Nats-Num-Pending: ${pending}\r\nNats-Last-Sequence: ${last}\r\n`))
  return out
}

/** The sequence of each subject's last message at or below `upTo`, for the subjects matching any filter. */
const lastSequences = (store: MessageLog, filters: ReadonlyArray<string>, upTo: number): Array<number> | undefined => {
  const seqs = new Set<number>()
  const seen = new Set<string>()
  const first = store.firstSequence()
  for (const f of filters) {
    // nats-server's subject tree matches nothing for an empty filter (our store would match all).
    if (f === "") continue
    for (const subject of store.subjectCounts(toWire(f)).keys()) {
      if (seen.has(subject)) continue
      seen.add(subject)
      const lastMsg = store.lastBySubject(subject)
      if (lastMsg === undefined) continue
      if (lastMsg.seq <= upTo) seqs.add(lastMsg.seq)
      else {
        // Rare (an explicit ceiling below the subject's last): walk the subject forward to the ceiling.
        let best: number | undefined
        for (let s = store.firstSeqMatching(first, subject); s !== undefined && s <= upTo;) {
          best = s
          s = store.firstSeqMatching(s + 1, subject)
        }
        if (best !== undefined) seqs.add(best)
      }
    }
    if (seqs.size > MULTI_LAST_MAX) return undefined
  }
  return [...seqs].sort((a, b) => a - b)
}

const multiLast = (src: DirectGetSource, req: DirectGetRequest, maxPending: number): Array<DirectReply> => {
  const { store, name } = src
  let upTo = seqNumber(req.up_to_seq)
  if (req.up_to_time !== undefined) {
    // The first sequence at or after the time is the first one past the ceiling.
    const at = seqFromTime(store, req.up_to_time)
    if (at <= store.firstSequence()) return [NO_RESULTS]
    upTo = at - 1
  }
  if (upTo === 0) upTo = store.lastSequence()
  const seqs = lastSequences(store, req.multi_last, upTo)
  if (seqs === undefined) return [TOO_MANY]
  if (seqs.length === 0) return [NO_RESULTS]
  const limit = byteLimit(req, maxPending)
  const min = seqNumber(req.seq)
  const out: Array<DirectReply> = []
  let pending = seqs.length
  let last = 0
  let bytes = 0
  let sent = 0
  for (const s of seqs) {
    if (pending > 0) pending--
    if (s < min) continue
    const m = store.get(s)
    if (m === undefined) {
      // Unreachable while reads are synchronous; nats-server ends what it sent with a 404.
      out.push(NOT_FOUND)
      return out
    }
    out.push(messageReply(name, m, { pending, last }))
    last = m.seq
    bytes += sizeOf(m)
    if (bytes >= limit) break
    sent++
    if (req.batch > 0n && sent >= req.batch) break
  }
  out.push(
    statusReply(
      "204 EOB",
      `Nats-Num-Pending: ${pending}\r\nNats-Last-Sequence: ${last}\r\nNats-UpTo-Sequence: ${upTo}\r\n`
    )
  )
  return out
}
