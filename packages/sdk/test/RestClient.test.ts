import { NodeHttpClient } from "@effect/platform-node"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import http from "node:http"
import { inspect } from "node:util"
import { RestError } from "../src/HatchetError.js"
import * as RestClient from "../src/RestClient.js"
import { configLayer, TOKEN } from "./support/clientLayer.js"

const Tenant = Schema.Struct({ metadata: Schema.Struct({ id: Schema.String }), name: Schema.String, version: Schema.Literal("V0", "V1") })

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
}

/** An in-process HttpClient: records each request, answers with `respond`. */
const fakeHttp = (respond: (request: HttpClientRequest.HttpClientRequest) => Response | "transport-failure") => {
  const seen: Array<Seen> = []
  const layer = Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.gen(function*() {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        seen.push({ method: request.method, url: url.toString(), headers: { ...request.headers }, body })
        const answer = respond(request)
        if (answer === "transport-failure") {
          return yield* new HttpClientError.RequestError({ request, reason: "Transport", description: "connection refused" })
        }
        return HttpClientResponse.fromWeb(request, answer)
      })
    )
  )
  return { seen, layer }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const rest = <A, E>(
  f: (client: RestClient.RestClientShape) => Effect.Effect<A, E>,
  http: Layer.Layer<HttpClient.HttpClient>,
  apiUrl = "http://hatchet.test:8080"
) =>
  Effect.flatMap(RestClient.RestClient, f).pipe(
    Effect.provide(
      RestClient.layer.pipe(Layer.provide(Layer.merge(Layer.orDie(configLayer("127.0.0.1:1", { apiUrl })), http)))
    )
  )

const TENANT = { metadata: { id: "t-1" }, name: "acme", version: "V1" }

