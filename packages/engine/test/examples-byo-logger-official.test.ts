/**
 * The official SDK's shipped `logging/byo-logger` example (byte for byte `logger/byo-logger`),
 * unchanged, run as its own script in a child process (support/exampleProcess) against this
 * engine. What its code says: a client initialized with `log_level: 'DEBUG'` and a logger factory
 * wrapping a `pino` logger; `byo-logger-worker` runs the task `byo-logger-example`, which writes
 * `log message 0` to `log message 4` through pino itself (not the task's context logger, so the
 * engine stores no log lines for it) and returns `{ step1: 'completed step run' }`. Pino writes
 * one JSON line per entry to stdout: the five lines at pino's `info` level (30), in order.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as ExampleProcess from "./support/exampleProcess.js"
import * as Examples from "./support/examples.js"
import * as Official from "./support/official.js"

layer(Examples.engineLive, { timeout: 60_000 })("official SDK example: logging/byo-logger", (it) => {
  it.scoped("byo-logger-worker runs byo-logger-example; its five lines are pino's JSON on the script's stdout", () =>
    Effect.gen(function*() {
      const script = yield* ExampleProcess.run("logging/byo-logger.js")
      const { hatchet } = yield* Examples.client
      yield* Official.eventually(
        async () =>
          ((await hatchet.workers.list()).rows ?? []).some((w) => w.status === "ACTIVE" && w.name === "byo-logger-worker") || undefined,
        20_000
      ).pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}`)))
      const output = yield* Effect.promise(() => hatchet.run("byo-logger-example", {}))
      // run by name, the SDK answers the workflow's outputs by task name
      expect(output).toEqual({ "byo-logger-example": { step1: "completed step run" } })
      const lines = yield* Official.eventually(() => {
        const entries = script.output().split("\n").flatMap((line) => {
          try {
            const entry = JSON.parse(line) as { readonly msg?: unknown }
            return typeof entry.msg === "string" && entry.msg.startsWith("log message ") ? [entry] : []
          } catch {
            return []
          }
        })
        return Promise.resolve(entries.length >= 5 ? entries : undefined)
      }).pipe(Effect.catchAllDefect((e) => Effect.dieMessage(`${String(e)}\n${script.output()}`)))
      expect(lines.map((entry) => entry.msg)).toEqual(Array.from({ length: 5 }, (_, i) => `log message ${i}`))
      expect(lines).toEqual(lines.map(() => expect.objectContaining({ level: 30, pid: script.child.pid, time: expect.any(Number) })))
      const runs = yield* Effect.promise(() => hatchet.runs.list({ workflowNames: ["byo-logger-example"] }))
      expect(runs.rows?.map((row) => row.status)).toEqual(["COMPLETED"])
      expect((yield* Effect.promise(() => hatchet.logs.list(runs.rows![0]!.taskExternalId))).rows ?? []).toEqual([])
    }))
})
