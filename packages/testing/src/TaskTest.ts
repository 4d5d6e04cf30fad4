/**
 * Run one task with a given input, parent outputs and services, and no engine at all (the
 * TypeScript counterpart of the Python SDK's `mock_run`).
 *
 * The task runs exactly as on a worker: the input and parent outputs are Schema-encoded to the
 * JSON the engine would deliver, decoded again by the task's Schemas, the handler runs with a
 * `TaskContext`, and its output (or failure) is encoded to what the worker would send, then
 * decoded the way a client would see it. Log lines and stream chunks are captured.
 *
 * The handler's implementation and its services come from the context: provide the definition's
 * `toLayer` layer and whatever it needs.
 *
 * @example
 * ```ts
 * import { it, expect } from "@effect/vitest"
 * import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
 * import { Workflow } from "@effect-hatchet/sdk"
 * import { TaskTest } from "@effect-hatchet/testing"
 *
 * class Payments extends Context.Tag("Payments")<Payments, { readonly charge: (orderId: string) => Effect.Effect<string> }>() {}
 * const PaymentsTest = Layer.succeed(Payments, { charge: () => Effect.succeed("ch-1") })
 *
 * const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
 * const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
 *   Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
 *   Workflow.task("charge", { parents: ["validate"], output: Schema.Struct({ chargeId: Schema.String }) })
 * )
 * const OrderFlowLive = OrderFlow.toLayer({
 *   validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
 *   charge: (input) =>
 *     Effect.gen(function*() {
 *       yield* Effect.log(`charging ${input.orderId}`)
 *       return { chargeId: yield* Effect.flatMap(Payments, (payments) => payments.charge(input.orderId)) }
 *     })
 * })
 *
 * it.effect("charges a valid order", () =>
 *   Effect.gen(function*() {
 *     const run = yield* TaskTest.run(OrderFlow, "charge", {
 *       input: { orderId: "o-1", amount: 42 },
 *       parents: { validate: { valid: true } }
 *     })
 *     expect(run.exit).toEqual(Exit.succeed({ chargeId: "ch-1" }))
 *     expect(run.logs.map((l) => l.message)).toContain("charging o-1")
 *   }).pipe(Effect.provide(OrderFlowLive), Effect.provide(PaymentsTest)))
 * ```
 *
 * @since 0.1.0
 */
import { DurableContext } from "@effect-hatchet/sdk/DurableContext"
import type { DurableTask, Task } from "@effect-hatchet/sdk/Task"
import * as TaskContext from "@effect-hatchet/sdk/TaskContext"
import type { TaskFailed } from "@effect-hatchet/sdk/TaskError"
import * as TaskExecution from "@effect-hatchet/sdk/TaskExecution"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import { implementation } from "@effect-hatchet/sdk/Workflow"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import { encodeActionPayload } from "./internal/actionPayload.js"
import * as durableTest from "./internal/durableTestContext.js"

/**
 * What a test run produced.
 *
 * @since 0.1.0
 * @category models
 */
export interface Run<A, E> {
  /**
   * As a client would see it: the output decoded from what the worker would send, or the failure
   * decoded to the task's typed error or `TaskFailed`; interrupted when the task was cancelled.
   */
  readonly exit: Exit.Exit<A, E | TaskFailed>
  /** What the worker would report: the COMPLETED / FAILED payload and `should_not_retry`. */
  readonly outcome: TaskExecution.Outcome
  readonly logs: ReadonlyArray<TaskExecution.LogLine>
  /** Stream chunks, in `event_index` order. */
  readonly stream: ReadonlyArray<Uint8Array>
  /** Go-style durations passed to `refreshTimeout`. */
  readonly refreshedTimeouts: ReadonlyArray<string>
  readonly releasedSlot: boolean
  /** Whether the task cancelled itself. */
  readonly cancelled: boolean
  /** The labels the task set on its worker with `upsertLabels`, merged. */
  readonly upsertedLabels: Readonly<Record<string, string | number>>
  /** For a durable task, what its `DurableContext` did; `undefined` for any other task. */
  readonly durable: DurableRecord | undefined
}

