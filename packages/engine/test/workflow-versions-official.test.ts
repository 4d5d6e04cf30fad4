/**
 * `GET /api/v1/workflows/{workflow}/versions` with the official SDK (its legacy
 * `v0.admin.getWorkflowVersion` and the generated `api.workflowVersionGet`) against the local
 * engine: the latest version by default and an older one by id, with the registration as upstream
 * stores it (`workflowConfig`), the triggers, the concurrency settings; raw REST for bad input.
 */
import { Action } from "@effect-hatchet/proto/v1/shared/condition"
import { expect, layer } from "@effect/vitest"
import { Or } from "@hatchet-dev/typescript-sdk/v1/conditions/index.js"
import { ConcurrencyLimitStrategy } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"
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

  it.scoped("a worker restarting with an unchanged workflow keeps its version, as upstream's checksum decides; a changed or-group makes a new one", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const name = Official.unique("restarted")
      // the official SDK draws fresh or-group UUIDs at each registration; this one also lists the
      // tasks in another order, and gives a `considerEventsSince` (which upstream does not store)
      const register = (
        options: { readonly roots: "first-then-second" | "second-then-first"; readonly since: string; readonly split: boolean }
      ) =>
        Effect.gen(function*() {
          const hatchet = Official.client(engine)
          const wf = hatchet.workflow({ name })
          const order = options.roots === "first-then-second" ? ["first", "second"] : ["second", "first"]
          const roots = new Map(order.map((task) => [task, wf.task({ name: task, fn: async () => ({ task }) })]))
          const sleep = { sleepFor: "10s" as const }
          const event = { eventKey: `${name}:open`, expression: "true" }
          wf.task({
            name: "gated",
            parents: [roots.get("first")!],
            waitFor: options.split ? [sleep, event] : Or(sleep, event),
            skipIf: [{ eventKey: `${name}:skip`, considerEventsSince: options.since }],
            fn: async () => ({})
          })
          yield* Effect.scoped(Official.worker(hatchet, `${name}-w`, { workflows: [wf], slots: 1 }))
          return hatchet
        })
      const versions = (hatchet: Official.Client) =>
        Effect.gen(function*() {
          const { metadata } = yield* Effect.promise(() => hatchet.workflows.get(name))
          const workflow = (yield* Effect.promise(() => hatchet.api.workflowGet(metadata.id))).data
          const latest = (yield* Effect.promise(() => hatchet.api.workflowVersionGet(metadata.id))).data
          // the workflow shows its latest version (upstream's `ToWorkflow`)
          expect(workflow.versions!.map((v) => [v.metadata.id, v.order])).toEqual([[latest.metadata.id, latest.order]])
          return latest
        })

      const hatchet = yield* register({ roots: "first-then-second", since: "2026-01-01T00:00:00Z", split: false })
      const once = yield* versions(hatchet)
      expect(once.order).toBe(1)

      yield* register({ roots: "second-then-first", since: "2026-06-01T00:00:00Z", split: false })
      expect(yield* versions(hatchet)).toEqual(once)

      // the sleep and the event no longer share a group: a change of the workflow
      yield* register({ roots: "first-then-second", since: "2026-01-01T00:00:00Z", split: true })
      const split = yield* versions(hatchet)
      expect(split.order).toBe(2)
      expect(split.metadata.id).not.toBe(once.metadata.id)
      const groups = (latest: typeof split) =>
        (latest.workflowConfig as any).Tasks.find((t: any) => t.ReadableId === "gated").TriggerConditions.map((c: any) => [
          c.MatchConditionKind,
          c.Action,
          c.OrGroupIdIndex
        ])
      expect(groups(once)).toEqual([["USER_EVENT", "QUEUE", 0], ["USER_EVENT", "SKIP", 1], ["SLEEP", "QUEUE", 0]])
      expect(groups(split)).toEqual([["USER_EVENT", "QUEUE", 0], ["USER_EVENT", "SKIP", 1], ["SLEEP", "QUEUE", 2]])
      // and registering the changed workflow again keeps that one
      yield* register({ roots: "second-then-first", since: "2026-06-01T00:00:00Z", split: true })
      expect(yield* versions(hatchet)).toEqual(split)
    }))

  it.scoped("over raw gRPC: a condition without an or-group (empty or nil) is a group of its own, as one with an id of its own; the on-failure task's groups are not counted", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const name = Official.unique("raw-groups")
      const ids = ["0b6c2a5e-8c1d-4f3a-9e2b-7d4c1a2b3c4d", "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"]
      const base = (orGroupId: string, readableDataKey: string) => ({ readableDataKey, action: Action.QUEUE, orGroupId, expression: "" })
      const register = (sleepGroup: string, eventGroup: string, onFailureGroups: readonly [string, string]) =>
        Effect.promise(() =>
          c.admin.putWorkflow({
            name,
            tasks: [
              { readableId: "a", action: `${name}:a`, timeout: "60s" },
              {
                readableId: "b",
                action: `${name}:b`,
                timeout: "60s",
                parents: ["a"],
                conditions: {
                  sleepConditions: [{ base: base(sleepGroup, "nap"), sleepFor: "10s" }],
                  userEventConditions: [{ base: base(eventGroup, "go"), userEventKey: `${name}:go` }],
                  parentOverrideConditions: []
                }
              }
            ],
            onFailureTask: {
              readableId: "failed",
              action: `${name}:failed`,
              timeout: "60s",
              conditions: {
                sleepConditions: [
                  { base: base(onFailureGroups[0], "short"), sleepFor: "1s" },
                  { base: base(onFailureGroups[1], "long"), sleepFor: "2s" }
                ],
                userEventConditions: [],
                parentOverrideConditions: []
              }
            }
          })
        )
      const first = yield* register("", "00000000-0000-0000-0000-000000000000", [ids[0]!, ids[1]!])
      // ids of their own (one braced and upper-case, which Go's uuid.Parse reads as the same UUID), on-failure groups merged
      const again = yield* register(`{${ids[0]!.toUpperCase()}}`, ids[1]!, [ids[0]!, ids[0]!])
      expect(again.id).toBe(first.id)
      const path = `/api/v1/workflows/${first.workflowId}`
      const latest = () =>
        restCall(engine, "GET", path).pipe(Effect.map(({ body }) => body.versions.map((v: any) => [v.metadata.id, v.order])))
      expect(yield* latest()).toEqual([[first.id, 1]])
      // the sleep and the event in one group: a new version
      const shared = yield* register(ids[1]!, ids[1]!, [ids[0]!, ids[1]!])
      expect(shared.id).not.toBe(first.id)
      expect(yield* latest()).toEqual([[shared.id, 2]])
      const config = (yield* restCall(engine, "GET", `${path}/versions`)).body.workflowConfig
      expect(config.Tasks[1].TriggerConditions.map((c: any) => c.OrGroupIdIndex)).toEqual([0, 0])
      expect(config.onFailureJob.TriggerConditions.map((c: any) => c.OrGroupIdIndex)).toEqual([0, 0])
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
