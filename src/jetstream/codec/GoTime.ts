/**
 * Go's `time` formats: RFC 3339 timestamps as `time.Time` JSON reads them (`parseTime` for request and
 * stored timestamps, `normalizeTime` for the consumer config's `opt_start_time` and `pause_until`), and
 * `time.ParseDuration` (NAK delays, configuration files).
 */
const NS_PER_SEC = 1_000_000_000n
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/

const daysIn = (year: number, month: number): number => {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** An RFC 3339 timestamp as Go's `time.Time` reads it: the match, its offset and the Unix instant. */
interface Parsed {
  readonly m: RegExpExecArray
  readonly offsetMin: number
  /** Nanoseconds of the second, 9 digits (digits beyond are truncated, as Go does). */
  readonly frac: string
  readonly ns: bigint
}

const parse = (s: string): Parsed | undefined => {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMin = 0
  if (m[8] === undefined) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return undefined
    offsetMin = (oh * 60 + om) * (m[9] === "-" ? -1 : 1)
  }
  const frac = (m[7] ?? "").slice(0, 9).padEnd(9, "0")
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, 0)
  const ns = BigInt(d.getTime() / 1000 - offsetMin * 60) * NS_PER_SEC + BigInt(frac)
  return { m, offsetMin, frac, ns }
}

// Unix nanoseconds of 0001-01-01T00:00:00Z.
const GO_ZERO_UNIX_NS = -62135596800n * NS_PER_SEC

/**
 * Parses RFC 3339 (`2026-11-22T00:22:43.45442Z`, `…+02:00`; fraction optional, digits beyond
 * nanoseconds truncated) to Unix nanoseconds. Go's zero time parses to `0n` so it round-trips with
 * `formatTime`. Returns `undefined` when the text is not a valid timestamp.
 */
export const parseTime = (s: string): bigint | undefined => {
  const p = parse(s)
  if (p === undefined) return undefined
  return p.ns === GO_ZERO_UNIX_NS ? 0n : p.ns
}

/**
 * Go's `time.Time` JSON round trip: parse RFC 3339 and write it back with `RFC3339Nano` in the
 * sender's offset (zero offsets become "Z", the fraction is truncated to 9 digits and trimmed).
 * Returns the normalized text and the instant in Unix ns, or undefined when Go would refuse it.
 * Unlike `parseTime`, the zero time keeps its instant (the text is what is reported).
 */
export const normalizeTime = (s: string): { readonly text: string; readonly ns: bigint } | undefined => {
  const p = parse(s)
  if (p === undefined) return undefined
  const { m, offsetMin, frac, ns } = p
  const trimmed = frac.replace(/0+$/, "")
  const zone = offsetMin === 0
    ? "Z"
    : `${offsetMin < 0 ? "-" : "+"}${String(Math.trunc(Math.abs(offsetMin) / 60)).padStart(2, "0")}:${
      String(Math.abs(offsetMin) % 60).padStart(2, "0")
    }`
  const text = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${trimmed === "" ? "" : "." + trimmed}${zone}`
  return { text, ns }
}

/**
 * Go's `time.ParseDuration`, in ms: an optional sign, then one or more `<decimal><unit>` (units
 * ns, us, µs, μs, ms, s, m, h; "1.5h", ".5s", "1h30m"); a lone "0" is zero. Undefined otherwise.
 */
export const parseGoDuration = (s: string): number | undefined => {
  const m = /^([+-]?)(.*)$/.exec(s)!
  const body = m[2]!
  if (body === "0") return 0
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    "µs": 1e-3,
    "μs": 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000
  }
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y
  let total = 0
  let at = 0
  while (at < body.length) {
    re.lastIndex = at
    const part = re.exec(body)
    if (part === null) return undefined
    total += Number(part[1]) * unit[part[2]!]!
    at = re.lastIndex
  }
  if (body === "") return undefined
  return m[1] === "-" ? -total : total
}
