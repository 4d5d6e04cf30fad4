/**
 * API tokens through the official SDK's generated REST client (`api.apiTokenCreate`,
 * `apiTokenList`, `apiTokenUpdateRevoke`) against the local engine: a created token serves a
 * client's REST calls and an official worker (gRPC) until it is revoked (it may not manage tokens
 * itself: upstream's 401), then REST answers 403 and
 * gRPC calls (an event, a run) UNAUTHENTICATED; the engine's own token is internal (not listed, not revocable).
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

const tokenId = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).token_id as string

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("API tokens (official SDK)", (it) => {
  it.scoped("a created token runs a worker and REST calls until it is revoked", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const admin = Official.client(engine)
      const before = Date.now()
      const created = yield* Effect.promise(() => admin.api.apiTokenCreate(engine.tenantId, { name: "ci", expiresIn: "24h" }))
      expect(created.status).toBe(200)
      const token = Redacted.make(created.data.token)

      const listed = yield* Effect.promise(() => admin.api.apiTokenList(engine.tenantId))
      expect(listed.status).toBe(200)
      expect(listed.data).toEqual({
        rows: [{
          metadata: { id: tokenId(created.data.token), createdAt: expect.any(String), updatedAt: expect.any(String) },
          name: "ci",
          expiresAt: expect.any(String)
        }]
      })
      const row = listed.data.rows![0]!
      const createdAt = Date.parse(row.metadata.createdAt)
      expect(createdAt).toBeGreaterThanOrEqual(before)
      expect(Date.parse(row.expiresAt) - createdAt).toBe(24 * 3600 * 1000)

      // a client with the new token: REST, and a worker over gRPC
      const hatchet = Official.client(engine, token)
      expect((yield* Effect.promise(() => hatchet.api.tenantGet(engine.tenantId))).data.metadata.id).toBe(engine.tenantId)
      const name = Official.unique("api-token")
      const bump = hatchet.task({ name, fn: async (input: { n: number }) => ({ n: input.n + 1 }) })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Official.worker(hatchet, `${name}-worker`, { workflows: [bump] })
        expect(yield* Effect.promise(() => bump.run({ n: 1 }))).toEqual({ n: 2 })
      }))

      // the created token may not manage tokens: upstream's 401 to an API token
      expect(yield* Official.restError(() => hatchet.api.apiTokenList(engine.tenantId))).toEqual({
        status: 401,
        data: { message: "Not authorized to perform this operation" }
      })
      expect(yield* Official.restError(() => hatchet.api.apiTokenUpdateRevoke(row.metadata.id))).toEqual({
        status: 401,
        data: { message: "Not authorized to perform this operation" }
      })

      const revoked = yield* Effect.promise(() => admin.api.apiTokenUpdateRevoke(row.metadata.id))
      expect(revoked.status).toBe(204)
      expect(yield* Official.restError(() => hatchet.api.tenantGet(engine.tenantId))).toEqual({
        status: 403,
        data: { message: "Please provide valid credentials" }
      })
      expect(yield* Official.restError(() => hatchet.api.apiTokenList(engine.tenantId))).toEqual({
        status: 403,
        data: { message: "Please provide valid credentials" }
      })
      // gRPC: the client's calls are refused
      const pushed = yield* Effect.promise(() => hatchet.events.push("api-token-event", {}).then(() => "pushed", (e: Error) => e.message))
      expect(pushed).toMatch(/UNAUTHENTICATED: invalid auth token/)
      const triggered = yield* Effect.promise(() => bump.runNoWait({ n: 1 }).then(() => "triggered", (e: Error) => e.message))
      expect(triggered).toMatch(/UNAUTHENTICATED: invalid auth token/)
      expect((yield* Effect.promise(() => admin.api.apiTokenList(engine.tenantId))).data).toEqual({ rows: [] })
    }))

  it.scoped("the engine's own token is internal: not listed, and revoking it is 403", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const admin = Official.client(engine)
      const rows = (yield* Effect.promise(() => admin.api.apiTokenList(engine.tenantId))).data.rows ?? []
      expect(rows.map((r) => r.metadata.id)).not.toContain(tokenId(Redacted.value(engine.token)))
      expect(yield* Official.restError(() => admin.api.apiTokenUpdateRevoke(tokenId(Redacted.value(engine.token))))).toEqual({
        status: 403,
        data: { errors: [{ description: "Cannot revoke internal API tokens" }] }
      })
      expect((yield* Effect.promise(() => admin.api.tenantGet(engine.tenantId))).status).toBe(200)
    }))
})
