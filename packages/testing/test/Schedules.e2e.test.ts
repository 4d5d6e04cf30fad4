/**
 * Scheduled runs and crons end to end: our client stores typed runs on the local engine (REST
 * over loopback), the engine triggers them when the TestClock reaches their time, our worker runs
 * them.
 */
import { Crons, Hatchet, Schedules, Task, TaskContext } from "@effect-hatchet/sdk"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer, Option, Ref, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

interface Delivery {
  readonly note: string
  readonly at: number
  readonly cronName?: unknown
}

class Delivered extends Context.Tag("test/Delivered")<Delivered, Ref.Ref<ReadonlyArray<Delivery>>>() {}

const Remind = Task.make("remind", { input: Schema.Struct({ note: Schema.String }) })
const RemindLive = Remind.toLayer(({ note }) =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const cronName = (yield* TaskContext.TaskContext).additionalMetadata.hatchet__cron_name
    yield* Ref.update(yield* Delivered, (all) => [...all, { note, at, ...(cronName !== undefined ? { cronName } : {}) }])
  })
).pipe(Layer.provideMerge(Layer.effect(Delivered, Ref.make<ReadonlyArray<Delivery>>([]))))

const HOUR = 3_600_000

describe("scheduled runs on the local engine", () => {
  it.effect("run at their time under TestClock; a rescheduled one at its new time, a deleted one never", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const schedules = yield* Schedules.Schedules
      const delivered = yield* Delivered

      const first = yield* Hatchet.schedule(Remind, { note: "first" }, {
        at: new Date(start + HOUR),
        additionalMetadata: { origin: "test" }
      })
      const moved = yield* Hatchet.schedule(Remind, { note: "moved" }, { at: new Date(start + HOUR) })
      const dropped = yield* Hatchet.schedule(Remind, { note: "dropped" }, { at: new Date(start + HOUR) })
      expect(first).toMatchObject({ workflowName: "remind", triggerAt: new Date(start + HOUR), method: "API" })

      const listed = yield* schedules.list()
      expect(new Set(listed.rows?.map((row) => row.metadata.id))).toEqual(
        new Set([first.metadata.id, moved.metadata.id, dropped.metadata.id])
      )
      expect((yield* schedules.get(first.metadata.id)).additionalMetadata).toMatchObject({ origin: "test" })

      yield* schedules.reschedule(moved.metadata.id, new Date(start + 2 * HOUR))
      yield* schedules.delete(dropped.metadata.id)

      yield* HatchetTest.adjust(HOUR - 1_000)
      expect(yield* Ref.get(delivered)).toEqual([]) // not before its time
      expect(Option.isNone(yield* Hatchet.scheduledRun(Remind, first))).toBe(true)
      yield* HatchetTest.adjust(1_000)
      expect(yield* Ref.get(delivered)).toEqual([{ note: "first", at: start + HOUR }])
      // the run it started, found from the scheduled run although the engine deleted it
      const started = Option.getOrThrow(yield* Hatchet.scheduledRun(Remind, first))
      yield* started.result
      expect((yield* started.details).run.additionalMetadata).toMatchObject({ origin: "test" })
      expect(Option.isNone(yield* Hatchet.scheduledRun(Remind, moved))).toBe(true)
      // triggered, so no longer scheduled
      expect((yield* schedules.list()).rows?.map((row) => row.metadata.id)).toEqual([moved.metadata.id])

      yield* HatchetTest.adjust(HOUR)
      expect(yield* Ref.get(delivered)).toEqual([
        { note: "first", at: start + HOUR },
        { note: "moved", at: start + 2 * HOUR }
      ])
      expect((yield* schedules.list()).rows ?? []).toEqual([])
      const movedRun = Option.getOrThrow(yield* Hatchet.scheduledRun(Remind, moved))
      expect(movedRun.runId).not.toBe(started.runId)
    }).pipe(Effect.provide(HatchetTest.layer({ workflows: [RemindLive] }))), 30_000)
})

describe("crons on the local engine", () => {
  it.effect("fire on their ticks under TestClock with the cron's input and name; paused, resumed, deleted", () =>
    Effect.gen(function*() {
      const start = yield* Clock.currentTimeMillis
      const crons = yield* Crons.Crons
      const delivered = yield* Delivered

      const hourly = yield* Hatchet.cron(Remind, { note: "hourly" }, { name: "hourly", expression: "0 * * * *" })
      expect(hourly).toMatchObject({ workflowName: "remind", cron: "0 * * * *", name: "hourly", enabled: true, method: "API" })
      expect((yield* crons.list()).rows?.map((row) => row.metadata.id)).toEqual([hourly.metadata.id])
      expect((yield* crons.get(hourly.metadata.id)).name).toBe("hourly")

      const nextHour = Math.ceil((start + 1) / HOUR) * HOUR
      yield* HatchetTest.adjust(nextHour - start)
      expect(yield* Ref.get(delivered)).toEqual([{ note: "hourly", at: nextHour, cronName: "hourly" }])

      yield* crons.setEnabled(hourly.metadata.id, false)
      expect((yield* crons.get(hourly.metadata.id)).enabled).toBe(false)
      yield* HatchetTest.adjust(HOUR)
      expect(yield* Ref.get(delivered)).toHaveLength(1) // paused

      yield* crons.setEnabled(hourly.metadata.id, true)
      yield* HatchetTest.adjust(HOUR)
      expect((yield* Ref.get(delivered)).map((d) => d.at)).toEqual([nextHour, nextHour + 2 * HOUR])

      yield* crons.delete(hourly.metadata.id)
      yield* HatchetTest.adjust(HOUR)
      expect(yield* Ref.get(delivered)).toHaveLength(2)
      expect((yield* crons.list()).rows ?? []).toEqual([])
    }).pipe(Effect.provide(HatchetTest.layer({ workflows: [RemindLive] }))), 30_000)
})
