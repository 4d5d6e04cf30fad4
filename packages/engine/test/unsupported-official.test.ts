/**
 * The official TypeScript SDK over loopback: a workflow using a feature the engine does not
 * implement fails the worker's start (its registration) with the engine's UNIMPLEMENTED message,
 * and the engine keeps serving plain workflows. (What the SDK sends for every other feature is
 * checked in process in unsupported.test.ts.)
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: unsupported features", (it) => {
  // the SDK retries a failed registration 8 times (about 13 s) before the worker's creation fails
  it.scoped(
    "a cron trigger in a time zone other than UTC fails the worker's registration with UNIMPLEMENTED; plain workflows still run",
    () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const hatchet = Official.client(engine)
        const zonedName = Official.unique("zoned")
        const zoned = hatchet.workflow({ name: zonedName, on: { cron: "CRON_TZ=Europe/Paris 0 9 * * *" } })
        zoned.task({ name: "z", fn: async () => {} })
        const zonedError = yield* Official.workerCreationError(hatchet, `${zonedName}-w`, { workflows: [zoned] })
        expect(zonedError.message).toBe(
          `Could not register workflow: /v1.AdminService/PutWorkflow UNIMPLEMENTED: workflow '${zonedName}' uses a feature ` +
            "the local engine does not support yet: the cron trigger 'CRON_TZ=Europe/Paris 0 9 * * *' with a time zone other than UTC (cron_triggers)"
        )

        const plainName = Official.unique("plain")
        const plain = hatchet.task({ name: plainName, fn: async (input: { n: number }) => ({ doubled: input.n * 2 }) })
        yield* Official.worker(hatchet, `${plainName}-w`, { workflows: [plain] })
        expect(yield* Effect.promise(() => plain.run({ n: 21 }))).toEqual({ doubled: 42 })
      }),
    60_000
  )
})
