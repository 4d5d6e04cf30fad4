/**
 * @since 0.1.0
 */

/**
 * Low-level `v1.AdminService` / `WorkflowService` calls: registration and triggers.
 *
 * @since 0.1.0
 */
export * as Admin from "./Admin.js"

/**
 * Step conditions of DAG tasks as values: sleeps, user events with CEL expressions, parent
 * outputs and `or` groups, for `waitFor`, `skipIf` and `cancelIf` on `Workflow.task`.
 *
 * @since 0.1.0
 */
export * as Condition from "./Condition.js"

/**
 * Low-level `Dispatcher` calls: worker registration, assignments, heartbeats, task events.
 *
 * @since 0.1.0
 */
export * as Dispatcher from "./Dispatcher.js"

/**
 * Low-level `EventsService` calls: events, task logs, stream chunks.
 *
 * @since 0.1.0
 */
export * as Events from "./Events.js"

/**
 * One scoped gRPC channel with bearer auth, gzip (to a remote engine) and keepalive; typed clients of every Hatchet
 * service; interruptible unary / server-stream / bidi helpers.
 *
 * @since 0.1.0
 */
export * as GrpcTransport from "./GrpcTransport.js"

/**
 * Client configuration: options > `HATCHET_CLIENT_*` env > token claims > defaults.
 *
 * @since 0.1.0
 */
export * as HatchetConfig from "./HatchetConfig.js"

/**
 * Errors shared by the transports: `GrpcError`, `RestError`.
 *
 * @since 0.1.0
 */
export * as HatchetError from "./HatchetError.js"

/**
 * Standalone tasks: one-task workflows whose result is the task's output.
 *
 * @since 0.1.0
 */
export * as Task from "./Task.js"

/**
 * The per-task service handlers read: ids, retry count, metadata, timeout refresh, slot release,
 * streaming, self-cancel.
 *
 * @since 0.1.0
 */
export * as TaskContext from "./TaskContext.js"

/**
 * The per-batch service a batch task's handler reads (`Task.batch`): the batch's id, key and
 * items, timeout refresh, cancel.
 *
 * @since 0.1.0
 */
export * as BatchContext from "./BatchContext.js"

/**
 * The service a durable task's handler reads (`Task.durable`): durable sleeps, event waits,
 * memoized steps and children, recorded in the engine's log and replayed when the task runs again.
 *
 * @since 0.1.0
 */
export * as DurableContext from "./DurableContext.js"

/**
 * How tasks fail: `NonRetryableError` (stop retries), `UndeclaredError` (an undeclared failure on
 * purpose), `HandlerError` (what a handler may fail with) and `TaskFailed` (untyped failures).
 *
 * @since 0.1.0
 */
export * as TaskError from "./TaskError.js"

/**
 * Workflow definitions: Schema input, a DAG of typed tasks, hooks, triggers; `toLayer` for the
 * implementation.
 *
 * @since 0.1.0
 */
export * as Workflow from "./Workflow.js"

/**
 * Running one task attempt (what the worker does per assignment) and the task wire codecs.
 *
 * @since 0.1.0
 */
export * as TaskExecution from "./TaskExecution.js"

/**
 * The worker: a scoped Layer that registers, listens, heartbeats, runs tasks and drains.
 *
 * @since 0.1.0
 */
export * as Worker from "./Worker.js"

/**
 * Hatchet's REST API over `@effect/platform`'s HttpClient: base URL, bearer token, JSON,
 * Schema-decoded responses, `RestError` with status and body.
 *
 * @since 0.1.0
 */
export * as RestClient from "./RestClient.js"

/**
 * Scheduled runs through REST: create, get, list, reschedule, delete (typed scheduling of a
 * definition is `Hatchet.schedule`).
 *
 * @since 0.1.0
 */
export * as Schedules from "./Schedules.js"

/**
 * Cron triggers through REST: create, get, list, enable or disable, delete (typed crons of a
 * definition are `Hatchet.cron`).
 *
 * @since 0.1.0
 */
export * as Crons from "./Crons.js"

/**
 * The tenant's workers through REST: list, get, pause and unpause.
 *
 * @since 0.1.0
 */
export * as Workers from "./Workers.js"

/**
 * The tenant's workflows through REST: list, get, find by name, delete.
 *
 * @since 0.1.0
 */
export * as Workflows from "./Workflows.js"

/**
 * The tenant's metrics through REST: runs by status, queue depths, per-task stats, Prometheus.
 *
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * The client's tenant through REST.
 *
 * @since 0.1.0
 */
export * as Tenants from "./Tenants.js"

/**
 * The tenant's API tokens through REST: create (the value shown once, redacted), list, revoke.
 *
 * @since 0.1.0
 */
export * as ApiTokens from "./ApiTokens.js"

/**
 * The tenant's alerting through REST: settings, and the email groups alerts go to.
 *
 * @since 0.1.0
 */
export * as Alerting from "./Alerting.js"

/**
 * The tenant's integrations through REST: SNS topics ingested as events, Slack webhooks.
 *
 * @since 0.1.0
 */
export * as Integrations from "./Integrations.js"

/**
 * The tenant's rate limits through REST: keys, limits, units left.
 *
 * @since 0.1.0
 */
export * as RateLimits from "./RateLimits.js"

/**
 * Hatchet's CEL debugger through REST.
 *
 * @since 0.1.0
 */
export * as Cel from "./Cel.js"

/**
 * Event filters through REST: create, list, get, update, delete the filters that decide which
 * runs a scoped event starts (declared ones are a definition's `defaultFilters`).
 *
 * @since 0.1.0
 */
export * as Filters from "./Filters.js"

/**
 * The pushed events through REST: list and get them, with the runs each triggered (pushing is
 * `Hatchet.push`; the low-level gRPC client is `Events`).
 *
 * @since 0.1.0
 */
export * as EventHistory from "./EventHistory.js"

/**
 * Incoming webhooks through REST: create, list, get, update, delete the endpoints that turn
 * requests from GitHub, Stripe, Slack, Linear, Svix or anything else into events.
 *
 * @since 0.1.0
 */
export * as Webhooks from "./Webhooks.js"

/**
 * The client: `run`, `runNoWait` (handles with result, cancel, replay, stream), `runMany`,
 * events `push` / `bulkPush`, declared errors catchable by their tag, interruption that cancels,
 * child runs from inside tasks, and the one layer (`layer`, `layerConfig`) an
 * application provides.
 *
 * @since 0.1.0
 */
export * as Hatchet from "./Hatchet.js"

/**
 * Awaiting run results over one shared `SubscribeToWorkflowRuns` stream that reconnects and
 * re-subscribes.
 *
 * @since 0.1.0
 */
export * as RunListener from "./RunListener.js"

/**
 * Workflow runs through REST: get, status, list, cancel, replay, logs.
 *
 * @since 0.1.0
 */
export * as Runs from "./Runs.js"

/**
 * The worker's Effect metrics: tasks started, completed, failed and interrupted, slots in use,
 * handler duration and the SDK's overhead per attempt.
 *
 * @since 0.1.0
 */
export * as WorkerMetrics from "./WorkerMetrics.js"
