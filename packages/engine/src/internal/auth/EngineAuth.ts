/**
 * Token minting and authentication for both servers, and the tenants' API tokens. The addresses a
 * token points at (REST base URL, gRPC `host:port`) are set once the servers are listening.
 *
 * Two kinds of token, both upstream's JWTs (`token.ts`):
 *
 * - internal tokens: the engine's own (`Engine.token`, `Engine.mintToken`, `hatchet-local`'s
 *   identity token, minted with the same secret by another process). They are signed with the
 *   engine's secret and hold for as long as their `exp` says: neither listed nor revocable
 *   (upstream's `internal` tokens: revoking one is 403). The engine remembers the ids of those it
 *   minted or has seen, so that a revocation names them as internal.
 * - API tokens, created through REST (`POST /api/v1/tenants/{tenant}/api-tokens`, upstream's
 *   `JWTManager.GenerateTenantToken` with `internal` false): recorded here with a name and an
 *   expiry, listed, revocable. As upstream's `ValidateTenantToken` reads its `APIToken` row, a
 *   token is accepted only while its record exists, is not revoked and has not expired (on the
 *   engine's clock). They are signed with a key derived from the secret, so that the engine knows
 *   one even when it has no record of it: one created before a restart of `hatchet-local` (which
 *   keeps only its identity) is unknown, and refused, as upstream refuses a token without a row.
 *
 * A refused token is 403 "Please provide valid credentials" over REST and UNAUTHENTICATED
 * "invalid auth token" over gRPC, whatever the reason, as upstream. Upstream caches the row for 5
 * seconds (`cacheDuration`), so a revocation takes up to that long there; here, at once.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHmac, randomBytes, randomUUID } from "node:crypto"
import type { EngineCoreService } from "../core.js"
import { ensureTenant } from "../domain/tenants.js"
import * as Token from "./token.js"

/** What the engine knows of a token (upstream's `APIToken` row). */
export interface ApiToken {
  readonly id: string
  readonly tenantId: string
  readonly name: string
  readonly createdAt: number
  readonly updatedAt: number
  /** Unix ms; a revoked token's is a second before its revocation, as upstream's `RevokeAPIToken` sets it. */
  expiresAt: number
  revoked: boolean
  /** The engine's own token: not listed, not revocable. */
  readonly internal: boolean
}

export interface EngineAuthService {
  /** Points tokens at the servers' addresses (call after both listen). */
  readonly setAddresses: (serverUrl: string, grpcBroadcastAddress: string) => void
  /** The REST base URL tokens name (upstream's `ServerURL`), "" until `setAddresses`. */
  readonly serverUrl: () => string
  /** Mints an internal token for a tenant, creating the tenant if needed. */
  readonly mint: (
    options: { readonly tenantId: string; readonly expiresInMs?: number | undefined }
  ) => Effect.Effect<Redacted.Redacted<string>>
  /**
   * The tenant id of a token valid at `now` for a known tenant (the caller reads the engine's
   * clock: the gRPC calls, the REST routes).
   */
  readonly authenticateAt: (token: string, now: number) => string | undefined
  /** What `authenticateAt` accepts, as the engine's record of the token (its tenant, whether it is internal). */
  readonly tokenAt: (token: string, now: number) => ApiToken | undefined
  /**
   * Creates an API token of a tenant the engine has, valid from `now` for `expiresInMs` (90 days
   * by default): the token (shown once) and its record.
   */
  readonly createApiToken: (options: {
    readonly tenantId: string
    readonly name: string
    readonly expiresInMs?: number | undefined
    readonly now: number
  }) => { readonly token: Redacted.Redacted<string>; readonly record: ApiToken }
  /** A tenant's API tokens that are not revoked, oldest first (upstream's `ListAPITokensByTenant`). */
  readonly listApiTokens: (tenantId: string) => ReadonlyArray<ApiToken>
  /** The token with this id, internal or not, revoked or not (upstream's `GetAPITokenById`). */
  readonly findApiToken: (id: string) => ApiToken | undefined
  /** Revokes a token: refused from then on; its expiry becomes a second before `now`. */
  readonly revokeApiToken: (token: ApiToken, now: number) => void
}

/** Tokens remembered as verified at most: a token is verified once, then only its times and record checked. */
const maxVerifiedTokens = 1024

/** A verified token: its claims and the engine's record of it. */
interface Verified {
  readonly claims: Token.TokenClaims
  readonly record: ApiToken
}

export class EngineAuth extends Context.Tag("@effect-hatchet/engine/EngineAuth")<EngineAuth, EngineAuthService>() {}

