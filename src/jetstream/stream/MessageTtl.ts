/**
 * Per-message TTL (ADR-43, nats-server 2.11): the `Nats-TTL` header, and the schedule that removes
 * messages when their TTL or the stream's max_age runs out.
 *
 * The schedule lives beside the store, not in it: it is rebuilt from the stored headers whenever it
 * is needed and missing (actor start, restart of a file stream, `allow_msg_ttl` turned on), so the
 * stores stay unaware of headers. With TTLs on, max_age is applied here too, because a `never`
 * message outlives max_age and an age removal may leave a delete marker (DeleteMarker.ts).
 */
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { parseGoDuration } from "../codec/GoTime.ts"
import { markerFor } from "./DeleteMarker.ts"
import { TimeHeap } from "./TimeHeap.ts"

export const TTL_HEADER = "Nats-TTL"
/** The TTL of a message that no age limit removes. */
export const NEVER = -1
const NS_PER_SEC = 1_000_000_000n

/**
 * nats-server parseMessageTTL: whole seconds (> 0), NEVER, 0 for no TTL, or undefined when the value
 * is invalid (unparsable, or a duration under one second). A bare integer is seconds; a Go duration
 * is truncated to seconds.
 */
export const parseMessageTtl = (value: string): number | undefined => {
  if (value.toLowerCase() === "never") return NEVER
  const ms = parseGoDuration(value)
  if (ms !== undefined) return ms < 1000 ? undefined : Math.trunc(ms / 1000)
  // Go's parseInt64 takes digits only (so "00" is a TTL of 0, i.e. none).
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined
}

/** The TTL a header block asks for (see parseMessageTtl); 0 without a `Nats-TTL` header. */
export const ttlOf = (hdr: Uint8Array | undefined): number | undefined => {
  if (hdr === undefined) return 0
  const v = headerValue(hdr, TTL_HEADER)
  return v === undefined || v === "" ? 0 : parseMessageTtl(v)
}

/** The header block with its `Nats-TTL` replaced by `seconds` (appended last, as nats-server does). */
export const withTtlSeconds = (hdr: Uint8Array, seconds: number): Uint8Array => {
  const text = Buffer.from(hdr.buffer, hdr.byteOffset, hdr.length).toString("latin1")
  const lines = text.slice(0, -4).split("\r\n").filter((l, i) => i === 0 || !/^nats-ttl:/i.test(l))
  return Buffer.from(`${lines.join("\r\n")}\r\n${TTL_HEADER}: ${seconds}\r\n\r\n`, "latin1")
}

/**
 * The TTL a publish is stored with, after nats-server's floor: with delete markers on (and more than
 * one message per subject), no TTL may be shorter than the markers', or a marker could outlive the
 * message that replaced it. Returns the seconds and the header block to store.
 */
export const effectiveTtl = (
  hdr: Uint8Array,
  ttl: number,
  markerTtlNs: number,
  maxMsgsPerSubject: number
): { readonly ttl: number; readonly hdr: Uint8Array } => {
  const floor = Math.trunc(markerTtlNs / 1e9)
  if (ttl <= 0 || markerTtlNs <= 0 || maxMsgsPerSubject === 1 || ttl >= floor) return { ttl, hdr }
  return { ttl: floor, hdr: withTtlSeconds(hdr, floor) }
}

interface Entry {
  readonly at: bigint
  readonly seq: number
  /** The message's timestamp: a sequence taken back and appended again is another message. */
  readonly ts: bigint
}

/**
 * When each message of a TTL-enabled stream goes: its own deadline (the heap) or max_age (a scan
 * from the head that steps over `never` messages). Arms one timer for the nearest deadline.
 */
export class MessageExpiry {
  private readonly heap = new TimeHeap<Entry>()
  /** Every live message below this sequence is a `never` message (so age scans start here). */
  private ageFrom = 0
  private built = false
  private armedAt: bigint | undefined
  private cancel: (() => void) | undefined

  private readonly nowNs: () => bigint
  /** Runs `f` after `ms` on the broker clock; returns a cancel function. */
  private readonly schedule: (ms: number, f: () => void) => () => void
  /** Called when a deadline may have passed (the actor then calls `expire`). */
  private readonly fire: () => void

  constructor(nowNs: () => bigint, schedule: (ms: number, f: () => void) => () => void, fire: () => void) {
    this.nowNs = nowNs
    this.schedule = schedule
    this.fire = fire
  }

  /** Deadlines held (some may be of messages removed since). */
  get scheduled(): number {
    return this.heap.size
  }

