/**
 * Server-stream writes that do not wait for one another (`internal/grpc/streamWrites.ts`): the
 * interceptor's acknowledgements against a fake call (at once within the window, then one per
 * completed write, in order; unary calls untouched), and over loopback gRPC a worker's listen stream
 * carrying hundreds of STARTs written back to back, each once and in assignment order.
 */
import { ActionType, type AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it, layer } from "@effect/vitest"
import type { ServerInterceptingCallInterface } from "@grpc/grpc-js"
import { Effect, Redacted } from "effect"
import * as Engine from "../src/Engine.js"
import * as InternalEngine from "../src/internal/engine.js"
import { unawaitedStreamWrites } from "../src/internal/grpc/streamWrites.js"
import * as Grpc from "./support/grpc.js"

/** A call that records what is sent and completes a write only when told. */
const fakeCall = () => {
  const sent: Array<unknown> = []
  const completions: Array<() => void> = []
  const call = {
    sendMessage: (message: unknown, callback: () => void) => {
      sent.push(message)
      completions.push(callback)
    }
  } as unknown as ServerInterceptingCallInterface
  return { call, sent, complete: () => completions.shift()!() }
}

const method = (responseStream: boolean) => ({
  path: "/Dispatcher/ListenV2",
  requestStream: false,
  responseStream,
  requestDeserialize: (bytes: Buffer) => bytes,
  responseSerialize: (value: unknown) => value as Buffer
})

describe("unawaitedStreamWrites", () => {
  it("acknowledges a streamed message at once while fewer than `window` writes are incomplete, then one per completed write", () => {
    const { call, complete, sent } = fakeCall()
    const intercepted = unawaitedStreamWrites(2)(method(true), call)
    const acknowledged: Array<number> = []
    for (let i = 1; i <= 4; i++) intercepted.sendMessage(i, () => acknowledged.push(i))
    // every message reaches the HTTP/2 stream at once, in order
    expect(sent).toEqual([1, 2, 3, 4])
    expect(acknowledged).toEqual([1, 2])
    complete()
    expect(acknowledged).toEqual([1, 2, 3])
    complete()
    expect(acknowledged).toEqual([1, 2, 3, 4])
    // back within the window: acknowledged at once again
    complete()
    complete()
    intercepted.sendMessage(5, () => acknowledged.push(5))
    expect(acknowledged).toEqual([1, 2, 3, 4, 5])
  })

  it("leaves a unary call as it came", () => {
    const { call } = fakeCall()
    expect(unawaitedStreamWrites()(method(false), call)).toBe(call)
  })
})

layer(InternalEngine.layer(), { timeout: 60_000, excludeTestServices: true })("a listen stream over loopback", (it) => {
  it.scoped("delivers hundreds of STARTs written back to back, each once, in assignment order", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const c = yield* Grpc.clients(engine.grpcAddress, `bearer ${Redacted.value(engine.token)}`)
      const name = `writes-${Math.random().toString(36).slice(2, 8)}`
      yield* Grpc.putWorkflow(c, name)
      const count = 600
      const { workerId } = yield* Effect.promise(() =>
        c.dispatcher.register({ workerName: name, actions: [`${name}:t`], slotConfig: { default: count } })
      )
      const controller = new AbortController()
      yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
      const iterator = c.dispatcher.listenV2({ workerId }, { signal: controller.signal })[Symbol.asyncIterator]()
      const first = iterator.next() // opens the stream
      yield* Effect.promise(() => c.dispatcher.heartbeat({ workerId, heartbeatAt: new Date() }))
      const { workflowRunIds } = yield* Effect.promise(() =>
        c.workflows.bulkTriggerWorkflow({
          workflows: Array.from({ length: count }, (_, i) => ({ name, input: JSON.stringify({ i }), desiredWorkerLabels: {} }))
        })
      )
      const actions: Array<AssignedAction> = [(yield* Effect.promise(() => first)).value]
      while (actions.length < count) actions.push((yield* Effect.promise(() => iterator.next())).value)
      expect(actions.every((a) => a.actionType === ActionType.START_STEP_RUN)).toBe(true)
      // one START per run, in the order the runs were assigned (the trigger's order), inputs intact
      expect(actions.map((a) => a.workflowRunId)).toEqual(workflowRunIds)
      expect(actions.map((a) => JSON.parse(a.actionPayload).input.i)).toEqual(workflowRunIds.map((_, i) => i))
    }))
})
