/**
 * The worker's batch runner, engine-free: reading a `START_BATCH` payload and splitting item
 * reports into calls that fit in a gRPC message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { chunkReports, parseBatchItems } from "../src/internal/batch.js"

describe("batch runner", () => {
  it("reads the items of a START_BATCH payload in the engine's order; an item without its fields keeps its id", () => {
    const payload = JSON.stringify({
      "0a": { workflow_run_id: "run-a", payload: { input: { n: 1 } } },
      "0b": { workflow_run_id: "run-b", payload: { input: { n: 2 } } },
      "0c": "garbage"
    })
    expect(Either.getOrThrow(parseBatchItems(payload))).toEqual([
      { taskRunExternalId: "0a", workflowRunId: "run-a", payload: { input: { n: 1 } } },
      { taskRunExternalId: "0b", workflowRunId: "run-b", payload: { input: { n: 2 } } },
      { taskRunExternalId: "0c", workflowRunId: "", payload: undefined }
    ])
    expect(parseBatchItems("[1]")).toEqual(Either.left("the START_BATCH payload is not a JSON object"))
    expect(Either.isLeft(parseBatchItems("{"))).toBe(true)
  })

  it("splits reports by size (UTF-8 bytes) and by count; an item larger than a call goes alone", () => {
    const item = (id: number, payload: string) => ({ taskRunExternalId: String(id), eventPayload: payload })
    const sizes = (calls: ReadonlyArray<ReadonlyArray<unknown>>) => calls.map((c) => c.length)
    // 4 items of 1,000 bytes (plus 96 for their fields) in calls of 2,500 bytes: 2 by 2
    expect(sizes(chunkReports([1, 2, 3, 4].map((i) => item(i, "x".repeat(1000))), 2_500))).toEqual([2, 2])
    // "é" is 2 bytes: 3 of 600 characters (1,296 bytes each with fields) do not fit two by two
    expect(sizes(chunkReports([1, 2, 3].map((i) => item(i, "é".repeat(600))), 2_500))).toEqual([1, 1, 1])
    expect(sizes(chunkReports([item(1, "x".repeat(5000)), item(2, "y")], 2_500))).toEqual([1, 1])
    expect(sizes(chunkReports(Array.from({ length: 1200 }, (_, i) => item(i, "")), 10_000_000))).toEqual([500, 500, 200])
    expect(chunkReports([], 100)).toEqual([])
  })
})
