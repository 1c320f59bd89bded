/**
 * The header side of message tracing (nats-server msgtrace.go genHeaderMapIfTraceHeadersPresent):
 * finding the trace headers in a message's header block, cheaply when there are none, and writing
 * the markers later hops read (`Nats-Trace-Hop`, a disabled `Nats-Trace-Dest`).
 */
import { Buffer } from "node:buffer"

export const TRACE_DEST = "Nats-Trace-Dest"
/** Not a valid subject: what a server writes over `Nats-Trace-Dest` so later hops do not trace. */
export const TRACE_DISABLED = "trace disabled"
export const TRACE_HOP = "Nats-Trace-Hop"
export const TRACE_ONLY = "Nats-Trace-Only"
export const TRACE_ORIGIN_ACCOUNT = "Nats-Trace-Origin-Account"

export interface FoundHeaders {
  /** Every header with a non-empty key and value, names in their case, values trimmed. */
  readonly header: Record<string, Array<string>>
  /** Only a sampled `traceparent` was found: the destination comes from the account. */
  readonly external: boolean
}

const DEST_BYTES = Buffer.from(TRACE_DEST, "latin1")
const DISABLED_BYTES = Buffer.from(TRACE_DISABLED, "latin1")
const PARENT = "traceparent"

/**
 * The header block's entries when it has `Nats-Trace-Dest` (exact case, not disabled) or a
 * `traceparent` (any case) whose flags have the sampled bit; undefined otherwise. The first pass only
 * compares key bytes, so a message without trace headers allocates nothing.
 */
export const findTraceHeaders = (msg: Uint8Array, hdrLen: number): FoundHeaders | undefined => {
  if (!mayHaveTraceKey(msg, hdrLen)) return undefined
  let dest = false
  let parent = false
  let disabled = false
  forEachHeader(msg, hdrLen, (ks, ke, vs, ve) => {
    const klen = ke - ks
    if (!dest && klen === DEST_BYTES.length && msg[ks] === 78 /* N */ && sameBytes(msg, ks, DEST_BYTES)) {
      // A disabled destination means an earlier server decided: nothing is traced here.
      if (ve - vs === DISABLED_BYTES.length && sameBytes(msg, vs, DISABLED_BYTES)) {
        disabled = true
        return false
      }
      dest = true
    } else if (!parent && klen === PARENT.length && (msg[ks]! | 0x20) === 116 /* t */ && sameFold(msg, ks, PARENT)) {
      parent = sampledParent(msg, vs, ve)
    }
    return true
  })
  if (disabled || (!dest && !parent)) return undefined
  const header: Record<string, Array<string>> = {}
  forEachHeader(msg, hdrLen, (ks, ke, vs, ve) => {
    const k = Buffer.from(msg.buffer, msg.byteOffset + ks, ke - ks).toString("utf8")
    const v = Buffer.from(msg.buffer, msg.byteOffset + vs, ve - vs).toString("utf8")
    ;(header[k] ??= []).push(v)
    return true
  })
  return { header, external: !dest }
}

/**
 * Whether some line of the block starts like a trace header key: only the first byte of each line is
 * looked at (then the byte after the key must be ':'), so blocks without one cost one pass, no allocation.
 */
const mayHaveTraceKey = (msg: Uint8Array, hdrLen: number): boolean => {
  const d = DEST_BYTES.length
  const p = PARENT.length
  let start = false
  for (let i = 0; i < hdrLen; i++) {
    const c = msg[i]!
    if (c === 10) {
      start = true
      continue
    }
    if (!start) continue
    start = false
    if (c === 78 /* N */) {
      if (i + d < hdrLen && msg[i + d] === 58 && sameBytes(msg, i, DEST_BYTES)) return true
    } else if ((c | 0x20) === 116 /* t */) {
      if (i + p < hdrLen && msg[i + p] === 58 && sameFold(msg, i, PARENT)) return true
    }
  }
  return false
}

/**
 * Calls `f` with the key and value bounds of every `Key: Value` line that has both (as nats-server
 * keeps them); `f` returning false stops the scan and makes it yield nothing.
 */
const forEachHeader = (
  msg: Uint8Array,
  hdrLen: number,
  f: (ks: number, ke: number, vs: number, ve: number) => boolean
): void => {
  // After "NATS/1.0[ status]\r\n".
  let i = 0
  while (i < hdrLen - 1 && !(msg[i] === 13 && msg[i + 1] === 10)) i++
  i += 2
  while (i < hdrLen) {
    let colon = -1
    let eol = i
    while (eol < hdrLen - 1 && !(msg[eol] === 13 && msg[eol + 1] === 10)) {
      if (colon < 0 && msg[eol] === 58) colon = eol
      eol++
    }
    if (eol >= hdrLen - 1) return
    if (colon > i) {
      let vs = colon + 1
      while (vs < eol && (msg[vs] === 32 || msg[vs] === 9)) vs++
      let ve = eol
      while (ve > vs && (msg[ve - 1] === 32 || msg[ve - 1] === 9)) ve--
      if (ve > vs && !f(i, colon, vs, ve)) return
    }
    i = eol + 2
  }
}

const sameBytes = (msg: Uint8Array, at: number, want: Uint8Array): boolean => {
  for (let j = 0; j < want.length; j++) if (msg[at + j] !== want[j]) return false
  return true
}

const sameFold = (msg: Uint8Array, at: number, lower: string): boolean => {
  for (let j = 0; j < lower.length; j++) if ((msg[at + j]! | 0x20) !== lower.charCodeAt(j)) return false
  return true
}

/** W3C trace-context: `version-traceid-parentid-flags`, flags two hex digits, bit 0 = sampled. */
const sampledParent = (msg: Uint8Array, vs: number, ve: number): boolean => {
  const parts = Buffer.from(msg.buffer, msg.byteOffset + vs, ve - vs).toString("latin1").split("-")
  if (parts.length !== 4 || parts[3]!.length !== 2 || !/^[0-9a-fA-F]{2}$/.test(parts[3]!)) return false
  return (parseInt(parts[3]!, 16) & 1) === 1
}

/** The message with header `key` set to `value` (replaced where present, else added last). */
export const setHeader = (
  msg: Uint8Array,
  hdrLen: number,
  key: string,
  value: string
): { readonly hdrLen: number; readonly msg: Uint8Array } => {
  const block = Buffer.from(msg.buffer, msg.byteOffset, hdrLen).toString("latin1")
  const lines = block.split("\r\n")
  // lines: status, entries..., "", "" (the block ends with an empty line).
  const line = `${key}: ${Buffer.from(value, "utf8").toString("latin1")}`
  const at = lines.findIndex((l, i) => i > 0 && l.slice(0, l.indexOf(":")) === key)
  if (at > 0) lines[at] = line
  else lines.splice(Math.max(1, lines.length - 2), 0, line)
  const head = Buffer.from(lines.join("\r\n"), "latin1")
  const out = new Uint8Array(head.length + msg.length - hdrLen)
  out.set(head)
  out.set(msg.subarray(hdrLen), head.length)
  return { hdrLen: head.length, msg: out }
}
