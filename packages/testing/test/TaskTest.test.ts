import { Task, TaskContext, TaskError, Workflow } from "@effect-hatchet/sdk"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Option, Schema } from "effect"
import * as TaskTest from "../src/TaskTest.js"
import { CardDeclined, Order, OrderFlow, OrderFlowLive, Script, ScriptLive } from "./fixtures.js"

const ScriptTest = Layer.effect(Script, ScriptLive)

class Mailer extends Context.Tag("test/Mailer")<Mailer, { readonly send: (to: string) => Effect.Effect<string> }>() {}

const SendEmail = Task.make("send-email", {
  input: Schema.Struct({ to: Schema.String }),
  output: Schema.Struct({ messageId: Schema.String })
})
const SendEmailLive = SendEmail.toLayer((input) =>
  Effect.gen(function*() {
    const ctx = yield* TaskContext.TaskContext
    yield* Effect.logInfo(`sending to ${input.to} (attempt ${ctx.retryCount})`)
    yield* ctx.putStream("sent")
    yield* ctx.refreshTimeout("1 minute")
    return { messageId: yield* Effect.flatMap(Mailer, (m) => m.send(input.to)) }
  }).pipe(TaskError.undeclared)
)
const MailerTest = Layer.succeed(Mailer, { send: (to) => Effect.succeed(`msg-${to}`) })

const Hooked = Workflow.make("hooked", { input: Order }).pipe(
  Workflow.task("a", { output: Schema.Struct({ n: Schema.Number }) }),
  Workflow.task("b", { parents: ["a"], output: Schema.Struct({ m: Schema.Number }), error: CardDeclined }),
  Workflow.onFailure({ output: Schema.Struct({ seen: Schema.Array(Schema.String) }) }),
  Workflow.onSuccess({ output: Schema.Struct({ total: Schema.Number }) })
)
const HookedLive = Hooked.toLayer({
  a: () => Effect.succeed({ n: 1 }),
  b: (_input, parents) => Effect.succeed({ m: parents.a.n + 1 }),
  "on-failure-task": (_input, failures) =>
    Effect.succeed({
      seen: Object.entries(failures).map(([name, error]) =>
        `${name}:${error instanceof CardDeclined ? `typed ${error.reason}` : (error as TaskError.TaskFailed).kind}`
      )
    }),
  "on-success-task": (_input, parents) => Effect.succeed({ total: parents.b.m })
})

