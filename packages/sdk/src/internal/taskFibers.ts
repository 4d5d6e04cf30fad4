/**
 * The worker's task fibers: what it used `FiberSet` for, over a `ChurningSet`. Each fiber forked
 * by `runtime` is in the set from its fork to its end; closing the scope interrupts those left and
 * waits for them (a fiber forked after that is an interrupted one, its effect never run);
 * `awaitEmpty` waits until none is left, `clear` interrupts those there and waits for them (the worker
 * calls it once it hands new assignments back).
 *
 * Why not a `FiberSet`: its fibers are kept in a plain `Set` that lives as long as the worker while
 * a fiber comes and goes per task. V8 replaces such a set's hash table every so many additions and
 * removals, in the generation the old table is in, and links the old table (entries and all) to the
 * new one; once the set's table is in the old generation, each replaced one is old garbage that
 * still points at the fibers it held, so every finished task fiber it held (its state, its
 * closures, its assignment's strings) is copied and promoted by young-generation collections until
 * a full one. A `ChurningSet` starts over as a young copy (see `@effect-hatchet/shared/Churning`).
 *
 * @internal
 */
import { ChurningSet } from "@effect-hatchet/shared/Churning"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"

type TaskFiber = Fiber.RuntimeFiber<void, never>

/** Forks an effect as one of the task fibers (as `FiberSet.runtime`'s function does). */
export type RunTaskFiber<R> = (
  effect: Effect.Effect<void, never, R>,
  options?: Runtime.RunForkOptions | undefined
) => TaskFiber

/** The worker's task fibers (see the module's JSDoc). */
export class TaskFibers {
  private readonly fibers = new ChurningSet<TaskFiber>()
  private open = true

  /** A function that forks its effect with the current runtime as one of the task fibers. */
  runtime<R = never>(): Effect.Effect<RunTaskFiber<R>, never, R> {
    return Effect.map(Effect.runtime<R>(), (runtime) => {
      const runFork = Runtime.runFork(runtime)
      return (effect, options) => {
        if (!this.open) return runFork(Effect.interrupt, options)
        const fiber = runFork(effect, options)
        this.add(fiber)
        return fiber
      }
    })
  }

  /** Waits until no task fiber is left (or the set is closed). */
  get awaitEmpty(): Effect.Effect<void> {
    return Effect.whileLoop({
      while: () => this.open && this.fibers.size > 0,
      body: () => Fiber.await(this.fibers[Symbol.iterator]().next().value!),
      step: () => {}
    })
  }

  /** Interrupts the task fibers it has when called, one after the other, waiting for each to end. */
  get clear(): Effect.Effect<void> {
    return Effect.withFiberRuntime((clearing) =>
      this.open
        ? Effect.forEach([...this.fibers], (fiber) => Fiber.interruptAs(fiber, clearing.id()), { discard: true })
        : Effect.void
    )
  }

  private add(fiber: TaskFiber): void {
    this.fibers.add(fiber)
    fiber.addObserver(() => {
      if (this.open) this.fibers.delete(fiber)
    })
  }

  /** Closes the set: interrupts the fibers left (as `id`) and waits for them. */
  close(id: FiberId.FiberId): Effect.Effect<void> {
    if (!this.open) return Effect.void
    this.open = false
    return Fiber.interruptAllAs([...this.fibers], id)
  }
}

/** Task fibers for the life of the scope: closing it interrupts those left and waits for them. */
export const make: Effect.Effect<TaskFibers, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => new TaskFibers()),
  (fibers) => Effect.withFiberRuntime((closing) => fibers.close(closing.id()))
)
