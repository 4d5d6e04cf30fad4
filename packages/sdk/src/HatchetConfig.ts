/**
 * How to reach a Hatchet engine: the API token, the gRPC address, the REST API URL, TLS, the
 * namespace and limits, resolved the way Hatchet's official SDKs do.
 *
 * Precedence for each setting: options (`layer` / `layerConfig`) > environment
 * (`HATCHET_CLIENT_*`, read through the current `ConfigProvider` when the layer is built) >
 * the token's JWT claims > defaults.
 *
 * | variable | meaning (default) |
 * |---|---|
 * | `HATCHET_CLIENT_TOKEN` | API token (required); its `sub` claim is the tenant id |
 * | `HATCHET_CLIENT_HOST_PORT` | gRPC `host:port` (claim `grpc_broadcast_address`) |
 * | `HATCHET_CLIENT_API_URL`, alias `HATCHET_CLIENT_SERVER_URL` | REST base URL (claim `server_url`) |
 * | `HATCHET_CLIENT_TENANT_ID` | tenant id (claim `sub`) |
 * | `HATCHET_CLIENT_TLS_STRATEGY` | `tls` (default), `mtls` or `none` |
 * | `HATCHET_CLIENT_TLS_CERT_FILE`, `_KEY_FILE` | client certificate and key (mTLS) |
 * | `HATCHET_CLIENT_TLS_ROOT_CA_FILE` | CA bundle (system roots) |
 * | `HATCHET_CLIENT_TLS_SERVER_NAME` | TLS server name (the host of the address) |
 * | `HATCHET_CLIENT_NAMESPACE` | name prefix, lowercased, `_` appended ("") |
 * | `HATCHET_CLIENT_GRPC_MAX_RECV_MESSAGE_LENGTH`, `_SEND_` | bytes (4194304) |
 * | `HATCHET_CLIENT_LOG_LEVEL` | `OFF`, `DEBUG`, `INFO` (default), `WARN`, `ERROR` |
 *
 * HTTP/2 keepalive (`grpcKeepaliveTime` / `grpcKeepaliveTimeout`, options only; 10 s / 60 s as
 * the official SDKs) bounds how long a silently dead connection goes unnoticed: a PING every
 * `grpcKeepaliveTime`, and a connection whose PING gets no answer within `grpcKeepaliveTimeout`
 * is closed, failing its calls with UNAVAILABLE (so a stalled stream is retried), i.e. at most
 * time + timeout (70 s by default). Lower values detect sooner; Hatchet's engine answers clients
 * that ping more often than every 5 s with GOAWAY `too_many_pings` (grpc-js then doubles its
 * interval), so keep `grpcKeepaliveTime` at 5 s or more against a real engine (the local engine
 * accepts any rate).
 *
 * Compression (`grpcCompression` / `grpcCompressionMinBytes`, options only): against an engine on
 * another machine, requests are gzip-compressed as the official SDKs compress them, except messages
 * under 1 KiB, which go as they are. A task's STARTED and a small result are a few hundred bytes
 * that gzip hardly shrinks, while each compressed message costs a zlib stream on both ends and a
 * trip through libuv's thread pool (measured in the README's Benchmarks); large payloads and
 * batches still shrink for a remote engine. Against an engine on loopback (host `localhost`,
 * 127.0.0.0/8 or `::1`) nothing is compressed by default: no bandwidth to save, and gzip of the
 * event batches cost both processes CPU (README, Benchmarks). An explicit option always wins:
 * `grpcCompression: "gzip"` compresses on loopback too, `"none"` sends everything uncompressed, and
 * `grpcCompressionMinBytes: 0` (with gzip) compresses every message, as the official SDKs do.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as EffectLogLevel from "effect/LogLevel"
import type * as Redacted from "effect/Redacted"
import * as internal from "./internal/config.js"

/**
 * @since 0.1.0
 * @category models
 */
export type TlsStrategy = "tls" | "mtls" | "none"

/**
 * Hatchet's log levels (`HATCHET_CLIENT_LOG_LEVEL`).
 *
 * @since 0.1.0
 * @category models
 */
export type LogLevel = "OFF" | "DEBUG" | "INFO" | "WARN" | "ERROR"

/**
 * Settings given in code; each one overrides the environment and the token's claims.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly token?: Redacted.Redacted | string | undefined
  readonly hostPort?: string | undefined
  readonly apiUrl?: string | undefined
  readonly tenantId?: string | undefined
  readonly tlsStrategy?: string | undefined
  readonly tlsCertFile?: string | undefined
  readonly tlsKeyFile?: string | undefined
  readonly tlsRootCaFile?: string | undefined
  readonly tlsServerName?: string | undefined
  readonly namespace?: string | undefined
  readonly grpcMaxRecvMessageLength?: number | undefined
  readonly grpcMaxSendMessageLength?: number | undefined
  readonly logLevel?: string | undefined
  /** HTTP/2 keepalive PING interval (see the module docs). Default 10 s. */
  readonly grpcKeepaliveTime?: Duration.DurationInput | undefined
  /** How long an unanswered keepalive PING takes to close the connection. Default 60 s. */
  readonly grpcKeepaliveTimeout?: Duration.DurationInput | undefined
  /**
   * `"gzip"` or `"none"`: the compression of requests. Default `"none"` when the engine's host is
   * loopback (`localhost`, 127.0.0.0/8, `::1`), `"gzip"` otherwise (see the module docs).
   */
  readonly grpcCompression?: GrpcCompression | undefined
  /** With gzip, requests smaller than this (serialized, in bytes) go uncompressed. Default 1024. */
  readonly grpcCompressionMinBytes?: number | undefined
}

