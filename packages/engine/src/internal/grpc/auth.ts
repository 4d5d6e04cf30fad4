/**
 * gRPC authentication (upstream `internal/services/grpc/middleware/auth.go`): the `authorization`
 * metadata must carry `bearer <token>` (scheme case-insensitive) for a token this engine minted
 * and a tenant it knows. Any failure is UNAUTHENTICATED "invalid auth token" (`unauthenticated`).
 * The tenant id is passed to the handlers in their context (`TenantContext`); every call, unary
 * or streaming, is authenticated here (`tenantOf`, called by `Bridge.serve` before its handler).
 *
 * @internal
 */
import { type Metadata, status, type StatusObject } from "@grpc/grpc-js"
import { bearerToken } from "../auth/token.js"

/** What every authenticated handler receives. */
export interface TenantContext {
  readonly tenantId: string
}

/** The status of a call without a valid token. */
export const unauthenticated: Pick<StatusObject, "code" | "details"> = Object.freeze({
  code: status.UNAUTHENTICATED,
  details: "invalid auth token"
})

/**
 * The `authorization` metadata as one value: several are joined with ", " (as a single-valued
 * header reads; a token then no longer parses), none is undefined.
 */
const authorizationOf = (metadata: Metadata): string | undefined => {
  const values = metadata.get("authorization")
  if (values.length === 0) return undefined
  return values.length === 1 ? String(values[0]) : values.join(", ")
}

/**
 * The tenant id of the call's bearer token, or undefined without a valid one (the call then ends
 * with `unauthenticated`). `authenticate(token)` returns the tenant id of a valid token, or undefined.
 */
export const tenantOf = (authenticate: (token: string) => string | undefined, metadata: Metadata): string | undefined => {
  const token = bearerToken(authorizationOf(metadata))
  return token === undefined ? undefined : authenticate(token)
}
