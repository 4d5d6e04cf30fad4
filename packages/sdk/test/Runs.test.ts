/**
 * `Runs` request shapes and tolerant decoding, over an in-process HttpClient.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import * as RestClient from "../src/RestClient.js"
import * as Runs from "../src/Runs.js"
import { configLayer } from "./support/clientLayer.js"
import { TENANT_ID } from "./support/tokens.js"

interface Seen {
  readonly method: string
  readonly url: URL
  readonly body: unknown
}

const withRuns = <A, E>(answer: unknown, f: (runs: Runs.RunsShape) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const seen: Array<Seen> = []
    const http = Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request, url) =>
        Effect.sync(() => {
          const body = request.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(request.body.body)) : undefined
          seen.push({ method: request.method, url, body })
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(answer), { status: 200 }))
        })
      )
    )
    const result = yield* Effect.flatMap(Runs.Runs, f).pipe(
      Effect.provide(Runs.layer.pipe(
        Layer.provide(RestClient.layer),
        Layer.provide(Layer.merge(Layer.orDie(configLayer("127.0.0.1:1", { apiUrl: "http://hatchet.test" })), http))
      ))
    )
    return { result, seen }
  })

const task = {
  metadata: { id: "t-1", createdAt: "2030-01-01T00:00:00Z", updatedAt: "2030-01-01T00:00:00Z" },
  taskExternalId: "t-1",
  taskId: 7,
  status: "COMPLETED",
  displayName: "charge",
  type: "TASK",
  tenantId: TENANT_ID,
  workflowId: "wf-1",
  workflowRunExternalId: "r-1",
  input: { a: 1 },
  output: { b: 2 },
  numSpawnedChildren: 0,
  createdAt: "2030-01-01T00:00:00Z",
  taskInsertedAt: "2030-01-01T00:00:00Z",
  somethingNew: { from: "a newer engine" }
}

describe("Runs", () => {
  it.effect("list: snake_case query, repeated keys, key:value metadata, since defaulting to an hour ago", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2030, 0, 1, 12))
      const { result, seen } = yield* withRuns({ pagination: { num_pages: 1 }, rows: [task] }, (runs) =>
        runs.list({ statuses: ["FAILED", "CANCELLED"], workflowIds: ["wf-1"], additionalMetadata: { team: "payments" }, limit: 10 }))
      expect(result.rows[0]!.createdAt).toEqual(new Date(Date.UTC(2030, 0, 1)))
      expect(result.rows[0]!.output).toEqual({ b: 2 })
      const { url } = seen[0]!
      expect(url.pathname).toBe(`/api/v1/stable/tenants/${TENANT_ID}/workflow-runs`)
      expect(url.searchParams.getAll("statuses")).toEqual(["FAILED", "CANCELLED"])
      expect(url.searchParams.get("workflow_ids")).toBe("wf-1")
      expect(url.searchParams.get("additional_metadata")).toBe("team:payments")
      expect(url.searchParams.get("only_tasks")).toBe("false")
      expect(url.searchParams.get("since")).toBe("2030-01-01T11:00:00.000Z")
      expect(url.searchParams.get("limit")).toBe("10")
    }))

  it.effect("cancel and replay: ids or a filter in the body; an empty id list sends nothing", () =>
    Effect.gen(function*() {
      const byIds = yield* withRuns({ ids: ["t-1"] }, (runs) => runs.cancel({ ids: ["r-1"] }))
      expect(byIds.result).toEqual(["t-1"])
      expect(byIds.seen[0]!.method).toBe("POST")
      expect(byIds.seen[0]!.url.pathname).toBe(`/api/v1/stable/tenants/${TENANT_ID}/tasks/cancel`)
      expect(byIds.seen[0]!.body).toEqual({ externalIds: ["r-1"] })
      const byFilter = yield* withRuns({}, (runs) =>
        runs.replay({
          filter: { since: new Date(Date.UTC(2030, 0, 1)), statuses: ["FAILED"], additionalMetadata: { k: "v" } }
        }))
      expect(byFilter.result).toEqual([])
      expect(byFilter.seen[0]!.url.pathname).toBe(`/api/v1/stable/tenants/${TENANT_ID}/tasks/replay`)
      expect(byFilter.seen[0]!.body).toEqual({
        filter: { since: "2030-01-01T00:00:00.000Z", statuses: ["FAILED"], additionalMetadata: ["k:v"] }
      })
      const none = yield* withRuns({}, (runs) => runs.cancel({ ids: [] }))
      expect(none.seen).toEqual([])
    }))

  it.effect("trace: the tenant's traces route with run_external_id; null attribute maps and `{}` decode as empty", () =>
    Effect.gen(function*() {
      const span = {
        createdAt: "2030-01-01T00:00:00.123456Z",
        durationNs: 5000,
        parentSpanId: "b7ad6b7169203331",
        resourceAttributes: { "service.name": "svc" },
        retryCount: 1,
        serviceName: "svc",
        spanAttributes: null,
        spanId: "c1c1c1c1c1c1c1c1",
        spanKind: "CONSUMER",
        spanName: "hatchet.start_step_run",
        statusCode: "OK",
        traceId: "0af7651916cd43dd8448eb211c80319c",
        somethingNew: 1
      }
      const page = yield* withRuns(
        { pagination: { current_page: 2, next_page: 2, num_pages: 1 }, rows: [span] },
        (runs) => runs.trace("r-1", { offset: 1, limit: 1 })
      )
      const url = page.seen[0]!.url
      expect(url.pathname).toBe(`/api/v1/stable/tenants/${TENANT_ID}/traces`)
      expect(Object.fromEntries(url.searchParams)).toEqual({ run_external_id: "r-1", offset: "1", limit: "1" })
      expect(page.result.pagination).toEqual({ current_page: 2, next_page: 2, num_pages: 1 })
      expect(page.result.rows).toEqual([{
        createdAt: new Date("2030-01-01T00:00:00.123Z"),
        durationNs: 5000,
        parentSpanId: "b7ad6b7169203331",
        resourceAttributes: { "service.name": "svc" },
        retryCount: 1,
        serviceName: "svc",
        spanAttributes: {},
        spanId: "c1c1c1c1c1c1c1c1",
        spanKind: "CONSUMER",
        spanName: "hatchet.start_step_run",
        statusCode: "OK",
        traceId: "0af7651916cd43dd8448eb211c80319c"
      }])
      const empty = yield* withRuns({}, (runs) => runs.trace("r-1"))
      expect(empty.result).toEqual({ rows: [] })
      expect(Object.fromEntries(empty.seen[0]!.url.searchParams)).toEqual({ run_external_id: "r-1" })
    }))

  it.effect("a body that does not match the schema is a Decode RestError", () =>
    Effect.gen(function*() {
      const { result } = yield* withRuns({ run: { status: "WHATEVER" } }, (runs) => Effect.flip(runs.get("r-1")))
      expect(result).toMatchObject({ _tag: "RestError", reason: "Decode", method: "GET" })
      expect(result.url).toBe("http://hatchet.test/api/v1/stable/workflow-runs/r-1")
    }))
})
