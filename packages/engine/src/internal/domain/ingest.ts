/**
 * `EventsService`: pushed events (which start the workflows whose latest version has a matching
 * event trigger), task logs and task stream events.
 *
 * `docs/engine.md` §6.5, §6.6; upstream `internal/services/ingestor`.
 *
 * @internal
 */
import type { PushEventRequest } from "@effect-hatchet/proto/events/events"
import * as Either from "effect/Either"
import { touchEvent, touchRun } from "./changes.js"
import { type InvalidArgument, invalidArgument, type NotFound, notFound } from "./errors.js"
import * as Filters from "./filters.js"
import { newId, parseUuid } from "./ids.js"
import type { JsonValue } from "./json.js"
import { goMarshal, parseJson, tooDeepAt, validateJsonb } from "./json.js"
import type { EngineState, PushedEvent, Task, TenantState } from "./model.js"
import { append, latestVersion } from "./model.js"
import { publishStreamEvent } from "./publish.js"
import { onEventStored } from "./retention.js"
import { onUserEvent } from "./tasks.js"
import { tenantOf } from "./tenants.js"
import { triggerFromEvent } from "./triggers.js"
import { FieldErrors, priorityProblem } from "./validation.js"

export const maxBulkEvents = 1000

/** `event_key LIKE REPLACE(trigger, '*', '%')`: `*` and `%` match any run, `_` any one character. */
export const eventKeyMatches = (trigger: string, key: string): boolean => {
  let pattern = "^"
  for (const ch of trigger) {
    if (ch === "*" || ch === "%") pattern += "[\\s\\S]*"
    else if (ch === "_") pattern += "[\\s\\S]"
    else pattern += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  }
  return new RegExp(`${pattern}$`).test(key)
}

/** Why a pushed event is refused, or undefined (a plain result: this is the ingest hot path). */
const eventProblem = (request: PushEventRequest): InvalidArgument | undefined => {
  const metadataError = validateJsonb(request.additionalMetadata ?? "", "additionalMetadata")
  if (metadataError !== undefined) return invalidArgument(`Invalid request: ${metadataError}`)
  const payloadError = validateJsonb(request.payload, "payload")
  if (payloadError !== undefined) return invalidArgument(`Invalid request: ${payloadError}`)
  const problem = priorityProblem(request.priority)
  return problem === undefined ? undefined : invalidArgument(problem)
}

/** BulkPush validates each event's key (`Validate(CreateEventOpts)`); Push does not. */
const keyProblem = (request: PushEventRequest): InvalidArgument | undefined =>
  request.key === ""
    ? invalidArgument(
      `Invalid request: events failing validation ${new FieldErrors().condition("CreateEventOpts.Key", "required").renderDetailed()}`
    )
    : undefined

/** What a pushed event is made of, from `Push`, `BulkPush` or an incoming webhook. */
export interface NewEvent {
  readonly key: string
  readonly payload: string
  readonly additionalMetadata?: string | undefined
  readonly scope?: string | undefined
  readonly priority?: number | undefined
  readonly triggeringWebhookName?: string | undefined
}

/**
 * Stores the event and starts the runs it triggers: for each workflow whose latest version
 * listens to its key, as its filters decide (`filters.ts`).
 */
export const ingest = (state: EngineState, tenant: TenantState, request: NewEvent, now: number): PushedEvent => {
  const event: PushedEvent = {
    id: newId(),
    tenantId: tenant.tenant.id,
    key: request.key,
    payload: request.payload,
    additionalMetadata: request.additionalMetadata,
    scope: request.scope,
    priority: request.priority,
    createdAt: now,
    triggeringWebhookName: request.triggeringWebhookName,
    triggeredRuns: []
  }
  tenant.events.add(event)
  touchEvent(state, event)
  state.eventsById.set(event.id, event)
  onEventStored(state, tenant, now)
  for (const workflow of tenant.workflowsByName.values()) {
    const version = latestVersion(workflow)
    if (!version.eventTriggers.some((trigger) => eventKeyMatches(trigger, event.key))) continue
    for (const decision of Filters.triggerDecisions(tenant, workflow.id, event)) {
      const run = triggerFromEvent(
        state,
        tenant,
        version,
        {
          id: event.id,
          key: event.key,
          payload: event.payload,
          metadataRaw: event.additionalMetadata,
          priority: event.priority
        },
        decision.filter?.payload ?? null,
        now
      )
      // a run its idempotency key refuses is not made (upstream skips it too)
      if (!("_tag" in run)) event.triggeredRuns.push({ runId: run.id, filterId: decision.filter?.id })
    }
  }
  // then the steps waiting on its key, those of the runs it just triggered included (upstream
  // triggers the runs of a user event, then processes its matches)
  onUserEvent(state, tenant, event, now)
  return event
}