export const make = (core: EngineCoreService, options: { readonly secret?: Redacted.Redacted<string> | undefined }): EngineAuthService => {
  const secret = options.secret !== undefined ? Buffer.from(Redacted.value(options.secret), "utf8") : randomBytes(32)
  /** The key API tokens are signed with: not the secret, so that one is never taken for an internal token. */
  const apiSecret = createHmac("sha256", secret).update("effect-hatchet API tokens").digest()
  let issuer: Token.TokenIssuer = { secret, serverUrl: "", grpcBroadcastAddress: "" }
  let apiIssuer: Token.TokenIssuer = { ...issuer, secret: apiSecret }
  /** Every token the engine knows, by id: API tokens, internal ones minted or seen. */
  const tokens = new Map<string, ApiToken>()
  /** Tokens whose signature and claims were verified against the current issuers. */
  let verified = new Map<string, Verified>()

  /** Records an internal token (minted here, or seen with a valid signature). */
  const rememberInternal = (id: string, tenantId: string, createdAt: number, expiresAt: number): ApiToken => {
    const record: ApiToken = { id, tenantId, name: "", createdAt, updatedAt: createdAt, expiresAt, revoked: false, internal: true }
    tokens.set(id, record)
    return record
  }

  /** The claims and record of a token the engine accepts the signature of, or undefined. */
  const verify = (token: string, now: number): Verified | undefined => {
    const internal = Token.check(issuer, token, now)
    if (internal !== undefined) {
      const record = tokens.get(internal.token_id) ??
        rememberInternal(internal.token_id, internal.sub.toLowerCase(), internal.iat * 1000, internal.exp * 1000)
      return record.internal ? { claims: internal, record } : undefined
    }
    const claims = Token.check(apiIssuer, token, now)
    if (claims === undefined) return undefined
    const record = tokens.get(claims.token_id)
    // no record: created before a restart (or the record's tenant is not the token's)
    return record !== undefined && !record.internal && record.tenantId === claims.sub.toLowerCase()
      ? { claims, record }
      : undefined
  }

  const tokenAt = (token: string, now: number): ApiToken | undefined => {
    let entry = verified.get(token)
    if (entry === undefined) {
      entry = verify(token, now)
      if (entry === undefined) return undefined
      if (verified.size >= maxVerifiedTokens) verified = new Map()
      verified.set(token, entry)
    } else if (!Token.inTime(entry.claims, now)) {
      return undefined
    }
    const { record } = entry
    if (record.revoked || record.expiresAt < now) return undefined
    return core.state.tenants.has(record.tenantId) ? record : undefined
  }
  const authenticateAt = (token: string, now: number): string | undefined => tokenAt(token, now)?.tenantId

  return {
    setAddresses: (serverUrl, grpcBroadcastAddress) => {
      issuer = { secret, serverUrl, grpcBroadcastAddress }
      apiIssuer = { ...issuer, secret: apiSecret }
      verified = new Map()
    },
    serverUrl: () => issuer.serverUrl,
    mint: ({ expiresInMs, tenantId }) =>
      core.runSync((state, now) => {
        const id = tenantId.toLowerCase()
        ensureTenant(state, id, now)
        const tokenId = randomUUID()
        const lifetime = expiresInMs ?? Token.defaultTokenLifetimeMs
        rememberInternal(tokenId, id, now, now + lifetime)
        return Redacted.make(Token.mint(issuer, { tenantId: id, now, expiresInMs: lifetime, tokenId }))
      }),
    authenticateAt,
    tokenAt,
    createApiToken: ({ expiresInMs, name, now, tenantId }) => {
      const lifetime = expiresInMs ?? Token.defaultTokenLifetimeMs
      const record: ApiToken = {
        id: randomUUID(),
        tenantId,
        name,
        createdAt: now,
        updatedAt: now,
        expiresAt: now + lifetime,
        revoked: false,
        internal: false
      }
      tokens.set(record.id, record)
      const token = Token.mint(apiIssuer, { tenantId, now, expiresInMs: lifetime, tokenId: record.id })
      return { token: Redacted.make(token), record }
    },
    listApiTokens: (tenantId) => {
      const rows: Array<ApiToken> = []
      for (const record of tokens.values()) {
        if (record.tenantId === tenantId && !record.internal && !record.revoked) rows.push(record)
      }
      return rows
    },
    findApiToken: (id) => tokens.get(id),
    revokeApiToken: (record, now) => {
      record.revoked = true
      record.expiresAt = now - 1000
    }
  }
}