/**
 * An event a durable task's waits may receive (as if pushed with `Hatchet.push`): its key, its
 * payload as JSON (it is decoded with the wait's Schema, so a payload that does not decode fails
 * the wait as on a worker) and its scope.
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableEvent = durableTest.DurableEvent

/**
 * How a durable task runs (`durable` in the run options):
 *
 * - `events`: events that arrive while the task waits; `eventQueue`: a queue the test offers
 *   events to while the task runs (e.g. after `TestClock.adjust`). An event meets every wait armed
 *   when it arrives whose key, scope and CEL expression it meets (the engine's CEL, evaluated
 *   in-process); one no wait meets yet is kept for the next wait it meets (the engine would drop
 *   it unless the wait looks back: a test need not race the task), so `lookback` changes nothing.
 * - `memo`: the memo log of an earlier invocation, by memo key, each value encoded as the log
 *   holds it (JSON of the memo Schema's encoded side): those memos are decoded, not run, as on a
 *   replay.
 * - `invocationCount`: what `DurableContext.invocationCount` says first. Default 1.
 * - `replayOf`: the `durable` record of an earlier run of the task: this run is its next
 *   invocation and replays its whole log, as the engine replays a task that runs again.
 * - `evictAfter`: in place of the task's; `"0 seconds"` evicts it at every wait the log does not
 *   answer at once (each wait then restores it, and it replays all that came before).
 *
 * The handler gets the SDK's own `DurableContext` (a worker's), over an in-process log kept by
 * node, as the engine keeps it: sleeps on the `Clock` (`TestClock.adjust` ends them), `now` from
 * the `Clock`, children run by `TaskTest` when their implementation is in the context (otherwise a
 * `DurableTaskError` names the missing layer). A call at a node the log holds is answered from it
 * (nothing runs, waits or spawns again) when it is the recorded call, and fails with
 * `NonDeterminismError` (the engine's message) when it is another. An invocation that waits the
 * task's `evictAfter` (default 15 minutes, on the `Clock`) is evicted, as its worker would evict
 * it, and restored as the next invocation once an entry it awaited is satisfied: it replays the
 * log. Not modelled: a child workflow of several tasks.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
 * import { DurableContext, Task } from "@effect-hatchet/sdk"
 * import { TaskTest } from "@effect-hatchet/testing"
 *
 * const Approval = Schema.Struct({ approved: Schema.Boolean })
 * const Order = Task.durable("order", { input: Schema.Struct({ id: Schema.String }), output: Approval })
 * const OrderLive = Order.toLayer((input) =>
 *   Effect.gen(function*() {
 *     const ctx = yield* DurableContext.DurableContext
 *     yield* ctx.memo("charge", Effect.succeed(`ch-${input.id}`), Schema.String)
 *     yield* ctx.sleep("1 day")
 *     return yield* ctx.waitForEvent(`approval:${input.id}`, { schema: Approval })
 *   })
 * )
 *
 * it.effect("sleeps a day, then takes the approval pushed while it waits", () =>
 *   Effect.gen(function*() {
 *     const events = yield* Queue.unbounded<TaskTest.DurableEvent>()
 *     const fiber = yield* Effect.fork(TaskTest.run(Order, { input: { id: "o-1" }, durable: { eventQueue: events } }))
 *     yield* TestClock.adjust("1 day")
 *     yield* Queue.offer(events, { key: "approval:o-1", payload: { approved: true } })
 *     const run = yield* Fiber.join(fiber)
 *     expect(yield* run.exit).toEqual({ approved: true })
 *     expect(run.durable?.memoRan).toEqual(["charge"])
 *   }).pipe(Effect.provide(OrderLive)))
 * ```
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableOptions = durableTest.DurableOptions

/**
 * One entry of the durable log, by node: a memo (run or replayed), a wait (its sleeps and events,
 * when it began and ended on the `Clock`, the data it returned) or a child (its input, and its own
 * `Run`); `replayed` when the last invocation that reached it had it from the log.
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableEntry = durableTest.DurableEntry

/**
 * What a durable task's context did: its invocations (one, plus one per eviction), the log by
 * node, the memo keys whose effect ran, the memo log at the end, and the first call that differed
 * from the log. Given as `durable.replayOf` to a later run, that run replays this log.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
 * import { DurableContext, Task } from "@effect-hatchet/sdk"
 * import { TaskTest } from "@effect-hatchet/testing"
 *
 * const Approval = Schema.Struct({ approved: Schema.Boolean })
 * const Order = Task.durable("order", { input: Schema.Struct({ id: Schema.String }), output: Approval })
 * const OrderLive = Order.toLayer((input) =>
 *   Effect.gen(function*() {
 *     const ctx = yield* DurableContext.DurableContext
 *     yield* ctx.memo("charge", Effect.succeed(`ch-${input.id}`), Schema.String)
 *     return yield* ctx.waitForEvent(`approval:${input.id}`, { schema: Approval })
 *   })
 * )
 *
 * it.effect("replays: the log answers every call", () =>
 *   Effect.gen(function*() {
 *     const events = [{ key: "approval:o-1", payload: { approved: true } }]
 *     const first = yield* TaskTest.run(Order, { input: { id: "o-1" }, durable: { events } })
 *     const replay = yield* TaskTest.run(Order, { input: { id: "o-1" }, durable: { replayOf: first.durable } })
 *     expect(replay.exit).toEqual(first.exit)
 *     expect(replay.durable?.memoRan).toEqual([])
 *     expect(replay.durable?.entries.every((entry) => entry.replayed)).toBe(true)
 *     expect(replay.durable?.nonDeterminism).toBeUndefined()
 *   }).pipe(Effect.provide(OrderLive)))
 * ```
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableRecord = durableTest.DurableRecord

/**
 * One invocation of a durable task's handler in a run: its count, when it began and ended on the
 * `Clock`, and whether it was evicted (then restored as the next).
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableInvocation = durableTest.DurableInvocation

/**
 * Facts about the simulated attempt; all optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptOptions {
  readonly retryCount?: number | undefined
  readonly workflowRunId?: string | undefined
  readonly taskRunExternalId?: string | undefined
  readonly additionalMetadata?: Readonly<Record<string, unknown>> | undefined
  readonly priority?: number | undefined
  readonly childIndex?: number | undefined
  readonly childKey?: string | undefined
  readonly parentTaskRunExternalId?: string | undefined
  /** The event that triggered the run. */
  readonly triggeringEvent?: TaskContext.TriggeringEvent | undefined
  /** The payload of the event filter that triggered the run (`TaskContext.filterPayload`). */
  readonly filterPayload?: Readonly<Record<string, unknown>> | undefined
  /**
   * The data of the step conditions that were met, by data key (`TaskContext.triggers`,
   * `TaskContext.conditionData`), e.g. `{ "review:approved": { by: "ada" } }` for an event.
   */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
  /** The gRPC send limit outputs must fit in. Default 4 MiB. */
  readonly maxMessageBytes?: number | undefined
  /** Replaces the encoded input in the payload (to test what happens with malformed input). */
  readonly rawInput?: unknown
  /** For a durable task: the events its waits receive, a seeded memo log, its invocation count, a run to replay. */
  readonly durable?: DurableOptions | undefined
}

