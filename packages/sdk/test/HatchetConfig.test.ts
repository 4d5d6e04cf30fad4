import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Layer, Logger, Redacted, TestClock } from "effect"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { inspect } from "node:util"
import * as HatchetConfig from "../src/HatchetConfig.js"
import { hatchetToken, makeToken, TENANT_ID } from "./support/tokens.js"

/** The environment as a ConfigProvider (no process.env mutation). */
const env = (vars: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(vars)), { pathDelim: "_" })

const resolve = (vars: Record<string, string>, options?: HatchetConfig.Options) =>
  HatchetConfig.make(options).pipe(Effect.withConfigProvider(env(vars)))

const failure = (vars: Record<string, string>, options?: HatchetConfig.Options) => Effect.flip(resolve(vars, options))

const TOKEN = hatchetToken()

/** Every rendering of a value a user or a log could see. */
const renderings = (value: unknown): ReadonlyArray<string> => [
  String(value),
  JSON.stringify(value) ?? "",
  inspect(value, { depth: 10 }),
  value instanceof Error ? `${value.message}\n${value.stack ?? ""}` : ""
]

const expectNoToken = (value: unknown, token: string) => {
  const parts = token.split(".")
  for (const text of renderings(value)) {
    expect(text).not.toContain(token)
    // The payload and signature are the identifying parts; the header is shared by many tokens.
    for (const part of parts.slice(1)) if (part.length > 8) expect(text).not.toContain(part)
  }
}

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "hatchet-config-"))

