/**
 * Incremental parser for the client side of the NATS text protocol.
 *
 * Hot path: plain synchronous code over the bytes the socket hands us. Payloads that arrive whole
 * inside one read are returned as `subarray` views of that read (no copy); only a payload split
 * across reads is assembled into a buffer of its exact size. Control lines are decoded as latin1 so
 * that every subject byte maps to one UTF-16 unit and round-trips exactly on the way out.
 *
 * Errors follow nats-server 2.9.10's observable behaviour (text and whether the connection closes);
 * where nats-server closes silently on malformed arguments we still say why in an `-ERR`.
 */
import { Buffer } from "node:buffer"

/** What the parser reports. The connection implements it; tests collect the calls. */
export interface ParserSink {
  connect(json: string): void
  /** `hdrLen` is -1 for PUB; for HPUB it is the header block length inside `msg`. */
  pub(subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array): void
  sub(subject: string, queue: string | undefined, sid: string): void
  unsub(sid: string, max: number | undefined): void
  ping(): void
  pong(): void
  /** Fatal: the parser stops consuming input and the connection must be closed. */
  fatal(error: ProtocolViolation): void
}

/** A fatal protocol error: the `-ERR` text to send (nats-server's wording) before closing. */
export interface ProtocolViolation {
  readonly text: string
  readonly detail: string
}

export const ErrorText = {
  unknownOperation: "Unknown Protocol Operation",
  maxPayload: "Maximum Payload Violation",
  maxControlLine: "maximum control line exceeded",
  invalidArguments: "Invalid Protocol Arguments"
} as const

export interface ParserLimits {
  readonly maxPayload: number
  readonly maxControlLine: number
}

const CR = 13
const LF = 10
const SPACE = 32
const TAB = 9

const State = { ControlLine: 0, Payload: 1, Dead: 2 } as const
type State = (typeof State)[keyof typeof State]

const asBuffer = (chunk: Uint8Array): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)

export class Parser {
  private state: State = State.ControlLine
  /** Control line bytes carried over from a previous read (rare: lines are short). */
  private partialLine: Buffer | undefined = undefined
  // Pending PUB/HPUB waiting for its payload.
  private pendingSubject = ""
  private pendingReply: string | undefined = undefined
  private pendingHdr = -1
  private payload: Buffer | undefined = undefined
  private payloadFilled = 0
  private payloadNeed = 0
  /** Argument token boundaries for the current control line, reused to avoid allocation. */
  private readonly argStart = new Int32Array(6)
  private readonly argEnd = new Int32Array(6)
  /**
   * The last published subject, as bytes and as the string decoded from them: publishers mostly repeat
   * a subject, and comparing a few bytes costs less than decoding a new string for every message.
   */
  private readonly lastSubjectBytes = new Uint8Array(SUBJECT_CACHE_MAX)
  private lastSubjectLen = -1
  private lastSubject = ""

  private readonly sink: ParserSink
  private limits: ParserLimits

  constructor(sink: ParserSink, limits: ParserLimits) {
    this.sink = sink
    this.limits = limits
  }

  setLimits(limits: ParserLimits): void {
    this.limits = limits
  }

  get isDead(): boolean {
    return this.state === State.Dead
  }