type AllTasks<W> = W extends Workflow.Workflow<any, any, infer Tasks, infer Hooks> ? Tasks & Hooks : never

/**
 * The task names of a workflow, hooks included, but its batch tasks (`Workflow.batchTask`): a
 * batch runs many runs at once, on an engine (the local engine runs them).
 *
 * @since 0.1.0
 * @category type-level
 */
export type TaskName<W> =
  & {
    [K in keyof AllTasks<W>]: AllTasks<W>[K] extends Workflow.TaskDefinition<any, any, any, any, any, any, "each" | "broadcast"> ? never
      : K
  }[keyof AllTasks<W>]
  & string

/**
 * The second-argument options for a task: its parent outputs, or the failures for the on-failure
 * task (typed errors, `TaskFailed`, or raw error text as the engine would pass it).
 *
 * @since 0.1.0
 * @category type-level
 */
export type ArgumentOptions<W, K> = W extends Workflow.Workflow<any, any, infer Tasks, any> ? K extends "on-failure-task" ? {
      readonly failures?: { readonly [T in keyof Tasks]?: Schema.Schema.Type<Tasks[T]["error"]> | TaskFailed | string }
    }
  : K extends "on-success-task" ? { readonly parents: Workflow.ParentOutputs<Tasks, Workflow.Leaves<Tasks>> }
  : K extends keyof Tasks ? [Workflow.ParentsOf<Tasks[K]>] extends [never] ? { readonly parents?: {} }
    : { readonly parents: Workflow.ParentOutputs<Tasks, Workflow.ParentsOf<Tasks[K]>> }
  : never
  : never