describe("HatchetConfig", () => {
  describe("precedence: options > env > token claims > defaults", () => {
    it.effect("takes everything it can from the token, and defaults for the rest", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN })
        expect(Redacted.value(config.token)).toBe(TOKEN)
        expect(config.tenantId).toBe(TENANT_ID)
        expect(config.hostPort).toBe("localhost:7070")
        expect([config.host, config.port]).toEqual(["localhost", 7070])
        expect(config.apiUrl).toBe("http://localhost:8080")
        expect(config.tls).toEqual({ strategy: "tls", rootCa: undefined, rootCaFile: undefined })
        expect(config.serverName).toBe("localhost")
        expect(config.namespace).toBe("")
        expect(config.grpcMaxRecvMessageLength).toBe(4194304)
        expect(config.grpcMaxSendMessageLength).toBe(4194304)
        expect(config.logLevel).toBe("INFO")
        expect(config.tokenExpiresAt).toEqual(new Date(4_102_444_800_000))
        expect(config.grpcKeepaliveTime).toEqual(Duration.seconds(10))
        expect(config.grpcKeepaliveTimeout).toEqual(Duration.seconds(60))
        // the token's engine is localhost: loopback, so no compression by default
        expect(config.grpcCompression).toBe("none")
        expect(config.grpcCompressionMinBytes).toBe(1024)
      }))

    it.effect("compression by default: none for an engine on loopback, gzip for any other host; an explicit option wins", () =>
      Effect.gen(function*() {
        const compression = (hostPort: string, options?: HatchetConfig.Options) =>
          resolve({ HATCHET_CLIENT_TOKEN: TOKEN }, { hostPort, ...options }).pipe(
            Effect.map((config) => config.grpcCompression)
          )
        for (
          const loopback of [
            "localhost:7070",
            "LocalHost:7070",
            "127.0.0.1:7070",
            "127.20.30.40:443",
            "[::1]:7070",
            "[0:0:0:0:0:0:0:1]:7070",
            "[::ffff:127.0.0.1]:7070"
          ]
        ) expect(yield* compression(loopback), loopback).toBe("none")
        for (
          const remote of [
            "engine.example.com:443",
            "localhost.example.com:7070",
            "10.0.0.1:7070",
            "128.0.0.1:7070",
            "[::2]:7070",
            "[::ffff:10.0.0.1]:7070"
          ]
        ) expect(yield* compression(remote), remote).toBe("gzip")
        expect(yield* compression("127.0.0.1:7070", { grpcCompression: "gzip" })).toBe("gzip")
        expect(yield* compression("[::1]:7070", { grpcCompression: "gzip" })).toBe("gzip")
        expect(yield* compression("engine.example.com:443", { grpcCompression: "none" })).toBe("none")
      }))

    it.effect("compression comes from the options; a wrong value is a typed error that names it", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN }, { grpcCompression: "none", grpcCompressionMinBytes: 0 })
        expect(config.grpcCompression).toBe("none")
        expect(config.grpcCompressionMinBytes).toBe(0)
        const algorithm = yield* Effect.flip(resolve({ HATCHET_CLIENT_TOKEN: TOKEN }, { grpcCompression: "brotli" as never }))
        expect(algorithm.reason).toBe("InvalidValue")
        expect(algorithm.message).toContain("`grpcCompression` option is \"brotli\"")
        const bytes = yield* Effect.flip(resolve({ HATCHET_CLIENT_TOKEN: TOKEN }, { grpcCompressionMinBytes: -1 }))
        expect(bytes.message).toContain("`grpcCompressionMinBytes` option is \"-1\"")
      }))

    it.effect("keepalive comes from the options (durations)", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN }, {
          grpcKeepaliveTime: "5 seconds",
          grpcKeepaliveTimeout: 2_500
        })
        expect(config.grpcKeepaliveTime).toEqual(Duration.seconds(5))
        expect(config.grpcKeepaliveTimeout).toEqual(Duration.millis(2_500))
      }))

    it.effect("env overrides the claims", () =>
      Effect.gen(function*() {
        const config = yield* resolve({
          HATCHET_CLIENT_TOKEN: TOKEN,
          HATCHET_CLIENT_HOST_PORT: "engine.internal:443",
          HATCHET_CLIENT_API_URL: "https://api.example.com/",
          HATCHET_CLIENT_TENANT_ID: "other-tenant",
          HATCHET_CLIENT_TLS_STRATEGY: "none",
          HATCHET_CLIENT_TLS_SERVER_NAME: "sni.example.com",
          HATCHET_CLIENT_NAMESPACE: "Staging",
          HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH: "1024",
          HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH: "2048",
          HATCHET_CLIENT_LOG_LEVEL: "debug"
        })
        expect(config).toMatchObject({
          tenantId: "other-tenant",
          hostPort: "engine.internal:443",
          host: "engine.internal",
          port: 443,
          apiUrl: "https://api.example.com",
          tls: { strategy: "none" },
          serverName: "sni.example.com",
          namespace: "staging_",
          grpcMaxRecvMessageLength: 1024,
          grpcMaxSendMessageLength: 2048,
          logLevel: "DEBUG"
        })
      }))

    it.effect("HATCHET_CLIENT_SERVER_URL is an alias of HATCHET_CLIENT_API_URL, which wins", () =>
      Effect.gen(function*() {
        const alias = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_SERVER_URL: "http://alias:1" })
        expect(alias.apiUrl).toBe("http://alias:1")
        const both = yield* resolve({
          HATCHET_CLIENT_TOKEN: TOKEN,
          HATCHET_CLIENT_SERVER_URL: "http://alias:1",
          HATCHET_CLIENT_API_URL: "http://api:2"
        })
        expect(both.apiUrl).toBe("http://api:2")
      }))

    it.effect("options override env", () =>
      Effect.gen(function*() {
        const other = hatchetToken({ sub: "tenant-from-option-token" })
        const config = yield* resolve(
          {
            HATCHET_CLIENT_TOKEN: TOKEN,
            HATCHET_CLIENT_HOST_PORT: "env-host:1",
            HATCHET_CLIENT_API_URL: "http://env-api",
            HATCHET_CLIENT_NAMESPACE: "env",
            HATCHET_CLIENT_TLS_STRATEGY: "mtls",
            HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH: "1",
            HATCHET_CLIENT_LOG_LEVEL: "ERROR"
          },
          {
            token: Redacted.make(other),
            hostPort: "opt-host:2",
            apiUrl: "http://opt-api",
            namespace: "opt_",
            tlsStrategy: "none",
            grpcMaxRecvMessageLength: 99,
            logLevel: "WARN"
          }
        )
        expect(Redacted.value(config.token)).toBe(other)
        expect(config).toMatchObject({
          tenantId: "tenant-from-option-token",
          hostPort: "opt-host:2",
          apiUrl: "http://opt-api",
          namespace: "opt_",
          tls: { strategy: "none" },
          grpcMaxRecvMessageLength: 99,
          logLevel: "WARN"
        })
      }))

    it.effect("blank variables count as unset", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: ` ${TOKEN}\n`, HATCHET_CLIENT_HOST_PORT: "  " })
        expect(Redacted.value(config.token)).toBe(TOKEN)
        expect(config.hostPort).toBe("localhost:7070")
      }))

    it.effect("a token without address claims works when env gives both", () =>
      Effect.gen(function*() {
        const bare = makeToken({ sub: TENANT_ID })
        const config = yield* resolve({
          HATCHET_CLIENT_TOKEN: bare,
          HATCHET_CLIENT_HOST_PORT: "127.0.0.1:7077",
          HATCHET_CLIENT_API_URL: "http://127.0.0.1:8888"
        })
        expect(config).toMatchObject({ hostPort: "127.0.0.1:7077", apiUrl: "http://127.0.0.1:8888", serverName: "127.0.0.1" })
        expect(config.tokenExpiresAt).toBeUndefined()
      }))

    it.effect("IPv6 addresses keep their brackets in hostPort and lose them in host", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_HOST_PORT: "[::1]:7070" })
        expect([config.hostPort, config.host, config.port, config.serverName]).toEqual(["[::1]:7070", "::1", 7070, "::1"])
      }))

    it.effect("namespace: lowercased, `_` appended if missing", () =>
      Effect.gen(function*() {
        const cases: Array<[string, string]> = [["Staging", "staging_"], ["prod_", "prod_"], ["ABC_", "abc_"], ["a-b", "a-b_"]]
        for (const [input, want] of cases) {
          const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_NAMESPACE: input })
          expect(config.namespace).toBe(want)
        }
      }))

    it.effect("TLS: a root CA file is read; mTLS reads certificate and key (key Redacted)", () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const files = { ca: path.join(dir, "ca.pem"), cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") }
        fs.writeFileSync(files.ca, "CA")
        fs.writeFileSync(files.cert, "CERT")
        fs.writeFileSync(files.key, "KEY")
        const tls = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_TLS_ROOT_CA_FILE: files.ca })
        expect(tls.tls).toEqual({ strategy: "tls", rootCa: new Uint8Array(Buffer.from("CA")), rootCaFile: files.ca })
        const mtls = yield* resolve({
          HATCHET_CLIENT_TOKEN: TOKEN,
          HATCHET_CLIENT_TLS_STRATEGY: "MTLS",
          HATCHET_CLIENT_TLS_ROOT_CA_FILE: files.ca,
          HATCHET_CLIENT_TLS_CERT_FILE: files.cert,
          HATCHET_CLIENT_TLS_KEY_FILE: files.key
        })
        if (mtls.tls.strategy !== "mtls") throw new Error("expected mtls")
        expect(Buffer.from(mtls.tls.certChain).toString()).toBe("CERT")
        expect(Buffer.from(Redacted.value(mtls.tls.privateKey)).toString()).toBe("KEY")
        expect(JSON.stringify(mtls.tls)).not.toContain(JSON.stringify([...Buffer.from("KEY")]).slice(1, -1))
        fs.rmSync(dir, { recursive: true })
      }))
  })

  describe("bad input fails with a typed error that says what to fix", () => {
    const cases: ReadonlyArray<{
      readonly name: string
      readonly reason: HatchetConfigError["reason"]
      readonly vars: Record<string, string>
      readonly options?: HatchetConfig.Options
      readonly mentions: ReadonlyArray<string>
    }> = [
      { name: "no token", reason: "MissingToken", vars: {}, mentions: ["HATCHET_CLIENT_TOKEN"] },
      { name: "blank token", reason: "MissingToken", vars: { HATCHET_CLIENT_TOKEN: " " }, mentions: ["HATCHET_CLIENT_TOKEN"] },
      { name: "not a JWT", reason: "MalformedToken", vars: { HATCHET_CLIENT_TOKEN: "not-a-token" }, mentions: ["3"] },
      { name: "two parts", reason: "MalformedToken", vars: { HATCHET_CLIENT_TOKEN: "abc.def" }, mentions: ["2 dot-separated"] },
      {
        name: "not base64url",
        reason: "MalformedToken",
        vars: { HATCHET_CLIENT_TOKEN: "eyJhbGciOiJFUzI1NiJ9.@@@@.sig" },
        mentions: ["base64url"]
      },
      {
        name: "payload not JSON",
        reason: "MalformedToken",
        vars: { HATCHET_CLIENT_TOKEN: `eyJhbGciOiJFUzI1NiJ9.${Buffer.from("{nope").toString("base64url")}.sig` },
        mentions: ["not JSON"]
      },
      {
        name: "claims of the wrong type",
        reason: "MalformedToken",
        vars: { HATCHET_CLIENT_TOKEN: makeToken({ sub: 42, exp: "soon" }) },
        mentions: ["sub", "exp"]
      },
      {
        name: "a Bearer prefix",
        reason: "MalformedToken",
        vars: { HATCHET_CLIENT_TOKEN: `Bearer ${TOKEN}` },
        mentions: ["whitespace", "Bearer"]
      },
      {
        name: "expired token",
        reason: "ExpiredToken",
        vars: { HATCHET_CLIENT_TOKEN: hatchetToken({ exp: 1_000 }) },
        mentions: ["expired at 1970-01-01T00:16:40.000Z", "new token"]
      },
      {
        name: "no sub claim",
        reason: "MissingClaims",
        vars: { HATCHET_CLIENT_TOKEN: hatchetToken({ sub: undefined }) },
        mentions: ["sub", "HATCHET_CLIENT_TENANT_ID"]
      },
      {
        name: "no address claims and no env",
        reason: "MissingClaims",
        vars: { HATCHET_CLIENT_TOKEN: makeToken({ sub: TENANT_ID }) },
        mentions: ["grpc_broadcast_address", "HATCHET_CLIENT_HOST_PORT", "server_url", "HATCHET_CLIENT_API_URL"]
      },
      {
        name: "no server_url claim, host given",
        reason: "MissingClaims",
        vars: { HATCHET_CLIENT_TOKEN: makeToken({ sub: TENANT_ID }), HATCHET_CLIENT_HOST_PORT: "h:1" },
        mentions: ["HATCHET_CLIENT_API_URL"]
      },
      {
        name: "unknown TLS strategy",
        reason: "UnknownTlsStrategy",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_TLS_STRATEGY: "ssl" },
        mentions: ["HATCHET_CLIENT_TLS_STRATEGY", "\"ssl\"", "tls", "mtls", "none"]
      },
      {
        name: "unknown TLS strategy (option)",
        reason: "UnknownTlsStrategy",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN },
        options: { tlsStrategy: "insecure" },
        mentions: ["`tlsStrategy` option", "\"insecure\""]
      },
      {
        name: "unreadable root CA file",
        reason: "UnreadableTlsFile",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_TLS_ROOT_CA_FILE: "/nonexistent/ca.pem" },
        mentions: ["HATCHET_CLIENT_TLS_ROOT_CA_FILE", "/nonexistent/ca.pem", "ENOENT"]
      },
      {
        name: "unreadable client certificate",
        reason: "UnreadableTlsFile",
        vars: {
          HATCHET_CLIENT_TOKEN: TOKEN,
          HATCHET_CLIENT_TLS_STRATEGY: "mtls",
          HATCHET_CLIENT_TLS_CERT_FILE: "/nonexistent/cert.pem",
          HATCHET_CLIENT_TLS_KEY_FILE: "/nonexistent/key.pem"
        },
        mentions: ["HATCHET_CLIENT_TLS_CERT_FILE", "/nonexistent/cert.pem"]
      },
      {
        name: "mTLS without key",
        reason: "MissingTlsFile",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_TLS_STRATEGY: "mtls", HATCHET_CLIENT_TLS_CERT_FILE: "/x" },
        mentions: ["HATCHET_CLIENT_TLS_KEY_FILE", "mtls"]
      },
      ...["localhost", "http://localhost:7070", "localhost:99999", "localhost:port", "a b:1", ":7070"].map((hostPort) => ({
        name: `malformed host:port ${JSON.stringify(hostPort)}`,
        reason: "MalformedHostPort" as const,
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_HOST_PORT: hostPort },
        mentions: ["HATCHET_CLIENT_HOST_PORT", hostPort, "host:port"]
      })),
      {
        name: "malformed address claim",
        reason: "MalformedHostPort",
        vars: { HATCHET_CLIENT_TOKEN: hatchetToken({ grpc_broadcast_address: "engine" }) },
        mentions: ["grpc_broadcast_address", "\"engine\""]
      },
      {
        name: "malformed API URL",
        reason: "MalformedApiUrl",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_API_URL: "localhost:8080" },
        mentions: ["HATCHET_CLIENT_API_URL", "http"]
      },
      {
        name: "bad max message length",
        reason: "InvalidValue",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH: "4MB" },
        mentions: ["HATCHET_CLIENT_GRPC_MAX_SEND_MESSAGE_LENGTH", "\"4MB\""]
      },
      {
        name: "zero max message length (option)",
        reason: "InvalidValue",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN },
        options: { grpcMaxRecvMessageLength: 0 },
        mentions: ["grpcMaxRecvMessageLength"]
      },
      {
        name: "zero keepalive time (option)",
        reason: "InvalidValue",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN },
        options: { grpcKeepaliveTime: 0 },
        mentions: ["grpcKeepaliveTime", "at least 1 millisecond"]
      },
      {
        name: "unreadable keepalive timeout (option)",
        reason: "InvalidValue",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN },
        options: { grpcKeepaliveTimeout: "soon" as never },
        mentions: ["grpcKeepaliveTimeout", "\"soon\""]
      },
      {
        name: "unknown log level",
        reason: "InvalidValue",
        vars: { HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_LOG_LEVEL: "verbose" },
        mentions: ["HATCHET_CLIENT_LOG_LEVEL", "DEBUG"]
      }
    ]

    for (const c of cases) {
      it.effect(`${c.name}: ${c.reason}`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"))
          const error = yield* failure(c.vars, c.options)
          expect(error._tag).toBe("HatchetConfigError")
          expect(error.reason).toBe(c.reason)
          for (const m of c.mentions) expect(error.message).toContain(m)
          const token = c.vars.HATCHET_CLIENT_TOKEN
          if (token && token.trim().length > 0) expectNoToken(error, token.replace(/^Bearer /, ""))
        }))
    }

    it.effect("the expiry check uses Effect's Clock", () =>
      Effect.gen(function*() {
        const token = hatchetToken({ exp: 2_000 })
        yield* TestClock.setTime(1_999_000)
        const ok = yield* resolve({ HATCHET_CLIENT_TOKEN: token })
        expect(ok.tokenExpiresAt).toEqual(new Date(2_000_000))
        yield* TestClock.setTime(2_000_000)
        const error = yield* failure({ HATCHET_CLIENT_TOKEN: token })
        expect(error.reason).toBe("ExpiredToken")
      }))
  })

  describe("the token is never shown", () => {
    it.effect("not in String(), JSON or inspect() of the resolved config", () =>
      Effect.gen(function*() {
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN })
        expectNoToken(config, TOKEN)
        expect(JSON.stringify(config)).toContain("<redacted>")
      }))

    it.effect("not in a log line that logs the config", () =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        const logger = Logger.make(({ message }) => lines.push(inspect(message, { depth: 10 })))
        const config = yield* resolve({ HATCHET_CLIENT_TOKEN: TOKEN })
        yield* Effect.log("config", config, config.token).pipe(
          Effect.annotateLogs("token", config.token),
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
        const structured: Array<string> = []
        yield* Effect.logInfo(config).pipe(
          Effect.provide(
            Logger.replace(Logger.defaultLogger, Logger.map(Logger.structuredLogger, (s) => structured.push(JSON.stringify(s))))
          )
        )
        expect(lines.length + structured.length).toBe(2)
        for (const line of [...lines, ...structured]) expectNoToken(line, TOKEN)
        expect(lines[0]).toContain("<redacted>")
      }))

    it.effect("not in the error of a config that fails after reading the token", () =>
      Effect.gen(function*() {
        const error = yield* failure({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_HOST_PORT: "nope" })
        expectNoToken(error, TOKEN)
      }))
  })

  describe("layers", () => {
    it.effect("layer() reads HATCHET_CLIENT_* through the ConfigProvider", () =>
      Effect.gen(function*() {
        const config = yield* HatchetConfig.HatchetConfig
        expect(config.tenantId).toBe(TENANT_ID)
        expect(config.hostPort).toBe("127.0.0.1:1")
      }).pipe(
        Effect.provide(HatchetConfig.layer()),
        Effect.withConfigProvider(env({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_HOST_PORT: "127.0.0.1:1" }))
      ))

    it.effect("layer(options) overrides the environment", () =>
      Effect.gen(function*() {
        const config = yield* HatchetConfig.HatchetConfig
        expect(config.namespace).toBe("ns_")
        expect(config.hostPort).toBe("127.0.0.1:1")
      }).pipe(
        Effect.provide(HatchetConfig.layer({ namespace: "NS" })),
        Effect.withConfigProvider(env({ HATCHET_CLIENT_TOKEN: TOKEN, HATCHET_CLIENT_HOST_PORT: "127.0.0.1:1" }))
      ))

    it.effect("layerConfig takes options from Configs, over the environment", () =>
      Effect.gen(function*() {
        const config = yield* HatchetConfig.HatchetConfig
        expect(Redacted.value(config.token)).toBe(TOKEN)
        expect(config.grpcMaxSendMessageLength).toBe(123)
        expect(config.logLevel).toBe("ERROR")
      }).pipe(
        Effect.provide(
          HatchetConfig.layerConfig({
            token: Config.redacted("MY_TOKEN"),
            grpcMaxSendMessageLength: Config.integer("MY_LIMIT"),
            logLevel: Config.succeed("error")
          })
        ),
        Effect.withConfigProvider(env({ MY_TOKEN: TOKEN, MY_LIMIT: "123" }))
      ))

    it.effect("layerConfig: a Config that fails becomes a HatchetConfigError", () =>
      Effect.gen(function*() {
        const error = yield* Layer.build(
          HatchetConfig.layerConfig({ token: Config.redacted("MY_TOKEN"), grpcMaxSendMessageLength: Config.integer("MY_LIMIT") })
        ).pipe(Effect.scoped, Effect.flip, Effect.withConfigProvider(env({ MY_TOKEN: TOKEN, MY_LIMIT: "lots" })))
        expect(error.reason).toBe("InvalidValue")
        expect(error.message).toContain("MY_LIMIT")
        expectNoToken(error, TOKEN)
      }))

    it("effectLogLevel maps Hatchet levels to Effect's", () => {
      expect(["OFF", "DEBUG", "INFO", "WARN", "ERROR"].map((l) => HatchetConfig.effectLogLevel(l as HatchetConfig.LogLevel).label))
        .toEqual(["OFF", "DEBUG", "INFO", "WARN", "ERROR"])
    })
  })
})

type HatchetConfigError = HatchetConfig.HatchetConfigError
