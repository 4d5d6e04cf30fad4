/**
 * `Dispatcher/SendBatchActionEvent` over loopback gRPC: one event type for many tasks, as upstream's
 * `sendBatchActionEventV1` (every id must parse or nothing is applied; unknown tasks are skipped;
 * only STARTED, COMPLETED, FAILED and CANCELLED).
 */
import { type AssignedAction, StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { RunStatus } from "@effect-hatchet/proto/v1/workflows"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"

const missingId = "9d7a1b2c-3333-4333-8333-333333333333"
const { STEP_EVENT_TYPE_ACKNOWLEDGED, STEP_EVENT_TYPE_COMPLETED, STEP_EVENT_TYPE_FAILED, STEP_EVENT_TYPE_STARTED } = StepActionEventType

/** A worker with a listen stream, and `count` runs assigned to it. */
const assigned = (count: number) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
    const name = `batch-${Math.random().toString(36).slice(2, 8)}`
    yield* Effect.promise(() =>
      c.admin.putWorkflow({ name, tasks: [{ readableId: "step", action: `${name}:step`, timeout: "60s", inputs: "{}" }] })
    )
    const { workerId } = yield* Effect.promise(() =>
      c.dispatcher.register({ workerName: "batch", actions: [`${name}:step`], slotConfig: { default: 10 } })
    )
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const iterator = c.dispatcher.listenV2({ workerId }, { signal: controller.signal })[Symbol.asyncIterator]()
    const first = iterator.next() // opens the stream
    yield* Effect.promise(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }))
    const runs = yield* Effect.promise(() =>
      c.workflows.bulkTriggerWorkflow({
        workflows: Array.from({ length: count }, () => ({ name, input: "{}", desiredWorkerLabels: {} }))
      })
    )
    const actions: Array<AssignedAction> = [(yield* Effect.promise(() => first)).value]
    while (actions.length < count) actions.push((yield* Effect.promise(() => iterator.next())).value)
    return { c, workerId, runIds: runs.workflowRunIds, actions }
  })

const batch = (
  workerId: string,
  eventType: StepActionEventType,
  items: ReadonlyArray<{ taskRunExternalId: string; eventPayload?: string; retryCount?: number; shouldNotRetry?: boolean }>
) => ({
  workerId,
  jobId: "",
  actionId: "",
  eventTimestamp: new Date(),
  eventType,
  items: items.map((item) => ({ eventPayload: "", ...item }))
})

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("SendBatchActionEvent", (it) => {
  it.scoped("applies one event to every task of the batch, skipping unknown tasks", () =>
    Effect.gen(function*() {
      const { actions, c, runIds, workerId } = yield* assigned(3)
      const ids = actions.map((a) => a.taskRunExternalId)
      yield* Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_STARTED, ids.map((id) => ({ taskRunExternalId: id }))))
      )
      const response = yield* Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_COMPLETED, [
          { taskRunExternalId: ids[0], eventPayload: `{"n":0}`, retryCount: 0 },
          { taskRunExternalId: missingId, eventPayload: "{}", retryCount: 0 },
          { taskRunExternalId: ids[1], eventPayload: "not json", retryCount: 0 }
        ]))
      )
      expect(response.workerId).toBe(workerId)
      yield* Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_FAILED, [
          { taskRunExternalId: ids[2], eventPayload: "boom", retryCount: 0, shouldNotRetry: true }
        ]))
      )
      const details = yield* Effect.forEach(runIds, (id) => Effect.promise(() => c.admin.getRunDetails({ externalId: id })))
      const outcomes = new Map(details.map((d) => {
        const task = Object.values(d.taskRuns)[0]!
        return [task.externalId, { status: d.status, output: new TextDecoder().decode(task.output), error: task.error }]
      }))
      const outcome = (taskRunExternalId: string) => outcomes.get(taskRunExternalId)!
      expect(outcome(ids[0])).toMatchObject({ status: RunStatus.COMPLETED, output: `{"n":0}` })
      // invalid output JSON turns COMPLETED into FAILED, as for SendStepActionEvent
      expect(outcome(ids[1]).status).toBe(RunStatus.FAILED)
      // should_not_retry per item: failed at once, no retry
      expect(outcome(ids[2])).toMatchObject({ status: RunStatus.FAILED, error: "boom" })
    }))

  it.scoped("rejects the whole batch for a malformed id or an unsupported event type", () =>
    Effect.gen(function*() {
      const { actions, c, runIds, workerId } = yield* assigned(1)
      const id = actions[0].taskRunExternalId
      expect(
        yield* Grpc.statusOf(() =>
          c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_COMPLETED, [
            { taskRunExternalId: id, eventPayload: "{}" },
            { taskRunExternalId: "not-a-uuid", eventPayload: "{}" }
          ]))
        )
      ).toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringContaining("invalid task external run id not-a-uuid") })
      expect(
        yield* Grpc.statusOf(() =>
          c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_ACKNOWLEDGED, [{ taskRunExternalId: id }]))
        )
      ).toEqual({ code: Status.INVALID_ARGUMENT, details: "invalid batch action event type STEP_EVENT_TYPE_ACKNOWLEDGED" })
      // nothing was applied: the task is still running, and completes normally
      expect((yield* Effect.promise(() => c.admin.getRunDetails({ externalId: runIds[0] }))).status).toBe(RunStatus.RUNNING)
      yield* Effect.promise(() => c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_COMPLETED, [])))
      yield* Effect.promise(() =>
        c.dispatcher.sendBatchActionEvent(batch(workerId, STEP_EVENT_TYPE_COMPLETED, [{ taskRunExternalId: id, eventPayload: "{}" }]))
      )
      expect((yield* Effect.promise(() => c.admin.getRunDetails({ externalId: runIds[0] }))).status).toBe(RunStatus.COMPLETED)
    }))
})
