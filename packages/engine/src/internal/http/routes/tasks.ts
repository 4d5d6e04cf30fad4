/**
 * Task routes:
 *
 * - `POST /api/v1/stable/tenants/{tenant}/tasks/cancel` and `/tasks/replay` (`V1CancelTaskRequest`
 *   / `V1ReplayTaskRequest` → `V1CancelledTasks` / `V1ReplayedTasks`), which upstream proxies to
 *   `v1.AdminService/CancelTasks` / `ReplayTasks`: the same domain operations here;
 * - `GET /api/v1/stable/tasks/{task}` (`V1TaskSummary`), `/logs` (`V1LogLineList`) and
 *   `/task-events` (`V1TaskEventList`), and `POST /restore` (an evicted durable task), whose
 *   tenant comes from the task;
 * - `GET /api/v1/stable/tenants/{tenant}/durable-tasks/{durable-task}` (`V1DurableEventLogList`):
 *   a task's durable event log, by branch then node, `offset` and `limit` (default 1000); a task
 *   that is not durable has an empty one; upstream's getter finds the task by its id alone, so
 *   another tenant's is 403 "not authorized to access this resource", before the token.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Admin from "../../domain/admin.js"
import * as Durable from "../../domain/durable.js"
import type { InvalidArgument } from "../../domain/errors.js"
import { Go } from "../../domain/goJson.js"
import type { EngineState, Task } from "../../domain/model.js"
import * as Queries from "../../domain/queries.js"
import { eventsOf } from "../../domain/taskEvents.js"
import {
  bodyTime,
  decodeBody,
  goUuids,
  type Handler,
  httpError,
  internalServerError,
  json,
  jsonWritten,
  lookupAcrossTenants,
  lookupWith,
  parseQuery,
  resourceRoute,
  type RestError,
  runDomain,
  runDomainEither,
  tenantResourceRoute,
  tenantRoute
} from "../rest.js"
import * as Views from "../views.js"

const nullable = <A, I>(schema: Schema.Schema<A, I>) => Schema.optionalWith(schema, { nullable: true })

/** `V1TaskFilter`. */
const TaskFilter = Schema.Struct({
  since: Schema.String,
  until: nullable(Schema.String),
  statuses: nullable(Schema.Array(Schema.String)),
  workflowIds: nullable(Schema.Array(Schema.String)),
  additionalMetadata: nullable(Schema.Array(Schema.String))
})

/** `V1TaskFilter` as upstream's Go struct decodes it. */
const TaskFilterGo = Go.struct("gen.V1TaskFilter", {
  additionalMetadata: [Go.slice(Go.string), "pointer"],
  since: Go.time,
  statuses: [Go.slice(Go.named("gen.V1TaskStatus")), "pointer"],
  until: [Go.time, "pointer"],
  workflowIds: [Go.slice(Go.uuid), "pointer"]
})

/** `V1CancelTaskRequest` / `V1ReplayTaskRequest` (the same fields) as upstream's Go struct decodes it. */
const tasksRequestGo = (name: string) => Go.struct(name, { externalIds: [Go.slice(Go.uuid), "pointer"], filter: [TaskFilterGo, "pointer"] })

/** What `tasksRequestGo` decodes to. */
const TasksRequest = Schema.Struct({
  externalIds: nullable(Schema.Array(Schema.String)),
  filter: nullable(TaskFilter)
})

/** The body as the domain's selection; ids and times checked as Go's JSON decoder checks them. */
const toSelection = (body: typeof TasksRequest.Type): Either.Either<Admin.TasksSelection, RestError> =>
  Either.gen(function*() {
    const externalIds = yield* goUuids(body.externalIds ?? [])
    const filter = body.filter
    if (filter === undefined) return { externalIds, filter: undefined }
    return {
      externalIds,
      filter: {
        since: yield* bodyTime(filter.since),
        until: filter.until === undefined ? undefined : yield* bodyTime(filter.until),
        statuses: filter.statuses ?? [],
        workflowIds: yield* goUuids(filter.workflowIds ?? []),
        additionalMetadata: filter.additionalMetadata ?? []
      }
    }
  })

