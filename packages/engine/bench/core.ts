/**
 * Dispatch capacity of the engine core alone (no gRPC, no SDK): `BENCH_TASKS` runs triggered in
 * bulk, a fake worker with `BENCH_SLOTS` slots completing every START as it arrives. Shows that
 * queueing and assignment stay linear in the number of tasks. With `BENCH_DYNAMIC_KEYS=1` each
 * task has a dynamic rate-limit key of its own (`input.user`, limit 10 a second), the backlog
 * that made every assignment pass read the whole queue. Then the time of the run list's domain
 * query over everything the core holds (newest 50 of the last hour, as the SDKs ask), p50 and
 * p99 of 200 calls.
 */
import { type AssignedAction, StepActionEventType, WorkerRegisterRequest } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { TriggerWorkflowRequest } from "@effect-hatchet/proto/v1/shared/trigger"
import { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import { Effect } from "effect"
import * as Core from "../src/internal/core.js"
import * as Actions from "../src/internal/domain/actions.js"
import * as Queries from "../src/internal/domain/queries.js"
import * as Registry from "../src/internal/domain/registry.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import * as Workers from "../src/internal/domain/workers.js"

const total = Number(process.env.BENCH_TASKS ?? 50_000)
const slots = Number(process.env.BENCH_SLOTS ?? 100)
const dynamicKeys = process.env.BENCH_DYNAMIC_KEYS === "1"
const tenantId = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

const program = Effect.gen(function*() {
  // BENCH_RETAIN=N keeps N finished runs (the engine's count retention); everything by default
  const retain = process.env.BENCH_RETAIN === undefined ? Infinity : Number(process.env.BENCH_RETAIN)
  const core = yield* Core.make({
    tenantIds: [tenantId],
    retention: { maxAgeMs: Infinity, maxRuns: retain, workerMaxAgeMs: Infinity, maxInactiveWorkers: Infinity }
  })
  yield* core.runEither((state, now) =>
    Registry.putWorkflow(
      state,
      tenantId,
      CreateWorkflowVersionRequest.fromPartial({
        name: "noop",
        tasks: [{
          readableId: "t",
          action: "noop:t",
          timeout: "60s",
          rateLimits: dynamicKeys ? [{ key: "user", keyExpr: "input.user", units: 1, limitValuesExpr: "10", duration: 0 }] : []
        }]
      }),
      now
    )
  )
  const inbox: Array<AssignedAction> = []
  const worker = yield* core.runEither((state, now) =>
    Workers.registerWorker(
      state,
      tenantId,
      WorkerRegisterRequest.fromPartial({ workerName: "w", actions: ["noop:t"], slotConfig: { default: slots } }),
      now
    )
  )
  yield* core.runEither((state, now) => {
    Workers.openSession(state, worker, {
      id: "s",
      workerId: worker.id,
      establishedAt: now,
      legacy: false,
      send: (a) => inbox.push(a) > 0,
      close: () => {}
    }, now)
    return Workers.heartbeat(state, tenantId, worker.id, now)
  })
  const started = performance.now()
  for (let offset = 0; offset < total; offset += 500) {
    const size = Math.min(500, total - offset)
    yield* core.runEither((state, now) =>
      Triggers.toEither(Triggers.triggerWorkflows(
        state,
        tenantId,
        Array.from({ length: size }, (_, i) =>
          TriggerWorkflowRequest.fromPartial({ name: "noop", input: JSON.stringify({ user: `u${offset + i}` }) })),
        now
      ))
    )
  }
  const triggered = performance.now()
  let completed = 0
  while (completed < total) {
    yield* core.runEither((state, now) => Workers.heartbeat(state, tenantId, worker.id, now))
    const batch = inbox.splice(0, inbox.length)
    if (batch.length === 0) throw new Error(`stalled after ${completed} tasks`)
    for (const action of batch) {
      yield* core.runEither((state, now) =>
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
  const listMs: Array<number> = []
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    yield* core.run((state, now) => Queries.listRuns(state, tenantId, { since: now - 3_600_000, limit: 50, offset: 0 }))
    listMs.push(performance.now() - t0)
  }
  listMs.sort((a, b) => a - b)
  // retention sweeps run on the timer fiber, a second after the count is exceeded
  if (retain !== Infinity) yield* Effect.sleep("1100 millis")
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const tenant = core.state.tenants.get(tenantId)!
  console.log(JSON.stringify(
    {
      tasks: total,
      slots,
      dynamicKeys,
      listMs: { p50: Number(listMs[100]!.toFixed(3)), p99: Number(listMs[198]!.toFixed(3)) },
      held: {
        runs: core.state.runsById.size,
        tasks: core.state.tasksByExternalId.size,
        listed: tenant.runs.size,
        timers: core.state.timers.size,
        heapMiB: gc === undefined ? undefined : Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1))
      },
      triggerSeconds: Number(((triggered - started) / 1000).toFixed(2)),
      totalSeconds: Number(((finished - started) / 1000).toFixed(2)),
      tasksPerSecond: Math.round(total / ((finished - started) / 1000))
    },
    null,
    2
  ))
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
