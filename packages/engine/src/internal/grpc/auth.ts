/**
 * gRPC authentication (upstream `internal/services/grpc/middleware/auth.go`): the `authorization`
 * metadata must carry `bearer <token>` (scheme case-insensitive) for a token this engine minted
 * and a tenant it knows. Any failure is UNAUTHENTICATED "invalid auth token". The tenant id is
 * passed to the handlers in the call context.
 *
 * @internal
 */
import type { CallContext, ServerMiddleware, ServerMiddlewareCall } from "nice-grpc-common"
import { ServerError, Status } from "nice-grpc-common"
import { bearerToken } from "../auth/token.js"

/** What every authenticated handler receives. */
export interface TenantContext {
  readonly tenantId: string
}

/** `authenticate(token)` returns the tenant id of a valid token, or undefined. */
export const middleware = (
  authenticate: (token: string) => string | undefined
): ServerMiddleware<TenantContext> =>
  async function* authMiddleware<Request, Response>(
    call: ServerMiddlewareCall<Request, Response, TenantContext>,
    context: CallContext
  ) {
    const token = bearerToken(context.metadata.get("authorization"))
    const tenantId = token === undefined ? undefined : authenticate(token)
    if (tenantId === undefined) throw new ServerError(Status.UNAUTHENTICATED, "invalid auth token")
    return yield* call.next(call.request, { ...context, tenantId })
  }
