/**
 * Bad input over loopback gRPC with raw nice-grpc clients: each gets upstream's status code and
 * message, and the engine keeps serving everyone else.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"

const otherTenant = "0b9cf6a5-2222-4222-8222-222222222222"
const missingId = "9d7a1b2c-3333-4333-8333-333333333333"

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const token = `bearer ${Redacted.value(engine.token)}`
  const c = yield* Grpc.clients(engine.grpcAddress, token)
  const name = `bad-input-${Math.random().toString(36).slice(2, 8)}`
  yield* Effect.promise(() =>
    c.admin.putWorkflow({ name, tasks: [{ readableId: "step", action: `${name}:step`, timeout: "60s", inputs: "{}" }] })
  )
  return { engine, c, name }
})

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("gRPC errors", (it) => {
  it.scoped("authentication: missing, malformed, foreign and expired tokens are UNAUTHENTICATED", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const unauthenticated = { code: Status.UNAUTHENTICATED, details: "invalid auth token" }
      const none = yield* Grpc.clients(engine.grpcAddress)
      expect(yield* Grpc.statusOf(() => none.dispatcher.getVersion({}))).toEqual(unauthenticated)
      const garbage = yield* Grpc.clients(engine.grpcAddress, "bearer not-a-jwt")
      expect(yield* Grpc.statusOf(() => garbage.events.push({ key: "k", payload: "{}" }))).toEqual(unauthenticated)
      const wrongScheme = yield* Grpc.clients(engine.grpcAddress, `basic ${Redacted.value(engine.token)}`)
      expect(yield* Grpc.statusOf(() => wrongScheme.admin.getRunDetails({ externalId: missingId }))).toEqual(unauthenticated)
      // a token of another engine (another secret)
      const tampered = Redacted.value(engine.token).slice(0, -4) + "AAAA"
      const forged = yield* Grpc.clients(engine.grpcAddress, `bearer ${tampered}`)
      expect(yield* Grpc.statusOf(() => forged.workflows.triggerWorkflow({ name: "x", input: "{}" }))).toEqual(unauthenticated)
      const expired = yield* engine.mintToken({ expiresIn: "-1 minutes" })
      const old = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(expired)}`)
      expect(yield* Grpc.statusOf(() => old.dispatcher.getVersion({}))).toEqual(unauthenticated)
      // the scheme is case-insensitive on gRPC
      const upper = yield* Grpc.clients(engine.grpcAddress, `Bearer ${Redacted.value(engine.token)}`)
      expect(yield* Effect.promise(() => upper.dispatcher.getVersion({}))).toEqual({ version: "v0.106.5" })
    }))

  it.scoped("worker plane: registration validation, unknown and malformed worker ids", () =>
    Effect.gen(function*() {
      const { c } = yield* setup
      expect(yield* Grpc.statusOf(() => c.dispatcher.register({ workerName: "bad name!", actions: ["a:b"] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details:
          "Invalid request: Validation failed with the following errors:\n0: validation failed on field 'CreateWorkerOpts.Name': Hatchet names must match the regex ^[a-zA-Z0-9\\.\\-_]+$\n"
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.register({ workerName: "w", actions: ["nocolon"] }))).toMatchObject({
        code: Status.INVALID_ARGUMENT,
        details: expect.stringContaining("'CreateWorkerOpts.Actions[0]': Invalid action ID")
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.register({ workerName: "w", slots: 5, slotConfig: { default: 5 } }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "either slot_config or slots (deprecated) must be provided, not both"
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.heartbeat({ workerId: "abc", heartbeatAt: new Date() }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "invalid worker ID format: abc"
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.heartbeat({ workerId: missingId, heartbeatAt: new Date() }))).toEqual({
        code: Status.NOT_FOUND,
        details: `worker not found: ${missingId}`
      })
      expect(yield* Grpc.streamOutcome(c.dispatcher.listenV2({ workerId: missingId }))).toEqual({
        code: Status.NOT_FOUND,
        details: "not found"
      })
      expect(yield* Grpc.streamOutcome(c.dispatcher.listenV2({ workerId: "zzz" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "invalid worker ID format: zzz"
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.unsubscribe({ workerId: missingId }))).toMatchObject({ code: Status.NOT_FOUND })
      expect(yield* Grpc.statusOf(() => c.dispatcher.upsertWorkerLabels({ workerId: missingId, labels: {} }))).toMatchObject({
        code: Status.NOT_FOUND
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.releaseSlot({ taskRunExternalId: missingId }))).toEqual({
        code: Status.NOT_FOUND,
        details: `task run not found: ${missingId}`
      })
      expect(yield* Grpc.statusOf(() => c.dispatcher.refreshTimeout({ taskRunExternalId: missingId, incrementTimeoutBy: "1d" })))
        .toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringContaining("Invalid duration") })
      expect(
        yield* Grpc.statusOf(() =>
          c.dispatcher.sendStepActionEvent({
            taskRunExternalId: missingId,
            eventType: StepActionEventType.STEP_EVENT_TYPE_COMPLETED,
            eventPayload: "{}"
          })
        )
      ).toEqual({ code: Status.INVALID_ARGUMENT, details: `invalid task external run id ${missingId}: no rows in result set` })
      expect(yield* Grpc.statusOf(() => c.dispatcher.sendGroupKeyActionEvent({}))).toMatchObject({ code: Status.UNIMPLEMENTED })
    }))

  it.scoped("registry: PutWorkflow validation as upstream", () =>
    Effect.gen(function*() {
      const { c } = yield* setup
      const task = (over: Record<string, unknown> = {}) => ({ readableId: "a", action: "wf:a", timeout: "60s", inputs: "{}", ...over })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "has space", tasks: [task()] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details:
          "Validation failed with the following errors:\n0: validation failed on field 'CreateWorkflowVersionOpts.Name': Hatchet names must match the regex ^[a-zA-Z0-9\\.\\-_]+$\n"
      })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task({ parents: ["missing"] })] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "dag parent not found: parent step 'missing' not found for step 'a'"
      })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task({ timeout: "1d" })] }))).toMatchObject({
        code: Status.INVALID_ARGUMENT,
        details: expect.stringContaining("'CreateWorkflowVersionOpts.Tasks[0].Timeout': Invalid duration")
      })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task({ action: "" })] }))).toEqual({
        code: Status.INTERNAL,
        details: "An internal error occurred."
      })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [] }))).toMatchObject({ code: Status.INTERNAL })
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({
            name: "wf",
            tasks: [task({ readableId: "a", parents: ["b"] }), task({ readableId: "b", action: "wf:b", parents: ["a"] })]
          })
        )
      ).toMatchObject({ code: Status.INTERNAL })
      // the action is validated after normalisation: service and verb must be non-empty
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task({ action: ":a" })] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details:
          "Validation failed with the following errors:\n0: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].Action': Invalid action ID. Action IDs must be in the format <integrationId>:<verb>\n"
      })
      // the request is converted task by task: task 0's concurrency error before task 1's missing action
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({ name: "wf", tasks: [task({ concurrency: [{ expression: "" }] }), task({ readableId: "b", action: "" })] })
        )
      ).toEqual({ code: Status.INVALID_ARGUMENT, details: "CEL expression is required for concurrency (step a)" })
      // ... and a malformed or-group id is a plain error
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({
            name: "wf",
            tasks: [
              task({ conditions: { sleepConditions: [{ base: { readableDataKey: "s", action: 1, orGroupId: "nope" }, sleepFor: "1s" }] } })
            ]
          })
        )
      ).toEqual({ code: Status.INTERNAL, details: "An internal error occurred." })
      // what the database refuses: duplicate task names, duplicate event triggers
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task(), task()] }))).toMatchObject({
        code: Status.INTERNAL
      })
      expect(yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", eventTriggers: ["e", "e"], tasks: [task()] })))
        .toMatchObject({ code: Status.INTERNAL })
      // a default filter payload must be a JSON object
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({
            name: "wf",
            tasks: [task()],
            defaultFilters: [{ expression: "true", scope: "s", payload: Buffer.from("[1]") }]
          })
        )
      ).toMatchObject({ code: Status.INTERNAL })
      // slot requests and batch settings as the validator reports them (int32 values print as "invalid type")
      expect(
        yield* Grpc.statusOf(() =>
          c.admin.putWorkflow({
            name: "wf",
            tasks: [task({ slotRequests: { "": 1, gpu: 0 }, batch: { batchMaxSize: 0, batchGroupMaxRuns: 20_000 } })]
          })
        )
      ).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Validation failed with the following errors:\n" +
          "0: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].SlotRequests[]': on condition 'required'\n" +
          "1: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].SlotRequests[gpu]': on condition 'gt' [ 0 ]: got invalid type\n" +
          "2: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].BatchConfig.BatchMaxSize': on condition 'required'\n" +
          "3: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].BatchConfig.BatchGroupMaxRuns': on condition 'max' [ 10000 ]: got invalid type\n"
      })
      // a valid workflow using a feature this engine does not implement
      expect(
        yield* Grpc.statusOf(() => c.admin.putWorkflow({ name: "wf", tasks: [task({})], cronTriggers: ["CRON_TZ=Europe/Paris 0 9 * * *"] }))
      ).toEqual({
        code: Status.UNIMPLEMENTED,
        details: "workflow 'wf' uses a feature the local engine does not support yet: " +
          "the cron trigger 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC (cron_triggers)"
      })
      // the legacy WorkflowService/PutWorkflow: no steps is a validation error; concurrency without
      // an expression, or with invalid CEL, is INVALID_ARGUMENT, a valid one is stored (moved onto
      // the single task), the deprecated action-based one is skipped
      const legacy = (opts: Record<string, unknown>) =>
        c.workflows.putWorkflow({
          opts: { name: "legacy", jobs: [{ name: "j", steps: [{ readableId: "s", action: "legacy:s", timeout: "10s" }] }], ...opts }
        })
      expect(yield* Grpc.statusOf(() => legacy({ jobs: [] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details:
          "Validation failed with the following errors:\n0: validation failed on field 'CreateWorkflowVersionOpts.Tasks': on condition 'min' [ 1 ]: got invalid type\n"
      })
      expect(yield* Grpc.statusOf(() => legacy({ concurrency: { maxRuns: 1 } }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "CEL expression is required for concurrency"
      })
      expect(yield* Grpc.statusOf(() => legacy({ concurrency: { expression: "input.g ==" } }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Validation failed with the following errors:\n" +
          "0: validation failed on field 'CreateWorkflowVersionOpts.Concurrency[0].Expression': Invalid CEL expression\n"
      })
      const withConcurrency = yield* Effect.promise(() =>
        legacy({ concurrency: { expression: "input.g == 'x' ? 'x' : 'other'", maxRuns: 2 } })
      )
      expect(withConcurrency.order).toBe(1)
      expect(yield* Grpc.statusOf(() => legacy({ onFailureJob: { name: "f", steps: [] } }))).toMatchObject({ code: Status.INTERNAL })
      const legacyVersion = yield* Effect.promise(() => legacy({ concurrency: { action: "legacy:key", maxRuns: 1 } }))
      expect(legacyVersion.order).toBe(2)
      // rate limits: PutRateLimit needs a key; a legacy step's static key must exist, its expressions are validated
      expect(yield* Grpc.statusOf(() => c.workflows.putRateLimit({ key: "", limit: 1, duration: 0 }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "key is required"
      })
      const limitedStep = (rateLimits: ReadonlyArray<Record<string, unknown>>) => ({
        jobs: [{ name: "j", steps: [{ readableId: "s", action: "legacy:s", timeout: "10s", rateLimits }] }]
      })
      const rateKey = `legacy-key-${Math.random().toString(36).slice(2, 8)}`
      expect(yield* Grpc.statusOf(() => legacy(limitedStep([{ key: rateKey, units: 1 }])))).toMatchObject({ code: Status.INTERNAL })
      expect(yield* Grpc.statusOf(() => legacy(limitedStep([{ key: "k", keyExpr: "input.", units: 1 }])))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Validation failed with the following errors:\n" +
          "0: validation failed on field 'CreateWorkflowVersionOpts.Tasks[0].RateLimits[0].KeyExpr': Invalid CEL expression\n"
      })
      yield* Effect.promise(() => c.workflows.putRateLimit({ key: rateKey, limit: 5, duration: 1 }))
      expect((yield* Effect.promise(() => legacy(limitedStep([{ key: rateKey, units: 1 }])))).order).toBe(3)
      // the same content is the same version; new content is a new version
      const v1 = yield* Effect.promise(() => c.admin.putWorkflow({ name: "versioned", tasks: [task()] }))
      const again = yield* Effect.promise(() => c.admin.putWorkflow({ name: "versioned", tasks: [task()] }))
      const v2 = yield* Effect.promise(() => c.admin.putWorkflow({ name: "versioned", tasks: [task({ retries: 2 })] }))
      expect(again).toEqual(v1)
      expect(v2.workflowId).toBe(v1.workflowId)
      expect(v2.id).not.toBe(v1.id)
    }))

  it.scoped("triggers: unknown workflows, invalid JSON, priority, parent ids", () =>
    Effect.gen(function*() {
      const { c, name } = yield* setup
      // upstream wraps the names error on the single trigger ("could not trigger workflow: %w")
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name: "nope", input: "{}" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "could not trigger workflow: rpc error: code = InvalidArgument desc = workflow names not found: nope"
      })
      expect(
        yield* Grpc.statusOf(() =>
          c.workflows.bulkTriggerWorkflow({ workflows: [{ name, input: "{}" }, { name: "x1", input: "{}" }, { name: "x2", input: "{}" }] })
        )
      ).toEqual({ code: Status.INVALID_ARGUMENT, details: "workflow names not found: x1, x2" })
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{oops" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `payload`"
      })
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{}", additionalMetadata: "[" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `additionalMetadata`"
      })
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{}", priority: 4 }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: priority must be between 1 and 3, got 4"
      })
      expect(yield* Grpc.statusOf(() => c.workflows.triggerWorkflow({ name, input: "{}", parentTaskRunExternalId: missingId }))).toEqual({
        code: Status.NOT_FOUND,
        details: "not found"
      })
      expect(yield* Grpc.statusOf(() => c.admin.triggerWorkflowRun({ workflowName: "nope" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "workflow names not found: nope"
      })
      // the bad calls created nothing; a good one still works
      const ok = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: "{\"a\":1}" }))
      const details = yield* Effect.promise(() => c.admin.getRunDetails({ externalId: ok.workflowRunId }))
      expect(Buffer.from(details.input).toString()).toBe("{\"a\":1}")
      expect(details.done).toBe(false)
    }))

  it.scoped("events, logs, streams, run details and cancel: malformed and unknown ids", () =>
    Effect.gen(function*() {
      const { c } = yield* setup
      expect(yield* Grpc.statusOf(() => c.events.push({ key: "k", payload: "{x" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: invalid json in field `payload`"
      })
      expect(yield* Grpc.statusOf(() => c.events.push({ key: "k", payload: "{}", priority: 9 }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "priority must be between 1 and 3, got 9"
      })
      expect(yield* Grpc.statusOf(() => c.events.bulkPush({ events: [] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "No events to ingest"
      })
      // BulkPush validates each key (go-playground Validate: a 400 DetailedError over a multierror)
      expect(yield* Grpc.statusOf(() => c.events.bulkPush({ events: [{ key: "k", payload: "{}" }, { key: "", payload: "{}" }] })))
        .toEqual({
          code: Status.INVALID_ARGUMENT,
          details: "Invalid request: events failing validation error 400: 1 error occurred:\n" +
            "\t* validation failed on field 'CreateEventOpts.Key': on condition 'required'\n\n"
        })
      // Push does not validate the key
      const blank = yield* Effect.promise(() => c.events.push({ key: "", payload: "{}" }))
      expect(blank.key).toBe("")
      const many = Array.from({ length: 1001 }, () => ({ key: "k", payload: "{}" }))
      expect(yield* Grpc.statusOf(() => c.events.bulkPush({ events: many }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "Invalid request: too many events - 1001 is over maximum (1000)"
      })
      expect(yield* Grpc.statusOf(() => c.events.putLog({ taskRunExternalId: "nope", message: "m" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "task external run id is not a valid uuid"
      })
      expect(yield* Grpc.statusOf(() => c.events.putStreamEvent({ taskRunExternalId: missingId }))).toEqual({
        code: Status.NOT_FOUND,
        details: `task run not found: ${missingId}`
      })
      expect(yield* Grpc.statusOf(() => c.events.replaySingleEvent({ eventId: missingId }))).toMatchObject({ code: Status.UNIMPLEMENTED })
      expect(yield* Grpc.statusOf(() => c.admin.getRunDetails({ externalId: "x" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "invalid external id"
      })
      expect(yield* Grpc.statusOf(() => c.admin.getRunDetails({ externalId: missingId }))).toEqual({
        code: Status.NOT_FOUND,
        details: "workflow run not found"
      })
      expect(yield* Grpc.statusOf(() => c.admin.cancelTasks({ externalIds: ["x"] }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "invalid external id"
      })
      expect(yield* Grpc.streamOutcome(c.dispatcher.subscribeToWorkflowEvents({}))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "either workflow run id or additional meta key-value must be provided"
      })
      expect(yield* Grpc.streamOutcome(c.dispatcher.subscribeToWorkflowEvents({ workflowRunId: "x" }))).toMatchObject({
        code: Status.INVALID_ARGUMENT
      })
      expect(yield* Grpc.statusOf(() => c.durable.registerDurableEvent({ taskId: missingId, signalKey: "k" }))).toEqual({
        code: Status.NOT_FOUND,
        details: `task run not found: ${missingId}`
      })
      expect(yield* Grpc.statusOf(() => c.durable.registerDurableEvent({ taskId: "x", signalKey: "k" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: "task id is not a valid uuid"
      })
    }))

  it.scoped("tenants are isolated: another tenant's workers, runs, tasks and workflows are not found", () =>
    Effect.gen(function*() {
      const { c, engine, name } = yield* setup
      const worker = yield* Effect.promise(() => c.dispatcher.register({ workerName: "a", actions: [`${name}:step`] }))
      const run = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name, input: "{}" }))
      const otherToken = yield* engine.mintToken({ tenantId: otherTenant })
      const b = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(otherToken)}`)
      expect(yield* Grpc.statusOf(() => b.dispatcher.heartbeat({ workerId: worker.workerId, heartbeatAt: new Date() }))).toEqual({
        code: Status.NOT_FOUND,
        details: `worker not found: ${worker.workerId}`
      })
      expect(yield* Grpc.streamOutcome(b.dispatcher.listenV2({ workerId: worker.workerId }))).toEqual({
        code: Status.NOT_FOUND,
        details: "not found"
      })
      expect(yield* Grpc.statusOf(() => b.admin.getRunDetails({ externalId: run.workflowRunId }))).toMatchObject({
        code: Status.NOT_FOUND
      })
      expect(yield* Grpc.statusOf(() => b.workflows.triggerWorkflow({ name, input: "{}" }))).toEqual({
        code: Status.INVALID_ARGUMENT,
        details: `could not trigger workflow: rpc error: code = InvalidArgument desc = workflow names not found: ${name}`
      })
      expect(yield* Grpc.statusOf(() => b.events.putLog({ taskRunExternalId: run.workflowRunId, message: "m" }))).toMatchObject({
        code: Status.NOT_FOUND
      })
      expect(
        yield* Grpc.statusOf(() =>
          b.dispatcher.sendStepActionEvent({
            taskRunExternalId: run.workflowRunId,
            eventType: StepActionEventType.STEP_EVENT_TYPE_FAILED,
            eventPayload: "x"
          })
        )
      ).toMatchObject({ code: Status.INVALID_ARGUMENT })
      expect(
        yield* Grpc.statusOf(() =>
          b.workflows.triggerWorkflow({ name, input: "{}", parentTaskRunExternalId: run.workflowRunId, childIndex: 0 })
        )
      ).toMatchObject({ code: Status.NOT_FOUND })
      // cancelling another tenant's run echoes the id but changes nothing
      yield* Effect.promise(() => b.admin.cancelTasks({ externalIds: [run.workflowRunId] }))
      const details = yield* Effect.promise(() => c.admin.getRunDetails({ externalId: run.workflowRunId }))
      expect(details.done).toBe(false)
    }))

  it.scoped("GetVersion reports a current engine version; DurableTask answers a worker's registration", () =>
    Effect.gen(function*() {
      const { c } = yield* setup
      expect(yield* Effect.promise(() => c.dispatcher.getVersion({}))).toEqual({ version: "v0.106.5" })
      const workerId = "4e3b2a35-9a5a-4a57-8d39-0f1f8f7a1b2c"
      const received: Array<unknown> = []
      expect(
        yield* Grpc.streamOutcome(
          c.durable.durableTask((async function*() {
            yield { registerWorker: { workerId } }
          })()),
          (m) => received.push(m)
        )
      ).toBe("ended")
      expect(received).toMatchObject([{ registerWorker: { workerId } }])
    }))
})
