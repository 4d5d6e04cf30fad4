/**
 * Hatchet's crontab grammar (robfig/cron v3 as `pkg/validator` configures it) and the ticks its
 * ticker follows; and where `effect/Cron` agrees with it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cron, Either } from "effect"
import { type CronSchedule, invalidReason, nextTick, parse } from "../src/Crontab.js"

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

const schedule = (expression: string): CronSchedule => {
  const parsed = parse(expression)
  if (parsed._tag !== "Schedule") throw new Error(`not a schedule: ${expression}`)
  return parsed.schedule
}

describe("crontab syntax", () => {
  it("accepts what upstream's validator accepts (5 or 6 fields, names, ranges, steps, a zone prefix)", () => {
    for (
      const expression of [
        "* * * * *",
        "*/5 * * * * *",
        "0 0 12 * * MON-FRI",
        "0 0 1 jan,JUL *",
        "? * * * *",
        "5/15 * * * *",
        "+5 * * * *",
        "007 * * * *",
        "0-59/30 1,2,3 * * *",
        "  0   9 * * sun  ",
        "0\t9 * * *",
        "*-5 * * * *",
        "* * * * 0-6",
        "1,,2 * * * *",
        ", * * * *",
        "*/100 * * * *",
        "TZ=UTC * * * * *",
        "TZ= * * * * *",
        "CRON_TZ=Europe/Paris 0 9 * * *",
        "TZ=America/New_York   0 9 * * *"
      ]
    ) expect(parse(expression)._tag, expression).toBe("Schedule")
  })

  it("refuses the rest with robfig's message; a zone prefix without a space is what upstream's parser panics on", () => {
    const refused: ReadonlyArray<readonly [string, string]> = [
      ["", "empty spec string"],
      ["* * *", "expected 5 to 6 fields (minute hour day-of-month month day-of-week, or seconds first), found 3: [* * *]"],
      ["* * * * * * *", "expected 5 to 6 fields (minute hour day-of-month month day-of-week, or seconds first), found 7: [* * * * * * *]"],
      ["60 * * * *", "end of range (60) above maximum (59): 60"],
      ["* 24 * * *", "end of range (24) above maximum (23): 24"],
      ["* * 0 * *", "beginning of range (0) below minimum (1): 0"],
      ["* * * 13 *", "end of range (13) above maximum (12): 13"],
      // weekday 7 (Sunday in some crons) is not Hatchet's
      ["* * * * 7", "end of range (7) above maximum (6): 7"],
      ["* * * * 1-7", "end of range (7) above maximum (6): 1-7"],
      ["@daily", "parser does not accept descriptors: @daily"],
      ["@every 1h", "parser does not accept descriptors: @every 1h"],
      ["TZ=UTC @hourly", "parser does not accept descriptors: @hourly"],
      ["*/0 * * * *", "step of range should be a positive number: */0"],
      ["1-2-3 * * * *", "too many hyphens: 1-2-3"],
      ["1/2/3 * * * *", "too many slashes: 1/2/3"],
      ["5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"],
      ["-5 * * * *", `failed to parse int from : strconv.Atoi: parsing "": invalid syntax`],
      ["-0 * * * *", `failed to parse int from : strconv.Atoi: parsing "": invalid syntax`],
      ["CRON_TZ=UTC\t* * * * *", "provided bad location UTC\t*: unknown time zone UTC\t*"],
      ["FOO * * * *", `failed to parse int from FOO: strconv.Atoi: parsing "FOO": invalid syntax`],
      ["* * * * MONDAY", `failed to parse int from MONDAY: strconv.Atoi: parsing "MONDAY": invalid syntax`],
      ["L * * * *", `failed to parse int from L: strconv.Atoi: parsing "L": invalid syntax`],
      [
        "99999999999999999999 * * * *",
        `failed to parse int from 99999999999999999999: strconv.Atoi: parsing "99999999999999999999": value out of range`
      ],
      ["TZ=Nowhere/Special * * * * *", "provided bad location Nowhere/Special: unknown time zone Nowhere/Special"],
      ["TZ=europe/paris * * * * *", "provided bad location europe/paris: unknown time zone europe/paris"],
      [" TZ=UTC * * * * *", `failed to parse int from TZ=UTC: strconv.Atoi: parsing "TZ=UTC": invalid syntax`]
    ]
    for (const [expression, message] of refused) {
      expect(parse(expression), expression).toEqual({ _tag: "Invalid", message })
      expect(invalidReason(expression)).toBe(message)
    }
    expect(parse("TZ=UTC")._tag).toBe("Panics")
    expect(parse("CRON_TZ=UTC\t*\t*\t*\t*\t*")._tag).toBe("Panics")
    expect(invalidReason("TZ=UTC")).toBe("a TZ= prefix must be followed by a space")
  })

  it("the next tick is the first matching second strictly after the given time (UTC)", () => {
    expect(iso(nextTick(schedule("* * * * *"), 0))).toBe("1970-01-01T00:01:00.000Z")
    expect(iso(nextTick(schedule("*/10 * * * * *"), 5_000))).toBe("1970-01-01T00:00:10.000Z")
    expect(iso(nextTick(schedule("*/10 * * * * *"), 10_000))).toBe("1970-01-01T00:00:20.000Z")
    expect(iso(nextTick(schedule("*/10 * * * * *"), 10_999))).toBe("1970-01-01T00:00:20.000Z")
    // 1970-01-01 was a Thursday
    expect(iso(nextTick(schedule("0 0 12 * * MON"), 0))).toBe("1970-01-05T12:00:00.000Z")
    expect(iso(nextTick(schedule("0 30 23 31 * *"), at("2024-02-01T00:00:00Z")))).toBe("2024-03-31T23:30:00.000Z")
    expect(iso(nextTick(schedule("0 0 29 2 *"), at("2025-01-01T00:00:00Z")))).toBe("2028-02-29T00:00:00.000Z")
    expect(iso(nextTick(schedule("0 0 1 1 *"), at("2024-12-31T23:59:59.500Z")))).toBe("2025-01-01T00:00:00.000Z")
    expect(iso(nextTick(schedule("1,,2 * * * *"), 0))).toBe("1970-01-01T00:01:00.000Z")
    // never within five years
    expect(nextTick(schedule("0 0 30 2 *"), 0)).toBeUndefined()
    expect(nextTick(schedule(", * * * *"), 0)).toBeUndefined()
  })

  it("day of month and day of week: both when either is a star, either one otherwise", () => {
    // Friday 1970-01-02 or the 13th
    expect(iso(nextTick(schedule("0 0 13 * FRI"), 0))).toBe("1970-01-02T00:00:00.000Z")
    expect(iso(nextTick(schedule("0 0 13 * *"), 0))).toBe("1970-01-13T00:00:00.000Z")
    expect(iso(nextTick(schedule("0 0 * * FRI"), 0))).toBe("1970-01-02T00:00:00.000Z")
    // a stepped star is no star: "*/2" days or Fridays
    expect(iso(nextTick(schedule("0 0 */2 * FRI"), at("1970-01-03T12:00:00Z")))).toBe("1970-01-05T00:00:00.000Z")
    expect(iso(nextTick(schedule("0 0 ? * FRI"), at("1970-01-03T00:00:00Z")))).toBe("1970-01-09T00:00:00.000Z")
    // "*/1" keeps its star: the 13th only when it is a Friday
    expect(iso(nextTick(schedule("0 0 13 * */1"), 0))).toBe("1970-01-13T00:00:00.000Z")
    expect(iso(nextTick(schedule("0 0 13 * 5,*"), 0))).toBe("1970-01-13T00:00:00.000Z")
  })
})

