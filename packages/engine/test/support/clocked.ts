/**
 * A whole engine (gRPC and REST on loopback) whose clock is the test's `TestClock`, with REST
 * shorthands: for route tests whose timers (scheduled runs, crons) fire on `TestClock.adjust`.
 */
import type { CreateWorkflowVersionRequest } from "@effect-hatchet/proto/v1/workflows"
import { Effect, Redacted, TestClock } from "effect"
import type { EngineCoreService } from "../../src/internal/core.js"
import type { Run } from "../../src/internal/domain/model.js"
import * as InternalEngine from "../../src/internal/engine.js"
import * as Grpc from "./grpc.js"

/** A REST answer: the status and the parsed JSON body (undefined when empty). */
export interface Reply {
  readonly status: number
  readonly body: unknown
}

/**
 * One REST call with an optional bearer token and JSON body (a string body is sent as is), and
 * any other headers (which win over the JSON content type).
 */
export const call = (method: string, url: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(url, {
      method,
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {})
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) as unknown }
  })

/**
 * An engine whose clock is the test's TestClock, with a gRPC client, `rest(method, path)` under
 * `/api/v1/tenants/{tenant}/workflows`, `register` (one task `t`, plus any request fields) and the
 * runs of a workflow.
 */
export const engineUnderTestClock = Effect.gen(function*() {
  const { core, engine } = yield* InternalEngine.make()
  const token = Redacted.value(engine.token)
  const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${token}`)
  const tenantUrl = `${engine.apiUrl}/api/v1/tenants/${engine.tenantId}/workflows`
  const rest = (method: string, path: string, body?: unknown, as: string | undefined = token) =>
    call(method, `${tenantUrl}${path}`, as, body)
  const register = (name: string, extra: Partial<CreateWorkflowVersionRequest> = {}) =>
    Effect.promise(() =>
      c.admin.putWorkflow({ name, tasks: [{ readableId: "t", action: `${name}:t`, timeout: "60s", inputs: "{}" }], ...extra })
    )
  const runs = (name: string): Array<Run> => core.state.tenants.get(engine.tenantId)!.runs.all().filter((r) => r.workflow.name === name)
  return { core: core as EngineCoreService, engine, token, c, tenantUrl, rest, register, runs }
})

/** Moves the TestClock and lets the engine's timer fiber run what fell due. */
export const advance = (ms: number) =>
  Effect.gen(function*() {
    yield* TestClock.adjust(ms)
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
  })
