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
  it.scoped("a batch task fails the worker's registration with UNIMPLEMENTED; plain workflows still run", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const batchName = Official.unique("batch")
      const batch = hatchet.workflow({ name: batchName })
      batch.batchTask({ name: "b", batch: { maxSize: 10 }, fn: async () => {} })
      const batchError = yield* Official.workerCreationError(hatchet, `${batchName}-w`, { workflows: [batch] })
      expect(batchError.message).toBe(
        `Could not register workflow: /v1.AdminService/PutWorkflow UNIMPLEMENTED: workflow '${batchName}' uses a feature ` +
          "the local engine does not support yet: task 'b': batch execution (batch)"
      )

      const plainName = Official.unique("plain")
      const plain = hatchet.task({ name: plainName, fn: async (input: { n: number }) => ({ doubled: input.n * 2 }) })
      yield* Official.worker(hatchet, `${plainName}-w`, { workflows: [plain] })
      expect(yield* Effect.promise(() => plain.run({ n: 21 }))).toEqual({ doubled: 42 })
    }), 60_000)
})
