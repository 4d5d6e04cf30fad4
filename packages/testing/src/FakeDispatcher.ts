/**
 * A scriptable, in-memory stand-in for the engine side of the services a worker uses
 * (`Dispatcher`, `Admin`, `Events`, `Workers`), for worker unit tests under `TestClock`.
 *
 * As the engine, it refuses the heartbeats of a worker whose listen stream was open and has
 * closed (FAILED_PRECONDITION) until the worker listens again.
 *
 * It records every call, lets a test push assignments and cancellations into the open `ListenV2`
 * stream, end or fail that stream, fail the next listens, script heartbeat answers, and "forget"
 * registered workers (as a restarted engine would). Nothing here sleeps, so tests stay
 * deterministic under `TestClock`.
 *
 * `assignTask` speaks in the definition's own types: it assigns one task of a workflow (or a
 * standalone task) with a typed input and typed parent outputs, encoded with their Schemas, and
 * its `result` decodes what the worker reported (the output, or the declared error or
 * `TaskFailed`), as a client would. `assign` and `calls` stay at the wire level.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
 * import { Worker, Workflow } from "@effect-hatchet/sdk"
 * import { FakeDispatcher } from "@effect-hatchet/testing"
 *
 * const Order = Schema.Struct({ orderId: Schema.String, amount: Schema.Number })
 * const OrderFlow = Workflow.make("order-processing", { input: Order }).pipe(
 *   Workflow.task("validate", { output: Schema.Struct({ valid: Schema.Boolean }) }),
 *   Workflow.task("charge", { parents: ["validate"], output: Schema.Struct({ chargeId: Schema.String }) })
 * )
 * const OrderFlowLive = OrderFlow.toLayer({
 *   validate: (input) => Effect.succeed({ valid: input.amount > 0 }),
 *   charge: (input) => Effect.succeed({ chargeId: `ch-${input.orderId}` })
 * })
 *
 * // the worker over the fake's gRPC services (`Worker.make`; `Worker.layer` runs on a real channel)
 * const WorkerLive = Layer.scoped(Worker.Worker, Worker.make({ name: "orders", workflows: [OrderFlowLive] }))
 *
 * const program = Effect.gen(function*() {
 *   const fake = yield* FakeDispatcher.make
 *   yield* Effect.gen(function*() {
 *     const charge = yield* fake.assignTask(OrderFlow, "charge", {
 *       input: { orderId: "o-1", amount: 42 },
 *       parents: { validate: { valid: true } }
 *     })
 *     const output = yield* charge.result // typed: { chargeId: string }, or fails with TaskFailed
 *     const reports = yield* charge.reports // [{ type: "STARTED", ... }, { type: "COMPLETED", ... }]
 *   }).pipe(Effect.provide(WorkerLive.pipe(Layer.provide(fake.layer))))
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { ActionType, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import type * as EventsProto from "@effect-hatchet/proto/events/events"
import type * as V1Trigger from "@effect-hatchet/proto/v1/shared/trigger"
import type * as V1Workflows from "@effect-hatchet/proto/v1/workflows"
import type * as V0Workflows from "@effect-hatchet/proto/workflows/workflows"
import { Admin } from "@effect-hatchet/sdk/Admin"
import { Dispatcher } from "@effect-hatchet/sdk/Dispatcher"
import { Events } from "@effect-hatchet/sdk/Events"
import { GrpcError } from "@effect-hatchet/sdk/HatchetError"
import type { Task } from "@effect-hatchet/sdk/Task"
import type { TaskFailed } from "@effect-hatchet/sdk/TaskError"
import * as TaskExecution from "@effect-hatchet/sdk/TaskExecution"
import { Workers } from "@effect-hatchet/sdk/Workers"
import type * as Workflow from "@effect-hatchet/sdk/Workflow"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { actionPayloadJson, encodeActionPayload } from "./internal/actionPayload.js"
import { mailboxForEach } from "./internal/mailboxForEach.js"
import type { ArgumentOptions, ErrorOf, OutputOf, TaskName } from "./TaskTest.js"

/**
 * Every call the fake received, in order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Calls {
  readonly putWorkflow: ReadonlyArray<V1Workflows.CreateWorkflowVersionRequest>
  readonly register: ReadonlyArray<DispatcherProto.WorkerRegisterRequest>
  /** Worker ids of every `ListenV2` call. */
  readonly listen: ReadonlyArray<string>
  /** Worker ids of every `Heartbeat` call. */
  readonly heartbeat: ReadonlyArray<string>
  /**
   * Every step action event, sent alone or in a batch (a batch item becomes an event with the
   * batch's worker, job, action, timestamp and type, and no `jobRunId` or `taskId`).
   */
  readonly events: ReadonlyArray<DispatcherProto.StepActionEvent>
  /** `SendBatchActionEvent` calls as received. */
  readonly batches: ReadonlyArray<DispatcherProto.BatchActionEvent>
  readonly refreshTimeout: ReadonlyArray<{ readonly taskRunExternalId: string; readonly incrementBy: string }>
  readonly releaseSlot: ReadonlyArray<string>
  readonly unsubscribe: ReadonlyArray<string>
  /** `Workers.pause` / `unpause` calls (REST `PATCH /api/v1/workers/{id}`). */
  readonly pauses: ReadonlyArray<{ readonly workerId: string; readonly isPaused: boolean }>
  readonly logs: ReadonlyArray<EventsProto.PutLogRequest>
  readonly streams: ReadonlyArray<EventsProto.PutStreamEventRequest>
  readonly cancelTasks: ReadonlyArray<V1Workflows.CancelTasksRequest>
  readonly triggers: ReadonlyArray<V1Trigger.TriggerWorkflowRequest>
  readonly pushes: ReadonlyArray<EventsProto.PushEventRequest>
  readonly rateLimits: ReadonlyArray<V0Workflows.PutRateLimitRequest>
}