  /** Consume one read. Safe to call with arbitrary splits of the stream. */
  feed(chunk: Uint8Array): void {
    const buf = asBuffer(chunk)
    let pos = 0
    const len = buf.length
    while (pos < len) {
      if (this.state === State.ControlLine) {
        const nl = buf.indexOf(LF, pos)
        if (nl < 0) {
          this.keepPartial(buf, pos, len)
          return
        }
        let line: Buffer
        let start: number
        let end = nl
        if (this.partialLine !== undefined) {
          line = Buffer.concat([this.partialLine, buf.subarray(pos, nl)])
          this.partialLine = undefined
          start = 0
          end = line.length
        } else {
          line = buf
          start = pos
        }
        if (end - start > this.limits.maxControlLine) {
          return this.die(ErrorText.maxControlLine, `control line of ${end - start} bytes`)
        }
        if (end > start && line[end - 1] === CR) end--
        pos = nl + 1
        this.controlLine(line, start, end)
        // controlLine() moves the state machine; re-read it without the narrowing above.
        const next = this.state as State
        if (next === State.Dead) return
        if (next === State.Payload && this.payload === undefined) {
          // Fast path: the whole payload and its CRLF are inside this read.
          const need = this.payloadNeed
          if (len - pos >= need + 2) {
            if (buf[pos + need] !== CR || buf[pos + need + 1] !== LF) {
              return this.die(ErrorText.unknownOperation, "payload not followed by CRLF")
            }
            const msg = buf.subarray(pos, pos + need)
            pos += need + 2
            this.state = State.ControlLine
            this.sink.pub(this.pendingSubject, this.pendingReply, this.pendingHdr, msg)
          } else {
            this.payload = Buffer.allocUnsafe(need + 2)
            this.payloadFilled = 0
          }
        }
      } else if (this.state === State.Payload) {
        const payload = this.payload!
        const take = Math.min(payload.length - this.payloadFilled, len - pos)
        buf.copy(payload, this.payloadFilled, pos, pos + take)
        this.payloadFilled += take
        pos += take
        if (this.payloadFilled === payload.length) {
          const need = this.payloadNeed
          if (payload[need] !== CR || payload[need + 1] !== LF) {
            return this.die(ErrorText.unknownOperation, "payload not followed by CRLF")
          }
          this.payload = undefined
          this.state = State.ControlLine
          this.sink.pub(this.pendingSubject, this.pendingReply, this.pendingHdr, payload.subarray(0, need))
        }
      } else {
        return
      }
    }
  }

  private keepPartial(buf: Buffer, pos: number, len: number): void {
    // Copy: the socket may reuse or we may hold the rest of a large read otherwise.
    const rest = Buffer.from(buf.subarray(pos, len))
    this.partialLine = this.partialLine === undefined ? rest : Buffer.concat([this.partialLine, rest])
    if (this.partialLine.length > this.limits.maxControlLine) {
      this.die(ErrorText.maxControlLine, `control line of at least ${this.partialLine.length} bytes`)
    }
  }

  private die(text: string, detail: string): void {
    this.state = State.Dead
    this.partialLine = undefined
    this.payload = undefined
    this.sink.fatal({ text, detail })
  }

  /** Split [start, end) into at most 6 whitespace-separated tokens; returns the count (7 = too many). */
  private split(line: Buffer, start: number, end: number): number {
    let n = 0
    let i = start
    while (i < end) {
      while (i < end && (line[i] === SPACE || line[i] === TAB)) i++
      if (i >= end) break
      if (n === 6) return 7
      this.argStart[n] = i
      while (i < end && line[i] !== SPACE && line[i] !== TAB) i++
      this.argEnd[n] = i
      n++
    }
    return n
  }

  private arg(line: Buffer, k: number): string {
    return line.toString("latin1", this.argStart[k], this.argEnd[k])
  }

  /** Token 1 (a PUB's subject) as a string, reusing the previous one when the bytes repeat it. */
  private subjectArg(line: Buffer): string {
    const s = this.argStart[1]!
    const len = this.argEnd[1]! - s
    if (len > SUBJECT_CACHE_MAX) return this.arg(line, 1)
    const last = this.lastSubjectBytes
    if (len === this.lastSubjectLen) {
      let i = 0
      while (i < len && line[s + i] === last[i]) i++
      if (i === len) return this.lastSubject
    }
    for (let i = 0; i < len; i++) last[i] = line[s + i]!
    this.lastSubjectLen = len
    this.lastSubject = this.arg(line, 1)
    return this.lastSubject
  }

  /** Parses a non-negative decimal size; -1 when not a plain number or absurdly large. */
  private size(line: Buffer, k: number): number {
    const s = this.argStart[k]!
    const e = this.argEnd[k]!
    if (e - s > 15) return -1
    let v = 0
    for (let i = s; i < e; i++) {
      const c = line[i]! - 48
      if (c < 0 || c > 9) return -1
      v = v * 10 + c
    }
    return v
  }

