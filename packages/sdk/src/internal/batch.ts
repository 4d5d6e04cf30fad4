/**
 * Batch tasks on the worker: a `START_BATCH` assignment runs the batch task's handler once for all
 * of its items, under one slot (as the engine counts it), and reports each item with
 * `SendBatchActionEvent`, as the official SDKs do: STARTED for every item first, then COMPLETED
 * for the items that have an output and FAILED for the others.
 *
 * - The `START_BATCH` payload maps each item's task run external id to `{workflow_run_id,
 *   payload}`, `payload` being the item's START payload (the engine builds it as a task's, so the
 *   item of a task of a DAG has its parents' outputs). Each item's input is decoded with the
 *   workflow's input Schema, its parents' outputs with their tasks' output Schemas, as a task's
 *   arguments are; an item that does not decode fails alone at once (`InvalidInput`, never
 *   retried), the handler runs with the others. (The official TypeScript SDK does not decode;
 *   the Python SDK raises before reporting anything, so its batch waits for its timeout.)
 * - The handler returns one output per input, in order; with `broadcastOutput`, one output for
 *   all. Each output is encoded alone: one that does not encode (or is too large) fails its own
 *   item. Any other number of outputs fails every item (`InvalidOutput`), as the Python SDK does.
 *   A failure of the handler fails every item, encoded as a task's failure is.
 * - `CANCEL_STEP_RUN` for an item (the run cancelled, or the batch timed out: the engine cancels
 *   every item) drops that item's report; once every item is cancelled the handler's fiber is
 *   interrupted. `BatchContext.cancel` sends CANCELLED for every item, as the official SDKs'
 *   `ctx.cancel()`, and interrupts the handler.
 * - The batch's fiber is one of the worker's task fibers: a shutdown drains it, and past the
 *   grace period interrupts it and reports its items FAILED (`Interrupted`).
 * - Log lines of the handler are shipped as task logs of every item.
 *
 * Upstream: `sdks/typescript/src/v1/client/worker/worker-internal.ts handleStartBatch`,
 * `sdks/python/hatchet_sdk/worker/runner/runner.py handle_start_batch`.
 *
 * @internal
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as BatchContext from "../BatchContext.js"
import type { DispatcherShape } from "../Dispatcher.js"
import type { GrpcError } from "../HatchetError.js"
import { TaskContextError } from "../TaskContext.js"
import type { ImplementationShape, ProvidedBatchHandler, TaskSpec } from "./definition.js"
import { encodeCause, type EncodedFailure, encodedFailure } from "./failure.js"
import { decodeArguments, encodeOutput, optional, stepRunDataOf, utf8Length } from "./payload.js"
import { type LogLine, TaskLogSink, withTaskLogger } from "./taskLogger.js"

/** Why a batch's fiber was interrupted from outside (or by itself); the worker's attempt reasons. */
export type BatchInterruptReason = "cancelled" | "superseded" | "self-cancel" | "shutdown" | "evicted"

/** The worker's record of a running batch (its attempt): why it was interrupted, and its fiber. */
export interface BatchAttempt {
  reason: BatchInterruptReason | undefined
  fiber: Fiber.RuntimeFiber<void, never> | undefined
}

/** What the worker runs for a batch action. */
export interface BatchRoute {
  readonly implementation: ImplementationShape
  readonly task: TaskSpec
}

/** What the runner needs of its worker. */
export interface BatchRunnerOptions {
  readonly workerName: string
  readonly dispatcher: DispatcherShape
  /** The gRPC send limit: an output must fit in it, an event call stays under it. */
  readonly maxMessageBytes: number
  /** Room for the fields around the payloads of one call. */
  readonly envelopeBytes: number
  /** Wraps every call to the engine (timeout, retries). */
  readonly call: (method: string, effect: Effect.Effect<void, GrpcError>) => Effect.Effect<void, GrpcError>
  /** The task an action runs, if the worker has it. */
  readonly route: (actionId: string) => BatchRoute | undefined
  /**
   * Runs `body` as one of the worker's task fibers under `key`, holding one slot while it runs
   * (drained and interrupted with the other tasks at shutdown).
   */
  readonly launch: (key: string, body: (attempt: BatchAttempt) => Effect.Effect<void>) => BatchAttempt
  /** Whether the worker is past its grace period (an assignment is then handed back at once). */
  readonly closing: () => boolean
  /** Where a log line of the handler goes, for one item. */
  readonly log: (taskRunExternalId: string) => (line: LogLine) => void
}

