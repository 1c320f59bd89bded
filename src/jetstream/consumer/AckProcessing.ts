/**
 * Reading what a client sends to a consumer's ack subject, as nats-server 2.9.10 does: which
 * delivery the subject names, what the body asks for (+ACK, +NXT, -NAK, +WPI, +TERM) and the
 * arguments of -NAK and +NXT. Free functions only; ConsumerActor applies the result to its state
 * (it owns the pending set, the journal events and the double-ack replies).
 */
import { Buffer } from "node:buffer"
import type { ConsumerConfig } from "../api/ConsumerConfig.ts"
import type { PullRequest } from "../api/PullRequest.ts"

/** The delivery an ack subject names: `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`. */
export const ackTarget = (subject: string): { readonly sseq: number; readonly dseq: number } | undefined => {
  const t = subject.split(".")
  if (t.length < 9) return undefined
  const sseq = Number(t[5])
  const dseq = Number(t[6])
  if (!Number.isSafeInteger(sseq) || sseq <= 0) return undefined
  return { sseq, dseq }
}

export type AckKind = "ack" | "next" | "nak" | "progress" | "term"

const startsWith = (b: Uint8Array, p: string): boolean => {
  if (b.length < p.length) return false
  for (let i = 0; i < p.length; i++) if (b[i] !== p.charCodeAt(i)) return false
  return true
}

/**
 * What an ack body asks for; undefined for anything else (ignored). An empty body is an ack. The
 * argument of "next" and "nak" is the body after its four-byte verb.
 */
export const ackKind = (body: Uint8Array): AckKind | undefined => {
  if (body.length === 0 || startsWith(body, "+ACK") || startsWith(body, "+OK")) return "ack"
  if (startsWith(body, "+NXT")) return "next"
  if (startsWith(body, "-NAK")) return "nak"
  if (startsWith(body, "+WPI")) return "progress"
  if (startsWith(body, "+TERM")) return "term"
  return undefined
}

/**
 * The redelivery delay of a -NAK argument in ms: `{"delay": <ns>}` or a Go duration ("1.5s");
 * 0 = redeliver now. `warn` hears of a JSON argument that does not parse.
 */
export const nakDelayMs = (arg: Uint8Array, warn: (text: string) => void): number => {
  const text = Buffer.from(arg).toString("utf8").trim()
  let delayMs = 0
  if (text !== "") {
    if (text.startsWith("{")) {
      try {
        const d = (JSON.parse(text) as { delay?: unknown }).delay
        if (typeof d === "number" && d > 0) delayMs = d / 1e6
      } catch {
        warn(text)
      }
    } else {
      const ms = parseGoDuration(text)
      if (ms !== undefined) delayMs = ms
    }
  }
  return delayMs
}

/** The pull request a +NXT argument makes: a batch (bare number or `{"batch": n}`), at least 1. */
export const nextRequest = (arg: Uint8Array): PullRequest => {
  const text = Buffer.from(arg).toString("utf8").trim()
  let batch = 1
  if (text !== "") {
    try {
      const v = JSON.parse(text) as unknown
      if (typeof v === "number") batch = v
      else if (typeof v === "object" && v !== null && typeof (v as { batch?: unknown }).batch === "number") batch = (v as { batch: number }).batch
    } catch {
      // nats-server treats an unparsable +NXT argument as a batch of one.
    }
  }
  return { batch: Math.max(1, batch), expiresNs: 0, noWait: false, maxBytes: 0, heartbeatNs: 0 }
}

/** The ack wait of a delivery in ms: from `backoff` by delivery count when set, else `ack_wait`. */
export const ackWaitMs = (config: ConsumerConfig, count: number): number => {
  const b = config.backoff
  if (b !== undefined && b.length > 0) return b[Math.min(count - 1, b.length - 1)]! / 1e6
  return config.ack_wait / 1e6
}

/** Go duration strings as NAK delays: "1.5s", "300ms", "2m", "1h30m". */
const parseGoDuration = (s: string): number | undefined => {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let matched = ""
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!
    matched += m[0]
  }
  return matched === s && s !== "" ? total : undefined
}
