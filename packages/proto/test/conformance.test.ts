/**
 * Our `proto/` must state Hatchet's gRPC contract exactly as the reference does, in everything
 * that reaches the wire: packages, services, methods and streaming kinds, messages, fields
 * (names, numbers, types, labels, proto3 optional, oneofs, maps), enums and values.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import fs from "node:fs"
import path from "node:path"
import { type Canonical, canonical, compile, differences, makeTempDir, repoRoot } from "./descriptors.js"

const ours = path.join(repoRoot, "proto")
// The upstream contracts live beside the repository (shared/), never inside it.
const reference = process.env.HATCHET_API_CONTRACTS_DIR ??
  path.resolve(repoRoot, "../shared/reference/hatchet-api-contracts")
const haveReference = fs.existsSync(path.join(reference, "dispatcher/dispatcher.proto"))
// The reference contract as canonical facts only (names, numbers, types, labels; no comments),
// committed so the comparison runs on any machine. Refresh: UPDATE_REFERENCE_SNAPSHOT=1.
const snapshotFile = path.join(repoRoot, "packages/proto/test/fixtures/reference-contract.json")

/**
 * What upstream added after the reference snapshot (engine v0.105.16 and v0.106.5: two concurrency
 * strategies, named tenant-scoped strategies, `max_runs` as an expression), which the official
 * TypeScript SDK 1.33.2 sends. Each addition is checked against that SDK's generated code below;
 * nothing else may differ.
 */
const newerThanReference = [
  "v1/workflows.proto.enums.ConcurrencyLimitStrategy.values.CANCEL_QUEUED_EXCEPT_NEWEST:",
  "v1/workflows.proto.enums.ConcurrencyLimitStrategy.values.CANCEL_QUEUED_EXCEPT_OLDEST:",
  "v1/workflows.proto.messages.Concurrency.fields.name:",
  "v1/workflows.proto.messages.Concurrency.fields.is_tenant_scoped:",
  "v1/workflows.proto.messages.Concurrency.fields.max_runs_expression:",
  "v1/workflows.proto.messages.Concurrency.oneofs:"
]
const isNewerThanReference = (difference: string) => newerThanReference.some((prefix) => difference.startsWith(prefix))

describe("proto conformance", () => {
  const temp = makeTempDir("effect-hatchet-proto-")
  afterAll(() => temp.remove())

  it.skipIf(!haveReference)("the committed snapshot states the reference contract", () => {
    const theirs = canonical(compile(reference, temp.dir, "reference"))
    if (process.env.UPDATE_REFERENCE_SNAPSHOT) {
      fs.mkdirSync(path.dirname(snapshotFile), { recursive: true })
      fs.writeFileSync(snapshotFile, JSON.stringify(theirs, null, 1) + "\n")
    }
    expect(differences(JSON.parse(fs.readFileSync(snapshotFile, "utf8")), theirs)).toEqual([])
  })

  it("proto/ compiles to the same wire contract as the reference", () => {
    // the OTLP trace protos (the engine's trace collector) are OpenTelemetry's, not Hatchet's contract
    const all = canonical(compile(ours, temp.dir, "ours")) as Readonly<Record<string, Canonical>>
    expect(Object.keys(all).filter((file) => file.startsWith("opentelemetry/")).sort()).toEqual([
      "opentelemetry/proto/collector/trace/v1/trace_service.proto",
      "opentelemetry/proto/common/v1/common.proto",
      "opentelemetry/proto/resource/v1/resource.proto",
      "opentelemetry/proto/trace/v1/trace.proto"
    ])
    const mine = Object.fromEntries(Object.entries(all).filter(([file]) => !file.startsWith("opentelemetry/")))
    const theirs = JSON.parse(fs.readFileSync(snapshotFile, "utf8"))
    expect(Object.keys(mine).sort()).toEqual([
      "dispatcher/dispatcher.proto",
      "events/events.proto",
      "v1/dispatcher.proto",
      "v1/shared/condition.proto",
      "v1/shared/trigger.proto",
      "v1/workflows.proto",
      "workflows/workflows.proto"
    ])
    const found = differences(mine, theirs)
    expect(found.filter((difference) => !isNewerThanReference(difference))).toEqual([])
    expect(found.filter(isNewerThanReference)).toHaveLength(newerThanReference.length)
  })

  it("the additions newer than the reference are the official SDK 1.33.2's, on the wire", async () => {
    const official = await import("@hatchet-dev/typescript-sdk/protoc/v1/workflows.js")
    const mine = await import("@effect-hatchet/proto/v1/workflows")
    const message = {
      expression: "input.group",
      maxRuns: 2,
      limitStrategy: 6,
      name: "shared",
      isTenantScoped: true,
      maxRunsExpression: "input.n"
    }
    const bytes = official.Concurrency.encode(official.Concurrency.fromPartial(message)).finish()
    expect(mine.Concurrency.decode(bytes)).toEqual(message)
    expect(official.Concurrency.decode(mine.Concurrency.encode(mine.Concurrency.fromPartial(message)).finish())).toEqual(message)
    expect(mine.ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST).toBe(official.ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_NEWEST)
    expect(mine.ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST).toBe(official.ConcurrencyLimitStrategy.CANCEL_QUEUED_EXCEPT_OLDEST)
  })

  it("a one-token change to a field, a method, an enum or a map is reported", () => {
    const theirs = JSON.parse(fs.readFileSync(snapshotFile, "utf8"))
    const mutate = (name: string, file: string, from: RegExp, to: string) => {
      const out = canonical(compile(ours, temp.dir, name, (f, text) => {
        if (f !== file) return text
        expect(text).toMatch(from)
        return text.replace(from, to)
      }))
      return differences(out, theirs)
    }
    // field number
    expect(mutate("m1", "dispatcher/dispatcher.proto", /string worker_id = 1;/, "string worker_id = 9;"))
      .toContainEqual(expect.stringMatching(/fields\.worker_id\.number: ours 9, reference 1/))
    // streaming kind
    expect(
      mutate(
        "m2",
        "dispatcher/dispatcher.proto",
        /rpc ListenV2\s*\(\s*WorkerListenRequest\s*\)\s*returns\s*\(\s*stream/,
        "rpc ListenV2(WorkerListenRequest) returns ("
      )
    ).toContainEqual(expect.stringContaining("methods.ListenV2.serverStreaming"))
    // proto3 optional dropped
    expect(mutate("m3", "events/events.proto", /optional string additional_metadata/, "string additional_metadata"))
      .toContainEqual(expect.stringContaining("additional_metadata.proto3Optional"))
    // an enum value renumbered
    expect(mutate("m4", "v1/shared/condition.proto", /QUEUE = 1;/, "QUEUE = 7;"))
      .toContainEqual(expect.stringMatching(/enums\.Action\.values\.QUEUE\.number: ours 7, reference 1/))
    // a map's value type
    expect(mutate("m5", "dispatcher/dispatcher.proto", /map<string, WorkerLabels> labels = 2;/, "map<string, string> labels = 2;"))
      .toContainEqual(expect.stringMatching(/UpsertWorkerLabelsRequest\.messages\.LabelsEntry\.fields\.value\.type/))
  })
})
