/**
 * Token minting and authentication for both servers. The addresses a token points at (REST base
 * URL, gRPC `host:port`) are set once the servers are listening.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import type { EngineCoreService } from "../core.js"
import { ensureTenant } from "../domain/tenants.js"
import * as Token from "./token.js"

export interface EngineAuthService {
  /** Points tokens at the servers' addresses (call after both listen). */
  readonly setAddresses: (serverUrl: string, grpcBroadcastAddress: string) => void
  /** Mints a token for a tenant, creating the tenant if needed. */
  readonly mint: (
    options: { readonly tenantId: string; readonly expiresInMs?: number | undefined }
  ) => Effect.Effect<Redacted.Redacted<string>>
  /**
   * The tenant id of a token valid at `now` for a known tenant (the caller reads the engine's
   * clock: the gRPC calls, the REST routes).
   */
  readonly authenticateAt: (token: string, now: number) => string | undefined
}

/** Tokens remembered as verified at most: a token is verified once, then only its times checked. */
const maxVerifiedTokens = 1024

export class EngineAuth extends Context.Tag("@effect-hatchet/engine/EngineAuth")<EngineAuth, EngineAuthService>() {}

export const make = (core: EngineCoreService, options: { readonly secret?: Redacted.Redacted<string> | undefined }): EngineAuthService => {
  const secret = options.secret !== undefined ? Buffer.from(Redacted.value(options.secret), "utf8") : randomBytes(32)
  let issuer: Token.TokenIssuer = { secret, serverUrl: "", grpcBroadcastAddress: "" }
  /** Claims of tokens whose signature and claims were verified against the current issuer. */
  let verified = new Map<string, Token.TokenClaims>()
  const authenticateAt = (token: string, now: number): string | undefined => {
    let claims = verified.get(token)
    if (claims === undefined) {
      claims = Token.check(issuer, token, now)
      if (claims === undefined) return undefined
      if (verified.size >= maxVerifiedTokens) verified = new Map()
      verified.set(token, claims)
    } else if (!Token.inTime(claims, now)) {
      return undefined
    }
    const tenantId = claims.sub.toLowerCase()
    return core.state.tenants.has(tenantId) ? tenantId : undefined
  }
  return {
    setAddresses: (serverUrl, grpcBroadcastAddress) => {
      issuer = { secret, serverUrl, grpcBroadcastAddress }
      verified = new Map()
    },
    mint: ({ expiresInMs, tenantId }) =>
      core.runSync((state, now) => {
        ensureTenant(state, tenantId.toLowerCase(), now)
        return Redacted.make(Token.mint(issuer, { tenantId: tenantId.toLowerCase(), now, expiresInMs }))
      }),
    authenticateAt
  }
}
