/**
 * The Jepsen checker: a pure function of a run's history and the stream as read after it. What a
 * PubAck confirmed must be in the stream exactly once at the sequence it named, the stream must
 * hold 1..last without gaps and nothing nobody sent, PubAcks must follow real time (an ack seen
 * before another publish was sent names a lower sequence), and a consumer ack the server confirmed
 * must never be undone (no later pull gets that message again, the ack floor covers it).
 */
import type { ConsumerSnapshot, History, PublishRecord } from "./History.ts"

export type ViolationKind =
  | "lost"
  | "duplicated"
  | "misplaced"
  | "ack-conflict"
  | "gap"
  | "stale-info"
  | "phantom"
  | "reordered"
  | "lost-consumer-ack"
  | "acked-redelivered"
  | "consumer-skipped"
  | "ack-floor"

export interface Violation {
  readonly kind: ViolationKind
  readonly detail: string
}

export interface CheckResult {
  readonly valid: boolean
  /** Msg ids published (each retried until acked or the run ended). */
  readonly published: number
  readonly acked: number
  /** Acked ids missing from the stream. */
  readonly lost: number
  /** Ids stored more than once. */
  readonly duplicated: number
  /** Ids that never got a PubAck but are in the stream once (allowed: the ack was lost on the way). */
  readonly unackedPresent: number
  readonly unackedAbsent: number
  /** PubAcks with `duplicate: true` (a retry of a stored id, correctly deduplicated). */
  readonly dedupedRetries: number
  readonly streamMessages: number
  readonly confirmedConsumerAcks: number
  readonly violations: ReadonlyArray<Violation>
}

/** At most this many violations of one kind are listed (the counts above stay exact). */
const LIST_LIMIT = 20

