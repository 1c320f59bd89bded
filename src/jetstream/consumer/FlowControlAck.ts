/**
 * Acks of an `ack_policy: "flow_control"` consumer (2.14, ADR-60). The receiving server answers a
 * flow-control request with `Nats-Last-Stream` / `Nats-Last-Consumer`: the last stream and consumer
 * sequence it has stored, which acks everything up to them, as an ack-all would. A flow-control
 * request is also forced once max_ack_pending is reached (nothing more may go until the answer acks)
 * and on an idle heartbeat while messages are pending (an idle stream still moves its ack floor).
 */
import { headerValue } from "../../protocol/Headers.ts"

/** nats-server's parseInt64 of a header value: plain decimal digits, else -1. */
const parseSeq = (v: string | undefined): number => {
  if (v === undefined || !/^\d{1,16}$/.test(v)) return -1
  return Number(v)
}

/**
 * The ack-all a flow-control answer carries, or undefined without a stream sequence. The consumer
 * sequence may be absent or zero: an answer to a request sent before any delivery.
 */
export const flowControlAckTarget = (hdr: Uint8Array | undefined): { sseq: number; dseq: number } | undefined => {
  if (hdr === undefined || hdr.length === 0) return undefined
  const sseq = parseSeq(headerValue(hdr, "Nats-Last-Stream"))
  if (sseq <= 0) return undefined
  return { sseq, dseq: Math.max(0, parseSeq(headerValue(hdr, "Nats-Last-Consumer"))) }
}

/** Is a flow-control request due now, beyond the ones the byte window sends? */
export const flowControlAckRequestDue = (
  pending: number,
  maxAckPending: number,
  outstanding: boolean,
  heartbeat: boolean
): boolean => {
  if (outstanding || pending === 0) return false
  return heartbeat || (maxAckPending > 0 && pending >= maxAckPending)
}
