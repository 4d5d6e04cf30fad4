import * as Duration from "effect/Duration"
import * as Either from "effect/Either"

/**
 * Converts an Effect `DurationInput` into the Go-style duration string the engine accepts
 * (`^(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ms|s|m|h))+$`, no `d` unit), using the largest unit that
 * divides it exactly: 90 s -> `"90s"`, 2 min -> `"2m"`, 1500 ms -> `"1500ms"`.
 *
 * Fails (Left) with a sentence saying what is wrong: not a duration, not finite, not positive,
 * not a whole number of milliseconds, or longer than Go's longest duration (which Hatchet's
 * parser would refuse).
 */
export const toGoDuration = (input: Duration.DurationInput): Either.Either<string, string> => {
  let duration: Duration.Duration
  try {
    duration = Duration.decode(input)
  } catch {
    return Either.left(
      `${
        describe(input)
      } is not a duration (use an Effect DurationInput such as "30 seconds", "2 minutes", 1500 for milliseconds, or Duration.minutes(2))`
    )
  }
  if (!Duration.isFinite(duration)) {
    return Either.left(`${describe(input)} must be finite`)
  }
  const nanos = Duration.unsafeToNanos(duration)
  if (nanos <= BigInt(0)) {
    return Either.left(`${describe(input)} must be positive`)
  }
  if (nanos % MILLI !== BigInt(0)) {
    return Either.left(`${describe(input)} must be a whole number of milliseconds (Hatchet durations use ms, s, m or h)`)
  }
  const millis = nanos / MILLI
  if (millis > MAX_GO_MILLIS) {
    return Either.left(`${describe(input)} must be at most Go's longest duration (about 292 years)`)
  }
  if (millis % HOUR === BigInt(0)) return Either.right(`${millis / HOUR}h`)
  if (millis % MINUTE === BigInt(0)) return Either.right(`${millis / MINUTE}m`)
  if (millis % SECOND === BigInt(0)) return Either.right(`${millis / SECOND}s`)
  return Either.right(`${millis}ms`)
}

const MILLI = BigInt(1_000_000)
const SECOND = BigInt(1_000)
const MINUTE = BigInt(60_000)
const HOUR = BigInt(3_600_000)
/** Go's longest `time.Duration` (2^63 - 1 ns), in whole milliseconds. */
const MAX_GO_MILLIS = BigInt("9223372036854")

const describe = (input: unknown): string => {
  if (Duration.isDuration(input)) return Duration.format(input)
  try {
    return JSON.stringify(input) ?? String(input)
  } catch {
    return String(input)
  }
}
