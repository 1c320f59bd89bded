/**
 * Push flow control by bytes, as nats-server does it: bytes delivered but not yet confirmed, a
 * window that starts at 1/16 of 32 MiB and doubles with every answered request, and the bytes the
 * outstanding request covers. A request goes out past half the window; delivery stops past it.
 */
const LIMIT = 32 * 1024 * 1024

export class FlowControl {
  /** Reply subject of the outstanding request; stalled consumers report it in heartbeats. */
  pending: string | undefined = undefined
  private bytes = 0
  private window = LIMIT / 16
  private covered = 0
  private counter = 0

  get open(): boolean {
    return this.bytes <= this.window
  }

  /** Counts a delivery; returns the reply subject of a new request to send, if one is due. */
  delivered(size: number, prefix: string): string | undefined {
    this.bytes += size
    if (this.pending === undefined && this.bytes > this.window / 2) {
      this.covered = this.bytes
      this.pending = `${prefix}.${(++this.counter).toString(36)}`
      return this.pending
    }
    // nats-server's accounting quirk: while a request is out, growth past a window is folded in.
    if (this.pending !== undefined && this.bytes - this.covered >= this.window) this.covered += size
    return undefined
  }

  /** A request sent now, whatever the window says (flow-control acks); undefined while one is out. */
  request(prefix: string): string | undefined {
    if (this.pending !== undefined) return undefined
    this.covered = this.bytes
    this.pending = `${prefix}.${(++this.counter).toString(36)}`
    return this.pending
  }

  answered(subject: string): boolean {
    if (subject !== this.pending) return false
    this.window = Math.min(this.window * 2, LIMIT)
    this.bytes = Math.max(0, this.bytes - this.covered)
    this.pending = undefined
    this.covered = 0
    return true
  }
}