describe("TaskTest", () => {
  it.effect("runs a DAG task with typed parent outputs, no engine", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(OrderFlow, "charge", {
        input: { orderId: "o-1", amount: 42 },
        parents: { validate: { valid: true } }
      })
      expectTypeOf(run.exit).toEqualTypeOf<
        Exit.Exit<{ readonly chargeId: string; readonly at: Date }, CardDeclined | TaskError.TaskFailed>
      >()
      expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-o-1", at: new Date(0) }))
      expect(run.outcome).toEqual(
        { _tag: "Completed", output: `{"chargeId":"ch-o-1","at":"1970-01-01T00:00:00.000Z"}` }
      )
      // @ts-expect-error charge needs the output of its parent "validate"
      TaskTest.run(OrderFlow, "charge", { input: { orderId: "o-1", amount: 42 } })
    }).pipe(Effect.provide(OrderFlowLive), Effect.provide(ScriptTest)))

  it.effect("does not run a batch task of a workflow (its types refuse it); the DAG's other tasks run", () =>
    Effect.gen(function*() {
      const Batched = Workflow.make("batched", { input: Order }).pipe(
        Workflow.task("a", { output: Schema.Struct({ n: Schema.Number }) }),
        Workflow.batchTask("b", { parents: ["a"], output: Schema.Struct({ m: Schema.Number }), batch: { maxSize: 2 } }),
        Workflow.task("c", { parents: ["b"], output: Schema.Number })
      )
      expectTypeOf<TaskTest.TaskName<typeof Batched>>().toEqualTypeOf<"a" | "c">()
      const run = TaskTest.run(Batched, "c", { input: { orderId: "o-1", amount: 1 }, parents: { b: { m: 2 } } })
      // @ts-expect-error "b" is a batch task
      const batch = TaskTest.run(Batched, "b", { input: { orderId: "o-1", amount: 1 }, parents: { a: { n: 1 } } })
      const live = Batched.toLayer({
        a: () => Effect.succeed({ n: 1 }),
        b: (_inputs, parents) => Effect.succeed(parents.map((p) => ({ m: p.a.n + 1 }))),
        c: (_input, parents) => Effect.succeed(parents.b.m * 10)
      })
      expect((yield* Effect.provide(run, live)).exit).toEqual(Exit.succeed(20))
      const died = yield* Effect.exit(Effect.provide(batch, live))
      expect(Exit.isFailure(died) && Cause.isDie(died.cause)).toBe(true)
      expect(String(Exit.isFailure(died) ? Cause.squash(died.cause) : "")).toContain("TaskTest does not run batch tasks")
    }))

  it.effect("returns typed failures as a client would see them, with should_not_retry", () =>
    Effect.gen(function*() {
      const declined = yield* Effect.flip(TaskTest.result(OrderFlow, "charge", {
        input: { orderId: "o-1", amount: 13 },
        parents: { validate: { valid: true } }
      }))
      expect(declined).toEqual(new CardDeclined({ reason: "unlucky" }))
      const run = yield* TaskTest.run(OrderFlow, "charge", {
        input: { orderId: "o-1", amount: 13 },
        parents: { validate: { valid: true } }
      })
      expect(run.outcome).toMatchObject({ _tag: "Failed", shouldNotRetry: true, kind: "Failure" })
    }).pipe(Effect.provide(OrderFlowLive), Effect.provide(ScriptTest)))

  it.effect("applies the input Schema: malformed input fails with InvalidInput naming the field", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(OrderFlow, "validate", {
        input: { orderId: "o-1", amount: 1 },
        rawInput: { orderId: 7 }
      })
      expect(Exit.isFailure(run.exit)).toBe(true)
      const error = Option.getOrThrow(Cause.failureOption((run.exit as Exit.Failure<unknown, unknown>).cause))
      expect(error).toMatchObject({
        _tag: "TaskFailed",
        kind: "InvalidInput",
        message: `Invalid input for task "validate" of workflow "order-processing": orderId: Expected string, actual 7; amount: is missing`
      })
      expect(run.outcome).toMatchObject({ _tag: "Failed", shouldNotRetry: true })
    }).pipe(Effect.provide(OrderFlowLive), Effect.provide(ScriptTest)))

  it.effect("runs a standalone task with its services; captures logs, stream chunks and context calls", () =>
    Effect.gen(function*() {
      const run = yield* TaskTest.run(SendEmail, { input: { to: "ada@example.com" }, retryCount: 2 })
      expect(run.exit).toEqual(Exit.succeed({ messageId: "msg-ada@example.com" }))
      expect(run.logs.map((l) => [l.level, l.message])).toEqual([["INFO", "sending to ada@example.com (attempt 2)"]])
      expect(run.stream).toEqual([new TextEncoder().encode("sent")])
      expect(run.refreshedTimeouts).toEqual(["1m"])
      expect(run.cancelled).toBe(false)
    }).pipe(Effect.provide(SendEmailLive), Effect.provide(MailerTest)))

  it.effect("gives the attempt its number, its maximum and the triggering event; captures upserted labels", () =>
    Effect.gen(function*() {
      const Labelled = Task.make("labelled", {
        retries: 2,
        output: Schema.Struct({ attempt: Schema.Number, max: Schema.Number, event: Schema.String })
      })
      const LabelledLive = Labelled.toLayer(() =>
        Effect.gen(function*() {
          const ctx = yield* TaskContext.TaskContext
          yield* ctx.upsertLabels({ model: "llama" })
          yield* ctx.upsertLabels({ gpus: 2 })
          const event = Option.match(ctx.triggeringEvent, { onNone: () => "none", onSome: (e) => `${e.key}/${e.id}` })
          return { attempt: ctx.attemptNumber, max: ctx.maxAttempts, event }
        }).pipe(Effect.orDie)
      )
      const run = yield* TaskTest.run(Labelled, { input: {}, retryCount: 1, triggeringEvent: { id: "e-1", key: "order:placed" } }).pipe(
        Effect.provide(LabelledLive)
      )
      expect(run.exit).toEqual(Exit.succeed({ attempt: 2, max: 3, event: "order:placed/e-1" }))
      expect(run.upsertedLabels).toEqual({ model: "llama", gpus: 2 })
    }))

  it.effect("hands the filter payload to the task, decoded with a Schema; none without one, a ParseError when it does not match", () =>
    Effect.gen(function*() {
      const Threshold = Schema.Struct({ threshold: Schema.Number })
      const Filtered = Task.make("filtered", { output: Schema.Struct({ threshold: Schema.NullOr(Schema.Number) }) })
      const FilteredLive = Filtered.toLayer(() =>
        Effect.map(TaskContext.decodeFilterPayload(Threshold), (payload) => ({
          threshold: Option.getOrNull(Option.map(payload, (p) => p.threshold))
        })).pipe(Effect.orDie)
      )
      const run = (filterPayload?: Readonly<Record<string, unknown>>) =>
        Effect.map(TaskTest.run(Filtered, { input: {}, filterPayload }).pipe(Effect.provide(FilteredLive)), (r) => r.exit)
      expect(yield* run({ threshold: 10, other: "x" })).toEqual(Exit.succeed({ threshold: 10 }))
      expect(yield* run()).toEqual(Exit.succeed({ threshold: null }))
      expect(Exit.isFailure(yield* run({ threshold: "ten" }))).toBe(true)
    }))

  it.effect("runs hooks: on-failure gets decoded failures, on-success the leaves' outputs", () =>
    Effect.gen(function*() {
      const failureRun = yield* TaskTest.run(Hooked, "on-failure-task", {
        input: { orderId: "o", amount: 1 },
        failures: { b: new CardDeclined({ reason: "nope" }), a: "Task exceeded timeout of 60s" }
      })
      expect(failureRun.exit).toEqual(Exit.succeed({ seen: ["b:typed nope", "a:Timeout"] }))
      const successRun = yield* TaskTest.run(Hooked, "on-success-task", {
        input: { orderId: "o", amount: 1 },
        parents: { b: { m: 5 } }
      })
      expect(successRun.exit).toEqual(Exit.succeed({ total: 5 }))
    }).pipe(Effect.provide(HookedLive)))
})
