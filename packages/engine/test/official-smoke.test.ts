import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as Official from "./support/official.js"

layer(Engine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK smoke", (it) => {
  it.scoped("runs a simple task", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("simple")
      const simple = hatchet.task({ name, fn: async (input: { message: string }) => ({ upper: input.message.toUpperCase() }) })
      yield* Official.worker(hatchet, `${name}-worker`, { workflows: [simple], slots: 10 })
      const result = yield* Effect.promise(() => simple.run({ message: "hello" }))
      expect(result).toEqual({ upper: "HELLO" })
    }), 30_000)
})
