/**
 * The worker asks the engine its version (`Dispatcher/GetVersion`) before registering
 * definitions that need a recent one, and refuses to start on an older engine, naming each
 * feature and the version it needs; the local engine reports the version it is faithful to.
 */
import { Engine } from "@effect-hatchet/engine"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { isOlder, minEngineVersion, parseVersion, tooOldMessage, unmet } from "../src/internal/engineVersion.js"
import * as Task from "../src/Task.js"
import * as Workflow from "../src/Workflow.js"
import { clientLayer, unique } from "./support/engine.js"
import { startWorker } from "./support/worker.js"

const onEngine = (version: string) => clientLayer().pipe(Layer.provideMerge(Engine.layer({ version })))

const limited = (concurrency: ReadonlyArray<Workflow.Concurrency>) => {
  const Save = Task.make(unique("versioned"), { input: Schema.Struct({ doc: Schema.String }), concurrency })
  return startWorker(Save.toLayer(() => Effect.void))
}

const debounce: Workflow.Concurrency = { expression: "input.doc", limitStrategy: "CANCEL_QUEUED_EXCEPT_NEWEST" }
const shared: Workflow.Concurrency = {
  expression: "input.doc",
  limitStrategy: "GROUP_ROUND_ROBIN",
  name: "docs",
  isTenantScoped: true,
  maxRuns: "2"
}

describe("engine version", () => {
  it("versions compare as numbers; what is not a version is unknown", () => {
    expect(parseVersion("v0.106.5")).toEqual([0, 106, 5])
    expect(parseVersion("0.78.23-rc.1")).toEqual([0, 78, 23])
    expect(isOlder("v0.99.0", "v0.105.16")).toBe(true)
    expect(isOlder("v0.105.16", minEngineVersion.queueDepthStrategies)).toBe(false)
    expect(isOlder("v1.0.0", "v0.106.5")).toBe(false)
    expect(isOlder("dev", "v0.106.5")).toBeUndefined()
    // an engine without GetVersion (UNIMPLEMENTED) predates every requirement
    const requirement = { workflow: "w", feature: "task \"t\" concurrency: maxRuns as an expression", minVersion: "v0.106.5" }
    expect(unmet(undefined, [requirement])).toEqual([requirement])
    expect(unmet("dev", [requirement])).toEqual([])
    expect(tooOldMessage(undefined, [requirement])).toMatch(/^The Hatchet engine does not report its version .* older than v0\.106\.5/)
  })

  it.scoped("an engine older than a feature a definition uses: EngineTooOld names the feature and the version", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(limited([debounce, shared]))
      expect(error).toMatchObject({ _tag: "WorkerError", reason: "EngineTooOld" })
      expect(error.message).toContain("The Hatchet engine is v0.104.7, older than v0.106.5")
      expect(error.message).toContain("the CANCEL_QUEUED_EXCEPT_NEWEST strategy (needs v0.105.16 or newer)")
      expect(error.message).toContain(`the tenant-scoped limit "docs" (needs v0.106.5 or newer)`)
      expect(error.message).toContain("maxRuns as an expression (needs v0.106.5 or newer)")
    }).pipe(Effect.provide(onEngine("v0.104.7"))))

  it.scoped("a batch task needs v0.98.0, the release that brought batch tasks (upstream #3975)", () =>
    Effect.gen(function*() {
      const Embed = Task.batch(unique("batched"), { input: Schema.Struct({ doc: Schema.String }), batch: { maxSize: 4 } })
      const live = Embed.toLayer((inputs) => Effect.succeed(inputs.map(() => undefined)))
      const error = yield* Effect.flip(startWorker(live).pipe(Effect.provide(onEngine("v0.97.0"))))
      expect(error).toMatchObject({ _tag: "WorkerError", reason: "EngineTooOld" })
      expect(error.message).toContain("The Hatchet engine is v0.97.0, older than v0.98.0")
      expect(error.message).toContain(`task "${Embed.name}" is a batch task (needs v0.98.0 or newer)`)
      yield* startWorker(live).pipe(Effect.provide(onEngine("v0.98.0")))
    }))

  it.scoped("so does a batch task inside a DAG (Workflow.batchTask)", () =>
    Effect.gen(function*() {
      const Flow = Workflow.make(unique("batched-dag"), { input: Schema.Struct({ doc: Schema.String }) }).pipe(
        Workflow.task("parse"),
        Workflow.batchTask("embed", { parents: ["parse"], batch: { maxSize: 4 } })
      )
      const live = Flow.toLayer({ parse: () => Effect.void, embed: (inputs) => Effect.succeed(inputs.map(() => undefined)) })
      const error = yield* Effect.flip(startWorker(live).pipe(Effect.provide(onEngine("v0.97.0"))))
      expect(error).toMatchObject({ _tag: "WorkerError", reason: "EngineTooOld" })
      expect(error.message).toContain(`task "embed" is a batch task (needs v0.98.0 or newer)`)
      yield* startWorker(live).pipe(Effect.provide(onEngine("v0.98.0")))
    }))

  it.scoped("an idempotency key needs v0.95.0 (upstream #4045); held until the run ends, v0.96.0 (#4460)", () =>
    Effect.gen(function*() {
      const Charge = Task.make(unique("idempotent"), {
        input: Schema.Struct({ doc: Schema.String }),
        idempotency: { expression: "input.doc", ttl: "1 hour", until: "finished" }
      })
      const live = Charge.toLayer(() => Effect.void)
      const tooOld = yield* Effect.flip(startWorker(live).pipe(Effect.provide(onEngine("v0.94.3"))))
      expect(tooOld).toMatchObject({ _tag: "WorkerError", reason: "EngineTooOld" })
      expect(tooOld.message).toContain("The Hatchet engine is v0.94.3, older than v0.96.0")
      expect(tooOld.message).toContain(`workflow "${Charge.name}", an idempotency key (needs v0.95.0 or newer)`)
      expect(tooOld.message).toContain(`an idempotency key held until the run ends (until: "finished") (needs v0.96.0 or newer)`)
      const noStatus = yield* Effect.flip(startWorker(live).pipe(Effect.provide(onEngine("v0.95.2"))))
      expect(noStatus.message).toContain("The Hatchet engine is v0.95.2, older than v0.96.0")
      expect(noStatus.message).not.toContain("an idempotency key (needs")
      yield* startWorker(live).pipe(Effect.provide(onEngine("v0.96.0")))
      // a key held for its TTL is what v0.95.0 brought
      const Ttl = Task.make(unique("idempotent-ttl"), {
        input: Schema.Struct({ doc: Schema.String }),
        idempotency: { expression: "input.doc", ttl: "1 hour" }
      })
      yield* startWorker(Ttl.toLayer(() => Effect.void)).pipe(Effect.provide(onEngine("v0.95.0")))
    }))

  it.scoped("definitions that need nothing new start on that engine; so do all on a recent one or a development build", () =>
    Effect.gen(function*() {
      yield* limited([{ expression: "input.doc", limitStrategy: "GROUP_ROUND_ROBIN" }]).pipe(Effect.provide(onEngine("v0.104.7")))
      yield* limited([debounce, shared]).pipe(Effect.provide(onEngine("v0.106.5")))
      yield* limited([debounce]).pipe(Effect.provide(onEngine("dev")))
    }))
})
