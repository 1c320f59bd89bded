/**
 * The body of `$JS.API.CONSUMER.RESET.<stream>.<consumer>` (2.14, ADR-60): none, or `{"seq":n}`
 * with a stream sequence (a u64). No body, `null`, `{}` and `{"seq":0}` all mean "back to the ack
 * floor". Decoded strictly, as every request here: an unknown key is refused, where nats-server's
 * plain json.Unmarshal of this one struct would ignore it.
 */
import type { ApiError } from "./ApiError.ts"
import { decodeStruct, invalidJson, seqNumber } from "./Requests.ts"

const RESET = { seq: "uint64" } as const

/** The requested stream sequence (0 = the ack floor), or the error reply. */
export const resetRequest = (body: Uint8Array): number | ApiError => {
  if (body.length === 0) return 0
  const r = decodeStruct(body, RESET)
  return r.ok ? seqNumber(r.value.seq) : invalidJson(r.failure)
}
