/**
 * Features the engine does not implement are refused at `v1.AdminService/PutWorkflow` with
 * UNIMPLEMENTED, only when a workflow actually uses them: in process under TestClock, and with
 * the exact requests the official TypeScript SDK builds for plain and feature-using workflows.
 */
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import { type CreateTaskOpts, CreateWorkflowVersionRequest, type DeepPartial } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import * as OfficialWire from "@hatchet-dev/typescript-sdk/protoc/v1/workflows.js"
import * as OfficialProto from "@hatchet-dev/typescript-sdk/v1/client/worker/workflow-proto.js"
import * as OfficialSdk from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import { type EngineError, grpcStatusOf } from "../src/internal/domain/errors.js"
import * as Registry from "../src/internal/domain/registry.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

type Harness = Effect.Effect.Success<typeof makeHarness>

const unsupported = (name: string, what: string) => `workflow '${name}' uses a feature the local engine does not support yet: ${what}`

/** The error of a registration that must fail. */
const refusal = (
  h: Harness,
  name: string,
  tasks: ReadonlyArray<DeepPartial<CreateTaskOpts>>,
  extra: DeepPartial<CreateWorkflowVersionRequest> = {}
) =>
  Effect.map(
    Effect.flip(h.putWorkflow(name, tasks, extra)),
    (error: EngineError) => ({ code: grpcStatusOf(error), message: error.message })
  )

const base = (readableDataKey: string, action: Action) => ({ readableDataKey, action, orGroupId: "", expression: "" })

describe("unsupported features", () => {
  it.scoped("each feature, when used, is UNIMPLEMENTED naming the workflow, the task and the feature", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const cases: ReadonlyArray<
        readonly [string, ReadonlyArray<DeepPartial<CreateTaskOpts>>, DeepPartial<CreateWorkflowVersionRequest>, string]
      > = [
        [
          "cron-zone",
          [task("t")],
          { cronTriggers: ["CRON_TZ=Europe/Paris 0 9 * * *"] },
          "the cron trigger 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC (cron_triggers)"
        ]
      ]
      for (const [name, tasks, extra, what] of cases) {
        expect(yield* refusal(h, name, tasks, extra), name).toEqual({ code: Status.UNIMPLEMENTED, message: unsupported(name, what) })
      }
    }))

  it.scoped("several features are listed in one message", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const error = yield* refusal(h, "many", [
        task("a", { conditions: { sleepConditions: [{ base: base("s", Action.QUEUE), sleepFor: "10s" }] } }),
        task("b", { parents: ["a"] }),
        task("c", { isDurable: true, batch: { batchMaxSize: 5 } })
      ], {
        idempotency: { expression: "input.id", ttlMs: 1 },
        cronTriggers: ["CRON_TZ=Europe/Paris 0 9 * * *", "0 12 * * *", "TZ=America/New_York 30 8 * * 1-5"]
      })
      // durable and batch tasks, step conditions and idempotency keys run as upstream's
      expect(error).toEqual({
        code: Status.UNIMPLEMENTED,
        message: "workflow 'many' uses features the local engine does not support yet: " +
          "the cron trigger 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC (cron_triggers); " +
          "the cron trigger 'TZ=America/New_York 30 8 * * 1-5' with a time zone other than UTC (cron_triggers)"
      })
    }))

  it.scoped("the empty defaults SDKs always send are accepted", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const version = yield* h.putWorkflow("defaults", [
        task("a", {
          conditions: { parentOverrideConditions: [], sleepConditions: [], userEventConditions: [] },
          concurrency: [],
          rateLimits: [],
          slotRequests: { default: 1 },
          isDurable: false
        }),
        // conditions without a base are skipped upstream
        task("b", { parents: ["a"], conditions: { sleepConditions: [{ sleepFor: "5s" }] } })
      ], {
        concurrencyArr: [],
        defaultFilters: [{ expression: "true", scope: "tenant-1" }, { expression: " false ", scope: "tenant-2" }],
        cronTriggers: ["0 0 * * *", "TZ=UTC 0 12 * * *"]
      })
      expect(version.steps.map((s) => s.readableId)).toEqual(["a", "b"])
      expect(Registry.unsupportedFeatures(version.request)).toEqual([])
    }))

  it.scoped("upstream's own checks come first; a refused registration stores nothing", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      // an invalid request gets upstream's error, not the refusal
      const invalid = yield* refusal(h, "first", [
        task("t", { isDurable: true, conditions: { sleepConditions: [{ base: base("s", Action.QUEUE), sleepFor: "1d" }] } })
      ])
      expect(invalid.code).toBe(Status.INVALID_ARGUMENT)
      expect(invalid.message).toContain("'CreateWorkflowVersionOpts.Tasks[0].TriggerConditions[0].SleepDuration': Invalid duration")
      // a static rate-limit key that was never created is INTERNAL, as its foreign key upstream
      expect(yield* refusal(h, "first", [task("t", { rateLimits: [{ key: "never-created" }] })])).toEqual({
        code: Status.INTERNAL,
        message: "An internal error occurred."
      })
      // a new workflow refused: it does not exist
      const zone = { cronTriggers: ["CRON_TZ=Europe/Paris 0 9 * * *"] }
      yield* refusal(h, "fresh", [task("t")], zone)
      expect(yield* Effect.flip(h.trigger("fresh"))).toMatchObject({ message: "workflow names not found: fresh" })
      // an existing workflow refused: its latest version stays and still runs
      const v1 = yield* h.putWorkflow("kept", [task("t")])
      yield* refusal(h, "kept", [task("t")], zone)
      const w = yield* h.worker(["kept:t"])
      const runId = yield* h.trigger("kept")
      expect(w.starts()).toHaveLength(1)
      expect((yield* h.getRun(runId)).version.id).toBe(v1.id)
    }))
})

