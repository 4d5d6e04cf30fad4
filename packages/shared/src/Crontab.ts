/**
 * Hatchet's crontab grammar, as its validator parses a workflow's cron triggers (`pkg/validator`
 * "cron": robfig/cron v3 with `SecondOptional | Minute | Hour | Dom | Month | Dow`), and the ticks
 * its ticker follows (robfig's `SpecSchedule.Next`, in UTC). The SDK checks expressions with it
 * before sending them; the local engine validates and fires crons with it.
 *
 * - 5 or 6 fields separated by whitespace (seconds first when 6), each a comma list of `*`, `?`,
 *   `N`, `N-M`, with an optional `/step` (`N/step` means `N-max/step`); empty list items are
 *   skipped; month names `JAN`..`DEC` and weekday names `SUN`..`SAT`, in any case; weekdays 0-6
 *   (7 is refused).
 * - An optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix; a zone prefix without a space after it
 *   is what upstream's parser panics on.
 * - No `@` descriptors (`@daily`, `@every 1h`): the validator refuses them.
 * - Matching: when the day of month or the day of week holds an unstepped star (`*`, `?`, `* /1`),
 *   both must match, otherwise either one.
 *
 * Error messages are robfig's, the field count's naming the fields.
 *
 * @since 0.1.0
 */

/** One field's allowed values and names. */
interface Bounds {
  readonly name: string
  readonly min: number
  readonly max: number
  readonly names?: ReadonlyMap<string, number>
}

const named = (names: ReadonlyArray<string>, first: number) => new Map(names.map((name, i) => [name, i + first]))

const fieldBounds: ReadonlyArray<Bounds> = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "dayOfMonth", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: named(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
  },
  { name: "dayOfWeek", min: 0, max: 6, names: named(["sun", "mon", "tue", "wed", "thu", "fri", "sat"], 0) }
]

/**
 * One parsed field: the values it matches, and whether it holds an unstepped star.
 *
 * @since 0.1.0
 */
export interface CronField {
  readonly values: ReadonlySet<number>
  readonly star: boolean
}

/**
 * A parsed crontab, seconds first.
 *
 * @since 0.1.0
 */
export interface CronSchedule {
  readonly expression: string
  readonly second: CronField
  readonly minute: CronField
  readonly hour: CronField
  readonly dayOfMonth: CronField
  readonly month: CronField
  readonly dayOfWeek: CronField
  /** The zone of a `TZ=` / `CRON_TZ=` prefix ("" means UTC), undefined without one. */
  readonly timeZone: string | undefined
}

/**
 * The result of parsing a crontab: a schedule; an invalid expression, with robfig's message; or
 * one upstream's parser panics on (a `TZ=` prefix without a space after it), which its gRPC
 * recovery turns into INTERNAL "An internal error occurred".
 *
 * @since 0.1.0
 */
export type CronParse =
  | { readonly _tag: "Schedule"; readonly schedule: CronSchedule }
  | { readonly _tag: "Invalid"; readonly message: string }
  | { readonly _tag: "Panics"; readonly message: string }

/** Go's `unicode.IsSpace`, as `strings.Fields` and `strings.TrimSpace` split and trim. */
const goSpaces = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/
const goTrim = new RegExp(`^${goSpaces.source}|${goSpaces.source}$`, "g")

const int64Max = 9_223_372_036_854_775_807n

class ParseError {
  constructor(readonly message: string) {}
}

/** `strconv.Atoi`, then "negative number not allowed". */
const mustParseInt = (text: string): bigint => {
  if (!/^[+-]?\d+$/.test(text)) {
    throw new ParseError(`failed to parse int from ${text}: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`)
  }
  const value = BigInt(text)
  if (value > int64Max || value < -int64Max - 1n) {
    throw new ParseError(`failed to parse int from ${text}: strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`)
  }
  if (value < 0n) throw new ParseError(`negative number (${value}) not allowed: ${text}`)
  return value
}

const parseIntOrName = (text: string, bounds: Bounds): bigint => {
  const byName = bounds.names?.get(text.toLowerCase())
  return byName !== undefined ? BigInt(byName) : mustParseInt(text)
}

/** `getRange`: one comma-separated item of a field; returns whether it is an unstepped star. */
const parseRange = (expr: string, bounds: Bounds, into: Set<number>): boolean => {
  const rangeAndStep = expr.split("/")
  const lowAndHigh = rangeAndStep[0]!.split("-")
  let start: bigint
  let end: bigint
  let star = false
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = BigInt(bounds.min)
    end = BigInt(bounds.max)
    star = true
  } else {
    start = parseIntOrName(lowAndHigh[0]!, bounds)
    if (lowAndHigh.length === 1) end = start
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1]!, bounds)
    else throw new ParseError(`too many hyphens: ${expr}`)
  }
  let step = 1n
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]!)
    if (lowAndHigh.length === 1) end = BigInt(bounds.max)
    if (step > 1n) star = false
  } else if (rangeAndStep.length > 2) {
    throw new ParseError(`too many slashes: ${expr}`)
  }
  if (start < bounds.min) throw new ParseError(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`)
  if (end > bounds.max) throw new ParseError(`end of range (${end}) above maximum (${bounds.max}): ${expr}`)
  if (start > end) throw new ParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`)
  if (step === 0n) throw new ParseError(`step of range should be a positive number: ${expr}`)
  for (let value = Number(start); value <= Number(end); value += Number(step)) into.add(value)
  return star
}

/** `getField`: a comma list, empty items skipped (`strings.FieldsFunc`). */
const parseField = (text: string, bounds: Bounds): CronField => {
  const values = new Set<number>()
  let star = false
  for (const item of text.split(",")) {
    if (item !== "" && parseRange(item, bounds, values)) star = true
  }
  return { values, star }
}

