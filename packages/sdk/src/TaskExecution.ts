/**
 * Running one task attempt, and the task's side of the wire format.
 *
 * `execute` is what the Worker does for each assignment, minus the engine: decode the input and
 * parent outputs from the `action_payload` JSON with the definition's Schemas, run the handler with
 * a `TaskContext`, then encode the output (or the failure) exactly as it is sent. Test runners use
 * it to run a task with no engine; the codecs below are what a client needs to encode inputs and
 * decode outputs and failures.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import type { DurableContextShape } from "./DurableContext.js"
import {
  effectiveSettings,
  evictAfterOf,
  findTask,
  isSkippable,
  type ProvidedHandler,
  specOf,
  type TaskSpec,
  type WorkflowSpec
} from "./internal/definition.js"
import * as durable from "./internal/durable.js"
import * as failure from "./internal/failure.js"
import { workerAction, workflowWireName } from "./internal/naming.js"
import * as payload from "./internal/payload.js"
import { type HasRunData, type RunData, withRunData } from "./internal/runData.js"
import * as taskLogger from "./internal/taskLogger.js"
import { TaskContext, type TaskContextShape } from "./TaskContext.js"
import type { TaskFailedKind } from "./TaskError.js"
import type { Definition, ImplementationShape } from "./Workflow.js"

/**
 * How an attempt ended, as the worker reports it:
 *
 * - `Completed`: `output` is the COMPLETED `event_payload` (the Schema-encoded output as JSON)
 * - `Failed`: `payload` is the FAILED `event_payload`; `shouldNotRetry` is set for invalid input,
 *   invalid or oversized output, and `NonRetryableError`
 * - `Interrupted`: the handler was interrupted (cancelled); nothing is reported for it
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = Data.TaggedEnum<{
  Completed: { readonly output: string }
  Failed: {
    readonly payload: string
    readonly shouldNotRetry: boolean
    readonly kind: TaskFailedKind
    readonly message: string
  }
  Interrupted: {}
}>

/**
 * @since 0.1.0
 * @category constructors
 */
export const Outcome = Data.taggedEnum<Outcome>()

/**
 * A task log line, as sent with `PutLog`.
 *
 * @since 0.1.0
 * @category models
 */
export type LogLine = taskLogger.LogLine

/**
 * @since 0.1.0
 * @category models
 */
export interface ExecuteOptions {
  /** The gRPC send limit the output must fit in. Default 4 MiB. */
  readonly maxMessageBytes?: number | undefined
  /** Receives every log line the task writes. */
  readonly onLog?: ((line: LogLine) => void) | undefined
  /** Receives the handler's run time (the worker's metrics), when the handler ran. */
  readonly onHandlerDone?: ((elapsed: Duration.Duration) => void) | undefined
  /** More services the handler gets, e.g. a durable task's `DurableContext`. */
  readonly services?: Context.Context<any> | undefined
  /** The parent of the spans the handler makes (e.g. the run's `traceparent`), in its services. */
  readonly parentSpan?: Tracer.AnySpan | undefined
}

/**
 * Runs one attempt of the task `taskName` (a readable id, `on-failure-task` and `on-success-task`
 * included) with the raw `action_payload` JSON. Never fails: every problem is an `Outcome`.
 * Interrupting the returned effect interrupts the handler (its finalizers run).
 *
 * @since 0.1.0
 * @category execution
 */
export const execute = (
  implementation: ImplementationShape,
  taskName: string,
  actionPayload: string,
  context: TaskContextShape,
  options?: ExecuteOptions
): Effect.Effect<Outcome> =>
  // (combinators rather than a generator: a worker runs this once per task)
  Effect.suspend(() => {
    const spec = implementation.spec
    const task = findTask(spec, taskName)
    const handler = implementation.handlers.get(taskName)
    if (task === undefined || handler === undefined) {
      return Effect.succeed(failed(failure.encodedFailure("Defect", `workflow "${spec.name}" has no task "${taskName}"`, {
        shouldNotRetry: true
      })))
    }
    const data = payload.parseStepRunData(actionPayload)
    if (Either.isLeft(data)) {
      return Effect.succeed(failed(failure.encodedFailure("InvalidInput", `Invalid input for task "${taskName}": ${data.left}`, {
        shouldNotRetry: true
      })))
    }
    const decoded = payload.decodeArgumentsSync(spec, task, data.right)
    if (decoded !== undefined) return runHandler(spec, task, handler, data.right, decoded, context, options)
    return Effect.matchEffect(payload.decodeArgumentsEffect(spec, task, data.right), {
      onFailure: (encoded) => Effect.succeed(failed(encoded)),
      onSuccess: (args) => runHandler(spec, task, handler, data.right, args, context, options)
    })
  })

