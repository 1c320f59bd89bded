/**
 * A consumer's time-driven work: what is due at the start of a batch (ack deadlines, pull request expiry, the
 * end of a pause, inactivity) and the one timer armed at its end for the earliest thing still ahead.
 */
import { toWire } from "../../subject/Subject.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import type { AckState } from "./AckState.ts"
import type { ConsumerCommand } from "./ConsumerCommand.ts"
import type { ConsumerContext } from "./ConsumerContext.ts"
import { type Pause, pauseAdvisory } from "./Pause.ts"
import type { PriorityGroups } from "./PriorityGroups.ts"
import type { PullRequestQueue } from "./PullRequests.ts"
import { pendingStatus, signal } from "./StatusMessages.ts"

/** The part of a consumer actor that its timer reads and changes. */
export interface TimedConsumer {
  readonly name: string
  readonly ctx: Pick<ConsumerContext, "client" | "nowMs" | "schedule" | "inactive">
  readonly stream: Pick<StreamActor, "name">
  readonly config: ConsumerConfig
  readonly state: AckState
  readonly waiting: PullRequestQueue
  readonly pause: Pause
  readonly priority: PriorityGroups
  readonly isPull: boolean
  readonly tracksAcks: boolean
  readonly closed: boolean
  lastActivity: number
  readonly lastPushSignal: number
  /** Earliest ack deadline of the pending set, kept from `expire` through the batch's deliveries to `schedule`. */
  nextDeadline: number
  /** When pacing holds delivery back: the time to try again. */
  readonly wakeAt: number
  /** Cancels the armed timer; undefined when none is armed. */
  timer: (() => void) | undefined
  timerAt: number
  offer(cmd: ConsumerCommand): boolean
}

export const expire = (c: TimedConsumer, now: number): void => {
  c.nextDeadline = c.tracksAcks ? c.state.expire(now) : Infinity
  c.priority.expire(now)
  if (c.pause.ended(now)) pauseAdvisory(c.ctx.client, c.stream.name, c.name, c.config, now)
  for (const r of c.waiting.takeExpired(now)) signal(c.ctx.client, r.reply, pendingStatus("408 Request Timeout", r))
  const threshold = c.config.inactive_threshold
  if (threshold !== undefined && threshold > 0) {
    const active = c.isPull
      ? c.waiting.size > 0
      : c.ctx.client.hasInterest(toWire(c.config.deliver_subject!))
    if (active) c.lastActivity = now
    else if (now - c.lastActivity >= threshold / 1e6) c.ctx.inactive(c)
  }
}

/** Arms one timer for the earliest of: ack deadline, request expiry, heartbeat, inactivity. */
export const schedule = (c: TimedConsumer, now: number): void => {
  // The earliest ack deadline: what `expire` found still ahead, lowered by every delivery since (nothing else
  // between the two moves a deadline). One scan of the pending set per batch instead of two.
  let at = Math.min(c.wakeAt, c.nextDeadline, c.pause.wakeAt(), c.priority.wakeAt())
  for (const r of c.waiting.all()) {
    if (r.expiresAt < at) at = r.expiresAt
    if (r.heartbeatMs > 0 && r.lastSignal + r.heartbeatMs < at) at = r.lastSignal + r.heartbeatMs
  }
  const hb = c.config.idle_heartbeat
  if (!c.isPull && hb !== undefined && hb > 0) at = Math.min(at, c.lastPushSignal + hb / 1e6)
  const threshold = c.config.inactive_threshold
  if (threshold !== undefined && threshold > 0) {
    at = Math.min(at, c.lastActivity + threshold / 1e6)
  }
  if (at === Infinity || c.closed) return
  if (c.timer !== undefined && c.timerAt <= at && c.timerAt > now) return
  if (c.timer !== undefined) c.timer()
  c.timerAt = at
  c.timer = c.ctx.schedule(Math.max(1, Math.ceil(at - now)), () => {
    c.timer = undefined
    c.timerAt = Infinity
    c.offer({ _tag: "Tick" })
  })
}
