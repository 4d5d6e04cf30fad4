/**
 * Metrics, the CEL debug route, runs triggered over REST and the run-id listing, over loopback:
 * the official SDK's `metrics`, `cel` and `tenant` clients against the engine, and raw REST for
 * what it does not call and for bad input.
 */
import { expect, layer } from "@effect/vitest"
import { ConcurrencyLimitStrategy, RateLimitDuration } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { restCall } from "./support/rest.js"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

layer(InternalEngine.layer({ tenantId: "4c4c4c4c-2222-4222-8222-222222222222" }), { timeout: 60_000, excludeTestServices: true })(
  "metrics and run operations over REST",
  (it) => {
    it.scoped("task metrics, queue metrics, task stats and Prometheus text, with the official metrics client", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const hatchet = Official.client(engine)
        const name = Official.unique("metrics")
        let release = false
        const gated = hatchet.task({
          name,
          concurrency: { expression: "input.group", maxRuns: 1, limitStrategy: ConcurrencyLimitStrategy.GROUP_ROUND_ROBIN },
          fn: async (input: { group: string; fail?: boolean }) => {
            if (input.fail === true) throw new Error("boom")
            while (!release) await sleep(10)
            return {}
          }
        })
        yield* Official.worker(hatchet, `${name}-w`, { workflows: [gated], slots: 5 })
        const since = new Date(Date.now() - 60_000)
        yield* Effect.promise(() => gated.run({ group: "f", fail: true }).catch(() => undefined))
        const refs = yield* Effect.promise(() => Promise.all([gated.runNoWait({ group: "a" }), gated.runNoWait({ group: "a" })]))
        const running = () => Effect.promise(() => hatchet.metrics.getTaskStatusMetrics({ since: since.toISOString() } as never))
        yield* Official.eventually(() => Effect.runPromise(running()).then((m) => ((m as any).running === 1 ? true : undefined)))
        expect(yield* running()).toEqual({ cancelled: 0, completed: 0, failed: 1, queued: 1, running: 1 })

        const stats = (yield* Effect.promise(() => hatchet.metrics.getTaskStats())) as any
        expect(stats[name]).toMatchObject({
          queued: {
            total: 1,
            queues: { [`${name}:${name}`]: 1 },
            concurrency: [{ expression: "input.group", type: "GROUP_ROUND_ROBIN", keys: { a: 1 } }]
          },
          running: { total: 1, concurrency: [{ expression: "input.group", type: "GROUP_ROUND_ROBIN", keys: { a: 1 } }] }
        })
        expect(typeof stats[name].queued.oldest).toBe("string")
        // names asked for are always there
        const named = yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/task-stats?taskNames=nothing-here,${name}`)
        expect(named.body["nothing-here"]).toEqual({ queued: { total: 0 }, running: { total: 0 } })

        const queues = (yield* Effect.promise(() => hatchet.metrics.getQueueMetrics())) as any
        expect(queues).toEqual({ queues: {} })
        const prometheus = String(yield* Effect.promise(() => hatchet.metrics.scrapePrometheusMetrics()))
        expect(prometheus).toContain(`hatchet_tenant_created_tasks{tenant_id="${engine.tenantId}"} 3`)
        expect(prometheus).toContain(`hatchet_tenant_failed_tasks{tenant_id="${engine.tenantId}"} 1`)
        expect(prometheus).toMatch(
          new RegExp(`hatchet_tenant_used_worker_slots\\{tenant_id="${engine.tenantId}",worker_id="[^"]+",worker_name="${name}-w"\\} 1`)
        )
        expect(prometheus).toContain("# TYPE hatchet_tenant_queue_size gauge")

        release = true
        yield* Effect.promise(() => Promise.all(refs.map((ref) => ref.output)))
        expect(yield* running()).toEqual({ cancelled: 0, completed: 2, failed: 1, queued: 0, running: 0 })
        expect(yield* restCall(engine, "GET", `/api/v1/tenants/${engine.tenantId}/queue-metrics`)).toEqual({
          status: 400,
          body: { errors: [{ description: "TenantGetQueueMetrics is deprecated" }] }
        })
        expect((yield* restCall(engine, "GET", `/api/v1/stable/tenants/${engine.tenantId}/task-metrics`)).status).toBe(400)
      }))

    it.scoped("the CEL debug route with the official cel client: SUCCESS with the boolean, ERROR with cel-go's message", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const hatchet = Official.client(engine)
        expect(
          yield* Effect.promise(() =>
            hatchet.cel.debug({
              expression: "input.amount > 10 && payload.region == 'eu'",
              input: { amount: 12 },
              filterPayload: { region: "eu" }
            })
          )
        ).toEqual({ status: "SUCCESS", output: true })
        expect(
          yield* Effect.promise(() =>
            hatchet.cel.debug({ expression: "additional_metadata.source == 'stripe'", input: {}, additionalMetadata: { source: "github" } })
          )
        ).toEqual({ status: "SUCCESS", output: false })
        const notBool = (yield* Effect.promise(() => hatchet.cel.debug({ expression: "input.name", input: { name: "x" } }))) as any
        expect(notBool).toEqual({ status: "ERROR", error: "expression did not evaluate to a boolean: got string" })
        const missing = (yield* Effect.promise(() => hatchet.cel.debug({ expression: "input.nope", input: {} }))) as any
        expect(missing.error).toBe("failed to evaluate expression: no such key: nope")
        const invalid = (yield* Effect.promise(() => hatchet.cel.debug({ expression: "input.", input: {} }))) as any
        expect(invalid.error).toMatch(/^failed to compile expression: ERROR: <input>:1:\d+: Syntax error/)
        const path = `/api/v1/stable/tenants/${engine.tenantId}/cel/debug`
        expect((yield* restCall(engine, "POST", path, { expression: 5, input: {} })).status).toBe(400)
        expect(yield* restCall(engine, "POST", path, "{oops")).toEqual({
          status: 400,
          body: { message: "Syntax error: offset=2, error=invalid character 'o' looking for beginning of object key string" }
        })
      }))

    it.scoped("runs triggered over REST, and the run-id listing by status, workflow and metadata", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const hatchet = Official.client(engine)
        const name = Official.unique("rest-trigger")
        const echo = hatchet.task({ name, fn: async (input: { n: number }) => ({ doubled: input.n * 2 }) })
        yield* Official.worker(hatchet, `${name}-w`, { workflows: [echo], slots: 5 })
        const { metadata: { id: workflowId } } = yield* Effect.promise(() => hatchet.workflows.get(name))
        const since = new Date(Date.now() - 1_000).toISOString()
        const trigger = `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs/trigger`
        const created = yield* restCall(engine, "POST", trigger, {
          workflowName: name,
          input: { n: 21 },
          additionalMetadata: { source: "rest" },
          priority: 2
        })
        expect(created.status).toBe(200)
        expect(created.body.run).toMatchObject({ workflowId, additionalMetadata: { source: "rest" }, input: { n: 21 } })
        const runId = created.body.run.metadata.id as string
        const details = yield* Official.eventually(() =>
          hatchet.runs.get(runId).then((d) => (d.run.status === "COMPLETED" ? d : undefined))
        )
        expect(details.run.output).toEqual({ doubled: 42 })
        const onlyId = yield* restCall(engine, "POST", trigger, { workflowName: name, input: { n: 1 }, return_only_id: true })
        expect(Object.keys(onlyId.body.run)).toEqual(["metadata"])

        const ids = `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs/external-ids?since=${encodeURIComponent(since)}`
        expect((yield* restCall(engine, "GET", `${ids}&workflow_ids=${workflowId}`)).body).toEqual([runId, onlyId.body.run.metadata.id])
        expect((yield* restCall(engine, "GET", `${ids}&additional_metadata=source:rest`)).body).toEqual([runId])
        yield* Official.eventually(() =>
          hatchet.runs.get(onlyId.body.run.metadata.id).then((d) => (d.run.status === "COMPLETED" ? true : undefined))
        )
        expect((yield* restCall(engine, "GET", `${ids}&statuses=QUEUED&workflow_ids=${workflowId}`)).body).toEqual([])
        expect((yield* restCall(engine, "GET", `${ids}&statuses=COMPLETED&workflow_ids=${workflowId}`)).body).toHaveLength(2)
        // unknown statuses are skipped: none left means all
        expect((yield* restCall(engine, "GET", `${ids}&statuses=NOPE&workflow_ids=${workflowId}`)).body).toHaveLength(2)

        // bad input, as upstream answers it
        expect(yield* restCall(engine, "POST", trigger, { workflowName: name, input: {}, priority: 7 })).toEqual({
          status: 400,
          body: { errors: [{ description: "priority must be between 1 and 3, got 7" }] }
        })
        expect(yield* restCall(engine, "POST", trigger, { workflowName: "no-such-workflow", input: {} })).toEqual({
          status: 400,
          body: { errors: [{ description: "workflow names not found: no-such-workflow" }] }
        })
        expect((yield* restCall(engine, "POST", trigger, { workflowName: 3 })).status).toBe(400)
        expect((yield* restCall(engine, "GET", `/api/v1/stable/tenants/${engine.tenantId}/workflow-runs/external-ids`)).status).toBe(400)
        expect((yield* restCall(engine, "GET", `${ids}&workflow_ids=nope`)).status).toBe(400)
      }))

    it.scoped("tenant get and the rate-limit list through the official tenant and ratelimits clients", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const hatchet = Official.client(engine)
        expect(yield* Effect.promise(() => hatchet.tenant.get())).toMatchObject({ metadata: { id: engine.tenantId }, version: "V1" })
        const key = Official.unique("limit")
        yield* Effect.promise(() => hatchet.ratelimits.upsert({ key, limit: 5, duration: RateLimitDuration.MINUTE }))
        const list = yield* Effect.promise(() => hatchet.ratelimits.list({ search: key }))
        expect(list.rows).toEqual([expect.objectContaining({ key, limitValue: 5, value: 5, window: "1 MINUTE" })])
      }))
  }
)
