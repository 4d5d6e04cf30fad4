/**
 * Resolution of the client configuration: options > environment > token claims > defaults,
 * as Hatchet's SDKs do it (see the official TypeScript SDK's `config-loader.ts`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import type { HatchetConfigShape, LogLevel, Options, TlsSettings, TlsStrategy } from "../HatchetConfig.js"

/** See `HatchetConfig.HatchetConfigError`. */
export class HatchetConfigError extends Schema.TaggedError<HatchetConfigError>(
  "@effect-hatchet/sdk/HatchetConfigError"
)("HatchetConfigError", {
  reason: Schema.Literal(
    "MissingToken",
    "MalformedToken",
    "ExpiredToken",
    "MissingClaims",
    "UnknownTlsStrategy",
    "MissingTlsFile",
    "UnreadableTlsFile",
    "InvalidTlsFile",
    "MalformedHostPort",
    "MalformedApiUrl",
    "InvalidValue"
  ),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** @internal */
export const DEFAULT_MAX_MESSAGE_LENGTH = 4 * 1024 * 1024

/** The official SDKs' keepalive (`grpc.keepalive_time_ms` / `grpc.keepalive_timeout_ms`). @internal */
export const DEFAULT_KEEPALIVE_TIME = Duration.seconds(10)

/** @internal */
export const DEFAULT_KEEPALIVE_TIMEOUT = Duration.seconds(60)

/** @internal */
export const ENV_PREFIX = "HATCHET_CLIENT"

const envName = (key: string) => `${ENV_PREFIX}_${key}`

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

const optionalString = (key: string) =>
  Config.string(key).pipe(
    Config.option,
    // An empty (or blank) variable counts as unset, as it does in most deployment tools.
    Config.map(Option.flatMap((s) => (s.trim() === "" ? Option.none() : Option.some(s.trim()))))
  )

/**
 * The raw `HATCHET_CLIENT_*` variables this SDK reads, all optional; validated by `resolve`.
 *
 * @internal
 */
export const environment = Config.all({
  token: optionalString("TOKEN").pipe(Config.map(Option.map(Redacted.make))),
  hostPort: optionalString("HOST_PORT"),
  apiUrl: optionalString("API_URL"),
  serverUrl: optionalString("SERVER_URL"),
  tenantId: optionalString("TENANT_ID"),
  tlsStrategy: optionalString("TLS_STRATEGY"),
  tlsCertFile: optionalString("TLS_CERT_FILE"),
  tlsKeyFile: optionalString("TLS_KEY_FILE"),
  tlsRootCaFile: optionalString("TLS_ROOT_CA_FILE"),
  tlsServerName: optionalString("TLS_SERVER_NAME"),
  namespace: optionalString("NAMESPACE"),
  grpcMaxRecvMessageLength: optionalString("GRPC_MAX_RECV_MESSAGE_LENGTH"),
  grpcMaxSendMessageLength: optionalString("GRPC_MAX_SEND_MESSAGE_LENGTH"),
  logLevel: optionalString("LOG_LEVEL")
}).pipe(Config.nested(ENV_PREFIX))

type Environment = Config.Config.Success<typeof environment>

/** @internal */
export const configError = (cause: ConfigError.ConfigError) =>
  new HatchetConfigError({
    reason: "InvalidValue",
    message: `Could not read the Hatchet client configuration: ${String(cause)}`,
    cause
  })

// ---------------------------------------------------------------------------------------------
// Token
// ---------------------------------------------------------------------------------------------

/**
 * The claims Hatchet puts in its API tokens (`pkg/auth/token/token.go`); others are ignored.
 *
 * @internal
 */
export const JwtClaims = Schema.Struct({
  sub: Schema.optionalWith(Schema.String, { exact: true }),
  server_url: Schema.optionalWith(Schema.String, { exact: true }),
  grpc_broadcast_address: Schema.optionalWith(Schema.String, { exact: true }),
  exp: Schema.optionalWith(Schema.Number, { exact: true }),
  /** The token's id (what revoking it takes). */
  token_id: Schema.optionalWith(Schema.String, { exact: true })
})

/** @internal */
export type JwtClaims = typeof JwtClaims.Type

const BASE64URL = /^[A-Za-z0-9_\-+/]+={0,2}$/

const malformed = (what: string, cause?: unknown) =>
  new HatchetConfigError({
    reason: "MalformedToken",
    message: `The Hatchet API token is not a valid JWT: ${what}. ` +
      `Set ${envName("TOKEN")} to the token exactly as Hatchet issued it (three dot-separated parts, no "Bearer " prefix).`,
    cause
  })

/**
 * Decodes the claims of a JWT without verifying its signature (the engine verifies it), as
 * every Hatchet SDK does. Error messages and causes never contain the token or its parts.
 *
 * @internal
 */
export const decodeClaims = (token: Redacted.Redacted): Effect.Effect<JwtClaims, HatchetConfigError> =>
  Effect.suspend(() => {
    const value = Redacted.value(token)
    if (/\s/.test(value)) return Effect.fail(malformed("it contains whitespace"))
    const parts = value.split(".")
    if (parts.length !== 3) {
      return Effect.fail(malformed(`it has ${parts.length} dot-separated part(s), a JWT has 3`))
    }
    const [header, payload] = parts as [string, string, string]
    if (!BASE64URL.test(header) || !BASE64URL.test(payload)) {
      return Effect.fail(malformed("its header or payload is not base64url"))
    }
    let json: unknown
    try {
      json = JSON.parse(Buffer.from(payload.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8"))
    } catch {
      // The parser's message quotes the input, which is part of the token: keep it out.
      return Effect.fail(malformed("its payload is not JSON"))
    }
    return Schema.decodeUnknown(JwtClaims)(json).pipe(
      Effect.mapError((error) =>
        malformed(
          `its claims do not have the expected types (${
            ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
          })`
        )
      )
    )
  })

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

/**
 * Splits `host:port` (IPv6 hosts in brackets). The port is required.
 *
 * @internal
 */
export const parseHostPort = (
  hostPort: string,
  source: string
): Either.Either<{ readonly host: string; readonly port: number }, HatchetConfigError> => {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(hostPort)
  const port = match ? Number(match[2]) : NaN
  if (!match || port < 1 || port > 65535) {
    return Either.left(
      new HatchetConfigError({
        reason: "MalformedHostPort",
        message: `${source} is "${hostPort}", which is not a gRPC address of the form host:port ` +
          `(for example "localhost:7070" or "[::1]:7070", with no scheme and a port from 1 to 65535).`
      })
    )
  }
  return Either.right({ host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port })
}

const parseApiUrl = (apiUrl: string, source: string): Either.Either<string, HatchetConfigError> => {
  let url: URL | undefined
  try {
    url = new URL(apiUrl)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    return Either.left(
      new HatchetConfigError({
        reason: "MalformedApiUrl",
        message: `${source} is "${apiUrl}", which is not an http(s) URL (for example "https://cloud.onhatchet.run" ` +
          `or "http://localhost:8080").`
      })
    )
  }
  return Either.right(apiUrl.replace(/\/+$/, ""))
}

const parseLength = (
  value: number | string | undefined,
  source: string
): Either.Either<number, HatchetConfigError> => {
  if (value === undefined) return Either.right(DEFAULT_MAX_MESSAGE_LENGTH)
  const n = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : NaN
  return Number.isSafeInteger(n) && n > 0
    ? Either.right(n)
    : Either.left(
      new HatchetConfigError({
        reason: "InvalidValue",
        message: `${source} is "${value}"; expected a positive whole number of bytes (default ${DEFAULT_MAX_MESSAGE_LENGTH}).`
      })
    )
}

/** One of a fixed set of words, compared without case; `fallback` when unset. */
const parseChoice = <A extends string>(options: {
  readonly choices: ReadonlyArray<A>
  readonly fallback: A
  readonly normalize: (s: string) => string
  readonly reason: "UnknownTlsStrategy" | "InvalidValue"
  readonly expected: string
}) =>
(value: string | undefined, source: string): Either.Either<A, HatchetConfigError> => {
  if (value === undefined) return Either.right(options.fallback)
  const normalized = options.normalize(value) as A
  return options.choices.includes(normalized)
    ? Either.right(normalized)
    : Either.left(
      new HatchetConfigError({ reason: options.reason, message: `${source} is "${value}"; expected ${options.expected}.` })
    )
}

const LOG_LEVELS: ReadonlyArray<LogLevel> = ["OFF", "DEBUG", "INFO", "WARN", "ERROR"]

/** Requests under this many bytes go uncompressed by default (see `HatchetConfig`). @internal */
export const DEFAULT_COMPRESSION_MIN_BYTES = 1024

/**
 * Whether `host` (as `parseHostPort` returns it) names this machine: `localhost`, an IPv4 address
 * in 127.0.0.0/8, `::1`, or an IPv4-mapped loopback address (`::ffff:127.0.0.1`).
 *
 * @internal
 */
export const isLoopbackHost = (host: string): boolean => {
  const name = host.toLowerCase()
  if (name === "localhost") return true
  const ipv4 = net.isIPv4(name) ? name : name.startsWith("::ffff:") ? name.slice(7) : undefined
  if (ipv4 !== undefined && net.isIPv4(ipv4)) return ipv4.startsWith("127.")
  return net.isIPv6(name) && new net.SocketAddress({ address: name, family: "ipv6" }).address === "::1"
}

/**
 * `grpcCompression`, given or by default: gzip (as the official SDKs) for an engine on another
 * machine, none for one on loopback, where compressing saves no bandwidth and costs CPU on both ends.
 */
const parseCompression = (
  value: string | undefined,
  host: string
): Either.Either<"gzip" | "none", HatchetConfigError> =>
  value === undefined
    ? Either.right(isLoopbackHost(host) ? "none" : "gzip")
    : value === "gzip" || value === "none"
    ? Either.right(value)
    : Either.left(
      new HatchetConfigError({
        reason: "InvalidValue",
        message: `${option("grpcCompression")} is "${value}"; expected "gzip" or "none" ` +
          `(default: "none" for an engine on loopback, "gzip" otherwise).`
      })
    )

const parseCompressionMinBytes = (value: number | undefined): Either.Either<number, HatchetConfigError> =>
  value === undefined
    ? Either.right(DEFAULT_COMPRESSION_MIN_BYTES)
    : Number.isSafeInteger(value) && value >= 0
    ? Either.right(value)
    : Either.left(
      new HatchetConfigError({
        reason: "InvalidValue",
        message: `${option("grpcCompressionMinBytes")} is "${value}"; expected a whole number of bytes, 0 or more ` +
          `(default ${DEFAULT_COMPRESSION_MIN_BYTES}).`
      })
    )

const parseKeepalive = (
  value: Duration.DurationInput | undefined,
  key: "grpcKeepaliveTime" | "grpcKeepaliveTimeout",
  fallback: Duration.Duration
): Either.Either<Duration.Duration, HatchetConfigError> => {
  if (value === undefined) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(value)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.toMillis(decoded.value) >= 1
    ? Either.right(decoded.value)
    : Either.left(
      new HatchetConfigError({
        reason: "InvalidValue",
        message: `${option(key)} is "${String(value)}"; expected a duration of at least 1 millisecond ` +
          `(default ${Duration.format(fallback)}).`
      })
    )
}

const parseLogLevel = parseChoice({
  choices: LOG_LEVELS,
  fallback: "INFO",
  normalize: (s) => s.toUpperCase(),
  reason: "InvalidValue",
  expected: `one of ${LOG_LEVELS.join(", ")}`
})

const parseTlsStrategy = parseChoice<TlsStrategy>({
  choices: ["tls", "mtls", "none"],
  fallback: "tls",
  normalize: (s) => s.toLowerCase(),
  reason: "UnknownTlsStrategy",
  expected: `"tls" (the default: TLS with system roots or ${envName("TLS_ROOT_CA_FILE")}), "mtls" (also set ${
    envName("TLS_CERT_FILE")
  } and ${envName("TLS_KEY_FILE")}) or "none" (plaintext, e.g. a local engine)`
})

/**
 * Hatchet's namespace rule (official SDKs): a `_` suffix is added if missing, then lowercased.
 *
 * @internal
 */
export const normalizeNamespace = (namespace: string | undefined): string => {
  if (namespace === undefined || namespace === "") return ""
  return (namespace.endsWith("_") ? namespace : `${namespace}_`).toLowerCase()
}

const readTlsFile = (path: string, source: string) =>
  Effect.tryPromise({
    try: (signal) => fs.readFile(path, { signal }),
    catch: (cause) =>
      new HatchetConfigError({
        reason: "UnreadableTlsFile",
        message: `${source} is "${path}", which cannot be read (${
          (cause as NodeJS.ErrnoException)?.code ?? String(cause)
        }). Point it at a readable PEM file.`,
        cause
      })
  }).pipe(Effect.map((buffer) => new Uint8Array(buffer)))

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

interface Source<A> {
  readonly value: A
  readonly source: string
}

/** The first defined value, with a description of where it came from (for error messages). */
const pick = <A>(
  ...candidates: ReadonlyArray<readonly [A | undefined | Option.Option<A>, string]>
): Source<A> | undefined => {
  for (const [candidate, source] of candidates) {
    const value = Option.isOption(candidate) ? Option.getOrUndefined(candidate) : candidate
    if (value !== undefined) return { value, source }
  }
  return undefined
}

const option = (key: keyof Options) => `the \`${key}\` option`

/**
 * Resolves options and environment (already read) into a validated configuration.
 *
 * @internal
 */
export const resolve = (
  options: Options,
  env: Environment
): Effect.Effect<HatchetConfigShape, HatchetConfigError> =>
  Effect.gen(function*() {
    const tokenSource = pick<Redacted.Redacted | string>(
      [options.token, option("token")],
      [env.token, envName("TOKEN")]
    )
    if (tokenSource === undefined) {
      return yield* new HatchetConfigError({
        reason: "MissingToken",
        message: `No Hatchet API token: set ${envName("TOKEN")} (or pass \`token\` to HatchetConfig.layer). ` +
          `Create one in the Hatchet dashboard (Settings > API Tokens).`
      })
    }
    const rawToken = tokenSource.value
    const token: Redacted.Redacted<string> = Redacted.isRedacted(rawToken)
      ? Redacted.make(Redacted.value(rawToken).trim())
      : Redacted.make(rawToken.trim())
    const claims = yield* decodeClaims(token)

    let tokenExpiresAt: Date | undefined
    if (claims.exp !== undefined) {
      tokenExpiresAt = new Date(claims.exp * 1000)
      const now = yield* Clock.currentTimeMillis
      if (claims.exp * 1000 <= now) {
        return yield* new HatchetConfigError({
          reason: "ExpiredToken",
          message: `The Hatchet API token from ${tokenSource.source} expired at ${tokenExpiresAt.toISOString()}. ` +
            `Create a new token and set ${envName("TOKEN")} to it.`
        })
      }
    }

    const tenant = pick(
      [options.tenantId, option("tenantId")],
      [env.tenantId, envName("TENANT_ID")],
      [claims.sub, "the token's `sub` claim"]
    )
    const hostPort = pick(
      [options.hostPort, option("hostPort")],
      [env.hostPort, envName("HOST_PORT")],
      [claims.grpc_broadcast_address, "the token's `grpc_broadcast_address` claim"]
    )
    const apiUrl = pick(
      [options.apiUrl, option("apiUrl")],
      [env.apiUrl, envName("API_URL")],
      [env.serverUrl, envName("SERVER_URL")],
      [claims.server_url, "the token's `server_url` claim"]
    )
    const missing = [
      tenant === undefined ? `the tenant id (claim \`sub\`; or set ${envName("TENANT_ID")})` : undefined,
      hostPort === undefined ? `the gRPC address (claim \`grpc_broadcast_address\`; or set ${envName("HOST_PORT")})` : undefined,
      apiUrl === undefined ? `the API URL (claim \`server_url\`; or set ${envName("API_URL")})` : undefined
    ].filter((s): s is string => s !== undefined)
    if (tenant === undefined || hostPort === undefined || apiUrl === undefined) {
      return yield* new HatchetConfigError({
        reason: "MissingClaims",
        message: `The Hatchet API token does not say ${missing.join(", nor ")}. Set the variable(s) named, ` +
          `or use a token issued by your Hatchet engine.`
      })
    }

    const { host, port } = yield* parseHostPort(hostPort.value, hostPort.source)
    const api = yield* parseApiUrl(apiUrl.value, apiUrl.source)

    const strategySource = pick([options.tlsStrategy, option("tlsStrategy")], [env.tlsStrategy, envName("TLS_STRATEGY")])
    const strategy = yield* parseTlsStrategy(strategySource?.value, strategySource?.source ?? "")
    const serverName = pick(
      [options.tlsServerName, option("tlsServerName")],
      [env.tlsServerName, envName("TLS_SERVER_NAME")]
    )?.value ?? host

    const tls: TlsSettings = yield* Effect.gen(function*() {
      if (strategy === "none") return { strategy }
      const rootCaFile = pick(
        [options.tlsRootCaFile, option("tlsRootCaFile")],
        [env.tlsRootCaFile, envName("TLS_ROOT_CA_FILE")]
      )
      const rootCa = rootCaFile ? yield* readTlsFile(rootCaFile.value, rootCaFile.source) : undefined
      if (strategy === "tls") return { strategy, rootCa, rootCaFile: rootCaFile?.value }
      const certFile = pick([options.tlsCertFile, option("tlsCertFile")], [env.tlsCertFile, envName("TLS_CERT_FILE")])
      const keyFile = pick([options.tlsKeyFile, option("tlsKeyFile")], [env.tlsKeyFile, envName("TLS_KEY_FILE")])
      if (certFile === undefined || keyFile === undefined) {
        return yield* new HatchetConfigError({
          reason: "MissingTlsFile",
          message: `The TLS strategy is "mtls" but ${
            [certFile ? undefined : envName("TLS_CERT_FILE"), keyFile ? undefined : envName("TLS_KEY_FILE")]
              .filter(Boolean).join(" and ")
          } ${certFile || keyFile ? "is" : "are"} not set: mTLS needs the client certificate and its private key.`
        })
      }
      const certChain = yield* readTlsFile(certFile.value, certFile.source)
      const privateKey = yield* readTlsFile(keyFile.value, keyFile.source)
      return {
        strategy,
        rootCa,
        rootCaFile: rootCaFile?.value,
        certChain,
        certFile: certFile.value,
        privateKey: Redacted.make(privateKey),
        keyFile: keyFile.value
      }
    })

    const recv = pick<number | string>(
      [options.grpcMaxRecvMessageLength, option("grpcMaxRecvMessageLength")],
      [env.grpcMaxRecvMessageLength, envName("GRPC_MAX_RECV_MESSAGE_LENGTH")]
    )
    const send = pick<number | string>(
      [options.grpcMaxSendMessageLength, option("grpcMaxSendMessageLength")],
      [env.grpcMaxSendMessageLength, envName("GRPC_MAX_SEND_MESSAGE_LENGTH")]
    )
    const level = pick([options.logLevel, option("logLevel")], [env.logLevel, envName("LOG_LEVEL")])

    return {
      token,
      tenantId: tenant.value,
      hostPort: hostPort.value,
      host,
      port,
      apiUrl: api,
      tls,
      serverName,
      namespace: normalizeNamespace(pick([options.namespace, ""], [env.namespace, ""])?.value),
      grpcMaxRecvMessageLength: yield* parseLength(recv?.value, recv?.source ?? ""),
      grpcMaxSendMessageLength: yield* parseLength(send?.value, send?.source ?? ""),
      grpcKeepaliveTime: yield* parseKeepalive(options.grpcKeepaliveTime, "grpcKeepaliveTime", DEFAULT_KEEPALIVE_TIME),
      grpcKeepaliveTimeout: yield* parseKeepalive(
        options.grpcKeepaliveTimeout,
        "grpcKeepaliveTimeout",
        DEFAULT_KEEPALIVE_TIMEOUT
      ),
      grpcCompression: yield* parseCompression(options.grpcCompression, host),
      grpcCompressionMinBytes: yield* parseCompressionMinBytes(options.grpcCompressionMinBytes),
      logLevel: yield* parseLogLevel(level?.value, level?.source ?? ""),
      tokenExpiresAt
    }
  })

/**
 * Reads the environment through the current `ConfigProvider`, then resolves.
 *
 * @internal
 */
export const make = (options: Options = {}): Effect.Effect<HatchetConfigShape, HatchetConfigError> =>
  environment.pipe(Effect.mapError(configError), Effect.flatMap((env) => resolve(options, env)))

/**
 * `Config.unwrap`, with a typed error.
 *
 * @internal
 */
export const unwrapOptions = (config: Config.Config.Wrap<Options>): Effect.Effect<Options, HatchetConfigError> =>
  Config.unwrap(config).pipe(Effect.mapError(configError))
