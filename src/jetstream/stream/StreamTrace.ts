/**
 * A traced message reaching a stream (nats-server processInboundJetStreamMsg / processJetStreamMsg):
 * the trace gets a `js` event and is sent once the stream has run its checks. A stored copy has its
 * `Nats-Trace-Dest` disabled so consumers delivering it (across routes too) do not trace it again; a
 * trace-only message passes the checks and is neither stored nor acked.
 */
import type { MsgTrace } from "../../core/MsgTrace.ts"
import { setHeader, TRACE_DEST, TRACE_DISABLED } from "../../core/TraceHeaders.ts"

export const traceIntoStream = (
  trace: MsgTrace,
  stream: string,
  hdrLen: number,
  msg: Uint8Array
): { readonly hdrLen: number; readonly msg: Uint8Array } => {
  trace.jetStream(stream)
  return trace.traceOnly ? { hdrLen, msg } : setHeader(msg, hdrLen, TRACE_DEST, TRACE_DISABLED)
}

/** The checks passed: true when the message is trace-only (the stream stops before storing it). */
export const traceAccepted = (trace: MsgTrace, subject: string, noInterest: boolean): boolean => {
  trace.jetStreamAccepted(subject, noInterest)
  return trace.traceOnly
}

/** The stream could not take the message at all: the event goes out with the error. */
export const traceRefused = (trace: MsgTrace, error: string): void => {
  trace.jetStreamError(error)
  trace.done()
}
