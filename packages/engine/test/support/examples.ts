/**
 * The official SDK's shipped examples (`v1/examples/*`), unchanged, against the engine in context
 * (`Engine` and `EngineCore`, as `InternalEngine.layer` gives them): an example's module, the
 * examples' own client (`v1/examples/hatchet-client`), an official worker of that client for the
 * scope, a run triggered without waiting and its REST details once it has ended.
 *
 * The examples build their client from the process environment when first imported, so the
 * environment points at the engine first and a test file has one engine (vitest isolates each
 * file's modules).
 */
import { Effect, Layer, TestClock } from "effect"
import * as Engine from "../../src/Engine.js"
import { EngineCore, type EngineCoreService } from "../../src/internal/core.js"
import * as InternalEngine from "../../src/internal/engine.js"
import * as Official from "./official.js"

/** What a test uses of a run triggered without waiting (the SDK's `WorkflowRunRef`). */
export interface Ref<O = unknown> {
  readonly getWorkflowRunId: () => Promise<string>
  readonly output: Promise<O>
}

/** What a test uses of an example's task or workflow declaration. */
export interface Runnable<I = object, O = unknown> {
  readonly name: string
  readonly run: (input: I, options?: Record<string, unknown>) => Promise<O>
  readonly runNoWait: (input: I, options?: Record<string, unknown>) => Promise<Ref<O>>
}

/** A run's REST details (`runs.get`). */
export type RunDetails = Awaited<ReturnType<Official.Client["runs"]["get"]>>

/**
 * One engine for a test file whose clock is the test's `TestClock`, started at the wall-clock
 * time (which the SDK's lookbacks, `ctx.now()` minus a window, start from); an open stream keeps
 * a worker alive however far the clock jumps.
 */
export const engineLive = Layer.unwrapEffect(
  Effect.as(TestClock.setTime(Date.now()), InternalEngine.layer({ workerLiveness: "connection" }))
)

/** The exports of the example module `v1/examples/<path>`, imported with the environment pointing at the engine. */
export const load = <M>(path: string): Effect.Effect<M, never, Engine.Engine> =>
  Effect.flatMap(Engine.Engine, (engine) => Official.importExample<M>(engine, path))

/** The engine, its core and the examples' client (`v1/examples/hatchet-client`). */
export const client: Effect.Effect<
  { readonly core: EngineCoreService; readonly engine: Engine.EngineService; readonly hatchet: Official.Client },
  never,
  Engine.Engine | EngineCore
> = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const core = yield* EngineCore
  const { hatchet } = yield* load<{ readonly hatchet: Official.Client }>("hatchet-client.js")
  return { core, engine, hatchet }
})

/**
 * Starts an official worker of the examples' client for the scope, named `name`, running
 * `workflows` (other options, such as `slots` or `labels`, in `options`); gives it with `client`'s
 * engine, core and client.
 */
export const worker = (
  name: string,
  workflows: ReadonlyArray<unknown>,
  options: Omit<Official.WorkerOptions, "workflows"> = {}
) =>
  Effect.flatMap(client, (c) =>
    Effect.map(
      Official.worker(c.hatchet, name, { ...options, workflows: workflows as NonNullable<Official.WorkerOptions["workflows"]> }),
      (w) => ({ ...c, worker: w })
    ))

/** A run triggered without waiting: its reference and id, and its outcome as effects. */
export interface Triggered<O> {
  readonly ref: Ref<O>
  readonly id: string
  /** The run's output (a defect if it fails). */
  readonly output: Effect.Effect<O>
  /** What the run failed with, as the SDK rejects its output; undefined if it succeeded. */
  readonly failure: Effect.Effect<unknown>
}

/** Triggers a run without waiting (`start` is the declaration's `runNoWait` call) and reads its id. */
export const trigger = <O>(start: () => Promise<Ref<O>>): Effect.Effect<Triggered<O>> =>
  Effect.promise(async () => {
    const ref = await start()
    return {
      ref,
      id: await ref.getWorkflowRunId(),
      output: Effect.promise(() => ref.output),
      failure: Effect.promise(() => ref.output.then(() => undefined, (error: unknown) => error))
    }
  })

const final = (status: string) => status !== "QUEUED" && status !== "RUNNING"

/**
 * The REST details (`runs.get`) of run `id` once its status is final and `also` holds of them
 * (polled in real time, for `timeout` ms at the most).
 */
export const ended = (
  id: string,
  options: { readonly also?: (details: RunDetails) => boolean; readonly timeout?: number } = {}
) =>
  Effect.flatMap(client, ({ hatchet }) =>
    Official.eventually(
      () => hatchet.runs.get(id).then((d) => (final(d.run.status) && (options.also?.(d) ?? true) ? d : undefined)),
      options.timeout ?? 14_000
    ))
