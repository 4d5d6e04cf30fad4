/**
 * Workflow versions as a worker restart meets them: our worker registers a workflow with an
 * or-group, a wait and a skip on the local engine over loopback gRPC, stops, and a new worker
 * registers the same definition. As upstream's `PutWorkflowVersion` (the checksum of the
 * registration as it stores it), the workflow keeps its one version; a definition whose
 * conditions are grouped otherwise is a new version, the latest one through REST.
 */
import { Engine } from "@effect-hatchet/engine"
import { Condition, Hatchet, Worker, Workflow, Workflows } from "@effect-hatchet/sdk"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option } from "effect"

const name = "versions-restart"
const nap = Condition.sleep("10 seconds")
const open = Condition.event("versions:open", { expression: "input.ok == true" })

/** The workflow, its wait an or-group of the sleep and the event, or (`split`) both. */
const define = (split: boolean) =>
  Workflow.make(name).pipe(
    Workflow.task("first"),
    Workflow.task("second"),
    Workflow.task("gated", {
      parents: ["first"],
      waitFor: split ? [nap, open] : Condition.or(nap, open),
      skipIf: Condition.event("versions:skip")
    })
  )

const implement = (split: boolean) =>
  define(split).toLayer({ first: () => Effect.void, second: () => Effect.void, gated: () => Effect.void })

/** Our client on the engine, over loopback gRPC and REST. */
const client = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  return yield* Layer.build(
    Hatchet.layer({ token: engine.token, hostPort: engine.grpcAddress, apiUrl: engine.apiUrl, tlsStrategy: "none" }).pipe(
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
    )
  )
})

/** A worker that registers the workflow and stops again (a process that starts, then restarts). */
const registerOnce = (split: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* client
    yield* Layer.build(
      Worker.layer({ name: `${name}-worker`, slots: 1, workflows: [implement(split)] }).pipe(
        Layer.provide(Layer.succeedContext(context))
      )
    )
  }))

/** The workflow's latest version, through REST. */
const latestVersion = Effect.scoped(Effect.gen(function*() {
  const workflows = yield* Effect.provide(Workflows.Workflows, yield* client)
  const workflow = Option.getOrThrow(yield* workflows.findByName(name))
  const version = yield* workflows.version(workflow.metadata.id)
  // the workflow shows the same latest version
  expect((yield* workflows.get(workflow.metadata.id)).versions?.map((v) => v.metadata.id)).toEqual([version.metadata.id])
  return version
}))

layer(Engine.layer(), { timeout: 30_000, excludeTestServices: true })("workflow versions across worker restarts", (it) => {
  it.scoped("the same definition registered again keeps its version; one grouped otherwise is version 2", () =>
    Effect.gen(function*() {
      yield* registerOnce(false)
      const first = yield* latestVersion
      expect(first.order).toBe(1)

      yield* registerOnce(false)
      const again = yield* latestVersion
      expect(again.metadata.id).toBe(first.metadata.id)
      expect(again.order).toBe(1)

      yield* registerOnce(true)
      const split = yield* latestVersion
      expect(split.order).toBe(2)
      expect(split.metadata.id).not.toBe(first.metadata.id)
      const groups = (version: typeof first) =>
        (version.workflowConfig as any).Tasks.find((t: any) => t.ReadableId === "gated").TriggerConditions.map((
          c: any
        ) => [c.MatchConditionKind, c.Action, c.OrGroupIdIndex])
      expect(groups(first)).toEqual([["USER_EVENT", "QUEUE", 0], ["USER_EVENT", "SKIP", 1], ["SLEEP", "QUEUE", 0]])
      expect(groups(split)).toEqual([["USER_EVENT", "QUEUE", 0], ["USER_EVENT", "SKIP", 1], ["SLEEP", "QUEUE", 2]])

      yield* registerOnce(true)
      expect((yield* latestVersion).metadata.id).toBe(split.metadata.id)
    }))
})
