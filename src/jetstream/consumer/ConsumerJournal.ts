/**
 * Event-sourced consumer progress. The actor records one event per state change (delivery, ack,
 * ack-all, give-up) and appends them to the consumer's event log once per batch; the log's state
 * is the fold of those events over an AckState, snapshotted every N events so restart cost stays
 * bounded. On restart the actor starts from that fold: what was acked stays acked.
 *
 * NAK, +WPI and timers change only deadlines, which are not persisted: after a restart every
 * pending message simply waits one fresh ack_wait before redelivery.
 */
import { Effect, Schema } from "effect"
import type { EventLog } from "../../store/EventLog.ts"
import { writeDecimal } from "../codec/Decimal.ts"
import { AckState, decodeAckState, encodeAckState } from "./AckState.ts"

const Seq = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/**
 * A run of consecutive deliveries or acks is one event: `n` of them, at sequences `s`, `s+1`, ... (and, for acks,
 * consumer sequences `d`, `d+1`, ...). A drain delivers and acks in order, and an event per message was the
 * largest share of a push consumer's cost. A run of one is written without `n`, as every event was before runs
 * existed, so older journals read back unchanged.
 */
export const MAX_RUN = 65_536
const Run = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(2), Schema.isLessThanOrEqualTo(MAX_RUN))

/** The journal's events as stored (decoded strictly when read back: a wrong shape is a Corrupt journal). */
export const ConsumerEvent = Schema.Union([
  /** Delivery of stream seq `s` (and the `n - 1` after it); `t` = tracked (ack policy other than none). */
  Schema.Struct({ e: Schema.Literal("d"), s: Seq, t: Schema.Literals([0, 1]), n: Schema.optionalKey(Run) }),
  /** Explicit ack (or term) of stream seq `s` delivered as consumer seq `d` (and the `n - 1` after them). */
  Schema.Struct({ e: Schema.Literal("a"), s: Seq, d: Seq, n: Schema.optionalKey(Run) }),
  /** Ack-all up to stream seq `s` / consumer seq `d`. */
  Schema.Struct({ e: Schema.Literal("A"), s: Seq, d: Seq }),
  /** max_deliver gave up on `s`. */
  Schema.Struct({ e: Schema.Literal("g"), s: Seq }),
  /** CONSUMER.RESET to stream seq `s` (2.14): everything before it forgotten. */
  Schema.Struct({ e: Schema.Literal("r"), s: Seq })
])
export type ConsumerEvent = typeof ConsumerEvent.Type

export const foldConsumer = (state: AckState, ev: ConsumerEvent): AckState => {
  switch (ev.e) {
    case "d": {
      const n = ev.n ?? 1
      for (let i = 0; i < n; i++) state.onDeliver(ev.s + i, 0, 0, ev.t === 1)
      break
    }
    case "a": {
      const n = ev.n ?? 1
      for (let i = 0; i < n; i++) state.ack(ev.s + i, ev.d + i, 0)
      break
    }
    case "A":
      state.ackUpTo(ev.s, ev.d, 0)
      break
    case "g":
      state.giveUp(ev.s)
      break
    case "r":
      state.reset(ev.s)
      break
  }
  return state
}

/** Throws on anything but a well-formed event (the event log turns that into Corrupt naming the journal). */
const decodeEvent = Schema.decodeUnknownSync(ConsumerEvent, { onExcessProperty: "error" })

const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0
const isRun = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 2 && v <= MAX_RUN

/**
 * The well-formed events, recognised without the schema machinery (replaying a journal is one decode per event,
 * and the generic decode was ~20 us each). Accepts exactly what `ConsumerEvent` accepts: the tag, its keys and
 * no others, non-negative integers. Anything else goes to the schema, which throws its precise error.
 */
const wellFormed = (u: unknown): ConsumerEvent | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const o = u as {
    readonly e?: unknown
    readonly s?: unknown
    readonly t?: unknown
    readonly d?: unknown
    readonly n?: unknown
  }
  if (!isSeq(o.s)) return undefined
  const keys = Object.keys(o).length
  // A run's count, when present: it takes the fourth key.
  const run = "n" in o
  if (run && !isRun(o.n)) return undefined
  switch (o.e) {
    case "d":
      if (keys !== (run ? 4 : 3) || (o.t !== 0 && o.t !== 1)) return undefined
      return run ? { e: "d", s: o.s, t: o.t, n: o.n as number } : { e: "d", s: o.s, t: o.t }
    case "a":
      if (keys !== (run ? 4 : 3) || !isSeq(o.d)) return undefined
      return run ? { e: "a", s: o.s, d: o.d, n: o.n as number } : { e: "a", s: o.s, d: o.d }
    case "A":
      return keys === 3 && !run && isSeq(o.d) ? { e: o.e, s: o.s, d: o.d } : undefined
    case "g":
    case "r":
      return keys === 2 && !run ? { e: o.e, s: o.s } : undefined
    default:
      return undefined
  }
}

