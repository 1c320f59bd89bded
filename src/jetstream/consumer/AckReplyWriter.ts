/**
 * Writes a delivery's ack reply subject, `<reply prefix><count>.<sseq>.<dseq>.<ts>.<pending>` (AckSubjects.ts),
 * once per delivered message.
 */
import { Buffer } from "node:buffer"
import { writeDecimal } from "../codec/Decimal.ts"

/** Room for the reply prefix plus five numbers (at most 20 characters each) and their dots. */
const REPLY_SCRATCH = Buffer.allocUnsafe(1024)
const REPLY_PREFIX_MAX = 900

export class AckReplyWriter {
  private readonly prefixText: string
  /** `$JS.ACK.<stream>.<consumer>.` (or its v2 form) as latin1 bytes; undefined when not latin1 or too long. */
  private readonly prefix: Buffer | undefined

  constructor(prefix: string) {
    this.prefixText = prefix
    this.prefix = prefix.length <= REPLY_PREFIX_MAX && /^[\u0000-\u00ff]*$/.test(prefix)
      ? Buffer.from(prefix, "latin1")
      : undefined
  }

  /**
   * `$JS.ACK.<stream>.<consumer>.<count>.<sseq>.<dseq>.<ts>.<pending>`, built as bytes in a scratch buffer and
   * decoded once: a template literal made a chain of a dozen intermediate strings per delivery.
   */
  reply(count: number, sseq: number, dseq: number, ts: bigint, pending: number): string {
    const prefix = this.prefix
    if (prefix === undefined) return `${this.prefixText}${count}.${sseq}.${dseq}.${ts}.${pending}`
    const b = REPLY_SCRATCH
    b.set(prefix, 0)
    let p = writeDecimal(b, prefix.length, count)
    b[p++] = 46
    p = writeDecimal(b, p, sseq)
    b[p++] = 46
    p = writeDecimal(b, p, dseq)
    b[p++] = 46
    const t = ts.toString()
    for (let i = 0; i < t.length; i++) b[p++] = t.charCodeAt(i)
    b[p++] = 46
    p = writeDecimal(b, p, pending)
    return b.toString("latin1", 0, p)
  }
}