/** The worker's side of batch assignments. */
export interface BatchRunner {
  /** Handles a `START_BATCH`. */
  readonly start: (workerId: string, action: DispatcherProto.AssignedAction) => Effect.Effect<void>
  /** Handles a `CANCEL_STEP_RUN` if it names an item of a running batch; true when it did. */
  readonly cancel: (action: DispatcherProto.AssignedAction) => Effect.Effect<boolean>
  /** Batches running. */
  readonly running: () => number
}

/** One item of a `START_BATCH` payload. */
interface RawItem {
  readonly taskRunExternalId: string
  readonly workflowRunId: string
  readonly payload: unknown
}

/** An item whose arguments decoded: the handler's `inputs[i]` and `parents[i]`, and its `BatchContext` item. */
interface DecodedItem {
  readonly item: RawItem
  readonly input: unknown
  /** For a task of a DAG: its parents' outputs, decoded as a task's are (`{}` for a task without parents). */
  readonly parents: unknown
  readonly data: BatchContext.BatchItem
}

/** A running batch. */
interface RunningBatch {
  readonly items: ReadonlyArray<RawItem>
  /** Items the engine cancelled: nothing is reported for them. */
  readonly cancelled: Set<string>
  /** Items still waiting for the handler (not cancelled, not failed for their input). */
  readonly awaiting: Set<string>
  attempt: BatchAttempt | undefined
}

/** One item's report. */
interface ReportItem {
  readonly taskRunExternalId: string
  readonly eventPayload: string
  readonly shouldNotRetry?: boolean | undefined
}

/** Items per `SendBatchActionEvent` call at most. */
const MAX_ITEMS_PER_CALL = 500

/** Room for an item's fields besides its payload. */
const ITEM_BYTES = 96

/**
 * Parses a `START_BATCH` payload: the items in the order the engine wrote them (by external id).
 * A payload that is not a JSON object is an error; an item that is not `{workflow_run_id,
 * payload}` keeps its id (its input then fails to decode, and it is reported FAILED).
 */
export const parseBatchItems = (actionPayload: string): Either.Either<Array<RawItem>, string> => {
  let parsed: unknown
  try {
    parsed = actionPayload === "" ? {} : JSON.parse(actionPayload)
  } catch (e) {
    return Either.left(`the START_BATCH payload is not valid JSON (${(e as Error).message})`)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return Either.left("the START_BATCH payload is not a JSON object")
  }
  return Either.right(
    Object.entries(parsed as Record<string, unknown>).map(([taskRunExternalId, value]) => {
      const item = typeof value === "object" && value !== null ? value as Record<string, unknown> : {}
      return {
        taskRunExternalId,
        workflowRunId: typeof item.workflow_run_id === "string" ? item.workflow_run_id : "",
        payload: item.payload
      }
    })
  )
}

/**
 * Splits reports into calls: at most `MAX_ITEMS_PER_CALL` items, payloads within `maxBytes`
 * (UTF-8; an item larger than that alone goes in a call of its own).
 */
export const chunkReports = (items: ReadonlyArray<ReportItem>, maxBytes: number): Array<Array<ReportItem>> => {
  const calls: Array<Array<ReportItem>> = []
  let current: Array<ReportItem> = []
  let bytes = 0
  for (const item of items) {
    const length = item.eventPayload.length
    const size = (length * 3 <= maxBytes - bytes ? length * 3 : utf8Length(item.eventPayload)) + ITEM_BYTES
    if (current.length > 0 && (current.length >= MAX_ITEMS_PER_CALL || bytes + size > maxBytes)) {
      calls.push(current)
      current = []
      bytes = 0
    }
    current.push(item)
    bytes += size
  }
  if (current.length > 0) calls.push(current)
  return calls
}

