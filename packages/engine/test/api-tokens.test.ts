/**
 * API tokens over REST with raw requests, on an engine whose clock is the test's TestClock: a
 * created token authenticates REST and gRPC until it is revoked or expires; the list and revoke
 * answers and upstream's errors for bad input; an API token may not manage tokens (401, as
 * upstream's authorization); the engine's own (internal) tokens may, and are neither listed nor
 * revocable; an API token the engine has no record of (created before a restart) is
 * refused while an internal one is not.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Status } from "nice-grpc-common"
import * as EngineAuth from "../src/internal/auth/EngineAuth.js"
import * as Clocked from "./support/clocked.js"
import * as Grpc from "./support/grpc.js"
import { makeHarness, tenantId as harnessTenant } from "./support/harness.js"
import { otherTenant, unknownId } from "./support/rest.js"

const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
const notAuthorized = { status: 401, body: { message: "Not authorized to perform this operation" } }
const unauthenticated = { code: Status.UNAUTHENTICATED, details: "invalid auth token" }
const day = 24 * 3600 * 1000

/** A JWT's claims (the SDKs read them the same way, unverified). */
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString())

const setup = Effect.gen(function*() {
  const t = yield* Clocked.engineUnderTestClock
  const { engine } = t
  const tokens = `${engine.apiUrl}/api/v1/tenants/${engine.tenantId}/api-tokens`
  const revokeUrl = (id: string) => `${engine.apiUrl}/api/v1/api-tokens/${id}`
  // `null`: no token
  const create = (body: unknown, as: string | null = t.token) => Clocked.call("POST", tokens, as ?? undefined, body)
  const list = (as: string | null = t.token) => Clocked.call("GET", tokens, as ?? undefined)
  const revoke = (id: string, as: string | null = t.token) => Clocked.call("POST", revokeUrl(id), as ?? undefined)
  /** What a token may do: read the tenant over REST, and ask the dispatcher over gRPC. */
  const access = (token: string) =>
    Effect.gen(function*() {
      const rest = yield* Clocked.call("GET", `${engine.apiUrl}/api/v1/tenants/${engine.tenantId}`, token)
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${token}`)
      const grpc = yield* Effect.promise(() =>
        c.dispatcher.getVersion({}).then((v) => v, (e: { code: Status; details: string }) => ({ code: e.code, details: e.details }))
      )
      return { rest: rest.status === 200 ? "ok" : rest, grpc: "version" in grpc ? "ok" : grpc }
    })
  return { ...t, create, list, revoke, access }
})

describe("API tokens", () => {
  it.scoped("created, used over REST and gRPC, listed, revoked: refused from then on", () =>
    Effect.gen(function*() {
      const { access, create, engine, list, revoke } = yield* setup
      // the TestClock starts at 0; the engine's own token lives 90 days from there
      const now = day + 500
      yield* Clocked.advance(now)
      const created = yield* create({ name: "ci" })
      expect(created.status).toBe(200)
      expect(Object.keys(created.body as object)).toEqual(["token"])
      const token = (created.body as { token: string }).token
      const claims = claimsOf(token)
      expect(claims).toMatchObject({
        sub: engine.tenantId,
        iss: engine.apiUrl,
        aud: engine.apiUrl,
        iat: Math.floor(now / 1000),
        exp: Math.floor((now + 90 * day) / 1000),
        server_url: engine.apiUrl,
        grpc_broadcast_address: engine.grpcAddress
      })
      expect(yield* access(token)).toEqual({ rest: "ok", grpc: "ok" })

      // the engine's own token is internal: not listed
      const listed = yield* list()
      expect(listed).toEqual({
        status: 200,
        body: {
          rows: [{
            expiresAt: new Date(now + 90 * day).toISOString(),
            metadata: { id: claims.token_id, createdAt: new Date(now).toISOString(), updatedAt: new Date(now).toISOString() },
            name: "ci"
          }]
        }
      })
      // an API token may not manage tokens (upstream's authorization: only a dashboard user may),
      // refused once found valid, before its body is read; bad ids are answered first, as upstream's populator
      expect(yield* list(token)).toEqual(notAuthorized)
      expect(yield* create({ name: "x" }, token)).toEqual(notAuthorized)
      expect(yield* create("{not json", token)).toEqual(notAuthorized)
      expect(yield* revoke(claims.token_id, token)).toEqual(notAuthorized)
      expect(yield* revoke(unknownId, token)).toEqual({ status: 404, body: { message: "not found" } })
      expect(yield* list()).toEqual(listed)

      expect(yield* revoke(claims.token_id)).toEqual({ status: 204, body: undefined })
      expect(yield* access(token)).toEqual({ rest: forbidden, grpc: unauthenticated })
      expect(yield* list(token)).toEqual(forbidden)
      expect(yield* list()).toEqual({ status: 200, body: { rows: [] } })
      // revoking a revoked token answers as the first time
      expect(yield* revoke(claims.token_id)).toEqual({ status: 204, body: undefined })
      expect(yield* access(engine.env.HATCHET_CLIENT_TOKEN)).toEqual({ rest: "ok", grpc: "ok" })
    }))

  it.scoped("expiresIn: refused once expired on the engine's clock; still listed; 90 days by default", () =>
    Effect.gen(function*() {
      const { access, create, list } = yield* setup
      const hour = (yield* create({ name: "hour", expiresIn: "1h" })).body as { token: string }
      const long = (yield* create({ name: "long", expiresIn: "1.5h" })).body as { token: string }
      const defaulted = (yield* create({ name: "default", expiresIn: null })).body as { token: string }
      expect(claimsOf(hour.token).exp).toBe(3600)
      expect(claimsOf(long.token).exp).toBe(5400)
      expect(claimsOf(defaulted.token).exp).toBe(90 * 24 * 3600)
      yield* Clocked.advance(3600_000 - 1)
      expect(yield* access(hour.token)).toEqual({ rest: "ok", grpc: "ok" })
      yield* Clocked.advance(1)
      expect(yield* access(hour.token)).toEqual({ rest: forbidden, grpc: unauthenticated })
      expect(yield* access(long.token)).toEqual({ rest: "ok", grpc: "ok" })
      const rows = ((yield* list()).body as { rows: Array<{ name: string; expiresAt: string }> }).rows
      expect(rows.map((r) => [r.name, r.expiresAt])).toEqual([
        ["hour", new Date(3600_000).toISOString()],
        ["long", new Date(5400_000).toISOString()],
        ["default", new Date(90 * day).toISOString()]
      ])
      // created already expired
      const none = (yield* create({ name: "none", expiresIn: "0s" })).body as { token: string }
      expect(yield* access(none.token)).toEqual({ rest: forbidden, grpc: unauthenticated })
    }))

  it.scoped("create: upstream's answers to bad bodies", () =>
    Effect.gen(function*() {
      const { create, list } = yield* setup
      const invalidDuration = {
        status: 400,
        body: {
          errors: [{
            description: "validation failed on field 'CreateAPITokenRequest.ExpiresIn': Invalid duration. Durations must be one " +
              "or more <number><unit> components, where unit is one of: 'ms', 's', 'm', 'h'. For example: '10s', '1h30m', '1.5h'",
            field: "expiresin"
          }]
        }
      }
      for (const expiresIn of ["1d", "", "-1h", "10", "1h "]) {
        expect(yield* create({ name: "x", expiresIn }), expiresIn).toEqual(invalidDuration)
      }
      expect(yield* create({ name: 1 })).toEqual({
        status: 400,
        body: { message: "Unmarshal type error: expected=string, got=number, field=name, offset=9" }
      })
      expect(yield* create("{not json")).toEqual({
        status: 400,
        body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
      })
      // the name is checked by the repository only: more than 255 characters is a 500
      expect(yield* create({ name: "é".repeat(256) })).toEqual({ status: 500, body: { message: "Internal Server Error" } })
      expect((yield* create({ name: "é".repeat(255) })).status).toBe(200)
      // no body, or no name: an empty name; keys are matched case-insensitively, as Go's decoder does
      expect((yield* create(undefined)).status).toBe(200)
      expect((yield* create({ NAME: "upper", ExpiresIn: "2h" })).status).toBe(200)
      const rows = ((yield* list()).body as { rows: Array<{ name: string; expiresAt: string }> }).rows
      expect(rows.map((r) => r.name)).toEqual(["é".repeat(255), "", "upper"])
      expect(rows[2]!.expiresAt).toBe(new Date(2 * 3600_000).toISOString())
      // no token, another tenant's token
      expect(yield* create({ name: "x" }, null)).toEqual(forbidden)
      expect(yield* list("not-a-jwt")).toEqual(forbidden)
    }))

  it.scoped("revoke: bad ids, unknown tokens, other tenants' and internal tokens", () =>
    Effect.gen(function*() {
      const { access, create, engine, list, revoke, token } = yield* setup
      const theirs = Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))
      const theirUrl = `${engine.apiUrl}/api/v1/tenants/${otherTenant}/api-tokens`
      const theirToken = (yield* Clocked.call("POST", theirUrl, theirs, { name: "theirs" })).body as { token: string }
      const theirId = claimsOf(theirToken.token).token_id
      const mine = (yield* create({ name: "mine" })).body as { token: string }
      const myId = claimsOf(mine.token).token_id

      expect(yield* revoke("abc")).toEqual({ status: 400, body: { message: "invalid api token id" } })
      expect(yield* revoke(unknownId)).toEqual({ status: 404, body: { message: "not found" } })
      expect(yield* revoke(unknownId, null)).toEqual({ status: 404, body: { message: "not found" } })
      // another tenant's token, or no token: 403, and nothing revoked
      expect(yield* revoke(theirId)).toEqual(forbidden)
      expect(yield* revoke(myId, theirs)).toEqual(forbidden)
      expect(yield* revoke(myId, null)).toEqual(forbidden)
      expect(yield* access(mine.token)).toEqual({ rest: "ok", grpc: "ok" })
      // each tenant lists its own
      expect(((yield* Clocked.call("GET", theirUrl, theirs)).body as { rows: Array<unknown> }).rows).toHaveLength(1)
      expect(yield* Clocked.call("GET", theirUrl, mine.token)).toEqual(forbidden)
      expect(((yield* list()).body as { rows: Array<unknown> }).rows).toHaveLength(1)

      // the engine's tokens are internal: 403 APIErrors
      const internal = { status: 403, body: { errors: [{ description: "Cannot revoke internal API tokens" }] } }
      expect(yield* revoke(claimsOf(token).token_id)).toEqual(internal)
      expect(yield* revoke(claimsOf(theirs).token_id, theirs)).toEqual(internal)
      expect(yield* revoke(claimsOf(theirs).token_id)).toEqual(forbidden)
      expect(yield* access(token)).toEqual({ rest: "ok", grpc: "ok" })
      // an API token may not revoke, even itself; another tenant's API token is refused by authentication first
      expect(yield* revoke(myId, mine.token)).toEqual(notAuthorized)
      expect(yield* revoke(myId, theirToken.token)).toEqual(forbidden)
      expect(yield* access(mine.token)).toEqual({ rest: "ok", grpc: "ok" })
      expect(yield* revoke(myId)).toEqual({ status: 204, body: undefined })
      expect(yield* access(mine.token)).toEqual({ rest: forbidden, grpc: unauthenticated })
    }))

  it.scoped("another engine with the same secret: internal tokens hold, API tokens it has no record of are refused", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const secret = Redacted.make("x".repeat(32))
      const first = EngineAuth.make(h.core, { secret })
      first.setAddresses("http://127.0.0.1:8080", "127.0.0.1:7070")
      const internal = Redacted.value(yield* first.mint({ tenantId: harnessTenant }))
      const api = first.createApiToken({ tenantId: harnessTenant, name: "a", now: 0 })
      const apiToken = Redacted.value(api.token)
      expect(first.authenticateAt(internal, 1000)).toBe(harnessTenant)
      expect(first.authenticateAt(apiToken, 1000)).toBe(harnessTenant)

      const again = EngineAuth.make(h.core, { secret })
      again.setAddresses("http://127.0.0.1:8080", "127.0.0.1:7070")
      expect(again.authenticateAt(internal, 1000)).toBe(harnessTenant)
      expect(again.authenticateAt(apiToken, 1000)).toBeUndefined()
      // the internal token, now seen, is known as internal
      expect(again.findApiToken(claimsOf(internal).token_id)).toMatchObject({ internal: true, tenantId: harnessTenant })
      expect(again.findApiToken(api.record.id)).toBeUndefined()
      expect(again.listApiTokens(harnessTenant)).toEqual([])
      // another secret accepts neither
      const other = EngineAuth.make(h.core, { secret: Redacted.make("y".repeat(32)) })
      other.setAddresses("http://127.0.0.1:8080", "127.0.0.1:7070")
      expect(other.authenticateAt(internal, 1000)).toBeUndefined()
      expect(other.authenticateAt(apiToken, 1000)).toBeUndefined()
    }))
})
