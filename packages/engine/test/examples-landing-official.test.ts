/**
 * The official SDK's shipped `legacy`, `landing_page`, `rate_limit`, `support_agent_tools` and
 * `migration-guides/mergent` examples, unchanged, on official workers against this engine,
 * triggered with the official client. Upstream has no e2e test of any of them: what their `run`
 * scripts print and their comments say, and upstream engine facts (read in its Go):
 * - legacy: the v0 `steps` workflow (the SDK turns it into a v1 DAG) gives `step2` the output
 *   of `step1` (`run.js` prints `res.step2`), and runs on its `user:create` event;
 * - landing_page: `event-signaling`'s task runs on its event; `flow-control`'s task waits while
 *   its `api_throttle` rate limit does not exist (upstream's scheduler assigns no task whose
 *   rate limit key it cannot find), then takes one unit per run; `scheduling` (imported once the
 *   task is registered) schedules it for tomorrow and creates its `every-day` cron, both with
 *   its input; `task-routing` registers the task wanting `cpu: 2x` when imported (a new version:
 *   the cron moves to it, the schedule stays on its own, as upstream's queries do) and its runs
 *   prefer a worker so labelled;
 *   `durable-excution` and `queues` declare and run their tasks only in `main()` (no worker
 *   anywhere): not run;
 * - rate_limit: importing it upserts `api-service-rate-limit`, 10 per second (its tasks are not
 *   exported, so not run);
 * - support_agent_tools: the three tools, registered as `worker.js` does, answer from their
 *   fixtures; each registers its zod input validator as the workflow's input JSON schema, which
 *   the engine stores and does not enforce, as upstream (`mcpTool`, which needs `@openai/agents`
 *   or the Claude agent SDK, is not installed);
 * - migration-guides/mergent: `image-processor` returns the processed URL with the size, format
 *   and filters (its `schedule()` is not exported).
 */
