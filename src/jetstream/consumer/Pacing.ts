/**
 * Delivery pacing for a consumer: `replay_policy: original` spaces deliveries like the original
 * publishes (by the gaps between stored timestamps), and `rate_limit_bps` caps push delivery with
 * a token bucket whose burst is the largest message allowed (as nats-server sizes it). `delay` answers how long to wait before
 * the next message may go; 0 means now, and then the delivery is counted.
 */
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"

export class Pacing {
  private readonly replayOriginal: boolean
  /** Bytes per second (the config is in bits per second); 0 = unlimited. */
  private readonly rate: number
  private lastTs: bigint | undefined = undefined
  private lastAt = 0
  private readonly burst: number
  private tokens: number
  private tokensAt = 0

  constructor(replayOriginal: boolean, bitsPerSecond: number, burst: number) {
    this.replayOriginal = replayOriginal
    this.rate = bitsPerSecond > 0 ? Math.floor(bitsPerSecond / 8) : 0
    this.burst = burst
    this.tokens = burst
  }

  get active(): boolean {
    return this.replayOriginal || this.rate > 0
  }

  delay(ts: bigint, size: number, now: number): number {
    let wait = 0
    if (this.replayOriginal && this.lastTs !== undefined) {
      const due = this.lastAt + Number(ts - this.lastTs) / 1e6
      // nats-server does not wait for gaps of a millisecond or less.
      if (due - now > 1) wait = due - now
    }
    if (this.rate > 0) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate)
      this.tokensAt = now
      // A message bigger than the burst still goes out once the bucket is full.
      const need = Math.min(size, this.burst)
      if (this.tokens < need) wait = Math.max(wait, ((need - this.tokens) / this.rate) * 1000)
    }
    if (wait > 0) return wait
    this.lastTs = ts
    this.lastAt = now
    if (this.rate > 0) this.tokens -= size
    return 0
  }
}

/** The rate limiter's burst is the largest message allowed: the stream's max_msg_size, else the
 * default max_payload (1 MiB), as nats-server sizes it. */
export const pacingFor = (c: ConsumerConfig, maxMsgSize: number): Pacing =>
  new Pacing(c.replay_policy === "original", c.rate_limit_bps ?? 0, maxMsgSize > 0 ? maxMsgSize : 1024 * 1024)