// -----------------------------------------------------------------------------
// the official SDK's requests
// -----------------------------------------------------------------------------

/** The request the official SDK's worker sends for a declaration, as it arrives on the wire. */
const officialRequest = (declaration: Parameters<typeof OfficialProto.workflowToProto>[0]) => {
  const message = OfficialProto.workflowToProto(declaration)
  const bytes = OfficialWire.CreateWorkflowVersionRequest.encode(OfficialWire.CreateWorkflowVersionRequest.fromPartial(message)).finish()
  return CreateWorkflowVersionRequest.decode(bytes)
}

const registerOfficial = (h: Harness, declaration: Parameters<typeof OfficialProto.workflowToProto>[0]) =>
  h.runEither((state, now) => Registry.putWorkflow(state, tenantId, officialRequest(declaration), now))

const noop = async () => ({})

describe("the official SDK's registrations", () => {
  it.scoped("plain declarations (tasks, DAGs, retries, timeouts, on-failure / on-success, events, crons, labels, sticky, priority, slots, concurrency with any CEL) are accepted", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const standalone = OfficialSdk.CreateTaskWorkflow({
        name: "plain-task",
        retries: 3,
        backoff: { factor: 2, maxSeconds: 30 },
        executionTimeout: "5m",
        scheduleTimeout: "1m",
        desiredWorkerLabels: { model: { value: "fancy", required: true } },
        slotCost: 2,
        fn: noop
      })
      const concurrentTask = OfficialSdk.CreateTaskWorkflow({
        name: "plain-concurrency",
        concurrency: [
          { expression: "input.group", limitStrategy: OfficialSdk.ConcurrencyLimitStrategy.CANCEL_NEWEST },
          { expression: "input.region.lowerAscii()", maxRuns: 5 }
        ],
        fn: noop
      })
      const dag = OfficialSdk.CreateWorkflow({
        name: "plain-dag",
        onEvents: ["order:created"],
        onCrons: ["0 * * * *", "*/10 * * * * *"],
        sticky: "soft",
        defaultPriority: 2,
        concurrency: { expression: "input.userId", maxRuns: 2, limitStrategy: OfficialSdk.ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN },
        taskDefaults: { retries: 1 }
      })
      const first = dag.task({ name: "first", fn: noop })
      dag.task({ name: "second", parents: [first], fn: noop })
      dag.onFailure({ fn: noop })
      dag.onSuccess({ fn: noop })
      const versions = []
      for (const declaration of [standalone, dag, concurrentTask]) {
        const request = officialRequest(declaration)
        expect(Registry.unsupportedFeatures(request)).toEqual([])
        versions.push(yield* registerOfficial(h, declaration))
      }
      expect(versions[0]!.steps[0]).toMatchObject({ retries: 3, slotRequests: [["default", 2]] })
      expect(versions[1]!.steps.map((s) => s.readableId)).toEqual(["first", "second", "on-success-task", "on-failure-task"])
      expect(versions[1]!.cronTriggers).toEqual(["0 * * * *", "*/10 * * * * *"])
      expect(versions[1]!.concurrency).toMatchObject([{
        settings: { expression: "input.userId", maxRuns: 2, limitStrategy: "GROUP_ROUND_ROBIN" }
      }])
      expect(versions[2]!.steps[0]!.concurrency).toMatchObject([
        { settings: { expression: "input.group", maxRuns: 1, limitStrategy: "CANCEL_NEWEST" } },
        { settings: { expression: "input.region.lowerAscii()", maxRuns: 5, limitStrategy: "CANCEL_IN_PROGRESS" } }
      ])
    }))

  it.scoped("declarations using an unimplemented feature are refused, naming it", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const waiting = OfficialSdk.CreateWorkflow({ name: "sdk-conditions" })
      const start = waiting.task({ name: "start", fn: noop })
      waiting.task({ name: "later", parents: [start], waitFor: new OfficialSdk.SleepCondition("10s"), fn: noop })
      waiting.task({
        name: "maybe",
        parents: [start],
        skipIf: new OfficialSdk.UserEventCondition("skip:it", ""),
        fn: noop
      })
      const batch = OfficialSdk.CreateWorkflow({ name: "sdk-batch" })
      batch.batchTask({ name: "b", batch: { maxSize: 10 }, fn: noop as never })
      const zoned = OfficialSdk.CreateWorkflow({ name: "sdk-cron-zone", onCrons: ["CRON_TZ=Europe/Paris 0 9 * * *"] })
      zoned.task({ name: "z", fn: noop })
      const idempotent = OfficialSdk.CreateTaskWorkflow(
        {
          name: "sdk-idempotency",
          idempotency: { expression: "input.id", ttlMs: 60_000 },
          fn: noop
        } as Parameters<typeof OfficialSdk.CreateTaskWorkflow>[0]
      )
      const expected: ReadonlyArray<readonly [Parameters<typeof OfficialProto.workflowToProto>[0], string]> = [
        [
          zoned,
          "workflow 'sdk-cron-zone' uses a feature the local engine does not support yet: " +
          "the cron trigger 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC (cron_triggers)"
        ]
      ]
      for (const [declaration, message] of expected) {
        const error = yield* Effect.flip(registerOfficial(h, declaration))
        expect({ code: grpcStatusOf(error), message: error.message }).toEqual({ code: Status.UNIMPLEMENTED, message })
      }
      // idempotency keys, step conditions and batch tasks are supported
      yield* registerOfficial(h, idempotent)
      const conditions = yield* registerOfficial(h, waiting)
      expect(conditions.steps.map((step) => [step.readableId, step.conditions.map((c) => [c.kind, c.action])])).toEqual([
        ["start", []],
        ["later", [["SLEEP", "QUEUE"]]],
        ["maybe", [["USER_EVENT", "SKIP"]]]
      ])
      yield* registerOfficial(h, batch)
    }))
})
