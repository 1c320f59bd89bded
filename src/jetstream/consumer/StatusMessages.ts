/**
 * The header-only status messages (`NATS/1.0 <code> <text>`) a consumer sends to pull requests and to its
 * deliver subject: 404/408/409 answers, idle heartbeats, flow-control requests.
 */
import type { InternalClient } from "../../core/InternalClient.ts"
import { encodeHeaders } from "../../protocol/Headers.ts"
import type { AckState } from "./AckState.ts"

export const status = (line: string, headers: ReadonlyArray<readonly [string, string | number]> = []) =>
  encodeHeaders(line, headers.map(([k, v]) => [k, String(v)] as const))

/** A status telling a pull request what was left of it (Nats-Pending-Messages / -Bytes). */
export const pendingStatus = (line: string, r: { readonly remaining: number; readonly bytesLeft: number }) =>
  status(line, [["Nats-Pending-Messages", r.remaining], ["Nats-Pending-Bytes", r.bytesLeft]])

export const signal = (client: InternalClient, to: string, hdr: Uint8Array): void => {
  client.publish(to, undefined, hdr.length, hdr)
}

/** Idle heartbeats carry where the consumer is: last consumer and stream sequence. */
export const lastHeaders = (state: AckState): Array<[string, string | number]> => [
  ["Nats-Last-Consumer", state.delivered],
  ["Nats-Last-Stream", Math.max(0, state.nextSeq - 1)]
]