/**
 * Whether Go's `time.LoadLocation` would load the zone: "", `UTC`, `Local`, or a zone the IANA
 * database names, with its exact case (Go reads a file by that name; `Intl` ignores case).
 */
const isKnownZone = (zone: string): boolean => {
  if (zone === "" || zone === "UTC" || zone === "Local") return true
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone
    return resolved === zone || resolved.toLowerCase() !== zone.toLowerCase()
  } catch {
    return false
  }
}

/**
 * Parses a crontab as Hatchet's validator does.
 *
 * @since 0.1.0
 */
export const parse = (expression: string): CronParse => {
  if (expression.length === 0) return { _tag: "Invalid", message: "empty spec string" }
  let spec = expression
  let timeZone: string | undefined
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    const space = spec.indexOf(" ")
    if (space < 0) {
      return { _tag: "Panics", message: `a ${spec.slice(0, spec.indexOf("=") + 1)} prefix must be followed by a space` }
    }
    timeZone = spec.slice(spec.indexOf("=") + 1, space)
    if (!isKnownZone(timeZone)) {
      return { _tag: "Invalid", message: `provided bad location ${timeZone}: unknown time zone ${timeZone}` }
    }
    spec = spec.slice(space).replace(goTrim, "")
  }
  if (spec.startsWith("@")) return { _tag: "Invalid", message: `parser does not accept descriptors: ${spec}` }
  const fields = spec.split(goSpaces).filter((field) => field !== "")
  if (fields.length !== 5 && fields.length !== 6) {
    return {
      _tag: "Invalid",
      message: `expected 5 to 6 fields (minute hour day-of-month month day-of-week, or seconds first), found ${fields.length}: [${
        fields.join(" ")
      }]`
    }
  }
  const all = fields.length === 6 ? fields : ["0", ...fields]
  try {
    const [second, minute, hour, dayOfMonth, month, dayOfWeek] = all.map((field, i) => parseField(field, fieldBounds[i]!))
    return {
      _tag: "Schedule",
      schedule: {
        expression,
        second: second!,
        minute: minute!,
        hour: hour!,
        dayOfMonth: dayOfMonth!,
        month: month!,
        dayOfWeek: dayOfWeek!,
        timeZone
      }
    }
  } catch (error) {
    if (error instanceof ParseError) return { _tag: "Invalid", message: error.message }
    throw error
  }
}

/**
 * Why Hatchet refuses the expression, or undefined when it takes it (a `TZ=` prefix without a
 * space, which upstream's parser panics on, is refused too).
 *
 * @since 0.1.0
 */
export const invalidReason = (expression: string): string | undefined => {
  const parsed = parse(expression)
  return parsed._tag === "Schedule" ? undefined : parsed.message
}

/**
 * Whether the schedule runs in UTC: no zone prefix, or "" or `UTC`.
 *
 * @since 0.1.0
 */
export const firesInUtc = (schedule: CronSchedule): boolean =>
  schedule.timeZone === undefined || schedule.timeZone === "" || schedule.timeZone === "UTC"

const dayMatches = (schedule: CronSchedule, date: Date): boolean => {
  const dom = schedule.dayOfMonth.values.has(date.getUTCDate())
  const dow = schedule.dayOfWeek.values.has(date.getUTCDay())
  return schedule.dayOfMonth.star || schedule.dayOfWeek.star ? dom && dow : dom || dow
}

/**
 * The first tick strictly after `afterMs` (whole seconds, UTC), or undefined when there is none
 * within five years (robfig's `SpecSchedule.Next`, zone ignored: see `firesInUtc`).
 *
 * @since 0.1.0
 */
export const nextTick = (schedule: CronSchedule, afterMs: number): number | undefined => {
  const fields = [schedule.second, schedule.minute, schedule.hour, schedule.dayOfMonth, schedule.month, schedule.dayOfWeek]
  // a field of empty list items (",") matches nothing: robfig searches five years in vain
  if (fields.some((field) => field.values.size === 0)) return undefined
  const t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000)
  const yearLimit = t.getUTCFullYear() + 5
  let reset = false
  wrap: for (;;) {
    if (t.getUTCFullYear() > yearLimit) return undefined
    while (!schedule.month.values.has(t.getUTCMonth() + 1)) {
      if (!reset) {
        reset = true
        t.setUTCDate(1)
        t.setUTCHours(0, 0, 0, 0)
      }
      t.setUTCMonth(t.getUTCMonth() + 1)
      if (t.getUTCMonth() === 0) continue wrap
    }
    while (!dayMatches(schedule, t)) {
      if (!reset) {
        reset = true
        t.setUTCHours(0, 0, 0, 0)
      }
      t.setUTCDate(t.getUTCDate() + 1)
      if (t.getUTCDate() === 1) continue wrap
    }
    while (!schedule.hour.values.has(t.getUTCHours())) {
      if (!reset) {
        reset = true
        t.setUTCMinutes(0, 0, 0)
      }
      t.setUTCHours(t.getUTCHours() + 1)
      if (t.getUTCHours() === 0) continue wrap
    }
    while (!schedule.minute.values.has(t.getUTCMinutes())) {
      if (!reset) {
        reset = true
        t.setUTCSeconds(0, 0)
      }
      t.setUTCMinutes(t.getUTCMinutes() + 1)
      if (t.getUTCMinutes() === 0) continue wrap
    }
    while (!schedule.second.values.has(t.getUTCSeconds())) {
      if (!reset) {
        reset = true
        t.setUTCMilliseconds(0)
      }
      t.setUTCSeconds(t.getUTCSeconds() + 1)
      if (t.getUTCSeconds() === 0) continue wrap
    }
    return t.getTime()
  }
}
