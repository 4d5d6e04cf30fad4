/**
 * Effect log lines written inside a task, turned into Hatchet task log lines.
 *
 * The logger is added to the task fiber's loggers (`FiberRef.currentLoggers`), so every log of the
 * task and of the fibers it forks reaches the sink, next to the application's own loggers. The
 * worker's sink queues `PutLog` requests that a scoped fiber sends in batches; the test runner's
 * sink keeps them in memory.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Inspectable from "effect/Inspectable"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"

/** The engine rejects log messages longer than this (`max=10000`) and empty ones. */
export const MAX_LOG_MESSAGE_LENGTH = 10_000

/** One task log line, as Hatchet stores it. */
export interface LogLine {
  readonly level: "DEBUG" | "INFO" | "WARN" | "ERROR"
  readonly message: string
  readonly createdAt: Date
  /** The log annotations (minus the SDK's own `hatchet.*` ones). */
  readonly metadata: Readonly<Record<string, unknown>>
}

/** Annotation keys the SDK adds for console logs; not repeated in Hatchet metadata. */
export const ANNOTATION_PREFIX = "hatchet."

const levelOf = (level: LogLevel.LogLevel): LogLine["level"] | undefined => {
  switch (level._tag) {
    case "Trace":
    case "Debug":
      return "DEBUG"
    case "Info":
      return "INFO"
    case "Warning":
      return "WARN"
    case "Error":
    case "Fatal":
      return "ERROR"
    default:
      return undefined
  }
}

const formatMessage = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((part) => typeof part === "string" ? part : Inspectable.toStringUnknown(part, 0)).join(" ")
}

/** Truncates a message to the engine's limit, with a marker giving the original length. */
export const truncateLogMessage = (message: string): string => {
  if (message.length <= MAX_LOG_MESSAGE_LENGTH) return message
  const marker = ` ...[truncated: ${message.length} characters in total]`
  return message.slice(0, MAX_LOG_MESSAGE_LENGTH - marker.length) + marker
}

/** Where the log lines of a task go: a service of the task's context (see `taskLogger`). */
export class TaskLogSink extends Context.Tag("@effect-hatchet/sdk/internal/TaskLogSink")<
  TaskLogSink,
  (line: LogLine) => void
>() {}

/**
 * One logger for every task: a line logged by a fiber whose context holds a `TaskLogSink` becomes
 * a `LogLine` for that sink; other lines are left to the other loggers. A worker installs it once
 * for all its task fibers, so a task only adds its sink to the services it gets anyway.
 */
export const taskLogger: Logger.Logger<unknown, void> = Logger.make(
  ({ annotations, cause, context, date, logLevel, message }) => {
    const sink = Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), TaskLogSink)
    if (Option.isNone(sink)) return
    const level = levelOf(logLevel)
    if (level === undefined) return
    let text = formatMessage(message)
    if (!Cause.isEmpty(cause)) text = text === "" ? Cause.pretty(cause) : `${text}\n${Cause.pretty(cause)}`
    if (text === "") return
    const metadata: Record<string, unknown> = {}
    for (const [key, value] of HashMap.toEntries(annotations)) {
      if (!key.startsWith(ANNOTATION_PREFIX)) metadata[key] = value
    }
    sink.value({ level, message: truncateLogMessage(text), createdAt: date, metadata })
  }
)

/** Adds `taskLogger` to the loggers of `self`, unless they have it already. */
export const withTaskLogger = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    FiberRef.get(FiberRef.currentLoggers),
    (loggers) => HashSet.has(loggers, taskLogger) ? self : Effect.locallyWith(self, FiberRef.currentLoggers, HashSet.add(taskLogger))
  )

/** The metadata as the `PutLog` `metadata` field: a JSON object, or empty. */
export const metadataJson = (metadata: Readonly<Record<string, unknown>>): string => {
  const keys = Object.keys(metadata)
  if (keys.length === 0) return ""
  try {
    return JSON.stringify(metadata)
  } catch {
    const safe: Record<string, string> = {}
    for (const key of keys) safe[key] = Inspectable.toStringUnknown(metadata[key], 0)
    return JSON.stringify(safe)
  }
}
