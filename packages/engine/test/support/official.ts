/**
 * The official `@hatchet-dev/typescript-sdk` against an in-process engine: clients configured by
 * options (never by the process environment), workers that do not exit the process and whose
 * signal handlers are removed when they stop.
 */
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"
import type { EngineService } from "../../src/Engine.js"

export type Client = HatchetClient

const noop = () => undefined
/** The SDK's own logs are noise in test output; set HATCHET_SDK_TEST_LOGS=1 to see them. */
const silent = { debug: noop, info: noop, green: noop, warn: noop, error: noop, util: noop }

/** A client of `engine` for the given token (the engine's own by default). */
export const client = (engine: EngineService, token: Redacted.Redacted<string> = engine.token): Client =>
  HatchetClient.init(
    {
      token: Redacted.value(token),
      host_port: engine.grpcAddress,
      api_url: engine.apiUrl,
      tls_config: { tls_strategy: "none" },
      log_level: "ERROR",
      ...(process.env.HATCHET_SDK_TEST_LOGS === "1" ? {} : { logger: () => silent }),
      // fail fast on errors instead of retrying for ~25 s
      retrier: { maxAttempts: 1, initialInterval: 0.01, maxJitter: 1 }
    } as Parameters<typeof HatchetClient.init>[0]
  )

/** The options of an official worker (`hatchet.worker(name, options)`). */
export type WorkerOptions = Exclude<Parameters<Client["worker"]>[1], number | undefined>
type Worker = Awaited<ReturnType<Client["worker"]>>

const signals = ["SIGTERM", "SIGINT"] as const

/** Creates an official worker (`handleKill: false`); returns it with the signal handlers it added. */
const createWorker = async (hatchet: Client, name: string, options: WorkerOptions) => {
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]))
  const added = () => signals.flatMap((s) => process.listeners(s).filter((l) => !before.get(s)!.has(l)).map((l) => [s, l] as const))
  try {
    const w = await hatchet.worker(name, { ...options, handleKill: false })
    return { worker: w, added: added() }
  } catch (error) {
    for (const [signal, listener] of added()) process.removeListener(signal, listener as () => void)
    throw error
  }
}

/**
 * The error an official worker's creation fails with (registering its workflows happens there),
 * or a failing effect when it is created.
 */
export const workerCreationError = (hatchet: Client, name: string, options: WorkerOptions) =>
  Effect.flatMap(
    Effect.promise(() => createWorker(hatchet, name, options).then(() => undefined, (error: unknown) => error)),
    (error) => (error === undefined ? Effect.dieMessage("the worker was created") : Effect.succeed(error as Error))
  )

/**
 * Starts an official worker for the scope: registered, listening and heartbeating; stopped (with
 * `handleKill: false`, so no `process.exit`) and its process signal handlers removed on release.
 */
export const worker = (hatchet: Client, name: string, options: WorkerOptions) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const { added, worker: w } = await createWorker(hatchet, name, options)
      const running = w.start().catch(() => undefined)
      await w.waitUntilReady(10_000)
      return { worker: w, added, running }
    }),
    ({ added, running, worker: w }) =>
      Effect.promise(async () => {
        await w.stop().catch(() => undefined)
        await running
        for (const [signal, listener] of added) process.removeListener(signal, listener as () => void)
      })
  ).pipe(Effect.map(({ worker: w }) => w as Worker))

export { eventually } from "./grpc.js"

/** The REST error an official client call fails with (axios' `response`): its status and body; undefined if it succeeds. */
export const restError = (call: () => Promise<unknown>) =>
  Effect.promise(() =>
    call().then(
      () => undefined,
      (error: { readonly response?: { readonly status: number; readonly data: unknown } }) => ({
        status: error.response?.status,
        data: error.response?.data
      })
    )
  )

/** A run's additional metadata as `runs.list` lists it (typed `object` by the SDK). */
export const runMetadata = (row: { readonly additionalMetadata?: object }) => (row.additionalMetadata ?? {}) as Record<string, unknown>

/** A unique name per test, so several tests can share one engine. */
let counter = 0
export const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`

/**
 * Imports one of the official SDK's shipped examples (`v1/examples/<path>`) with the process
 * environment pointing at `engine`: the examples build their client from it when first imported,
 * so a test file imports them after its engine is up (vitest isolates each file's modules).
 */
export const importExample = <A>(engine: EngineService, path: string) =>
  Effect.promise(async () => {
    Object.assign(process.env, engine.env, { HATCHET_CLIENT_LOG_LEVEL: "ERROR" })
    return (await import(`@hatchet-dev/typescript-sdk/v1/examples/${path}`)) as A
  })
