/**
 * Event filters (upstream `v1_filter`, `pkg/repository/filters.go`, `trigger.go`
 * `makeTriggerDecisions` / `processWorkflowExpression`): what decides which runs a pushed event
 * starts.
 *
 * For each workflow whose latest version listens to the event's key:
 * - without any filter (of any scope), the event runs it once, with no filter payload;
 * - with filters, only those of the event's scope count: an event without a scope, or of a scope
 *   the workflow has no filter for, runs nothing;
 * - each filter of that scope whose expression holds runs it once more, with that filter's
 *   payload (two matching filters: two runs). An empty expression never holds; one that does not
 *   compile, fails to evaluate or gives anything but a bool does not hold either (upstream records
 *   a CEL evaluation failure, which no API reads).
 * Expressions are CEL in the `event` environment: `input` (the event's payload), `payload` (the
 * filter's), `additional_metadata`, `event_id`, `event_key`.
 *
 * Filters are created through REST (`is_declarative` false) or declared by a workflow version
 * (`default_filters`): a new version that declares some replaces the workflow's declared ones,
 * and keeps those created through REST. (workflow, scope, expression, payload) is unique, as
 * upstream's index: a duplicate is refused.
 *
 * @internal
 */
import { compile, evaluate } from "@effect-hatchet/shared/Cel"
import { touchWorkflow } from "./changes.js"
import { newId } from "./ids.js"
import type { JsonObject, JsonValue } from "./json.js"
import { goMarshal, isJsonObject, parseJson } from "./json.js"
import type { EngineState, EventFilter, PushedEvent, TenantState } from "./model.js"
import { countLimit, type Page } from "./queries.js"

/** What a filter is made of: its scope, expression and payload (an object; `{}` when none). */
export interface FilterSpec {
  readonly scope: string
  readonly expression: string
  readonly payload: JsonObject
}

/** Upstream's unique index: (tenant, workflow, scope, expression, payload). */
const sameFilter = (a: FilterSpec, b: FilterSpec): boolean =>
  a.scope === b.scope && a.expression === b.expression && goMarshal(a.payload) === goMarshal(b.payload)

const filtersOf = (tenant: TenantState, workflowId: string): Array<EventFilter> => tenant.filtersByWorkflow.get(workflowId) ?? []

const store = (tenant: TenantState, filter: EventFilter): void => {
  tenant.filters.set(filter.id, filter)
  const list = tenant.filtersByWorkflow.get(filter.workflowId)
  if (list === undefined) tenant.filtersByWorkflow.set(filter.workflowId, [filter])
  else list.push(filter)
}

const unstore = (tenant: TenantState, filter: EventFilter): void => {
  tenant.filters.delete(filter.id)
  const list = tenant.filtersByWorkflow.get(filter.workflowId)
  if (list === undefined) return
  const index = list.indexOf(filter)
  if (index >= 0) list.splice(index, 1)
  if (list.length === 0) tenant.filtersByWorkflow.delete(filter.workflowId)
}

/** The filter's fields as a new row of `tenant`. */
const newFilter = (
  tenant: TenantState,
  workflowId: string,
  spec: FilterSpec,
  isDeclarative: boolean,
  now: number
): EventFilter => ({
  id: newId(),
  tenantId: tenant.tenant.id,
  workflowId,
  scope: spec.scope,
  expression: spec.expression,
  payload: spec.payload,
  isDeclarative,
  createdAt: now,
  updatedAt: now,
  compiled: undefined
})

// -----------------------------------------------------------------------------
// REST: create, get, list, update, delete
// -----------------------------------------------------------------------------

/** Why a write was refused: the unique index (upstream's insert or update fails). */
export type FilterConflict = { readonly _tag: "Duplicate" }

/** The workflow (whose stored row holds its filters) changed. */
const touchFiltersOf = (state: EngineState, tenant: TenantState, workflowId: string): void => {
  const workflow = tenant.workflowsById.get(workflowId)
  if (workflow !== undefined) touchWorkflow(state, workflow)
}

/** `CreateFilter`: a REST filter, or a duplicate. */
export const createFilter = (
  state: EngineState,
  tenant: TenantState,
  workflowId: string,
  spec: FilterSpec,
  now: number
): EventFilter | FilterConflict => {
  if (filtersOf(tenant, workflowId).some((existing) => sameFilter(existing, spec))) return { _tag: "Duplicate" }
  const filter = newFilter(tenant, workflowId, spec, false, now)
  store(tenant, filter)
  touchFiltersOf(state, tenant, workflowId)
  return filter
}

/** `GetFilter`: the tenant's filter by id. */
export const getFilter = (state: EngineState, tenantId: string, id: string): EventFilter | undefined =>
  state.tenants.get(tenantId)?.filters.get(id)

export interface FiltersQuery {
  readonly workflowIds: ReadonlyArray<string>
  readonly scopes: ReadonlyArray<string>
  readonly offset: number
  readonly limit: number
}

/**
 * `ListFilters` / `CountFilters`: the tenant's filters of any of `workflowIds` and `scopes` (each
 * list ignored when empty), ordered by id descending as upstream (`ORDER BY id DESC`, ids being
 * random UUIDs), counted up to 20,000.
 */
export const listFilters = (state: EngineState, tenantId: string, query: FiltersQuery): Page<EventFilter> => {
  const tenant = state.tenants.get(tenantId)
  if (tenant === undefined) return { rows: [], total: 0 }
  const candidates = query.workflowIds.length > 0
    ? [...new Set(query.workflowIds)].flatMap((id) => filtersOf(tenant, id))
    : [...tenant.filters.values()]
  const matching = candidates
    .filter((filter) => query.scopes.length === 0 || query.scopes.includes(filter.scope))
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
  return {
    rows: matching.slice(query.offset, query.offset + query.limit),
    total: Math.min(matching.length, countLimit)
  }
}

