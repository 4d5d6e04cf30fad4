/**
 * Idempotency keys in process under TestClock (upstream `trigger.go` `evalIdempotencyKey`,
 * `idempotency-keys.sql`): claims, TTL expiry, the STATUS method's release, the collision status
 * and its details, events, crons and children, bad keys and registration checks.
 */
import { BinaryReader } from "@bufbuild/protobuf/wire"
import { IdempotencyMethod } from "@effect-hatchet/proto/v1/workflows"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "nice-grpc-common"
import { type EngineError, grpcStatusOf, statusDetailsOf } from "../src/internal/domain/errors.js"
import * as Ingest from "../src/internal/domain/ingest.js"
import * as Triggers from "../src/internal/domain/triggers.js"
import { makeHarness, task, tenantId } from "./support/harness.js"

type Harness = Effect.Effect.Success<typeof makeHarness>

const ttl = (ttlMs: number, method?: IdempotencyMethod) => ({
  idempotency: { expression: "input.id", ttlMs, ...(method !== undefined ? { method } : {}) }
})

const refusal = (effect: Effect.Effect<unknown, EngineError>) => Effect.flip(effect)

/** The `google.rpc.Status` details: each `Any` as its type URL and the strings of its message. */
const details = (bytes: Uint8Array) => {
  const status = new BinaryReader(bytes)
  const found: Array<{ typeUrl: string; value: Uint8Array }> = []
  while (status.pos < status.len) {
    const [field, wire] = status.tag()
    if (field !== 3) {
      status.skip(wire)
      continue
    }
    const any = new BinaryReader(status.bytes())
    let typeUrl = ""
    let value: Uint8Array = new Uint8Array()
    while (any.pos < any.len) {
      const [f, w] = any.tag()
      if (f === 1) typeUrl = any.string()
      else if (f === 2) value = any.bytes()
      else any.skip(w)
    }
    found.push({ typeUrl, value })
  }
  return found
}

const strings = (bytes: Uint8Array) => {
  const reader = new BinaryReader(bytes)
  const out: Array<[number, string]> = []
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag()
    if (wire === 2) out.push([field, new TextDecoder().decode(reader.bytes())])
    else reader.skip(wire)
  }
  return out
}

const runCount = (h: Harness, name: string) =>
  h.run((state) => [...state.runsById.values()].filter((run) => run.workflow.name === name).length)

