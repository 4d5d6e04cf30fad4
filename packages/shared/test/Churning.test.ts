/**
 * `ChurningMap` / `ChurningSet` (Churning.ts): through many additions and removals (each starting
 * over as a copy more than once) they hold what a `Map` / `Set` would, in its insertion order.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChurningMap, ChurningSet } from "../src/Churning.js"

describe("ChurningMap", () => {
  it("holds what a Map holds, in its order, through renewals", () => {
    const churning = new ChurningMap<string, number>()
    const plain = new Map<string, number>()
    for (let i = 0; i < 1_000; i++) {
      churning.set(`k${i}`, i)
      plain.set(`k${i}`, i)
      if (i % 3 !== 0) {
        expect(churning.delete(`k${i - 1}`)).toBe(plain.delete(`k${i - 1}`))
      }
    }
    expect(churning.delete("absent")).toBe(false)
    expect(churning.size).toBe(plain.size)
    expect([...churning]).toEqual([...plain])
    expect([...churning.values()]).toEqual([...plain.values()])
    expect(churning.get("k999")).toBe(999)
    expect(churning.has("k1")).toBe(false)
  })
})

describe("ChurningSet", () => {
  it("holds what a Set holds, in its order, through renewals", () => {
    const churning = new ChurningSet<number>()
    const plain = new Set<number>()
    for (let i = 0; i < 1_000; i++) {
      churning.add(i)
      plain.add(i)
      if (i % 4 !== 0) expect(churning.delete(i - 1)).toBe(plain.delete(i - 1))
    }
    expect(churning.delete(-1)).toBe(false)
    expect(churning.size).toBe(plain.size)
    expect([...churning]).toEqual([...plain])
    expect(churning.has(999)).toBe(true)
  })
})
