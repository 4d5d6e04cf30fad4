/**
 * `hatchet-local`'s identity: the token signing secret, the tenant and the last token printed,
 * kept in a state directory so that an engine started again accepts the tokens its workers hold.
 * Everything else the engine knows lives in memory and ends with the process.
 *
 * The file (`identity.json`, mode 0600, in a directory made 0700) is written whole to a temporary
 * file and then linked (first creation: two engines starting at once agree on one identity) or
 * renamed into place, so a reader never sees half of it.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as Token from "./auth/token.js"
import { isUuid } from "./domain/ids.js"

/** The identity file's name in the state directory. */
const fileName = "identity.json"

/** A stored token is printed again while it has at least this long to live; otherwise a new one is minted. */
const tokenRenewalMargin = 30 * 24 * 60 * 60 * 1000

const IdentityJson = Schema.Struct({
  version: Schema.Literal(1),
  tenantId: Schema.String.pipe(Schema.filter(isUuid, { message: () => "a UUID" })),
  // a custom message: the default one would quote the value
  secret: Schema.Redacted(Schema.String.pipe(Schema.minLength(32, { message: () => "a secret of 32 characters or more" }))),
  token: Schema.optional(Schema.Redacted(Schema.String))
})

/** What the state directory keeps. */
export type Identity = typeof IdentityJson.Type

/** The state directory or its identity file cannot be read, written or understood. */
export class IdentityError extends Data.TaggedError("IdentityError")<{
  readonly path: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** A fresh identity: 32 random bytes of secret (base64url), the given tenant, no token yet. */
export const generate = (tenantId: string): Identity => ({
  version: 1,
  tenantId,
  secret: Redacted.make(randomBytes(32).toString("base64url"))
})

/** Where the identity of `directory` is, resolved against the working directory. */
const pathOf = (directory: string) => Effect.map(Path.Path, (path) => path.resolve(directory, fileName))

/** Writes `identity` to a new temporary file (0600) beside `file`; returns its path. */
const writeTemporary = (fs: FileSystem.FileSystem, file: string, identity: Identity) =>
  Effect.gen(function*() {
    const json = JSON.stringify(Schema.encodeSync(IdentityJson)(identity), null, 2)
    const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`
    yield* fs.writeFileString(temporary, `${json}\n`, { flag: "wx", mode: 0o600 })
    return temporary
  })

const failure = (path: string, doing: string) => (cause: unknown) =>
  new IdentityError({ path, message: `hatchet-local could not ${doing} ${path}: ${String(cause)}`, cause })

/** Replaces the identity file of `directory` with `identity`. */
export const save = (
  directory: string,
  identity: Identity
): Effect.Effect<void, IdentityError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = yield* pathOf(directory)
    yield* writeTemporary(fs, file, identity).pipe(
      Effect.flatMap((temporary) => Effect.onError(fs.rename(temporary, file), () => Effect.ignore(fs.remove(temporary)))),
      Effect.mapError(failure(file, "write"))
    )
  })

const read = (fs: FileSystem.FileSystem, file: string) =>
  Effect.gen(function*() {
    const text = yield* fs.readFileString(file).pipe(Effect.mapError(failure(file, "read")))
    const invalid = (why: string) =>
      new IdentityError({
        path: file,
        message: `${file} is not a hatchet-local identity (${why}). ` +
          "Fix it, or delete it to start with a new identity: tokens issued before then stop working."
      })
    // JSON.parse's message quotes the text, which holds the secret: only say that it is not JSON
    const json = yield* Effect.try({ try: (): unknown => JSON.parse(text), catch: () => invalid("not valid JSON") })
    const identity = yield* Schema.decodeUnknown(IdentityJson)(json).pipe(
      Effect.mapError((error) => invalid(ParseResult.TreeFormatter.formatErrorSync(error)))
    )
    const info = yield* fs.stat(file).pipe(Effect.mapError(failure(file, "read")))
    const readableByOthers = (info.mode & 0o077) !== 0
    if (readableByOthers) yield* fs.chmod(file, 0o600).pipe(Effect.mapError(failure(file, "restrict the permissions of")))
    return { identity, tightened: readableByOthers }
  })

/**
 * The identity kept in `directory`, or a new one (with `tenantId`) written there if it has none.
 * The directory is created (0700, with a `.gitignore` that ignores everything in it) if needed;
 * a file others could read is made 0600 again (`tightened`). A file that is not an identity
 * fails: nothing is overwritten.
 */
export const loadOrCreate = (
  directory: string,
  tenantId: string
): Effect.Effect<
  { readonly identity: Identity; readonly file: string; readonly created: boolean; readonly tightened: boolean },
  IdentityError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = yield* pathOf(directory)
    const exists = yield* fs.exists(file).pipe(Effect.mapError(failure(file, "read")))
    if (exists) return { ...(yield* read(fs, file)), file, created: false }
    const dir = path.dirname(file)
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(Effect.mapError(failure(dir, "create")))
    const gitignore = path.join(dir, ".gitignore")
    yield* fs.writeFileString(gitignore, "# hatchet-local's state: a signing secret, never to commit\n*\n", { flag: "wx" }).pipe(
      Effect.catchTag("SystemError", (e) => e.reason === "AlreadyExists" ? Effect.void : Effect.fail(e)),
      Effect.mapError(failure(gitignore, "write"))
    )
    const identity = generate(tenantId)
    const temporary = yield* writeTemporary(fs, file, identity).pipe(Effect.mapError(failure(file, "write")))
    // link, unlike rename, fails if another engine created the file meanwhile: then use that one
    const linked = yield* fs.link(temporary, file).pipe(
      Effect.as(true),
      Effect.catchTag("SystemError", (e) => e.reason === "AlreadyExists" ? Effect.succeed(false) : Effect.fail(e)),
      Effect.mapError(failure(file, "write")),
      Effect.ensuring(Effect.ignore(fs.remove(temporary)))
    )
    return linked ? { identity, file, created: true, tightened: false } : { ...(yield* read(fs, file)), file, created: false }
  })

/** The addresses tokens point at: the REST base URL and gRPC `host:port`. */
export interface Addresses {
  readonly apiUrl: string
  readonly grpcAddress: string
}

const issuerOf = (identity: Identity, addresses: Addresses): Token.TokenIssuer => ({
  secret: Buffer.from(Redacted.value(identity.secret), "utf8"),
  serverUrl: addresses.apiUrl,
  grpcBroadcastAddress: addresses.grpcAddress
})

/**
 * The stored token, if an engine with this identity at these addresses accepts it (same secret,
 * tenant and addresses in its claims) and it has `tokenRenewalMargin` or more to live.
 */
export const reusableToken = (identity: Identity, addresses: Addresses, now: number): Option.Option<Redacted.Redacted<string>> =>
  Option.filter(Option.fromNullable(identity.token), (token) => {
    const claims = Token.check(issuerOf(identity, addresses), Redacted.value(token), now)
    return claims !== undefined &&
      claims.sub.toLowerCase() === identity.tenantId &&
      claims.grpc_broadcast_address === addresses.grpcAddress &&
      claims.exp * 1000 - now >= tokenRenewalMargin
  })

/** Mints a token for the identity's tenant at these addresses (valid 90 days, as upstream's default). */
export const mintToken = (identity: Identity, addresses: Addresses, now: number): Redacted.Redacted<string> =>
  Redacted.make(Token.mint(issuerOf(identity, addresses), { tenantId: identity.tenantId, now }))
