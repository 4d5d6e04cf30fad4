/**
 * Our worker for end-to-end tests: started in the test's scope with the implementations given,
 * on the client layer's channel.
 */
import { Context, Effect, Layer } from "effect"
import * as Worker from "../../src/Worker.js"
import type { ImplementationLayer } from "../../src/Workflow.js"
import { unique } from "./engine.js"

export const startWorker = <const L extends ImplementationLayer>(
  implementations: L,
  options: Partial<Worker.WorkerSettings> = {}
) =>
  Layer.build(Worker.layer({ name: unique("worker"), slots: 100, ...options, workflows: [implementations] })).pipe(
    Effect.map(Context.get(Worker.Worker))
  )
