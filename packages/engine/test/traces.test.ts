/**
 * The OTLP trace collector over loopback: `TraceService/Export` with the engine's auth, its
 * conversion (kinds, statuses, attributes as the trace route answers them, the hatchet.* keys, the
 * step-run span re-parented under the workflow run's derived span, duplicates ignored), the batch
 * limit's partial success, a non-UUID run id's INTERNAL; then
 * `GET /api/v1/stable/tenants/{tenant}/traces` with upstream's shape, paging and errors; and, in
 * process, traces pruned by the engine's retention with their lookup entries.
 */
import {
  type ExportTraceServiceRequest,
  TraceServiceDefinition
} from "@effect-hatchet/proto/opentelemetry/proto/collector/trace/v1/trace_service"
import type { KeyValue } from "@effect-hatchet/proto/opentelemetry/proto/common/v1/common"
import type { DeepPartial, Span } from "@effect-hatchet/proto/opentelemetry/proto/trace/v1/trace"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createChannel, createClient, Metadata, Status } from "nice-grpc"
import { createHash } from "node:crypto"
import * as Engine from "../src/Engine.js"
import { keepEverything } from "../src/internal/domain/retention.js"
import * as Traces from "../src/internal/domain/traces.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Clocked from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"
import { makeHarnessWith, tenantId } from "./support/harness.js"

const call = (...args: Parameters<typeof Clocked.call>) =>
  Clocked.call(...args) as Effect.Effect<{ readonly status: number; readonly body: any }>

const taskRunId = "3b1f2c4d-1111-4111-8111-aaaaaaaaaaaa"
const workflowRunId = "3b1f2c4d-2222-4222-8222-bbbbbbbbbbbb"
const traceA = "0af7651916cd43dd8448eb211c80319c"
const traceB = "1bf7651916cd43dd8448eb211c80319d"
const rootSpan = "b7ad6b7169203331"
const t0 = 1_765_000_000_123_456_789n

const bytes = (hex: string) => Buffer.from(hex, "hex")
const str = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } })
const int = (key: string, value: number): KeyValue => ({ key, value: { intValue: String(value) } })

const span = (
  trace: string,
  id: string,
  startOffsetNs: bigint,
  extra: DeepPartial<Span> = {}
): DeepPartial<Span> => ({
  traceId: bytes(trace),
  spanId: bytes(id),
  name: `span-${id}`,
  kind: 1,
  startTimeUnixNano: String(t0 + startOffsetNs),
  endTimeUnixNano: String(t0 + startOffsetNs + 5_000n),
  ...extra
})

const request = (spans: ReadonlyArray<DeepPartial<Span>>, resource: ReadonlyArray<KeyValue> = [str("service.name", "svc")]) =>
  ({
    resourceSpans: [{
      resource: { attributes: [...resource] },
      scopeSpans: [{ scope: { name: "scope-a", version: "9" }, spans: [...spans] }]
    }]
  }) satisfies DeepPartial<ExportTraceServiceRequest>

/** Upstream's `DeriveWorkflowRunSpanID`: the first 8 bytes of sha256("hatchet-engine-wf-span:" + the UUID's bytes). */
const derivedSpanId = (uuid: string) =>
  createHash("sha256").update("hatchet-engine-wf-span:").update(bytes(uuid.replace(/-/g, ""))).digest("hex").slice(0, 16)

