import { describe, expect, it } from "@effect/vitest"
import { Context, Data, Effect, Either, Schema } from "effect"
import { toGoDuration } from "../src/internal/duration.js"
import { failurePayload } from "../src/internal/failure.js"
import { truncateLogMessage } from "../src/internal/taskLogger.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskError from "../src/TaskError.js"
import { TaskFailed } from "../src/TaskError.js"
import * as TaskExecution from "../src/TaskExecution.js"
import * as Workflow from "../src/Workflow.js"
import { testTaskContext } from "./support/taskContext.js"

class Oops extends Schema.TaggedError<Oops>()("Oops", { code: Schema.Number }) {}

const Flow = Workflow.make("flow", { input: Schema.Struct({ at: Schema.DateFromString }) }).pipe(
  Workflow.task("a", { output: Schema.Struct({ n: Schema.Number }), error: Oops }),
  Workflow.task("b", { parents: ["a"], output: Schema.Any })
)

const FlowLive = Flow.toLayer({
  a: () => Effect.succeed({ n: "not a number" } as unknown as { n: number }),
  b: (_input, parents) => Effect.succeed(parents.a.n === 1 ? { big: BigInt(1) } : { ok: true })
})

const context = testTaskContext()

const execute = (task: string, payload: unknown) =>
  Effect.gen(function*() {
    const impl = yield* Workflow.implementation(Flow)
    return yield* TaskExecution.execute(impl, task, JSON.stringify(payload), yield* context)
  }).pipe(Effect.provide(FlowLive))

