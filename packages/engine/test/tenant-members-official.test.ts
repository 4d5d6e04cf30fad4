/**
 * Tenant members with the official SDK's generated client (`api.tenantMemberList`,
 * `tenantMemberUpdate`, `tenantMemberDelete`) against the local engine: each tenant's one member
 * (the seeded admin, OWNER), and upstream's answers to an API token that changes or removes a
 * member; raw REST for bad input.
 */
import { expect, layer } from "@effect/vitest"
import { TenantMemberRole } from "@hatchet-dev/typescript-sdk/clients/rest/generated/data-contracts.js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"
import { otherTenant, restCall, unknownId } from "./support/rest.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("tenant members", (it) => {
  it.scoped("api.tenantMemberList: the tenant's one member, the seeded admin as OWNER; each tenant its own", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const tenant = (yield* Effect.promise(() => hatchet.api.tenantGet(engine.tenantId))).data
      const listed = yield* Effect.promise(() => hatchet.api.tenantMemberList(engine.tenantId))
      expect(listed.status).toBe(200)
      expect(listed.data).toEqual({
        rows: [{
          metadata: { id: expect.any(String), createdAt: tenant.metadata.createdAt, updatedAt: tenant.metadata.createdAt },
          user: { email: "admin@example.com", name: "Admin" },
          // upstream's member view has the tenant without `serverUrl`
          tenant: { ...tenant, serverUrl: undefined },
          role: TenantMemberRole.OWNER,
          canViewPayloads: true
        }]
      })
      const memberId = listed.data.rows![0]!.metadata.id
      expect((yield* Effect.promise(() => hatchet.api.tenantMemberList(engine.tenantId))).data.rows![0]!.metadata.id).toBe(memberId)

      // another tenant has its own member
      const other = Official.client(engine, yield* engine.mintToken({ tenantId: otherTenant }))
      const theirs = (yield* Effect.promise(() => other.api.tenantMemberList(otherTenant))).data.rows!
      expect(theirs).toHaveLength(1)
      expect(theirs[0]!.metadata.id).not.toBe(memberId)
      expect(theirs[0]!.tenant!.metadata.id).toBe(otherTenant)

      // an API token cannot change or remove a member: upstream's handlers fail without a caller membership
      const internal = { status: 500, data: { message: "Internal Server Error" } }
      expect(
        yield* Official.restError(() => hatchet.api.tenantMemberUpdate(engine.tenantId, memberId, { role: TenantMemberRole.ADMIN }))
      ).toEqual(internal)
      expect(yield* Official.restError(() => hatchet.api.tenantMemberDelete(engine.tenantId, memberId))).toEqual(internal)
      expect((yield* Effect.promise(() => hatchet.api.tenantMemberList(engine.tenantId))).data).toEqual(listed.data)
    }))

  it.scoped("bad input: ids, tenants and tokens as upstream answers them", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const otherToken = `Bearer ${Redacted.value(yield* engine.mintToken({ tenantId: otherTenant }))}`
      const members = `/api/v1/tenants/${engine.tenantId}/members`
      const memberId = (yield* restCall(engine, "GET", members)).body.rows[0].metadata.id
      const theirId = (yield* restCall(engine, "GET", `/api/v1/tenants/${otherTenant}/members`, undefined, otherToken)).body.rows[0]
        .metadata.id
      const forbidden = { status: 403, body: { message: "Please provide valid credentials" } }
      expect(yield* restCall(engine, "GET", members, undefined, otherToken)).toEqual(forbidden)
      expect(yield* restCall(engine, "GET", "/api/v1/tenants/abc/members")).toEqual({ status: 400, body: { message: "invalid tenant id" } })
      for (const method of ["PATCH", "DELETE"]) {
        expect(yield* restCall(engine, method, `${members}/abc`)).toEqual({ status: 400, body: { message: "invalid tenant member id" } })
        expect(yield* restCall(engine, method, `${members}/${unknownId}`)).toEqual({ status: 404, body: { message: "not found" } })
        expect(yield* restCall(engine, method, `${members}/${memberId}`, undefined, otherToken)).toEqual(forbidden)
        // another tenant's member is refused by the populator, before the token is looked at
        const notAuthorized = { status: 403, body: { message: "not authorized to access this resource" } }
        expect(yield* restCall(engine, method, `${members}/${theirId}`)).toEqual(notAuthorized)
        expect(yield* restCall(engine, method, `${members}/${theirId}`, undefined, otherToken)).toEqual(notAuthorized)
        expect(yield* restCall(engine, method, `${members}/${theirId}`, undefined, "")).toEqual(notAuthorized)
        expect(yield* restCall(engine, method, `${members}/${memberId}`, undefined, "")).toEqual(forbidden)
      }
      expect(yield* restCall(engine, "PATCH", `${members}/${memberId}`, "{not json")).toEqual({
        status: 400,
        body: { message: "Syntax error: offset=2, error=invalid character 'n' looking for beginning of object key string" }
      })
    }))
})
