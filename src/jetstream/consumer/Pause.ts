/**
 * Consumer pause (2.11, ADR-42's sibling: `pause_until` in the config, `CONSUMER.PAUSE`): until the
 * deadline the consumer delivers nothing (push or pull; pull requests wait and expire, heartbeats
 * go on), then resumes by itself. Every change of the deadline and the deadline passing are
 * announced with the pause advisory, as nats-server does.
 */
import type { InternalClient } from "../../core/InternalClient.ts"
import { GO_ZERO_TIME } from "../codec/Json.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import { pauseUntilNs } from "../model/ConsumerPriority.ts"
import { typedEvent } from "./Events.ts"

const msOf = (ns: bigint): number => Number(ns) / 1e6

export class Pause {
  /** The deadline, ms on the broker clock; 0 = not paused. */
  private untilMs: number
  /** A deadline still ahead when it was set: passing it is announced once. */
  private armed: boolean

  constructor(config: ConsumerConfig, now: number) {
    this.untilMs = msOf(pauseUntilNs(config))
    this.armed = this.untilMs > now
  }

  paused(now: number): boolean {
    return now < this.untilMs
  }

  /** ms left, 0 when not paused. */
  remainingMs(now: number): number {
    return Math.max(0, this.untilMs - now)
  }

  /** Takes the config's deadline; true when it changed (the caller announces it). */
  update(config: ConsumerConfig, now: number): boolean {
    const next = msOf(pauseUntilNs(config))
    if (next === this.untilMs) return false
    this.untilMs = next
    this.armed = next > now
    return true
  }

  /** True once, when an announced deadline has just passed. */
  ended(now: number): boolean {
    if (!this.armed || now < this.untilMs) return false
    this.armed = false
    return true
  }

  /** When `ended` has work: the actor's timer includes it. */
  wakeAt(): number {
    return this.armed ? this.untilMs : Infinity
  }
}

/** `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<stream>.<consumer>`; `pause_until` is a Go time.Time, so always present. */
export const pauseAdvisory = (
  client: InternalClient,
  stream: string,
  consumer: string,
  config: ConsumerConfig,
  nowMs: number
): void => {
  typedEvent(client, `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.${stream}.${consumer}`, "consumer_pause", nowMs, {
    stream,
    consumer,
    paused: msOf(pauseUntilNs(config)) > nowMs,
    pause_until: config.pause_until ?? GO_ZERO_TIME
  })
}
