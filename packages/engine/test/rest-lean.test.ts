/**
 * The hot REST routes (the tenant's run list, a run's details) are answered straight from Node's
 * request event (`PlainRoutes.serveLean`) instead of through the Effect HTTP server and router.
 * Here the same requests, byte for byte, go to an engine REST server with that lean path and to
 * one without it (every request through the router), over loopback: the two answers must be the
 * same bytes (status line, headers but the date, body) for successes, bad queries, missing,
 * malformed and foreign tokens, bad and unknown tenants and runs. Then, which requests the lean
 * path takes: only a GET of a route's canonical path, never anything it would answer differently,
 * and never a request whose handler fails with a defect.
 */
import { StepActionEventType } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Redacted } from "effect"
import { createServer } from "node:http"
import * as net from "node:net"
import * as EngineAuth from "../src/internal/auth/EngineAuth.js"
import * as PlainRoutes from "../src/internal/http/plainRoutes.js"
import { jsonReply } from "../src/internal/http/rest.js"
import { hotRoutes } from "../src/internal/http/routes/workflowRuns.js"
import * as HttpServer from "../src/internal/http/server.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

const otherTenant = "5e1d7c5a-4444-4444-8444-444444444444"

/** Sends `request` as it is over a fresh connection and reads the whole answer (the server closes it). */
const rawHttp = (port: number, request: string) =>
  Effect.async<string>((resume) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.end(request))
    const chunks: Array<Buffer> = []
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("close", () => resume(Effect.succeed(Buffer.concat(chunks).toString("latin1"))))
    socket.on("error", (error) => resume(Effect.die(error)))
    return Effect.sync(() => socket.destroy())
  })

const request = (method: string, path: string, authorization?: string) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
  (authorization === undefined ? "" : `Authorization: ${authorization}\r\n`) +
  "Connection: close\r\n\r\n"

/** The answer without its `Date` header (the one part that differs between two answers). */
const withoutDate = (answer: string) => answer.replace(/\r\nDate: [^\r]*/, "")

/** An engine core with runs of several shapes, a token of its tenant and one of another. */
const setup = Effect.gen(function*() {
  const h = yield* makeHarness
  yield* h.putWorkflow("lean-dag", [task("a"), task("b", { parents: ["a"] })])
  yield* h.putWorkflow("lean-one", [task("only")])
  const dag = yield* h.trigger("lean-dag", { x: 1, text: "é\"\\\n" }, { additionalMetadata: "{\"k\":\"v\"}" })
  const done = yield* h.trigger("lean-one", { n: 2 })
  const failed = yield* h.trigger("lean-one", { n: 3 })
  const worker = yield* h.worker(["lean-one:only", "lean-dag:a"])
  const [first, second] = worker.starts().filter((action) => action.actionId === "lean-one:only")
  yield* h.complete(first!, "{\"ok\":true}")
  yield* h.report(second!, StepActionEventType.STEP_EVENT_TYPE_FAILED, "boom", true)
  const auth = EngineAuth.make(h.core, {})
  const token = Redacted.value(yield* auth.mint({ tenantId }))
  const other = Redacted.value(yield* auth.mint({ tenantId: otherTenant }))
  return { core: h.core, auth, token, other, runIds: [dag, done, failed] }
})

