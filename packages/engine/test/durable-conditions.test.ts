/**
 * `Conditions`, the engine's decision on one condition of a durable wait for engine-free test
 * doubles: the same key, the condition's scope, and its CEL expression over the payload
 * (`input`), as the engine's matches decide it; a sleep's Go duration as the engine parses it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Conditions } from "../src/index.js"

describe("Conditions", () => {
  it("a user event meets a condition of its key; any scope when the condition has none", () => {
    const condition = { eventKey: "order:paid", expression: "" }
    expect(Conditions.userEventMeets(condition, { key: "order:paid", payload: {} })).toBe(true)
    expect(Conditions.userEventMeets(condition, { key: "order:paid", payload: {}, scope: "acme" })).toBe(true)
    expect(Conditions.userEventMeets(condition, { key: "order:refunded", payload: {} })).toBe(false)
  })

  it("a scoped condition takes only events of its scope", () => {
    const condition = { eventKey: "order:paid", scope: "acme", expression: "" }
    expect(Conditions.userEventMeets(condition, { key: "order:paid", payload: {}, scope: "acme" })).toBe(true)
    expect(Conditions.userEventMeets(condition, { key: "order:paid", payload: {}, scope: "other" })).toBe(false)
    expect(Conditions.userEventMeets(condition, { key: "order:paid", payload: {} })).toBe(false)
  })

  it("the expression is CEL over the payload; one that fails, gives no boolean or does not compile does not hold", () => {
    const meets = (expression: string, payload: unknown) => Conditions.userEventMeets({ eventKey: "k", expression }, { key: "k", payload })
    expect(meets("input.amount < 100", { amount: 42 })).toBe(true)
    expect(meets("input.amount < 100", { amount: 420 })).toBe(false)
    expect(meets("input.missing == 1", { amount: 1 })).toBe(false)
    expect(meets("input.amount", { amount: 1 })).toBe(false)
    expect(meets("input.amount <", { amount: 1 })).toBe(false)
    // a payload that is not an object meets nothing, as upstream
    expect(meets("", [1, 2])).toBe(false)
    expect(meets("", "text")).toBe(false)
  })

  it("a sleep lasts its Go duration; one the engine refuses has none", () => {
    expect(Conditions.sleepMillis("1h30m")).toBe(5_400_000)
    expect(Conditions.sleepMillis("168h")).toBe(604_800_000)
    expect(Conditions.sleepMillis("1.5s")).toBe(1_500)
    expect(Conditions.sleepMillis("3 days")).toBeUndefined()
  })
})
