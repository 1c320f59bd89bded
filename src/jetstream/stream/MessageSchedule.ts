/**
 * Message schedules (ADR-51; nats-server 2.12 `@at`, 2.14 cron, `@every`, time zones, roll-up and
 * source sampling): a message with a `Nats-Schedule` header is a schedule, and the stream publishes
 * a new message to its `Nats-Schedule-Target` when it is due.
 *
 * A schedule's state is the stream itself, as in nats-server: the last schedule message stored on a
 * subject is that subject's schedule, and a produced message's `Nats-Schedule-Next` header moves it
 * on (`purge` ends it, and the store purges the schedule's subject). The timers are rebuilt from the
 * stored messages by replaying those rules in sequence order (actor start, restart), so a restart
 * changes no firing time, and a firing that fell into downtime runs once on recovery (nats-server
 * keeps the same state in its scheduling file; its fallback scan would recompute from the schedule).
 *
 * Deliberate deviations: nats-server delays a timer by at least 250ms (ingest protection), we arm it
 * for the exact instant; a produced message that cannot be stored is retried a second later (nats-server
 * leaves it in flight until a leader change).
 */
import { Buffer } from "node:buffer"
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { isValidLiteralSubject, toWire } from "../../subject/Subject.ts"
import { parseGoDuration, parseTime } from "../codec/GoTime.ts"
import { type ApiError, ApiErrors } from "../model/ApiError.ts"
import { subjectsCollide } from "../model/StreamConfig.ts"
import { formatInZone, loadZone, nextCron, parseCron, UTC, type Zone } from "./Cron.ts"
import { parseMessageTtl } from "./MessageTtl.ts"
import { TimeHeap } from "./TimeHeap.ts"

export const SCHEDULE = "Nats-Schedule"
export const SCHEDULE_TIME_ZONE = "Nats-Schedule-Time-Zone"
export const SCHEDULE_TTL = "Nats-Schedule-TTL"
export const SCHEDULE_ROLLUP = "Nats-Schedule-Rollup"
export const SCHEDULE_TARGET = "Nats-Schedule-Target"
export const SCHEDULE_SOURCE = "Nats-Schedule-Source"
/** Set on produced messages: the schedule's subject. */
export const SCHEDULER = "Nats-Scheduler"
/** Set on produced messages: the next firing (RFC 3339) or `purge` for a one-off. */
export const SCHEDULE_NEXT = "Nats-Schedule-Next"
export const PURGE = "purge"

const NS_PER_SEC = 1_000_000_000n
const NS_PER_MS = 1_000_000n
/** A produced message the stream could not store is tried again this much later. */
const RETRY_NS = NS_PER_SEC

const PREDEFINED: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *"
}

/** When a schedule fires next, whether it fires again after that, and the zone its times are written in. */
export interface Firing {
  readonly at: bigint
  readonly repeat: boolean
  readonly zone: Zone
}