describe("REST hot routes served without the Effect HTTP machinery", () => {
  it.scopedLive("answer the same bytes as the router, for successes and every failure", () =>
    Effect.gen(function*() {
      const { auth, core, other, runIds, token } = yield* setup
      const leanPort = yield* (yield* HttpServer.make({ host: "127.0.0.1", core, auth })).listen(0)
      const routerPort = yield* (yield* HttpServer.make({ host: "127.0.0.1", core, auth, lean: false })).listen(0)
      const since = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())
      const list = `/api/v1/stable/tenants/${tenantId}/workflow-runs`
      const bearer = `Bearer ${token}`
      const cases: ReadonlyArray<readonly [path: string, authorization: string | undefined, status: number]> = [
        [`${list}?since=${since}&only_tasks=false`, bearer, 200],
        [`${list}?since=${since}&only_tasks=true&limit=2&offset=1`, bearer, 200],
        [`${list}?since=${since}&only_tasks=false&statuses=COMPLETED&statuses=FAILED&include_payloads=false`, bearer, 200],
        [`${list}?since=${since}&only_tasks=false&additional_metadata=k:v`, bearer, 200],
        [`${list}?since=${since}&only_tasks=false&limit=1000000000000000000`, bearer, 500],
        [`${list}?since=${since}&only_tasks=false&limit=-1`, bearer, 500],
        [`${list}?only_tasks=false`, bearer, 400],
        [`${list}?since=yesterday&only_tasks=false`, bearer, 400],
        [`${list}?since=${since}&only_tasks=maybe`, bearer, 400],
        [`${list}?since=${since}&only_tasks=false&limit=ten`, bearer, 400],
        [`${list}?since=${since}&only_tasks=false&worker_id=nope`, bearer, 400],
        [`${list}?since=${since}&only_tasks=false`, undefined, 403],
        [`${list}?since=${since}&only_tasks=false`, "Bearer garbage", 403],
        [`${list}?since=${since}&only_tasks=false`, `Bearer ${other}`, 403],
        [`${list}?since=${since}&only_tasks=false`, `Bearer${token}`, 200],
        [`${list}?since=${since}&only_tasks=false`, `Bearer ${token}Bearer`, 403],
        [`/api/v1/stable/tenants/${otherTenant}/workflow-runs?since=${since}&only_tasks=false`, bearer, 403],
        [`/api/v1/stable/tenants/${tenantId.toUpperCase()}/workflow-runs?since=${since}&only_tasks=false`, bearer, 200],
        [`/api/v1/stable/tenants/not-a-tenant/workflow-runs?since=${since}&only_tasks=false`, bearer, 400],
        ...runIds.map((id) => [`/api/v1/stable/workflow-runs/${id}`, bearer, 200] as const),
        [`/api/v1/stable/workflow-runs/${runIds[0]}`, undefined, 403],
        [`/api/v1/stable/workflow-runs/${runIds[0]}`, `Bearer ${other}`, 403],
        [`/api/v1/stable/workflow-runs/2f2f2f2f-5555-4555-8555-555555555555`, bearer, 404],
        [`/api/v1/stable/workflow-runs/2f2f2f2f-5555-4555-8555-555555555555`, undefined, 404],
        [`/api/v1/stable/workflow-runs/not-a-run`, bearer, 400]
      ]
      for (const [path, authorization, status] of cases) {
        const lean = yield* rawHttp(leanPort, request("GET", path, authorization))
        const routed = yield* rawHttp(routerPort, request("GET", path, authorization))
        expect(lean.slice(0, 12), path).toBe(`HTTP/1.1 ${status}`)
        expect(withoutDate(lean), path).toBe(withoutDate(routed))
        expect(lean).toMatch(/\r\ncontent-type: application\/json\r\ncontent-length: \d+\r\n/)
      }
      // a page of runs, with the DAG's escaped input
      const page = yield* rawHttp(leanPort, request("GET", `${list}?since=${since}&only_tasks=false`, bearer))
      const body = JSON.parse(page.slice(page.indexOf("\r\n\r\n") + 4)) as { rows: ReadonlyArray<{ metadata: { id: string } }> }
      expect(body.rows.map((row) => row.metadata.id).sort()).toEqual([...runIds].sort())
    }))

  it.scopedLive("take only a GET of a route's canonical path, and leave a defect to the router", () =>
    Effect.gen(function*() {
      const { auth, core, runIds, token } = yield* setup
      const clock = yield* Effect.clock
      /** A server that answers 599 when the lean path leaves a request. */
      const serve = (routes: ReadonlyArray<PlainRoutes.PlainRoute>) =>
        Effect.acquireRelease(
          Effect.async<{ readonly server: ReturnType<typeof createServer>; readonly port: number }>((resume) => {
            const lean = PlainRoutes.serveLean(routes, { core, auth, clock })
            const server = createServer((req, res) => {
              if (!lean(req, res)) res.writeHead(599).end()
            })
            server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, port: (server.address() as net.AddressInfo).port })))
          }),
          ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
        )
      const { port } = yield* serve(hotRoutes)
      const since = encodeURIComponent(new Date((yield* Clock.currentTimeMillis) - 3_600_000).toISOString())
      const bearer = `Bearer ${token}`
      const statusOf = (method: string, path: string) => Effect.map(rawHttp(port, request(method, path, bearer)), (a) => a.slice(9, 12))
      const taken = [
        `/api/v1/stable/tenants/${tenantId}/workflow-runs?since=${since}&only_tasks=false`,
        `/api/v1/stable/tenants/${tenantId}/workflow-runs`,
        `/api/v1/stable/tenants/nope/workflow-runs?since=${since}&only_tasks=false`,
        `/api/v1/stable/workflow-runs/${runIds[0]}`,
        `/api/v1/stable/workflow-runs/not-a-run`
      ]
      for (const path of taken) expect(yield* statusOf("GET", path), path).not.toBe("599")
      const left = [
        ["HEAD", taken[0]!],
        ["POST", taken[0]!],
        ["GET", `/api/v1/stable/tenants/${tenantId}/workflow-runs/?since=${since}&only_tasks=false`],
        ["GET", `//api/v1/stable/tenants/${tenantId}/workflow-runs?since=${since}&only_tasks=false`],
        ["GET", `/API/v1/stable/tenants/${tenantId}/workflow-runs?since=${since}&only_tasks=false`],
        ["GET", `/api/v1/stable/tenants/${tenantId}/workflow%2Druns?since=${since}&only_tasks=false`],
        ["GET", `/api/v1/stable/tenants/${tenantId.replace("-", "%2D")}/workflow-runs?since=${since}&only_tasks=false`],
        ["GET", `/api/v1/stable/workflow-runs/${runIds[0]}/status`],
        ["GET", `/api/v1/stable/workflow-runs/`],
        ["GET", `/api/v1/stable/tenants/${tenantId}/workflow-runs/trigger`]
      ] as const
      for (const [method, path] of left) expect(yield* statusOf(method, path), `${method} ${path}`).toBe("599")
      const defect = yield* serve([{
        path: "/defect/:id",
        handler: () => {
          throw new Error("a bug")
        }
      }])
      expect((yield* rawHttp(defect.port, request("GET", "/defect/1"))).slice(9, 12)).toBe("599")
    }))

  it.scopedLive("load the router on the first request it answers: requests meanwhile, however they come, are all answered", () =>
    Effect.gen(function*() {
      const { auth, core, token } = yield* setup
      // a fresh server: the run list is answered before the router is loaded
      const port = yield* (yield* HttpServer.make({ host: "127.0.0.1", core, auth })).listen(0)
      const since = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())
      const listed = yield* rawHttp(
        port,
        request("GET", `/api/v1/stable/tenants/${tenantId}/workflow-runs?since=${since}&only_tasks=false`, `Bearer ${token}`)
      )
      expect(listed.slice(0, 15)).toBe("HTTP/1.1 200 OK")
      // then requests to the router, all at once while it loads: each gets the router's answer
      const answers = yield* Effect.all(
        [
          rawHttp(port, request("GET", `/api/v1/tenants/${tenantId}/workflows`, `Bearer ${token}`)),
          rawHttp(port, request("GET", `/api/v1/tenants/${tenantId}/workflows`, undefined)),
          rawHttp(port, request("GET", "/api/v1/no-such-route", `Bearer ${token}`)),
          Effect.promise(() =>
            fetch(`http://127.0.0.1:${port}/api/v1/tenants/${tenantId}/workflows`, { headers: { authorization: `Bearer ${token}` } }).then((
              response
            ) => response.status)
          )
        ],
        { concurrency: "unbounded" }
      )
      expect(answers[0].slice(0, 15)).toBe("HTTP/1.1 200 OK")
      expect(answers[0]).toContain(`"rows":[`)
      expect(answers[1].slice(0, 12)).toBe("HTTP/1.1 403")
      expect(answers[2].slice(0, 12)).toBe("HTTP/1.1 404")
      expect(answers[2]).toContain(`{"message":"Not Found"}`)
      expect(answers[3]).toBe(200)
    }))

  it.scopedLive("reuse the writer's buffer only once Node has sent a body: pipelined answers queued behind another keep their bytes", () =>
    Effect.gen(function*() {
      const { auth, core } = yield* setup
      const clock = yield* Effect.clock
      // a body of 100,000 copies of the path's letter, larger than the writer's first buffer
      const route: PlainRoutes.PlainRoute = {
        path: "/letters/:letter",
        handler: (request) => jsonReply((writer) => writer.string(request.params["letter"]!.repeat(100_000)))
      }
      const lean = PlainRoutes.serveLean([route], { core, auth, clock })
      const server = createServer((req, res) => {
        if (!lean(req, res)) res.writeHead(599).end()
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const port = (server.address() as net.AddressInfo).port
      // three requests in one write: Node answers the second and third while the first is still
      // the connection's, so their bodies wait in their responses, not in the socket
      const keepAlive = (letter: string) => `GET /letters/${letter} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
      const answer = yield* rawHttp(port, keepAlive("a") + keepAlive("b") + request("GET", "/letters/c"))
      const bodies = answer.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).slice(1)
      expect(bodies).toEqual(["a", "b", "c"].map((letter) => JSON.stringify(letter.repeat(100_000))))
    }))
})
