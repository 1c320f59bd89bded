/**
 * Back-pressure between producers and congested receivers.
 *
 * A receiver (a client connection's outbound buffer, a stream's ingest mailbox) that fills past its
 * high-water mark holds the producer that is feeding it right now; the producer stops producing (a
 * connection stops reading its socket, a consumer actor stops delivering) until the receiver drains
 * below its low-water mark, goes away, or the producer's own stall cap releases it. This is how
 * nats-server keeps a healthy subscriber next to a fast publisher: it slows the publisher instead
 * of letting buffers grow until the subscriber is cut off as a slow consumer.
 *
 * "The producer running now" is a single slot: everything here is synchronous on one thread, and a
 * producer sets the slot around the synchronous work that delivers (one socket read chunk, one
 * consumer delivery pass). No Effect and no allocation per message: a delivery into a congested
 * receiver costs a comparison and, once per episode, a Set insertion.
 */

/** Something that can be asked to stop producing for a while. */
export interface Producer {
  /** True while held (by any gate); a held producer is not registered again. */
  readonly isHeld: boolean
  /** Stop producing; `release` follows. Idempotent. */
  hold(): void
  /** Produce again. Idempotent; may come after the producer stopped for another reason. */
  release(): void
}

let running: Producer | undefined = undefined

/** Makes `p` the producer whose deliveries are being made now; returns the previous one to restore. */
export const enterProducer = (p: Producer | undefined): Producer | undefined => {
  const prev = running
  running = p
  return prev
}

/** The producer whose deliveries are being made now (undefined for timers and fibers). */
export const runningProducer = (): Producer | undefined => running

/**
 * One receiver's high/low-water state. `filled` after queuing, `drained` when some of the queue
 * left; both take the receiver's current backlog (bytes or messages, the caller's unit).
 */
export class Gate {
  readonly high: number
  readonly low: number
  /** When the receiver went over the high-water mark (0 = not congested). */
  congestedSince = 0
  private readonly held = new Set<Producer>()

  constructor(high: number, low: number) {
    this.high = high
    this.low = Math.min(low, high)
  }

  get congested(): boolean {
    return this.congestedSince !== 0
  }

  /** Producers currently waiting on this gate (monitoring and tests). */
  get waiting(): number {
    return this.held.size
  }

  /**
   * Called after queuing; `backlog` is what is queued now. Over the high-water mark, the running
   * producer is held. `now` is read only when an episode starts.
   */
  filled(backlog: number, now: () => number): void {
    if (backlog <= this.high) return
    if (this.congestedSince === 0) this.congestedSince = now()
    const p = running
    if (p !== undefined && !p.isHeld) {
      this.held.add(p)
      p.hold()
    }
  }

  /** Called when part of the backlog left; below the low-water mark everyone held is released. */
  drained(backlog: number): void {
    if (this.congestedSince !== 0 && backlog <= this.low) this.open()
  }

  /** How long the receiver has been congested at `now` (0 when it is not). */
  congestedFor(now: number): number {
    return this.congestedSince === 0 ? 0 : now - this.congestedSince
  }

  /** Releases every held producer (the receiver drained or went away). */
  open(): void {
    this.congestedSince = 0
    if (this.held.size === 0) return
    const ps = [...this.held]
    this.held.clear()
    for (const p of ps) p.release()
  }
}

/**
 * A producer that is not a socket (a JetStream consumer delivering): holding only raises a flag
 * its delivery loop checks; releasing calls `resume` so it picks up where it stopped.
 */
export class FlagProducer implements Producer {
  isHeld = false
  private readonly resume: () => void

  constructor(resume: () => void) {
    this.resume = resume
  }

  hold(): void {
    this.isHeld = true
  }

  release(): void {
    if (!this.isHeld) return
    this.isHeld = false
    this.resume()
  }
}
