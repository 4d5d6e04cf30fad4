/**
 * Workers (upstream `api/v1/server/handlers/workers`): the tenant's list
 * `GET /api/v1/tenants/{tenant}/worker` (`WorkerList`: the workers with a heartbeat in the last
 * 24 hours, newest first; `offset`, `limit` (10,000 by default), `statuses`, `labels` as
 * `key:value`, all of which must match), `GET /api/v1/workers/{worker}` (`Worker` with its
 * registered workflows), and `PATCH /api/v1/workers/{worker}` (`{isPaused}`: the official worker
 * pauses itself when it stops). Routes keyed by the worker take the tenant from it.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Go } from "../../domain/goJson.js"
import type { Worker } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import * as Workers from "../../domain/workers.js"
import {
  apiError,
  decodeBody,
  internalServerError,
  json,
  lookupWith,
  nullable,
  parseQuery,
  resourceRoute,
  runDomain,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

/** A worker listed upstream has heartbeated within a day (`LastHeartbeatAfter`). */
const listedWithinMs = 24 * 60 * 60 * 1000

/** `labels` filters `key:value` (split at the first colon, both sides non-empty), else 400. */
const labelFilters = (labels: ReadonlyArray<string>) =>
  Either.all(labels.map((label) => {
    const index = label.indexOf(":")
    return index <= 0 || index === label.length - 1
      ? Either.left(apiError(400, `invalid label filter format: ${label}, expected key:value`))
      : Either.right([label.slice(0, index), label.slice(index + 1)] as const)
  }))

const hasLabel = (w: Worker, key: string, value: string) => {
  const label = w.labels.get(key)
  return label !== undefined && (label.strValue === value || (label.intValue !== undefined && `${label.intValue}` === value))
}

/** `UpdateWorkerRequest`. */
const UpdateWorker = Schema.Struct({ isPaused: nullable(Schema.Boolean) })

/** Workers across tenants: the tenant comes from the worker. */
const lookupWorker = lookupWith(Queries.findWorkerAnyTenant)

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/tenants/:tenant/worker",
    tenantRoute((tenantId) =>
      Effect.gen(function*() {
        const query = yield* Effect.flatten(parseQuery((q) => {
          const page = { offset: q.int("offset") ?? 0, limit: q.int("limit") ?? 10_000 }
          const statuses = q.params.has("statuses") ? q.strings("statuses") : undefined
          return Either.map(labelFilters(q.strings("labels")), (labels) => ({ ...page, statuses, labels }))
        }))
        // the database refuses a negative LIMIT or OFFSET
        if (query.limit < 0 || query.offset < 0) return yield* internalServerError()
        return yield* runDomain((state, now) => {
          const all = Queries.listWorkers(state, tenantId).filter((w) =>
            ((w.lastHeartbeatAt !== undefined && now - w.lastHeartbeatAt < listedWithinMs) ||
              (state.options.workerLiveness === "connection" && w.isActive)) &&
            (query.statuses === undefined || query.statuses.includes(Views.workerStatus(state, w, now))) &&
            query.labels.every(([key, value]) => hasLabel(w, key, value))
          )
          const rows = all.slice(query.offset, query.offset + query.limit).map((worker) => Views.worker(state, worker, now))
          return json({ rows, pagination: Views.pagesOf(all.length, query.limit, query.offset) })
        })
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/workers/:worker",
    resourceRoute(
      "worker",
      "invalid worker id",
      lookupWorker,
      (worker) =>
        runDomain((state, now) =>
          json(Views.workerDetails(state, worker, now, state.tenants.get(worker.tenantId)?.workflowsById.values() ?? []))
        )
    )
  ),
  HttpRouter.patch(
    "/api/v1/workers/:worker",
    resourceRoute("worker", "invalid worker id", lookupWorker, (worker) =>
      Effect.gen(function*() {
        const { isPaused } = yield* decodeBody(
          UpdateWorker,
          Go.struct("gen.UpdateWorkerRequest", { isPaused: [Go.bool, "pointer"] })
        )
        return yield* runDomain((state, now) => {
          if (isPaused !== undefined) Workers.setPaused(state, worker, isPaused)
          return json(Views.worker(state, worker, now, "v0"))
        })
      }))
  )
)
