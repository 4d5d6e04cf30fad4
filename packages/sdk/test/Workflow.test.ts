import { StickyStrategy } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import type { Layer, Option } from "effect"
import { Context, Data, Effect, Either, Schema } from "effect"
import * as BatchContext from "../src/BatchContext.js"
import * as Condition from "../src/Condition.js"
import { specOf } from "../src/internal/definition.js"
import { compile } from "../src/internal/registration.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import * as TaskError from "../src/TaskError.js"
import type { TaskFailed } from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}

class Payments extends Context.Tag("test/Payments")<Payments, {
  readonly charge: (orderId: string) => Effect.Effect<string>
}>() {}

const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })

const OrderFlow = Workflow.make("order-processing", { input: Order, description: "orders", version: "v2" }).pipe(
  Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }), retries: 3 }),
  Workflow.task("charge", {
    parents: ["validate"],
    output: Schema.Struct({ chargeId: Schema.String }),
    error: CardDeclined,
    backoff: { factor: 2, maxSeconds: 60 },
    executionTimeout: "90 seconds",
    scheduleTimeout: "2 minutes"
  }),
  Workflow.task("notify", { parents: ["validate", "charge"] }),
  Workflow.onFailure({ output: Schema.Struct({ alerted: Schema.Boolean }) }),
  Workflow.onSuccess({ output: Schema.Struct({ done: Schema.Boolean }) })
)