/**
 * Runs the handler with its services and a scope of its own, then closes the scope with its exit
 * and makes the outcome. One uninterruptible region holds it all (as `Effect.scoped`,
 * `Effect.provide` and `Effect.onExit` would, each with a region of its own): the handler's
 * services are set on the fiber, the handler runs interruptibly, then the fiber's own services
 * are set back, the scope is closed (a finalizer's failure joins the handler's exit), the
 * handler's time is recorded, and the exit becomes the outcome.
 */
const runHandler = (
  spec: WorkflowSpec,
  task: TaskSpec,
  handler: ProvidedHandler,
  data: payload.StepRunData,
  args: payload.TaskArguments,
  context: TaskContextShape,
  options: ExecuteOptions | undefined
): Effect.Effect<Outcome> =>
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.withFiberRuntime<Outcome>((fiber) => {
      const outer = fiber.currentContext
      // the filter payload, the skipped parents and the conditions' data come with the payload
      const filterPayload = data.filterPayload
      const runData: RunData = {
        filterPayload: filterPayload === undefined ? context.filterPayload : Option.some(filterPayload),
        skippedParents: payload.skippedParents(spec, task, data),
        triggers: data.triggers
      }
      // a worker's context makes its copy (a prototype made per attempt would cost V8 a new map);
      // another keeps its prototype, its operations may be getters
      const taskContext: TaskContextShape = withRunData in context
        ? (context as TaskContextShape & HasRunData<TaskContextShape>)[withRunData](runData)
        : Object.assign(Object.create(context) as TaskContextShape, runData)
      // the handler's services and the per-run ones in one map (each `Context.add` copies its map)
      const serviceMap = handler.services(outer)
      serviceMap.set(TaskContext.key, taskContext)
      serviceMap.set(Scope.Scope.key, scope)
      if (options?.onLog !== undefined) serviceMap.set(taskLogger.TaskLogSink.key, options.onLog)
      if (options?.parentSpan !== undefined) serviceMap.set(Tracer.ParentSpan.key, options.parentSpan)
      let services = Context.unsafeMake<never>(serviceMap)
      if (options?.services !== undefined) services = Context.merge(services, options.services as Context.Context<never>)
      const onHandlerDone = options?.onHandlerDone
      const clock = onHandlerDone === undefined ? undefined : Context.get(fiber.currentDefaultServices, Clock.Clock)
      const handlerStart = clock === undefined ? 0n : clock.unsafeCurrentTimeNanos()
      const maxMessageBytes = options?.maxMessageBytes ?? payload.DEFAULT_MAX_MESSAGE_BYTES
      const outcome = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<Outcome> => {
        if (clock !== undefined) onHandlerDone!(Duration.nanos(clock.unsafeCurrentTimeNanos() - handlerStart))
        if (Exit.isFailure(exit)) {
          return Cause.isInterruptedOnly(exit.cause)
            ? Effect.succeed(Outcome.Interrupted())
            : Effect.map(failure.encodeCause(task, exit.cause), failed)
        }
        const encoded = payload.encodeOutput(spec, task, exit.value, maxMessageBytes)
        // (an output that encodes synchronously is an `Exit` already)
        if (Exit.isExit(encoded) && Exit.isSuccess(encoded)) {
          return Effect.succeed(Outcome.Completed({ output: (encoded as Exit.Success<string, never>).value }))
        }
        return Effect.match(encoded, { onFailure: failed, onSuccess: (output) => Outcome.Completed({ output }) })
      }
      const ended = (exit: Exit.Exit<unknown, unknown>): Effect.Effect<Outcome> =>
        Effect.matchCauseEffect(Effect.zipRight(FiberRef.set(FiberRef.currentContext, outer), Scope.close(scope, exit)), {
          onFailure: (closing) => outcome(Exit.failCause(Exit.isFailure(exit) ? Cause.sequential(exit.cause, closing) : closing)),
          onSuccess: () => outcome(exit)
        })
      const run = Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          FiberRef.set(FiberRef.currentContext, services),
          Effect.matchCauseEffect(restore(handler.run(args.input, args.parents) as Effect.Effect<unknown, unknown>), {
            onFailure: (cause) => ended(Exit.failCause(cause)),
            onSuccess: (value) => ended(Exit.succeed(value))
          })
        )
      )
      // the task logger ships what the handler logs (a worker's task fibers carry it already)
      return options?.onLog !== undefined && !HashSet.has(fiber.getFiberRef(FiberRef.currentLoggers), taskLogger.taskLogger)
        ? Effect.locallyWith(run, FiberRef.currentLoggers, HashSet.add(taskLogger.taskLogger))
        : run
    }))