/**
 * What `assign` needs; everything but `actionId` has a default. `input`, `parents` and
 * `stepRunErrors` make the `action_payload` JSON unless a raw `actionPayload` is given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Assignment {
  /** `"<workflow>:<task lower>"`, as the worker registered it. */
  readonly actionId: string
  readonly taskRunExternalId?: string | undefined
  readonly workflowRunId?: string | undefined
  readonly retryCount?: number | undefined
  readonly input?: unknown
  readonly parents?: Readonly<Record<string, unknown>> | undefined
  readonly stepRunErrors?: Readonly<Record<string, string>> | undefined
  readonly actionPayload?: string | undefined
  readonly additionalMetadata?: Readonly<Record<string, unknown>> | undefined
  readonly priority?: number | undefined
  readonly childWorkflowIndex?: number | undefined
  readonly childWorkflowKey?: string | undefined
  readonly parentWorkflowRunId?: string | undefined
}

/**
 * A step action event the worker sent, its type by name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly type: "STARTED" | "COMPLETED" | "FAILED" | "ACKNOWLEDGED" | "UNKNOWN"
  /** The attempt it reports (absent in a batch item that leaves it to the engine). */
  readonly retryCount: number | undefined
  /** COMPLETED: the encoded output as JSON; FAILED: the failure as the client decodes it. */
  readonly payload: string
  readonly shouldNotRetry: boolean
}

/**
 * Facts about a typed assignment; all optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface AssignTaskOptions {
  readonly taskRunExternalId?: string | undefined
  readonly workflowRunId?: string | undefined
  readonly retryCount?: number | undefined
  readonly additionalMetadata?: Readonly<Record<string, unknown>> | undefined
  readonly priority?: number | undefined
  /** The namespace the worker runs with (its action ids carry it). Default none. */
  readonly namespace?: string | undefined
  /** Replaces the encoded input (to test what happens with malformed input). */
  readonly rawInput?: unknown
  /** The data of the step conditions that were met, by data key (`TaskContext.triggers`). */
  readonly triggers?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
}

/**
 * One assigned attempt of a task, with what the worker did with it in the task's own types.
 *
 * @since 0.1.0
 * @category models
 */
