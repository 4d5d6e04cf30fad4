/**
 * A worker, assembled from its parts: its settings and routes, its shared state, log shipping,
 * step action events, slots, task attempts (and batches, and durable attempts), its connection to
 * the engine, and its drain. Each part is a module of its own; this one wires them in the order
 * their scopes must close.
 */
import type * as DispatcherProto from "@effect-hatchet/proto/dispatcher/dispatcher"
import { ActionType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { Admin } from "../Admin.js"
import { Dispatcher } from "../Dispatcher.js"
import { Events } from "../Events.js"
import { GrpcTransport } from "../GrpcTransport.js"
import { HatchetConfig } from "../HatchetConfig.js"
import type { WorkerSettings, WorkerShape } from "../Worker.js"
import { Workers } from "../Workers.js"
import type { Definition } from "../Workflow.js"
import * as ActionEvents from "./actionEvents.js"
import * as AttemptReport from "./attemptReport.js"
import * as Batches from "./batch.js"
import { directEventCalls } from "./dispatcher.js"
import * as DurableAttempts from "./durableAttempts.js"
import { CALL_TIMEOUT, callEngine } from "./engineCall.js"
import * as EventLoopLag from "./eventLoopLag.js"
import * as LogShipping from "./logShipping.js"
import { ENVELOPE_BYTES } from "./payload.js"
import { reportRetry, retryAfterFailure } from "./retry.js"
import * as SlotPools from "./slotPools.js"
import * as TaskAttempts from "./taskAttempts.js"
import * as TaskFibers from "./taskFibers.js"
import * as TaskRoutes from "./taskRoutes.js"
import * as WorkerConnection from "./workerConnection.js"
import * as WorkerDrain from "./workerDrain.js"
import type { WorkerError } from "./workerError.js"
import * as WorkerLabels from "./workerLabels.js"
import * as WorkerOptions from "./workerOptions.js"
import * as WorkerState from "./workerState.js"

export { WorkerError } from "./workerError.js"
export { WorkerStatus } from "./workerStatus.js"

/** Starts a worker in the current scope (see `Worker.make`). */
export const make = (
  options: WorkerSettings & { readonly workflows: ReadonlyArray<Definition> }
): Effect.Effect<WorkerShape, WorkerError, Scope.Scope | Dispatcher | Admin | Events | Workers> =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    const admin = yield* Admin
    const events = yield* Events
    const workers = yield* Workers
    const config = yield* Effect.serviceOption(HatchetConfig)
    const transport = yield* Effect.serviceOption(GrpcTransport)

    const settings = yield* WorkerOptions.resolve(options, config)
    const { maxMessageBytes, workerName } = settings
    const routes = yield* TaskRoutes.make(options.workflows, {
      namespace: settings.namespace,
      slots: settings.slots,
      durableSlots: settings.durableSlots,
      hasTransport: Option.isSome(transport)
    })
    const state = yield* WorkerState.make(settings.labels)

    // log shipping (made first: its finalizer, which flushes the queue, runs last)
    const logs = yield* LogShipping.make({ events, bufferSize: settings.logBufferSize })
    // step action events (before the task fibers: closed after them)
    const actionEvents = yield* ActionEvents.make({
      dispatcher,
      maxBatchBytes: maxMessageBytes - ENVELOPE_BYTES,
      // the deadline is the call's own (a hung call fails DEADLINE_EXCEEDED, and is retried)
      timeout: CALL_TIMEOUT,
      call: (_method, effect) => retryAfterFailure(effect, reportRetry),
      direct: directEventCalls(dispatcher)
    })
    // the attempts' fibers (keyed by task run in `state.attempts`)
    const tasks = yield* TaskFibers.make
    const slots = yield* SlotPools.make(settings.slots, settings.durableSlots)
    // one DurableTask stream for the worker (after the task fibers: closed before them)
    const durable = routes.hasDurable && Option.isSome(transport)
      ? yield* DurableAttempts.make({ state, transport: transport.value, durableSlots: settings.durableSlots }).pipe(
        Effect.annotateLogs({ "hatchet.worker": workerName })
      )
      : undefined
    const upsertLabels = WorkerLabels.upsert(state, dispatcher)
    const attempts = yield* TaskAttempts.make({
      state,
      tasks,
      routes: routes.routes,
      slots,
      reporter: AttemptReport.make({ actionEvents, clock: yield* Effect.clock, workerName }),
      logs,
      durable,
      dispatcher,
      admin,
      events,
      upsertLabels,
      workerName,
      namespace: settings.namespace,
      maxMessageBytes
    })
    // batch tasks (internal/batch.ts): one fiber and one slot per batch
    const batches = Batches.make({
      workerName,
      dispatcher,
      maxMessageBytes,
      envelopeBytes: ENVELOPE_BYTES,
      call: callEngine,
      route: (actionId) => routes.routes.get(actionId),
      launch: attempts.launch,
      closing: () => state.phase === "closing",
      log: (taskRunExternalId) => logs.sink({ taskRunExternalId, retryCount: 0 })
    })
    const handleAction = (workerId: string, action: DispatcherProto.AssignedAction): Effect.Effect<void> => {
      switch (action.actionType) {
        case ActionType.START_STEP_RUN:
          return attempts.start(workerId, action)
        case ActionType.START_BATCH:
          return batches.start(workerId, action)
        case ActionType.CANCEL_STEP_RUN:
          return Effect.flatMap(batches.cancel(action), (handled) => handled ? Effect.void : attempts.cancel(action))
        default:
          return Effect.logWarning(`ignoring an unsupported assignment type ${action.actionType} for ${action.actionId}`)
      }
    }

    const pauseIntake = WorkerDrain.pauseIntake(workers, state)
    const connection = WorkerConnection.make({
      state,
      settings,
      routes,
      dispatcher,
      admin,
      transport,
      pauseIntake,
      handleAction
    })
    yield* connection.start
    const loop = yield* connection.run.pipe(Effect.interruptible, Effect.forkScoped)
    const eventLoop = yield* EventLoopLag.monitor({ threshold: settings.eventLoopBlockThreshold }).pipe(
      Effect.annotateLogs({ "hatchet.worker": workerName })
    )

    // the drain (registered last: runs first when the scope closes)
    yield* Effect.addFinalizer(() =>
      WorkerDrain.drain({
        state,
        dispatcher,
        pauseIntake,
        tasks,
        actionEvents,
        durable,
        logs,
        connection: loop,
        grace: settings.grace,
        workerName
      })
    )

    return {
      name: workerName,
      actions: routes.actions,
      slots: settings.slots,
      labels: settings.labels,
      currentLabels: Effect.sync(() => state.labels),
      upsertLabels,
      slotsInUse: Effect.sync(slots.held),
      workerId: Ref.get(state.workerId),
      status: SubscriptionRef.get(state.status),
      statusChanges: state.status.changes,
      runningTasks: Effect.sync(() => state.attempts.size),
      durableWaiting: Effect.sync(() => {
        let waiting = 0
        for (const attempt of state.attempts.values()) if (attempt.durableWaits > 0) waiting++
        return waiting
      }),
      eventLoop
    } satisfies WorkerShape
  })