describe("Workflow definitions (types)", () => {
  it("types parent outputs, results and failures", () => {
    type Result = Workflow.Result<typeof OrderFlow>
    expectTypeOf<Result>().toEqualTypeOf<{
      readonly validate: { readonly valid: boolean }
      readonly charge: { readonly chargeId: string }
      readonly notify: void
      readonly "on-success-task": { readonly done: boolean }
    }>()
    expectTypeOf<Workflow.Input<typeof OrderFlow>>().toEqualTypeOf<{ readonly orderId: string; readonly amount: number }>()
    expectTypeOf<Workflow.Failure<typeof OrderFlow>>().toEqualTypeOf<CardDeclined | TaskFailed>()
    expectTypeOf<Workflow.Leaves<typeof OrderFlow.tasks>>().toEqualTypeOf<"notify">()

    const live = OrderFlow.toLayer({
      validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
      charge: (input, parents) => {
        expectTypeOf(parents).toEqualTypeOf<{ readonly validate: { readonly valid: boolean } }>()
        return Effect.flatMap(Payments, (p) => p.charge(input.orderId)).pipe(Effect.map((chargeId) => ({ chargeId })))
      },
      notify: (_input, parents) => {
        expectTypeOf(parents.charge).toEqualTypeOf<{ readonly chargeId: string }>()
        return Effect.flatMap(TaskContext.TaskContext, (ctx) => Effect.log(ctx.retryCount))
      },
      "on-failure-task": (_input, failures) => {
        expectTypeOf(failures.charge).toEqualTypeOf<CardDeclined | TaskFailed | undefined>()
        return Effect.succeed({ alerted: true })
      },
      "on-success-task": (_input, parents) => {
        expectTypeOf(parents).toEqualTypeOf<{ readonly notify: void }>()
        return Effect.succeed({ done: true })
      }
    })
    // the layer needs the handlers' services, but not what the worker provides per task
    expectTypeOf(live).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"order-processing">, never, Payments>>()
  })

  it("rejects unknown parents, duplicate names, missing handlers and wrong outputs at compile time", () => {
    Workflow.make("w").pipe(
      Workflow.task("a"),
      // @ts-expect-error "nope" is not a task defined before this one
      Workflow.task("b", { parents: ["nope"] })
    )
    Workflow.make("w").pipe(
      Workflow.task("a"),
      // @ts-expect-error duplicate task name
      Workflow.task("a")
    )
    const W = Workflow.make("w").pipe(
      Workflow.task("a", { output: Schema.Struct({ n: Schema.Number }) }),
      Workflow.task("b", { parents: ["a"] })
    )
    // @ts-expect-error the handler of "b" is missing
    W.toLayer({ a: () => Effect.succeed({ n: 1 }) })
    W.toLayer({
      // @ts-expect-error "a" must return { n: number }
      a: () => Effect.succeed({ n: "one" }),
      b: () => Effect.void
    })
    W.toLayer({
      a: () => Effect.succeed({ n: 1 }),
      // @ts-expect-error parents of "b" are { a: { n: number } }, there is no "c"
      b: (_input, parents) => Effect.log(parents.c)
    })
  })

  it("types standalone tasks", () => {
    const SendEmail = Task.make("send-email", {
      input: Schema.Struct({ to: Schema.String }),
      output: Schema.Struct({ messageId: Schema.String }),
      error: CardDeclined
    })
    expectTypeOf<Workflow.Result<typeof SendEmail>>().toEqualTypeOf<{ readonly messageId: string }>()
    expectTypeOf<Workflow.Failure<typeof SendEmail>>().toEqualTypeOf<CardDeclined | TaskFailed>()
    const live = SendEmail.toLayer((input) => Effect.map(Payments, () => ({ messageId: input.to })))
    expectTypeOf(live).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"send-email">, never, Payments>>()
    // @ts-expect-error the output must be { messageId: string }
    SendEmail.toLayer(() => Effect.succeed({ id: 1 }))
  })

  it("types batch tasks: inputs in, one output per input (or one broadcast) out, BatchContext provided", () => {
    const Embed = Task.batch("embed", {
      input: Schema.Struct({ text: Schema.String }),
      output: Schema.Struct({ size: Schema.Number }),
      error: CardDeclined,
      batch: { maxSize: 8, maxInterval: "200 millis", groupKey: "input.model" }
    })
    expectTypeOf<Workflow.Input<typeof Embed>>().toEqualTypeOf<{ readonly text: string }>()
    expectTypeOf<Workflow.Result<typeof Embed>>().toEqualTypeOf<{ readonly size: number }>()
    expectTypeOf<Workflow.Failure<typeof Embed>>().toEqualTypeOf<CardDeclined | TaskFailed>()
    expectTypeOf<typeof Embed>().toMatchTypeOf<Workflow.Definition>()
    const live = Embed.toLayer((inputs) =>
      Effect.gen(function*() {
        expectTypeOf(inputs).toEqualTypeOf<ReadonlyArray<{ readonly text: string }>>()
        const batch = yield* BatchContext.BatchContext
        yield* Payments
        return inputs.map((input, i) => ({ size: input.text.length + batch.items[i]!.taskRunExternalId.length }))
      })
    )
    // BatchContext (like the handler's Scope) is the worker's to provide; the app's services stay
    expectTypeOf(live).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"embed">, never, Payments>>()
    // @ts-expect-error one output per input: an array of outputs, not one output
    Embed.toLayer(() => Effect.succeed({ size: 1 }))
    // @ts-expect-error the outputs must be { size: number }
    Embed.toLayer((inputs) => Effect.succeed(inputs.map(() => ({ size: "1" }))))
    // @ts-expect-error a batch fails only with its declared error
    Embed.toLayer(() => Effect.fail(new GatewayTimeout({ seconds: 1 })))
    // a batch handler has no TaskContext: asking for one leaves it a requirement of the layer
    const wrong = Embed.toLayer((inputs) => Effect.as(TaskContext.TaskContext, inputs.map(() => ({ size: 0 }))))
    expectTypeOf(wrong).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"embed">, never, TaskContext.TaskContext>>()

    const Sum = Task.batch("sum", {
      input: Schema.Struct({ n: Schema.Number }),
      output: Schema.Number,
      batch: { maxSize: 8, broadcastOutput: true }
    })
    Sum.toLayer((inputs) => Effect.succeed(inputs.reduce((a, i) => a + i.n, 0)))
    // @ts-expect-error a broadcast batch returns one output
    Sum.toLayer((inputs) => Effect.succeed(inputs.map((i) => i.n)))
    // @ts-expect-error a batch task is not retried
    Task.batch("retried", { batch: { maxSize: 2 }, retries: 3 })
    // @ts-expect-error batch settings are required
    Task.batch("unbatched", {})
  })

  it("types batch tasks of a DAG: workflow inputs and each run's parents in, outputs out, children see one output", () => {
    const Ingest = Workflow.make("ingest", { input: Schema.Struct({ url: Schema.String }) }).pipe(
      Workflow.task("fetch", { output: Schema.Struct({ text: Schema.String }) }),
      Workflow.task("maybe", { output: Schema.Number, skipIf: Condition.sleep("1 second") }),
      Workflow.batchTask("embed", {
        parents: ["fetch", "maybe"],
        output: Schema.Struct({ size: Schema.Number }),
        error: CardDeclined,
        batch: { maxSize: 8, groupKey: "input.url" }
      }),
      Workflow.batchTask("total", { parents: ["embed"], output: Schema.Number, batch: { maxSize: 8, broadcastOutput: true } }),
      Workflow.task("store", { parents: ["embed", "total"], output: Schema.Struct({ stored: Schema.Number }) })
    )
    expectTypeOf<Workflow.Result<typeof Ingest>>().toEqualTypeOf<{
      readonly fetch: { readonly text: string }
      readonly maybe: Option.Option<number>
      readonly embed: { readonly size: number }
      readonly total: number
      readonly store: { readonly stored: number }
    }>()
    expectTypeOf<Workflow.Failure<typeof Ingest>>().toEqualTypeOf<CardDeclined | TaskFailed>()
    expectTypeOf(Ingest.tasks.embed.batch).toEqualTypeOf<Workflow.BatchSettings | undefined>()
    const handlers = {
      fetch: (input: { readonly url: string }) => Effect.succeed({ text: input.url }),
      maybe: () => Effect.succeed(1),
      embed: (
        inputs: ReadonlyArray<{ readonly url: string }>,
        parents: ReadonlyArray<{ readonly fetch: { readonly text: string }; readonly maybe: Option.Option<number> }>
      ) =>
        Effect.gen(function*() {
          const batch = yield* BatchContext.BatchContext
          yield* Payments
          return inputs.map((input, i) => ({ size: input.url.length + parents[i]!.fetch.text.length + batch.items.length }))
        }),
      total: (_: ReadonlyArray<unknown>, parents: ReadonlyArray<{ readonly embed: { readonly size: number } }>) =>
        Effect.succeed(parents.reduce((n, p) => n + p.embed.size, 0)),
      store: (_: unknown, parents: { readonly embed: { readonly size: number }; readonly total: number }) =>
        Effect.succeed({ stored: parents.embed.size + parents.total })
    }
    const live = Ingest.toLayer(handlers)
    // BatchContext (and Scope) are the worker's to provide to the batch tasks; the app's services stay
    expectTypeOf(live).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"ingest">, never, Payments>>()
    Ingest.toLayer({
      ...handlers,
      embed: (inputs, parents) => {
        expectTypeOf(inputs).toEqualTypeOf<ReadonlyArray<{ readonly url: string }>>()
        expectTypeOf(parents).toEqualTypeOf<
          ReadonlyArray<{ readonly fetch: { readonly text: string }; readonly maybe: Option.Option<number> }>
        >()
        return Effect.succeed(inputs.map(() => ({ size: 0 })))
      }
    })
    // @ts-expect-error one output per run: an array of outputs, not one output
    Ingest.toLayer({ ...handlers, embed: () => Effect.succeed({ size: 1 }) })
    // @ts-expect-error a broadcast batch returns one output
    Ingest.toLayer({ ...handlers, total: () => Effect.succeed([1]) })
    // @ts-expect-error a batch fails only with its declared error
    Ingest.toLayer({ ...handlers, embed: () => Effect.fail(new GatewayTimeout({ seconds: 1 })) })
    // a batch handler has no TaskContext: asking for one leaves it a requirement of the layer
    const wrong = Ingest.toLayer({ ...handlers, total: () => Effect.as(TaskContext.TaskContext, 0) })
    expectTypeOf(wrong).toEqualTypeOf<Layer.Layer<Workflow.Implementation<"ingest">, never, Payments | TaskContext.TaskContext>>()
    // ... and a task that is not batched has no BatchContext
    const wrongTask = Ingest.toLayer({ ...handlers, maybe: () => Effect.as(BatchContext.BatchContext, 0) })
    expectTypeOf(wrongTask).toEqualTypeOf<
      Layer.Layer<Workflow.Implementation<"ingest">, never, Payments | BatchContext.BatchContext>
    >()
    Workflow.make("w").pipe(
      Workflow.task("a"),
      // @ts-expect-error a batch task is not retried
      Workflow.batchTask("b", { parents: ["a"], batch: { maxSize: 2 }, retries: 3 })
    )
    Workflow.make("w").pipe(
      Workflow.task("a"),
      // @ts-expect-error a batch takes one slot
      Workflow.batchTask("b", { batch: { maxSize: 2 }, slotCost: 2 })
    )
    // @ts-expect-error batch settings are required
    Workflow.make("w").pipe(Workflow.batchTask("b", {}))
    Workflow.make("w").pipe(
      Workflow.task("a"),
      // @ts-expect-error "nope" is not a task defined before this one
      Workflow.batchTask("b", { parents: ["nope"], batch: { maxSize: 2 } })
    )
  })
})

