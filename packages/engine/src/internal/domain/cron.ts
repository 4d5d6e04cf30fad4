/**
 * Cron triggers: the crontab syntax upstream accepts and the schedule the ticker follows.
 *
 * - Syntax (`pkg/validator` "cron", robfig/cron v3 with `SecondOptional | Minute | Hour | Dom |
 *   Month | Dow`): 5 or 6 whitespace-separated fields (seconds first when 6), each a comma list
 *   of `*`, `?`, `N`, `N-M`, with an optional `/step` (`N/step` means `N-max/step`); month and
 *   weekday names (`JAN`, `MON`, case-insensitive); an optional `TZ=<zone> ` or
 *   `CRON_TZ=<zone> ` prefix; no `@` descriptors.
 * - Matching: when day-of-month or day-of-week is a star (`*` or `?`, unstepped) both must
 *   match, otherwise either one.
 * - Firing (`internal/services/ticker`, gocron in UTC): the first tick is the first matching
 *   second strictly after registration, each next one the first after the previous tick; a
 *   schedule with no tick within five years never fires. Every tick triggers the workflow by
 *   name (its latest version) with the cron's input and priority and the `hatchet__cron_*`
 *   metadata. A new version of the workflow replaces its crons: the previous version's timers
 *   become no-ops when they fire.
 *
 * Engine semantics §10; upstream `internal/services/ticker/cron.go`, `cron_v1.go`.
 *
 * @internal
 */
import type { EngineState, WorkflowVersion } from "./model.js"
import { latestVersion } from "./model.js"
import { triggerFromCron } from "./triggers.js"

// -----------------------------------------------------------------------------
// syntax
// -----------------------------------------------------------------------------

interface Bounds {
  readonly min: number
  readonly max: number
  readonly names?: ReadonlyMap<string, number>
}

const named = (names: ReadonlyArray<string>, first: number) => new Map(names.map((name, i) => [name, i + first]))

const fieldBounds: ReadonlyArray<Bounds> = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: named(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1) },
  { min: 0, max: 6, names: named(["sun", "mon", "tue", "wed", "thu", "fri", "sat"], 0) }
]

/** One parsed field: the values it matches, and whether it was an unstepped star. */
interface Field {
  readonly values: ReadonlySet<number>
  readonly star: boolean
}

/** A parsed crontab, seconds first. */
export interface CronSchedule {
  readonly expression: string
  readonly second: Field
  readonly minute: Field
  readonly hour: Field
  readonly dayOfMonth: Field
  readonly month: Field
  readonly dayOfWeek: Field
  /** The zone of a `TZ=` / `CRON_TZ=` prefix ("" means UTC), undefined without one. */
  readonly timeZone: string | undefined
}

/** `strconv.Atoi` then "negative number not allowed". */
const nonNegativeInt = (text: string): number | undefined => {
  if (!/^[+-]?\d+$/.test(text)) return undefined
  const value = Number(text)
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

const intOrName = (text: string, bounds: Bounds): number | undefined =>
  bounds.names?.get(text.toLowerCase()) ?? nonNegativeInt(text)

/** `getRange`: one comma-separated part of a field. */
const parseRange = (expr: string, bounds: Bounds, into: Set<number>): { readonly star: boolean } | undefined => {
  const rangeAndStep = expr.split("/")
  const lowAndHigh = rangeAndStep[0]!.split("-")
  let start: number
  let end: number
  let star = false
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = bounds.min
    end = bounds.max
    star = true
  } else {
    const low = intOrName(lowAndHigh[0]!, bounds)
    if (low === undefined || lowAndHigh.length > 2) return undefined
    const high = lowAndHigh.length === 2 ? intOrName(lowAndHigh[1]!, bounds) : low
    if (high === undefined) return undefined
    start = low
    end = high
  }
  let step = 1
  if (rangeAndStep.length > 2) return undefined
  if (rangeAndStep.length === 2) {
    const parsed = nonNegativeInt(rangeAndStep[1]!)
    if (parsed === undefined) return undefined
    step = parsed
    if (lowAndHigh.length === 1) end = bounds.max
    if (step > 1) star = false
  }
  if (start < bounds.min || end > bounds.max || start > end || step === 0) return undefined
  for (let value = start; value <= end; value += step) into.add(value)
  return { star }
}

