/**
 * Incremental parser for nats-server's route protocol (what one server says to another):
 * INFO, CONNECT, PING/PONG, RS+/RS- (interest, with queue weights), LS+/LS- (the same with a
 * leafnode origin), RMSG/HMSG (a message with its account, reply and the queue groups this server
 * was picked for), +OK and -ERR. A message with headers is `HMSG` on a route (nats-server turns
 * the R of RMSG into an H).
 *
 * Hot path, as the client parser (src/protocol/Parser.ts): plain synchronous code over the bytes,
 * a payload that arrives whole in one read is handed on as a view of that read; control lines are
 * decoded as latin1. Unlike a client line, an RMSG line has any number of queue names, so its
 * tokens are collected into a growable index.
 */
import { Buffer } from "node:buffer"
import type { ProtocolViolation } from "../protocol/Parser.ts"

export interface RouteSink {
  info(json: string): void
  connect(json: string): void
  /** RS+ / LS+: `queue` with its weight (members on the remote server), else a plain subscription. */
  sub(account: string, subject: string, queue: string | undefined, weight: number): void
  unsub(account: string, subject: string, queue: string | undefined): void
  /** RMSG (`hdrLen` -1) / HMSG; `queues` is undefined when the line names none. */
  msg(
    account: string,
    subject: string,
    reply: string | undefined,
    queues: ReadonlyArray<string> | undefined,
    hdrLen: number,
    msg: Uint8Array
  ): void
  ping(): void
  pong(): void
  ok(): void
  err(text: string): void
  /** The parser stops; the route must be closed. */
  fatal(error: ProtocolViolation): void
}

export interface RouteParserLimits {
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

const unknown = "Unknown Protocol Operation"
const badArgs = "Invalid Protocol Arguments"

export class RouteParser {
  private state: State = State.ControlLine
  private partialLine: Buffer | undefined = undefined
  private pAccount = ""
  private pSubject = ""
  private pReply: string | undefined = undefined
  private pQueues: Array<string> | undefined = undefined
  private pHdr = -1
  private payload: Buffer | undefined = undefined
  private payloadFilled = 0
  private payloadNeed = 0
  private argStart = new Int32Array(16)
  private argEnd = new Int32Array(16)
  private readonly sink: RouteSink
  private readonly limits: RouteParserLimits

  constructor(sink: RouteSink, limits: RouteParserLimits) {
    this.sink = sink
    this.limits = limits
  }

