/**
 * Every REST route of the engine, composed in one place. A new route module exports a
 * `routes: HttpRouter` and is added to `all` below.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Alerting from "./alerting.js"
import * as ApiTokens from "./apiTokens.js"
import * as Cel from "./cel.js"
import * as Crons from "./crons.js"
import * as Events from "./events.js"
import * as EventsV0 from "./eventsV0.js"
import * as Filters from "./filters.js"
import * as Integrations from "./integrations.js"
import * as Metrics from "./metrics.js"
import * as Observability from "./observability.js"
import * as RateLimits from "./rateLimits.js"
import * as RunOperations from "./runOperations.js"
import * as Scheduled from "./scheduled.js"
import * as Tasks from "./tasks.js"
import * as Tenants from "./tenants.js"
import * as Webhooks from "./webhooks.js"
import * as WebhookWorkers from "./webhookWorkers.js"
import * as Workers from "./workers.js"
import * as WorkflowRuns from "./workflowRuns.js"
import * as Workflows from "./workflows.js"

export const all = HttpRouter.concatAll(
  Tenants.routes,
  ApiTokens.routes,
  Alerting.routes,
  Integrations.routes,
  WorkflowRuns.routes,
  Workers.routes,
  Tasks.routes,
  Workflows.routes,
  Scheduled.routes,
  Crons.routes,
  RateLimits.routes,
  Metrics.routes,
  Observability.routes,
  Cel.routes,
  RunOperations.routes,
  Filters.routes,
  Events.routes,
  EventsV0.routes,
  Webhooks.routes,
  WebhookWorkers.routes
)
