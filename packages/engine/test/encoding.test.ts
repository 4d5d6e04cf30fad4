/**
 * The server's response writer (`grpc/encoding.ts`): `AsciiWriter` writes the same bytes as the
 * library's writer, whatever the strings' lengths and characters, and one writer reused across
 * messages gives each message's bytes as a new writer would: copied out (`encodeReusing`), or as a
 * view of its buffer (`encodeTransient`), also after a message whose encoding threw.
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire"
import { ActionType, AssignedAction } from "@effect-hatchet/proto/dispatcher/dispatcher"
import { describe, expect, it } from "@effect/vitest"
import { AsciiWriter, encodeReusing, encodeTransient } from "../src/internal/grpc/encoding.js"

const action = (text: string): AssignedAction =>
  AssignedAction.fromPartial({
    tenantId: "707d0855-80ab-4e1f-a156-f1c4546cbb52",
    workflowRunId: text,
    jobId: "a",
    actionId: text.slice(0, 10),
    actionType: ActionType.START_STEP_RUN,
    actionPayload: `{"input":${JSON.stringify(text)}}`,
    retryCount: 2,
    additionalMetadata: text.repeat(3)
  })

describe("the response writer", () => {
  it("writes the library writer's bytes for strings of every length and kind", () => {
    const texts = [
      "",
      "x".repeat(32),
      "x".repeat(33),
      "707d0855-80ab-4e1f-a156-f1c4546cbb52",
      "y".repeat(127),
      "z".repeat(128),
      "é".repeat(40),
      `${"a".repeat(35)}\u007f`,
      `${"a".repeat(35)}\u0080`,
      `${"b".repeat(60)}😀`,
      "\u0000".repeat(50)
    ]
    const reused = new AsciiWriter()
    for (const text of texts) {
      const expected = AssignedAction.encode(action(text), new BinaryWriter()).finish()
      expect(AssignedAction.encode(action(text), new AsciiWriter()).finish()).toEqual(expected)
      expect(AssignedAction.encode(action(text), reused).finish()).toEqual(expected)
      expect(encodeReusing({ encode: AssignedAction.encode }, action(text))).toEqual(expected)
      expect(new Uint8Array(encodeTransient({ encode: AssignedAction.encode }, action(text)))).toEqual(expected)
      expect(AssignedAction.decode(expected)).toEqual(action(text))
    }
  })

  it("a transient encoding is a view of the writer's own buffer, not a copy", () => {
    const first = encodeTransient({ encode: AssignedAction.encode }, action("one"))
    const firstBuffer = first.buffer
    const second = encodeTransient({ encode: AssignedAction.encode }, action("two"))
    expect(second.buffer).toBe(firstBuffer)
    expect(AssignedAction.decode(second)).toEqual(action("two"))
  })

  it("a message whose encoding throws leaves nothing behind for the next one", () => {
    const expected = AssignedAction.encode(action("after"), new BinaryWriter()).finish()
    const throwing = {
      encode: (message: AssignedAction, writer?: BinaryWriter) => {
        AssignedAction.encode(message, writer).fork().string("half")
        throw new Error("cannot encode")
      }
    }
    expect(() => encodeTransient(throwing, action("before"))).toThrow("cannot encode")
    expect(new Uint8Array(encodeTransient({ encode: AssignedAction.encode }, action("after")))).toEqual(expected)
    expect(() => encodeReusing(throwing, action("before"))).toThrow("cannot encode")
    expect(encodeReusing({ encode: AssignedAction.encode }, action("after"))).toEqual(expected)
  })
})
