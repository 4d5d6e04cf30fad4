/**
 * The official SDK's shipped `migration-guides/temporal` example (the Temporal migration guide's
 * Hatchet side), unchanged, on an official worker against an engine whose clock is the test's
 * `TestClock`, triggered with the example's own client. Upstream has no e2e test of it: what its
 * comments say, and upstream engine facts (read in its Go):
 * - `ProcessOrder` (a workflow as a durable task) runs validate, charge and fulfil one after
 *   the other and returns the shipment (`invoke`'s run id and output);
 * - `OnboardingFlow` and `OrderFollowUp` sleep 72 h and 24 h of the engine's clock (their
 *   execution timeouts "cover the whole wall-clock span of the run, sleeps included");
 * - `ApprovalFlow` waits for `approval:granted` whose payload's `correlationId` is its own (a CEL
 *   expression on the event's payload), so another id does not end the wait;
 * - `PackOrder` fans out one `process-item` run per item and counts the packed ones;
 * - `charge-order-with-retries` registers its retries, backoff and timeouts;
 * - `weekly-report` registers its Monday 09:00 cron;
 * - `SyncCustomer` (one run per customer, CANCEL_IN_PROGRESS): the newest run cancels the one in
 *   progress for the same customer;
 * - `call-model`'s `openai` rate limit ("a global budget shared by every worker") does not exist
 *   until it is upserted: its run waits (upstream's scheduler assigns no task whose rate limit
 *   key it cannot find), then runs;
 * - `ProcessOrderDag`: validate → charge → fulfil, each reading its parent's output.
 */
import { expect, layer } from "@effect/vitest"
import { RateLimitDuration } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, TestServices } from "effect"
import { advance } from "./support/clocked.js"
import { waiting } from "./support/durable.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

type Order = { readonly orderId: string }
type Email = { readonly email: string }

interface Temporal {
  readonly hatchet: unknown
  readonly validateOrder: Examples.Runnable<Order>
  readonly chargeOrder: Examples.Runnable<Order>
  readonly fulfillOrder: Examples.Runnable<Order>
  readonly processOrder: Examples.Runnable<Order>
  readonly sendWelcomeEmail: Examples.Runnable<Email>
  readonly sendFollowupEmail: Examples.Runnable<Email>
  readonly onboardingFlow: Examples.Runnable<Email>
  readonly chargeOrderWithRetries: Examples.Runnable<Order>
  readonly orderFollowUp: Examples.Runnable<Order>
  readonly approvalFlow: Examples.Runnable<Order & { correlationId: string }>
  readonly processItem: Examples.Runnable<{ item: string }>
  readonly packOrder: Examples.Runnable<{ items: Array<string> }>
  readonly weeklyReport: Examples.Runnable<{ kind: string }>
  readonly syncCustomer: Examples.Runnable<{ customerId: string }>
  readonly callModel: Examples.Runnable<{ prompt: string }>
  readonly orderWorkflow: Examples.Runnable<Order>
}

const load = Effect.gen(function*() {
  const temporal = yield* Examples.load<Temporal>("migration-guides/temporal.js")
  const { hatchet: _, ...declarations } = temporal
  const { core, hatchet } = yield* Examples.worker("order-worker", Object.values(declarations), { slots: 20 })
  return { core, hatchet, temporal }
})

const hours = (n: number) => n * 3_600_000
/** A real-time pause (the engine's clock, and Effect.sleep's here, is the TestClock). */
const pause = TestServices.provideLive(Effect.sleep("300 millis"))