describe("idempotency keys", () => {
  it.scoped("a key is held for its TTL: a second trigger collides with the run holding it, then the key is free again", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("ttl", [task("t")], ttl(60_000))
      const first = yield* h.trigger("ttl", { id: "a" })
      const error = yield* refusal(
        h.runEither((state, now) =>
          Triggers.toEither(Triggers.triggerWorkflow(state, tenantId, { name: "ttl", input: JSON.stringify({ id: "a" }) } as never, now))
        )
      )
      expect({ code: grpcStatusOf(error), message: error.message }).toEqual({
        code: Status.ALREADY_EXISTS,
        message: "idempotency key collision"
      })
      const [detail] = details(statusDetailsOf(error)!)
      expect(detail!.typeUrl).toBe("type.googleapis.com/v1.IdempotencyCollisionError")
      expect(strings(detail!.value)).toEqual([[1, first]])
      expect(yield* runCount(h, "ttl")).toBe(1)
      // another key is another run
      yield* h.trigger("ttl", { id: "b" })
      yield* h.advance(60_001)
      const after = yield* h.trigger("ttl", { id: "a" })
      expect(after).not.toBe(first)
      expect(yield* runCount(h, "ttl")).toBe(3)
    }))

  it.scoped("STATUS: the key is freed when the run's task ends, and at the latest after the TTL", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("status", [task("t")], ttl(10_000, IdempotencyMethod.STATUS))
      const w = yield* h.worker(["status:t"])
      yield* h.trigger("status", { id: "a" })
      expect(grpcStatusOf(yield* refusal(h.trigger("status", { id: "a" })))).toBe(Status.ALREADY_EXISTS)
      yield* h.complete(w.starts()[0]!, "{}")
      yield* h.trigger("status", { id: "a" })
      // still running: held, until the fallback TTL
      expect(grpcStatusOf(yield* refusal(h.trigger("status", { id: "a" })))).toBe(Status.ALREADY_EXISTS)
      yield* h.advance(10_001, [w])
      yield* h.trigger("status", { id: "a" })
      expect(yield* runCount(h, "status")).toBe(3)
    }))

  it.scoped("STATUS on a DAG frees the key when its first task ends, as upstream releases it per task", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("status-dag", [task("a"), task("b", { parents: ["a"] })], ttl(60_000, IdempotencyMethod.STATUS))
      const w = yield* h.worker(["status-dag:a", "status-dag:b"])
      yield* h.trigger("status-dag", { id: "k" })
      yield* h.complete(w.starts()[0]!, "{}")
      yield* h.trigger("status-dag", { id: "k" })
      expect(yield* runCount(h, "status-dag")).toBe(2)
    }))

  it.scoped("bulk: the runs without a collision are made; the error lists them and each collision", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bulk", [task("t")], ttl(60_000))
      const held = yield* h.trigger("bulk", { id: "x" })
      const error = yield* refusal(h.runEither((state, now) =>
        Triggers.toEither(Triggers.triggerWorkflows(state, tenantId, [
          { name: "bulk", input: JSON.stringify({ id: "y" }) },
          { name: "bulk", input: JSON.stringify({ id: "x" }) },
          { name: "bulk", input: JSON.stringify({ id: "y" }) }
        ] as never, now))
      ))
      const [detail] = details(statusDetailsOf(error)!)
      expect(detail!.typeUrl).toBe("type.googleapis.com/v1.BulkTriggerIdempotencyCollisionError")
      const fields = strings(detail!.value)
      const successful = fields.filter(([field]) => field === 1).map(([, id]) => id)
      expect(successful).toHaveLength(1)
      const collisions = fields.filter(([field]) => field === 2).map(([, bytes]) => bytes)
      expect(collisions).toHaveLength(2)
      expect(yield* runCount(h, "bulk")).toBe(2)
      expect(collisions.some((bytes) => bytes.includes(held))).toBe(true)
    }))

  it.scoped("events: a run whose key is held is not made, without an error", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("on-event", [task("t")], { ...ttl(60_000), eventTriggers: ["order:paid"] })
      const push = (id: string) =>
        h.runEither((state, now) => Ingest.pushEvent(state, tenantId, { key: "order:paid", payload: JSON.stringify({ id }) } as never, now))
      const first = yield* push("o-1")
      const second = yield* push("o-1")
      expect(first.triggeredRuns).toHaveLength(1)
      expect(second.triggeredRuns).toEqual([])
      expect(yield* runCount(h, "on-event")).toBe(1)
    }))

  it.scoped("a key that is not a string, fails, or uses the reserved prefix refuses the trigger (a deliberate difference)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      yield* h.putWorkflow("bad-key", [task("t")], ttl(60_000))
      const cases: Array<[unknown, string]> = [
        [{}, "Invalid request: failed to evaluate idempotency key expression \"input.id\": no such key: id"],
        [
          { id: 3 },
          "Invalid request: failed to evaluate idempotency key expression \"input.id\": output must evaluate to a string: got double"
        ],
        [{ id: "hatchet_internal_x" }, "Invalid request: idempotency key \"hatchet_internal_x\" uses reserved prefix \"hatchet_internal_\""]
      ]
      for (const [input, message] of cases) {
        const error = yield* refusal(h.trigger("bad-key", input))
        expect({ code: grpcStatusOf(error), message: error.message }).toEqual({ code: Status.INVALID_ARGUMENT, message })
      }
      expect(yield* runCount(h, "bad-key")).toBe(0)
    }))

  it.scoped("registration: an expression the CEL compiler refuses is invalid", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness
      const error = yield* refusal(h.putWorkflow("bad-expression", [task("t")], { idempotency: { expression: "input.", ttlMs: 10 } }))
      expect(grpcStatusOf(error)).toBe(Status.INVALID_ARGUMENT)
      expect(error.message).toContain("'CreateWorkflowVersionOpts.Idempotency.Expression': Invalid CEL expression")
    }))
})
