/**
 * The client without an engine: fakes record what would be sent.
 */
import type { WorkflowRunEvent } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type { PushEventRequest } from "@effect-hatchet/proto/events/events"
import type { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { WorkerLabelComparator } from "@effect-hatchet/proto/v1/shared/trigger"
import { BulkTriggerWorkflowRequest, type PutRateLimitRequest, RateLimitDuration } from "@effect-hatchet/proto/workflows/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, ConfigProvider, Deferred, Effect, Fiber, Schema, TestClock } from "effect"
import { expectTypeOf } from "vitest"
import type { AdminShape } from "../src/Admin.js"
import type { CreateRequest as CreateCronRequest, CronsShape } from "../src/Crons.js"
import type { EventsShape } from "../src/Events.js"
import type { GrpcTransportShape } from "../src/GrpcTransport.js"
import * as Hatchet from "../src/Hatchet.js"
import * as HatchetConfig from "../src/HatchetConfig.js"
import { GrpcError } from "../src/HatchetError.js"
import * as client from "../src/internal/client.js"
import { failurePayload } from "../src/internal/failure.js"
import * as runResult from "../src/internal/runResult.js"
import * as batching from "../src/internal/triggerBatching.js"
import type { RunListenerShape } from "../src/RunListener.js"
import type { RunsShape } from "../src/Runs.js"
import type { CreateRequest, SchedulesShape } from "../src/Schedules.js"
import * as Task from "../src/Task.js"
import * as TaskContext from "../src/TaskContext.js"
import { TaskFailed } from "../src/TaskError.js"
import * as Workflow from "../src/Workflow.js"
import { finished } from "./support/fakeRunStream.js"
import { testTaskContext } from "./support/taskContext.js"
import { hatchetToken } from "./support/tokens.js"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", { reason: Schema.String }) {}
class GatewayDown extends Schema.TaggedError<GatewayDown>()("GatewayDown", { seconds: Schema.Number }) {}

const OrderFlow = Workflow.make("order-processing", {
  input: Schema.Struct({ orderId: Schema.String, amount: Schema.Number.pipe(Schema.positive()) })
}).pipe(
  Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
  Workflow.task("charge", {
    parents: ["validate"],
    output: Schema.Struct({ chargeId: Schema.String, at: Schema.DateFromString }),
    error: CardDeclined
  }),
  Workflow.onFailure()
)

const Echo = Task.make("echo", { input: Schema.Struct({ text: Schema.String }), output: Schema.Struct({ text: Schema.String }) })
const StickyEcho = Task.make("sticky-echo", { input: Schema.Struct({ text: Schema.String }), sticky: "SOFT" })

const ok = (taskName: string, output: unknown) => ({
  taskRunExternalId: `t-${taskName}`,
  taskName,
  jobRunId: `t-${taskName}`,
  output: JSON.stringify(output)
})
const failed = (taskName: string, error: string) => ({ taskRunExternalId: `t-${taskName}`, taskName, jobRunId: `t-${taskName}`, error })

/** A client over fakes; `results` answers the listener per run id. */
const fakeClient = (options: {
  readonly config?: HatchetConfig.Options
  readonly results?: (runId: string) => WorkflowRunEvent["results"]
  /** The bulk call (0-based) that fails with UNAVAILABLE. */
  readonly failBulkCall?: number
  /** Runs that never finish (their await never returns). */
  readonly unfinished?: boolean
  /** Trigger calls wait for this before answering. */
  readonly triggerGate?: Deferred.Deferred<void>
  /** Completed when a trigger call starts. */
  readonly triggerStarted?: Deferred.Deferred<void>
} = {}) =>
  Effect.gen(function*() {
    const config = yield* HatchetConfig.make({ token: hatchetToken(), tlsStrategy: "none", ...options.config }).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
      Effect.orDie
    )
    const triggered: Array<TriggerWorkflowRequest> = []
    const bulkCalls: Array<ReadonlyArray<TriggerWorkflowRequest>> = []
    const pushed: Array<PushEventRequest> = []
    const bulkPushes: Array<ReadonlyArray<PushEventRequest>> = []
    let nextId = 0
    const rateLimits: Array<PutRateLimitRequest> = []
    const cancelled: Array<ReadonlyArray<string>> = []
    const awaited: Array<string> = []
    const admin = {
      putRateLimit: (request) => Effect.sync(() => void rateLimits.push(request)),
      getRunDetails: () => Effect.succeed({} as Effect.Effect.Success<ReturnType<AdminShape["getRunDetails"]>>),
      cancelTasks: (request) => Effect.sync(() => (cancelled.push(request.externalIds), request.externalIds)),
      triggerWorkflow: (request) =>
        Effect.zipRight(
          Effect.zipRight(
            options.triggerStarted === undefined ? Effect.void : Deferred.succeed(options.triggerStarted, undefined),
            options.triggerGate === undefined ? Effect.void : Deferred.await(options.triggerGate)
          ),
          Effect.sync(() => (triggered.push(request), `run-${nextId++}`))
        ),
      bulkTriggerWorkflow: (requests) =>
        options.failBulkCall === bulkCalls.length
          ? Effect.fail(new GrpcError({ method: "/WorkflowService/BulkTriggerWorkflow", code: 14, details: "unavailable" }))
          : Effect.sync(() => {
            bulkCalls.push(requests)
            return requests.map(() => `run-${nextId++}`)
          })
    } as Partial<AdminShape> as AdminShape
    const toEvent = (request: PushEventRequest) => ({
      tenantId: "t",
      eventId: `e-${nextId++}`,
      key: request.key,
      payload: request.payload,
      eventTimestamp: request.eventTimestamp,
      additionalMetadata: request.additionalMetadata
    })
    const events = {
      push: (request) => Effect.sync(() => (pushed.push(request), toEvent(request))),
      bulkPush: (requests) => Effect.sync(() => (bulkPushes.push(requests), requests.map(toEvent)))
    } as Partial<EventsShape> as EventsShape
    const listener: RunListenerShape = {
      subscribe: (runId) => Effect.succeed(listener.await(runId)),
      await: (runId) =>
        options.unfinished === true
          ? Effect.zipRight(Effect.sync(() => awaited.push(runId)), Effect.never)
          : Effect.succeed(finished(runId, options.results?.(runId) ?? [])),
      pending: Effect.succeed(0),
      connections: Effect.succeed(0)
    }
    const scheduled: Array<{ readonly workflowName: string; readonly request: CreateRequest }> = []
    const schedules = {
      create: (workflowName, request) =>
        Effect.sync(() => {
          scheduled.push({ workflowName, request })
          return {
            metadata: { id: `s-${nextId++}` },
            workflowId: "w",
            workflowName,
            triggerAt: request.triggerAt,
            method: "API"
          }
        })
    } as Partial<SchedulesShape> as SchedulesShape
    const cronsCreated: Array<{ readonly workflowName: string; readonly request: CreateCronRequest }> = []
    const crons = {
      create: (workflowName, request) =>
        Effect.sync(() => {
          cronsCreated.push({ workflowName, request })
          return {
            metadata: { id: `c-${nextId++}` },
            workflowId: "w",
            workflowName,
            cron: request.expression,
            name: request.name,
            enabled: true,
            method: "API"
          }
        })
    } as Partial<CronsShape> as CronsShape
    const hatchet = client.make({
      config,
      admin,
      events,
      listener,
      transport: {} as GrpcTransportShape,
      runs: {} as RunsShape,
      schedules,
      crons
    })
    /** Waits until `n` runs are awaited in all (other fibers run meanwhile). */
    const awaiting = (n: number) =>
      Effect.gen(function*() {
        for (let i = 0; i < 1000 && awaited.length < n; i++) yield* Effect.yieldNow()
        if (awaited.length < n) return yield* Effect.dieMessage(`${awaited.length} runs awaited, not ${n}`)
      })
    return { hatchet, triggered, bulkCalls, pushed, bulkPushes, scheduled, cronsCreated, rateLimits, cancelled, awaiting }
  })