/** Go's `Time.Round(time.Second)` on Unix nanoseconds (halves round up). */
const roundSecond = (ns: bigint): bigint => {
  const r = ((ns % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC
  return r + r < NS_PER_SEC ? ns - r : ns + (NS_PER_SEC - r)
}

/**
 * nats-server parseMsgSchedule: the firing of `pattern` after `ts` ("invalid" when it is no valid
 * schedule, undefined when empty). A repeating schedule whose next firing is already past `now`
 * (a restart) skips ahead to fire once, not once per missed period.
 */
export const nextFiring = (
  pattern: string,
  zone: Zone | undefined,
  ts: bigint,
  now: bigint
): Firing | "invalid" | undefined => {
  if (pattern === "") return undefined
  if (pattern.startsWith("@at ")) {
    if (zone !== undefined) return "invalid"
    const at = parseTime(pattern.slice(4))
    return at === undefined ? "invalid" : { at, repeat: false, zone: UTC }
  }
  if (pattern.startsWith("@every ")) {
    if (zone !== undefined) return "invalid"
    const ms = parseGoDuration(pattern.slice(7))
    if (ms === undefined || ms < 1000) return "invalid"
    const every = BigInt(Math.round(ms * 1e6))
    let at = roundSecond(ts) + every
    if (at < now) at = roundSecond(now) + every
    return { at, repeat: true, zone: UTC }
  }
  const spec = parseCron(PREDEFINED[pattern] ?? pattern)
  if (spec === undefined) return "invalid"
  const z = zone ?? UTC
  let at = nextCron(spec, z, ts)
  if (at !== undefined && at < now) at = nextCron(spec, z, roundSecond(now))
  return at === undefined ? "invalid" : { at, repeat: true, zone: z }
}

/** The `Nats-Schedule-Time-Zone` zone: undefined when absent, "invalid" when empty or unknown. */
const zoneOf = (hdr: Uint8Array): Zone | "invalid" | undefined => {
  const tz = headerValue(hdr, SCHEDULE_TIME_ZONE)
  if (tz === undefined) return undefined
  return tz === "" ? "invalid" : loadZone(tz) ?? "invalid"
}

/** nats-server nextMessageSchedule: the schedule a header block holds, with its errors. */
const scheduleOf = (hdr: Uint8Array, ts: bigint, now: bigint): Firing | ApiError | undefined => {
  const zone = zoneOf(hdr)
  if (zone === "invalid") return ApiErrors.messageSchedulesTimeZoneInvalid()
  const f = nextFiring(headerValue(hdr, SCHEDULE) ?? "", zone, ts, now)
  return f === "invalid" ? ApiErrors.messageSchedulesPatternInvalid() : f
}

const isFiring = (f: Firing | ApiError | undefined): f is Firing => f !== undefined && "repeat" in f

const nonEmpty = (v: string | undefined): v is string => v !== undefined && v !== ""

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length)

/** The header block with `key: value` appended last (as nats-server's genHeader). */
export const withHeader = (hdr: Uint8Array | undefined, key: string, value: string): Uint8Array => {
  const head = hdr === undefined ? "NATS/1.0\r\n" : asBuffer(hdr).toString("latin1").slice(0, -2)
  return Buffer.from(`${head}${key}: ${value}\r\n\r\n`, "latin1")
}

/** Does the block hold any schedule header? One native scan: every one of them starts so. */
const mentionsSchedule = (hdr: Uint8Array): boolean => asBuffer(hdr).indexOf(SCHEDULE, 0, "latin1") >= 0

/** What the publish checks need of the stream. */
export interface ScheduleStream {
  readonly allow_msg_schedules?: boolean
  readonly allow_msg_ttl?: boolean
  readonly subjects: ReadonlyArray<string>
}

/**
 * nats-server's publish checks for schedules (processJetStreamMsg), in its order, for a client's
 * message (not a sourced or produced one): the error to answer, the header block to store (a
 * schedule is a roll-up of its subject: `Nats-Rollup: sub` is added when missing), or undefined
 * when the message holds no schedule headers. On a stream without schedules every schedule header
 * is refused.
 */
export const checkSchedulePublish = (
  hdr: Uint8Array,
  subject: string,
  cfg: ScheduleStream,
  lastBySubject: (subject: string) => StoredMessage | undefined,
  now: bigint
): ApiError | Uint8Array | undefined => {
  if (!mentionsSchedule(hdr)) return undefined
  const allowed = cfg.allow_msg_schedules === true
  let out: Uint8Array | undefined
  const schedule = scheduleOf(hdr, now, now)
  if (schedule !== undefined && !isFiring(schedule)) return allowed ? schedule : ApiErrors.messageSchedulesDisabled()
  if (schedule !== undefined) {
    if (!allowed) return ApiErrors.messageSchedulesDisabled()
    const ttl = headerValue(hdr, SCHEDULE_TTL) ?? ""
    if (ttl !== "" && parseMessageTtl(ttl) === undefined) return ApiErrors.messageSchedulesTTLInvalid()
    const rollup = headerValue(hdr, SCHEDULE_ROLLUP) ?? ""
    if (rollup !== "" && rollup !== "sub") return ApiErrors.messageSchedulesRollupInvalid()
    if (ttl !== "" && cfg.allow_msg_ttl !== true) return ApiErrors.messageTtlDisabled()
    const target = headerValue(hdr, SCHEDULE_TARGET) ?? ""
    if (target === "" || !isValidLiteralSubject(target) || target === subject) {
      return ApiErrors.messageSchedulesTargetInvalid()
    }
    const source = headerValue(hdr, SCHEDULE_SOURCE) ?? ""
    if (source !== "" && (source === target || source === subject || !isValidLiteralSubject(source))) {
      return ApiErrors.messageSchedulesSourceInvalid()
    }
    const inStream = (s: string) => cfg.subjects.some((own) => subjectsCollide(toWire(own), s))
    if (!inStream(target)) return ApiErrors.messageSchedulesTargetInvalid()
    if (source !== "" && !inStream(source)) return ApiErrors.messageSchedulesSourceInvalid()
    const r = headerValue(hdr, "Nats-Rollup") ?? ""
    if (r === "") out = withHeader(hdr, "Nats-Rollup", "sub")
    else if (r !== "sub") return ApiErrors.messageSchedulesRollupInvalid()
  }
  const next = headerValue(hdr, SCHEDULE_NEXT) ?? ""
  const scheduler = headerValue(hdr, SCHEDULER) ?? ""
  if (next !== "") {
    // Clients may only end a schedule, naming it in Nats-Scheduler (never the subject published to:
    // the roll-up of the schedule would remove the message that ends it).
    if (next !== PURGE) return ApiErrors.messageSchedulesSchedulerInvalid()
    if (scheduler === "" || scheduler === subject || !isValidLiteralSubject(scheduler)) {
      return ApiErrors.messageSchedulesSchedulerInvalid()
    }
    if (!allowed) return ApiErrors.messageSchedulesDisabled()
    // No message on that subject is accepted (nats-server stays compatible with older clients).
    const last = lastBySubject(scheduler)
    if (last !== undefined && !nonEmpty(last.hdr === undefined ? undefined : headerValue(last.hdr, SCHEDULE))) {
      return ApiErrors.messageSchedulesSchedulerInvalid()
    }
  } else if (scheduler !== "") {
    return ApiErrors.messageSchedulesSchedulerInvalid()
  }
  return out
}

/**
 * The subject a stored message ends the schedule of (`Nats-Schedule-Next: purge` with
 * `Nats-Scheduler`), which the stream then purges; undefined for any other message.
 */
export const scheduleEndedBy = (hdr: Uint8Array | undefined): string | undefined => {
  if (hdr === undefined || !mentionsSchedule(hdr) || headerValue(hdr, SCHEDULE_NEXT) !== PURGE) return undefined
  const scheduler = headerValue(hdr, SCHEDULER)
  return nonEmpty(scheduler) ? scheduler : undefined
}

const STRIPPED_PREFIXES = ["Nats-Schedule", "Nats-Expected-"]
const STRIPPED = new Set(["Nats-Msg-Id", "Nats-TTL", "Nats-Rollup"])

/**
 * The message a schedule produces when it fires at `at` (nats-server getScheduledMessages): the
 * schedule's body and headers, or the last message on its source subject when there is one; the
 * schedule headers and those that could stop it being stored (expectations, dedupe id, TTL,
 * roll-up) removed; then `Nats-Scheduler`, `Nats-Schedule-Next` and the schedule's TTL and roll-up.
 * Undefined when the stored schedule is no longer valid.
 */
export const produce = (
  schedule: StoredMessage,
  at: bigint,
  now: bigint,
  lastBySubject: (subject: string) => StoredMessage | undefined
): { readonly target: string; readonly hdrLen: number; readonly msg: Uint8Array } | undefined => {
  const hdr = schedule.hdr
  if (hdr === undefined) return undefined
  const pattern = headerValue(hdr, SCHEDULE) ?? ""
  if (pattern === "") return undefined
  const zone = zoneOf(hdr)
  if (zone === "invalid") return undefined
  const f = nextFiring(pattern, zone, at, now)
  if (f === undefined || f === "invalid") return undefined
  const ttl = headerValue(hdr, SCHEDULE_TTL) ?? ""
  if (ttl !== "" && parseMessageTtl(ttl) === undefined) return undefined
  const target = headerValue(hdr, SCHEDULE_TARGET) ?? ""
  if (target === "") return undefined
  const rollup = headerValue(hdr, SCHEDULE_ROLLUP) ?? ""
  const source = headerValue(hdr, SCHEDULE_SOURCE) ?? ""
  // With no message on the source subject, the schedule's own content is published.
  const body = (source === "" ? undefined : lastBySubject(source)) ?? schedule
  const lines: Array<string> = []
  if (body.hdr !== undefined) {
    const text = asBuffer(body.hdr).toString("latin1")
    for (const line of text.slice(0, -4).split("\r\n").slice(1)) {
      const key = line.slice(0, Math.max(0, line.indexOf(":")))
      if (STRIPPED.has(key) || STRIPPED_PREFIXES.some((p) => key.startsWith(p))) continue
      lines.push(line)
    }
  }
  lines.push(`${SCHEDULER}: ${schedule.subject}`)
  lines.push(`${SCHEDULE_NEXT}: ${f.repeat ? formatInZone(f.zone, f.at) : PURGE}`)
  if (ttl !== "") lines.push(`Nats-TTL: ${ttl}`)
  if (rollup !== "") lines.push(`Nats-Rollup: ${rollup}`)
  const head = Buffer.from(`NATS/1.0\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`, "latin1")
  const msg = new Uint8Array(head.length + body.data.length)
  msg.set(head)
  msg.set(body.data, head.length)
  return { target, hdrLen: head.length, msg }
}

interface Entry {
  readonly subject: string
  readonly seq: number
  readonly at: bigint
}

/**
 * The schedules of one stream with `allow_msg_schedules`: the current schedule per subject and one
 * timer for the nearest firing. Owned by the stream actor (single-threaded).
 */
export class MessageSchedules {
  private readonly bySubject = new Map<string, Entry>()
  private readonly heap = new TimeHeap<Entry>()
  private built = false
  private armedAt: bigint | undefined
  private cancel: (() => void) | undefined

  private readonly nowNs: () => bigint
  /** Runs `f` after `ms` on the broker clock; returns a cancel function. */
  private readonly schedule: (ms: number, f: () => void) => () => void
  /** Called when a firing may be due (the actor then calls `fire`). */
  private readonly wake: () => void

  constructor(nowNs: () => bigint, schedule: (ms: number, f: () => void) => () => void, wake: () => void) {
    this.nowNs = nowNs
    this.schedule = schedule
    this.wake = wake
  }

  /** Subjects with a schedule, and when each fires next (for tests and monitoring). */
  pending(): ReadonlyMap<string, bigint> {
    return new Map([...this.bySubject].map(([s, e]) => [s, e.at]))
  }

  /** A message was stored (any origin) on a stream with schedules. */
  stored(m: StoredMessage, store: MessageLog): void {
    if (!this.built) return this.ensureBuilt(store)
    this.apply(m)
    this.rearm()
  }

  /** Builds the schedules from the stored messages unless built already. */
  ensureBuilt(store: MessageLog): void {
    if (this.built) return
    this.built = true
    this.bySubject.clear()
    this.heap.clear()
    const last = store.lastSequence()
    for (let s = store.firstSeqMatching(store.firstSequence(), ">"); s !== undefined && s <= last;) {
      const m = store.get(s)
      if (m !== undefined) this.apply(m)
      s = store.firstSeqMatching(s + 1, ">")
    }
    this.rearm()
  }

  /**
   * Publishes what is due at `now`, in schedule sequence order, through `publish` (the stream's
   * publish path; true when stored), then arms the timer for what is next.
   */
  fire(
    store: MessageLog,
    now: bigint,
    publish: (subject: string, hdrLen: number, msg: Uint8Array) => boolean
  ): void {
    this.ensureBuilt(store)
    const due: Array<Entry> = []
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop()
      if (this.bySubject.get(top.subject) === top) due.push(top)
    }
    due.sort((a, b) => a.seq - b.seq)
    const lookup = (s: string) => store.lastBySubject(s)
    for (const e of due) {
      if (this.bySubject.get(e.subject) !== e) continue
      const m = store.get(e.seq)
      const p = m === undefined || m.subject !== e.subject ? undefined : produce(m, e.at, now, lookup)
      if (p === undefined) {
        this.bySubject.delete(e.subject)
        continue
      }
      publish(p.target, p.hdrLen, p.msg)
      // Storing it moved the schedule on (or ended it); still here means it was not stored.
      if (this.bySubject.get(e.subject) === e) this.put({ subject: e.subject, seq: e.seq, at: now + RETRY_NS })
    }
    this.rearm()
  }

  /**
   * nats-server's store hooks (storeRawMsg), also replayed in order to rebuild. A schedule's first
   * firing is computed as of its own timestamp, so a rebuild finds the instant the live stream had
   * (and a firing that fell into downtime is run at recovery, not skipped).
   */
  private apply(m: StoredMessage): void {
    const hdr = m.hdr
    const f = hdr === undefined ? undefined : scheduleOf(hdr, m.ts, m.ts)
    const scheduler = hdr === undefined ? "" : headerValue(hdr, SCHEDULER) ?? ""
    if (isFiring(f)) this.put({ subject: m.subject, seq: m.seq, at: f.at })
    // A message without a schedule replaces the subject's schedule, unless another schedule produced it.
    else if (scheduler === "") this.bySubject.delete(m.subject)
    if (hdr === undefined || scheduler === "") return
    const next = headerValue(hdr, SCHEDULE_NEXT) ?? ""
    if (next === PURGE) {
      // The stream purges the schedule's subject next; a rebuild after a crash between the two
      // must not fire it again.
      this.bySubject.delete(scheduler)
    } else if (next !== "") {
      const current = this.bySubject.get(scheduler)
      const at = parseTime(next)
      if (current !== undefined && at !== undefined) this.put({ subject: scheduler, seq: current.seq, at })
    }
  }

  private put(e: Entry): void {
    this.bySubject.set(e.subject, e)
    this.heap.push(e)
  }

  /** Arms the timer for the nearest firing (an earlier one replaces a later one). */
  private rearm(): void {
    // Replaced and removed entries are dropped from the top; past twice the live count, all of them.
    if (this.heap.size > 2 * this.bySubject.size + 1024) {
      this.heap.clear()
      for (const e of this.bySubject.values()) this.heap.push(e)
    }
    let top = this.heap.peek()
    while (top !== undefined && this.bySubject.get(top.subject) !== top) {
      this.heap.pop()
      top = this.heap.peek()
    }
    if (top === undefined) return this.disarm()
    if (this.armedAt !== undefined && this.armedAt <= top.at) return
    this.disarm()
    this.armedAt = top.at
    // Whole milliseconds, rounded up: the clock must have reached the firing when the timer runs.
    const ms = Number((top.at - this.nowNs() + NS_PER_MS - 1n) / NS_PER_MS)
    this.cancel = this.schedule(Math.max(0, ms), () => {
      this.armedAt = undefined
      this.cancel = undefined
      this.wake()
    })
  }

  disarm(): void {
    this.cancel?.()
    this.cancel = undefined
    this.armedAt = undefined
  }
}
