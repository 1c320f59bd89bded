/**
 * The answers a stream owes its publishers for one batch. They are queued while the batch is
 * processed and sent together once its writes meet the sync policy; until then a write failure can
 * still turn the acks of the messages it took back into the store error.
 */
import { Buffer } from "node:buffer"
import { encodeJson } from "../codec/Json.ts"
import type { ApiError } from "../model/ApiError.ts"

const enc = (s: string) => Buffer.from(s, "utf8")

export class PubAcks {
  private to: Array<string> = []
  private bodies: Array<string | Uint8Array> = []
  /** Per queued answer, the sequence it vouches for (0: an answer that stored nothing). */
  private seqs: Array<number> = []
  private readonly stream: string
  private readonly domain: string | undefined
  private readonly publish: (reply: string, body: Uint8Array) => void
  /** The ack text up to the sequence (see `text`). */
  private head: string | undefined = undefined

  constructor(stream: string, domain: string | undefined, publish: (reply: string, body: Uint8Array) => void) {
    this.stream = stream
    this.domain = domain
    this.publish = publish
  }

  /** nats-server's PubAck text (its template puts a space before `"seq"`); `val`: a counter's total. */
  text(seq: number, duplicate = false, val?: string): string {
    // Everything before the sequence is the same for every ack of this stream: built once, not per publish.
    const head = this.head ??= `{"stream":${JSON.stringify(this.stream)},${
      this.domain === undefined ? "" : ` "domain":${JSON.stringify(this.domain)},`
    } "seq":`
    return `${head}${seq}${duplicate ? ",\"duplicate\": true" : ""}${val === undefined ? "" : `,"val":"${val}"`}}`
  }

  /**
   * Queues the ack of a stored message, or of a duplicate of `seq` (which vouches for `seq` too: a
   * rollback of the batch that stored it fails both).
   */
  stored(reply: string, seq: number, duplicate = false, val?: string): void {
    this.queue(reply, this.text(seq, duplicate, val), seq)
  }

  /** Queues the ack of an atomic batch's commit: its last sequence, the batch id and how many it stored. */
  storedBatch(reply: string, seq: number, id: string, count: number): void {
    this.queue(reply, `${this.text(seq).slice(0, -1)},"batch":${JSON.stringify(id)},"count":${count}}`, seq)
  }

  /** Queues the empty answer to a staged message of an atomic batch (it vouches for nothing stored). */
  empty(reply: string): void {
    this.queue(reply, "", 0)
  }

  /** A fast-ingest batch's PubAck (ADR-50): the ack of `seq` with the batch id and its message count. */
  batchStored(reply: string, seq: number, batch: string, count: bigint, duplicate = false): void {
    const ack = this.text(seq, duplicate)
    this.queue(reply, `${ack.slice(0, -1)},"batch":${JSON.stringify(batch)},"count":${count}}`, seq)
  }

  /** Queues a body as it is (a fast-ingest flow message), vouching for `seq` (0: for nothing stored). */
  raw(reply: string, body: string, seq: number): void {
    this.queue(reply, body, seq)
  }

  /** Queues an error answer; `false` so publish checks can `return acks.error(...)`. */
  error(reply: string | undefined, error: ApiError): false {
    if (reply !== undefined) this.queue(reply, this.errorBody(error), 0)
    return false
  }

  /** Turns every queued ack for a sequence above `seq` into `error`. */
  failAbove(seq: number, error: ApiError): void {
    const body = this.errorBody(error)
    for (let i = 0; i < this.seqs.length; i++) {
      if (this.seqs[i]! > seq) {
        this.bodies[i] = body
        this.seqs[i] = 0
      }
    }
  }

  /** Sends everything queued, in order. */
  flush(): void {
    const to = this.to
    const bodies = this.bodies
    this.to = []
    this.bodies = []
    this.seqs = []
    for (let i = 0; i < to.length; i++) {
      const b = bodies[i]!
      this.publish(to[i]!, typeof b === "string" ? enc(b) : b)
    }
  }

  /** Answers at once, outside any batch (a publish that never reached the actor). */
  sendError(reply: string, error: ApiError): void {
    this.publish(reply, enc(this.errorBody(error)))
  }

  private queue(reply: string, body: string, seq: number): void {
    this.to.push(reply)
    this.bodies.push(body)
    this.seqs.push(seq)
  }

  private errorBody(error: ApiError): string {
    return encodeJson({ error, stream: this.stream, seq: 0 })
  }
}
