/**
 * Our worker for end-to-end tests: started in the test's scope with the implementations given,
 * over the client layer's gRPC services.
 */
import { Context, Effect, Layer } from "effect"
import * as Worker from "../../src/Worker.js"
import type { Definition, ImplementationOf } from "../../src/Workflow.js"
import { unique } from "./engine.js"

export const startWorker = <const Workflows extends ReadonlyArray<Definition>, E, R>(
  workflows: Workflows,
  implementations: Layer.Layer<ImplementationOf<Workflows[number]>, E, R>,
  options: Partial<Worker.WorkerOptions<Workflows>> = {}
) =>
  Layer.build(
    Worker.layer({ name: unique("worker"), slots: 100, ...options, workflows }).pipe(Layer.provide(implementations))
  ).pipe(Effect.map(Context.get(Worker.Worker)))
