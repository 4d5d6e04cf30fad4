/**
 * Dispatch capacity of the engine core alone (no gRPC, no SDK): `BENCH_TASKS` runs triggered in
 * bulk, a fake worker with `BENCH_SLOTS` slots completing every START as it arrives. Shows that
 * queueing and assignment stay linear in the number of tasks.
 */
import { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import { StepActionEventType, WorkerRegisterRequest, type AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { Effect } from "effect"
import * as Core from "../src/internal/core.js"
import * as Actions from "../src/internal/domain/actions.js"
import * as Registry from "../src/internal/domain/registry.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import * as Workers from "../src/internal/domain/workers.js"

const total = Number(process.env.BENCH_TASKS ?? 50_000)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
const tenantId = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

const program = Effect.gen(function*() {
  const core = yield* Core.make({ tenantIds: [tenantId] })
  yield* core.run((state, now) =>
    Registry.putWorkflow(state, tenantId, CreateWorkflowVersionRequest.fromPartial({
      name: "noop",
      tasks: [{ readableId: "t", action: "noop:t", timeout: "60s" }]
    }), now)
  )
  const inbox: Array<AssignedAction> = []
  const worker = yield* core.run((state, now) =>
    Workers.registerWorker(state, tenantId, WorkerRegisterRequest.fromPartial({ workerName: "w", actions: ["noop:t"], slotConfig: { default: slots } }), now)
  )
  yield* core.run((state, now) => {
    Workers.openSession(state, worker, { id: "s", workerId: worker.id, establishedAt: now, legacy: false, send: (a) => inbox.push(a) > 0, close: () => {} }, now)
    Workers.heartbeat(state, tenantId, worker.id, now)
  })
  const started = performance.now()
  for (let offset = 0; offset < total; offset += 500) {
    const size = Math.min(500, total - offset)
    yield* core.run((state, now) =>
      Triggers.triggerWorkflows(state, tenantId, Array.from({ length: size }, () => TriggerWorkflowRequest.fromPartial({ name: "noop", input: "{}" })), now)
    )
  }
  const triggered = performance.now()
  let completed = 0
  while (completed < total) {
    yield* core.run((state, now) => Workers.heartbeat(state, tenantId, worker.id, now))
    const batch = inbox.splice(0, inbox.length)
    if (batch.length === 0) throw new Error(`stalled after ${completed} tasks`)
    for (const action of batch) {
      yield* core.run((state, now) =>
        Actions.stepActionEvent(state, tenantId, {
          taskRunExternalId: action.taskRunExternalId,
          eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
          eventPayload: "{}",
          retryCount: action.retryCount
        }, now)
      )
      completed++
    }
  }
  const finished = performance.now()
  console.log(JSON.stringify({
    tasks: total,
    slots,
    triggerSeconds: Number(((triggered - started) / 1000).toFixed(2)),
    totalSeconds: Number(((finished - started) / 1000).toFixed(2)),
    tasksPerSecond: Math.round(total / ((finished - started) / 1000))
  }, null, 2))
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