class GatewayTimeout extends Schema.TaggedError<GatewayTimeout>()("GatewayTimeout", { seconds: Schema.Number }) {}
class DatabaseDown extends Data.TaggedError("DatabaseDown")<{}> {}

describe("handlers fail only with what their task declares (types)", () => {
  const Charge = Workflow.make("charge-flow").pipe(
    Workflow.task("charge", { output: Schema.String, error: Schema.Union(CardDeclined, GatewayTimeout) }),
    Workflow.task("notify", { parents: ["charge"] }),
    Workflow.onFailure({ error: GatewayTimeout }),
    Workflow.onSuccess()
  )
  const declined = Effect.fail(new CardDeclined({ reason: "expired" }))
  const timedOut = Effect.fail(new GatewayTimeout({ seconds: 30 }))
  const databaseDown = Effect.fail(new DatabaseDown())

  it("accepts the declared errors, the markers, and defects", () => {
    Charge.toLayer({
      charge: () =>
        Effect.gen(function*() {
          if (Math.random() > 0.5) yield* declined
          yield* timedOut
          return "ch-1"
        }),
      // undeclared on purpose, retried; or not retried
      notify: () => databaseDown.pipe(TaskError.undeclared),
      "on-failure-task": () => timedOut.pipe(TaskError.nonRetryable),
      "on-success-task": () => databaseDown.pipe(TaskError.undeclared, TaskError.nonRetryable)
    })
    Charge.toLayer({
      // a declared error, not retried
      charge: () => declined.pipe(TaskError.nonRetryable),
      // a defect is always possible
      notify: () => Effect.orDie(databaseDown),
      "on-failure-task": () => Effect.void,
      "on-success-task": () => Effect.void
    })
    const SendEmail = Task.make("send-email", { output: Schema.String, error: GatewayTimeout })
    SendEmail.toLayer(() => Effect.zipRight(timedOut, Effect.succeed("m-1")))
    SendEmail.toLayer(Effect.succeed(() => Effect.zipRight(databaseDown.pipe(TaskError.undeclared), Effect.succeed("m-1"))))
    expectTypeOf<TaskError.HandlerError<CardDeclined>>().toEqualTypeOf<
      CardDeclined | TaskError.UndeclaredError | TaskError.NonRetryableError<CardDeclined | TaskError.UndeclaredError>
    >()
  })

  it("rejects any other error, in tasks, hooks and standalone tasks", () => {
    Charge.toLayer({
      charge: () => Effect.succeed("ch-1"),
      // @ts-expect-error "notify" declares no error: DatabaseDown must be handled, declared or marked
      notify: () => databaseDown,
      "on-failure-task": () => Effect.void,
      "on-success-task": () => Effect.void
    })
    Charge.toLayer({
      // @ts-expect-error DatabaseDown is not among the declared CardDeclined | GatewayTimeout
      charge: () => Effect.zipRight(databaseDown, Effect.succeed("ch-1")),
      notify: () => Effect.void,
      "on-failure-task": () => Effect.void,
      "on-success-task": () => Effect.void
    })
    Charge.toLayer({
      charge: () => Effect.succeed("ch-1"),
      notify: () => Effect.void,
      // @ts-expect-error the on-failure task declares GatewayTimeout, not CardDeclined
      "on-failure-task": () => declined,
      "on-success-task": () => Effect.void
    })
    Charge.toLayer({
      charge: () => Effect.succeed("ch-1"),
      notify: () => Effect.void,
      "on-failure-task": () => Effect.void,
      // @ts-expect-error nonRetryable does not make an undeclared error acceptable
      "on-success-task": () => databaseDown.pipe(TaskError.nonRetryable)
    })
    Charge.toLayer({
      charge: () => Effect.succeed("ch-1"),
      // @ts-expect-error a plain string is not a declared error either
      notify: () => Effect.fail("oops"),
      "on-failure-task": () => Effect.void,
      "on-success-task": () => Effect.void
    })
    const SendEmail = Task.make("send-email", { output: Schema.String })
    // @ts-expect-error SendEmail declares no error
    SendEmail.toLayer(() => Effect.zipRight(timedOut, Effect.succeed("m-1")))
    // @ts-expect-error the same, for a handler built by an Effect
    SendEmail.toLayer(Effect.succeed(() => Effect.zipRight(timedOut, Effect.succeed("m-1"))))
  })
})

