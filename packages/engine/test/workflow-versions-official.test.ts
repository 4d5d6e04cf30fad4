/**
 * `GET /api/v1/workflows/{workflow}/versions` with the official SDK (its legacy
 * `v0.admin.getWorkflowVersion` and the generated `api.workflowVersionGet`) against the local
 * engine: the latest version by default and an older one by id, with the registration as upstream
 * stores it (`workflowConfig`), the triggers, the concurrency settings; raw REST for bad input.
 */
import { expect, layer } from "@effect/vitest"
import { Or } from "@hatchet-dev/typescript-sdk/v1/conditions/index.js"
import { ConcurrencyLimitStrategy } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("workflow versions", (it) => {
  it.scoped("workflowVersionGet: the latest version, an older one by id, as upstream stores the registration", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("versioned")
      const dag = (description: string) => {
        const wf = hatchet.workflow({
          name,
          description,
          on: { event: `${name}:go`, cron: "0 0 * * *" },
          concurrency: { expression: "input.group", maxRuns: 2, limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN },
          defaultPriority: 2,
          sticky: "soft"
        })
        const second = wf.task({ name: "second", fn: async () => ({ b: 1 }) })
        const first = wf.task({
          name: "first",
          retries: 3,
          backoff: { factor: 2 },
          rateLimits: [{ staticKey: `${name}-limit`, units: 1 }],
          desiredWorkerLabels: { model: { value: "gpu", required: true } },
          fn: async () => ({ a: 1 })
        })
        wf.task({ name: "join", parents: [first, second], fn: async () => ({ c: 1 }) })
        wf.task({
          name: "gated",
          parents: [first],
          waitFor: Or({ sleepFor: "10s" }, { eventKey: `${name}:open`, expression: "true" }),
          skipIf: [{ eventKey: `${name}:skip` }],
          fn: async () => ({ d: 1 })
        })
        return wf
      }
      yield* Official.worker(hatchet, `${name}-w1`, { workflows: [dag("first version")], slots: 1 })
      const workflowId = (yield* Effect.promise(() => hatchet.workflows.get(name))).metadata.id
      const { metadata, versions } = (yield* Effect.promise(() => hatchet.api.workflowGet(workflowId))).data
      const firstVersionId = versions![0]!.metadata.id

      const v1 = yield* Effect.promise(() => hatchet.api.workflowVersionGet(metadata.id))
      expect(v1.status).toBe(200)
      expect(v1.data).toMatchObject({
        metadata: { id: firstVersionId },
        version: "",
        order: 1,
        workflowId: "",
        sticky: "soft",
        defaultPriority: 2,
        scheduleTimeout: "5m",
        workflow: { metadata: { id: metadata.id }, name, description: "first version", isPaused: false },
        v1Concurrency: [{ expression: "input.group", maxRuns: 2, limitStrategy: "GROUP_ROUND_ROBIN", scope: "WORKFLOW" }]
      })
      const { crons, events } = v1.data.triggers!
      expect(events).toEqual([{ event_key: `${name}:go`, parent_id: expect.any(String) }])
      expect(crons).toEqual([{ cron: "0 0 * * *", parent_id: events![0]!.parent_id }])
      const config = v1.data.workflowConfig as any
      expect(Object.keys(config)).toEqual(Object.keys(config).sort())
      expect(config).toMatchObject({
        Name: name,
        description: "first version",
        EventTriggers: [`${name}:go`],
        CronTriggers: ["0 0 * * *"],
        Sticky: "SOFT",
        DefaultPriority: 2,
        concurrency: [{ Expression: "input.group", MaxRuns: 2, LimitStrategy: "GROUP_ROUND_ROBIN" }]
      })
      // topological order, ties by name; the official SDK's defaults as it sent them
      expect(config.Tasks.map((t: any) => [t.ReadableId, t.Action, t.Parents])).toEqual([
        ["first", `${name}:first`, []],
        ["second", `${name}:second`, []],
        ["gated", `${name}:gated`, ["first"]],
        ["join", `${name}:join`, ["first", "second"]]
      ])
      // user events, then sleeps; the or-groups numbered in that order (the wait's two share one)
      expect(
        config.Tasks[2].TriggerConditions.map((c: any) => [c.MatchConditionKind, c.Action, c.EventKey, c.SleepDuration, c.OrGroupIdIndex])
      )
        .toEqual([
          ["USER_EVENT", "QUEUE", `${name}:open`, null, 0],
          ["USER_EVENT", "SKIP", `${name}:skip`, null, 1],
          ["SLEEP", "QUEUE", null, "10s", 0]
        ])
      expect(config.Tasks[0]).toMatchObject({
        Retries: 3,
        RetryBackoffFactor: 2,
        RetryBackoffMaxSeconds: 86400,
        RateLimits: [{ Key: `${name}-limit`, Units: 1 }],
        DesiredWorkerLabels: { model: { Key: "model", StrValue: "gpu", Required: true } },
        TriggerConditions: []
      })
      expect(config.Tasks[1]).toMatchObject({ Retries: 0, RetryBackoffFactor: null, DesiredWorkerLabels: null, RateLimits: [] })

      // a second registration with a change is version 2; version 1 is still readable by id
      const again = Official.client(engine)
      yield* Official.worker(again, `${name}-w2`, { workflows: [dag("second version")], slots: 1 })
      const latest = (yield* Effect.promise(() => hatchet.api.workflowVersionGet(metadata.id))).data
      expect(latest).toMatchObject({ order: 2, workflow: { description: "first version" } })
      expect(latest.metadata.id).not.toBe(firstVersionId)
      expect((latest.workflowConfig as any).description).toBe("second version")
      const older = yield* Effect.promise(() => hatchet.v0.admin.getWorkflowVersion(metadata.id, firstVersionId))
      expect(older).toMatchObject({ metadata: { id: firstVersionId }, order: 1, workflow: { description: "first version" } })
      expect((older.workflowConfig as any).description).toBe("first version")
      // the Workflow row keeps its first registration's description (upstream writes it once, in `CreateWorkflow`)
      expect((yield* Effect.promise(() => hatchet.api.workflowGet(metadata.id))).data.description).toBe("first version")
      const listed = (yield* Effect.promise(() => hatchet.workflows.list({ name }))).rows!
      expect(listed.find((w) => w.metadata.id === metadata.id)?.description).toBe("first version")
      // the crons follow the latest version; the older keeps its event refs under its own trigger set
      expect(older.triggers!.crons).toBeUndefined()
      expect(older.triggers!.events![0]!.parent_id).toBe(events![0]!.parent_id)
      expect(latest.triggers!.crons).toEqual([{ cron: "0 0 * * *", parent_id: latest.triggers!.events![0]!.parent_id }])
      expect(latest.triggers!.events![0]!.parent_id).not.toBe(events![0]!.parent_id)
    }))

  it.scoped("a single task holds its workflow's strategy; bad input: an invalid workflow or version id 400, an unknown one 404, another tenant's 403", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("version-errors")
      // one task with a workflow-level strategy: upstream moves the strategy onto the task
      const single = hatchet.workflow({ name, concurrency: { expression: "input.k", maxRuns: 3 } })
      single.task({ name: "only", fn: async () => ({}) })
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [single], slots: 1 })
      const { metadata } = yield* Effect.promise(() => hatchet.workflows.get(name))
      const path = `/api/v1/workflows/${metadata.id}/versions`
      const other = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      expect(yield* restCall(engine, "GET", "/api/v1/workflows/abc/versions")).toEqual({
        status: 400,
        body: { message: "invalid workflow id" }
      })
      expect(yield* restCall(engine, "GET", `/api/v1/workflows/${unknownId}/versions`)).toEqual({
        status: 404,
        body: { message: "not found" }
      })
      expect(yield* restCall(engine, "GET", path, undefined, other)).toEqual({
        status: 403,
        body: { message: "Please provide valid credentials" }
      })
      expect(yield* restCall(engine, "GET", `${path}?version=abc`)).toEqual({
        status: 400,
        body: { message: "Invalid format for parameter version: invalid UUID length: 3" }
      })
      expect(yield* restCall(engine, "GET", `${path}?version=${unknownId}`)).toEqual({
        status: 404,
        body: { errors: [{ description: "version not found" }] }
      })
      // nothing declared: upstream's defaults (no limit strategy sent: null, CANCEL_IN_PROGRESS applied); the strategy is the task's
      const version = (yield* restCall(engine, "GET", path)).body
      expect(version).toMatchObject({
        order: 1,
        defaultPriority: 0,
        triggers: {},
        v1Concurrency: [{ stepReadableId: "only", expression: "input.k", maxRuns: 3, limitStrategy: "CANCEL_IN_PROGRESS", scope: "TASK" }]
      })
      expect(version).not.toHaveProperty("sticky")
      expect(version.workflowConfig).toMatchObject({ Name: name, EventTriggers: null, CronTriggers: null, Sticky: null })
      expect(version.workflowConfig).not.toHaveProperty("concurrency")
      expect(version.workflowConfig.Tasks[0].concurrency).toEqual([{ Expression: "input.k", MaxRuns: 3, LimitStrategy: null }])
    }))
})