describe("effect/Cron beside upstream's ticks", () => {
  // Expressions both grammars take (effect/Cron has no "?").
  const expressions = [
    "* * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 9 * * *",
    "0 0 * * 0",
    "0 0 * * 1-5",
    "0 9 * * MON,WED,FRI",
    "0 0 1 * *",
    "0 0 31 * *",
    "0 0 29 2 *",
    "0 12 1,15 * *",
    "5-10/2 * * * *",
    "0 0 1-7 * 1",
    "0 0 13 * 5",
    "0 0 */2 * 5",
    "0 0 1-31 * 1",
    "0 22 * 1,6,12 *",
    "0 0 1 jan *",
    "*/10 * * * * *",
    "30 */2 * * * *",
    "0 0 12 * * MON-FRI",
    "0 0 * * 6,0",
    "59 23 31 12 *",
    "0 0 13 * */1",
    "0 0 * * */2"
  ]
  const starts = [
    "1970-01-01T00:00:00Z",
    "2024-02-28T23:59:59.500Z",
    "2024-12-31T23:59:59Z",
    "2025-03-09T01:59:30Z",
    "2025-06-15T12:34:56.789Z",
    "2026-12-31T12:00:00Z",
    "2027-02-28T00:00:00Z"
  ].map(at)

  const effectTicks = (expression: string, from: number, count: number): Array<number> => {
    const cron = Either.getOrThrow(Cron.parse(expression, "UTC"))
    const ticks: Array<number> = []
    let t = from
    for (let i = 0; i < count; i++) {
      t = Cron.next(cron, new Date(t)).getTime()
      ticks.push(t)
    }
    return ticks
  }
  const upstreamTicks = (expression: string, from: number, count: number): Array<number | undefined> => {
    const parsed = schedule(expression)
    const ticks: Array<number | undefined> = []
    let t: number | undefined = from
    for (let i = 0; i < count && t !== undefined; i++) {
      t = nextTick(parsed, t)
      ticks.push(t)
    }
    return ticks
  }

  it("agree on the next five ticks of every expression from every start, but for a day field's stepped star", () => {
    const disagreements: Array<string> = []
    for (const expression of expressions) {
      for (const start of starts) {
        const ours = upstreamTicks(expression, start, 5).map(iso)
        const theirs = effectTicks(expression, start, 5).map(iso)
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) disagreements.push(`${expression} from ${iso(start)}`)
      }
    }
    // a stepped star ("*/2") in a day field: upstream no longer counts it a star, so the days of
    // month and of week are ORed (every other day, or a Friday); effect/Cron still ANDs them
    // (odd days that are Fridays). So the engine's ticks stay on its own port of upstream's rule.
    expect(disagreements).toEqual(starts.map((start) => `0 0 */2 * 5 from ${iso(start)}`))
  })

  it("differ where one has a tick and the other none, and on what each grammar takes", () => {
    // no 30th of February: upstream gives up after five years, effect/Cron throws
    expect(nextTick(schedule("0 0 30 2 *"), 0)).toBeUndefined()
    expect(() => effectTicks("0 0 30 2 *", 0, 1)).toThrow()
    // weekday 7 and empty list items: effect/Cron and upstream disagree on what is valid
    expect(Either.isRight(Cron.parse("* * * * 7"))).toBe(true)
    expect(parse("* * * * 7")._tag).toBe("Invalid")
    expect(Either.isRight(Cron.parse("1,,2 * * * *"))).toBe(false)
    expect(parse("1,,2 * * * *")._tag).toBe("Schedule")
    // the zone prefix
    expect(Either.isRight(Cron.parse("TZ=UTC * * * * *"))).toBe(false)
  })
})