const issuesOf = (definition: Workflow.Definition, namespace = ""): ReadonlyArray<string> =>
  Either.match(compile(specOf(definition), namespace), { onLeft: (e) => e.issues, onRight: () => [] })

describe("Workflow definitions (validation)", () => {
  it.effect("accepts a valid definition", () =>
    Effect.gen(function*() {
      yield* Workflow.validate(OrderFlow)
    }))

  it.effect("reports every problem at once, saying where and what", () =>
    Effect.gen(function*() {
      const Bad = Workflow.make("bad name!", {
        defaultPriority: 4 as 1,
        onCrons: ["* * *", "61 * * * *", "0 0 * * * *"],
        onEvents: [""]
      }).pipe(
        Workflow.task("a", {
          retries: -1,
          backoff: { factor: 0, maxSeconds: 100000 },
          executionTimeout: "1.5 millis",
          scheduleTimeout: 0,
          slotCost: 0
        }),
        Workflow.task("on-failure-task" as "x"),
        Workflow.task("b", { parents: ["ghost" as "a"] })
      )
      const error = yield* Effect.flip(Workflow.validate(Bad))
      expect(error._tag).toBe("WorkflowDefinitionError")
      expect(error.issues).toEqual([
        `name: "bad name!" may only contain letters, digits, ".", "-" and "_"`,
        `tasks.on-failure-task: "on-failure-task" is reserved; use Workflow.onFailure / Workflow.onSuccess`,
        `tasks.b.parents: unknown parent "ghost" (tasks: "a", "on-failure-task", "b")`,
        "defaultPriority: must be 1, 2 or 3, got 4",
        `onCrons[0]: "* * *" is not a valid cron expression: expected 5 to 6 fields (minute hour day-of-month month day-of-week, or seconds first), found 3: [* * *]`,
        `onCrons[1]: "61 * * * *" is not a valid cron expression: end of range (61) above maximum (59): 61`,
        "onEvents[0]: an event key must be a non-empty string",
        "tasks.a.retries: must be a non-negative integer, got -1",
        "tasks.a.backoff.factor: must be between 1 and 1000, got 0",
        "tasks.a.backoff.maxSeconds: must be an integer between 1 and 86400, got 100000",
        "tasks.a.slotCost: must be a positive integer, got 0",
        `tasks.a.executionTimeout: "1.5 millis" must be a whole number of milliseconds (Hatchet durations use ms, s, m or h)`,
        "tasks.a.scheduleTimeout: 0 must be positive"
      ])
      expect(error.issues).toHaveLength(13)
      expect(error.message).toContain(`Invalid workflow "bad name!":\n  - `)
    }))

  it("finds cycles, duplicates and case collisions that the types cannot see", () => {
    const Cyclic = Workflow.make("cyclic").pipe(
      Workflow.task("a", { parents: ["c" as never] }),
      Workflow.task("b", { parents: ["a"] }),
      Workflow.task("c", { parents: ["b"] })
    )
    expect(issuesOf(Cyclic)).toEqual(["tasks: the parents form a cycle: a -> b -> c -> a"])
    const Dup = Workflow.make("dup").pipe(Workflow.task("a"), Workflow.task("a" as "b"), Workflow.task("A"))
    expect(issuesOf(Dup)).toEqual([
      `tasks.a: duplicate task name "a"`,
      `tasks.A: "A" and "a" differ only in case; worker actions are lowercased, so they would collide`
    ])
    expect(issuesOf(Workflow.make("empty"))).toEqual(["tasks: a workflow needs at least one task"])
  })

  it("rejects inputs and parent outputs that do not encode to JSON objects", () => {
    const W = Workflow.make("w", { input: Schema.String as unknown as Schema.Struct<{}> }).pipe(
      Workflow.task("a", { output: Schema.Array(Schema.Number) }),
      Workflow.task("b", { parents: ["a"], output: Schema.Number })
    )
    expect(issuesOf(W)).toEqual([
      "tasks.a.output: the output of a parent task must encode to a JSON object (Hatchet drops anything else), but this schema encodes to an array",
      "input: the workflow input must encode to a JSON object (Hatchet drops anything else), but this schema encodes to a string"
    ])
  })

  it("checks the namespaced name", () => {
    const W = Workflow.make("w").pipe(Workflow.task("a"))
    expect(issuesOf(W, "bad ns_")).toEqual([`name: namespaced name "bad ns_w" must match /^[a-zA-Z0-9.\\-_]+$/`])
  })
})

