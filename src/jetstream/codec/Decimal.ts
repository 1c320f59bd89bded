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
  // Sequences and counts fit 31 bits almost always: integer division there (floating-point division and
  // Math.floor per digit, twice, was the largest share of building an ack reply subject).
  if (n <= 0x7fffffff) {
    const end = at + digits31(n)
    let p = end
    let m = n | 0
    while (m >= 10) {
      const q = (m / 10) | 0
      out[--p] = 48 + (m - q * 10)
      m = q
    }
    out[--p] = 48 + m
    return end
  }
  let len = 0
  for (let m = n; m > 0; m = Math.floor(m / 10)) len++
  let p = at + len
  for (let m = n; m > 0; m = Math.floor(m / 10)) out[--p] = 48 + (m % 10)
  return at + len
}

/** Decimal digits of 10 <= n < 2^31. */
const digits31 = (n: number): number =>
  n < 100_000
    ? n < 100 ? 2 : n < 1_000 ? 3 : n < 10_000 ? 4 : 5
    : n < 10_000_000
    ? n < 1_000_000 ? 6 : 7
    : n < 100_000_000
    ? 8
    : n < 1_000_000_000
    ? 9
    : 10
