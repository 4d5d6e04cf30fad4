/**
 * The engine as an OpenTelemetry trace collector, as upstream's (`internal/services/otelcol`, the
 * OLAP repository's spans and `handlers/v1/observability`):
 *
 * - `exportSpans` (`TraceService/Export`): every span of the request is kept, whatever its run;
 *   a batch over `maxSpansPerExport` spans keeps its first spans and answers the rest rejected in
 *   a partial success. A span is keyed to its run by its `hatchet.step_run_id`,
 *   `hatchet.workflow_run_id` and `hatchet.retry_count` attributes (the SDKs set them); a non-UUID
 *   run id fails the whole request with INTERNAL (upstream's `uuid.MustParse` panics). A span
 *   named `hatchet.start_step_run…` with a parent and a workflow run id is re-parented under that
 *   run's derived root span id. A span already held (same trace, start microsecond and span id) is
 *   ignored. Events and links are not kept (upstream stores neither).
 * - Each batch's first span of a task run (and of the DAG run holding it) is a lookup candidate:
 *   a run id resolves to the trace of its candidate with the highest retry count, then the latest
 *   start (`LookUpTraceId`).
 * - `traceOf` (`GET …/traces?run_external_id=`): the run's trace, spans by start time, one page.
 *
 * Upstream serves none of this unless `SERVER_OBSERVABILITY_ENABLED` is set (off by default); the
 * local engine always does. It does not emit the engine-side spans upstream's OLAP controller
 * writes (`engine_spans.go`). Traces are kept under the engine's retention (`retention.ts`): a
 * trace goes `maxAgeMs` after its first span was stored, or beyond `maxRuns` traces in its tenant.
 *
 * @internal
 */
import type {
  ExportTraceServiceRequest,
  ExportTraceServiceResponse
} from "@effect-hatchet/proto/opentelemetry/proto/collector/trace/v1/trace_service"
import type { AnyValue, KeyValue } from "@effect-hatchet/proto/opentelemetry/proto/common/v1/common"
import { Span_SpanKind, Status_StatusCode } from "@effect-hatchet/proto/opentelemetry/proto/trace/v1/trace"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import type { Internal } from "./errors.js"
import { internalWith } from "./errors.js"
import { parseUuid } from "./ids.js"
import { base64, goMarshal } from "./json.js"
import type { EngineState, StoredSpan, StoredTrace, TenantState } from "./model.js"
import { onTraceStored } from "./retention.js"
import { ensureTenant } from "./tenants.js"

/** The most spans one Export keeps (upstream's `SERVER_OBSERVABILITY_MAX_BATCH_SIZE` default). */
export const maxSpansPerExport = 1000

const attrTaskRunId = "hatchet.step_run_id"
const attrWorkflowRunId = "hatchet.workflow_run_id"
const attrRetryCount = "hatchet.retry_count"

/** A span converted, with what keys it to its run. */
interface Converted {
  readonly traceId: string
  readonly span: StoredSpan
  readonly taskRunId: string | undefined
  readonly workflowRunId: string | undefined
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** An attribute value as Go's `json.Unmarshal` into `any` gives it back after the JSONB round trip. */
const plainValue = (value: AnyValue | undefined): unknown => {
  if (value === undefined) return null
  if (value.stringValue !== undefined) return value.stringValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.arrayValue !== undefined) return value.arrayValue.values.map(plainValue)
  if (value.kvlistValue !== undefined) return plainMap(value.kvlistValue.values)
  if (value.bytesValue !== undefined) return base64(value.bytesValue)
  return null
}

const plainMap = (attributes: ReadonlyArray<KeyValue>): Record<string, unknown> => {
  const map: Record<string, unknown> = {}
  for (const kv of attributes) map[kv.key] = plainValue(kv.value)
  return map
}

/** Whether Go's `json.Marshal` fails on the value (a NaN or infinite double anywhere in it). */
const unmarshalable = (value: unknown): boolean =>
  typeof value === "number"
    ? !Number.isFinite(value)
    : Array.isArray(value)
    ? value.some(unmarshalable)
    : typeof value === "object" && value !== null && Object.values(value).some(unmarshalable)

/**
 * Attributes as the route answers them (`JSONBToStringMap`): a string as itself, any other value
 * as its Go JSON; undefined when there are none or they could not be serialized (upstream logs
 * and stores none).
 */
const stringMap = (plain: Readonly<Record<string, unknown>>): Record<string, string> | undefined => {
  const keys = Object.keys(plain)
  if (keys.length === 0 || unmarshalable(plain)) return undefined
  const out: Record<string, string> = {}
  for (const key of keys.sort()) {
    const value = plain[key]
    out[key] = typeof value === "string" ? value : goMarshal(value)
  }
  return out
}

