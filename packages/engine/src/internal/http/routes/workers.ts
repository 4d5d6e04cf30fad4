/**
 * `PATCH /api/v1/workers/{worker}` (`{isPaused}`): the official worker pauses itself when it
 * stops. The tenant comes from the worker.
 *
 * @internal
 */
import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import { EngineCore } from "../../core.js"
import * as Queries from "../../domain/queries.js"
import * as Workers from "../../domain/workers.js"
import { json, jsonBody, resourceRoute, runDomain } from "../rest.js"
import * as Views from "../views.js"

export const lookupWorker = (id: string) =>
  Effect.map(EngineCore, (core) => {
    const worker = Queries.findWorkerAnyTenant(core.state, id)
    return worker === undefined ? undefined : { tenantId: worker.tenantId, resource: worker }
  })

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/workers/:worker",
    resourceRoute("worker", "invalid worker id", lookupWorker, (worker) =>
      runDomain((_state, now) => json(Views.worker(worker, now))))
  ),
  HttpRouter.patch(
    "/api/v1/workers/:worker",
    resourceRoute("worker", "invalid worker id", lookupWorker, (worker) =>
      Effect.gen(function*() {
        const body = yield* jsonBody
        const isPaused = typeof body === "object" && body !== null ? (body as { isPaused?: unknown }).isPaused : undefined
        return yield* runDomain((state, now) => {
          if (typeof isPaused === "boolean") Workers.setPaused(state, worker, isPaused)
          return json(Views.worker(worker, now))
        })
      }))
  )
)