/**
 * `JSON.stringify(ev)` written straight as bytes: two events per message (delivery, ack) go through here, and
 * building their text with the generic stringify was the largest single cost of a push drain. Same text, same key
 * order; sequences are safe integers, which JSON writes as plain digits.
 */
export const writeEvent = {
  maxBytes: 80,
  write: (ev: ConsumerEvent, out: Uint8Array, at: number): number => {
    let p = ascii(out, at, OPEN[ev.e])
    p = writeDecimal(out, p, ev.s)
    switch (ev.e) {
      case "d":
        p = ascii(out, p, T_KEY)
        p = writeDecimal(out, p, ev.t)
        if (ev.n !== undefined) p = writeDecimal(out, ascii(out, p, N_KEY), ev.n)
        break
      case "a":
        p = ascii(out, p, D_KEY)
        p = writeDecimal(out, p, ev.d)
        if (ev.n !== undefined) p = writeDecimal(out, ascii(out, p, N_KEY), ev.n)
        break
      case "A":
        p = ascii(out, p, D_KEY)
        p = writeDecimal(out, p, ev.d)
        break
      case "g":
      case "r":
        break
    }
    out[p] = 125 // }
    return p + 1
  }
}

const OPEN: { readonly [E in ConsumerEvent["e"]]: string } = {
  d: `{"e":"d","s":`,
  a: `{"e":"a","s":`,
  A: `{"e":"A","s":`,
  g: `{"e":"g","s":`,
  r: `{"e":"r","s":`
}
const T_KEY = `,"t":`
const D_KEY = `,"d":`
const N_KEY = `,"n":`

const ascii = (out: Uint8Array, at: number, text: string): number => {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i)
  return at + text.length
}

/** Journals a delivery, extending the run of consecutive deliveries the batch's last event holds. */
export const recordDelivery = (events: Array<ConsumerEvent>, sseq: number, t: 0 | 1): void => {
  const last = events[events.length - 1]
  if (last !== undefined && last.e === "d" && last.t === t) {
    const n = last.n ?? 1
    if (last.s + n === sseq && n < MAX_RUN) {
      // Safe to change: the batch's events are handed to the journal only when the batch ends.
      ;(last as { n?: number }).n = n + 1
      return
    }
  }
  events.push({ e: "d", s: sseq, t })
}

/** Journals an explicit ack, extending a run of in-order acks as `recordDelivery` does. */
export const recordAck = (events: Array<ConsumerEvent>, sseq: number, dseq: number): void => {
  const last = events[events.length - 1]
  if (last !== undefined && last.e === "a") {
    const n = last.n ?? 1
    if (last.s + n === sseq && last.d + n === dseq && n < MAX_RUN) {
      ;(last as { n?: number }).n = n + 1
      return
    }
  }
  events.push({ e: "a", s: sseq, d: dseq })
}

export const journalOptions = (startSeq: number) => ({
  initial: new AckState(startSeq),
  fold: foldConsumer,
  decodeEvent: (u: unknown): ConsumerEvent => wellFormed(u) ?? decodeEvent(u),
  writeEvent,
  decodeState: decodeAckState,
  encodeState: encodeAckState,
  snapshotEvery: 25_000,
  weight: (e: ConsumerEvent): number => ("n" in e && e.n !== undefined ? e.n : 1)
})

/**
 * The failure each journal is currently in (a full disk fails every batch until space is freed):
 * reported when it starts or changes, not once per batch.
 */
const troubles = new WeakMap<object, string>()

const report = (journal: object, what: string, failed: (what: string) => void): void => {
  if (troubles.get(journal) === what) return
  troubles.set(journal, what)
  failed(what)
}

/**
 * End of a consumer batch: append its events, and confirm double acks only once they are durable
 * (without a journal, at once). If progress cannot be recorded, nothing is confirmed.
 */
export const persistBatch = (
  journal: EventLog<AckState, ConsumerEvent> | undefined,
  events: ReadonlyArray<ConsumerEvent>,
  replies: ReadonlyArray<string>,
  on: { readonly confirm: (reply: string) => void; readonly failed: (what: string) => void }
): Effect.Effect<void> => {
  const confirm = Effect.sync(() => {
    for (const r of replies) on.confirm(r)
  })
  if (journal === undefined) return confirm
  if (events.length > 0) {
    try {
      journal.append(events)
    } catch (e) {
      report(journal, `could not journal progress: ${String(e)}`, on.failed)
      return Effect.void
    }
    troubles.delete(journal)
  }
  if (replies.length === 0) return Effect.void
  return journal.sync().pipe(
    Effect.andThen(confirm),
    Effect.catch((e) => Effect.sync(() => report(journal, `journal sync failed: ${e.message}`, on.failed)))
  )
}