const failed = (encoded: failure.EncodedFailure): Outcome =>
  Outcome.Failed({
    payload: encoded.payload,
    shouldNotRetry: encoded.shouldNotRetry,
    kind: encoded.kind,
    message: encoded.message
  })

// -----------------------------------------------------------------------------
// codecs
// -----------------------------------------------------------------------------

/** A task of a definition; dies when it does not exist (a bug in the caller). */
const taskOf = (spec: WorkflowSpec, taskName: string): Effect.Effect<TaskSpec> => {
  const task = findTask(spec, taskName)
  return task === undefined
    ? Effect.dieMessage(`workflow "${spec.name}" has no task "${taskName}"`)
    : Effect.succeed(task)
}

/**
 * The trigger input as sent on the wire: the input Schema-encoded, then JSON.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeInput = <D extends Definition>(
  definition: D,
  input: unknown
): Effect.Effect<string, ParseResult.ParseError> => payload.encodeInput(specOf(definition), input)

/**
 * A task output as sent in COMPLETED (and as parents receive it): Schema-encoded, then JSON.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeOutput = (
  definition: Definition,
  taskName: string,
  output: unknown
): Effect.Effect<string, ParseResult.ParseError> =>
  Effect.flatMap(
    taskOf(specOf(definition), taskName),
    (task) => Effect.map(Schema.encode(task.output)(output), (encoded) => JSON.stringify(encoded ?? null) ?? "null")
  )

/**
 * A task's output as its children receive it in their payload (`parents`), given as a child's
 * handler sees it: for a task the engine may skip, an `Option` of the output, `None` giving
 * Hatchet's mark of a skipped task (`{"skipped":true}`).
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeParentOutput = (
  definition: Definition,
  taskName: string,
  output: unknown
): Effect.Effect<string, ParseResult.ParseError> =>
  Effect.flatMap(taskOf(specOf(definition), taskName), (task) => {
    if (!isSkippable(specOf(definition), task) || !Option.isOption(output)) return encodeOutput(definition, taskName, output)
    return Option.isNone(output)
      ? Effect.succeed(JSON.stringify(payload.SKIPPED_OUTPUT))
      : encodeOutput(definition, taskName, output.value)
  })

/**
 * Decodes a COMPLETED output text with the task's output Schema.
 *
 * @since 0.1.0
 * @category codecs
 */
export const decodeOutput = (
  definition: Definition,
  taskName: string,
  text: string
): Effect.Effect<unknown, ParseResult.ParseError> =>
  Effect.flatMap(taskOf(specOf(definition), taskName), (task) => payload.decodeOutput(task, text))

/**
 * The action id a worker registers for a task and receives in its assignments
 * (`"<workflow wire name>:<task lowercased>"`, the workflow's name namespaced and lowercased).
 *
 * @since 0.1.0
 * @category codecs
 */
export const actionId = (definition: Definition, taskName: string, namespace = ""): string =>
  workerAction(workflowWireName(specOf(definition).name, namespace), taskName)