  private controlLine(line: Buffer, start: number, end: number): void {
    const n = this.split(line, start, end)
    if (n === 0) return this.die(ErrorText.unknownOperation, "empty control line")
    const opStart = this.argStart[0]!
    const opLen = this.argEnd[0]! - opStart
    const c0 = line[opStart]! | 0x20
    // Verbs are case-insensitive; compare lower-cased bytes without allocating.
    if (c0 === 0x70 /* p */) {
      if (opLen === 3 && eq(line, opStart, "pub")) return this.pub(line, n, false)
      if (opLen === 4 && eq(line, opStart, "ping") && n === 1) return this.sink.ping()
      if (opLen === 4 && eq(line, opStart, "pong") && n === 1) return this.sink.pong()
    } else if (c0 === 0x68 /* h */) {
      if (opLen === 4 && eq(line, opStart, "hpub")) return this.pub(line, n, true)
    } else if (c0 === 0x73 /* s */) {
      if (opLen === 3 && eq(line, opStart, "sub")) {
        if (n === 3) return this.sink.sub(this.arg(line, 1), undefined, this.arg(line, 2))
        if (n === 4) return this.sink.sub(this.arg(line, 1), this.arg(line, 2), this.arg(line, 3))
        return this.die(ErrorText.invalidArguments, "SUB needs <subject> [queue] <sid>")
      }
    } else if (c0 === 0x75 /* u */) {
      if (opLen === 5 && eq(line, opStart, "unsub")) {
        if (n === 2) return this.sink.unsub(this.arg(line, 1), undefined)
        if (n === 3) {
          const max = this.size(line, 2)
          return this.sink.unsub(this.arg(line, 1), max < 0 ? undefined : max)
        }
        return this.die(ErrorText.invalidArguments, "UNSUB needs <sid> [max_msgs]")
      }
    } else if (c0 === 0x63 /* c */) {
      if (opLen === 7 && eq(line, opStart, "connect")) {
        if (n < 2) return this.die(ErrorText.invalidArguments, "CONNECT needs a JSON object")
        return this.sink.connect(line.toString("utf8", this.argStart[1], end))
      }
    }
    return this.die(ErrorText.unknownOperation, `unknown operation ${JSON.stringify(this.arg(line, 0))}`)
  }

  private pub(line: Buffer, n: number, headers: boolean): void {
    const op = headers ? "HPUB" : "PUB"
    const want = headers ? 4 : 3
    if (n !== want && n !== want + 1) {
      return this.die(ErrorText.invalidArguments, `${op} needs <subject> [reply] ${headers ? "<#hdr> " : ""}<#bytes>`)
    }
    const hasReply = n === want + 1
    const total = this.size(line, n - 1)
    const hdr = headers ? this.size(line, n - 2) : -1
    if (total < 0) return this.die(ErrorText.invalidArguments, `${op} has a bad size`)
    // nats.js sends `HPUB <subj> <reply> 0 <n>` for a request without headers; 0 is legal.
    if (headers && (hdr < 0 || hdr > total)) {
      return this.die(ErrorText.invalidArguments, "HPUB header size must be <= total size")
    }
    if (total > this.limits.maxPayload) {
      return this.die(ErrorText.maxPayload, `${total} > ${this.limits.maxPayload}`)
    }
    this.pendingSubject = this.subjectArg(line)
    this.pendingReply = hasReply ? this.arg(line, 2) : undefined
    this.pendingHdr = hdr
    this.payloadNeed = total
    this.payload = undefined
    this.state = State.Payload
  }
}

/** Subjects longer than this are decoded every time (long subjects are rarely repeated by one publisher). */
const SUBJECT_CACHE_MAX = 128

const eq = (line: Buffer, at: number, lower: string): boolean => {
  for (let i = 0; i < lower.length; i++) {
    if ((line[at + i]! | 0x20) !== lower.charCodeAt(i)) return false
  }
  return true
}
