/**
 * Workers: the tenant's list `GET /api/v1/tenants/{tenant}/worker` (`WorkerList`),
 * `GET /api/v1/workers/{worker}` (`Worker` with its registered workflows), and
 * `PATCH /api/v1/workers/{worker}` (`{isPaused}`: the official worker pauses itself when it
 * stops). Routes keyed by the worker take the tenant from it.
 *
 * @internal
 */
import { HttpRouter } from "@effect/platform"
import { Effect } from "effect"
import * as Queries from "../../domain/queries.js"
import * as Workers from "../../domain/workers.js"
import { json, jsonBody, lookupWith, parseQuery, resourceRoute, runDomain, tenantRoute } from "../rest.js"
import * as Views from "../views.js"

/** Workers across tenants: the tenant comes from the worker. */
const lookupWorker = lookupWith(Queries.findWorkerAnyTenant)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant/worker",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* parseQuery((q) => ({ offset: q.int("offset") ?? 0, limit: q.int("limit") ?? 10_000 }))
        return yield* runDomain((state, now) => {
          const all = Queries.listWorkers(state, tenantId)
          const rows = all.slice(query.offset, query.offset + query.limit).map((worker) => Views.worker(state, worker, now))
          return json({ rows, pagination: Views.pagesOf(all.length, query.limit, query.offset) })
        })
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/workers/:worker",
    resourceRoute("worker", "invalid worker id", lookupWorker, (worker) =>
      runDomain((state, now) =>
        json(Views.workerDetails(state, worker, now, state.tenants.get(worker.tenantId)?.workflowsById.values() ?? []))
      ))
  ),
  HttpRouter.patch(
    "/api/v1/workers/:worker",
    resourceRoute("worker", "invalid worker id", lookupWorker, (worker) =>
      Effect.gen(function*() {
        const body = yield* jsonBody
        const isPaused = typeof body === "object" && body !== null ? (body as { isPaused?: unknown }).isPaused : undefined
        return yield* runDomain((state, now) => {
          if (typeof isPaused === "boolean") Workers.setPaused(state, worker, isPaused)
          return json(Views.worker(state, worker, now))
        })
      }))
  )
)