describe("TaskExecution", () => {
  it.effect("fails an output that does not match its Schema, non-retryably", () =>
    Effect.gen(function*() {
      const outcome = yield* execute("a", { input: { at: "2020-01-01T00:00:00.000Z" }, parents: {} })
      expect(outcome).toMatchObject({
        _tag: "Failed",
        kind: "InvalidOutput",
        shouldNotRetry: true,
        message: `Invalid output of task "a" of workflow "flow": n: Expected number, actual "not a number"`
      })
    }))

  it.effect("fails an output JSON cannot represent, and a missing parent output", () =>
    Effect.gen(function*() {
      const big = yield* execute("b", { input: { at: "2020-01-01T00:00:00.000Z" }, parents: { a: { n: 1 } } })
      expect(big).toMatchObject({ _tag: "Failed", kind: "InvalidOutput", shouldNotRetry: true })
      const missing = yield* execute("b", { input: { at: "2020-01-01T00:00:00.000Z" }, parents: {} })
      expect(missing).toMatchObject({
        _tag: "Failed",
        kind: "InvalidInput",
        message: `Invalid input for task "b" of workflow "flow": the output of parent task "a" is missing`
      })
      const notJson = yield* Effect.gen(function*() {
        const impl = yield* Workflow.implementation(Flow)
        return yield* TaskExecution.execute(impl, "a", "{oops", yield* context)
      }).pipe(Effect.provide(FlowLive))
      expect(notJson).toMatchObject({ _tag: "Failed", kind: "InvalidInput", shouldNotRetry: true })
    }))

  it.effect("decodes failure texts from this SDK, other SDKs and the engine", () =>
    Effect.gen(function*() {
      const decode = (text: string) => TaskExecution.decodeFailure(Flow, "a", text)
      expect(yield* decode("")).toEqual(new TaskFailed({ taskName: "a", kind: "Cancelled", message: "the task was cancelled" }))
      expect(yield* decode("Task exceeded timeout of 60s")).toEqual(
        new TaskFailed({ taskName: "a", kind: "Timeout", message: "Task exceeded timeout of 60s" })
      )
      expect(yield* decode(`{"message":"ts boom","stack":"at x"}`)).toEqual(
        new TaskFailed({ taskName: "a", kind: "Unknown", message: "ts boom", stack: "at x" })
      )
      expect(yield* decode("Traceback: python boom")).toEqual(
        new TaskFailed({ taskName: "a", kind: "Unknown", message: "Traceback: python boom" })
      )
      const typed = yield* TaskExecution.encodeFailure(Flow, "a", new Oops({ code: 7 }))
      expect(yield* decode(typed)).toEqual(new Oops({ code: 7 }))
      // a typed payload whose error no longer matches the Schema degrades to TaskFailed
      const drifted = failurePayload("Failure", "Oops", { error: { _tag: "Oops", code: "seven" } })
      expect(yield* decode(drifted)).toEqual(new TaskFailed({ taskName: "a", kind: "Failure", message: "Oops" }))
    }))

  it.effect("the markers: an undeclared failure travels as TaskFailed (kind Failure), non-retryable when wrapped so", () =>
    Effect.gen(function*() {
      class DiskFull extends Data.TaggedError("DiskFull")<{ readonly message: string }> {}
      const Marked = Task.make("marked", { input: Schema.Struct({ mode: Schema.String }), error: Oops })
      const MarkedLive = Marked.toLayer(({ mode }) => {
        const full = Effect.fail(new DiskFull({ message: "no space left" }))
        switch (mode) {
          case "undeclared":
            return TaskError.undeclared(full)
          case "final":
            return full.pipe(TaskError.undeclared, TaskError.nonRetryable)
          default:
            return Effect.fail(new Oops({ code: 1 })).pipe(TaskError.nonRetryable)
        }
      })
      const run = (mode: string) =>
        Effect.gen(function*() {
          const impl = yield* Workflow.implementation(Marked)
          return yield* TaskExecution.execute(impl, "marked", JSON.stringify({ input: { mode }, parents: {} }), yield* context)
        }).pipe(Effect.provide(MarkedLive))
      const undeclared = yield* run("undeclared")
      expect(undeclared).toMatchObject({ _tag: "Failed", kind: "Failure", shouldNotRetry: false, message: "DiskFull: no space left" })
      if (undeclared._tag !== "Failed") return
      expect(yield* TaskExecution.decodeFailure(Marked, "marked", undeclared.payload)).toMatchObject({
        _tag: "TaskFailed",
        kind: "Failure",
        message: "DiskFull: no space left"
      })
      expect(yield* run("final")).toMatchObject({ _tag: "Failed", kind: "Failure", shouldNotRetry: true })
      const declared = yield* run("declared")
      expect(declared).toMatchObject({ _tag: "Failed", kind: "Failure", shouldNotRetry: true })
      if (declared._tag !== "Failed") return
      expect(yield* TaskExecution.decodeFailure(Marked, "marked", declared.payload)).toEqual(new Oops({ code: 1 }))
    }))

  it.effect("encodes inputs and decodes outputs with the Schemas", () =>
    Effect.gen(function*() {
      expect(yield* TaskExecution.encodeInput(Flow, { at: new Date(0) })).toBe(`{"at":"1970-01-01T00:00:00.000Z"}`)
      expect(yield* TaskExecution.decodeOutput(Flow, "a", `{"n":2}`)).toEqual({ n: 2 })
      expect((yield* Effect.flip(TaskExecution.decodeOutput(Flow, "a", `{"n":"x"}`)))._tag).toBe("ParseError")
    }))

  it("formats durations the engine accepts, and truncates long log lines with a marker", () => {
    expect(
      [1500, "90 seconds", "2 minutes", "1 hour", "1.5 seconds", "1 day", "100 millis"].map((d) =>
        Either.getOrThrow(toGoDuration(d as never))
      )
    ).toEqual(["1500ms", "90s", "2m", "1h", "1500ms", "24h", "100ms"])
    expect(Either.isLeft(toGoDuration("soon" as never))).toBe(true)
    expect(truncateLogMessage("a".repeat(10_000))).toBe("a".repeat(10_000))
    const cut = truncateLogMessage("b".repeat(12_345))
    expect(cut).toHaveLength(10_000)
    expect(cut.endsWith(" ...[truncated: 12345 characters in total]")).toBe(true)
    expect(failurePayload("Defect", "nul \u0000 here")).not.toContain("\\u0000")
  })

  it.effect("gives each attempt its own child index counter and stream index", () =>
    Effect.gen(function*() {
      const chunks: Array<[number, string]> = []
      const ctx = yield* testTaskContext({}, {
        putStream: (chunk, index) => Effect.sync(() => void chunks.push([index, new TextDecoder().decode(chunk)]))
      })
      const indices = yield* Effect.all([ctx.nextChildIndex, ctx.nextChildIndex, ctx.nextChildIndex], {
        concurrency: "unbounded"
      })
      expect([...indices].sort()).toEqual([0, 1, 2])
      yield* ctx.putStream("x")
      yield* ctx.putStream("y")
      expect(chunks).toEqual([[0, "x"], [1, "y"]])
      expect(Context.isTag(TaskContext.TaskContext)).toBe(true)
    }))
})
