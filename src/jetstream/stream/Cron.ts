/**
 * Cron schedules as nats-server 2.14 evaluates them (server/cron.go, robfig/cron's algorithm; ADR-51):
 * six whitespace-separated fields (second minute hour day-of-month month day-of-week), each a comma
 * list of `*`/`?`, numbers, names (`jan`, `mon`), ranges `a-b` and steps `/n` (`n/s` means `n-max/s`).
 * Day of month and day of week match together when either one holds a star, else either may match.
 *
 * The next firing is found by walking the wall-clock fields of the schedule's zone from the second
 * after `ts`, month first, as nats-server does: the same instants, DST quirks included (a skipped
 * local time is not run, a repeated one may run twice). No firing within five years = invalid.
 *
 * Zones are IANA names resolved by `Intl` (ICU's tzdata instead of the host's, as Go would use), plus
 * Go's `UTC` and `Local`; fixed offsets (`+02:00`) are refused, as `time.LoadLocation` refuses them.
 */

/** A time zone: the UTC offset in effect at an instant. */
export interface Zone {
  readonly name: string
  /** Milliseconds to add to a UTC instant to get the zone's wall clock. */
  offsetMs(instantMs: number): number
}

export const UTC: Zone = { name: "UTC", offsetMs: () => 0 }

const zones = new Map<string, Zone | undefined>()

const intlZone = (name: string): Zone | undefined => {
  let fmt: Intl.DateTimeFormat
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric"
    })
  } catch {
    return undefined
  }
  const resolved = fmt.resolvedOptions().timeZone
  // Go reads tzdata files by exact name: `america/new_york` is no zone there, though ICU takes it.
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return undefined
  return {
    name,
    offsetMs: (instantMs) => {
      const whole = Math.floor(instantMs / 1000) * 1000
      const p: Record<string, number> = {}
      for (const part of fmt.formatToParts(new Date(whole))) {
        if (part.type !== "literal") p[part.type] = Number(part.value)
      }
      const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!)
      return wall - whole
    }
  }
}

/** Go's `time.LoadLocation`: `UTC`, `Local` or an IANA zone name; undefined when unknown. */
export const loadZone = (name: string): Zone | undefined => {
  if (name === "UTC") return UTC
  if (zones.has(name)) return zones.get(name)
  let zone: Zone | undefined
  if (name === "Local") {
    zone = intlZone(Intl.DateTimeFormat().resolvedOptions().timeZone) ?? UTC
  } else if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name) && !name.includes("..")) {
    zone = intlZone(name)
  }
  if (zones.size < 1024) zones.set(name, zone)
  return zone
}

interface Field {
  /** `bits[v]` when value v matches. */
  readonly bits: ReadonlyArray<boolean>
  /** The field was `*` (or `?`) without a step above 1: it does not restrict the day. */
  readonly star: boolean
}

/** A parsed six-field cron pattern. */
export interface CronSpec {
  readonly second: Field
  readonly minute: Field
  readonly hour: Field
  readonly dayOfMonth: Field
  readonly month: Field
  readonly dayOfWeek: Field
}

interface Bounds {
  readonly min: number
  readonly max: number
  readonly names?: Readonly<Record<string, number>>
}

const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12
}
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }

const BOUNDS = {
  second: { min: 0, max: 59 },
  minute: { min: 0, max: 59 },
  hour: { min: 0, max: 23 },
  dayOfMonth: { min: 1, max: 31 },
  month: { min: 1, max: 12, names: MONTH_NAMES },
  dayOfWeek: { min: 0, max: 6, names: DAY_NAMES }
} as const satisfies Record<keyof CronSpec, Bounds>

/** Go's `strconv.Atoi` (an optional sign, decimal digits), refusing negatives. */
const parseNumber = (s: string): number | undefined => {
  if (!/^[+-]?\d+$/.test(s)) return undefined
  const n = Number(s)
  return n < 0 || !Number.isSafeInteger(n) ? undefined : n
}

const valueOf = (s: string, b: Bounds): number | undefined => b.names?.[s.toLowerCase()] ?? parseNumber(s)

/** One comma-separated item: the values it sets, and whether it is an unstepped star. */
const parseRange = (expr: string, b: Bounds, bits: Array<boolean>): boolean | undefined => {
  const rangeAndStep = expr.split("/")
  const lowHigh = rangeAndStep[0]!.split("-")
  let start: number
  let end: number
  let star = false
  if (lowHigh[0] === "*" || lowHigh[0] === "?") {
    // Whatever follows a star's hyphen is ignored, as in nats-server.
    start = b.min
    end = b.max
    star = true
  } else {
    const s = valueOf(lowHigh[0]!, b)
    if (s === undefined || lowHigh.length > 2) return undefined
    start = s
    if (lowHigh.length === 2) {
      const e = valueOf(lowHigh[1]!, b)
      if (e === undefined) return undefined
      end = e
    } else end = start
  }
  let step = 1
  if (rangeAndStep.length === 2) {
    const n = parseNumber(rangeAndStep[1]!)
    if (n === undefined) return undefined
    step = n
    if (lowHigh.length === 1) end = b.max
    if (step > 1) star = false
  } else if (rangeAndStep.length > 2) return undefined
  if (start < b.min || end > b.max || start > end || step === 0) return undefined
  for (let v = start; v <= end; v += step) bits[v] = true
  return star
}