export interface AssignedTask<A, E> {
  readonly taskRunExternalId: string
  readonly retryCount: number
  /** The assignment as sent on the stream. */
  readonly action: DispatcherProto.AssignedAction
  /**
   * Waits for the worker's result of this attempt: the output decoded with the task's Schema, or
   * its failure decoded as a client would (the declared error, or `TaskFailed`).
   */
  readonly result: Effect.Effect<A, E | TaskFailed>
  /**
   * What the worker has reported for this attempt so far, in the order it made the reports. The
   * worker sends a round's results before its STARTED events (one event-loop turn later), so right
   * after `result` a fast task's STARTED may not have arrived yet: wait for it with `started`.
   */
  readonly reports: Effect.Effect<ReadonlyArray<Report>>
  /** Waits for the worker's STARTED of this attempt (sent once the attempt took its slot). */
  readonly started: Effect.Effect<void>
  /** Sends a CANCEL_STEP_RUN for this attempt. */
  readonly cancel: Effect.Effect<void>
}

/**
 * The answer to one heartbeat: succeed, fail with a gRPC code, or never answer.
 *
 * @since 0.1.0
 * @category models
 */
export type HeartbeatBehaviour = "ok" | "hang" | { readonly code: number; readonly details?: string | undefined }

/**
 * @since 0.1.0
 * @category models
 */
export interface FakeDispatcher {
  /** `Dispatcher`, `Admin`, `Events` and `Workers` backed by this fake. */
  readonly layer: Layer.Layer<Dispatcher | Admin | Events | Workers>
  readonly calls: Effect.Effect<Calls>
  /** Waits until `f` returns something other than `undefined` for the recorded calls. */
  readonly waitFor: <A>(f: (calls: Calls) => A | undefined) => Effect.Effect<A>
  /** Waits for a `SendStepActionEvent` matching the predicate. */
  readonly waitForEvent: (
    predicate: (event: DispatcherProto.StepActionEvent) => boolean
  ) => Effect.Effect<DispatcherProto.StepActionEvent>
  /**
   * Sends a START_STEP_RUN for one task of a workflow (or a standalone task) on the open listen
   * stream (waits for one), its input and parent outputs typed and encoded with their Schemas.
   */
  readonly assignTask: {
    <W extends Workflow.Workflow.Any, K extends TaskName<W>>(
      workflow: W,
      task: K,
      options: AssignTaskOptions & { readonly input: Workflow.Input<W> } & ArgumentOptions<W, K>
    ): Effect.Effect<AssignedTask<OutputOf<W, K>, ErrorOf<W, K>>>
    <T extends Task.Any>(
      task: T,
      options: AssignTaskOptions & { readonly input: Workflow.Input<T> }
    ): Effect.Effect<AssignedTask<Schema.Schema.Type<T["output"]>, Schema.Schema.Type<T["error"]>>>
  }
  /** What the worker has reported for a task run (every attempt), in the order it made the reports. */
  readonly reports: (taskRunExternalId: string) => Effect.Effect<ReadonlyArray<Report>>
  /** Sends a START_STEP_RUN on the open listen stream (waits for one); returns the action sent. */
  readonly assign: (assignment: Assignment) => Effect.Effect<DispatcherProto.AssignedAction>
  /** Sends a CANCEL_STEP_RUN for the task run (default: its last assigned retry count). */
  readonly cancel: (taskRunExternalId: string, retryCount?: number) => Effect.Effect<void>
  /** Ends the open listen stream cleanly. */
  readonly endStream: Effect.Effect<void>
  /** Fails the open listen stream with a gRPC code. */
  readonly failStream: (code: number, details?: string) => Effect.Effect<void>
  /** Makes the next `n` listen calls fail at once with `code`. */
  readonly failNextListens: (n: number, code: number, details?: string) => Effect.Effect<void>
  /** Decides each heartbeat's answer from the worker id and the heartbeat's number (1-based). */
  readonly setHeartbeat: (behaviour: (workerId: string, n: number) => HeartbeatBehaviour) => Effect.Effect<void>
  /** Forgets every registered worker: their heartbeats and listens get NOT_FOUND. */
  readonly forgetWorkers: Effect.Effect<void>
  /** Whether a listen stream is open right now. */
  readonly streamOpen: Effect.Effect<boolean>
  /** `false` answers `SendBatchActionEvent` with UNIMPLEMENTED, as engines before v0.98. Default `true`. */
  readonly setBatchEventsSupported: (supported: boolean) => Effect.Effect<void>
}