layer(Examples.engineLive, { timeout: 60_000 })("official SDK examples: migration-guides/temporal", (it) => {
  it.scoped("ProcessOrder, PackOrder and ProcessOrderDag give the shipment, the packed count and each step's output", () =>
    Effect.gen(function*() {
      const { hatchet, temporal } = yield* load
      // `invoke`: runNoWait, the run id, then the output
      const run = yield* Examples.trigger(() => temporal.processOrder.runNoWait({ orderId: "ord-1" }))
      expect(yield* run.output).toEqual({ fulfilled: true, shipmentId: "shp_ord-1" })
      // the three tasks it ran are runs of their own, children of its task (the SDK passes the
      // running task as the parent of a declaration's run())
      for (const name of ["validate-order", "charge-order", "fulfill-order"]) {
        const rows = (yield* Effect.promise(() => hatchet.runs.list({ workflowNames: [name] }))).rows ?? []
        expect(rows.map((r) => [r.status, r.input, r.parentTaskExternalId])).toEqual([["COMPLETED", { orderId: "ord-1" }, run.id]])
      }
      expect((yield* Examples.ended(run.id)).tasks.map((t) => t.numSpawnedChildren)).toEqual([3])
      expect(yield* Effect.promise(() => temporal.packOrder.run({ items: ["a", "b", ""] }))).toEqual({ packed: 2 })
      expect(yield* Effect.promise(() => temporal.orderWorkflow.run({ orderId: "ord-2" }))).toEqual({
        validate: { valid: true },
        charge: { charged: true, amountCents: 2505 },
        fulfill: { fulfilled: true, shipmentId: "shp_ord-2" }
      })
      expect(yield* Effect.promise(() => temporal.orderWorkflow.run({ orderId: "" }))).toEqual({
        validate: { valid: false },
        charge: { charged: false, amountCents: 0 },
        fulfill: { fulfilled: false, shipmentId: "" }
      })
    }))

  it.scoped("OnboardingFlow sleeps 72 h and OrderFollowUp 24 h of the engine's clock", () =>
    Effect.gen(function*() {
      const { core, temporal } = yield* load
      const onboarding = yield* Examples.trigger(() => temporal.onboardingFlow.runNoWait({ email: "a@example.com" }))
      const followUp = yield* Examples.trigger(() => temporal.orderFollowUp.runNoWait({ orderId: "ord-3" }))
      yield* Official.eventually(() =>
        waiting(core, "onboardingflow").length === 1 && waiting(core, "orderfollowup").length === 1 ? true : undefined
      )
      yield* advance(hours(24))
      expect(yield* followUp.output).toEqual({ sent: true })
      yield* advance(hours(47))
      expect(waiting(core, "onboardingflow").length).toBe(1)
      yield* advance(hours(1))
      expect(yield* onboarding.output).toEqual({ sent: true })
    }))

  it.scoped("ApprovalFlow waits for approval:granted with its own correlationId", () =>
    Effect.gen(function*() {
      const { core, hatchet, temporal } = yield* load
      const run = yield* Examples.trigger(() => temporal.approvalFlow.runNoWait({ orderId: "ord-4", correlationId: "corr-4" }))
      yield* Official.eventually(() => (waiting(core, "approvalflow").length === 1 ? true : undefined))
      yield* Effect.promise(() => hatchet.events.push("approval:granted", { correlationId: "corr-other" }))
      yield* pause
      expect(waiting(core, "approvalflow").length).toBe(1)
      // the guide's `grantApproval`
      yield* Effect.promise(() => hatchet.events.push("approval:granted", { correlationId: "corr-4" }))
      expect(yield* run.output).toEqual({ fulfilled: true, shipmentId: "shp_ord-4" })
    }))

  it.scoped("charge-order-with-retries' retries, backoff and timeouts and weekly-report's cron are registered", () =>
    Effect.gen(function*() {
      const { hatchet, temporal } = yield* load
      expect(yield* Effect.promise(() => temporal.chargeOrderWithRetries.run({ orderId: "ord-5" }))).toEqual({
        charged: true,
        amountCents: 2505
      })
      const version = (name: string) =>
        Effect.promise(async () => {
          const workflow = await hatchet.workflows.get(name)
          return (await hatchet.api.workflowVersionGet(workflow.metadata.id)).data
        })
      expect((yield* version("charge-order-with-retries")).workflowConfig).toMatchObject({
        Tasks: [{ Retries: 10, RetryBackoffFactor: 2, RetryBackoffMaxSeconds: 10, Timeout: "30s", ScheduleTimeout: "10m" }]
      })
      const weekly = yield* version("weekly-report")
      expect(weekly.workflowConfig).toMatchObject({ CronTriggers: ["0 9 * * 1"] })
      expect(weekly.triggers?.crons?.map((c) => c.cron)).toEqual(["0 9 * * 1"])
    }))

  it.scoped("SyncCustomer: the newest run for a customer cancels the one in progress", () =>
    Effect.gen(function*() {
      const { syncCustomer } = yield* Examples.load<Temporal>("migration-guides/temporal.js")
      // registered, then no worker: the runs are queued (a run holds its customer's slot at once)
      yield* Effect.scoped(Examples.worker("sync-worker", [syncCustomer]))
      const first = yield* Examples.trigger(() => syncCustomer.runNoWait({ customerId: "cust-1" }))
      const second = yield* Examples.trigger(() => syncCustomer.runNoWait({ customerId: "cust-1" }))
      const other = yield* Examples.trigger(() => syncCustomer.runNoWait({ customerId: "cust-22" }))
      expect((yield* Examples.ended(first.id)).run.status).toBe("CANCELLED")
      yield* Examples.worker("sync-worker", [syncCustomer])
      expect(yield* second.output).toEqual({ sync: { synced: 6 } })
      expect(yield* other.output).toEqual({ sync: { synced: 7 } })
    }))

  it.scoped("call-model waits until its openai rate limit exists, then runs", () =>
    Effect.gen(function*() {
      const { hatchet, temporal } = yield* load
      const run = yield* Examples.trigger(() => temporal.callModel.runNoWait({ prompt: "hello" }))
      yield* pause
      expect((yield* Effect.promise(() => hatchet.runs.get(run.id))).run.status).toBe("QUEUED")
      yield* Effect.promise(() => hatchet.ratelimits.upsert({ key: "openai", limit: 10, duration: RateLimitDuration.MINUTE }))
      expect(yield* run.output).toEqual({ completion: "HELLO" })
    }))
})