/** A TaskContext as the worker would give a task attempt. */
const taskContext = (retryCount = 0) =>
  testTaskContext({
    workflowName: "parent",
    taskName: "spawn",
    action: "parent:spawn",
    workflowRunId: "parent-run",
    taskRunExternalId: "parent-task",
    workerId: "worker-1",
    retryCount
  })

/* eslint-disable @typescript-eslint/no-unused-vars -- type-level tests: values read only by `typeof` */
describe("types", () => {
  it("results and failures are typed by the definition", () => {
    const run = Hatchet.run(OrderFlow, { orderId: "o", amount: 1 })
    expectTypeOf<Effect.Effect.Success<typeof run>>().toEqualTypeOf<{
      readonly validate: { readonly valid: boolean }
      readonly charge: { readonly chargeId: string; readonly at: Date }
    }>()
    expectTypeOf<Effect.Effect.Error<typeof run>>().toEqualTypeOf<
      CardDeclined | TaskFailed | Hatchet.HatchetClientError | GrpcError
    >()
    const echo = Hatchet.run(Echo, { text: "" })
    expectTypeOf<Effect.Effect.Success<typeof echo>>().toEqualTypeOf<{ readonly text: string }>()
    expectTypeOf<Effect.Effect.Error<typeof echo>>().toEqualTypeOf<TaskFailed | Hatchet.HatchetClientError | GrpcError>()
    // @ts-expect-error: the input is typed by the definition
    Hatchet.run(Echo, { txt: "" })
  })

  it("a declared error is caught by its tag, and narrowed", () => {
    const caught = Hatchet.run(OrderFlow, { orderId: "o", amount: 1 }).pipe(
      Effect.catchTag("CardDeclined", (declined) => {
        expectTypeOf(declined).toEqualTypeOf<CardDeclined>()
        return Effect.succeed(declined.reason)
      })
    )
    expectTypeOf<Effect.Effect.Error<typeof caught>>().toEqualTypeOf<TaskFailed | Hatchet.HatchetClientError | GrpcError>()
    // a handle's result too, and a standalone task's declared error
    const Charge = Task.make("charge-card", { output: Schema.String, error: Schema.Union(CardDeclined, GatewayDown) })
    const viaHandle = Effect.flatMap(Hatchet.runNoWait(Charge, {}), (handle) => handle.result).pipe(
      Effect.catchTag("GatewayDown", (down) => Effect.succeed(`down for ${down.seconds}s`))
    )
    expectTypeOf<Effect.Effect.Error<typeof viaHandle>>().toEqualTypeOf<
      CardDeclined | TaskFailed | Hatchet.HatchetClientError | GrpcError
    >()
    const many = Hatchet.runMany(Charge, [{}]).pipe(Effect.catchTag("CardDeclined", () => Effect.succeed([])))
    expectTypeOf<Effect.Effect.Error<typeof many>>().toEqualTypeOf<
      GatewayDown | TaskFailed | Hatchet.HatchetClientError | GrpcError
    >()
  })

  it("a tag that no task declares does not compile", () => {
    Hatchet.run(OrderFlow, { orderId: "o", amount: 1 }).pipe(
      // @ts-expect-error: no task of OrderFlow declares GatewayDown
      Effect.catchTag("GatewayDown", () => Effect.void)
    )
    Hatchet.run(Echo, { text: "" }).pipe(
      // @ts-expect-error: Echo declares no error
      Effect.catchTag("CardDeclined", () => Effect.void)
    )
  })

  it("catchTags over the whole union is exhaustive", () => {
    const handled = Hatchet.run(OrderFlow, { orderId: "o", amount: 1 }).pipe(
      Effect.catchTags({
        CardDeclined: (declined) => Effect.succeed(`declined: ${declined.reason}`),
        TaskFailed: (failed) => Effect.succeed(`${failed.taskName} ${failed.kind}`),
        HatchetClientError: (error) => Effect.succeed(error.reason),
        GrpcError: (error) => Effect.succeed(error.status)
      })
    )
    expectTypeOf<Effect.Effect.Error<typeof handled>>().toEqualTypeOf<never>()
    // the on-failure and on-success hooks' declared errors are part of the union too
    const Hooked = Workflow.make("hooked").pipe(
      Workflow.task("a"),
      Workflow.onSuccess({ error: GatewayDown })
    )
    expectTypeOf<Effect.Effect.Error<ReturnType<typeof Hatchet.run<typeof Hooked>>>>().toEqualTypeOf<
      GatewayDown | TaskFailed | Hatchet.HatchetClientError | GrpcError
    >()
  })
})
/* eslint-enable @typescript-eslint/no-unused-vars */