/** Starts the batch runner of a worker. */
export const make = (options: BatchRunnerOptions): BatchRunner => {
  const { dispatcher, workerName } = options
  /** Running batches by item (task run external id). */
  const byItem = new Map<string, RunningBatch>()
  const batches = new Set<RunningBatch>()

  /** Sends one event type for `items` (in as many calls as their size needs); a failure is logged. */
  const report = (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    eventType: StepActionEventType,
    items: ReadonlyArray<ReportItem>
  ): Effect.Effect<void> =>
    Effect.forEach(
      chunkReports(items, options.maxMessageBytes - options.envelopeBytes),
      (chunk) =>
        options.call(
          "SendBatchActionEvent",
          Effect.suspend(() =>
            dispatcher.sendBatchActionEvent({
              workerId,
              jobId: action.jobId,
              actionId: action.actionId,
              batchId: action.batchId,
              eventTimestamp: new Date(),
              eventType,
              items: chunk.map((item) => ({
                taskRunExternalId: item.taskRunExternalId,
                eventPayload: item.eventPayload,
                retryCount: undefined,
                shouldNotRetry: item.shouldNotRetry
              }))
            })
          )
        ).pipe(
          Effect.catchAll((error) =>
            Effect.logError(
              `could not report ${StepActionEventType[eventType]} for ${chunk.length} item(s) of batch ${action.batchId ?? ""}`,
              error
            )
          )
        ),
      { discard: true }
    )

  /** Every item of `items` failed with `failure`. */
  const failAll = (items: ReadonlyArray<RawItem>, failure: EncodedFailure): Array<ReportItem> =>
    items.map((item) => ({
      taskRunExternalId: item.taskRunExternalId,
      eventPayload: failure.payload,
      shouldNotRetry: failure.shouldNotRetry
    }))

  const runBatch = (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    route: BatchRoute,
    batch: RunningBatch,
    attempt: BatchAttempt
  ): Effect.Effect<void> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const spec = route.implementation.spec
        const task = route.task
        // STARTED for every item, then at once the items whose input does not decode
        const decoded: Array<DecodedItem> = []
        const invalid: Array<ReportItem> = []
        for (const item of batch.items) {
          const data = stepRunDataOf(item.payload)
          const args = Either.isLeft(data)
            ? Either.left(encodedFailure("InvalidInput", `Invalid input for task "${task.name}": ${data.left}`, { shouldNotRetry: true }))
            : yield* Effect.either(decodeArguments(spec, task, data.right))
          if (Either.isLeft(args)) {
            for (const failure of failAll([item], args.left)) invalid.push(failure)
            batch.awaiting.delete(item.taskRunExternalId)
            continue
          }
          decoded.push({
            item,
            input: args.right.input,
            parents: args.right.parents,
            data: {
              taskRunExternalId: item.taskRunExternalId,
              workflowRunId: item.workflowRunId,
              filterPayload: Either.isRight(data) ? optional(data.right.filterPayload) : Option.none()
            }
          })
        }
        const announced = yield* Effect.fork(
          Effect.zipRight(
            report(
              workerId,
              action,
              StepActionEventType.STEP_EVENT_TYPE_STARTED,
              batch.items.map((item) => ({
                taskRunExternalId: item.taskRunExternalId,
                eventPayload: ""
              }))
            ),
            invalid.length > 0 ? report(workerId, action, StepActionEventType.STEP_EVENT_TYPE_FAILED, invalid) : Effect.void
          )
        )
        const items = decoded.map((d) => d.item)
        const handler = route.implementation.batchHandlers?.get(task.name)
        let results: Array<ReportItem> = []
        let failed: Array<ReportItem> = []
        if (handler === undefined) {
          failed = failAll(
            items,
            encodedFailure("Defect", `worker "${workerName}" has no batch handler for "${task.name}"`, { shouldNotRetry: true })
          )
        } else if (decoded.length > 0) {
          const exit = yield* Effect.exit(restore(runHandler(workerId, action, route, handler, decoded, batch, attempt)))
          const outcome = yield* outcomeOf(route, items, exit, attempt)
          results = outcome.completed
          failed = outcome.failed
        }
        const completed = results.filter((r) => !batch.cancelled.has(r.taskRunExternalId))
        if (completed.length > 0) yield* report(workerId, action, StepActionEventType.STEP_EVENT_TYPE_COMPLETED, completed)
        const failures = failed.filter((r) => !batch.cancelled.has(r.taskRunExternalId))
        if (failures.length > 0) yield* report(workerId, action, StepActionEventType.STEP_EVENT_TYPE_FAILED, failures)
        yield* announced.await
      })
    )

  /** Runs the handler with its `BatchContext`, its scope and its log sink. */
  const runHandler = (
    workerId: string,
    action: DispatcherProto.AssignedAction,
    route: BatchRoute,
    handler: ProvidedBatchHandler,
    decoded: ReadonlyArray<DecodedItem>,
    batch: RunningBatch,
    attempt: BatchAttempt
  ): Effect.Effect<unknown, unknown> =>
    Effect.gen(function*() {
      const ids = () => decoded.map((d) => d.item.taskRunExternalId).filter((id) => !batch.cancelled.has(id))
      const contextError = (operation: TaskContextError["operation"]) => (cause: GrpcError) =>
        new TaskContextError({ operation, message: `${operation} failed: ${cause.details}`, cause })
      const start = action.batchStartPayload
      const context = BatchContext.make({
        taskName: route.task.name,
        action: action.actionId,
        workerId,
        batchId: action.batchId ?? "",
        batchKey: optional(action.batchKey),
        triggerReason: start?.triggerReason ?? "",
        triggerTime: optional(start?.triggerTime),
        expectedSize: start?.expectedSize ?? batch.items.length,
        items: decoded.map((d) => d.data)
      }, {
        refreshTimeout: (incrementBy) =>
          Effect.forEach(ids(), (id) => dispatcher.refreshTimeout(id, incrementBy), { concurrency: 8, discard: true }).pipe(
            Effect.mapError(contextError("refreshTimeout"))
          ),
        cancel: Effect.suspend(() => {
          attempt.reason = "self-cancel"
          // every item, as the official SDKs' ctx.cancel(): the batch's invalid items were already failed
          return dispatcher.sendBatchActionEvent({
            workerId,
            jobId: action.jobId,
            actionId: action.actionId,
            batchId: action.batchId,
            eventTimestamp: new Date(),
            eventType: StepActionEventType.STEP_EVENT_TYPE_CANCELLED,
            items: ids().map((taskRunExternalId) => ({
              taskRunExternalId,
              eventPayload: "",
              retryCount: undefined,
              shouldNotRetry: undefined
            }))
          })
        }).pipe(Effect.mapError(contextError("cancel")))
      })
      const sinks = decoded.map((d) => options.log(d.item.taskRunExternalId))
      const scope = yield* Scope.make()
      const services = Context.make(BatchContext.BatchContext, context).pipe(
        Context.add(Scope.Scope, scope),
        Context.add(TaskLogSink, (line: LogLine) => {
          for (const sink of sinks) sink(line)
        })
      )
      return yield* withTaskLogger(
        Effect.onExit(
          handler(decoded.map((d) => d.input), decoded.map((d) => d.parents), services),
          (exit) => Scope.close(scope, exit)
        )
      )
    })

  /** What each item gets from the handler's exit. */
  const outcomeOf = (
    route: BatchRoute,
    items: ReadonlyArray<RawItem>,
    exit: Exit.Exit<unknown, unknown>,
    attempt: BatchAttempt
  ): Effect.Effect<{ readonly completed: Array<ReportItem>; readonly failed: Array<ReportItem> }> =>
    Effect.gen(function*() {
      const spec = route.implementation.spec
      const task = route.task
      const completed: Array<ReportItem> = []
      const failed: Array<ReportItem> = []
      if (exit._tag === "Failure") {
        if (!Cause.isInterruptedOnly(exit.cause)) {
          for (const failure of failAll(items, yield* encodeCause(task, exit.cause))) failed.push(failure)
        } else if (attempt.reason !== "cancelled" && attempt.reason !== "self-cancel") {
          const message = attempt.reason === "shutdown"
            ? `worker "${workerName}" shut down before the batch finished`
            : "the batch was interrupted before it finished"
          for (const failure of failAll(items, encodedFailure("Interrupted", message))) failed.push(failure)
        }
        return { completed, failed }
      }
      const value = exit.value
      if (task.batch?.broadcastOutput === true) {
        const output = yield* Effect.either(encodeOutput(spec, task, value, options.maxMessageBytes))
        if (Either.isLeft(output)) { for (const failure of failAll(items, output.left)) failed.push(failure) }
        else for (const item of items) completed.push({ taskRunExternalId: item.taskRunExternalId, eventPayload: output.right })
        return { completed, failed }
      }
      if (!Array.isArray(value) || value.length !== items.length) {
        const got = Array.isArray(value) ? `${value.length} outputs` : `${value === null ? "null" : typeof value} instead of an array`
        const invalidOutput = encodedFailure(
          "InvalidOutput",
          `Batch task "${task.name}" returned ${got} for ${items.length} inputs`,
          { shouldNotRetry: true }
        )
        for (const failure of failAll(items, invalidOutput)) failed.push(failure)
        return { completed, failed }
      }
      for (let i = 0; i < items.length; i++) {
        const id = items[i]!.taskRunExternalId
        const output = yield* Effect.either(encodeOutput(spec, task, value[i], options.maxMessageBytes))
        if (Either.isRight(output)) completed.push({ taskRunExternalId: id, eventPayload: output.right })
        else for (const failure of failAll([items[i]!], output.left)) failed.push(failure)
      }
      return { completed, failed }
    })

  const start = (workerId: string, action: DispatcherProto.AssignedAction): Effect.Effect<void> =>
    Effect.suspend(() => {
      const parsed = parseBatchItems(action.actionPayload)
      if (Either.isLeft(parsed)) {
        // no item can be named: the engine times them out
        return Effect.logError(`batch ${action.batchId ?? ""} of ${action.actionId}: ${parsed.left}`)
      }
      const items = parsed.right
      if (items.length === 0) return Effect.logWarning(`batch ${action.batchId ?? ""} of ${action.actionId} has no items`)
      const fail = (failure: EncodedFailure) =>
        report(workerId, action, StepActionEventType.STEP_EVENT_TYPE_FAILED, failAll(items, failure))
      if (options.closing()) {
        // never silently: the engine fails them (a batch's items are not retried)
        return fail(encodedFailure("Interrupted", `worker "${workerName}" was shutting down when the batch was assigned`))
      }
      const route = options.route(action.actionId)
      if (route === undefined || route.task.batch === undefined) {
        return fail(encodedFailure("Defect", `worker "${workerName}" has no batch task for action "${action.actionId}"`, {
          shouldNotRetry: true
        }))
      }
      if (items.some((item) => byItem.has(item.taskRunExternalId))) {
        return Effect.logDebug(`ignoring a duplicate START_BATCH ${action.batchId ?? ""}: its items are running`)
      }
      const ids = items.map((item) => item.taskRunExternalId)
      const batch: RunningBatch = { items, cancelled: new Set(), awaiting: new Set(ids), attempt: undefined }
      batches.add(batch)
      for (const item of items) byItem.set(item.taskRunExternalId, batch)
      batch.attempt = options.launch(
        `batch:${action.batchId ?? items[0]!.taskRunExternalId}`,
        (attempt) =>
          Effect.ensuring(
            runBatch(workerId, action, route, batch, attempt),
            Effect.sync(() => {
              batches.delete(batch)
              for (const item of items) if (byItem.get(item.taskRunExternalId) === batch) byItem.delete(item.taskRunExternalId)
            })
          )
      )
      return Effect.void
    })

  const cancel = (action: DispatcherProto.AssignedAction): Effect.Effect<boolean> =>
    Effect.suspend(() => {
      const batch = byItem.get(action.taskRunExternalId)
      if (batch === undefined) return Effect.succeed(false)
      batch.cancelled.add(action.taskRunExternalId)
      batch.awaiting.delete(action.taskRunExternalId)
      const attempt = batch.attempt
      // the handler works for the items still awaiting it: with none left it is interrupted
      if (attempt?.fiber === undefined || batch.awaiting.size > 0) return Effect.succeed(true)
      attempt.reason ??= "cancelled"
      return Effect.flatMap(Effect.fiberId, (id) => Effect.as(attempt.fiber!.interruptAsFork(id), true))
    })

  return { start, cancel, running: () => batches.size }
}
