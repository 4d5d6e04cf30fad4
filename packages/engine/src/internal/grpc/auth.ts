/**
 * gRPC authentication (upstream `internal/services/grpc/middleware/auth.go`): the `authorization`
 * metadata must carry `bearer <token>` (scheme case-insensitive) for a token this engine minted
 * and a tenant it knows. Any failure is UNAUTHENTICATED "invalid auth token". The tenant id is
 * passed to the handlers in the call context (`authenticated`).
 *
 * @internal
 */
import type { CallContext } from "nice-grpc-common"
import { ServerError, Status } from "nice-grpc-common"
import { bearerToken } from "../auth/token.js"

/** What every authenticated handler receives. */
export interface TenantContext {
  readonly tenantId: string
}

/** The tenant id of the call's bearer token; throws UNAUTHENTICATED "invalid auth token" without one. */
const tenantOf = (authenticate: (token: string) => string | undefined, context: CallContext): string => {
  const token = bearerToken(context.metadata.get("authorization"))
  const tenantId = token === undefined ? undefined : authenticate(token)
  if (tenantId === undefined) throw new ServerError(Status.UNAUTHENTICATED, "invalid auth token")
  return tenantId
}

type Handler = (request: any, context: any) => any

/**
 * A service implementation whose every method first authenticates the call and passes the tenant
 * id on in its context. What a nice-grpc server middleware does, without the middleware's async
 * generator (and the delegation to the handler's) per call: nice-grpc runs each handler inside a
 * generator of its own, so a throw here ends the call with that status, before a stream starts.
 * `authenticate(token)` returns the tenant id of a valid token, or undefined.
 */
export const authenticated = <S extends { readonly [K in keyof S]: Handler }>(
  authenticate: (token: string) => string | undefined,
  implementation: S
): { readonly [K in keyof S]: (request: Parameters<S[K]>[0], context: CallContext) => ReturnType<S[K]> } => {
  const wrapped: Record<string, Handler> = {}
  for (const key of Object.keys(implementation) as Array<keyof S & string>) {
    const handler = implementation[key].bind(implementation)
    wrapped[key] = (request, context: CallContext) => {
      const tenantId = tenantOf(authenticate, context)
      return handler(request, { ...context, tenantId })
    }
  }
  return wrapped as { readonly [K in keyof S]: (request: Parameters<S[K]>[0], context: CallContext) => ReturnType<S[K]> }
}