describe("planBatches", () => {
  it("at most 500 items per batch", () => {
    const batches = batching.planBatches(Array.from({ length: 1200 }, () => 10), batching.MAX_BULK_TRIGGER, 4 * 1024 * 1024)
    expect(batches).toEqual([{ start: 0, end: 500 }, { start: 500, end: 1000 }, { start: 1000, end: 1200 }])
  })

  it("at most maxBytes per batch, counting each item's field framing", () => {
    // each item costs 1 (tag) + 2 (length varint) + 1000 bytes
    const batches = batching.planBatches([1000, 1000, 1000, 1000, 1000, 1000, 1000], 500, 4000)
    expect(batches).toEqual([{ start: 0, end: 3 }, { start: 3, end: 6 }, { start: 6, end: 7 }])
    expect(batching.itemBytes(1000)).toBe(1003)
  })

  it("an item that alone exceeds the limit gets its own batch; no input, no batch", () => {
    expect(batching.planBatches([10, 5000, 10], 500, 4000)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 2 },
      { start: 2, end: 3 }
    ])
    expect(batching.planBatches([], 500, 4000)).toEqual([])
  })
})

describe("decodeResult", () => {
  it("decodes each task's output with its Schema", () =>
    Effect.gen(function*() {
      const result = yield* runResult.decodeResult(OrderFlow, "r", [
        ok("validate", { valid: true }),
        ok("charge", { chargeId: "c-1", at: "2030-01-01T00:00:00.000Z" }),
        failed("on-failure-task", "") // not run: the run did not fail
      ])
      expect(result).toEqual({ validate: { valid: true }, charge: { chargeId: "c-1", at: new Date(Date.UTC(2030, 0, 1)) } })
    }).pipe(Effect.runPromise))

  it("a standalone task's result is its output", () =>
    Effect.gen(function*() {
      expect(yield* runResult.decodeResult(Echo, "r", [ok("echo", { text: "hi" })])).toEqual({ text: "hi" })
    }).pipe(Effect.runPromise))

  it("failures come back typed: the declared error, TaskFailed for the rest, every one in the cause", () =>
    Effect.gen(function*() {
      const decoded = runResult.decodeResult(OrderFlow, "run-9", [
        ok("validate", { valid: false }),
        failed("on-failure-task", JSON.stringify({ message: "hook failed", stack: "at hook" })),
        failed("charge", failurePayload("Failure", "CardDeclined: expired", { error: { _tag: "CardDeclined", reason: "expired" } }))
      ])
      // the first failure, in definition order, is what catchTag and either see
      const error = yield* Effect.flip(decoded)
      expect(error).toBeInstanceOf(CardDeclined)
      expect(error).toMatchObject({ reason: "expired" })
      // all of them are in the cause
      const cause = yield* Effect.flip(Effect.sandbox(decoded))
      const all = Chunk.toArray(Cause.failures(cause))
      expect(all).toHaveLength(2)
      expect(all[0]).toBeInstanceOf(CardDeclined)
      expect(all[1]).toBeInstanceOf(TaskFailed)
      expect(all[1]).toMatchObject({ taskName: "on-failure-task", kind: "Unknown", message: "hook failed", stack: "at hook" })
    }).pipe(Effect.runPromise))

  it("failures come before cancellations (a cancelled descendant of a failed task, a cancelled run)", () =>
    Effect.gen(function*() {
      const Chain = Workflow.make("chain").pipe(
        Workflow.task("a"),
        Workflow.task("b", { parents: ["a"], error: CardDeclined }),
        Workflow.task("c", { parents: ["b"] })
      )
      const decoded = runResult.decodeResult(Chain, "r", [
        failed("a", ""),
        failed("c", ""),
        failed("b", failurePayload("Failure", "CardDeclined", { error: { _tag: "CardDeclined", reason: "x" } }))
      ])
      const all = Chunk.toArray(Cause.failures(yield* Effect.flip(Effect.sandbox(decoded))))
      expect(all.map((e) => e instanceof TaskFailed ? `${e.taskName}:${e.kind}` : (e as CardDeclined)._tag)).toEqual([
        "CardDeclined",
        "a:Cancelled",
        "c:Cancelled"
      ])
      const cancelled = yield* Effect.flip(runResult.decodeResult(Echo, "r", [failed("echo", "")]))
      expect(cancelled).toMatchObject({ _tag: "TaskFailed", taskName: "echo", kind: "Cancelled" })
    }).pipe(Effect.runPromise))

  it("an output that does not decode names the task and the field; a missing result is MissingResult", () =>
    Effect.gen(function*() {
      const clientError = (results: Parameters<typeof runResult.decodeResult>[2]) =>
        Effect.map(Effect.flip(runResult.decodeResult(OrderFlow, "r", results)), (error) => error as Hatchet.HatchetClientError)
      const invalid = yield* clientError([
        ok("validate", { valid: true }),
        ok("charge", { chargeId: 7, at: "2030-01-01T00:00:00.000Z" })
      ])
      expect(invalid).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidOutput", runId: "r" })
      expect(invalid.message).toContain(`task "charge"`)
      expect(invalid.message).toContain("chargeId")
      const missing = yield* clientError([ok("validate", { valid: true })])
      expect(missing).toMatchObject({ _tag: "HatchetClientError", reason: "MissingResult" })
      expect(missing.message).toContain(`"charge"`)
      const none = yield* Effect.flip(runResult.decodeResult(OrderFlow, "r", []))
      expect(none).toMatchObject({ _tag: "HatchetClientError", reason: "MissingResult" })
    }).pipe(Effect.runPromise))
})