import { expect, layer } from "@effect/vitest"
import { RateLimitDuration } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect } from "effect"
import * as InternalEngine from "../src/internal/engine.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Message = { readonly Message: string }

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })(
  "official SDK examples: legacy, landing page, rate limits, tools, mergent",
  (it) => {
    it.scoped("legacy: the v0 steps workflow gives step2 step1's output, run directly and on its event", () =>
      Effect.gen(function*() {
        const { simple } = yield* Examples.load<{ simple: { id: string } }>("legacy/workflow.js")
        const { hatchet } = yield* Examples.worker("legacy-worker", [simple])
        const result = yield* Effect.promise(() => hatchet.run(simple as never, { Message: "hello" }))
        expect(result).toEqual({ step1: { step1: "original input: hello" }, step2: { step2: "step1 output: original input: hello" } })
        const event = yield* Effect.promise(() => hatchet.events.push("user:create", { Message: "from event" }))
        const row = yield* Official.eventually(() =>
          hatchet.runs.list({ triggeringEventExternalId: event.eventId }).then((l) => l.rows?.find((r) => r.status === "COMPLETED"))
        )
        const wf = yield* Effect.promise(() => hatchet.workflows.get("legacy-workflow"))
        const ver = yield* Effect.promise(() => hatchet.api.workflowVersionGet(wf.metadata.id).then((r) => r.data))
        // the v0 definition's description and event trigger, on the workflow and its version
        expect(wf.description).toBe("test")
        expect(ver.triggers?.events?.map((e) => e.event_key)).toEqual(["user:create"])
        expect(row.input).toEqual({ Message: "from event" })
        expect(row.children?.find((t) => t.actionId === "legacy-workflow:step2")?.output).toEqual({
          step2: "step1 output: original input: from event"
        })
      }))
    it.scoped("landing_page: a task on its event; runs held while their rate limit does not exist; a schedule and a cron", () =>
      Effect.gen(function*() {
        const signaling = yield* Examples.load<{ simple: Examples.Runnable<Message> }>("landing_page/event-signaling.js")
        const { hatchet } = yield* Examples.worker("event-signaling-worker", [signaling.simple])
        const event = yield* Effect.promise(() => hatchet.events.push("user:created", { Message: "Signal" }))
        const signalled = yield* Official.eventually(() =>
          hatchet.runs.list({ triggeringEventExternalId: event.eventId }).then((l) => l.rows?.find((r) => r.status === "COMPLETED"))
        )
        expect(signalled.output).toEqual({ TransformedMessage: "signal" })

        // flow-control's `simple` replaces event-signaling's (same name): one unit of `api_throttle` per run
        const flow = yield* Examples.load<{ simple: Examples.Runnable<Message & { user_id: string }> }>("landing_page/flow-control.js")
        yield* Examples.worker("flow-control-worker", [flow.simple], { slots: 5 })
        const runs = yield* Effect.all(
          ["a", "b", "c"].map((user_id) => Examples.trigger(() => flow.simple.runNoWait({ Message: "Flow", user_id })))
        )
        const statuses = Effect.forEach(runs, (run) => Effect.promise(() => hatchet.runs.get(run.id).then((d) => d.run.status)))
        yield* Effect.sleep("300 millis")
        expect(yield* statuses).toEqual(["QUEUED", "QUEUED", "QUEUED"])
        yield* Effect.promise(() => hatchet.ratelimits.upsert({ key: "api_throttle", limit: 2, duration: RateLimitDuration.MINUTE }))
        yield* Official.eventually(() =>
          Effect.runPromise(statuses).then((s) => (s.filter((x) => x === "COMPLETED").length === 2 ? s : undefined))
        )
        yield* Effect.sleep("300 millis")
        expect([...(yield* statuses)].sort()).toEqual(["COMPLETED", "COMPLETED", "QUEUED"])
        expect((yield* Effect.promise(() => hatchet.ratelimits.list({ search: "api_throttle" }))).rows).toEqual([
          expect.objectContaining({ key: "api_throttle", limitValue: 2, value: 0, window: "1 MINUTE" })
        ])

        const before = Date.now()
        yield* Examples.load("landing_page/scheduling.js")
        const scheduled = yield* Official.eventually(() =>
          hatchet.schedules.list({ workflow: "simple" }).then((l) => (l.rows?.length === 1 ? l.rows[0] : undefined))
        )
        expect(scheduled.input).toEqual({ Message: "Hello, World!" })
        const tomorrow = new Date(scheduled.triggerAt).getTime() - before
        expect(tomorrow).toBeGreaterThanOrEqual(24 * 3600_000)
        expect(tomorrow).toBeLessThan(24 * 3600_000 + 60_000)
        const cron = yield* Official.eventually(() =>
          hatchet.crons.list({ workflow: "simple" }).then((l) => (l.rows?.length === 1 ? l.rows[0] : undefined))
        )
        expect(cron).toMatchObject({ name: "every-day", cron: "0 0 * * *", input: { Message: "Hello, World!" }, enabled: true })
      }))

    it.scoped("landing_page/task-routing: the task registered on import prefers the worker labelled cpu 2x", () =>
      Effect.gen(function*() {
        // importing it creates (never starts) a worker, which registers the task and adds signal handlers
        const signals = ["SIGTERM", "SIGINT"] as const
        const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]))
        const { simple } = yield* Examples.load<{ simple: Examples.Runnable<Message> }>("landing_page/task-routing.js")
        const { hatchet } = yield* Examples.client
        const desired = yield* Official.eventually(async () => {
          const workflow = await hatchet.workflows.get("simple")
          const version = await hatchet.api.workflowVersionGet(workflow.metadata.id).then((r) => r.data)
          return JSON.stringify(version).includes("2x") ? version : undefined
        })
        // the REST-created cron (landing_page/scheduling, the test before) moves to the new version
        // (upstream createWorkflowVersionTxs: MoveCronTriggerToNewWorkflowTriggers); the schedule
        // stays on its version: MoveScheduledTriggerToNewWorkflowTriggers joins its parentId to a
        // WorkflowTriggers id, but that column holds a WorkflowVersion id (its foreign key), so it
        // moves nothing
        expect(desired.triggers?.crons?.map((c) => c.cron)).toEqual(["0 0 * * *"])
        const schedules = (yield* Effect.promise(() => hatchet.schedules.list({ workflow: "simple" }))).rows ?? []
        expect(schedules).toHaveLength(1)
        expect(schedules[0]!.workflowVersionId).not.toBe(desired.metadata.id)
        expect(desired.workflowConfig).toMatchObject({
          Tasks: [{ Action: "simple:simple", DesiredWorkerLabels: { cpu: { Key: "cpu", StrValue: "2x", Required: null } } }]
        })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l)
          })
        )
        yield* Examples.worker("task-routing-1x", [simple], { labels: { cpu: "1x" } })
        yield* Examples.worker("task-routing-2x", [simple], { labels: { cpu: "2x" } })
        // both listed ACTIVE with their label before any run is queued
        const twoX = yield* Official.eventually(async () => {
          const active = ((await hatchet.workers.list()).rows ?? []).filter((w) => w.status === "ACTIVE" && (w.labels ?? []).length > 0)
          return active.length === 2 ? active.find((w) => w.name === "task-routing-2x")?.metadata.id : undefined
        })
        const runs = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => Examples.trigger(() => simple.runNoWait({ Message: `Route ${i}` })))
        )
        for (const run of runs) {
          expect(yield* run.output).toEqual({ TransformedMessage: expect.stringMatching(/^route \d$/) })
          const details = yield* Examples.ended(run.id)
          expect(new Set(details.taskEvents.flatMap((e) => (e.workerId === undefined ? [] : [e.workerId])))).toEqual(new Set([twoX]))
        }
      }))

    it.scoped("rate_limit: importing it upserts api-service-rate-limit, 10 per second", () =>
      Effect.gen(function*() {
        yield* Examples.load("rate_limit/workflow.js")
        const { hatchet } = yield* Examples.client
        const rows = yield* Official.eventually(() =>
          hatchet.ratelimits.list({ search: "api-service-rate-limit" }).then((l) => (l.rows?.length ? l.rows : undefined))
        )
        expect(rows).toEqual([expect.objectContaining({ key: "api-service-rate-limit", limitValue: 10, value: 10, window: "1 SECOND" })])
      }))

    it.scoped("support_agent_tools: the three tools answer from their fixtures; their zod validators are the input schemas", () =>
      Effect.gen(function*() {
        const tools = yield* Examples.load<{
          lookupCustomer: Examples.Runnable<{ customerId: string }>
          checkOrderStatus: Examples.Runnable<{ orderId: string }>
          createTicket: Examples.Runnable<{ customerId: string; orderId: string; subject: string; body: string; priority: string }>
        }>("support_agent_tools/tools.js")
        const { hatchet } = yield* Examples.worker("support-tools-worker", [
          tools.lookupCustomer,
          tools.checkOrderStatus,
          tools.createTicket
        ])
        const [alice, unknown, order, missing, ticket] = yield* Effect.promise(() =>
          Promise.all([
            tools.lookupCustomer.run({ customerId: "C-100" }),
            tools.lookupCustomer.run({ customerId: "C-999" }),
            tools.checkOrderStatus.run({ orderId: "ORD-9987" }),
            tools.checkOrderStatus.run({ orderId: "ORD-0000" }),
            tools.createTicket.run({ customerId: "C-100", orderId: "ORD-9987", subject: "Late", body: "Where is it?", priority: "high" })
          ])
        )
        expect(alice).toMatchObject({ customerId: "C-100", name: "Alice Martin", supportTier: "priority", defaultOrderId: "ORD-9987" })
        expect(unknown).toMatchObject({ customerId: "C-999", accountStatus: "not_found" })
        expect(order).toMatchObject({ orderId: "ORD-9987", status: "delayed", carrier: "FastShip" })
        expect(missing).toMatchObject({ orderId: "ORD-0000", status: "not_found", knownIssue: null })
        expect(ticket).toEqual({
          ticketId: "TICKET-C-100-001",
          status: "open",
          priority: "high",
          routingTeam: "shipping-support",
          summary: "Ticket TICKET-C-100-001 created for C-100 regarding order ORD-9987: Late"
        })
        const schemas = yield* Effect.forEach(
          ["lookup-customer", "check-order-status", "create-ticket"],
          (name) =>
            Effect.promise(async () => {
              const workflow = await hatchet.workflows.get(name)
              return (await hatchet.api.workflowVersionGet(workflow.metadata.id)).data.inputJsonSchema
            })
        )
        // the schema is stored, not enforced (upstream reads it only for the REST view): an input
        // without customerId runs, and the task answers for an unknown customer
        const bad = yield* Examples.trigger(() => tools.lookupCustomer.runNoWait({} as never))
        expect(yield* bad.output).toMatchObject({ name: "Unknown", accountStatus: "not_found" })
        const object = (properties: ReadonlyArray<string>) => ({
          type: "object",
          properties: Object.fromEntries(properties.map((p) => [p, { type: "string" }])),
          required: properties,
          additionalProperties: false
        })
        expect(schemas).toEqual([
          expect.objectContaining(object(["customerId"])),
          expect.objectContaining(object(["orderId"])),
          expect.objectContaining(object(["customerId", "orderId", "subject", "body", "priority"]))
        ])
      }))

    it.scoped("migration-guides/mergent: image-processor returns the processed URL, size, format and filters", () =>
      Effect.gen(function*() {
        const { imageProcessor } = yield* Examples.load<
          { imageProcessor: Examples.Runnable<{ imageUrl: string; filters: Array<string> }> }
        >(
          "migration-guides/mergent.js"
        )
        yield* Examples.worker("mergent-worker", [imageProcessor])
        const result = yield* Effect.promise(() => imageProcessor.run({ imageUrl: "https://example.com/image.png", filters: ["blur"] }))
        expect(result).toEqual({
          processedUrl: "https://example.com/image.png",
          metadata: { size: 100, format: "png", appliedFilters: ["blur"] }
        })
      }))
  }
)
