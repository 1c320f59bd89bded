/**
 * The `NATS/1.0` header block: status line, `Key: Value` lines, blank line.
 * Used for server-originated status messages (no responders now; JetStream statuses later).
 */
import { Buffer } from "node:buffer"

/** Encodes a header block; `status` such as "503" or "404 No Messages". Keys keep their case. */
export const encodeHeaders = (status: string | undefined, headers: ReadonlyArray<readonly [string, string]> = []) => {
  let s = status === undefined ? "NATS/1.0\r\n" : `NATS/1.0 ${status}\r\n`
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`
  s += "\r\n"
  return Buffer.from(s, "latin1")
}

/** The exact no-responders status block nats-server 2.9.10 sends. */
export const NO_RESPONDERS: Uint8Array = encodeHeaders("503")
