/**
 * Test tokens: unsigned JWTs with Hatchet's claims (the SDK never verifies signatures).
 */
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** A JWT whose payload is `claims`; the signature is a fixed dummy. */
export const makeToken = (claims: Record<string, unknown>): string =>
  `${b64url({ alg: "ES256", kid: "test", typ: "JWT" })}.${b64url(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk`

export const TENANT_ID = "707d0855-80ab-4e1f-a156-f1c4546cbf52"

/** The claims Hatchet puts in its tokens, pointing at a local engine. */
export const hatchetClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: TENANT_ID,
  aud: "http://localhost:8080",
  iss: "http://localhost:8080",
  iat: 1_700_000_000,
  exp: 4_102_444_800, // 2100-01-01
  token_id: "3f9d3b52-0c8e-4b7a-9d59-0a2e8a4f3c11",
  server_url: "http://localhost:8080",
  grpc_broadcast_address: "localhost:7070",
  ...overrides
})

export const hatchetToken = (overrides: Record<string, unknown> = {}): string => makeToken(hatchetClaims(overrides))
