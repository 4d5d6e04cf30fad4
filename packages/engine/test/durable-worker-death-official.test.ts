/**
 * Worker death, end to end: an official durable worker in its own process
 * (`support/durable-worker-process.mjs`) memoizes now(), charges once through a child run and
 * waits for an event; it is killed with SIGKILL mid-wait. The engine keeps the attempt on the dead
 * worker until its clock (the test's `TestClock`) passes the 30 s liveness window, then re-queues
 * it; a second worker process replays the task from its log: now() and the child run are answered
 * from the log, so the charge ran once. Every execution is a line in a file the processes share.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { type ChildProcess, fork } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Engine from "../src/Engine.js"
import { EngineCore, type EngineCoreService } from "../src/internal/core.js"
import type { Task } from "../src/internal/domain/model.js"
import { eventsOf } from "../src/internal/domain/taskEvents.js"
import { deadAfterMs } from "../src/internal/domain/workers.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

const script = fileURLToPath(new URL("./support/durable-worker-process.mjs", import.meta.url))

interface Line {
  readonly worker: string
  readonly kind: "charge" | "invocation" | "charged"
  readonly invocationCount?: number
  readonly started?: string
}

/** A worker process for the scope, its SDK loaded but its worker not started; killed on release. */
const loadWorker = (engine: Engine.EngineService, name: string, countFile: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess>((resume) => {
      const child = fork(script, [], {
        env: { ...process.env, ...engine.env, COUNT_FILE: countFile, WORKER_NAME: name },
        stdio: ["ignore", "inherit", "inherit", "ipc"]
      })
      child.once("message", () => resume(Effect.succeed(child)))
      child.once("exit", (code, signal) => resume(Effect.dieMessage(`worker ${name} exited early: ${code ?? signal}`)))
      return Effect.sync(() => child.kill("SIGKILL"))
    }),
    (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  )

/** Starts a loaded worker process: registered and listening. */
const startWorker = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    child.once("message", () => resume(Effect.void))
    child.send("start")
  })

/** Kills a process with SIGKILL and waits until it is gone. */
const kill = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** The flow's task, once invocation `invocation` has reached its wait (node 3) and waits. */
const waitingIn = (core: EngineCoreService, invocation: number): Task | undefined =>
  [...core.state.tasksByExternalId.values()].find((task) =>
    task.run.workflow.name === "worker-death-flow" &&
    task.durable?.invocationCount === invocation &&
    task.durable.latestNodeId === 3 &&
    task.state._tag === "Assigned" &&
    [...task.durable.entries.values()].some((e) => e.kind === "WAIT_FOR" && e.nodeId === 3 && !e.satisfied)
  )

type FlowOutput = {
  "worker-death-flow": { started: string; charged: { charged: number }; approval: { ok: boolean } }
}

/** The engine on the tests' TestClock (set to the wall clock), liveness by heartbeat as upstream. */
const EngineLive = Layer.unwrapEffect(Effect.as(TestClock.setTime(Date.now()), InternalEngine.layer({})))

layer(EngineLive, { timeout: 60_000 })("official SDK: a durable worker killed mid-wait", (it) => {
  it.scoped("the task finishes on another worker process from its log; its memoized steps do not run again", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const core = (yield* EngineCore) as EngineCoreService
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "worker-death-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const countFile = join(dir, "executions.jsonl")
      writeFileSync(countFile, "")
      const lines = (): Array<Line> => readFileSync(countFile, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Line)
      const hatchet = Official.client(engine)

      // both processes load the SDK at once; b starts only after a is dead
      const [a, b] = yield* Effect.all([loadWorker(engine, "death-a", countFile), loadWorker(engine, "death-b", countFile)], {
        concurrency: 2
      })
      yield* startWorker(a)
      const ref = yield* Effect.promise(() => hatchet.runNoWait<{ amount: number }, FlowOutput>("worker-death-flow", { amount: 42 }))
      const task = yield* Official.eventually(() => waitingIn(core, 1), 20_000)
      const workerA = task.state._tag === "Assigned" ? task.state.worker!.id : undefined
      expect(lines().filter((l) => l.kind === "charge")).toHaveLength(1)

      yield* kill(a)
      // its stream closed, but the attempt stays with the dead worker until the liveness window passes
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200)))
      expect(task.state).toMatchObject({ _tag: "Assigned" })

      yield* TestClock.adjust(deadAfterMs + 1_000)
      // past the window the attempt is re-queued (no live worker can take it yet)
      expect(task.state._tag).toBe("Queued")
      expect(eventsOf(task).map((e) => e.eventType)).toContain("REASSIGNED")
      yield* startWorker(b)
      const resumed = yield* Official.eventually(() => waitingIn(core, 2), 20_000)
      expect(resumed).toBe(task)
      expect(task.state._tag === "Assigned" ? task.state.worker!.id : undefined).not.toBe(workerA)

      yield* Effect.promise(() => hatchet.events.push("worker-death:approve", { ok: true }))
      // a run by name reports its task's output under the task's name
      const output = (yield* Effect.promise(() => ref.output))["worker-death-flow"]
      expect(output.charged).toEqual({ charged: 42 })
      expect(output.approval).toEqual({ ok: true })

      const done = lines()
      // the child run (the charge) ran once, on the first worker
      expect(done.filter((l) => l.kind === "charge").map((l) => l.worker)).toEqual(["death-a"])
      // the body ran twice, once per invocation, each on its own worker, with one memoized now()
      const invocations = done.filter((l) => l.kind === "invocation")
      expect(invocations.map((l) => [l.worker, l.invocationCount])).toEqual([["death-a", 1], ["death-b", 2]])
      expect(new Set(invocations.map((l) => l.started))).toEqual(new Set([output.started]))
      // the replay got the child's result from the log
      expect(done.filter((l) => l.kind === "charged").map((l) => l.worker)).toEqual(["death-a", "death-b"])
    }), 45_000)
})
