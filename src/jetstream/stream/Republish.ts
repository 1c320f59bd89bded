/**
 * Stream `republish { src, dest, headers_only }`: every stored message whose subject matches `src`
 * is published again, core NATS only, to `dest` (a subject transform) with headers naming where it
 * was stored, as nats-server 2.9.10 `processJetStreamMsg` does: `Nats-Stream`, `Nats-Subject`,
 * `Nats-Sequence`, `Nats-Last-Sequence` (the previous sequence of that subject, 0 if none, so light
 * clients can detect gaps) and, headers-only, `Nats-Msg-Size` instead of the payload. The message's
 * own headers come first. At the 2.10 level `Nats-Time-Stamp` (the stored time, RFC 3339 with
 * nanoseconds, as stream.go processJetStreamMsg writes it) follows `Nats-Sequence` (the level we
 * advertise); 2.9.10 has none.
 *
 * The stream actor queues republishes while it appends and sends them once the batch is stored,
 * before the PubAcks (nats-server sends them in that order), and drops those of appends the store
 * took back.
 */
import { Buffer } from "node:buffer"
import { ADVERTISED_NATS_VERSION, levelAtLeast } from "../../config/BrokerConfig.ts"
import { toWire } from "../../subject/Subject.ts"
import { compileTransform, type SubjectTransform } from "../../subject/SubjectTransform.ts"
import { formatTime } from "../codec/Json.ts"
import type { Republish } from "../model/StreamConfig.ts"

interface Pending {
  readonly seq: number
  readonly subject: string
  readonly msg: Uint8Array
  readonly hdrLen: number
}

const CRLF = "\r\n"

export class Republisher {
  readonly config: Republish
  private readonly transform: SubjectTransform
  private readonly stream: string
  private pending: Array<Pending> = []
  /** 2.10's `Nats-Time-Stamp` header. */
  private readonly timestamps: boolean

  private constructor(stream: string, config: Republish, transform: SubjectTransform, timestamps: boolean) {
    this.stream = toWire(stream)
    this.config = config
    this.transform = transform
    this.timestamps = timestamps
  }

  /** `undefined` without a republish (the config was validated, so the transform compiles). */
  static make(
    stream: string,
    config: Republish | undefined,
    timestamps = levelAtLeast(ADVERTISED_NATS_VERSION, 2, 10)
  ): Republisher | undefined {
    if (config === undefined) return undefined
    const t = compileTransform(config.src === "" ? ">" : config.src, config.dest)
    return t.ok ? new Republisher(stream, config, t.transform, timestamps) : undefined
  }

  /** The destination for a stored subject, or `undefined` when `src` does not match it. */
  destination(subject: string): string | undefined {
    return this.transform.match(subject)
  }

  /**
   * Queues the republish of a message just stored at `seq` at time `ts` (ns; `lastSeq`: the
   * subject's previous one).
   */
  queue(
    to: string,
    subject: string,
    seq: number,
    lastSeq: number,
    hdr: Uint8Array | undefined,
    data: Uint8Array,
    ts: bigint
  ): void {
    const headersOnly = this.config.headers_only === true
    // The message's own header block without its final blank line, or a fresh one.
    const head = hdr !== undefined && hdr.length > 2
      ? Buffer.from(hdr.subarray(0, hdr.length - 2)).toString("latin1")
      : `NATS/1.0${CRLF}`
    const lines = `Nats-Stream: ${this.stream}${CRLF}Nats-Subject: ${subject}${CRLF}Nats-Sequence: ${seq}${CRLF}` +
      (this.timestamps ? `Nats-Time-Stamp: ${formatTime(ts)}${CRLF}` : "") +
      `Nats-Last-Sequence: ${lastSeq}${CRLF}` + (headersOnly ? `Nats-Msg-Size: ${data.length}${CRLF}` : "")
    const h = Buffer.from(head + lines + CRLF, "latin1")
    const body = headersOnly ? h : Buffer.concat([h, data])
    this.pending.push({ seq, subject: to, msg: body, hdrLen: h.length })
  }

  /** Sends what was queued for sequences up to `upTo` (later ones were taken back by the store). */
  flush(upTo: number, send: (subject: string, hdrLen: number, msg: Uint8Array) => void): void {
    if (this.pending.length === 0) return
    const p = this.pending
    this.pending = []
    for (const m of p) if (m.seq <= upTo) send(m.subject, m.hdrLen, m.msg)
  }
}