describe("Workflow registration (PutWorkflow request)", () => {
  it("builds the exact CreateWorkflowVersionRequest", () => {
    const Flow = Workflow.make("Order-Processing", {
      input: Order,
      onEvents: ["order:created"],
      onCrons: ["0 * * * *"],
      defaultPriority: 2,
      taskDefaults: { retries: 1, desiredWorkerLabels: { region: "eu" } }
    }).pipe(
      Workflow.task("Validate", { output: Schema.Struct({ valid: Schema.Boolean }), slotCost: 2 }),
      Workflow.task("charge", {
        parents: ["Validate"],
        output: Schema.Struct({ chargeId: Schema.String }),
        retries: 3,
        backoff: { factor: 2, maxSeconds: 60 },
        executionTimeout: "90 seconds",
        scheduleTimeout: "2 minutes",
        desiredWorkerLabels: { gpu: { value: 1, required: true, comparator: "GREATER_THAN_OR_EQUAL", weight: 5 } }
      }),
      Workflow.onFailure({ executionTimeout: "1 hour" }),
      Workflow.onSuccess()
    )
    const compiled = Either.getOrThrow(compile(specOf(Flow), "team_"))
    const { inputJsonSchema, ...request } = compiled.request
    const base = {
      inputs: "{}",
      rateLimits: [],
      concurrency: [],
      conditions: { parentOverrideConditions: [], sleepConditions: [], userEventConditions: [] },
      isDurable: false,
      batch: undefined
    }
    expect(request).toEqual({
      name: "team_order-processing",
      description: "",
      version: "",
      eventTriggers: ["team_order:created"],
      cronTriggers: ["0 * * * *"],
      tasks: [
        {
          ...base,
          readableId: "Validate",
          action: "team_order-processing:Validate",
          timeout: "60s",
          parents: [],
          retries: 1,
          workerLabels: { region: { strValue: "eu" } },
          backoffFactor: undefined,
          backoffMaxSeconds: undefined,
          scheduleTimeout: undefined,
          slotRequests: { default: 2 }
        },
        {
          ...base,
          readableId: "charge",
          action: "team_order-processing:charge",
          timeout: "90s",
          parents: ["Validate"],
          retries: 3,
          workerLabels: { gpu: { intValue: 1, required: true, comparator: 3, weight: 5 } },
          backoffFactor: 2,
          backoffMaxSeconds: 60,
          scheduleTimeout: "2m",
          slotRequests: { default: 1 }
        },
        {
          ...base,
          readableId: "on-success-task",
          action: "team_order-processing:on-success-task",
          timeout: "60s",
          parents: ["charge"],
          retries: 1,
          workerLabels: { region: { strValue: "eu" } },
          backoffFactor: undefined,
          backoffMaxSeconds: undefined,
          scheduleTimeout: undefined,
          slotRequests: { default: 1 }
        }
      ],
      concurrency: undefined,
      cronInput: undefined,
      onFailureTask: {
        ...base,
        readableId: "on-failure-task",
        action: "team_order-processing:on-failure-task",
        // as the official SDK, the on-failure task sends no conditions message
        conditions: undefined,
        timeout: "1h",
        parents: [],
        retries: 1,
        workerLabels: { region: { strValue: "eu" } },
        backoffFactor: undefined,
        backoffMaxSeconds: undefined,
        scheduleTimeout: undefined,
        slotRequests: { default: 1 }
      },
      sticky: undefined,
      defaultPriority: 2,
      concurrencyArr: [],
      defaultFilters: [],
      idempotency: undefined
    })
    expect(JSON.parse(new TextDecoder().decode(inputJsonSchema))).toEqual({
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      required: ["orderId", "amount"],
      properties: { orderId: { type: "string" }, amount: { type: "number" } },
      additionalProperties: false
    })
    expect([...compiled.actions.keys()]).toEqual([
      "team_order-processing:validate",
      "team_order-processing:charge",
      "team_order-processing:on-success-task",
      "team_order-processing:on-failure-task"
    ])
  })

  it("registers a standalone task as a one-task workflow of the same name", () => {
    const SendEmail = Task.make("send-email", {
      input: Schema.Struct({ to: Schema.String }),
      retries: 2,
      executionTimeout: 1500,
      description: "sends"
    })
    const compiled = Either.getOrThrow(compile(specOf(SendEmail), ""))
    expect(compiled.request.name).toBe("send-email")
    expect(compiled.request.description).toBe("sends")
    expect(compiled.request.tasks.map((t) => [t.readableId, t.action, t.retries, t.timeout])).toEqual([
      ["send-email", "send-email:send-email", 2, "1500ms"]
    ])
  })

  it("registers a batch task with its TaskBatchConfig (as the official SDK's batchTask: retries 0, one slot)", () => {
    const Embed = Task.batch("embed", {
      input: Schema.Struct({ text: Schema.String }),
      batch: { maxSize: 64, maxInterval: "1.5 seconds", groupKey: "input.model", groupMaxRuns: 2, broadcastOutput: true }
    })
    const task = Either.getOrThrow(compile(specOf(Embed), "")).request.tasks[0]!
    expect(task.batch).toStrictEqual({
      batchMaxSize: 64,
      batchMaxIntervalMs: 1500,
      batchGroupKey: "input.model",
      batchGroupMaxRuns: 2,
      broadcastOutput: true
    })
    expect([task.retries, task.slotRequests]).toEqual([0, { default: 1 }])
    const Plain = Task.batch("plain", { batch: { maxSize: 1 } })
    expect(Either.getOrThrow(compile(specOf(Plain), "")).request.tasks[0]!.batch).toStrictEqual({
      batchMaxSize: 1,
      batchMaxIntervalMs: undefined,
      batchGroupKey: undefined,
      batchGroupMaxRuns: undefined,
      broadcastOutput: undefined
    })
    expect(Task.isBatchTask(Embed)).toBe(true)
    expect(Task.isBatchTask(Task.make("t"))).toBe(false)
  })

  it("registers a batch task of a DAG as the official SDK's workflow.batchTask: its parents and conditions, retries 0, one slot", () => {
    const Flow = Workflow.make("ingest", {
      input: Schema.Struct({ url: Schema.String }),
      taskDefaults: { retries: 3, slotCost: 2, executionTimeout: "2 minutes" }
    }).pipe(
      Workflow.task("fetch", { output: Schema.Struct({ text: Schema.String }) }),
      Workflow.batchTask("embed", {
        parents: ["fetch"],
        batch: { maxSize: 4, maxInterval: "250 millis", groupKey: "input.url" },
        skipIf: Condition.parentOutput("fetch", "output.text == ''")
      }),
      Workflow.task("store", { parents: ["embed"] })
    )
    const compiled = Either.getOrThrow(compile(specOf(Flow), ""))
    const [fetch, embed, store] = compiled.request.tasks
    expect([fetch!.retries, fetch!.slotRequests, fetch!.batch]).toEqual([3, { default: 2 }, undefined])
    expect(embed).toMatchObject({
      readableId: "embed",
      action: "ingest:embed",
      parents: ["fetch"],
      // the taskDefaults' retries and slot cost do not apply to a batch (upstream sends 0 retries)
      retries: 0,
      slotRequests: { default: 1 },
      timeout: "2m",
      batch: { batchMaxSize: 4, batchMaxIntervalMs: 250, batchGroupKey: "input.url" }
    })
    expect(embed!.conditions?.parentOverrideConditions).toHaveLength(1)
    expect(store!.parents).toEqual(["embed"])
    expect([...compiled.actions.keys()]).toEqual(["ingest:fetch", "ingest:embed", "ingest:store"])
    expect(Flow.tasks.embed.batch).toEqual({ maxSize: 4, maxInterval: "250 millis", groupKey: "input.url" })
    expect(Flow.tasks.fetch.batch).toBeUndefined()
    // what a batch cannot be, in a DAG too
    const Bad = Workflow.make("bad").pipe(
      Workflow.batchTask("b", { batch: { maxSize: 0 }, ...({ retries: 1, backoff: { factor: 2 }, slotCost: 2 } as {}) })
    )
    expect(Either.getOrThrow(Either.flip(compile(specOf(Bad), ""))).issues).toEqual([
      "tasks.b.batch.maxSize: must be a positive integer, got 0",
      "tasks.b.retries: a batch task is not retried (Hatchet runs each item once), got 1",
      "tasks.b.backoff: a batch task is not retried, so it has no backoff",
      "tasks.b.slotCost: a batch takes one slot of its worker, whatever its size, got 2"
    ])
  })

  it("refuses what a batch cannot be, every problem at once", () => {
    const Bad = Task.batch("bad", {
      batch: { maxSize: 0, maxInterval: "0 millis", groupKey: " ", groupMaxRuns: 1.5 },
      ...({ retries: 2, backoff: { factor: 2 }, slotCost: 3 } as {})
    })
    expect(Either.getOrThrow(Either.flip(compile(specOf(Bad), ""))).issues).toEqual([
      "tasks.bad.batch.maxSize: must be a positive integer, got 0",
      "tasks.bad.batch.groupMaxRuns: must be a positive integer, got 1.5",
      "tasks.bad.batch.maxInterval: must be a positive duration in whole milliseconds, got 0 millis",
      `tasks.bad.batch.groupKey: a CEL expression is required when given, e.g. "input.customerId"`,
      "tasks.bad.retries: a batch task is not retried (Hatchet runs each item once), got 2",
      "tasks.bad.backoff: a batch task is not retried, so it has no backoff",
      "tasks.bad.slotCost: a batch takes one slot of its worker, whatever its size, got 3"
    ])
  })
})

