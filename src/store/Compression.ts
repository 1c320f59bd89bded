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

/** Attempts judged together, the share of bytes they must save, and how many records a bad run skips. */
const WINDOW = 32
const WORTH = 1 / 8
const BACK_OFF = 256

/**
 * `compressBody` for one log, giving up for a while on what does not compress: a stream of small or
 * already-compressed messages would pay the (pure JavaScript) compressor for nothing on every append. After
 * each WINDOW attempts that saved less than WORTH of their bytes, the next BACK_OFF records are stored as
 * they are, then it tries again; so such a stream pays for about one record in nine.
 */
export class Compressor {
  private attempts = 0
  private input = 0
  private saved = 0
  private skip = 0

  compress(hdr: Uint8Array | undefined, data: Uint8Array): Uint8Array | undefined {
    if (this.skip > 0) {
      this.skip--
      return undefined
    }
    const n = (hdr?.length ?? 0) + data.length
    if (n < MIN_INPUT) return undefined
    const z = compressBody(hdr, data)
    this.attempts++
    this.input += n
    if (z !== undefined) this.saved += n - z.length
    if (this.attempts === WINDOW) {
      if (this.saved < this.input * WORTH) this.skip = BACK_OFF
      this.attempts = 0
      this.input = 0
      this.saved = 0
    }
    return z
  }
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
