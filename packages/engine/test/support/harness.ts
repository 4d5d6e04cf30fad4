/**
 * In-process harness for rule tests: the engine core under `TestClock`, fake workers that record
 * the actions they receive, and shorthands for registering workflows and triggering runs.
 */
import {
  ActionType,
  type AssignedAction,
  StepActionEventType,
  type WorkflowEvent,
  type WorkflowRunEvent
} from "@effect-hatchet/proto/dispatcher/dispatcher"
import { WorkerRegisterRequest } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { type CreateTaskOpts, CreateWorkflowVersionRequest, type DeepPartial } from "@effect-hatchet/proto/v1/workflows"
import { Effect, Either, TestClock } from "effect"
import * as Core from "../../src/internal/core.js"
import * as Actions from "../../src/internal/domain/actions.js"
import type { EngineState, Task } from "../../src/internal/domain/model.js"
import * as Publish from "../../src/internal/domain/publish.js"
import * as Registry from "../../src/internal/domain/registry.js"
import * as Triggers from "../../src/internal/domain/triggers.js"
import * as Workers from "../../src/internal/domain/workers.js"

export const tenantId = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

export const task = (readableId: string, opts: DeepPartial<CreateTaskOpts> = {}): DeepPartial<CreateTaskOpts> => ({
  readableId,
  timeout: "60s",
  inputs: "{}",
  ...opts
})

export interface FakeWorker {
  readonly id: string
  readonly received: Array<AssignedAction>
  readonly starts: () => Array<AssignedAction>
  readonly cancels: () => Array<AssignedAction>
  readonly heartbeat: Effect.Effect<void, unknown>
  readonly closeStream: Effect.Effect<void>
}

/** The harness over a core built with `options` (e.g. `workerLiveness`). */
export const makeHarnessWith = (options: Core.CoreOptions = {}) =>
  Effect.gen(function*() {
    const core = yield* Core.make({ tenantIds: [tenantId], ...options })
    const run = core.run
    const runEither = core.runEither

    const putWorkflow = (
      name: string,
      tasks: ReadonlyArray<DeepPartial<CreateTaskOpts>>,
      extra: DeepPartial<CreateWorkflowVersionRequest> = {}
    ) =>
      runEither((state, now) =>
        Registry.putWorkflow(
          state,
          tenantId,
          CreateWorkflowVersionRequest.fromPartial({
            name,
            tasks: tasks.map((t) => ({ action: `${name}:${t.readableId}`, ...t })),
            ...extra,
            ...(extra.onFailureTask !== undefined
              ? { onFailureTask: { action: `${name}:${extra.onFailureTask.readableId}`, ...extra.onFailureTask } }
              : {})
          }),
          now
        )
      )

    const trigger = (name: string, input: unknown = {}, extra: DeepPartial<TriggerWorkflowRequest> = {}) =>
      runEither((state, now) =>
        Either.map(
          Triggers.toEither(Triggers.triggerWorkflows(
            state,
            tenantId,
            [TriggerWorkflowRequest.fromPartial({ name, input: JSON.stringify(input), ...extra })],
            now
          )),
          (ids) => ids[0]!
        )
      )

    const worker = (actions: ReadonlyArray<string>, slots = 100, labels: Record<string, { strValue?: string; intValue?: number }> = {}) =>
      Effect.gen(function*() {
        const registered = yield* runEither((state, now) =>
          Workers.registerWorker(
            state,
            tenantId,
            WorkerRegisterRequest.fromPartial({ workerName: "fake", actions: [...actions], slotConfig: { default: slots }, labels }),
            now
          )
        )
        const received: Array<AssignedAction> = []
        const session = {
          id: `session-${registered.id}`,
          workerId: registered.id,
          establishedAt: 0,
          legacy: false,
          send: (action: AssignedAction) => {
            received.push(action)
            return true
          },
          close: () => {}
        }
        yield* run((state, now) => Workers.openSession(state, registered, { ...session, establishedAt: now }, now))
        const heartbeat = runEither((state, now) => Workers.heartbeat(state, tenantId, registered.id, now))
        yield* heartbeat
        const fake: FakeWorker = {
          id: registered.id,
          received,
          starts: () => received.filter((a) => a.actionType === ActionType.START_STEP_RUN),
          cancels: () => received.filter((a) => a.actionType === ActionType.CANCEL_STEP_RUN),
          heartbeat,
          closeStream: core.runSync((state, now) => {
            for (const s of [...registered.sessions.values()]) Workers.closeSession(state, registered, s, now)
          })
        }
        return fake
      })

    /** A worker's step action event for `action`'s attempt (as SendStepActionEvent). */
    const report = (
      action: AssignedAction,
      eventType: StepActionEventType,
      payload: string,
      shouldNotRetry = false,
      eventTimestamp?: Date
    ) =>
      runEither((state, now) =>
        Actions.stepActionEvent(state, tenantId, {
          taskRunExternalId: action.taskRunExternalId,
          eventType,
          eventPayload: payload,
          retryCount: action.retryCount,
          shouldNotRetry,
          eventTimestamp
        }, now)
      )
    const complete = (action: AssignedAction, output: string) => report(action, StepActionEventType.STEP_EVENT_TYPE_COMPLETED, output)
    const fail = (action: AssignedAction, message: string, shouldNotRetry = false) =>
      report(action, StepActionEventType.STEP_EVENT_TYPE_FAILED, message, shouldNotRetry)

    /** Advances the clock in steps, heartbeating the given workers so they stay alive. */
    const advance = (ms: number, alive: ReadonlyArray<FakeWorker> = [], step = 4_000) =>
      Effect.gen(function*() {
        let left = ms
        while (left > 0) {
          const d = Math.min(step, left)
          yield* TestClock.adjust(d)
          yield* Effect.yieldNow()
          for (const w of alive) yield* Effect.ignore(w.heartbeat)
          left -= d
        }
        yield* Effect.yieldNow()
      })

    const getRun = (runId: string) => core.runSync((state) => state.runsById.get(runId)!)
    const taskOf = (runId: string, readableId: string) =>
      core.runSync((state): Task => {
        const r = state.runsById.get(runId)!
        return r.tasks.get(r.version.stepsByReadableId.get(readableId)!.id)!
      })

    /** Collects WorkflowRunEvents for a run. */
    const awaitRun = (runId: string) =>
      core.runSync((state, now) => {
        const events: Array<WorkflowRunEvent> = []
        Publish.subscribeRun(state, runId, { send: (e) => events.push(e) }, now)
        return events
      })

    const watchEvents = (runId: string) =>
      core.runSync((state) => {
        const events: Array<WorkflowEvent> = []
        const sub = { send: (e: WorkflowEvent) => events.push(e), close: () => {} }
        Publish.addEventSubscriber(state, runId, sub)
        return events
      })

    return {
      core,
      state: core.state as EngineState,
      run,
      runEither,
      putWorkflow,
      trigger,
      worker,
      report,
      complete,
      fail,
      advance,
      getRun,
      taskOf,
      awaitRun,
      watchEvents
    }
  })

export const makeHarness = makeHarnessWith()

export const payloadOf = (action: AssignedAction) => JSON.parse(action.actionPayload)
