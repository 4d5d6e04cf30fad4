/**
 * Token minting and authentication for both servers. The addresses a token points at (REST base
 * URL, gRPC `host:port`) are set once the servers are listening.
 *
 * @internal
 */
import { Clock, Context, Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import type { EngineCoreService } from "../core.js"
import { ensureTenant } from "../domain/tenants.js"
import * as Token from "./token.js"

export interface EngineAuthService {
  /** Points tokens at the servers' addresses (call after both listen). */
  readonly setAddresses: (serverUrl: string, grpcBroadcastAddress: string) => void
  /** Mints a token for a tenant, creating the tenant if needed. */
  readonly mint: (options: { readonly tenantId: string; readonly expiresInMs?: number | undefined }) => Effect.Effect<Redacted.Redacted<string>>
  /** The tenant id of a valid token for a known tenant. */
  readonly authenticate: (token: string) => Effect.Effect<string | undefined>
}

export class EngineAuth extends Context.Tag("@effect-hatchet/engine/EngineAuth")<EngineAuth, EngineAuthService>() {}

export const make = (core: EngineCoreService, options: { readonly secret?: Redacted.Redacted<string> | undefined }): EngineAuthService => {
  const secret = options.secret !== undefined ? Buffer.from(Redacted.value(options.secret), "utf8") : randomBytes(32)
  let issuer: Token.TokenIssuer = { secret, serverUrl: "", grpcBroadcastAddress: "" }
  return {
    setAddresses: (serverUrl, grpcBroadcastAddress) => {
      issuer = { secret, serverUrl, grpcBroadcastAddress }
    },
    mint: ({ expiresInMs, tenantId }) =>
      core.runSync((state, now) => {
        ensureTenant(state, tenantId.toLowerCase(), now)
        return Redacted.make(Token.mint(issuer, { tenantId: tenantId.toLowerCase(), now, expiresInMs }))
      }),
    authenticate: (token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const tenantId = Token.verify(issuer, token, now)
        return tenantId !== undefined && core.state.tenants.has(tenantId) ? tenantId : undefined
      })
  }
}