/**
 * How many attempts a task may have: its `retries` (or the workflow's `taskDefaults`) plus one.
 *
 * @since 0.1.0
 * @category codecs
 */
export const maxAttempts = (definition: Definition, taskName: string): number => {
  const spec = specOf(definition)
  const task = findTask(spec, taskName)
  return task === undefined ? 1 : (effectiveSettings(spec, task).retries ?? 0) + 1
}

/**
 * How long an attempt of a durable task waits for the engine (a durable sleep, event or child)
 * before its worker evicts it: the task's `evictAfter` (default 15 minutes); none for `"never"`
 * or a task that is not durable.
 *
 * @since 0.1.0
 * @category durable
 */
export const evictAfter = (definition: Definition, taskName: string): Duration.Duration | undefined => {
  const task = findTask(specOf(definition), taskName)
  return task === undefined ? undefined : evictAfterOf(task)
}

/**
 * Decodes a failure text (a FAILED payload, `StepRunResult.error`, `step_run_errors` entry) to the
 * task's typed error when it is one, or to `TaskFailed`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const decodeFailure = (definition: Definition, taskName: string, text: string): Effect.Effect<unknown> =>
  failure.decodeFailure(findTask(specOf(definition), taskName), taskName, text)

/**
 * The FAILED payload a worker sends when the task fails with `error` (encoded with the task's
 * `error` Schema when it matches). The on-failure task receives this text in `step_run_errors`.
 *
 * @since 0.1.0
 * @category codecs
 */
export const encodeFailure = (definition: Definition, taskName: string, error: unknown): Effect.Effect<string> =>
  Effect.flatMap(
    taskOf(specOf(definition), taskName),
    (task) => Effect.map(failure.encodeCause(task, Cause.fail(error)), (encoded) => encoded.payload)
  )

// -----------------------------------------------------------------------------
// durable tasks
// -----------------------------------------------------------------------------

/**
 * The durable event log a `DurableContext` runs over: on a worker, its `V1Dispatcher/DurableTask`
 * stream to the engine; in a test double, whatever stands in for the engine. Each durable call of
 * the handler is one request (`send`, answered by an ack that names its log entry: a memo's
 * recorded result, a wait's or a child's node), then `awaitEntry` until that entry is satisfied;
 * a memo computed by the handler is written back with `completeMemo`.
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableLog = durable.DurableListener

/**
 * A request of a durable call: a memo (its key bytes, see `durableMemoKey`), a wait (its wire
 * conditions, built as the worker builds them) or child runs (their trigger requests).
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableAsk = durable.Ask

/**
 * The ack of a `DurableAsk`: the log entry (branch, node) it took, and for a memo whether the log
 * already held it, with its recorded result.
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableAck = durable.Ack

/**
 * A satisfied log entry: its JSON payload (a wait's `{"CREATE": {<data key>: [<data>]}}`, a
 * child's output), or the failure text of a child that failed.
 *
 * @since 0.1.0
 * @category durable
 */
export type DurableCompletion = durable.Completion

/**
 * The key bytes of memo `key` of task run `taskRunExternalId`, as the worker sends them (upstream's
 * SHA-256 of the run id and the JSON of the key).
 *
 * @since 0.1.0
 * @category durable
 */
export const durableMemoKey = (taskRunExternalId: string, key: string): Uint8Array => durable.memoKey(taskRunExternalId, [key])

/**
 * The `DurableContext` a worker gives one attempt of a durable task, over `log`: every durable call
 * is encoded, sent, and its answer decoded exactly as on a worker, so a test double of the log
 * sees the requests the engine would, and the handler sees the values and typed errors it would.
 *
 * @since 0.1.0
 * @category durable
 */
export const makeDurableContext = (options: {
  readonly log: DurableLog
  readonly taskContext: TaskContextShape
  /** 1 on the first run, one more on each replay. */
  readonly invocationCount: number
  /** The namespace of event keys and child workflow names. Default none. */
  readonly namespace?: string | undefined
}): Effect.Effect<DurableContextShape> =>
  durable.makeContext({
    listener: options.log,
    taskContext: options.taskContext,
    invocationCount: options.invocationCount,
    namespace: options.namespace ?? "",
    waiting: (effect) => effect
  })