const parseField = (field: string, b: Bounds): Field | undefined => {
  const bits: Array<boolean> = []
  let star = false
  for (const expr of field.split(",")) {
    if (expr === "") continue
    const s = parseRange(expr, b, bits)
    if (s === undefined) return undefined
    star ||= s
  }
  return { bits, star }
}

/** Parses a six-field pattern; undefined when it is not one. */
export const parseCron = (pattern: string): CronSpec | undefined => {
  const f = pattern.split(/\s+/).filter((x) => x !== "")
  if (f.length !== 6) return undefined
  const second = parseField(f[0]!, BOUNDS.second)
  const minute = parseField(f[1]!, BOUNDS.minute)
  const hour = parseField(f[2]!, BOUNDS.hour)
  const dayOfMonth = parseField(f[3]!, BOUNDS.dayOfMonth)
  const month = parseField(f[4]!, BOUNDS.month)
  const dayOfWeek = parseField(f[5]!, BOUNDS.dayOfWeek)
  if (!second || !minute || !hour || !dayOfMonth || !month || !dayOfWeek) return undefined
  return { second, minute, hour, dayOfMonth, month, dayOfWeek }
}

interface Wall {
  readonly year: number
  /** 1-12 */
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  /** 0 = Sunday */
  readonly weekday: number
}

const wallOf = (zone: Zone, ms: number): Wall => {
  const d = new Date(ms + zone.offsetMs(ms))
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay()
  }
}

/**
 * Go's `time.Date` in a zone: fields out of range roll over; a wall time that does not exist or
 * exists twice takes the offset in effect just before it (as Go's lookup does).
 */
const instantOf = (zone: Zone, year: number, month: number, day: number, h: number, m: number, s: number): number => {
  const wall = Date.UTC(year, month - 1, day, h, m, s)
  return wall - zone.offsetMs(wall - zone.offsetMs(wall))
}

const dayMatches = (spec: CronSpec, w: Wall): boolean => {
  const dom = spec.dayOfMonth.bits[w.day] === true
  const dow = spec.dayOfWeek.bits[w.weekday] === true
  return spec.dayOfMonth.star || spec.dayOfWeek.star ? dom && dow : dom || dow
}

const NS_PER_MS = 1_000_000n

/**
 * The first instant after `tsNs` (strictly, from the next whole second) the pattern matches in
 * `zone`, in Unix nanoseconds; undefined when none falls within five years.
 */
export const nextCron = (spec: CronSpec, zone: Zone, tsNs: bigint): bigint | undefined => {
  const secNs = 1_000_000_000n
  let sec = tsNs / secNs
  if (tsNs < 0n && tsNs % secNs !== 0n) sec -= 1n
  let t = Number(sec + 1n) * 1000
  let truncated = false
  const yearLimit = wallOf(zone, t).year + 5
  wrap: while (true) {
    let w = wallOf(zone, t)
    if (w.year > yearLimit) return undefined
    while (spec.month.bits[w.month] !== true) {
      if (!truncated) {
        truncated = true
        t = instantOf(zone, w.year, w.month, 1, 0, 0, 0)
        w = wallOf(zone, t)
      }
      t = instantOf(zone, w.year, w.month + 1, w.day, w.hour, w.minute, w.second)
      w = wallOf(zone, t)
      if (w.month === 1) continue wrap
    }
    while (!dayMatches(spec, w)) {
      if (!truncated) {
        truncated = true
        t = instantOf(zone, w.year, w.month, w.day, 0, 0, 0)
        w = wallOf(zone, t)
      }
      t = instantOf(zone, w.year, w.month, w.day + 1, w.hour, w.minute, w.second)
      w = wallOf(zone, t)
      if (w.day === 1) continue wrap
    }
    while (spec.hour.bits[w.hour] !== true) {
      if (!truncated) {
        truncated = true
        t = instantOf(zone, w.year, w.month, w.day, w.hour, 0, 0)
      }
      t += 3_600_000
      w = wallOf(zone, t)
      if (w.hour === 0) continue wrap
    }
    while (spec.minute.bits[w.minute] !== true) {
      if (!truncated) {
        truncated = true
        t -= ((t % 60_000) + 60_000) % 60_000
      }
      t += 60_000
      w = wallOf(zone, t)
      if (w.minute === 0) continue wrap
    }
    while (spec.second.bits[w.second] !== true) {
      truncated = true
      t += 1000
      w = wallOf(zone, t)
      if (w.second === 0) continue wrap
    }
    return BigInt(t) * NS_PER_MS
  }
}

/** RFC 3339 with the zone's offset at `ns` (`Z` when it is zero), fraction trimmed: Go's RFC3339Nano. */
export const formatInZone = (zone: Zone, ns: bigint): string => {
  const ms = Number(ns / NS_PER_MS)
  const off = zone.offsetMs(ms)
  const d = new Date(ms + off)
  const p2 = (n: number) => String(n).padStart(2, "0")
  const fracNs = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n
  const frac = fracNs === 0n ? "" : "." + String(fracNs).padStart(9, "0").replace(/0+$/, "")
  const offMin = Math.round(off / 60_000)
  const zoneText = offMin === 0 ?
    "Z" :
    `${offMin < 0 ? "-" : "+"}${p2(Math.trunc(Math.abs(offMin) / 60))}:${p2(Math.abs(offMin) % 60)}`
  return `${String(d.getUTCFullYear()).padStart(4, "0")}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${
    p2(d.getUTCHours())
  }:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}${frac}${zoneText}`
}