  /** A message stored with a TTL of `ttl` seconds (> 0). */
  track(seq: number, ts: bigint, ttl: number): void {
    this.heap.push({ at: ts + BigInt(ttl) * NS_PER_SEC, seq, ts })
  }

  /** Builds the schedule from the stored headers unless it is built already. */
  ensureBuilt(store: MessageLog): void {
    if (this.built) return
    this.built = true
    this.heap.clear()
    this.ageFrom = 0
    const last = store.lastSequence()
    for (let s = store.firstSeqMatching(store.firstSequence(), ">"); s !== undefined && s <= last;) {
      const m = store.get(s)
      const ttl = m === undefined ? 0 : ttlOf(m.hdr) ?? 0
      if (m !== undefined && ttl > 0) this.track(m.seq, m.ts, ttl)
      s = store.firstSeqMatching(s + 1, ">")
    }
  }

  /** Forgets the schedule (TTLs turned off); the next `ensureBuilt` reads the headers again. */
  reset(): void {
    if (!this.built) return
    this.built = false
    this.heap.clear()
    this.disarm()
  }

  /** The messages whose TTL or max_age has run out at `now`, in sequence order. */
  due(store: MessageLog, maxAgeNs: bigint, now: bigint): Array<StoredMessage> {
    const out = new Map<number, StoredMessage>()
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop()
      const m = store.get(top.seq)
      if (m !== undefined && m.ts === top.ts) out.set(m.seq, m)
    }
    if (maxAgeNs > 0n) {
      const cutoff = now - maxAgeNs
      this.scanAge(store, (m) => {
        if (m.ts > cutoff) return false
        out.set(m.seq, m)
        return true
      })
    }
    return [...out.values()].sort((a, b) => a.seq - b.seq)
  }

  /**
   * Removes what is due at `now` (building the schedule first when needed) and arms the timer for
   * what is next. A subject's last message is replaced by a marker when `place` stores one (the
   * actor publishes it as a roll-up of the subject); otherwise, or if that fails, it is removed.
   * Returns the number of messages expired.
   */
  expire(
    store: MessageLog,
    maxAgeNs: bigint,
    markerTtlNs: number,
    now: bigint,
    place: (subject: string, marker: Uint8Array) => boolean
  ): number {
    // Removals elsewhere (limits, purge, delete) leave their entries: past twice the live count
    // (plus slack), the schedule is read again from what is stored.
    if (this.heap.size > 2 * store.state().msgs + 1024) this.built = false
    this.ensureBuilt(store)
    let n = 0
    for (const m of this.due(store, maxAgeNs, now)) {
      if (store.get(m.seq) === undefined) continue
      const marker = markerFor(m, markerTtlNs, store)
      if (marker === undefined || !place(m.subject, marker) || store.get(m.seq) !== undefined) store.remove(m.seq)
      n++
    }
    this.rearm(store, maxAgeNs)
    return n
  }

  /** Arms the timer for the nearest deadline (an earlier one replaces a later one). */
  rearm(store: MessageLog, maxAgeNs: bigint): void {
    let next = this.heap.peek()?.at
    if (maxAgeNs > 0n) {
      this.scanAge(store, (m) => {
        const at = m.ts + maxAgeNs
        if (next === undefined || at < next) next = at
        return false
      })
    }
    if (next === undefined) return this.disarm()
    if (this.armedAt !== undefined && this.armedAt <= next) return
    this.disarm()
    this.armedAt = next
    // Whole milliseconds, rounded up: the clock must have reached the deadline when the timer runs.
    const ms = Number((next - this.nowNs() + 999_999n) / 1_000_000n)
    this.cancel = this.schedule(Math.max(0, ms), () => {
      this.armedAt = undefined
      this.cancel = undefined
      this.fire()
    })
  }

  disarm(): void {
    this.cancel?.()
    this.cancel = undefined
    this.armedAt = undefined
  }

  /**
   * Visits live non-`never` messages from the head while `visit` returns true. The `never` messages
   * before the first visited one are stepped over for good: no age limit ever removes them.
   */
  private scanAge(store: MessageLog, visit: (m: StoredMessage) => boolean): void {
    let prefix = true
    const last = store.lastSequence()
    let s = store.firstSeqMatching(Math.max(this.ageFrom, store.firstSequence()), ">")
    while (s !== undefined && s <= last) {
      const m = store.get(s)
      if (m !== undefined) {
        if (ttlOf(m.hdr) === NEVER) {
          if (prefix) this.ageFrom = s + 1
        } else {
          prefix = false
          if (!visit(m)) return
        }
      }
      s = store.firstSeqMatching(s + 1, ">")
    }
  }
}
