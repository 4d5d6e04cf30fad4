/**
 * `hatchet-local`'s identity in its state directory: created once (0600 in a 0700 directory),
 * read back unchanged, never overwritten when it is not an identity, one identity for two
 * engines starting at once; and which stored token an engine at given addresses reprints.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { defaultTenantId } from "../src/Engine.js"
import * as Token from "../src/internal/auth/token.js"
import * as Identity from "../src/internal/identity.js"

const stateDir = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  return path.join(yield* fs.makeTempDirectoryScoped(), "state", "nested")
})

/** A state directory with a new identity in it. */
const withIdentity = Effect.gen(function*() {
  const dir = yield* stateDir
  const { file } = yield* Identity.loadOrCreate(dir, defaultTenantId)
  return { fs: yield* FileSystem.FileSystem, dir, file }
})

const addresses = { apiUrl: "http://127.0.0.1:8888", grpcAddress: "127.0.0.1:7077" }
const day = 24 * 60 * 60 * 1000
const now = Date.UTC(2026, 11, 1)

describe("hatchet-local identity", () => {
  it.scoped("is created once, 0600 in a 0700 directory that git ignores, and read back unchanged", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* stateDir
      const first = yield* Identity.loadOrCreate(dir, defaultTenantId)
      expect(first.created).toBe(true)
      expect(first.identity.tenantId).toBe(defaultTenantId)
      expect(Redacted.value(first.identity.secret)).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(String(first.identity.secret)).toBe("<redacted>")
      expect((yield* fs.stat(first.file)).mode & 0o777).toBe(0o600)
      expect((yield* fs.stat(dir)).mode & 0o777).toBe(0o700)
      expect(yield* fs.readFileString(`${dir}/.gitignore`)).toContain("\n*\n")
      expect(yield* fs.readDirectory(dir)).toEqual(expect.arrayContaining([".gitignore", "identity.json"]))
      expect((yield* fs.readDirectory(dir)).length).toBe(2) // no temporary file left

      const again = yield* Identity.loadOrCreate(dir, "00000000-0000-0000-0000-000000000001")
      expect(again.created).toBe(false)
      expect(again.identity.tenantId).toBe(defaultTenantId)
      expect(Redacted.value(again.identity.secret)).toBe(Redacted.value(first.identity.secret))

      const token = Identity.mintToken(first.identity, addresses, now)
      yield* Identity.save(dir, { ...first.identity, token })
      const saved = yield* Identity.loadOrCreate(dir, defaultTenantId)
      expect(Redacted.value(saved.identity.token!)).toBe(Redacted.value(token))
      expect((yield* fs.stat(saved.file)).mode & 0o777).toBe(0o600)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("two engines starting at once on an empty directory end up with one identity", () =>
    Effect.gen(function*() {
      const dir = yield* stateDir
      const all = yield* Effect.all(Array.from({ length: 8 }, () => Identity.loadOrCreate(dir, defaultTenantId)), {
        concurrency: "unbounded"
      })
      expect(all.filter((l) => l.created).length).toBe(1)
      expect(new Set(all.map((l) => Redacted.value(l.identity.secret))).size).toBe(1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a file that is not an identity fails with the path and what is wrong, and is left as it was", () =>
    Effect.gen(function*() {
      const { dir, file, fs } = yield* withIdentity
      for (const content of ["{ not json", JSON.stringify({ version: 1, tenantId: "nope", secret: "x".repeat(43) })]) {
        yield* fs.writeFileString(file, content)
        const error = yield* Effect.flip(Identity.loadOrCreate(dir, defaultTenantId))
        expect(error._tag).toBe("IdentityError")
        expect(error.path).toBe(file)
        expect(error.message).toContain(`${file} is not a hatchet-local identity`)
        expect(error.message).toContain("delete it to start with a new identity")
        expect(yield* fs.readFileString(file)).toBe(content)
      }
      // the secret never appears in an error
      const secret = "a-secret-that-must-not-be-echoed"
      for (
        const [content, why] of [
          [JSON.stringify({ version: 2, tenantId: defaultTenantId, secret: secret.repeat(2) }), "Expected 1, actual 2"],
          [JSON.stringify({ version: 1, tenantId: defaultTenantId, secret: secret.slice(0, 20) }), "a secret of 32 characters or more"],
          [`{ "version": 1, "secret": "${secret}`, "not valid JSON"]
        ] as const
      ) {
        yield* fs.writeFileString(file, content)
        const error = yield* Effect.flip(Identity.loadOrCreate(dir, defaultTenantId))
        expect(error.message).toContain(why)
        expect(error.message).not.toContain(secret.slice(0, 20))
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a file other users can read is made 0600 again", () =>
    Effect.gen(function*() {
      const { dir, file, fs } = yield* withIdentity
      yield* fs.chmod(file, 0o644)
      const loaded = yield* Identity.loadOrCreate(dir, defaultTenantId)
      expect(loaded.tightened).toBe(true)
      expect((yield* fs.stat(file)).mode & 0o777).toBe(0o600)
    }).pipe(Effect.provide(NodeContext.layer)))

  it("a stored token is reprinted only while the engine at these addresses accepts it for 30 days more", () => {
    const identity = Identity.generate(defaultTenantId)
    const token = Identity.mintToken(identity, addresses, now)
    const stored = { ...identity, token }
    const issuer = {
      secret: Buffer.from(Redacted.value(identity.secret)),
      serverUrl: addresses.apiUrl,
      grpcBroadcastAddress: addresses.grpcAddress
    }
    expect(Token.verify(issuer, Redacted.value(token), now)).toBe(defaultTenantId)
    expect(Option.map(Identity.reusableToken(stored, addresses, now + 59 * day), Redacted.value)).toEqual(
      Option.some(Redacted.value(token))
    )
    // 90-day tokens: fewer than 30 days left
    expect(Identity.reusableToken(stored, addresses, now + 61 * day)).toEqual(Option.none())
    expect(Identity.reusableToken(identity, addresses, now)).toEqual(Option.none())
    expect(Identity.reusableToken(stored, { ...addresses, apiUrl: "http://127.0.0.1:8889" }, now)).toEqual(Option.none())
    expect(Identity.reusableToken(stored, { ...addresses, grpcAddress: "127.0.0.1:7078" }, now)).toEqual(Option.none())
    expect(Identity.reusableToken({ ...Identity.generate(defaultTenantId), token }, addresses, now)).toEqual(Option.none())
  })
})
