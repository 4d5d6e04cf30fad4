import { Dispatcher } from "@effect-hatchet/proto"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

describe("workspace", () => {
  it.effect("resolves the generated proto package from source", () =>
    Effect.sync(() => {
      expect(Dispatcher.DispatcherDefinition.fullName).toBe("Dispatcher")
    }))
})
