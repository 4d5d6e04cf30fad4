/**
 * Cron triggers with the official TypeScript SDK over loopback: a workflow declared with a cron
 * of every second runs on its own, with the `hatchet__cron_*` metadata; re-registering it
 * without the cron stops it.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Official from "./support/official.js"

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("official SDK: cron triggers", (it) => {
  it.scoped("a cron of every second fires at least twice, one run per second, with the cron metadata", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const hatchet = Official.client(engine)
      const name = Official.unique("every-second")
      const fired: Array<{ readonly metadata: Record<string, string>; readonly runId: string; readonly at: number }> = []
      const declare = (crons: Array<string>) => {
        const wf = hatchet.workflow({ name, onCrons: crons })
        wf.task({
          name: "tick",
          fn: async (_input, ctx) => {
            fired.push({ metadata: ctx.additionalMetadata(), runId: ctx.workflowRunId(), at: Date.now() })
            return {}
          }
        })
        return wf
      }
      yield* Official.worker(hatchet, `${name}-w`, { workflows: [declare(["* * * * * *"])], slots: 5 })
      yield* Official.eventually(() => (fired.length >= 2 ? true : undefined), 10_000)
      const [first, second] = fired
      expect(first!.metadata).toMatchObject({ hatchet__cron_expression: "* * * * * *", hatchet__cron_name: "" })
      const scheduled = fired.slice(0, 2).map((f) => Date.parse(f.metadata.hatchet__cron_scheduled_at!)).sort((a, b) => a - b)
      expect(first!.metadata.hatchet__cron_scheduled_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect(scheduled[1]! - scheduled[0]!).toBe(1_000)
      expect(second!.runId).not.toBe(first!.runId)

      // a new version without the cron (another worker deploying it) replaces it: no tick after it
      yield* Official.worker(hatchet, `${name}-w2`, { workflows: [declare([])], slots: 5 })
      const replacedAt = Date.now()
      yield* Effect.sleep("1500 millis")
      const late = fired.filter((f) => Date.parse(f.metadata.hatchet__cron_scheduled_at!) > replacedAt)
      expect(late).toEqual([])
    }))
})