describe("Workflow concurrency (PutWorkflow request)", () => {
  it("a workflow's limits go in concurrency_arr; a task's, or taskDefaults', on the task; a standalone task's on its task only", () => {
    const Flow = Workflow.make("sync", {
      input: Schema.Struct({ accountId: Schema.String }),
      concurrency: { expression: "input.accountId", maxRuns: 2, limitStrategy: "GROUP_ROUND_ROBIN" },
      taskDefaults: { concurrency: { expression: "additional_metadata.tenant", limitStrategy: "CANCEL_NEWEST" } }
    }).pipe(
      Workflow.task("fetch"),
      Workflow.task("store", {
        parents: ["fetch"],
        concurrency: [
          { expression: "input.accountId", limitStrategy: "CANCEL_IN_PROGRESS" },
          { expression: "workflow_run_id", maxRuns: 5, limitStrategy: "GROUP_ROUND_ROBIN" }
        ]
      })
    )
    const request = Either.getOrThrow(compile(specOf(Flow), "")).request
    expect(request.concurrency).toBeUndefined()
    expect(request.concurrencyArr).toEqual([{ expression: "input.accountId", maxRuns: 2, limitStrategy: 3 }])
    expect(request.tasks.map((t) => t.concurrency)).toEqual([
      [{ expression: "additional_metadata.tenant", maxRuns: 1, limitStrategy: 4 }],
      [
        { expression: "input.accountId", maxRuns: 1, limitStrategy: 0 },
        { expression: "workflow_run_id", maxRuns: 5, limitStrategy: 3 }
      ]
    ])

    const Standalone = Task.make("send-email", {
      input: Schema.Struct({ to: Schema.String }),
      concurrency: { expression: "input.to", limitStrategy: "GROUP_ROUND_ROBIN" }
    })
    const standalone = Either.getOrThrow(compile(specOf(Standalone), "")).request
    expect(standalone.concurrencyArr).toEqual([])
    expect(standalone.tasks[0]!.concurrency).toEqual([{ expression: "input.to", maxRuns: 1, limitStrategy: 3 }])
  })

  it("reports limits without an expression, with a bad maxRuns or an unknown strategy", () => {
    const Bad = Workflow.make("bad-limits", {
      concurrency: [{ expression: " ", limitStrategy: "GROUP_ROUND_ROBIN" }, {
        expression: "input.a",
        limitStrategy: "DROP_NEWEST" as "CANCEL_NEWEST"
      }]
    }).pipe(Workflow.task("a", { concurrency: { expression: "input.a", maxRuns: 0, limitStrategy: "CANCEL_NEWEST" } }))
    expect(issuesOf(Bad)).toEqual([
      `concurrency[0].expression: a CEL expression is required, e.g. "input.userId"`,
      "concurrency[1].limitStrategy: must be one of GROUP_ROUND_ROBIN, CANCEL_IN_PROGRESS, CANCEL_NEWEST, " +
      "CANCEL_QUEUED_EXCEPT_NEWEST, CANCEL_QUEUED_EXCEPT_OLDEST, got DROP_NEWEST",
      "tasks.a.concurrency.maxRuns: must be a positive integer or a CEL expression, got 0"
    ])
  })

  it("a named tenant-scoped limit, maxRuns as an expression and the queue-depth strategies, as the official SDK sends them", () => {
    const Flow = Task.make("debounced", {
      input: Schema.Struct({ doc: Schema.String, tier: Schema.String }),
      concurrency: [
        { expression: "input.doc", limitStrategy: "CANCEL_QUEUED_EXCEPT_NEWEST" },
        {
          expression: "'crm'",
          maxRuns: "input.tier == 'vip' ? 10 : 2",
          limitStrategy: "CANCEL_QUEUED_EXCEPT_OLDEST",
          name: "crm-api",
          isTenantScoped: true
        }
      ]
    })
    expect(Either.getOrThrow(compile(specOf(Flow), "")).request.tasks[0]!.concurrency).toStrictEqual([
      { expression: "input.doc", maxRuns: 1, limitStrategy: 5, name: undefined, isTenantScoped: undefined, maxRunsExpression: undefined },
      {
        expression: "'crm'",
        maxRuns: 1,
        limitStrategy: 6,
        name: "crm-api",
        isTenantScoped: true,
        maxRunsExpression: "input.tier == 'vip' ? 10 : 2"
      }
    ])
    const Bad = Task.make("bad-shared", {
      concurrency: [
        { expression: "input.a", maxRuns: " ", limitStrategy: "GROUP_ROUND_ROBIN", name: "no spaces" },
        { expression: "input.a", limitStrategy: "GROUP_ROUND_ROBIN", isTenantScoped: true }
      ]
    })
    expect(issuesOf(Bad)).toEqual([
      "tasks.bad-shared.concurrency[0].maxRuns: an expression must not be empty",
      `tasks.bad-shared.concurrency[0].name: "no spaces" may only contain letters, digits, ".", "-" and "_"`,
      "tasks.bad-shared.concurrency[1].name: a tenant-scoped limit needs a name"
    ])
  })
})