const parseField = (text: string, bounds: Bounds): Field | undefined => {
  const values = new Set<number>()
  let star = false
  for (const part of text.split(",")) {
    const range = parseRange(part, bounds, values)
    if (range === undefined) return undefined
    star ||= range.star
  }
  return { values, star }
}

/** Whether `Intl` (and Go's `time.LoadLocation`) knows the zone. */
const isKnownZone = (zone: string): boolean => {
  if (zone === "" || zone === "UTC" || zone === "Local") return true
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * The result of parsing a crontab: a schedule, an invalid expression, or one upstream's parser
 * panics on (a `TZ=` prefix without a space after it), which its gRPC recovery turns into
 * INTERNAL "An internal error occurred".
 */
export type CronParse =
  | { readonly _tag: "Schedule"; readonly schedule: CronSchedule }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Panics" }

/** Parses a crontab as upstream's validator does. */
export const parseCron = (expression: string): CronParse => {
  if (expression.length === 0) return { _tag: "Invalid" }
  let spec = expression
  let timeZone: string | undefined
  if (spec.startsWith("TZ=") || spec.startsWith("CRON_TZ=")) {
    const space = spec.indexOf(" ")
    if (space < 0) return { _tag: "Panics" }
    timeZone = spec.slice(spec.indexOf("=") + 1, space)
    if (!isKnownZone(timeZone)) return { _tag: "Invalid" }
    spec = spec.slice(space).trim()
  }
  if (spec.startsWith("@")) return { _tag: "Invalid" }
  const fields = spec.split(/\s+/).filter((f) => f !== "")
  if (fields.length !== 5 && fields.length !== 6) return { _tag: "Invalid" }
  const all = fields.length === 6 ? fields : ["0", ...fields]
  const parsed: Array<Field> = []
  for (let i = 0; i < all.length; i++) {
    const field = parseField(all[i]!, fieldBounds[i]!)
    if (field === undefined) return { _tag: "Invalid" }
    parsed.push(field)
  }
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = parsed as [Field, Field, Field, Field, Field, Field]
  return { _tag: "Schedule", schedule: { expression, second, minute, hour, dayOfMonth, month, dayOfWeek, timeZone } }
}

/** Whether the engine can follow the schedule's zone: none, "" or UTC (the ticker's own zone). */
export const firesInUtc = (schedule: CronSchedule): boolean =>
  schedule.timeZone === undefined || schedule.timeZone === "" || schedule.timeZone === "UTC"

// -----------------------------------------------------------------------------
// schedule
// -----------------------------------------------------------------------------

const dayMatches = (schedule: CronSchedule, date: Date): boolean => {
  const dom = schedule.dayOfMonth.values.has(date.getUTCDate())
  const dow = schedule.dayOfWeek.values.has(date.getUTCDay())
  return schedule.dayOfMonth.star || schedule.dayOfWeek.star ? dom && dow : dom || dow
}

/**
 * The first tick strictly after `afterMs` (whole seconds, UTC), or undefined when there is none
 * within five years (`SpecSchedule.Next`).
 */
export const nextTick = (schedule: CronSchedule, afterMs: number): number | undefined => {
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

// -----------------------------------------------------------------------------
// firing
// -----------------------------------------------------------------------------

/**
 * Arms the cron triggers of a freshly stored version. Each tick triggers a run while `version`
 * is its workflow's latest, then arms the next tick; once a newer version exists the timer ends.
 */
export const armCrons = (state: EngineState, version: WorkflowVersion, now: number): void => {
  for (const expression of version.cronTriggers) {
    const parsed = parseCron(expression)
    if (parsed._tag !== "Schedule") continue
    const schedule = parsed.schedule
    const arm = (after: number) => {
      const tick = nextTick(schedule, after)
      if (tick === undefined) return
      state.timers.at(tick, (t) => {
        if (latestVersion(version.workflow) !== version) return
        triggerFromCron(state, version, expression, tick, t)
        arm(tick)
      })
    }
    arm(now)
  }
}
