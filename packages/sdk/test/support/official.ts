/**
 * The official `@hatchet-dev/typescript-sdk` (pinned at the workspace root) against the local
 * engine, for interop tests: a client configured by options only, and a worker for the test's
 * scope (no `process.exit`, its signal handlers removed when it stops).
 */
import type { Engine } from "@effect-hatchet/engine"
import { HatchetClient } from "@hatchet-dev/typescript-sdk/v1/index.js"
import { Effect, Redacted } from "effect"

export const officialClient = (engine: Engine.EngineService): HatchetClient =>
  HatchetClient.init(
    {
      token: Redacted.value(engine.token),
      host_port: engine.grpcAddress,
      api_url: engine.apiUrl,
      tls_config: { tls_strategy: "none" },
      log_level: "OFF",
      retrier: { maxAttempts: 1, initialInterval: 0.01, maxJitter: 1 }
    } as Parameters<typeof HatchetClient.init>[0]
  )

type Workflows = NonNullable<Exclude<Parameters<HatchetClient["worker"]>[1], number | undefined>["workflows"]>

const signals = ["SIGTERM", "SIGINT"] as const

/** An official worker running `workflows` until the scope closes. */
export const officialWorker = (hatchet: HatchetClient, name: string, workflows: Workflows) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]))
      const worker = await hatchet.worker(name, { workflows, slots: 20, handleKill: false })
      const added = signals.flatMap((s) => process.listeners(s).filter((l) => !before.get(s)!.has(l)).map((l) => [s, l] as const))
      const running = worker.start().catch(() => undefined)
      await worker.waitUntilReady(10_000)
      return { worker, added, running }
    }),
    ({ added, running, worker }) =>
      Effect.promise(async () => {
        await worker.stop().catch(() => undefined)
        await running
        for (const [signal, listener] of added) process.removeListener(signal, listener as () => void)
      })
  )