describe("Workflow rate limits (PutWorkflow request)", () => {
  it("static and dynamic limits as the official SDK sends them; taskDefaults apply", () => {
    const Flow = Workflow.make("calls", {
      input: Schema.Struct({ userId: Schema.String, cost: Schema.Number }),
      taskDefaults: { rateLimits: [{ key: "api" }] }
    }).pipe(
      Workflow.task("plain"),
      Workflow.task("metered", {
        rateLimits: [
          { key: "api", units: 3 },
          { dynamicKey: "input.userId", units: "input.cost", limit: 10, duration: "MINUTE" },
          { dynamicKey: "additional_metadata.tenant", limit: "input.cost * 2" }
        ]
      })
    )
    const tasks = Either.getOrThrow(compile(specOf(Flow), "")).request.tasks
    expect(tasks[0]!.rateLimits).toEqual([
      { key: "api", keyExpr: undefined, units: 1, unitsExpr: undefined, limitValuesExpr: "-1", duration: undefined }
    ])
    expect(tasks[1]!.rateLimits).toEqual([
      { key: "api", keyExpr: undefined, units: 3, unitsExpr: undefined, limitValuesExpr: "-1", duration: undefined },
      { key: "input.userId", keyExpr: "input.userId", units: undefined, unitsExpr: "input.cost", limitValuesExpr: "10", duration: 1 },
      {
        key: "additional_metadata.tenant",
        keyExpr: "additional_metadata.tenant",
        units: 1,
        unitsExpr: undefined,
        limitValuesExpr: "input.cost * 2",
        duration: undefined
      }
    ])
  })

  it("reports empty keys, bad units and limits, and unknown windows", () => {
    const Bad = Workflow.make("bad-rates").pipe(Workflow.task("a", {
      rateLimits: [
        { key: "" },
        { key: "api", units: 0 },
        { dynamicKey: " ", limit: 1.5, duration: "FORTNIGHT" as "WEEK" },
        { dynamicKey: "input.a", key: "api", limit: 1 } as never,
        { key: "say \"hi\"" },
        { key: "a\\tb" },
        { key: "two\nlines" }
      ]
    }))
    expect(issuesOf(Bad)).toEqual([
      "tasks.a.rateLimits[0].key: must be a non-empty string (the key given to Hatchet.putRateLimit)",
      "tasks.a.rateLimits[1].units: must be a positive integer or a CEL expression, got 0",
      `tasks.a.rateLimits[2].dynamicKey: a CEL expression is required, e.g. "input.userId"`,
      "tasks.a.rateLimits[2].limit: must be a positive integer or a CEL expression, got 1.5",
      "tasks.a.rateLimits[2].duration: must be one of SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR, got FORTNIGHT",
      "tasks.a.rateLimits[3]: a rate limit has a key or a dynamicKey, not both",
      `tasks.a.rateLimits[4].key: must not contain a double quote, a backslash or a line break, got "say \\"hi\\""`,
      `tasks.a.rateLimits[5].key: must not contain a double quote, a backslash or a line break, got "a\\\\tb"`,
      `tasks.a.rateLimits[6].key: must not contain a double quote, a backslash or a line break, got "two\\nlines"`
    ])
  })

  it("a sticky strategy is registered as upstream's enum, on workflows and standalone tasks; an unknown one is reported", () => {
    const request = (definition: Workflow.Definition) => Either.getOrThrow(compile(specOf(definition), "")).request
    expect(request(Workflow.make("soft", { sticky: "SOFT" }).pipe(Workflow.task("a"))).sticky).toBe(StickyStrategy.SOFT)
    expect(request(Task.make("hard", { sticky: "HARD" })).sticky).toBe(StickyStrategy.HARD)
    expect(request(Task.make("none")).sticky).toBeUndefined()
    expect(issuesOf(Task.make("bad", { sticky: "FIRM" as "HARD" }))).toEqual([`sticky: must be "SOFT" or "HARD", got "FIRM"`])
  })
})
