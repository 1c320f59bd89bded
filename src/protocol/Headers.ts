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

/**
 * Value of the first header `key` (exact case, as nats-server looks them up) in a header block, or
 * undefined. Scans bytes without decoding the whole block: called on every JetStream publish.
 */
export const headerValue = (block: Uint8Array, key: string): string | undefined => {
  const n = block.length
  const k = key.length
  // Skip the status line.
  let i = indexOfCrlf(block, 0)
  if (i < 0) return undefined
  i += 2
  while (i < n) {
    const eol = indexOfCrlf(block, i)
    if (eol < 0 || eol === i) return undefined
    if (eol - i > k && block[i + k] === 58 /* : */) {
      let same = true
      for (let j = 0; j < k; j++) {
        if (block[i + j] !== key.charCodeAt(j)) {
          same = false
          break
        }
      }
      if (same) {
        let s = i + k + 1
        while (s < eol && (block[s] === 32 || block[s] === 9)) s++
        let e = eol
        while (e > s && (block[e - 1] === 32 || block[e - 1] === 9)) e--
        return Buffer.from(block.buffer, block.byteOffset + s, e - s).toString("latin1")
      }
    }
    i = eol + 2
  }
  return undefined
}

const indexOfCrlf = (b: Uint8Array, from: number): number => {
  for (let i = from; i < b.length - 1; i++) if (b[i] === 13 && b[i + 1] === 10) return i
  return -1
}

/** Parses a whole header block into [status code, description, entries]; for tests and status replies. */
export const decodeHeaders = (block: Uint8Array): { status: string; entries: Array<[string, string]> } => {
  const text = Buffer.from(block.buffer, block.byteOffset, block.length).toString("latin1")
  const lines = text.split("\r\n")
  const status = lines[0]!.slice("NATS/1.0".length).trim()
  const entries: Array<[string, string]> = []
  for (const line of lines.slice(1)) {
    if (line === "") break
    const c = line.indexOf(":")
    if (c > 0) entries.push([line.slice(0, c), line.slice(c + 1).trim()])
  }
  return { status, entries }
}