const tasksOperation = (
  requestName: string,
  operation: (
    state: EngineState,
    tenantId: string,
    selection: Admin.TasksSelection,
    now: number
  ) => Either.Either<Array<string>, InvalidArgument>
) =>
  tenantRoute((tenantId) =>
    Effect.gen(function*() {
      const body = yield* decodeBody(TasksRequest, tasksRequestGo(requestName))
      const selection = yield* toSelection(body)
      const ids = yield* runDomainEither((state, now) => operation(state, tenantId, selection, now))
      return json({ ids })
    })
  )

/** The most log lines one page may ask for (upstream `ListLogsOpts.Limit`). */
const maxLogLines = 10_000

/** A route keyed by a task, whose tenant comes from the task (upstream's `task` resource). */
const taskRoute = <R>(handler: (task: Task) => Handler<R>) =>
  resourceRoute("task", "invalid task id", lookupWith(Queries.findTaskAnyTenant), handler, "task not found")

/** Upstream's default page of a durable event log. */
const eventLogLimit = 1000

export const routes = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/api/v1/stable/tenants/:tenant/durable-tasks/:durableTask",
    tenantResourceRoute(
      "durableTask",
      "invalid durable task id",
      lookupAcrossTenants(Queries.findTaskAnyTenant),
      (task) =>
        Effect.gen(function*() {
          const page = yield* parseQuery((q) => ({ offset: q.int("offset") ?? 0, limit: q.int("limit") ?? eventLogLimit }))
          const entries = yield* runDomain(() => Durable.eventLog(task))
          return json(entries.slice(page.offset, page.offset + page.limit).map((entry) => Views.durableEventLogEntry(task, entry)))
        }),
      "durable task not found"
    )
  ),
  HttpRouter.post("/api/v1/stable/tenants/:tenant/tasks/cancel", tasksOperation("gen.V1CancelTaskRequest", Admin.cancelTasks)),
  HttpRouter.post("/api/v1/stable/tenants/:tenant/tasks/replay", tasksOperation("gen.V1ReplayTaskRequest", Admin.replayTasks)),
  HttpRouter.get(
    "/api/v1/stable/tasks/:task",
    taskRoute((task) =>
      Effect.gen(function*() {
        const query = yield* parseQuery((q) => ({ attempt: q.int("attempt") }))
        if (query.attempt !== undefined && query.attempt < 1) return yield* httpError(400, "Attempt must be greater than 0")
        return jsonWritten((writer) => Views.writeTaskSummary(writer, task))
      })
    )
  ),
  // `V1RestoreTaskResponse`: as `Dispatcher/RestoreEvictedTask`, always requeued (a task that is
  // not evicted is left as it is)
  HttpRouter.post(
    "/api/v1/stable/tasks/:task/restore",
    taskRoute((task) =>
      Effect.map(
        runDomain((state, now) => Durable.restoreEvictedTask(state, task.tenantId, task.externalId, now)),
        () => json({ requeued: true })
      )
    )
  ),
  HttpRouter.get(
    "/api/v1/stable/tasks/:task/logs",
    taskRoute((task) =>
      Effect.gen(function*() {
        const filter = yield* parseQuery((q) => ({
          limit: q.int("limit") ?? 50,
          since: q.dateTime("since"),
          until: q.dateTime("until"),
          search: q.string("search"),
          levels: q.strings("levels"),
          orderByDirection: q.oneOf("order_by_direction", ["ASC", "DESC"] as const),
          attempt: q.int("attempt")
        }))
        // upstream's repository validates `min=1,max=10000`; its error is the handler's, a 500
        if (filter.limit < 1 || filter.limit > maxLogLines) return yield* internalServerError()
        const lines = yield* runDomain(() => Queries.listLogs(task, filter))
        return json({
          rows: lines.map((line) => Views.logLine(task, line)),
          pagination: { num_pages: 0, current_page: 0, next_page: 0 }
        })
      })
    )
  ),
  HttpRouter.get(
    "/api/v1/stable/tasks/:task/task-events",
    taskRoute((task) =>
      Effect.gen(function*() {
        const page = yield* parseQuery((q) => ({ offset: q.int("offset") ?? 0, limit: q.int("limit") }))
        const events = eventsOf(task).slice(page.offset, page.limit !== undefined ? page.offset + page.limit : undefined)
        return json({ rows: events.map((event) => Views.taskEvent(task, event)), pagination: {} })
      })
    )
  )
)
