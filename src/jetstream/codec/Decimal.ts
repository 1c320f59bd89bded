/**
 * Writes a non-negative safe integer as ASCII decimal digits into a byte buffer and returns the end: how the
 * per-message hot paths (ack reply subjects, consumer journal events) put numbers into bytes without building
 * a string first. Same digits as `String(n)` for every safe integer.
 */
export const writeDecimal = (out: Uint8Array, at: number, n: number): number => {
  if (n < 10) {
    out[at] = 48 + n
    return at + 1
  }
  let len = 0
  for (let m = n; m > 0; m = Math.floor(m / 10)) len++
  let p = at + len
  for (let m = n; m > 0; m = Math.floor(m / 10)) out[--p] = 48 + (m % 10)
  return at + len
}