/**
 * @since 0.1.0
 * @category models
 */
export type RunOptions<W, K> = AttemptOptions & { readonly input: Workflow.Input<W> } & ArgumentOptions<W, K>

/**
 * The output type of task `K` of workflow `W`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type OutputOf<W, K extends keyof AllTasks<W>> = Schema.Schema.Type<AllTasks<W>[K]["output"]>

/**
 * The declared error type of task `K` of workflow `W` (`never` when it declares none).
 *
 * @since 0.1.0
 * @category type-level
 */
export type ErrorOf<W, K extends keyof AllTasks<W>> = Schema.Schema.Type<AllTasks<W>[K]["error"]>

/**
 * Runs one task of a workflow (`"on-failure-task"` and `"on-success-task"` included), or a
 * standalone task, with no engine. A durable task (`Task.durable`, `Workflow.durableTask`) gets a
 * `DurableContext` over an in-process log (see `DurableOptions`), and the `Run` records what it did.
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <W extends Workflow.Workflow.Any, K extends TaskName<W>>(
    workflow: W,
    task: K,
    options: RunOptions<W, K>
  ): Effect.Effect<Run<OutputOf<W, K>, ErrorOf<W, K>>, never, Workflow.ImplementationOf<W>>
  <T extends Task.Any | DurableTask.Any>(
    task: T,
    options: AttemptOptions & { readonly input: Workflow.Input<T> }
  ): Effect.Effect<
    Run<Schema.Schema.Type<T["output"]>, Schema.Schema.Type<T["error"]>>,
    never,
    Workflow.ImplementationOf<T>
  >
} = ((definition: Workflow.Definition, ...rest: Array<any>) =>
  typeof rest[0] === "string"
    ? runTask(definition, rest[0], rest[1])
    : runTask(definition, definition.name, rest[0])) as any

/**
 * Like `run`, but returns the task's output, failing with what a client would see.
 *
 * @since 0.1.0
 * @category running
 */
export const result: {
  <W extends Workflow.Workflow.Any, K extends TaskName<W>>(
    workflow: W,
    task: K,
    options: RunOptions<W, K>
  ): Effect.Effect<OutputOf<W, K>, ErrorOf<W, K> | TaskFailed, Workflow.ImplementationOf<W>>
  <T extends Task.Any | DurableTask.Any>(
    task: T,
    options: AttemptOptions & { readonly input: Workflow.Input<T> }
  ): Effect.Effect<
    Schema.Schema.Type<T["output"]>,
    Schema.Schema.Type<T["error"]> | TaskFailed,
    Workflow.ImplementationOf<T>
  >
} = ((...args: Array<any>) => Effect.flatMap((run as any)(...args), (r: Run<any, any>) => r.exit)) as any

