/**
 * A worker's settings with their defaults applied, checked before anything starts.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { HatchetConfigShape } from "../HatchetConfig.js"
import type { WorkerSettings } from "../Worker.js"
import { applyNamespace } from "./naming.js"
import { DEFAULT_MAX_MESSAGE_BYTES } from "./payload.js"
import { checkWorkerOptions } from "./registration.js"
import { WorkerError } from "./workerError.js"

/** `WorkerSettings` with every default applied (durations decoded). */
export interface ResolvedSettings {
  readonly namespace: string
  /** The registered (namespaced) worker name. */
  readonly workerName: string
  readonly maxMessageBytes: number
  readonly slots: number
  readonly durableSlots: number
  readonly labels: Readonly<Record<string, string | number>>
  readonly grace: Duration.Duration
  readonly heartbeatInterval: Duration.Duration
  readonly heartbeatTimeout: Duration.Duration
  readonly maxHeartbeatFailures: number
  readonly initialDelay: Duration.Duration
  readonly maxDelay: Duration.Duration
  readonly resetAfter: Duration.Duration
  readonly eventLoopBlockThreshold: Duration.Duration
  readonly logBufferSize: number
}

/**
 * Applies the defaults (`HatchetConfig`'s namespace and send limit when given) and checks the
 * settings; fails with `InvalidOptions` naming every issue.
 */
export const resolve = (
  options: WorkerSettings,
  config: Option.Option<HatchetConfigShape>
): Effect.Effect<ResolvedSettings, WorkerError> =>
  Effect.suspend(() => {
    const namespace = options.namespace ?? Option.match(config, { onNone: () => "", onSome: (c) => c.namespace })
    const maxMessageBytes = options.maxMessageBytes ??
      Option.match(config, { onNone: () => DEFAULT_MAX_MESSAGE_BYTES, onSome: (c) => c.grpcMaxSendMessageLength })
    const workerName = applyNamespace(options.name, namespace)
    const slots = options.slots ?? 100
    const labels = options.labels ?? {}
    const heartbeatInterval = Duration.decode(options.heartbeatInterval ?? "4 seconds")
    const eventLoopBlockThreshold = Duration.decode(options.eventLoopBlockThreshold ?? "5 seconds")
    const issues = checkWorkerOptions({ name: workerName, slots, labels, eventLoopBlockThreshold })
    if (issues.length > 0) {
      return Effect.fail(
        new WorkerError({
          reason: "InvalidOptions",
          message: `Invalid worker options:\n${issues.map((i) => `  - ${i}`).join("\n")}`
        })
      )
    }
    return Effect.succeed({
      namespace,
      workerName,
      maxMessageBytes,
      slots,
      durableSlots: options.durableSlots ?? 1000,
      labels,
      grace: Duration.decode(options.shutdownGracePeriod ?? "30 seconds"),
      heartbeatInterval,
      heartbeatTimeout: Duration.decode(options.heartbeatTimeout ?? heartbeatInterval),
      maxHeartbeatFailures: options.maxHeartbeatFailures ?? 3,
      initialDelay: Duration.decode(options.reconnect?.initialDelay ?? "250 millis"),
      maxDelay: Duration.decode(options.reconnect?.maxDelay ?? "10 seconds"),
      resetAfter: Duration.decode(options.reconnect?.resetAfter ?? "30 seconds"),
      eventLoopBlockThreshold,
      logBufferSize: options.logBufferSize ?? 10_000
    })
  })
