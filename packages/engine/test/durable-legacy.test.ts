/**
 * The older durable protocol over loopback gRPC, as upstream still serves it to SDKs that speak it
 * (engines before v0.80.0): `RegisterDurableEvent` arms a signal of a task under a key (sleeps and
 * user events, or-groups as in every match), `ListenForDurableEvent` sends the signal's data once
 * it holds, whether it was asked for before or after.
 */
import type { DurableEvent } from "@effect-hatchet/proto/v1/dispatcher"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Redacted, TestClock } from "effect"
import { Status } from "nice-grpc"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import * as Grpc from "./support/grpc.js"

const decode = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data))

/** An async iterable of requests the test feeds one by one. */
const requestQueue = <A>() => {
  const pending: Array<A> = []
  let wake: (() => void) | undefined
  const iterable: AsyncIterable<A> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (pending.length > 0) yield pending.shift()!
        await new Promise<void>((resolve) => (wake = resolve))
      }
    }
  }
  return { iterable, push: (a: A) => (pending.push(a), wake?.()) }
}

const EngineLive = InternalEngine.layer({ workerLiveness: "connection" })

layer(EngineLive, { timeout: 30_000 })("durable events, the older protocol", (it) => {
  it.scoped("a registered signal holds on its user event or its sleep; a listener gets its data before or after", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      yield* Effect.promise(() =>
        c.admin.putWorkflow({
          name: "legacy",
          tasks: [{ readableId: "t", action: "legacy:t", timeout: "10m", scheduleTimeout: "48h", inputs: "{}" }]
        })
      )
      // no worker takes the task: it stays queued (its schedule timeout is days away)
      const { workflowRunId: taskId } = yield* Effect.promise(() => c.workflows.triggerWorkflow({ name: "legacy", input: "{}" }))
      const group = crypto.randomUUID()
      // one or-group: the approval event or a day's sleep (any of them)
      const register = (signalKey: string) =>
        Effect.promise(() =>
          c.durable.registerDurableEvent({
            taskId,
            signalKey,
            conditions: {
              sleepConditions: [{ base: { readableDataKey: "timeout", action: 0, orGroupId: group, expression: "" }, sleepFor: "24h" }],
              userEventConditions: [{
                base: { readableDataKey: "approval", action: 0, orGroupId: group, expression: "input.ok == true" },
                userEventKey: "legacy:approve"
              }]
            }
          })
        )
      expect(yield* register("approval")).toEqual({})
      expect(yield* register("approval-too")).toEqual({})
      // a sleep alone
      yield* Effect.promise(() =>
        c.durable.registerDurableEvent({
          taskId,
          signalKey: "nap",
          conditions: {
            sleepConditions: [{
              base: { readableDataKey: "nap", action: 0, orGroupId: crypto.randomUUID(), expression: "" },
              sleepFor: "1h"
            }],
            userEventConditions: []
          }
        })
      )
      const requests = requestQueue<{ taskId: string; signalKey: string }>()
      const received: Array<DurableEvent> = []
      const listening = yield* Effect.fork(Grpc.streamOutcome(c.durable.listenForDurableEvent(requests.iterable), (e) => received.push(e)))
      // asked for before it holds; an event its expression refuses does not count
      requests.push({ taskId, signalKey: "approval" })
      requests.push({ taskId, signalKey: "nap" })
      yield* Effect.promise(() => c.events.push({ key: "legacy:approve", payload: JSON.stringify({ ok: false }) }))
      yield* Effect.promise(() => c.events.push({ key: "legacy:approve", payload: JSON.stringify({ ok: true }) }))
      yield* Grpc.eventually(() => (received.length === 1 ? true : undefined))
      expect(received[0]).toMatchObject({ taskId, signalKey: "approval" })
      expect(decode(received[0]!.data)).toEqual({ CREATE: { approval: [{ ok: true }] } })
      // the same event met the other signal too: asked for after it held, it is sent at once
      requests.push({ taskId, signalKey: "approval-too" })
      yield* Grpc.eventually(() => (received.length === 2 ? true : undefined))
      expect(received[1]).toMatchObject({ taskId, signalKey: "approval-too" })
      // the sleep holds when the engine's clock passes it
      yield* TestClock.adjust("1 hour")
      yield* Grpc.eventually(() => (received.length === 3 ? true : undefined))
      expect(received[2]).toMatchObject({ taskId, signalKey: "nap" })
      expect(decode(received[2]!.data)).toEqual({ CREATE: { nap: [{ sleep_duration: "1h" }] } })
      // a bad or-group id is refused
      expect(
        yield* Grpc.statusOf(() =>
          c.durable.registerDurableEvent({
            taskId,
            signalKey: "bad",
            conditions: {
              sleepConditions: [{ base: { readableDataKey: "x", action: 0, orGroupId: "nope", expression: "" }, sleepFor: "1s" }],
              userEventConditions: []
            }
          })
        )
      ).toEqual({ code: Status.INVALID_ARGUMENT, details: "or group id is not a valid uuid" })
      yield* Fiber.interrupt(listening)
    }))
})