const emptyCalls: Calls = {
  putWorkflow: [],
  register: [],
  listen: [],
  heartbeat: [],
  events: [],
  batches: [],
  refreshTimeout: [],
  releaseSlot: [],
  unsubscribe: [],
  pauses: [],
  logs: [],
  streams: [],
  cancelTasks: [],
  triggers: [],
  pushes: [],
  rateLimits: []
}

const grpcError = (method: string, code: number, details: string) => new GrpcError({ method, code, details })

/** `f` on every message of `mailbox` in order, then its end (what arrived together, handled one after the other). */
const NOT_FOUND = 5
const FAILED_PRECONDITION = 9
const UNIMPLEMENTED = 12

/**
 * Creates a fake. Worker ids are `worker-1`, `worker-2`, ...; task run ids default to
 * `task-1`, `task-2`, ...
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<FakeDispatcher> = Effect.gen(function*() {
  const calls = yield* SubscriptionRef.make(emptyCalls)
  const record = <K extends keyof Calls>(key: K, value: Calls[K][number]) =>
    SubscriptionRef.update(calls, (c) => ({ ...c, [key]: [...c[key], value] }))

  const stream = yield* SubscriptionRef.make(Option.none<Mailbox.Mailbox<DispatcherProto.AssignedAction, GrpcError>>())
  const knownWorkers = new Set<string>()
  /** Workers that have had a listen stream (the engine's `lastListenerEstablished`). */
  const listened = new Set<string>()
  /** Open listen streams per worker (the engine's `isActive`). */
  const openStreams = new Map<string, number>()
  let workerCounter = 0
  let taskCounter = 0
  let listenFailures: { n: number; code: number; details: string } = { n: 0, code: 0, details: "" }
  const heartbeatCount = new Map<string, number>()
  const heartbeat = yield* Ref.make<(workerId: string, n: number) => HeartbeatBehaviour>(() => "ok")
  const lastRetry = new Map<string, DispatcherProto.AssignedAction>()
  let batchEvents = true

  const openStream = Effect.flatMap(
    stream.changes.pipe(Stream.filterMap((o) => o), Stream.runHead),
    (o) => Option.isSome(o) ? Effect.succeed(o.value) : Effect.dieMessage("listen stream never opened")
  )

  const push = (action: DispatcherProto.AssignedAction) => Effect.flatMap(openStream, (mailbox) => mailbox.offer(action))

  /** Opens a listen stream for the worker (recorded, failed as scripted), open until the scope closes. */
  const openListen = (workerId: string) =>
    Effect.gen(function*() {
      yield* record("listen", workerId)
      if (listenFailures.n > 0) {
        listenFailures = { ...listenFailures, n: listenFailures.n - 1 }
        return yield* grpcError("/Dispatcher/ListenV2", listenFailures.code, listenFailures.details)
      }
      if (!knownWorkers.has(workerId)) {
        return yield* grpcError("/Dispatcher/ListenV2", NOT_FOUND, "not found")
      }
      const mailbox = yield* Mailbox.make<DispatcherProto.AssignedAction, GrpcError>()
      yield* SubscriptionRef.set(stream, Option.some(mailbox))
      listened.add(workerId)
      openStreams.set(workerId, (openStreams.get(workerId) ?? 0) + 1)
      yield* Effect.addFinalizer(() =>
        Effect.zipRight(
          Effect.sync(() => openStreams.set(workerId, openStreams.get(workerId)! - 1)),
          SubscriptionRef.update(stream, (current) => Option.isSome(current) && current.value === mailbox ? Option.none() : current)
        )
      )
      return mailbox
    })

  const dispatcher: Dispatcher["Type"] = {
    register: (request) =>
      Effect.gen(function*() {
        yield* record("register", request)
        const workerId = `worker-${++workerCounter}`
        knownWorkers.add(workerId)
        return { tenantId: "tenant", workerId, workerName: request.workerName }
      }),
    listen: (workerId) => Stream.unwrapScoped(Effect.map(openListen(workerId), Mailbox.toStream)),
    // the Worker's way in: the same stream, each assignment handed to `f` in the caller's fiber
    listenForEach: (workerId, f) => Effect.scoped(Effect.flatMap(openListen(workerId), (mailbox) => mailboxForEach(mailbox, f))),
    heartbeat: (workerId) =>
      Effect.gen(function*() {
        yield* record("heartbeat", workerId)
        const n = (heartbeatCount.get(workerId) ?? 0) + 1
        heartbeatCount.set(workerId, n)
        if (!knownWorkers.has(workerId)) {
          return yield* grpcError("/Dispatcher/Heartbeat", NOT_FOUND, `worker not found: ${workerId}`)
        }
        if (listened.has(workerId) && (openStreams.get(workerId) ?? 0) === 0) {
          return yield* grpcError(
            "/Dispatcher/Heartbeat",
            FAILED_PRECONDITION,
            `Heartbeat rejected: worker stream is not active: ${workerId}`
          )
        }
        const behaviour = (yield* Ref.get(heartbeat))(workerId, n)
        if (behaviour === "ok") return
        if (behaviour === "hang") return yield* Effect.never
        return yield* grpcError("/Dispatcher/Heartbeat", behaviour.code, behaviour.details ?? "heartbeat rejected")
      }),
    sendStepActionEvent: (event) => record("events", event),
    sendBatchActionEvent: (batch) =>
      batchEvents
        ? SubscriptionRef.update(calls, (c) => ({
          ...c,
          batches: [...c.batches, batch],
          events: [
            ...c.events,
            ...batch.items.map((item): DispatcherProto.StepActionEvent => ({
              workerId: batch.workerId,
              jobId: batch.jobId,
              jobRunId: "",
              taskId: "",
              taskRunExternalId: item.taskRunExternalId,
              actionId: batch.actionId,
              eventTimestamp: batch.eventTimestamp,
              eventType: batch.eventType,
              eventPayload: item.eventPayload,
              retryCount: item.retryCount,
              shouldNotRetry: item.shouldNotRetry
            }))
          ]
        }))
        : grpcError("/Dispatcher/SendBatchActionEvent", UNIMPLEMENTED, "unknown method SendBatchActionEvent for service Dispatcher"),
    refreshTimeout: (taskRunExternalId, incrementBy) => Effect.as(record("refreshTimeout", { taskRunExternalId, incrementBy }), undefined),
    releaseSlot: (taskRunExternalId) => record("releaseSlot", taskRunExternalId),
    unsubscribe: (workerId) => record("unsubscribe", workerId),
    upsertWorkerLabels: () => Effect.void,
    getVersion: Effect.succeed("v0.106.5")
  }

  const admin: Admin["Type"] = {
    putWorkflow: (request) =>
      Effect.as(record("putWorkflow", request), { id: `version-${request.name}`, workflowId: `workflow-${request.name}` }),
    triggerWorkflow: (request) => Effect.as(record("triggers", request), `run-${++taskCounter}`),
    bulkTriggerWorkflow: (requests) =>
      Effect.forEach(requests, (request) => Effect.as(record("triggers", request), `run-${++taskCounter}`)),
    getRunDetails: () => Effect.dieMessage("FakeDispatcher: getRunDetails is not scripted"),
    cancelTasks: (request) =>
      Effect.gen(function*() {
        yield* record("cancelTasks", request)
        for (const id of request.externalIds) {
          const action = lastRetry.get(id)
          if (action !== undefined) yield* push({ ...action, actionType: ActionType.CANCEL_STEP_RUN, actionPayload: "" })
        }
        return request.externalIds
      }),
    replayTasks: (request) => Effect.succeed(request.externalIds),
    putRateLimit: (request) => record("rateLimits", request)
  }

  const events: Events["Type"] = {
    push: (request) =>
      Effect.as(record("pushes", request), {
        tenantId: "tenant",
        eventId: `event-${++taskCounter}`,
        key: request.key,
        payload: request.payload,
        eventTimestamp: request.eventTimestamp,
        additionalMetadata: request.additionalMetadata,
        scope: request.scope
      }),
    bulkPush: (requests) => Effect.forEach(requests, (request) => events.push(request)),
    putLog: (request) => record("logs", request),
    putStreamEvent: (request) => record("streams", request)
  }

  const setPaused = (workerId: string, isPaused: boolean) =>
    Effect.as(record("pauses", { workerId, isPaused }), { metadata: { id: workerId }, name: "fake", type: "SELFHOSTED" })
  const workers: Workers["Type"] = {
    list: () => Effect.succeed({ rows: [] }),
    get: (workerId) => Effect.succeed({ metadata: { id: workerId }, name: "fake", type: "SELFHOSTED" }),
    pause: (workerId) => setPaused(workerId, true),
    unpause: (workerId) => setPaused(workerId, false)
  }

  const waitFor = <A>(f: (calls: Calls) => A | undefined): Effect.Effect<A> =>
    calls.changes.pipe(
      Stream.map(f),
      Stream.filter((a): a is A => a !== undefined),
      Stream.runHead,
      Effect.flatMap((o) => Option.isSome(o) ? Effect.succeed(o.value) : Effect.dieMessage("FakeDispatcher: no more calls"))
    )

  const assign = (assignment: Assignment): Effect.Effect<DispatcherProto.AssignedAction> =>
    Effect.gen(function*() {
      const taskRunExternalId = assignment.taskRunExternalId ?? `task-${++taskCounter}`
      const [workflow, task] = assignment.actionId.split(":")
      const action: DispatcherProto.AssignedAction = {
        tenantId: "tenant",
        workflowRunId: assignment.workflowRunId ?? `run-of-${taskRunExternalId}`,
        getGroupKeyRunId: "",
        jobId: `step-${task}`,
        jobName: task ?? "",
        jobRunId: taskRunExternalId,
        taskId: `step-${task}`,
        taskRunExternalId,
        actionId: assignment.actionId,
        actionType: ActionType.START_STEP_RUN,
        actionPayload: assignment.actionPayload ?? actionPayloadJson({
          input: assignment.input,
          parents: assignment.parents,
          stepRunErrors: assignment.stepRunErrors
        }),
        taskName: task ?? "",
        retryCount: assignment.retryCount ?? 0,
        additionalMetadata: assignment.additionalMetadata ? JSON.stringify(assignment.additionalMetadata) : undefined,
        childWorkflowIndex: assignment.childWorkflowIndex,
        childWorkflowKey: assignment.childWorkflowKey,
        parentWorkflowRunId: assignment.parentWorkflowRunId,
        priority: assignment.priority ?? 1,
        workflowId: `workflow-${workflow}`,
        workflowVersionId: `version-${workflow}`
      }
      lastRetry.set(taskRunExternalId, action)
      yield* push(action)
      return action
    })

  const reportOf = (event: DispatcherProto.StepActionEvent): Report => ({
    type: (StepActionEventType[event.eventType]?.replace("STEP_EVENT_TYPE_", "") ?? "UNKNOWN") as Report["type"],
    retryCount: event.retryCount,
    payload: event.eventPayload,
    shouldNotRetry: event.shouldNotRetry === true
  })
  /** Ties (a frozen `TestClock`) in the order of an attempt's life: acknowledged, started, then the rest. */
  const lifecycle = (event: DispatcherProto.StepActionEvent): number =>
    event.eventType === StepActionEventType.STEP_EVENT_TYPE_ACKNOWLEDGED
      ? 0
      : event.eventType === StepActionEventType.STEP_EVENT_TYPE_STARTED
      ? 1
      : 2
  /**
   * The events the worker made, in the order it made them (by their timestamps): the calls of one
   * round are in flight together, so a fast task's result may arrive before its STARTED.
   */
  const inOrder = (events: ReadonlyArray<DispatcherProto.StepActionEvent>): Array<Report> =>
    events
      .map((event, arrival) => ({ event, arrival, at: event.eventTimestamp?.getTime() ?? 0 }))
      .sort((a, b) => a.at - b.at || lifecycle(a.event) - lifecycle(b.event) || a.arrival - b.arrival)
      .map(({ event }) => reportOf(event))
  const reports = (taskRunExternalId: string) =>
    Effect.map(SubscriptionRef.get(calls), (c) => inOrder(c.events.filter((e) => e.taskRunExternalId === taskRunExternalId)))

  const assignTask = ((definition: Workflow.Definition, ...rest: Array<any>) => {
    const [taskName, options] = (typeof rest[0] === "string" ? [rest[0], rest[1]] : [definition.name, rest[0]]) as [
      string,
      AssignTaskOptions & { readonly input: unknown; readonly parents?: Readonly<Record<string, unknown>> }
    ]
    return Effect.gen(function*() {
      const action = yield* assign({
        actionId: TaskExecution.actionId(definition, taskName, options.namespace),
        actionPayload: yield* encodeActionPayload(definition, options),
        taskRunExternalId: options.taskRunExternalId,
        workflowRunId: options.workflowRunId,
        retryCount: options.retryCount,
        additionalMetadata: options.additionalMetadata,
        priority: options.priority
      })
      const id = action.taskRunExternalId
      const ofAttempt = (event: DispatcherProto.StepActionEvent) =>
        event.taskRunExternalId === id && (event.retryCount === undefined || event.retryCount === action.retryCount)
      const assigned: AssignedTask<unknown, unknown> = {
        taskRunExternalId: id,
        retryCount: action.retryCount,
        action,
        result: Effect.flatMap(
          waitFor((c) =>
            c.events.find((e) =>
              ofAttempt(e) &&
              (e.eventType === StepActionEventType.STEP_EVENT_TYPE_COMPLETED ||
                e.eventType === StepActionEventType.STEP_EVENT_TYPE_FAILED)
            )
          ),
          (event): Effect.Effect<unknown, unknown> =>
            event.eventType === StepActionEventType.STEP_EVENT_TYPE_COMPLETED
              ? Effect.orDie(TaskExecution.decodeOutput(definition, taskName, event.eventPayload))
              : Effect.flatMap(TaskExecution.decodeFailure(definition, taskName, event.eventPayload), Effect.fail)
        ),
        reports: Effect.map(SubscriptionRef.get(calls), (c) => inOrder(c.events.filter(ofAttempt))),
        started: Effect.asVoid(
          waitFor((c) => c.events.find((e) => ofAttempt(e) && e.eventType === StepActionEventType.STEP_EVENT_TYPE_STARTED))
        ),
        cancel: push({ ...action, actionType: ActionType.CANCEL_STEP_RUN, actionPayload: "" })
      }
      return assigned
    })
  }) as FakeDispatcher["assignTask"]

  return {
    layer: Layer.mergeAll(
      Layer.succeed(Dispatcher, dispatcher),
      Layer.succeed(Admin, admin),
      Layer.succeed(Events, events),
      Layer.succeed(Workers, workers)
    ),
    calls: SubscriptionRef.get(calls),
    waitFor,
    waitForEvent: (predicate) => waitFor((c) => c.events.find(predicate)),
    assignTask,
    reports,
    assign,
    cancel: (taskRunExternalId, retryCount) =>
      Effect.suspend(() => {
        const action = lastRetry.get(taskRunExternalId)
        if (action === undefined) return Effect.dieMessage(`FakeDispatcher: task ${taskRunExternalId} was never assigned`)
        return push({
          ...action,
          actionType: ActionType.CANCEL_STEP_RUN,
          actionPayload: "",
          retryCount: retryCount ?? action.retryCount
        })
      }),
    endStream: Effect.flatMap(openStream, (mailbox) => Effect.asVoid(mailbox.end)),
    failStream: (code, details) =>
      Effect.flatMap(
        openStream,
        (mailbox) => Effect.asVoid(mailbox.fail(grpcError("/Dispatcher/ListenV2", code, details ?? "stream failed")))
      ),
    failNextListens: (n, code, details) =>
      Effect.sync(() => {
        listenFailures = { n, code, details: details ?? "listen failed" }
      }),
    setHeartbeat: (behaviour) => Ref.set(heartbeat, behaviour),
    forgetWorkers: Effect.sync(() => knownWorkers.clear()),
    streamOpen: Effect.map(SubscriptionRef.get(stream), Option.isSome),
    setBatchEventsSupported: (supported) =>
      Effect.sync(() => {
        batchEvents = supported
      })
  } satisfies FakeDispatcher
})
