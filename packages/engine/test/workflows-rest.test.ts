/**
 * Workflow routes over loopback with the official SDK's `workflows` client (get, list, delete)
 * and raw REST for bad input: a deleted workflow leaves the lists, cannot be triggered, takes its
 * crons and scheduled runs with it, and its name can be registered anew.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Redacted, Scope } from "effect"
import * as Engine from "../src/Engine.js"
import { EngineCore } from "../src/internal/core.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("workflow routes", (it) => {
  it.scoped("workflows.get / list / delete with the official client: a deleted workflow is gone, with its crons and schedules", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("deletable")
      const task = hatchet.task({ name, fn: async () => ({ ok: true }) })
      // the first worker stops before the name is registered anew (both would serve its action)
      const firstWorker = yield* Effect.acquireRelease(
        Scope.make(),
        (scope) => Scope.close(scope, Exit.void)
      )
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [task], slots: 5 }).pipe(Scope.extend(firstWorker))
      const workflow = yield* Effect.promise(() => hatchet.workflows.get(name))
      yield* Effect.promise(() => hatchet.crons.create(name, { name: "nightly", expression: "0 0 * * *", input: {} }))
      yield* Effect.promise(() => hatchet.scheduled.create(name, { triggerAt: new Date(Date.now() + 3_600_000), input: {} }))
      const core = yield* EngineCore
      const tenant = core.state.tenants.get(engine.tenantId)!
      expect([...tenant.crons.values()].filter((c) => c.workflow.id === workflow.metadata.id)).toHaveLength(1)

      yield* Effect.promise(() => hatchet.workflows.delete(name))
      expect((yield* Effect.promise(() => hatchet.workflows.list({ name }))).rows).toEqual([])
      expect(yield* restCall(engine, "GET", `/api/v1/workflows/${workflow.metadata.id}`)).toEqual({
        status: 404,
        body: { message: "not found" }
      })
      expect([...tenant.crons.values()].filter((c) => c.workflow.id === workflow.metadata.id)).toEqual([])
      expect([...tenant.scheduled.values()].filter((s) => s.workflow.id === workflow.metadata.id)).toEqual([])
      const triggered = yield* Effect.promise(() => task.run({}).then(() => undefined, (error: unknown) => String(error)))
      expect(triggered).toContain("not found")

      // the name is free again: registering it makes a new workflow that runs
      yield* Scope.close(firstWorker, Exit.void)
      const again = Official.client(engine)
      const anew = again.task({ name, fn: async () => ({ again: true }) })
      yield* Official.worker(again, `${name}-w2`, { workflows: [anew], slots: 5 })
      const fresh = yield* Effect.promise(() => again.workflows.get(name))
      expect(fresh.metadata.id).not.toBe(workflow.metadata.id)
      expect(yield* Effect.promise(() => anew.run({}))).toEqual({ again: true })
    }))

  it.scoped("DELETE bad input: an invalid id 400, an unknown or deleted one 404, another tenant's 403", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("delete-errors")
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [hatchet.task({ name, fn: async () => ({}) })], slots: 1 })
      const { metadata } = yield* Effect.promise(() => hatchet.workflows.get(name))
      const other = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      expect(yield* restCall(engine, "DELETE", "/api/v1/workflows/abc")).toEqual({ status: 400, body: { message: "invalid workflow id" } })
      expect(yield* restCall(engine, "DELETE", `/api/v1/workflows/${unknownId}`)).toEqual({ status: 404, body: { message: "not found" } })
      expect(yield* restCall(engine, "DELETE", `/api/v1/workflows/${metadata.id}`, undefined, other)).toEqual({
        status: 403,
        body: { message: "Please provide valid credentials" }
      })
      expect(yield* restCall(engine, "DELETE", `/api/v1/workflows/${metadata.id}`)).toEqual({ status: 204, body: undefined })
      expect(yield* restCall(engine, "DELETE", `/api/v1/workflows/${metadata.id}`)).toEqual({ status: 404, body: { message: "not found" } })
    }))
})
