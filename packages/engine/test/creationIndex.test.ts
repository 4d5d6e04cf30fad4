/**
 * `CreationIndex` against a plain array of what it should hold: items added in creation order,
 * removed oldest first (retention) or out of order (a replayed task's previous incarnation), read
 * by `size`, `all`, `oldest` and a range's pages, through many in-place compactions of its array;
 * and the slot helpers it shares with retention (`putAt`, `compactSlots`).
 */
import { describe, expect, it } from "@effect/vitest"
import { compactSlots, CreationIndex, putAt, shrinkAbove } from "../src/internal/domain/creationIndex.js"

interface Item {
  readonly n: number
  readonly createdAt: number
}

/** A small deterministic generator (the same sequence on every run). */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

const expectSame = (index: CreationIndex<Item>, model: ReadonlyArray<Item>) => {
  expect(index.size).toBe(model.length)
  expect(index.oldest()).toBe(model[0])
  expect(index.all()).toEqual(model)
  const since = model[Math.floor(model.length / 3)]?.createdAt
  const range = index.range(since, undefined)
  const inRange = model.filter((item) => since === undefined || item.createdAt >= since)
  expect(range.count).toBe(inRange.length)
  expect(range.page(0, 50)).toEqual(inRange.slice().reverse().slice(0, 50))
  expect(range.page(7, 5)).toEqual(inRange.slice().reverse().slice(7, 12))
}

describe("CreationIndex", () => {
  it("holds what a plain array holds through adds, oldest-first and out-of-order removals and compactions", () => {
    const next = random(7)
    const index = new CreationIndex<Item>()
    const model: Array<Item> = []
    let n = 0
    for (let round = 0; round < 40; round++) {
      // a burst of new items, then retention's oldest-first removals down to a bound, with a few
      // removals from the middle (kept aside until the next read, or enough to compact)
      const adds = 200 + Math.floor(next() * 400)
      for (let i = 0; i < adds; i++) {
        const item = { n: n++, createdAt: 1_000 + n }
        index.add(item)
        model.push(item)
      }
      const middle = Math.floor(next() * 80)
      for (let i = 0; i < middle && model.length > 2; i++) {
        const at = 1 + Math.floor(next() * (model.length - 1))
        index.remove(model[at]!)
        model.splice(at, 1)
      }
      while (model.length > 1_500) index.remove(model.shift()!)
      if (round % 5 === 0) expectSame(index, model)
    }
    expectSame(index, model)
    while (model.length > 0) index.remove(model.shift()!)
    expectSame(index, model)
    const last = { n: n++, createdAt: 1_000 + n }
    index.add(last)
    expectSame(index, [last])
  })

  it("keeps a clock set back: an item created before the last one is still found by its time", () => {
    const index = new CreationIndex<Item>()
    const items = [5, 9, 7, 12].map((createdAt, n) => ({ n, createdAt }))
    for (const item of items) index.add(item)
    expect(index.range(7, 9).page(0, 10).map((item) => item.createdAt).sort()).toEqual([7, 9])
    index.remove(items[2]!)
    index.remove(items[0]!)
    expect(index.all()).toEqual([items[1], items[3]])
    expect(index.range(undefined, undefined).page(0, 10)).toEqual([items[3], items[1]])
  })
})

describe("slot arrays", () => {
  it("putAt reuses a slot the array has and grows it otherwise; compactSlots moves the live slots to the front in place", () => {
    const items: Array<string | undefined> = []
    let end = 0
    for (const item of ["a", "b", "c", "d", "e"]) end = putAt(items, end, item)
    expect(items).toEqual(["a", "b", "c", "d", "e"])
    end = compactSlots(items, 3, end, undefined)
    expect(end).toBe(2)
    expect(items).toEqual(["d", "e", undefined, undefined, undefined])
    end = putAt(items, end, "f")
    expect(items).toEqual(["d", "e", "f", undefined, undefined])
    const times = [1.5, 2.5, 3.5]
    expect(compactSlots(times, 1, 3, 0)).toBe(2)
    expect(times).toEqual([2.5, 3.5, 0])
  })

  it("a large slot array left mostly empty is cut to twice what it keeps", () => {
    const items = Array.from({ length: shrinkAbove * 2 }, (_, i) => i)
    const head = shrinkAbove * 2 - 40_000
    expect(compactSlots(items, head, items.length, 0)).toBe(40_000)
    expect(items.length).toBe(shrinkAbove * 2)
    const few = Array.from({ length: shrinkAbove * 2 }, (_, i) => i)
    expect(compactSlots(few, few.length - 100, few.length, 0)).toBe(100)
    expect(few.length).toBe(shrinkAbove / 4)
    expect(few.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => shrinkAbove * 2 - 100 + i))
    expect(few.slice(100).every((slot) => slot === 0)).toBe(true)
  })
})