/** `EventsService/Push`. */
export const pushEvent = (
  state: EngineState,
  tenantId: string,
  request: PushEventRequest,
  now: number
): Either.Either<PushedEvent, InvalidArgument> => {
  const tenant = tenantOf(state, tenantId)
  const problem = eventProblem(request)
  return problem === undefined ? Either.right(ingest(state, tenant, request, now)) : Either.left(problem)
}

/** `EventsService/BulkPush`. */
export const bulkPushEvents = (
  state: EngineState,
  tenantId: string,
  requests: ReadonlyArray<PushEventRequest>,
  now: number
): Either.Either<Array<PushedEvent>, InvalidArgument> => {
  const tenant = tenantOf(state, tenantId)
  if (requests.length === 0) return Either.left(invalidArgument("No events to ingest"))
  if (requests.length > maxBulkEvents) {
    return Either.left(
      invalidArgument(`Invalid request: too many events - ${requests.length} is over maximum (${maxBulkEvents})`)
    )
  }
  for (const request of requests) {
    const problem = eventProblem(request)
    if (problem !== undefined) return Either.left(problem)
  }
  for (const request of requests) {
    const problem = keyProblem(request)
    if (problem !== undefined) return Either.left(problem)
  }
  return Either.right(requests.map((request) => ingest(state, tenant, request, now)))
}

/** The task of `PutLog` / `PutStreamEvent`, with their error messages. */
const loggingTask = (
  state: EngineState,
  tenantId: string,
  taskRunExternalId: string
): Either.Either<Task, InvalidArgument | NotFound> => {
  const parsed = parseUuid(taskRunExternalId)
  if (!parsed.ok) return Either.left(invalidArgument("task external run id is not a valid uuid", parsed.error))
  const task = state.tasksByExternalId.get(parsed.value)
  if (task === undefined || task.tenantId !== tenantId) return Either.left(notFound(`task run not found: ${parsed.value}`))
  return Either.right(task)
}

const goUnmarshalError = (raw: string): string => {
  const deep = tooDeepAt(raw)
  if (deep !== -1) return `invalid character '${raw[deep]}' exceeded max depth`
  const value = parseJson(raw)
  if (value === undefined) return "invalid character looking for beginning of value"
  const kind = Array.isArray(value) ? "array" : value === null ? "null" : typeof value
  return `json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`
}

const logLevels = ["INFO", "ERROR", "WARN", "DEBUG"]

export interface PutLog {
  readonly taskRunExternalId: string
  readonly createdAt: number | undefined
  readonly message: string
  readonly level: string | undefined
  readonly metadata: string
  readonly taskRetryCount: number | undefined
}

/** `EventsService/PutLog`: stores the line on its task. */
export const putLog = (
  state: EngineState,
  tenantId: string,
  request: PutLog,
  now: number
): Either.Either<void, InvalidArgument | NotFound> =>
  Either.flatMap(loggingTask(state, tenantId, request.taskRunExternalId), (task) => {
    let metadata: Record<string, JsonValue> | undefined
    if (request.metadata !== "") {
      const value = parseJson(request.metadata)
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        if (value !== null) return Either.left(invalidArgument(`Invalid metadata JSON: ${goUnmarshalError(request.metadata)}`))
      } else {
        metadata = value as Record<string, JsonValue>
      }
    }
    const errors = new FieldErrors()
    if (request.message === "") errors.condition("CreateLogLineOpts.Message", "required")
    else if (request.message.length > 10_000) {
      errors.condition("CreateLogLineOpts.Message", "max", "10000", { _tag: "string", value: request.message })
    }
    if (request.level !== undefined && !logLevels.includes(request.level)) {
      errors.condition("CreateLogLineOpts.Level", "oneof", logLevels.join(" "), { _tag: "string", value: request.level })
    }
    if (!errors.isEmpty) return Either.left(invalidArgument(`Invalid request: ${errors.render()}`))
    if (metadata !== undefined) {
      const error = validateJsonb(goMarshal(metadata), "additionalMetadata")
      if (error !== undefined) return Either.left(invalidArgument(`Invalid request: ${error}`))
    }
    touchRun(state, task.run)
    task.logs = append(task.logs, {
      createdAt: request.createdAt !== undefined && request.createdAt > 0 ? request.createdAt : now,
      message: request.message,
      level: request.level ?? "INFO",
      metadata,
      retryCount: request.taskRetryCount ?? task.retryCount
    })
    return Either.void
  })

/** `EventsService/PutStreamEvent`: fanned out to live subscribers, not stored. */
export const putStreamEvent = (
  state: EngineState,
  tenantId: string,
  request: {
    readonly taskRunExternalId: string
    readonly createdAt: number | undefined
    readonly message: Uint8Array
    readonly eventIndex: number | undefined
  },
  now: number
): Either.Either<void, InvalidArgument | NotFound> =>
  Either.map(loggingTask(state, tenantId, request.taskRunExternalId), (task) => {
    const message = Buffer.from(request.message).toString("utf8")
    publishStreamEvent(state, task, message, request.createdAt ?? now, request.eventIndex, now)
  })
