/**
 * The worker's definitions, compiled: what it registers, and the route each action takes (its
 * implementation, slot cost, attempts and durable settings), checked against the worker's slots.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Definition } from "../Workflow.js"
import { checkExpressions } from "./conditions.js"
import { effectiveSettings, evictAfterOf, type ImplementationShape, implementationTag, specOf, type TaskSpec } from "./definition.js"
import { compile, type Compiled, workerActions } from "./registration.js"
import { WorkerError } from "./workerError.js"

/** What the worker runs for one action. */
export interface Route {
  readonly implementation: ImplementationShape
  readonly task: TaskSpec
  readonly slotCost: number
  readonly maxAttempts: number
  /** A durable task: on the durable pool, with a `DurableContext`. */
  readonly durable: boolean
  /** How long a durable attempt waits for the engine before it evicts itself (none: never). */
  readonly evictAfter: Duration.Duration | undefined
  /** A durable attempt may be evicted when all the worker's durable slots wait for the engine. */
  readonly evictUnderPressure: boolean
  /** Among attempts evicted for capacity, lower first. */
  readonly evictionPriority: number
}

/** The compiled definitions of a worker and the routes of their actions. */
export interface TaskRoutes {
  /** What the worker registers, one per workflow (or standalone task). */
  readonly compiled: ReadonlyArray<Compiled>
  /** Keyed by action id, `"<workflow>:<task>"`. */
  readonly routes: ReadonlyMap<string, Route>
  /** The actions the worker registers. */
  readonly actions: ReadonlyArray<string>
  /** Some task is durable (the worker needs a durable pool and stream). */
  readonly hasDurable: boolean
}

/**
 * Compiles the definitions whose implementations the context holds (under their
 * `implementationTag`s, hence the `any` requirement); fails with `InvalidWorkflow` (a definition
 * invalid or listed twice) or `InvalidOptions` (slots a task cannot get, durable tasks without
 * their pool or their gRPC stream).
 */
export const make = (
  workflows: ReadonlyArray<Definition>,
  options: {
    readonly namespace: string
    readonly slots: number
    readonly durableSlots: number
    /** The gRPC transport is there (durable tasks need its stream). */
    readonly hasTransport: boolean
  }
): Effect.Effect<TaskRoutes, WorkerError, any> =>
  Effect.gen(function*() {
    const compiled: Array<Compiled> = []
    const routes = new Map<string, Route>()
    for (const definition of workflows) {
      const implementation = yield* implementationTag(specOf(definition).name)
      const result = compile(implementation.spec, options.namespace)
      if (Either.isLeft(result)) {
        return yield* new WorkerError({ reason: "InvalidWorkflow", message: result.left.message, cause: result.left })
      }
      yield* Effect.mapError(
        checkExpressions(implementation.spec.name, result.right.expressions),
        (error) => new WorkerError({ reason: "InvalidWorkflow", message: error.message, cause: error })
      )
      if (compiled.some((c) => c.wireName === result.right.wireName)) {
        return yield* new WorkerError({
          reason: "InvalidWorkflow",
          message: `Workflow "${result.right.wireName}" is listed twice`
        })
      }
      compiled.push(result.right)
      for (const [action, task] of result.right.actions) {
        const settings = effectiveSettings(implementation.spec, task)
        routes.set(action, {
          implementation,
          task,
          // a durable task takes one durable slot (a batch's settings say one slot, one attempt)
          slotCost: task.durable === true ? 1 : settings.slotCost ?? 1,
          maxAttempts: (settings.retries ?? 0) + 1,
          durable: task.durable === true,
          evictAfter: evictAfterOf(task),
          evictUnderPressure: task.durable === true && task.evictUnderPressure !== false,
          evictionPriority: task.evictionPriority ?? 0
        })
      }
    }
    const hasDurable = [...routes.values()].some((route) => route.durable)
    const { durableSlots, slots } = options
    if (hasDurable && (!Number.isInteger(durableSlots) || durableSlots < 1)) {
      return yield* new WorkerError({
        reason: "InvalidOptions",
        message: `Invalid worker options:\n  - durableSlots: must be a positive integer, got ${String(durableSlots)}`
      })
    }
    if (hasDurable && !options.hasTransport) {
      return yield* new WorkerError({
        reason: "InvalidOptions",
        message: "Durable tasks need the gRPC transport (GrpcTransport) for their V1Dispatcher/DurableTask stream"
      })
    }
    for (const [action, route] of routes) {
      if (!route.durable && route.slotCost > slots) {
        return yield* new WorkerError({
          reason: "InvalidOptions",
          message: `Task action "${action}" needs ${route.slotCost} slots but the worker has only ${slots}`
        })
      }
    }
    return { compiled, routes, actions: workerActions(compiled), hasDurable }
  })