/** What `UpdateFilter` changes: each field when given (`COALESCE`). */
export interface FilterUpdate {
  readonly scope?: string | undefined
  readonly expression?: string | undefined
  readonly payload?: JsonObject | undefined
}

/** `UpdateFilter`: a declared filter may be changed too; a change that makes a duplicate is refused. */
export const updateFilter = (
  state: EngineState,
  tenant: TenantState,
  filter: EventFilter,
  update: FilterUpdate,
  now: number
): EventFilter | FilterConflict => {
  const next: FilterSpec = {
    scope: update.scope ?? filter.scope,
    expression: update.expression ?? filter.expression,
    payload: update.payload ?? filter.payload
  }
  const clash = filtersOf(tenant, filter.workflowId).some((other) => other !== filter && sameFilter(other, next))
  if (clash) return { _tag: "Duplicate" }
  if (next.expression !== filter.expression) filter.compiled = undefined
  filter.scope = next.scope
  filter.expression = next.expression
  filter.payload = next.payload
  filter.updatedAt = now
  touchFiltersOf(state, tenant, filter.workflowId)
  return filter
}

/** `DeleteFilter`: removes it; returns it. */
export const deleteFilter = (state: EngineState, tenant: TenantState, filter: EventFilter): EventFilter => {
  unstore(tenant, filter)
  touchFiltersOf(state, tenant, filter.workflowId)
  return filter
}

// -----------------------------------------------------------------------------
// declared filters (default_filters)
// -----------------------------------------------------------------------------

/**
 * A `default_filters` payload as upstream reads it: absent is `{}`; present, it must be JSON that
 * decodes into a map, and `null` (a nil map, then a NULL in a NOT NULL column) fails as well.
 * Undefined when it is not.
 */
export const declaredPayload = (bytes: Uint8Array | undefined): JsonObject | undefined => {
  if (bytes === undefined) return {}
  const value = parseJson(Buffer.from(bytes).toString("utf8"))
  return isJsonObject(value) ? value : undefined
}

/**
 * Whether a version declaring `declared` for the workflow `workflowId` could store them
 * (`DeleteExistingDeclarativeFiltersForOverwrite` then `BulkInsertDeclarativeFilters`): none may
 * repeat another, nor one created through REST.
 */
export const canDeclare = (
  tenant: TenantState,
  workflowId: string | undefined,
  declared: ReadonlyArray<FilterSpec>
): boolean => {
  const kept = workflowId === undefined ? [] : filtersOf(tenant, workflowId).filter((f) => !f.isDeclarative)
  return declared.every((spec, i) =>
    !kept.some((existing) => sameFilter(existing, spec)) && !declared.slice(0, i).some((earlier) => sameFilter(earlier, spec))
  )
}

/** Replaces the workflow's declared filters with `declared` (a version that declares some). */
export const declareFilters = (
  tenant: TenantState,
  workflowId: string,
  declared: ReadonlyArray<FilterSpec>,
  now: number
): void => {
  if (declared.length === 0) return
  for (const filter of [...filtersOf(tenant, workflowId)]) {
    if (filter.isDeclarative) unstore(tenant, filter)
  }
  for (const spec of declared) store(tenant, newFilter(tenant, workflowId, spec, true, now))
}

// -----------------------------------------------------------------------------
// trigger decisions
// -----------------------------------------------------------------------------

/** A run an event starts: with the filter that matched, if any. */
export interface TriggerDecision {
  readonly filter: EventFilter | undefined
}

/** Upstream reads at most this many filters for the events of one push (`ListFiltersForEventTriggers`). */
const filterLimit = 20_000

/** `json.Unmarshal` into a map: `{}` for nothing or `null`, undefined when it is not an object. */
const asMap = (raw: string | undefined): JsonObject | undefined => {
  if (raw === undefined) return {}
  const value = parseJson(raw)
  if (value === null) return {}
  return isJsonObject(value) ? value : undefined
}

/** `processWorkflowExpression`: whether the filter holds for the event (false on any error). */
const holds = (filter: EventFilter, event: PushedEvent): boolean => {
  if (filter.expression === "") return false
  const input = asMap(event.payload)
  const metadata = asMap(event.additionalMetadata)
  if (input === undefined || metadata === undefined) return false
  filter.compiled ??= compile("event", filter.expression)
  if (filter.compiled._tag === "Invalid") return false
  const result = evaluate(filter.compiled.program, {
    input: input as JsonValue,
    additional_metadata: metadata as JsonValue,
    payload: filter.payload as JsonValue,
    event_id: event.id,
    event_key: event.key
  })
  return result._tag === "Value" && result.value === true
}

/**
 * `makeTriggerDecisions`: the runs `event` starts of the workflow `workflowId` (its latest version
 * listens to the event's key), one per entry.
 */
export const triggerDecisions = (
  tenant: TenantState,
  workflowId: string,
  event: PushedEvent
): Array<TriggerDecision> => {
  const filters = filtersOf(tenant, workflowId)
  if (filters.length === 0) return [{ filter: undefined }]
  if (event.scope === undefined) return []
  const scoped = filters
    .filter((filter) => filter.scope === event.scope)
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, filterLimit)
  return scoped.filter((filter) => holds(filter, event)).map((filter) => ({ filter }))
}