describe("Hatchet client (fakes)", () => {
  it.effect("run: the namespaced, lowercased name, the encoded input, metadata and priority; typed result", () =>
    Effect.gen(function*() {
      const { hatchet, triggered } = yield* fakeClient({
        config: { namespace: "Staging" },
        results: () => [ok("validate", { valid: true }), ok("charge", { chargeId: "c", at: "2030-01-01T00:00:00.000Z" })]
      })
      const result = yield* hatchet.run(OrderFlow, { orderId: "o", amount: 5 }, {
        additionalMetadata: { team: "payments" },
        priority: 3,
        desiredWorkerLabels: { model: "llama", gpus: { value: 2, comparator: "GREATER_THAN_OR_EQUAL", required: true, weight: 5 } }
      })
      expect(result.charge.at).toBeInstanceOf(Date)
      expect(triggered).toEqual([{
        name: "staging_order-processing",
        input: JSON.stringify({ orderId: "o", amount: 5 }),
        additionalMetadata: JSON.stringify({ team: "payments" }),
        priority: 3,
        desiredWorkerLabels: {
          model: { strValue: "llama" },
          gpus: { intValue: 2, comparator: WorkerLabelComparator.GREATER_THAN_OR_EQUAL, required: true, weight: 5 }
        }
      }])
    }))

  it.effect("schedule: the namespaced name, the encoded input as an object, the time, metadata and priority; bad ones fail typed", () =>
    Effect.gen(function*() {
      const { hatchet, scheduled } = yield* fakeClient({ config: { namespace: "Staging" } })
      const at = new Date("2030-01-01T10:00:00.000Z")
      const created = yield* hatchet.schedule(OrderFlow, { orderId: "o", amount: 5 }, {
        at,
        additionalMetadata: { team: "payments" },
        priority: 2
      })
      expect(created.metadata.id).toBe("s-0")
      expect(scheduled).toEqual([{
        workflowName: "staging_order-processing",
        request: {
          input: { orderId: "o", amount: 5 },
          triggerAt: at,
          // the key Hatchet.scheduledRun finds the run by, once the engine started it
          additionalMetadata: { team: "payments", effect_hatchet__schedule: expect.stringMatching(/^[0-9a-f-]{36}$/) },
          priority: 2
        }
      }])

      const input = yield* Effect.flip(hatchet.schedule(OrderFlow, { orderId: "o", amount: -1 }, { at }))
      expect(input).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      const when = yield* Effect.flip(hatchet.schedule(Echo, { text: "" }, { at: new Date(Number.NaN) }))
      expect(when).toMatchObject({ reason: "InvalidOptions" })
      expect(when.message).toContain("at must be a valid Date")
      const priority = yield* Effect.flip(hatchet.schedule(Echo, { text: "" }, { at, priority: 7 as 1 }))
      expect(priority).toMatchObject({ reason: "InvalidOptions" })
      const Scalar = Task.make("scalar", { input: Schema.String })
      const scalar = yield* Effect.flip(hatchet.schedule(Scalar, "text", { at }))
      expect(scalar.message).toContain("must encode to a JSON object")
      expect(scheduled).toHaveLength(1)
    }))

  it.effect("cron: the namespaced name, the crontab, the encoded input as an object; a bad name or crontab fails typed", () =>
    Effect.gen(function*() {
      const { cronsCreated, hatchet } = yield* fakeClient({ config: { namespace: "Staging" } })
      const created = yield* hatchet.cron(OrderFlow, { orderId: "o", amount: 5 }, {
        name: "nightly",
        expression: "0 2 * * *",
        additionalMetadata: { team: "payments" },
        priority: 3
      })
      expect(created).toMatchObject({ metadata: { id: "c-0" }, cron: "0 2 * * *", name: "nightly" })
      expect(cronsCreated).toEqual([{
        workflowName: "staging_order-processing",
        request: {
          name: "nightly",
          expression: "0 2 * * *",
          input: { orderId: "o", amount: 5 },
          additionalMetadata: { team: "payments" },
          priority: 3
        }
      }])

      const bad = yield* Effect.flip(hatchet.cron(Echo, { text: "" }, { name: " ", expression: "61 * * * *" }))
      expect(bad).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidOptions" })
      expect(bad.message).toContain("name must not be empty")
      expect(bad.message).toContain("\"61 * * * *\" is not a valid cron expression")
      const fields = yield* Effect.flip(hatchet.cron(Echo, { text: "" }, { name: "n", expression: "* * *" }))
      expect(fields.message).toContain("expected 5 to 6 fields (minute hour day-of-month month day-of-week, or seconds first), found 3")
      // Hatchet's grammar, shared with the local engine: weekday 7 is refused, a zone prefix taken
      const sunday = yield* Effect.flip(hatchet.cron(Echo, { text: "" }, { name: "n", expression: "0 9 * * 7" }))
      expect(sunday.message).toContain("end of range (7) above maximum (6): 7")
      yield* hatchet.cron(Echo, { text: "" }, { name: "zoned", expression: "TZ=UTC 0 9 * * 0" })
      const input = yield* Effect.flip(hatchet.cron(OrderFlow, { orderId: "o", amount: -1 }, { name: "n", expression: "* * * * *" }))
      expect(input).toMatchObject({ reason: "InvalidInput" })
      expect(cronsCreated.map((created) => created.request.expression)).toEqual(["0 2 * * *", "TZ=UTC 0 9 * * 0"])
    }))

  it.effect("bad input, options or definitions fail typed and send nothing", () =>
    Effect.gen(function*() {
      const { bulkCalls, hatchet, triggered } = yield* fakeClient()
      const input = yield* Effect.flip(hatchet.runNoWait(OrderFlow, { orderId: "o", amount: -1 }))
      expect(input).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      expect(input.message).toContain("amount")
      const many = yield* Effect.flip(
        hatchet.runManyNoWait(OrderFlow, [{ orderId: "a", amount: 1 }, { orderId: "b", amount: 2 }, { orderId: "c", amount: 0 }])
      )
      expect(many.message).toContain("[2]")
      const priority = yield* Effect.flip(hatchet.runNoWait(Echo, { text: "" }, { priority: 5 as 1 }))
      expect(priority).toMatchObject({ reason: "InvalidOptions" })
      const key = yield* Effect.flip(hatchet.runNoWait(Echo, { text: "" }, { key: "k" }))
      expect(key).toMatchObject({ reason: "InvalidOptions" })
      expect(key.message).toContain("inside a task")
      const sticky = yield* Effect.flip(
        hatchet.runNoWait(Echo, { text: "" }, { sticky: true }).pipe(Effect.provideServiceEffect(TaskContext.TaskContext, taskContext()))
      )
      expect(sticky.message).toBe(
        `Invalid run options: sticky has no effect: workflow "echo" declares no sticky strategy (sticky: "SOFT" or "HARD")`
      )
      const labels = yield* Effect.flip(
        hatchet.runNoWait(Echo, { text: "" }, { desiredWorkerLabels: { gpus: { value: 1, comparator: "ABOUT" as "EQUAL" } } })
      )
      expect(labels.message).toContain(`desiredWorkerLabels.gpus.comparator: unknown comparator "ABOUT"`)
      const Bad = Task.make("bad name!")
      const definition = yield* Effect.flip(hatchet.runNoWait(Bad, {}))
      expect(definition).toMatchObject({ reason: "InvalidDefinition" })
      expect(triggered).toEqual([])
      expect(bulkCalls).toEqual([])
    }))

  it.effect("runManyNoWait: 1,200 runs in batches of 500, run ids in input order", () =>
    Effect.gen(function*() {
      const { bulkCalls, hatchet } = yield* fakeClient()
      const handles = yield* hatchet.runManyNoWait(Echo, Array.from({ length: 1200 }, (_, i) => ({ text: `${i}` })))
      expect(bulkCalls.map((call) => call.length)).toEqual([500, 500, 200])
      expect(handles.map((h) => h.runId)).toEqual(Array.from({ length: 1200 }, (_, i) => `run-${i}`))
      expect(bulkCalls.flat().map((request) => JSON.parse(request.input).text)).toEqual(
        Array.from({ length: 1200 }, (_, i) => `${i}`)
      )
      expect(yield* hatchet.runManyNoWait(Echo, [])).toEqual([])
      expect(bulkCalls).toHaveLength(3)
    }))

  it.effect("runManyNoWait: a batch failing after others were accepted says which runs exist", () =>
    Effect.gen(function*() {
      const first = yield* fakeClient({ failBulkCall: 0 })
      const plain = yield* Effect.flip(first.hatchet.runManyNoWait(Echo, Array.from({ length: 600 }, () => ({ text: "" }))))
      expect(plain._tag).toBe("GrpcError")
      const second = yield* fakeClient({ failBulkCall: 1 })
      const partial = yield* Effect.flip(second.hatchet.runManyNoWait(Echo, Array.from({ length: 1200 }, () => ({ text: "" }))))
      expect(partial).toMatchObject({ _tag: "HatchetClientError", reason: "PartiallyTriggered" })
      if (partial._tag !== "HatchetClientError") return
      expect(partial.runIds).toEqual(Array.from({ length: 500 }, (_, i) => `run-${i}`))
      expect(partial.cause).toBeInstanceOf(GrpcError)
      expect(partial.message).toContain("500 of 1200")
    }))

  it.effect("runManyNoWait: batches also fit the gRPC send limit; an input that cannot fit is refused", () =>
    Effect.gen(function*() {
      const limit = 20_000
      const { bulkCalls, hatchet, triggered } = yield* fakeClient({ config: { grpcMaxSendMessageLength: limit } })
      const text = "x".repeat(1_000)
      yield* hatchet.runManyNoWait(Echo, Array.from({ length: 100 }, () => ({ text })))
      expect(bulkCalls.length).toBeGreaterThan(1)
      expect(bulkCalls.flat()).toHaveLength(100)
      for (const call of bulkCalls) {
        expect(BulkTriggerWorkflowRequest.encode({ workflows: [...call] }).finish().length).toBeLessThanOrEqual(limit)
      }
      const before = bulkCalls.length
      const big = yield* Effect.flip(hatchet.runManyNoWait(Echo, [{ text: "ok" }, { text: "y".repeat(limit) }]))
      expect(big).toMatchObject({ _tag: "HatchetClientError", reason: "PayloadTooLarge" })
      expect(big.message).toContain("[1]")
      const single = yield* Effect.flip(hatchet.runNoWait(Echo, { text: "y".repeat(limit) }))
      expect(single).toMatchObject({ reason: "PayloadTooLarge" })
      expect(bulkCalls).toHaveLength(before)
      expect(triggered).toEqual([])
    }))

  it.effect("inside a task: children with the parent's ids and a per-attempt index; keys; detached runs", () =>
    Effect.gen(function*() {
      const { bulkCalls, hatchet, triggered } = yield* fakeClient()
      const spawn = Effect.gen(function*() {
        yield* hatchet.runNoWait(Echo, { text: "a" })
        yield* hatchet.runNoWait(StickyEcho, { text: "b" }, { key: "bee", sticky: true })
        yield* hatchet.runManyNoWait(Echo, [{ text: "c" }, { text: "d" }])
        yield* hatchet.runNoWait(Echo, { text: "e" }, { detached: true })
        yield* hatchet.runNoWait(Echo, { text: "f" })
      })
      yield* Effect.provideServiceEffect(spawn, TaskContext.TaskContext, taskContext(0))
      const children = [...triggered, ...bulkCalls.flat()].filter((r) => r.parentId !== undefined)
      const byText = (text: string) => [...triggered, ...bulkCalls.flat()].find((r) => JSON.parse(r.input).text === text)!
      expect(children).toHaveLength(5)
      for (const child of children) {
        expect(child.parentId).toBe("parent-run")
        expect(child.parentTaskRunExternalId).toBe("parent-task")
      }
      expect(["a", "b", "c", "d", "f"].map((t) => byText(t).childIndex)).toEqual([0, 1, 2, 3, 4])
      expect(byText("b").childKey).toBe("bee")
      expect(byText("b").desiredWorkerId).toBe("worker-1")
      expect(byText("e")).toEqual({ name: "echo", input: JSON.stringify({ text: "e" }), desiredWorkerLabels: {} })

      // a retried attempt starts again at 0: the same spawns get the same indices (engine dedupe)
      triggered.length = 0
      bulkCalls.length = 0
      yield* Effect.provideServiceEffect(spawn, TaskContext.TaskContext, taskContext(1))
      expect(["a", "b", "c", "d", "f"].map((t) => byText(t).childIndex)).toEqual([0, 1, 2, 3, 4])
    }))

  it.effect("concurrent spawns in one attempt get distinct indices", () =>
    Effect.gen(function*() {
      const { hatchet, triggered } = yield* fakeClient()
      yield* Effect.all(
        Array.from({ length: 20 }, (_, i) => hatchet.runNoWait(Echo, { text: `${i}` })),
        { concurrency: "unbounded" }
      ).pipe(Effect.provideServiceEffect(TaskContext.TaskContext, taskContext()))
      expect(triggered.map((r) => r.childIndex).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    }))

  it.effect("push: namespaced key, JSON payload, metadata; inside a task the source ids are added", () =>
    Effect.gen(function*() {
      const { hatchet, pushed } = yield* fakeClient({ config: { namespace: "ns" } })
      const event = yield* hatchet.push("user:Created", { id: 1 }, { additionalMetadata: { a: "b" }, priority: 2, scope: "s" })
      expect(event.key).toBe("ns_user:Created")
      expect(event.additionalMetadata).toEqual({ a: "b" })
      expect(pushed[0]).toMatchObject({ key: "ns_user:Created", payload: "{\"id\":1}", priority: 2, scope: "s" })
      yield* hatchet.push("k", "text").pipe(Effect.provideServiceEffect(TaskContext.TaskContext, taskContext()))
      expect(JSON.parse(pushed[1]!.additionalMetadata!)).toEqual({
        hatchet__source_workflow_run_id: "parent-run",
        hatchet__source_step_run_id: "parent-task"
      })
      const notJson = yield* Effect.flip(hatchet.push("k", { n: BigInt(1) }))
      expect(notJson).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidInput" })
      expect(pushed).toHaveLength(2)
    }))

  it.effect("putRateLimit: key, limit and window (SECOND by default); bad options send nothing", () =>
    Effect.gen(function*() {
      const { hatchet, rateLimits } = yield* fakeClient()
      yield* hatchet.putRateLimit({ key: "api", limit: 100, duration: "MINUTE" })
      yield* hatchet.putRateLimit({ key: "emails", limit: 0 })
      expect(rateLimits).toEqual([
        { key: "api", limit: 100, duration: RateLimitDuration.MINUTE },
        { key: "emails", limit: 0, duration: RateLimitDuration.SECOND }
      ])
      const bad = yield* Effect.flip(hatchet.putRateLimit({ key: " ", limit: 1.5, duration: "FORTNIGHT" as "WEEK" }))
      expect(bad).toMatchObject({ _tag: "HatchetClientError", reason: "InvalidOptions" })
      expect(bad.message).toBe(
        "Invalid rate limit: key must be a non-empty string; limit must be an integer of 0 or more, got 1.5; unknown duration FORTNIGHT"
      )
      expect(rateLimits).toHaveLength(2)
    }))

  it.effect("interrupting run cancels the run on the engine; cancelOnInterrupt: false leaves it", () =>
    Effect.gen(function*() {
      const { awaiting, cancelled, hatchet } = yield* fakeClient({ unfinished: true })
      const timedOut = yield* hatchet.run(Echo, { text: "" }).pipe(Effect.timeout("1 second"), Effect.fork)
      yield* awaiting(1)
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(timedOut))).toMatchObject({ _tag: "TimeoutException" })
      expect(cancelled).toEqual([["run-0"]])

      const interruptAwaiting = <A, E>(n: number, effect: Effect.Effect<A, E>) =>
        Effect.flatMap(Effect.fork(effect), (fiber) => Effect.zipRight(awaiting(n), Fiber.interrupt(fiber)))
      yield* interruptAwaiting(2, hatchet.run(Echo, { text: "" }, { cancelOnInterrupt: false }))
      // a handle's result: cancelled unless the run was triggered with cancelOnInterrupt: false
      const handle = yield* hatchet.runNoWait(Echo, { text: "" })
      yield* interruptAwaiting(3, handle.result)
      const keptHandle = yield* hatchet.runNoWait(Echo, { text: "" }, { cancelOnInterrupt: false })
      yield* interruptAwaiting(4, keptHandle.result)
      // a handle of a run triggered elsewhere: left going unless asked
      yield* interruptAwaiting(5, hatchet.handle(Echo, "elsewhere-1").result)
      yield* interruptAwaiting(6, hatchet.handle(Echo, "elsewhere-2", { cancelOnInterrupt: true }).result)
      expect(cancelled).toEqual([["run-0"], ["run-2"], ["elsewhere-2"]])
    }))

  it.effect("interrupted while the trigger call is in flight: the run is cancelled once the engine answers", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const { cancelled, hatchet, triggered } = yield* fakeClient({ unfinished: true, triggerGate: gate, triggerStarted: started })
      const fiber = yield* Effect.fork(hatchet.run(Echo, { text: "" }))
      yield* Deferred.await(started)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      expect(cancelled).toEqual([])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      expect(triggered).toHaveLength(1)
      expect(cancelled).toEqual([["run-0"]])
    }))

  it.effect("runMany: interrupted, its runs are cancelled in one call; otherwise every failure once all finished", () =>
    Effect.gen(function*() {
      const pending = yield* fakeClient({ unfinished: true })
      const fiber = yield* Effect.fork(pending.hatchet.runMany(Echo, [{ text: "a" }, { text: "b" }, { text: "c" }]))
      yield* pending.awaiting(3)
      yield* Fiber.interrupt(fiber)
      expect(pending.cancelled).toEqual([["run-0", "run-1", "run-2"]])

      const declined = failurePayload("Failure", "CardDeclined", { error: { _tag: "CardDeclined", reason: "odd" } })
      const Half = Task.make("half", { input: Schema.Struct({ n: Schema.Number }), output: Schema.Number, error: CardDeclined })
      const { hatchet } = yield* fakeClient({
        results: (runId) => Number(runId.slice(4)) % 2 === 0 ? [ok("half", 1)] : [failed("half", declined)]
      })
      const cause = yield* Effect.flip(Effect.sandbox(hatchet.runMany(Half, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }])))
      const all = Chunk.toArray(Cause.failures(cause))
      expect(all).toHaveLength(2)
      expect(all.every((e) => e instanceof CardDeclined)).toBe(true)
    }))

  it.effect("inside a task: an awaited child is cancelled with its task, but not a detached run, nor a retried attempt's child", () =>
    Effect.gen(function*() {
      const { awaiting, cancelled, hatchet } = yield* fakeClient({ unfinished: true })
      let retried = false
      const context = testTaskContext({}, { interruptedForRetry: Effect.sync(() => retried) })
      const spawn = (options?: Hatchet.RunOptions) =>
        hatchet.run(Echo, { text: "" }, options).pipe(Effect.provideServiceEffect(TaskContext.TaskContext, context), Effect.fork)
      const child = yield* spawn()
      const detached = yield* spawn({ detached: true })
      const detachedCancelled = yield* spawn({ detached: true, cancelOnInterrupt: true })
      yield* awaiting(3)
      yield* Fiber.interruptAll([child, detached, detachedCancelled])
      expect(cancelled.flat().sort()).toEqual(["run-0", "run-2"])
      retried = true
      const retriedChild = yield* spawn()
      yield* awaiting(4)
      yield* Fiber.interrupt(retriedChild)
      expect(cancelled.flat().sort()).toEqual(["run-0", "run-2"])
    }))

  it.effect("bulkPush: chunks of at most 1,000 events, in order; a bad event sends nothing", () =>
    Effect.gen(function*() {
      const { bulkPushes, hatchet } = yield* fakeClient()
      const events: Array<Hatchet.EventToPush> = Array.from({ length: 2500 }, (_, i) => ({ key: "k", payload: { i } }))
      const pushed = yield* hatchet.bulkPush(events)
      expect(bulkPushes.map((chunk) => chunk.length)).toEqual([1000, 1000, 500])
      expect(pushed.map((e) => JSON.parse(e.payload).i)).toEqual(Array.from({ length: 2500 }, (_, i) => i))
      const bad = yield* Effect.flip(hatchet.bulkPush([{ key: "k", payload: 1 }, { key: "", payload: 2 }]))
      expect(bad).toMatchObject({ reason: "InvalidOptions" })
      expect(bad.message).toContain("[1]")
      expect(bulkPushes).toHaveLength(3)
    }))
})
