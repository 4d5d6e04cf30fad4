/**
 * API tokens: HS256 JWTs with upstream's claims (`pkg/auth/token/token.go`): `sub` (tenant id),
 * `iss` and `aud` (the server URL), `iat`, `exp`, `token_id`, `server_url` and
 * `grpc_broadcast_address`. SDKs decode the payload without verifying it and take their defaults
 * from `server_url` and `grpc_broadcast_address`; the engine verifies every claim.
 *
 * @internal
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto"
import { isUuid } from "../domain/ids.js"

/** Upstream's default API token lifetime: 90 days. */
export const defaultTokenLifetimeMs = 90 * 24 * 60 * 60 * 1000

export interface TokenIssuer {
  readonly secret: Uint8Array
  /** The REST base URL: issuer, audience and `server_url`. */
  readonly serverUrl: string
  /** `host:port` of the gRPC server. */
  readonly grpcBroadcastAddress: string
}

export interface TokenClaims {
  readonly sub: string
  readonly iss: string
  readonly aud: string
  readonly iat: number
  readonly exp: number
  readonly token_id: string
  readonly server_url: string
  readonly grpc_broadcast_address: string
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url")

const sign = (secret: Uint8Array, input: string) => createHmac("sha256", secret).update(input).digest()

const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))

/**
 * Mints a token for `tenantId`, valid from `now` for `expiresInMs` (90 days by default): `exp` is
 * the expiry time in whole seconds, truncated as upstream's JWT library stores it. `tokenId` is a
 * new random UUID unless given.
 */
export const mint = (
  issuer: TokenIssuer,
  options: {
    readonly tenantId: string
    readonly now: number
    readonly expiresInMs?: number | undefined
    readonly tokenId?: string | undefined
  }
): string => {
  const claims: TokenClaims = {
    sub: options.tenantId,
    iss: issuer.serverUrl,
    aud: issuer.serverUrl,
    iat: Math.floor(options.now / 1000),
    exp: Math.floor((options.now + (options.expiresInMs ?? defaultTokenLifetimeMs)) / 1000),
    token_id: options.tokenId ?? randomUUID(),
    server_url: issuer.serverUrl,
    grpc_broadcast_address: issuer.grpcBroadcastAddress
  }
  const body = `${header}.${base64url(JSON.stringify(claims))}`
  return `${body}.${base64url(sign(issuer.secret, body))}`
}

/**
 * A JWT segment's bytes, or undefined unless it is canonical unpadded base64url, as upstream's
 * JWT library decodes (Node's decoder skips padding and stray characters, and ignores the unused
 * bits of the last character, so `sig=` or a changed last bit would otherwise verify).
 */
const decodeSegment = (segment: string): Buffer | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined
  const bytes = Buffer.from(segment, "base64url")
  return bytes.toString("base64url") === segment ? bytes : undefined
}

/** The claims of a valid token, or undefined (bad signature, claims, or expired). */
export const check = (issuer: TokenIssuer, token: string, now: number): TokenClaims | undefined => {
  const parts = token.split(".")
  if (parts.length !== 3) return undefined
  const [head, payload, signature] = parts as [string, string, string]
  const expected = sign(issuer.secret, `${head}.${payload}`)
  const actual = decodeSegment(signature)
  if (actual === undefined || actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined
  const headBytes = decodeSegment(head)
  const payloadBytes = decodeSegment(payload)
  if (headBytes === undefined || payloadBytes === undefined) return undefined
  let claims: Partial<TokenClaims>
  try {
    const headerJson = JSON.parse(headBytes.toString("utf8")) as { alg?: unknown }
    if (headerJson.alg !== "HS256") return undefined
    claims = JSON.parse(payloadBytes.toString("utf8")) as Partial<TokenClaims>
  } catch {
    return undefined
  }
  if (!inTime(claims, now)) return undefined
  if (claims.iss !== issuer.serverUrl || claims.aud !== issuer.serverUrl) return undefined
  if (typeof claims.token_id !== "string" || claims.token_id === "") return undefined
  if (claims.server_url !== undefined && claims.server_url !== issuer.serverUrl) return undefined
  if (typeof claims.sub !== "string" || !isUuid(claims.sub)) return undefined
  return claims as TokenClaims
}

/** Whether a token's claims hold at `now`: issued (at most a minute ahead), not expired. */
export const inTime = (claims: Partial<TokenClaims>, now: number): boolean => {
  const seconds = now / 1000
  return typeof claims.iat === "number" && claims.iat <= seconds + 60 && typeof claims.exp === "number" &&
    claims.exp > seconds
}

/** The tenant id of a valid token, or undefined (bad signature, claims, or expired). */
export const verify = (issuer: TokenIssuer, token: string, now: number): string | undefined => check(issuer, token, now)?.sub.toLowerCase()

/**
 * The bearer token of a gRPC `authorization` value: `<scheme> <token>`, the scheme
 * case-insensitive, as upstream's gRPC auth reads it. (REST reads the header as upstream's REST
 * middleware does: whatever follows `Bearer`, trimmed, so `Bearer<token>` is accepted there.)
 */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const parts = authorization.split(" ")
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== "bearer" || parts[1] === "") return undefined
  return parts[1]
}