const kindNames: Record<number, StoredSpan["kind"]> = {
  [Span_SpanKind.SPAN_KIND_INTERNAL]: "INTERNAL",
  [Span_SpanKind.SPAN_KIND_SERVER]: "SERVER",
  [Span_SpanKind.SPAN_KIND_CLIENT]: "CLIENT",
  [Span_SpanKind.SPAN_KIND_PRODUCER]: "PRODUCER",
  [Span_SpanKind.SPAN_KIND_CONSUMER]: "CONSUMER"
}

const statusNames: Record<number, StoredSpan["statusCode"]> = {
  [Status_StatusCode.STATUS_CODE_OK]: "OK",
  [Status_StatusCode.STATUS_CODE_ERROR]: "ERROR"
}

/** The 8-byte span id upstream derives for a workflow run's root span (`DeriveWorkflowRunSpanID`). */
export const workflowRunSpanId = (workflowRunId: string): string =>
  createHash("sha256")
    .update("hatchet-engine-wf-span:")
    .update(Buffer.from(workflowRunId.replace(/-/g, ""), "hex"))
    .digest("hex")
    .slice(0, 16)

/** A run id attribute's UUID (canonical), undefined when empty, or the whole request's failure. */
const runIdOf = (value: AnyValue | undefined): Either.Either<string | undefined, Internal> => {
  const text = value?.stringValue ?? ""
  if (text === "") return Either.right(undefined)
  const parsed = parseUuid(text)
  return parsed.ok ? Either.right(parsed.value) : Either.left(internalWith("An internal error occurred"))
}

const convert = (request: ExportTraceServiceRequest): Either.Either<Array<Converted>, Internal> => {
  const converted: Array<Converted> = []
  for (const resourceSpans of request.resourceSpans) {
    const plainResource = plainMap(resourceSpans.resource?.attributes ?? [])
    const resourceAttributes = stringMap(plainResource)
    // upstream reads `service.name` back from the serialized attributes
    const service = plainResource["service.name"]
    const serviceName = resourceAttributes !== undefined && typeof service === "string" ? service : "unknown"
    for (const scopeSpans of resourceSpans.scopeSpans) {
      const scopeName = scopeSpans.scope?.name || undefined
      for (const span of scopeSpans.spans) {
        let taskRunId: string | undefined
        let workflowRunId: string | undefined
        let retryCount = 0
        for (const kv of span.attributes) {
          if (kv.key === attrTaskRunId || kv.key === attrWorkflowRunId) {
            const id = runIdOf(kv.value)
            if (Either.isLeft(id)) return Either.left(id.left)
            if (id.right === undefined) continue
            if (kv.key === attrTaskRunId) taskRunId = id.right
            else workflowRunId = id.right
          } else if (kv.key === attrRetryCount && kv.value?.intValue !== undefined && BigInt(kv.value.intValue) > 0n) {
            retryCount = Number(BigInt.asIntN(32, BigInt(kv.value.intValue)))
          }
        }
        let parentSpanId = span.parentSpanId.length > 0 ? hex(span.parentSpanId) : undefined
        if (workflowRunId !== undefined && parentSpanId !== undefined && span.name.startsWith("hatchet.start_step_run")) {
          parentSpanId = workflowRunSpanId(workflowRunId)
        }
        const start = BigInt(span.startTimeUnixNano)
        converted.push({
          traceId: hex(span.traceId),
          taskRunId,
          workflowRunId,
          span: {
            spanId: hex(span.spanId),
            parentSpanId,
            name: span.name,
            kind: kindNames[span.kind] ?? "UNSPECIFIED",
            serviceName,
            statusCode: statusNames[span.status?.code ?? 0] ?? "UNSET",
            statusMessage: span.status?.message || undefined,
            durationNs: Number(BigInt.asIntN(64, BigInt(span.endTimeUnixNano) - start)),
            startUs: BigInt.asIntN(64, start) / 1000n,
            resourceAttributes,
            spanAttributes: stringMap(plainMap(span.attributes)),
            scopeName,
            retryCount
          }
        })
      }
    }
  }
  return Either.right(converted)
}

/** Inserts a span in start order (after those that started in the same microsecond). */
const insertSpan = (trace: StoredTrace, span: StoredSpan): void => {
  const key = `${span.startUs}/${span.spanId}`
  if (trace.keys.has(key)) return
  trace.keys.add(key)
  const spans = trace.spans
  let at = spans.length
  while (at > 0 && spans[at - 1]!.startUs > span.startUs) at--
  spans.splice(at, 0, span)
}