export const check = (h: History): CheckResult => {
  const violations: Array<Violation> = []
  const listed = new Map<ViolationKind, number>()
  const violate = (kind: ViolationKind, detail: string) => {
    const n = listed.get(kind) ?? 0
    listed.set(kind, n + 1)
    if (n < LIST_LIMIT) violations.push({ kind, detail })
    else if (n === LIST_LIMIT) violations.push({ kind, detail: `... more ${kind} violations not listed` })
  }

  // Where each id is in the stream.
  const seqsOf = new Map<string, Array<number>>()
  const { stream } = h
  for (const [seq, id] of stream.bySeq) {
    if (id === undefined) continue
    const list = seqsOf.get(id)
    if (list === undefined) seqsOf.set(id, [seq])
    else list.push(seq)
  }

  // The stream: 1..last, every one readable.
  if (stream.lastSeq > 0 && stream.firstSeq !== 1) violate("gap", `first_seq is ${stream.firstSeq}, not 1`)
  if (stream.messages !== stream.lastSeq) {
    violate("gap", `the stream holds ${stream.messages} messages but its last seq is ${stream.lastSeq}`)
  }
  for (let seq = 1; seq <= stream.lastSeq; seq++) {
    if (!stream.bySeq.has(seq)) violate("gap", `seq ${seq} cannot be read`)
  }
  if (stream.beyondLast > 0) {
    violate(
      "stale-info",
      `stream info says last_seq ${stream.lastSeq}, but ${stream.beyondLast} more seq(s) after it can be read`
    )
  }

  const sent = new Map<string, PublishRecord>()
  for (const p of h.publishes) sent.set(p.msgId, p)
  for (const [seq, id] of stream.bySeq) {
    if (id === undefined || !sent.has(id)) violate("phantom", `seq ${seq} holds ${id ?? "no Nats-Msg-Id"}, never sent`)
  }

  let acked = 0
  let lost = 0
  let duplicated = 0
  let unackedPresent = 0
  let unackedAbsent = 0
  let dedupedRetries = 0
  const ackedSeq = new Map<string, number>()
  for (const p of h.publishes) {
    const at = seqsOf.get(p.msgId) ?? []
    if (at.length > 1) {
      duplicated++
      violate("duplicated", `${p.msgId} is stored at seqs ${at.join(", ")}`)
    }
    dedupedRetries += p.acks.filter((a) => a.duplicate).length
    if (p.acks.length === 0) {
      if (at.length === 0) unackedAbsent++
      else if (at.length === 1) unackedPresent++
      continue
    }
    acked++
    const seqs = [...new Set(p.acks.map((a) => a.seq))]
    if (seqs.length > 1) violate("ack-conflict", `${p.msgId} got PubAcks for seqs ${seqs.join(", ")}`)
    const seq = p.acks[0]!.seq
    ackedSeq.set(p.msgId, seq)
    if (at.length === 0) {
      lost++
      violate("lost", `${p.msgId} was acked at seq ${seq} and is not in the stream`)
    } else if (!at.includes(seq)) {
      violate("misplaced", `${p.msgId} was acked at seq ${seq} but is stored at ${at.join(", ")}`)
    }
  }

  // Real-time order: once an ack has been seen, every publish sent later is stored after it.
  const acks = h.publishes.filter((p) => ackedSeq.has(p.msgId)).map((p) => ({
    id: p.msgId,
    seq: ackedSeq.get(p.msgId)!,
    at: Math.min(...p.acks.map((a) => a.at)),
    sentAt: p.firstSentAt
  }))
  const byAck = [...acks].sort((a, b) => a.at - b.at)
  const bySent = [...acks].sort((a, b) => a.sentAt - b.sentAt)
  let i = 0
  let max: { id: string; seq: number } | undefined
  for (const b of bySent) {
    while (i < byAck.length && byAck[i]!.at < b.sentAt) {
      if (max === undefined || byAck[i]!.seq > max.seq) max = byAck[i]!
      i++
    }
    if (max !== undefined && b.seq <= max.seq) {
      violate("reordered", `${b.id} (seq ${b.seq}) was sent after ${max.id} was acked at seq ${max.seq}`)
    }
  }

  // Consumer: a confirmed ack is final.
  const confirmedAt = new Map<number, number>()
  const confirmedVia = new Map<number, string>()
  for (const a of h.confirmedAcks) {
    if (a.at < (confirmedAt.get(a.seq) ?? Infinity)) {
      confirmedAt.set(a.seq, a.at)
      confirmedVia.set(a.seq, a.via)
    }
  }
  const redelivered = new Set<number>()
  const rel = (t: number) => `${((t - h.startedAt) / 1000).toFixed(2)} s`
  for (const d of h.deliveries) {
    const c = confirmedAt.get(d.seq)
    if (c !== undefined && d.pulledAt > c && !redelivered.has(d.seq)) {
      redelivered.add(d.seq)
      // In the drain the durable's state itself forgot the ack; during the run a server that
      // should no longer serve the consumer (a woken zombie) may be what delivered it.
      violate(
        d.drain ? "lost-consumer-ack" : "acked-redelivered",
        `seq ${d.seq} was delivered again (delivery ${d.deliveryCount}${d.drain ? ", drain" : ""}) ` +
          `to a pull issued ${Math.round(d.pulledAt - c)} ms after its ack was confirmed ` +
          `(ack confirmed at ${rel(c)} via ${confirmedVia.get(d.seq)}, redelivered at ${rel(d.at)} via ${d.via})`
      )
    }
  }
  const floorViolation = (when: string, s: ConsumerSnapshot, expected: Partial<ConsumerSnapshot>) => {
    for (const [k, v] of Object.entries(expected) as Array<[keyof ConsumerSnapshot, number]>) {
      if (s[k] !== v) violate("ack-floor", `${when}: ${k} is ${s[k]}, expected ${v}`)
    }
  }
  if (h.consumerBefore !== undefined) {
    const asked = h.consumerBefore.at
    let prefix = 0
    while ((confirmedAt.get(prefix + 1) ?? Infinity) < asked) prefix++
    if (h.consumerBefore.ackFloor < prefix) {
      const { ackFloor, delivered, numAckPending, numPending } = h.consumerBefore
      violate(
        "ack-floor",
        `before the drain the ack floor is ${ackFloor}, but acks of 1..${prefix} were confirmed ` +
          `(delivered ${delivered}, ack pending ${numAckPending}, pending ${numPending})`
      )
    }
  }
  if (h.consumerAfter !== undefined) {
    const seen = new Set(h.deliveries.map((d) => d.seq))
    for (let seq = 1; seq <= stream.lastSeq; seq++) {
      if (!seen.has(seq)) violate("consumer-skipped", `seq ${seq} was never delivered to the durable`)
    }
    floorViolation("after the drain", h.consumerAfter, {
      ackFloor: stream.lastSeq,
      at: h.consumerAfter.at,
      delivered: stream.lastSeq,
      numAckPending: 0,
      numPending: 0
    })
  }

  return {
    valid: violations.length === 0,
    published: h.publishes.length,
    acked,
    lost,
    duplicated,
    unackedPresent,
    unackedAbsent,
    dedupedRetries,
    streamMessages: stream.messages,
    confirmedConsumerAcks: confirmedAt.size,
    violations
  }
}
