/**
 * The `Workers` service against the local engine: the tenant's workers as upstream reports them,
 * and a pause that holds new work back until the worker is resumed.
 */
import { Hatchet, Task, Worker, Workers } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as HatchetTest from "../src/HatchetTest.js"

const Echo = Task.make("workers-echo", { input: Schema.Struct({ text: Schema.String }), output: Schema.String })
const EchoLive = Echo.toLayer((input) => Effect.succeed(input.text))

const TestLive = HatchetTest.layer({
  workflows: [EchoLive],
  worker: { name: "labelled", slots: 7, labels: { region: "eu", tier: 2 } }
})

layer(TestLive)("Workers on the local engine", (it) => {
  it.effect("lists and reads the worker: status, slots, labels, actions, registered workflows", () =>
    Effect.gen(function*() {
      const workers = yield* Workers.Workers
      const workerId = Option.getOrThrow(yield* Effect.flatMap(Worker.Worker, (w) => w.workerId))
      const list = yield* workers.list()
      const listed = list.rows?.find((w) => w.metadata.id === workerId)
      expect(listed).toMatchObject({ name: "labelled", status: "ACTIVE", actions: ["workers-echo:workers-echo"] })
      expect(listed?.slotConfig?.default?.limit).toBe(7)
      expect(listed?.labels).toEqual(expect.arrayContaining([{ key: "region", value: "eu" }, { key: "tier", value: "2" }]))
      expect(listed?.runtimeInfo?.language).toBe("TYPESCRIPT")
      expect(list.pagination).toEqual({ current_page: 1, next_page: 1, num_pages: 1 })
      const one = yield* workers.get(workerId)
      expect(one.registeredWorkflows?.map((w) => w.name)).toEqual(["workers-echo"])
    }))

  it.effect("lists by status and labels, a page at a time", () =>
    Effect.gen(function*() {
      const workers = yield* Workers.Workers
      const workerId = Option.getOrThrow(yield* Effect.flatMap(Worker.Worker, (w) => w.workerId))
      const ids = (list: Workers.WorkerList) => list.rows?.map((w) => w.metadata.id)
      expect(ids(yield* workers.list({ statuses: ["ACTIVE"], labels: { region: "eu", tier: 2 } }))).toEqual([workerId])
      expect(ids(yield* workers.list({ labels: { region: "us" } }))).toEqual([])
      expect(ids(yield* workers.list({ statuses: ["PAUSED", "INACTIVE"] }))).toEqual([])
      expect((yield* workers.list({ limit: 1, offset: 1 })).rows).toEqual([])
      const refused = yield* Effect.flip(workers.list({ labels: { "": "x" } }))
      expect(refused).toMatchObject({ status: 400 })
      expect(String(refused.body)).toContain("invalid label filter format: :x, expected key:value")
    }))

  it.effect("a paused worker gets no new work until it is resumed", () =>
    Effect.gen(function*() {
      const workers = yield* Workers.Workers
      const workerId = Option.getOrThrow(yield* Effect.flatMap(Worker.Worker, (w) => w.workerId))
      expect((yield* workers.pause(workerId)).status).toBe("PAUSED")
      const handle = yield* Hatchet.runNoWait(Echo, { text: "held" })
      yield* HatchetTest.settle()
      expect((yield* handle.details).run.status).toBe("QUEUED")
      expect((yield* workers.unpause(workerId)).status).toBe("ACTIVE")
      expect(yield* handle.result).toBe("held")
    }))
})
