/**
 * API tokens end to end with the `ApiTokens` service on the local engine: a created token (its
 * value redacted) is listed, serves a client of its own (REST, a worker and a run over gRPC),
 * and once revoked is refused over REST (403) and gRPC (UNAUTHENTICATED); bad requests are
 * refused before sending; the engine's own token is internal (403 on revoke).
 */
import { Engine } from "@effect-hatchet/engine"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Redacted, Schema } from "effect"
import * as ApiTokens from "../src/ApiTokens.js"
import * as Hatchet from "../src/Hatchet.js"
import * as Task from "../src/Task.js"
import * as Tenants from "../src/Tenants.js"
import { clientLayer, engineWithClient, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const tokenId = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).token_id as string

layer(engineWithClient(), { timeout: 60_000, excludeTestServices: true })("API tokens end to end", (it) => {
  it.scoped("create, use over REST and gRPC, list, revoke: refused from then on", () =>
    Effect.gen(function*() {
      const tokens = yield* ApiTokens.ApiTokens
      const engine = yield* Engine.Engine
      const before = Date.now()
      const created = yield* tokens.create({ name: "ci", expiresIn: "1 day" })
      expect(created.name).toBe("ci")
      expect(String(created.token)).toBe("<redacted>")
      expect(JSON.stringify(created)).not.toContain(".")

      const listed = (yield* tokens.list()).find((t) => t.metadata.id === created.id)
      expect(listed).toMatchObject({ name: "ci" })
      expect(listed!.metadata.createdAt.getTime()).toBeGreaterThanOrEqual(before)
      expect(listed!.expiresAt.getTime() - listed!.metadata.createdAt.getTime()).toBe(24 * 3600 * 1000)

      // a client of its own with the new token: REST, a worker, a run
      const Bump = Task.make(unique("bump"), {
        input: Schema.Struct({ n: Schema.Number }),
        output: Schema.Struct({ n: Schema.Number })
      })
      const asCreated = clientLayer({ token: created.token })
      const tenant = yield* Effect.provide(Effect.flatMap(Tenants.Tenants, (t) => t.get()), asCreated)
      expect(tenant.metadata.id).toBe(engine.tenantId)
      const output = yield* Effect.scoped(Effect.gen(function*() {
        yield* startWorker(Bump.toLayer((input) => Effect.succeed({ n: input.n + 1 })))
        return yield* Hatchet.run(Bump, { n: 1 })
      })).pipe(Effect.provide(asCreated))
      expect(output).toEqual({ n: 2 })
      // an API token may not manage tokens (Hatchet: only a dashboard user may)
      const managing = yield* Effect.provide(Effect.flip(Effect.flatMap(ApiTokens.ApiTokens, (t) => t.list())), asCreated)
      expect(managing).toMatchObject({ _tag: "RestError", status: 401 })

      yield* tokens.revoke(created.id)
      expect((yield* tokens.list()).map((t) => t.metadata.id)).not.toContain(created.id)
      const rest = yield* Effect.provide(Effect.flip(Effect.flatMap(Tenants.Tenants, (t) => t.get())), asCreated)
      expect(rest).toMatchObject({ _tag: "RestError", status: 403 })
      const grpc = yield* Effect.provide(Effect.flip(Hatchet.push(unique("event"), {})), asCreated)
      expect(grpc).toMatchObject({ _tag: "GrpcError", details: "invalid auth token" })
      expect((grpc as { status?: string }).status).toBe("UNAUTHENTICATED")
      // revoking again succeeds
      yield* tokens.revoke(created.id)
    }))

  it.scoped("refused before sending; unknown and internal tokens", () =>
    Effect.gen(function*() {
      const tokens = yield* ApiTokens.ApiTokens
      const engine = yield* Engine.Engine
      const invalid = yield* Effect.flip(tokens.create({ name: "x".repeat(256), expiresIn: 0 }))
      expect(invalid).toEqual(
        new ApiTokens.InvalidApiToken({ issues: ["name: at most 255 characters", "expiresIn: 0 must be positive"] })
      )
      expect(yield* Effect.flip(tokens.create({ name: "y", expiresIn: Duration.weeks(20_000) }))).toEqual(
        new ApiTokens.InvalidApiToken({ issues: ["expiresIn: 140000d must be at most Go's longest duration (about 292 years)"] })
      )
      // a duration that is not whole seconds is sent in milliseconds (`1500ms`)
      const short = yield* tokens.create({ name: "short", expiresIn: "1.5 seconds" })
      const row = (yield* tokens.list()).find((t) => t.metadata.id === short.id)!
      expect(row.expiresAt.getTime() - row.metadata.createdAt.getTime()).toBe(1500)

      expect(yield* Effect.flip(tokens.revoke("2f2f2f2f-5555-4555-8555-555555555555"))).toMatchObject({ status: 404 })
      const internal = yield* Effect.flip(tokens.revoke(tokenId(Redacted.value(engine.token))))
      expect(internal).toMatchObject({ status: 403 })
      expect(internal.body).toContain("Cannot revoke internal API tokens")
    }))
})