describe("traces under retention", () => {
  it.scoped("a trace goes beyond maxRuns traces (the oldest first) or maxAge after its first span, with its lookups", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection", retention: { ...keepEverything, maxRuns: 1, maxAgeMs: 60_000 } })
      const exportTo = (trace: string, runId: string) =>
        h.runEither((state, now) =>
          Traces.exportSpans(state, tenantId, {
            resourceSpans: [{
              resource: undefined,
              schemaUrl: "",
              scopeSpans: [{
                scope: undefined,
                schemaUrl: "",
                spans: [{
                  traceId: bytes(trace),
                  spanId: bytes(rootSpan),
                  traceState: "",
                  parentSpanId: new Uint8Array(),
                  flags: 0,
                  name: "s",
                  kind: 0,
                  startTimeUnixNano: String(t0),
                  endTimeUnixNano: String(t0),
                  attributes: [str("hatchet.step_run_id", runId)],
                  droppedAttributesCount: 0,
                  events: [],
                  droppedEventsCount: 0,
                  links: [],
                  droppedLinksCount: 0,
                  status: undefined
                }]
              }]
            }]
          }, now)
        )
      const found = (runId: string) => h.run((state) => Traces.traceOf(state, tenantId, runId, 0, 10)?.traceId)
      const other = "4c4c4c4c-5555-4555-8555-dddddddddddd"
      yield* exportTo(traceA, taskRunId)
      yield* exportTo(traceB, other)
      expect([yield* found(taskRunId), yield* found(other)]).toEqual([traceA, traceB])
      yield* h.advance(1_000, [], 1_000)
      expect([yield* found(taskRunId), yield* found(other)]).toEqual([undefined, traceB])
      expect(h.state.tenants.get(tenantId)!.traces.size).toBe(1)
      yield* h.advance(59_000, [], 1_000)
      expect(yield* found(other)).toBeUndefined()
      expect(h.state.tenants.get(tenantId)!.traceLookup.size).toBe(0)
    }))
})

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("the trace collector over loopback", (it) => {
  it.scoped("Export stores spans, keyed to their runs, and the trace route answers them as upstream", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const token = Redacted.value(engine.token)
      const channel = createChannel(engine.grpcAddress)
      yield* Effect.addFinalizer(() => Effect.sync(() => channel.close()))
      const traces = createClient(TraceServiceDefinition, channel, { "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) } })
      const anonymous = createClient(TraceServiceDefinition, channel)
      const base = `${engine.apiUrl}/api/v1/stable/tenants/${engine.tenantId}/traces`

      expect((yield* Grpc.statusOf(() => anonymous.export(request([])))).code).toBe(Status.UNAUTHENTICATED)
      expect(yield* Effect.promise(() => traces.export({}))).toEqual({ partialSuccess: undefined })

      const stepRun = "c1c1c1c1c1c1c1c1"
      const userSpan = "d2d2d2d2d2d2d2d2"
      const first = request([
        span(traceA, rootSpan, 0n, {
          name: "trigger",
          kind: 4,
          status: { code: 1, message: "fine" },
          attributes: [
            str("z.html", "<a&b>"),
            int("count", 3),
            { key: "ratio", value: { doubleValue: 0.05 } },
            { key: "flag", value: { boolValue: true } },
            { key: "list", value: { arrayValue: { values: [{ intValue: "1" }, { stringValue: "<x>" }] } } },
            { key: "map", value: { kvlistValue: { values: [str("b", "2"), int("a", 1)] } } },
            { key: "raw", value: { bytesValue: bytes("0102") } },
            { key: "empty", value: {} }
          ]
        }),
        // the step-run span with a parent moves under the workflow run's derived span
        span(traceA, stepRun, 2_000n, {
          name: "hatchet.start_step_run.order:validate",
          kind: 5,
          parentSpanId: bytes(rootSpan),
          attributes: [str("hatchet.step_run_id", taskRunId), str("hatchet.workflow_run_id", workflowRunId), int("hatchet.retry_count", 0)]
        }),
        span(traceA, userSpan, 1_000n, {
          parentSpanId: bytes(stepRun),
          status: { code: 2, message: "boom" },
          attributes: [str("hatchet.step_run_id", taskRunId.toUpperCase())]
        })
      ])
      expect(yield* Effect.promise(() => traces.export(first))).toEqual({ partialSuccess: undefined })
      // the same spans again are ignored
      yield* Effect.promise(() => traces.export(first))

      const got = yield* call("GET", `${base}?run_external_id=${taskRunId}`, token)
      expect(got.status).toBe(200)
      expect(got.body.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })
      expect(got.body.rows.map((row: any) => row.spanId)).toEqual([rootSpan, userSpan, stepRun])
      expect(Object.keys(got.body.rows[0])).toEqual([
        "createdAt",
        "durationNs",
        "resourceAttributes",
        "retryCount",
        "scopeName",
        "scopeVersion",
        "serviceName",
        "spanAttributes",
        "spanId",
        "spanKind",
        "spanName",
        "statusCode",
        "statusMessage",
        "traceId"
      ])
      expect(got.body.rows[0]).toEqual({
        createdAt: "2025-12-06T05:46:40.123456Z",
        durationNs: 5000,
        resourceAttributes: { "service.name": "svc" },
        retryCount: 0,
        // upstream stores the scope's name as its version too
        scopeName: "scope-a",
        scopeVersion: "scope-a",
        serviceName: "svc",
        spanAttributes: {
          count: "3",
          empty: "null",
          flag: "true",
          list: "[1,\"\\u003cx\\u003e\"]",
          map: "{\"a\":1,\"b\":\"2\"}",
          ratio: "0.05",
          raw: "AQI=",
          "z.html": "<a&b>"
        },
        spanId: rootSpan,
        spanKind: "PRODUCER",
        spanName: "trigger",
        statusCode: "OK",
        statusMessage: "fine",
        traceId: traceA
      })
      expect(got.body.rows[2]).toMatchObject({
        parentSpanId: derivedSpanId(workflowRunId),
        spanKind: "CONSUMER",
        statusCode: "UNSET",
        spanAttributes: { "hatchet.step_run_id": taskRunId, "hatchet.workflow_run_id": workflowRunId, "hatchet.retry_count": "0" }
      })
      expect(got.body.rows[2].statusMessage).toBeUndefined()
      expect(got.body.rows[1]).toMatchObject({ parentSpanId: stepRun, statusCode: "ERROR", statusMessage: "boom", spanKind: "INTERNAL" })
      // the DAG run resolves to the same trace
      expect((yield* call("GET", `${base}?run_external_id=${workflowRunId}`, token)).body).toEqual(got.body)

      // paging: upstream counts only the page's rows
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}&limit=1&offset=1`, token)).body).toMatchObject({
        pagination: { current_page: 2, next_page: 2, num_pages: 1 },
        rows: [{ spanId: userSpan }]
      })
      expect(yield* call("GET", `${base}?run_external_id=${taskRunId}&offset=3`, token)).toEqual({ status: 200, body: {} })
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}&limit=0&offset=-4`, token)).body.rows).toHaveLength(3)

      // a later retry's span moves the run to its trace; a span without attributes answers null maps
      yield* Effect.promise(() =>
        traces.export(
          request([
            span(traceB, "e3e3e3e3e3e3e3e3", 0n, { attributes: [str("hatchet.step_run_id", taskRunId), int("hatchet.retry_count", 1)] })
          ], [])
        )
      )
      const retried = yield* call("GET", `${base}?run_external_id=${taskRunId}`, token)
      expect(retried.body.rows).toEqual([
        expect.objectContaining({ traceId: traceB, retryCount: 1, serviceName: "unknown", resourceAttributes: null })
      ])
      // an older retry does not move it back
      yield* Effect.promise(() =>
        traces.export(request([span(traceA, "f4f4f4f4f4f4f4f4", 9_000n, { attributes: [str("hatchet.step_run_id", taskRunId)] })]))
      )
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}`, token)).body.rows[0].traceId).toBe(traceB)

      // errors
      const unknown = "9d9d9d9d-3333-4333-8333-cccccccccccc"
      expect(yield* call("GET", `${base}?run_external_id=${unknown}`, token)).toEqual({
        status: 404,
        body: { errors: [{ description: "trace not found" }] }
      })
      expect((yield* call("GET", base, token)).status).toBe(400)
      expect((yield* call("GET", `${base}?run_external_id=nope`, token)).status).toBe(400)
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}&limit=x`, token)).status).toBe(400)
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}`, undefined)).status).toBe(403)

      // a batch over the limit keeps its first spans and rejects the rest
      const many = Array.from({ length: Traces.maxSpansPerExport + 2 }, (_, i) =>
        span(traceB, (1000 + i).toString(16).padStart(16, "0"), BigInt(i)))
      expect(
        yield* Effect.promise(() =>
          traces.export(request(many))
        )
      ).toEqual({
        partialSuccess: { rejectedSpans: "2", errorMessage: "batch size exceeded maximum limit" }
      })
      expect((yield* call("GET", `${base}?run_external_id=${taskRunId}&limit=5000`, token)).body.rows).toHaveLength(
        1 + Traces.maxSpansPerExport
      )

      // a run id that is not a UUID fails the request (upstream's MustParse panics), storing nothing
      const bad = request([
        span("2cf7651916cd43dd8448eb211c80319e", rootSpan, 0n, { attributes: [str("hatchet.step_run_id", "not-a-uuid")] })
      ])
      expect(yield* Grpc.statusOf(() => traces.export(bad))).toEqual({ code: Status.INTERNAL, details: "An internal error occurred" })
    }))
})