  get isDead(): boolean {
    return this.state === State.Dead
  }

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
          return this.die("maximum control line exceeded", `control line of ${end - start} bytes`)
        }
        if (end > start && line[end - 1] === CR) end--
        pos = nl + 1
        this.controlLine(line, start, end)
        const next = this.state as State
        if (next === State.Dead) return
        if (next === State.Payload && this.payload === undefined) {
          const need = this.payloadNeed
          if (len - pos >= need + 2) {
            if (buf[pos + need] !== CR || buf[pos + need + 1] !== LF) {
              return this.die(unknown, "payload not followed by CRLF")
            }
            const msg = buf.subarray(pos, pos + need)
            pos += need + 2
            this.state = State.ControlLine
            this.emit(msg)
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
            return this.die(unknown, "payload not followed by CRLF")
          }
          this.payload = undefined
          this.state = State.ControlLine
          this.emit(payload.subarray(0, need))
        }
      } else {
        return
      }
    }
  }

  private emit(msg: Uint8Array): void {
    this.sink.msg(this.pAccount, this.pSubject, this.pReply, this.pQueues, this.pHdr, msg)
  }

  private keepPartial(buf: Buffer, pos: number, len: number): void {
    const rest = Buffer.from(buf.subarray(pos, len))
    this.partialLine = this.partialLine === undefined ? rest : Buffer.concat([this.partialLine, rest])
    if (this.partialLine.length > this.limits.maxControlLine) {
      this.die("maximum control line exceeded", `control line of at least ${this.partialLine.length} bytes`)
    }
  }

  private die(text: string, detail: string): void {
    this.state = State.Dead
    this.partialLine = undefined
    this.payload = undefined
    this.sink.fatal({ text, detail })
  }

  /** Token boundaries of [start, end); returns the count. */
  private split(line: Buffer, start: number, end: number): number {
    let n = 0
    let i = start
    while (i < end) {
      while (i < end && (line[i] === SPACE || line[i] === TAB)) i++
      if (i >= end) break
      if (n === this.argStart.length) {
        const s = new Int32Array(n * 2)
        s.set(this.argStart)
        this.argStart = s
        const e = new Int32Array(n * 2)
        e.set(this.argEnd)
        this.argEnd = e
      }
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

  private size(line: Buffer, k: number): number {
    const s = this.argStart[k]!
    const e = this.argEnd[k]!
    if (e - s > 15 || e === s) return -1
    let v = 0
    for (let i = s; i < e; i++) {
      const c = line[i]! - 48
      if (c < 0 || c > 9) return -1
      v = v * 10 + c
    }
    return v
  }

  private rest(line: Buffer, end: number): string {
    return line.toString("utf8", this.argStart[1], end)
  }

  private controlLine(line: Buffer, start: number, end: number): void {
    const n = this.split(line, start, end)
    if (n === 0) return this.die(unknown, "empty control line")
    const s0 = this.argStart[0]!
    const l0 = this.argEnd[0]! - s0
    // Messages dominate: recognise RMSG / HMSG without building the verb string.
    if (l0 === 4 && (line[s0 + 1]! | 0x20) === 0x6d && (line[s0 + 2]! | 0x20) === 0x73) {
      const c0 = line[s0]! | 0x20
      if ((line[s0 + 3]! | 0x20) === 0x67 && (c0 === 0x72 || c0 === 0x68)) return this.rmsg(line, n, c0 === 0x68)
    }
    const op = this.arg(line, 0).toUpperCase()
    switch (op) {
      case "RMSG":
        return this.rmsg(line, n, false)
      case "HMSG":
        return this.rmsg(line, n, true)
      case "RS+":
        return this.rsub(line, n, 1)
      case "LS+":
        // The leafnode origin cluster comes first; the interest is the same as RS+'s.
        return this.rsub(line, n, 2)
      case "RS-":
      case "LS-":
        if (n === 3) return this.sink.unsub(this.arg(line, 1), this.arg(line, 2), undefined)
        if (n === 4) return this.sink.unsub(this.arg(line, 1), this.arg(line, 2), this.arg(line, 3))
        return this.die(badArgs, `${op} needs <account> <subject> [queue]`)
      case "PING":
        return this.sink.ping()
      case "PONG":
        return this.sink.pong()
      case "+OK":
        return this.sink.ok()
      case "-ERR": {
        const text = n < 2 ? "" : this.rest(line, end).trim()
        return this.sink.err(text.startsWith("'") && text.endsWith("'") ? text.slice(1, -1) : text)
      }
      case "INFO":
        if (n < 2) return this.die(badArgs, "INFO needs a JSON object")
        return this.sink.info(this.rest(line, end))
      case "CONNECT":
        if (n < 2) return this.die(badArgs, "CONNECT needs a JSON object")
        return this.sink.connect(this.rest(line, end))
    }
    return this.die(unknown, `unknown route operation ${JSON.stringify(op)}`)
  }

  private rsub(line: Buffer, n: number, at: number): void {
    const account = this.arg(line, at)
    if (n === at + 2) return this.sink.sub(account, this.arg(line, at + 1), undefined, 1)
    if (n === at + 4) {
      const w = this.size(line, at + 3)
      if (w < 1) return this.die(badArgs, "RS+ queue weight must be a positive number")
      return this.sink.sub(account, this.arg(line, at + 1), this.arg(line, at + 2), w)
    }
    return this.die(badArgs, "RS+ needs <account> <subject> [<queue> <weight>]")
  }

  /**
   * `RMSG <account> <subject> [<reply> | + <reply> <queues...> | \| <queues...>] <size>`; HMSG has
   * the header size before the total. Layout as nats-server's processRoutedMsgArgs reads it.
   */
  private rmsg(line: Buffer, n: number, headers: boolean): void {
    const fixed = headers ? 5 : 4
    if (n < fixed) return this.die(badArgs, `${headers ? "HMSG" : "RMSG"} has too few arguments`)
    const total = this.size(line, n - 1)
    const hdr = headers ? this.size(line, n - 2) : -1
    if (total < 0 || (headers && (hdr < 0 || hdr > total))) return this.die(badArgs, "routed message has a bad size")
    if (total > this.limits.maxPayload) return this.die("Maximum Payload Violation", `${total} bytes`)
    const middle = n - fixed
    let reply: string | undefined
    let queues: Array<string> | undefined
    if (middle === 1) reply = this.arg(line, 3)
    else if (middle > 1) {
      const indicator = this.arg(line, 3)
      let first: number
      if (indicator === "+") {
        reply = this.arg(line, 4)
        first = 5
      } else if (indicator === "|") first = 4
      else return this.die(badArgs, `bad reply indicator ${JSON.stringify(indicator)}`)
      const last = n - (headers ? 2 : 1)
      if (first < last) {
        queues = []
        for (let k = first; k < last; k++) queues.push(this.arg(line, k))
      }
    }
    this.pAccount = this.arg(line, 1)
    this.pSubject = this.arg(line, 2)
    this.pReply = reply
    this.pQueues = queues
    this.pHdr = hdr
    this.payloadNeed = total
    this.payload = undefined
    this.state = State.Payload
  }
}

/** The RMSG/HMSG control line for one forwarded message (nats-server's layout, see `rmsg`). */
export const routedMsgLine = (
  account: string,
  subject: string,
  reply: string | undefined,
  queues: ReadonlyArray<string> | undefined,
  hdrLen: number,
  total: number
): string => {
  let line = hdrLen >= 0 ? `HMSG ${account} ${subject}` : `RMSG ${account} ${subject}`
  if (queues !== undefined && queues.length > 0) {
    line += reply === undefined ? " |" : ` + ${reply}`
    for (const q of queues) line += ` ${q}`
  } else if (reply !== undefined) line += ` ${reply}`
  return hdrLen >= 0 ? `${line} ${hdrLen} ${total}\r\n` : `${line} ${total}\r\n`
}