/** Records a lookup candidate: it replaces the current one if its retry count, then its start, is higher. */
const lookUpCandidate = (tenant: TenantState, externalId: string, traceId: string, retryCount: number, startUs: bigint) => {
  const current = tenant.traceLookup.get(externalId)
  if (
    current !== undefined &&
    (current.retryCount > retryCount || (current.retryCount === retryCount && current.startUs >= startUs))
  ) return
  if (current !== undefined) tenant.traces.get(current.traceId)?.externalIds.delete(externalId)
  tenant.traceLookup.set(externalId, { traceId, retryCount, startUs })
  tenant.traces.get(traceId)?.externalIds.add(externalId)
}

/** `TraceService/Export`: stores the request's spans (see the module's notes). */
export const exportSpans = (
  state: EngineState,
  tenantId: string,
  request: ExportTraceServiceRequest,
  now: number
): Either.Either<ExportTraceServiceResponse, Internal> =>
  Either.map(convert(request), (all) => {
    if (all.length === 0) return { partialSuccess: undefined }
    const rejected = Math.max(0, all.length - maxSpansPerExport)
    const kept = rejected > 0 ? all.slice(0, maxSpansPerExport) : all
    const tenant = ensureTenant(state, tenantId, now)
    for (const { span, traceId } of kept) {
      let trace = tenant.traces.get(traceId)
      if (trace === undefined) {
        trace = { id: traceId, storedAt: now, spans: [], keys: new Set(), externalIds: new Set() }
        tenant.traces.set(traceId, trace)
        onTraceStored(state, tenant, now)
      }
      insertSpan(trace, span)
    }
    const seen = new Set<string>()
    for (const { span, taskRunId, traceId, workflowRunId } of kept) {
      if (taskRunId === undefined || seen.has(taskRunId)) continue
      seen.add(taskRunId)
      lookUpCandidate(tenant, taskRunId, traceId, span.retryCount, span.startUs)
      if (workflowRunId !== undefined && workflowRunId !== taskRunId && !seen.has(workflowRunId)) {
        seen.add(workflowRunId)
        lookUpCandidate(tenant, workflowRunId, traceId, span.retryCount, span.startUs)
      }
    }
    return {
      partialSuccess: rejected > 0
        ? { rejectedSpans: String(rejected), errorMessage: "batch size exceeded maximum limit" }
        : undefined
    }
  })

/** Go's RFC 3339 with nanoseconds (trailing zeros trimmed) of a UTC time in microseconds since the epoch. */
const rfc3339Micros = (us: bigint): string => {
  const micros = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n
  const iso = new Date(Number((us - micros) / 1000n)).toISOString()
  const fraction = String(micros).padStart(6, "0").replace(/0+$/, "")
  return `${iso.slice(0, 19)}${fraction === "" ? "" : `.${fraction}`}Z`
}

/** A page of a run's trace, or undefined when no span names the run (upstream's 404). */
export const traceOf = (
  state: EngineState,
  tenantId: string,
  runExternalId: string,
  offset: number,
  limit: number
): { readonly rows: ReadonlyArray<StoredSpan>; readonly traceId: string } | undefined => {
  const tenant = state.tenants.get(tenantId)
  const lookup = tenant?.traceLookup.get(runExternalId)
  if (tenant === undefined || lookup === undefined) return undefined
  const spans = tenant.traces.get(lookup.traceId)?.spans ?? []
  return { rows: spans.slice(offset, offset + limit), traceId: lookup.traceId }
}

/**
 * `OtelSpanList` of a page (`ToV1OtelSpanList`): upstream counts only the page's rows as the
 * total, never more than `limit`, so a page with rows has one page and `next_page` is the current
 * page. No rows: `{}`.
 */
export const spanListView = (traceId: string, rows: ReadonlyArray<StoredSpan>, offset: number, limit: number) => {
  if (rows.length === 0) return {}
  const currentPage = Math.floor(offset / limit) + 1
  return {
    pagination: { current_page: currentPage, next_page: currentPage, num_pages: 1 },
    rows: rows.map((span) => ({
      createdAt: rfc3339Micros(span.startUs),
      durationNs: span.durationNs,
      ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
      resourceAttributes: span.resourceAttributes ?? null,
      retryCount: span.retryCount,
      ...(span.scopeName === undefined ? {} : { scopeName: span.scopeName, scopeVersion: span.scopeName }),
      serviceName: span.serviceName,
      spanAttributes: span.spanAttributes ?? null,
      spanId: span.spanId,
      spanKind: span.kind,
      spanName: span.name,
      statusCode: span.statusCode,
      ...(span.statusMessage === undefined ? {} : { statusMessage: span.statusMessage }),
      traceId
    }))
  }
}