describe("RestClient", () => {
  it.effect("base URL, bearer token, JSON, repeated-key query arrays", () =>
    Effect.gen(function*() {
      const { layer, seen } = fakeHttp(() => json(200, TENANT))
      const tenant = yield* rest(
        (c) =>
          c.get(`/api/v1/stable/tenants/${c.tenantId}/workflow-runs`, Tenant, {
            query: {
              since: new Date("2030-01-01T00:00:00.000Z"),
              statuses: ["QUEUED", "RUNNING"],
              only_tasks: false,
              limit: 50,
              worker_id: undefined,
              additional_metadata: ["k:v", "a:b"]
            }
          }),
        layer
      )
      expect(tenant).toEqual(TENANT)
      expect(seen).toHaveLength(1)
      const url = new URL(seen[0]!.url)
      expect(url.origin + url.pathname).toBe(
        "http://hatchet.test:8080/api/v1/stable/tenants/707d0855-80ab-4e1f-a156-f1c4546cbf52/workflow-runs"
      )
      expect([...url.searchParams]).toEqual([
        ["since", "2030-01-01T00:00:00.000Z"],
        ["statuses", "QUEUED"],
        ["statuses", "RUNNING"],
        ["only_tasks", "false"],
        ["limit", "50"],
        ["additional_metadata", "k:v"],
        ["additional_metadata", "a:b"]
      ])
      expect(seen[0]!.headers["authorization"]).toBe(`Bearer ${TOKEN}`)
      expect(seen[0]!.headers["accept"]).toBe("application/json")
    }))

  it.effect("POST / PATCH / DELETE send JSON bodies; an empty answer decodes as Schema.Void", () =>
    Effect.gen(function*() {
      const { layer, seen } = fakeHttp((request) =>
        request.method === "DELETE" ? new Response(null, { status: 204 }) : json(200, { ids: ["a"] })
      )
      const Ids = Schema.Struct({ ids: Schema.Array(Schema.String) })
      yield* rest(
        (c) =>
          Effect.all([
            c.post("/api/v1/stable/tenants/t/tasks/cancel", Ids, { body: { externalIds: ["a"] } }),
            c.patch("/api/v1/workers/w", Ids, { body: { isPaused: true } }),
            c.del("/api/v1/workflows/wf", Schema.Void)
          ]),
        layer
      )
      expect(seen.map((s) => [s.method, new URL(s.url).pathname, s.body, s.headers["content-type"]])).toEqual([
        ["POST", "/api/v1/stable/tenants/t/tasks/cancel", "{\"externalIds\":[\"a\"]}", "application/json"],
        ["PATCH", "/api/v1/workers/w", "{\"isPaused\":true}", "application/json"],
        ["DELETE", "/api/v1/workflows/wf", "", undefined]
      ])
    }))

  it.effect("an API URL with a path keeps it", () =>
    Effect.gen(function*() {
      const { layer, seen } = fakeHttp(() => json(200, TENANT))
      yield* rest((c) => c.get("/api/v1/tenants/t", Tenant), layer, "https://example.com/hatchet/")
      expect(seen[0]!.url).toBe("https://example.com/hatchet/api/v1/tenants/t")
    }))

  it.effect("a non-2xx answer is a RestError with the status and the body", () =>
    Effect.gen(function*() {
      const body = { errors: [{ description: "workflow run not found" }] }
      const { layer } = fakeHttp(() => json(404, body))
      const error = yield* rest((c) => c.get("/api/v1/stable/workflow-runs/nope", Tenant), layer).pipe(Effect.flip)
      expect(error).toBeInstanceOf(RestError)
      expect(error).toMatchObject({
        reason: "StatusCode",
        method: "GET",
        url: "http://hatchet.test:8080/api/v1/stable/workflow-runs/nope",
        status: 404,
        body: JSON.stringify(body)
      })
      expect(error.message).toContain("GET http://hatchet.test:8080/api/v1/stable/workflow-runs/nope answered 404")
      expect(error.message).toContain("workflow run not found")
    }))

  it.effect("a body that does not match the schema is a Decode RestError with status and body", () =>
    Effect.gen(function*() {
      const { layer } = fakeHttp(() => json(200, { metadata: { id: 1 }, name: "acme", version: "V9" }))
      const error = yield* rest((c) => c.get("/api/v1/tenants/t", Tenant), layer).pipe(Effect.flip)
      expect(error).toMatchObject({ reason: "Decode", status: 200 })
      expect(error.body).toContain("\"V9\"")
      expect(error.message).toContain("does not match the expected schema")
      expect(error.message).toContain("metadata")
    }))

  it.effect("a body that is not JSON is a Decode RestError", () =>
    Effect.gen(function*() {
      const { layer } = fakeHttp(() => new Response("<html>bad gateway</html>", { status: 200 }))
      const error = yield* rest((c) => c.get("/api/v1/tenants/t", Tenant), layer).pipe(Effect.flip)
      expect(error).toMatchObject({ reason: "Decode", status: 200, body: "<html>bad gateway</html>" })
    }))

  it.effect("a transport failure is a Transport RestError, without the token", () =>
    Effect.gen(function*() {
      const { layer } = fakeHttp(() => "transport-failure")
      const error = yield* rest((c) => c.get("/api/v1/tenants/t", Tenant), layer).pipe(Effect.flip)
      expect(error).toMatchObject({ reason: "Transport", method: "GET", url: "http://hatchet.test:8080/api/v1/tenants/t" })
      expect(error.message).toContain("connection refused")
      for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 10 }), error.stack ?? ""]) {
        expect(text).not.toContain(TOKEN)
      }
    }))

  it.effect("a body that cannot be encoded is an Encode RestError", () =>
    Effect.gen(function*() {
      const { layer, seen } = fakeHttp(() => json(200, {}))
      const error = yield* rest((c) => c.post("/api/v1/x", Schema.Unknown, { body: { n: 1n } }), layer).pipe(Effect.flip)
      expect(error.reason).toBe("Encode")
      expect(seen).toHaveLength(0)
    }))

  it.effect("text() returns the raw body", () =>
    Effect.gen(function*() {
      const { layer } = fakeHttp(() => new Response("# HELP hatchet_x\nhatchet_x 1\n", { status: 200 }))
      expect(yield* rest((c) => c.text("GET", "/api/v1/tenants/t/prometheus-metrics"), layer)).toContain("hatchet_x 1")
    }))

  it("toUrlParams: repeated keys, ISO dates, no undefined", () => {
    expect(RestClient.toUrlParams({ a: [1, 2], b: undefined, c: true, d: new Date(0) })).toEqual([
      ["a", "1"],
      ["a", "2"],
      ["c", "true"],
      ["d", "1970-01-01T00:00:00.000Z"]
    ])
  })

  describe("against a loopback HTTP server", () => {
    const server = Effect.acquireRelease(
      Effect.async<{ server: http.Server; port: number; seen: Array<http.IncomingMessage> }>((resume) => {
        const seen: Array<http.IncomingMessage> = []
        const server = http.createServer((req, res) => {
          seen.push(req)
          if (req.url?.startsWith("/api/v1/tenants/")) {
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(TENANT))
          } else {
            res.writeHead(401, { "content-type": "application/json" }).end("{\"errors\":[{\"description\":\"unauthorized\"}]}")
          }
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, port: (server.address() as { port: number }).port, seen })))
      }),
      ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    )

    for (
      const [name, client] of [
        ["FetchHttpClient (@effect/platform)", FetchHttpClient.layer],
        ["NodeHttpClient (@effect/platform-node)", NodeHttpClient.layerUndici]
      ] as const
    ) {
      it.scopedLive(`${name}: success and a 401 with its body`, () =>
        Effect.gen(function*() {
          const { port, seen } = yield* server
          const apiUrl = `http://127.0.0.1:${port}`
          const tenant = yield* rest(
            (c) => c.get(`/api/v1/tenants/${c.tenantId}`, Tenant, { query: { ids: ["x", "y"] } }),
            client,
            apiUrl
          )
          expect(tenant.version).toBe("V1")
          expect(seen[0]!.url).toBe("/api/v1/tenants/707d0855-80ab-4e1f-a156-f1c4546cbf52?ids=x&ids=y")
          expect(seen[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
          const error = yield* rest((c) => c.get("/api/v1/other", Tenant), client, apiUrl).pipe(Effect.flip)
          expect(error).toMatchObject({ reason: "StatusCode", status: 401 })
          expect(error.body).toContain("unauthorized")
        }))
    }
  })
})
