/**
 * Go-style durations as upstream's validator accepts them: one or more `<number><unit>` parts
 * with units `ms`, `s`, `m`, `h`, fractions allowed, no sign (`pkg/validator` `DurationRegex`,
 * then `time.ParseDuration`).
 *
 * @internal
 */

const durationPattern = /^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ms|s|m|h))+$/
const component = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s|m|h)/g
const unitMillis: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
/** Go's `time.Duration` overflows past 2^63-1 nanoseconds. */
const maxMillis = 9_223_372_036_854

/** The duration in milliseconds, or undefined when upstream would reject it. */
export const parseDuration = (input: string): number | undefined => {
  if (!durationPattern.test(input)) return undefined
  let total = 0
  for (const match of input.matchAll(component)) {
    total += Number.parseFloat(match[1]!) * unitMillis[match[2]!]!
  }
  return total > maxMillis ? undefined : total
}

export const isValidDuration = (input: string): boolean => parseDuration(input) !== undefined

/** The message upstream's validator uses for a bad duration. */
export const durationError =
  "Invalid duration. Durations must be one or more <number><unit> components, where unit is one of: 'ms', 's', 'm', 'h'. For example: '10s', '1h30m', '1.5h'"

/** `%d` of a fraction of `unit` nanoseconds with trailing zeros trimmed, as Go's `fmtFrac`/`fmtInt`. */
const withFraction = (ns: bigint, unit: bigint): string => {
  const whole = ns / unit
  const fraction = (ns % unit).toString().padStart(unit.toString().length - 1, "0").replace(/0+$/, "")
  return fraction === "" ? `${whole}` : `${whole}.${fraction}`
}

/**
 * Go's `time.Duration.String()` of a duration in milliseconds (rounded to nanoseconds):
 * "1h30m0s", "1m0.5s", "1.5ms", "100µs", "0s".
 */
export const formatGoDuration = (ms: number): string => {
  const ns = BigInt(Math.round(ms * 1e6))
  if (ns === 0n) return "0s"
  if (ns < 1_000n) return `${ns}ns`
  if (ns < 1_000_000n) return `${withFraction(ns, 1_000n)}µs`
  if (ns < 1_000_000_000n) return `${withFraction(ns, 1_000_000n)}ms`
  const hours = ns / 3_600_000_000_000n
  const minutes = (ns / 60_000_000_000n) % 60n
  const seconds = `${withFraction(ns % 60_000_000_000n, 1_000_000_000n)}s`
  if (hours > 0n) return `${hours}h${minutes}m${seconds}`
  if (minutes > 0n) return `${minutes}m${seconds}`
  return seconds
}

/** A PostgreSQL interval as the engine needs it: calendar months, then milliseconds. */
export interface Interval {
  readonly months: number
  readonly ms: number
}

const fiveMinutes: Interval = { months: 0, ms: 5 * 60_000 }
const legacyUnit = /^([0-9]{1,8})(d|w|y)$/
const sqlComponent = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s|m|h)/
/** Go's maximum duration in whole seconds, past which the function raises. */
const maxSeconds = 9_223_372_036

/**
 * Upstream's `convert_duration_to_interval` (SQL) of a duration text, for the values it stores
 * without validating them (a paused workflow's queue TTL): "" or text it cannot read is 5 minutes;
 * `<n>d`, `<n>w`, `<n>y` alone are calendar days, weeks and years; otherwise `<number><unit>`
 * parts with units `ms`, `s`, `m`, `h`. Undefined where the function raises: a number of more than
 * 15 characters, or more than Go's maximum duration.
 */
export const sqlInterval = (text: string): Interval | undefined => {
  const legacy = legacyUnit.exec(text)
  if (legacy !== null) {
    const n = Number(legacy[1])
    return legacy[2] === "y" ? { months: n * 12, ms: 0 } : { months: 0, ms: n * (legacy[2] === "w" ? 7 : 1) * 86_400_000 }
  }
  let rest = text
  let seconds = 0
  while (rest.length > 0) {
    const match = sqlComponent.exec(rest)
    if (match === null) return fiveMinutes
    if (match[1]!.length > 15) return undefined
    seconds += Number.parseFloat(match[1]!) * unitMillis[match[2]!]! / 1000
    rest = rest.slice(match[0].length)
  }
  if (text.length === 0) return fiveMinutes
  return seconds > maxSeconds ? undefined : { months: 0, ms: seconds * 1000 }
}

/** `at` plus `interval` (its months on the UTC calendar). */
export const addInterval = (at: number, interval: Interval): number => {
  if (interval.months === 0) return at + interval.ms
  const date = new Date(at)
  date.setUTCMonth(date.getUTCMonth() + interval.months)
  return date.getTime() + interval.ms
}
