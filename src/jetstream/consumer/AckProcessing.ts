/**
 * Reading what a client sends to a consumer's ack subject, as nats-server 2.9.10 does: which
 * delivery the subject names, what the body asks for (+ACK, +NXT, -NAK, +WPI, +TERM) and the
 * arguments of -NAK and +NXT. Free functions only; ConsumerActor applies the result to its state
 * (it owns the pending set, the journal events and the double-ack replies).
 */
import { Buffer } from "node:buffer"
import { AT_LEVEL_211 } from "../../config/BrokerConfig.ts"
import { parseGoDuration } from "../codec/GoTime.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import { decodePullRequest, type PullRequest } from "../model/PullRequest.ts"
import { decodeStruct } from "../model/Requests.ts"

/**
 * The delivery an ack subject names, in either form (AckSubjects.ts): `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.
 * <dseq>.<ts>.<pending>` or the v2 one with domain and account hash before the stream. As nats-server's
 * ackReplyInfo: exactly nine tokens or at least eleven, and a sequence is plain decimal digits (anything else
 * names no delivery). Scanned in place: this runs once per acknowledged message, and splitting the subject into
 * strings was a visible share of an ack's cost.
 */
export const ackTarget = (subject: string): { readonly sseq: number; readonly dseq: number } | undefined => {
  let dots = 0
  // Where tokens 5-8 start: v1 has its sequences at 5 and 6, v2 at 7 and 8.
  let at5 = -1
  let at6 = -1
  let at7 = -1
  let at8 = -1
  for (let i = 0; i < subject.length; i++) {
    if (subject.charCodeAt(i) !== 46 /* . */) continue
    dots++
    if (dots === 5) at5 = i + 1
    else if (dots === 6) at6 = i + 1
    else if (dots === 7) at7 = i + 1
    else if (dots === 8) at8 = i + 1
  }
  const v2 = dots >= 10
  if (dots !== 8 && !v2) return undefined
  const sseq = decimalToken(subject, v2 ? at7 : at5)
  if (sseq <= 0) return undefined
  return { sseq, dseq: decimalToken(subject, v2 ? at8 : at6) }
}

/** The decimal number of the token starting at `at` (up to the next dot); -1 if empty, not digits or unsafe. */
const decimalToken = (s: string, at: number): number => {
  let n = 0
  let i = at
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) break
    if (c < 48 || c > 57) return -1
    n = n * 10 + (c - 48)
  }
  return i === at || !Number.isSafeInteger(n) ? -1 : n
}

export type AckKind = "ack" | "next" | "nak" | "progress" | "term"

const startsWith = (b: Uint8Array, p: string): boolean => {
  if (b.length < p.length) return false
  for (let i = 0; i < p.length; i++) if (b[i] !== p.charCodeAt(i)) return false
  return true
}

const equals = (b: Uint8Array, p: string): boolean => b.length === p.length && startsWith(b, p)

/**
 * What an ack body asks for; undefined for anything else (ignored, as nats-server does). An empty
 * body, `+ACK` and `+OK` are acks, `+WPI` is progress: whole bodies, nothing may follow (a
 * `+ACKS` is not an ack). `+NXT` and `-NAK` take an argument after the verb. `+TERM` is exact in
 * 2.9.10; `+TERM <reason>` (2.10+, what nats.js `term(reason)` sends) is a term too.
 */
export const ackKind = (body: Uint8Array): AckKind | undefined => {
  if (body.length === 0 || equals(body, "+ACK") || equals(body, "+OK")) return "ack"
  if (startsWith(body, "+NXT")) return "next"
  if (startsWith(body, "-NAK")) return "nak"
  if (equals(body, "+WPI")) return "progress"
  if (equals(body, "+TERM") || startsWith(body, "+TERM ")) return "term"
  return undefined
}

// Go's bytes.TrimSpace set (unicode.IsSpace).
const GO_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "g")

/**
 * The `reason` member of the MSG_TERMINATED advisory: what follows `+TERM`, space-trimmed as Go's
 * `bytes.TrimSpace` (2.11 `JSConsumerDeliveryTerminatedAdvisory.Reason`, omitempty; 2.9.10's
 * advisory has no such member). Empty = none.
 */
export const termReason = (body: Uint8Array, at211: boolean = AT_LEVEL_211): string =>
  at211 ? Buffer.from(body.subarray(5)).toString("utf8").replace(TRIM, "") : ""

/**
 * The redelivery delay of a -NAK argument in ms, as nats-server's `processNak`: a JSON
 * `ConsumerNakOptions` (`{"delay": <int64 ns>}`, decoded strictly: a string, a fraction, an
 * unknown key are malformed) or a Go duration ("1.5s", "-2m"); no argument = redeliver now.
 * A malformed argument is a plain NAK (redeliver now) and `warn` hears of it — it is never read as
 * some other delay. Undefined = a plain NAK; a zero or negative delay also redelivers now.
 */
export const nakDelayMs = (arg: Uint8Array, warn: (text: string) => void): number | undefined => {
  const text = Buffer.from(arg).toString("utf8").replace(TRIM, "")
  if (text === "") return undefined
  if (text.startsWith("{")) {
    const r = decodeStruct(Buffer.from(text, "utf8"), { delay: "int" } as const)
    if (!r.ok) {
      warn(text)
      return undefined
    }
    return Number(r.value.delay) / 1e6
  }
  const ms = parseGoDuration(text)
  if (ms === undefined) warn(text)
  return ms
}

/**
 * `+NXT <pull request>`: the argument is a pull request body like MSG.NEXT's, decoded the same
 * strict way (nats-server's processNextMsgRequest); a malformed one is refused with its 400
 * status, never read as a batch of one. Returns the request or the status line to answer with.
 */
export const nextPullRequest = (isPull: boolean, arg: Uint8Array): PullRequest | string => {
  if (!isPull) return "409 Consumer is push based"
  const decoded = decodePullRequest(arg)
  return decoded.ok ? decoded.request : `400 ${decoded.description}`
}

/** The ack wait of a delivery in ms: from `backoff` by delivery count when set, else `ack_wait`. */
export const ackWaitMs = (config: ConsumerConfig, count: number): number => {
  const b = config.backoff
  if (b !== undefined && b.length > 0) return b[Math.min(count - 1, b.length - 1)]! / 1e6
  // Only flow-control acks (ADR-60) have none: their messages wait for an answer, never time out.
  return config.ack_wait === 0 ? Infinity : config.ack_wait / 1e6
}