const runTask = (
  definition: Workflow.Definition,
  taskName: string,
  options: AttemptOptions & {
    readonly input: unknown
    readonly parents?: Readonly<Record<string, unknown>>
    readonly failures?: Readonly<Record<string, unknown>>
  },
  /** A child's: the events of the test that runs its parent. */
  events?: durableTest.EventHub
): Effect.Effect<Run<unknown, unknown>, never, any> =>
  Effect.gen(function*() {
    const impl = yield* implementation(definition)
    if (impl.batchHandlers?.has(taskName) === true) {
      return yield* Effect.dieMessage(
        `TaskTest does not run batch tasks ("${taskName}" of "${impl.spec.name}"): run them on the local engine`
      )
    }
    const actionPayload = yield* encodeActionPayload(definition, options)

    const logs: Array<TaskExecution.LogLine> = []
    const stream: Array<Uint8Array> = []
    const refreshedTimeouts: Array<string> = []
    let releasedSlot = false
    let cancelled = false
    let upsertedLabels: Record<string, string | number> = {}
    const taskRunExternalId = options.taskRunExternalId ?? durableTest.replayedTaskRunId(options.durable?.replayOf) ??
      "test-task-run"
    /** The task context of one invocation (a durable task's restored invocation gets a new one, as on a worker). */
    const makeContext = TaskContext.make({
      workflowName: impl.spec.name,
      taskName,
      action: TaskExecution.actionId(definition, taskName),
      workflowRunId: options.workflowRunId ?? "test-workflow-run",
      taskRunExternalId,
      workerId: "test-worker",
      retryCount: options.retryCount ?? 0,
      maxAttempts: TaskExecution.maxAttempts(definition, taskName),
      triggeringEvent: Option.fromNullable(options.triggeringEvent),
      additionalMetadata: options.additionalMetadata ?? {},
      priority: options.priority ?? 1,
      childIndex: Option.fromNullable(options.childIndex),
      childKey: Option.fromNullable(options.childKey),
      parentTaskRunExternalId: Option.fromNullable(options.parentTaskRunExternalId)
    }, {
      refreshTimeout: (incrementBy) => Effect.sync(() => void refreshedTimeouts.push(incrementBy)),
      releaseSlot: Effect.sync(() => {
        releasedSlot = true
      }),
      putStream: (chunk, index) => Effect.sync(() => void (stream[index] = chunk)),
      cancel: Effect.sync(() => {
        cancelled = true
      }),
      upsertLabels: (labels) =>
        Effect.sync(() => {
          upsertedLabels = { ...upsertedLabels, ...labels }
        })
    })
    const execute = (context: TaskContext.TaskContextShape, services: Context.Context<any> | undefined) =>
      TaskExecution.execute(impl, taskName, actionPayload, context, {
        maxMessageBytes: options.maxMessageBytes,
        onLog: (line) => void logs.push(line),
        services
      })

    // a durable task gets a `DurableContext` over an in-process log, as a worker gives one over
    // the engine's; its sleeps and children live as long as the run. An invocation evicted while
    // it waits is restored as the next one, which replays the log
    const isDurable = impl.spec.tasks.find((task) => task.name === taskName)?.durable === true
    let outcome: TaskExecution.Outcome
    let durable: durableTest.TestLog | undefined
    if (!isDurable) outcome = yield* execute(yield* makeContext, undefined)
    else {
      const hub = events ?? (yield* durableTest.makeEventHub(options.durable ?? {}))
      const log = yield* durableTest.make({
        taskRunExternalId,
        durable: options.durable ?? {},
        hub,
        evictAfter: TaskExecution.evictAfter(definition, taskName),
        runChild: (child, childTask, request) =>
          Effect.map(
            runTask(child, childTask, {
              input: undefined,
              rawInput: request.input,
              workflowRunId: request.runId,
              taskRunExternalId: request.runId,
              additionalMetadata: request.additionalMetadata,
              priority: request.priority,
              childIndex: request.childIndex,
              childKey: request.childKey,
              parentTaskRunExternalId: taskRunExternalId,
              durable: request.durable
            }, hub),
            (run) => ({ outcome: run.outcome, run })
          )
      })
      durable = log
      do {
        const context = yield* makeContext
        outcome = yield* execute(context, Context.make(DurableContext, yield* log.begin(context)))
      } while (yield* log.end)
    }
    const exit: Exit.Exit<unknown, unknown> = outcome._tag === "Completed"
      ? Exit.succeed(yield* Effect.orDie(TaskExecution.decodeOutput(definition, taskName, outcome.output)))
      : outcome._tag === "Failed"
      ? Exit.fail(yield* TaskExecution.decodeFailure(definition, taskName, outcome.payload))
      : Exit.interrupt(FiberId.none)
    return {
      exit,
      outcome,
      logs,
      stream,
      refreshedTimeouts,
      releasedSlot,
      cancelled,
      upsertedLabels,
      durable: durable?.record()
    }
  }).pipe(Effect.scoped)
