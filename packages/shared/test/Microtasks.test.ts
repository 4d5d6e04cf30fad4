/**
 * `whenQuiet` (Microtasks.ts): done once a run of the microtask queue changed nothing, within the
 * same turn of the event loop; a burst that goes on over later runs (a tick each, as grpc-js
 * delivers a read's messages) is followed to its end; cancelled, it never calls back.
 */
import { describe, expect, it } from "@effect/vitest"
import { whenQuiet } from "../src/Microtasks.js"

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("whenQuiet", () => {
  it("calls back within the turn when nothing changes", async () => {
    const log: Array<string> = []
    whenQuiet(() => 0, () => log.push("done"))
    setImmediate(() => log.push("check phase"))
    await nextTurn()
    expect(log).toEqual(["done", "check phase"])
  })

  it("follows a burst delivered one item per tick, each handled in microtasks, to its end", async () => {
    let count = 0
    const log: Array<string> = []
    const deliver = (i: number): void =>
      process.nextTick(() =>
        Promise.resolve().then(() => Promise.resolve()).then(() => {
          count++
          log.push(`item ${i}`)
          if (i < 5) deliver(i + 1)
        })
      )
    deliver(1)
    whenQuiet(() => count, () => log.push(`done at ${count}`))
    await nextTurn()
    expect(log).toEqual(["item 1", "item 2", "item 3", "item 4", "item 5", "done at 5"])
  })

  it("never calls back once cancelled", async () => {
    const log: Array<string> = []
    const cancel = whenQuiet(() => 0, () => log.push("done"))
    cancel()
    await nextTurn()
    await nextTurn()
    expect(log).toEqual([])
  })
})