/**
 * How requests are compressed: `gzip` (as the official SDKs) or `none`.
 *
 * @since 0.1.0
 * @category models
 */
export type GrpcCompression = "gzip" | "none"

/**
 * TLS material, read when the configuration is resolved. `rootCa` undefined means the system
 * roots.
 *
 * @since 0.1.0
 * @category models
 */
export type TlsSettings =
  | { readonly strategy: "none" }
  | {
    readonly strategy: "tls"
    readonly rootCa: Uint8Array | undefined
    readonly rootCaFile: string | undefined
  }
  | {
    readonly strategy: "mtls"
    readonly rootCa: Uint8Array | undefined
    readonly rootCaFile: string | undefined
    readonly certChain: Uint8Array
    readonly certFile: string
    readonly privateKey: Redacted.Redacted<Uint8Array>
    readonly keyFile: string
  }

/**
 * The resolved configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface HatchetConfigShape {
  /** The API token; `Redacted`, so it prints as `<redacted>`. */
  readonly token: Redacted.Redacted<string>
  readonly tenantId: string
  /** gRPC address as configured, `host:port`. */
  readonly hostPort: string
  readonly host: string
  readonly port: number
  /** REST base URL, without a trailing slash. */
  readonly apiUrl: string
  readonly tls: TlsSettings
  /** `grpc.ssl_target_name_override`; defaults to `host`. */
  readonly serverName: string
  /** Lowercased, ends with `_`, or empty. */
  readonly namespace: string
  readonly grpcMaxRecvMessageLength: number
  readonly grpcMaxSendMessageLength: number
  /** HTTP/2 keepalive PING interval (`grpc.keepalive_time_ms`). */
  readonly grpcKeepaliveTime: Duration.Duration
  /** Unanswered PING deadline (`grpc.keepalive_timeout_ms`). */
  readonly grpcKeepaliveTimeout: Duration.Duration
  /** Request compression (`grpc.default_compression_algorithm`, or none). */
  readonly grpcCompression: GrpcCompression
  /** Requests smaller than this many bytes are sent uncompressed. */
  readonly grpcCompressionMinBytes: number
  readonly logLevel: LogLevel
  /** The token's `exp` claim, if any. */
  readonly tokenExpiresAt: Date | undefined
}

/**
 * The configuration is missing or wrong. `reason` says which way; `message` says what to fix.
 * Never contains the token.
 *
 * @since 0.1.0
 * @category errors
 */
export const HatchetConfigError: typeof internal.HatchetConfigError = internal.HatchetConfigError

/**
 * @since 0.1.0
 * @category errors
 */
export type HatchetConfigError = internal.HatchetConfigError

/**
 * @since 0.1.0
 * @category tags
 */
export class HatchetConfig extends Context.Tag("@effect-hatchet/sdk/HatchetConfig")<
  HatchetConfig,
  HatchetConfigShape
>() {}

/**
 * Resolves `options` over the environment (read through the current `ConfigProvider`), the
 * token's claims and the defaults; reads TLS files.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<HatchetConfigShape, HatchetConfigError> => internal.make(options)

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<HatchetConfig, HatchetConfigError> => Layer.effect(HatchetConfig, make(options))

/**
 * Options taken from `Config`s (any provider), over the environment as in `layer`.
 *
 * @example
 * ```ts
 * import * as Config from "effect/Config"
 * import { HatchetConfig } from "@effect-hatchet/sdk"
 *
 * const ConfigLive = HatchetConfig.layerConfig({ token: Config.redacted("MY_HATCHET_TOKEN"), namespace: Config.succeed("staging") })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<HatchetConfig, HatchetConfigError> =>
  Layer.effect(
    HatchetConfig,
    internal.unwrapOptions(config).pipe(Effect.flatMap(make))
  )

/**
 * Effect's log level for a Hatchet log level (`OFF` is `None`).
 *
 * @since 0.1.0
 * @category utils
 */
export const effectLogLevel = (level: LogLevel): EffectLogLevel.LogLevel => {
  switch (level) {
    case "OFF":
      return EffectLogLevel.None
    case "DEBUG":
      return EffectLogLevel.Debug
    case "INFO":
      return EffectLogLevel.Info
    case "WARN":
      return EffectLogLevel.Warning
    case "ERROR":
      return EffectLogLevel.Error
  }
}
