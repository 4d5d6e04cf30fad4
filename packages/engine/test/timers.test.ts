/**
 * The engine's timers as plain data: the queue (one timer per kind and owner, cancellable, fired
 * in deadline order) and, in process under TestClock, that no timer outlives the state it
 * guards: a schedule timeout ends at assignment, an execution timeout with the attempt, and a
 * finished task owns none.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Admin from "../src/internal/domain/admin.js"
import { taskStatus } from "../src/internal/domain/model.js"
import { type Timer, TimerQueue } from "../src/internal/domain/timers.js"
import * as Workers from "../src/internal/domain/workers.js"
import { makeHarnessWith, task, tenantId } from "./support/harness.js"

const timeout = (id: string, at: number, token = 1): Timer => ({ kind: "ScheduleTimeout", id, token, at })

const drain = (queue: TimerQueue, now: number) => {
  const fired: Array<Timer> = []
  queue.runDue(now, (timer) => fired.push(timer))
  return fired
}

describe("TimerQueue", () => {
  it("fires due timers in deadline order, then in the order they were set", () => {
    const queue = new TimerQueue()
    queue.set(timeout("c", 30))
    queue.set(timeout("a", 10))
    queue.set({ kind: "ExecutionTimeout", id: "a", token: 0, at: 10 })
    queue.set(timeout("b", 20))
    expect(drain(queue, 20).map((t) => [t.kind, t.id])).toEqual([
      ["ScheduleTimeout", "a"],
      ["ExecutionTimeout", "a"],
      ["ScheduleTimeout", "b"]
    ])
    expect(queue.size).toBe(1)
    expect(queue.next()).toBe(30)
  })

  it("a timer set for the next turn while timers fire waits for the next pass; set outside one it fires", () => {
    const queue = new TimerQueue()
    const retention = (id: string, at: number): Timer => ({ kind: "Retention", id, at })
    queue.set(retention("outside", 10), true)
    const fired: Array<string> = []
    queue.runDue(10, (timer) => {
      fired.push(timer.id)
      if (timer.id === "outside") {
        queue.set(retention("next", 10), true)
        queue.set(retention("same", 10))
      }
    })
    expect(fired).toEqual(["outside"])
    expect(queue.next()).toBe(10)
    expect(drain(queue, 10).map((t) => t.id)).toEqual(["next", "same"])
    expect(queue.size).toBe(0)
  })

  it("keeps one timer per kind and owner: setting again replaces it, cancel removes it", () => {
    const queue = new TimerQueue()
    queue.set(timeout("t", 100, 1))
    queue.set(timeout("t", 50, 2))
    expect(queue.size).toBe(1)
    expect(queue.get("ScheduleTimeout", "t")).toEqual(timeout("t", 50, 2))
    queue.set(timeout("t", 500, 3))
    expect(drain(queue, 499)).toEqual([])
    queue.cancel("ScheduleTimeout", "t")
    queue.cancel("ScheduleTimeout", "never set")
    expect(queue.size).toBe(0)
    expect(drain(queue, 10_000)).toEqual([])
  })

  it("stays a heap through any mix of sets, replacements and cancels", () => {
    const queue = new TimerQueue()
    const model = new Map<string, number>()
    let seed = 7
    const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n
    for (let i = 0; i < 5_000; i++) {
      const id = `t${random(300)}`
      if (random(4) === 0) {
        queue.cancel("ScheduleTimeout", id)
        model.delete(id)
      } else {
        const at = random(10_000)
        queue.set(timeout(id, at))
        model.set(id, at)
      }
    }
    expect(queue.size).toBe(model.size)
    const fired = drain(queue, 10_000)
    expect(fired.map((t) => t.at)).toEqual([...model.values()].sort((a, b) => a - b))
    expect(new Map(fired.map((t) => [t.id, t.at]))).toEqual(model)
  })

  it("tells when an earlier deadline arrives", () => {
    const queue = new TimerQueue()
    let woken = 0
    queue.onEarlier = () => woken++
    queue.set(timeout("a", 100))
    queue.set(timeout("b", 200))
    queue.set(timeout("c", 50))
    expect(woken).toBe(2)
  })

  it("forgets cancelled timers: not pending, not the earliest, never fired, also once many are cancelled", () => {
    const queue = new TimerQueue()
    let woken = 0
    queue.onEarlier = () => woken++
    for (let i = 0; i < 3_000; i++) queue.set(timeout(`t${i}`, 1_000 + i))
    // the earliest ones cancelled (a queue's oldest tasks, assigned): the next deadline is the first left
    for (let i = 0; i < 1_000; i++) queue.cancel("ScheduleTimeout", `t${i}`)
    expect(queue.size).toBe(2_000)
    expect(queue.get("ScheduleTimeout", "t0")).toBeUndefined()
    // earlier than every pending deadline, though not than the cancelled ones
    woken = 0
    queue.set(timeout("late", 1_500))
    expect(woken).toBe(1)
    queue.cancel("ScheduleTimeout", "late")
    expect(queue.next()).toBe(2_000)
    // most of them cancelled
    for (let i = 1_000; i < 2_500; i++) queue.cancel("ScheduleTimeout", `t${i}`)
    queue.cancel("ScheduleTimeout", "t2999")
    expect(queue.size).toBe(499)
    expect(queue.next()).toBe(3_500)
    const fired = drain(queue, 10_000)
    expect(fired.map((t) => t.id)).toEqual(Array.from({ length: 499 }, (_, i) => `t${2_500 + i}`))
    expect(queue.size).toBe(0)
    expect(queue.next()).toBeUndefined()
  })
})

describe("no timer outlives its task", () => {
  it.scoped("assignment ends the schedule timeout; the end of the attempt ends its execution timeout", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("t", [task("a", { scheduleTimeout: "5m", timeout: "60s" })])
      const runId = yield* h.trigger("t")
      // queued, no worker yet: its schedule timeout is pending
      expect(h.state.timers.ownedBy(runId).map((t) => t.kind)).toEqual(["ScheduleTimeout"])
      const w = yield* h.worker(["t:a"])
      expect(h.state.timers.ownedBy(runId).map((t) => t.kind)).toEqual(["ExecutionTimeout"])
      yield* h.complete(w.starts()[0]!, "{}")
      expect(h.state.timers.ownedBy(runId)).toEqual([])
      expect(h.state.timers.size).toBe(0)
    }))

  it.scoped("a thousand runs leave no timer behind; a refresh moves the execution timeout", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("many", [task("a", { timeout: "60s" })])
      const w = yield* h.worker(["many:a"], 1_000)
      for (let i = 0; i < 1_000; i++) yield* h.trigger("many")
      expect(h.state.timers.size).toBe(1_000)
      const [first, ...rest] = w.starts()
      yield* h.advance(10_000)
      const refreshed = yield* h.runEither((state, now) => Workers.refreshTimeout(state, tenantId, first!.taskRunExternalId, "30s", now))
      expect(refreshed).toBe(90_000)
      expect(h.state.timers.get("ExecutionTimeout", first!.taskRunExternalId)?.at).toBe(90_000)
      for (const start of rest) yield* h.complete(start, "{}")
      yield* h.advance(70_000)
      expect(taskStatus(yield* h.taskOf(first!.workflowRunId, "a"))).toBe("RUNNING")
      yield* h.complete(first!, "{}")
      expect(h.state.timers.size).toBe(0)
    }))

  it.scoped("a cancelled task in its retry backoff and a timed-out one own no timer", () =>
    Effect.gen(function*() {
      const h = yield* makeHarnessWith({ workerLiveness: "connection" })
      yield* h.putWorkflow("r", [task("a", { retries: 3, backoffFactor: 2, backoffMaxSeconds: 60 })])
      yield* h.putWorkflow("slow", [task("a", { timeout: "1s", retries: 0 })])
      const w = yield* h.worker(["r:a", "slow:a"])
      const retried = yield* h.trigger("r")
      yield* h.fail(w.starts()[0]!, "boom")
      expect(h.state.timers.ownedBy(retried).map((t) => t.kind)).toEqual(["RetryBackoff"])
      const slow = yield* h.trigger("slow")
      expect(h.state.timers.ownedBy(slow).map((t) => t.kind)).toEqual(["ExecutionTimeout"])
      yield* h.advance(1_000)
      expect(taskStatus(yield* h.taskOf(slow, "a"))).toBe("FAILED")
      expect(h.state.timers.ownedBy(slow)).toEqual([])
      yield* h.runEither((state, now) => Admin.cancelTasks(state, tenantId, { externalIds: [retried] }, now))
      expect(taskStatus(yield* h.taskOf(retried, "a"))).toBe("CANCELLED")
      expect(h.state.timers.ownedBy(retried)).toEqual([])
    }))
})
