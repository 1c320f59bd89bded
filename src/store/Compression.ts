/**
 * Per-record compression for file streams with `compression: "s2"` (nats-server 2.10). The codec is
 * the Snappy block format (snappyjs, pure JavaScript, so it runs on Node, Bun and Deno alike); every
 * Snappy block is also a valid S2 block, S2 being Snappy's extension. The on-disk layout is this
 * broker's own (Record.ts), so nothing needs to read it but us.
 *
 * A record's headers and payload are compressed together, and only kept compressed when that saves
 * bytes: small or already-compressed messages stay as they are, so turning compression on never makes
 * a stream bigger. The subject stays plain (the index is rebuilt from it without decompressing).
 */
import SnappyJS from "snappyjs"

/** Below this many bytes of headers and payload a Snappy block hardly ever saves anything. */
const MIN_INPUT = 64

/** `hdr` and `data` compressed as one block, or undefined when that would not be smaller. */
export const compressBody = (hdr: Uint8Array | undefined, data: Uint8Array): Uint8Array | undefined => {
  const hl = hdr === undefined ? 0 : hdr.length
  const n = hl + data.length
  if (n < MIN_INPUT) return undefined
  let input: Uint8Array = data
  if (hl > 0) {
    input = new Uint8Array(n)
    input.set(hdr!, 0)
    input.set(data, hl)
  }
  const z = SnappyJS.compress(input)
  return z.length < n ? z : undefined
}

/**
 * The uncompressed length a block declares (its leading varint), or -1 when the bytes cannot be a
 * block. Recovery counts a record's bytes with it without decompressing.
 */
export const declaredLength = (buf: Uint8Array, at: number, end: number): number => {
  let n = 0
  let shift = 0
  for (let i = at; i < end && i < at + 5; i++) {
    const b = buf[i]!
    n += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return n
    shift += 7
  }
  return -1
}

/** Larger than any message a stream takes (max_payload is at most 64 MiB): a bound on a bad length. */
const MAX_BODY = 256 * 1024 * 1024

/** Decompresses a block; undefined when the bytes are not one. */
export const decompressBody = (block: Uint8Array): Uint8Array | undefined => {
  try {
    return SnappyJS.uncompress(block, MAX_BODY)
  } catch {
    return undefined
  }
}
