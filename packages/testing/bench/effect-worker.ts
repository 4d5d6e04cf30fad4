/**
 * Our worker for `pnpm bench`, in its own process: one no-op standalone task `bench-noop` (the
 * name the official SDK's benchmark worker, packages/engine/bench/worker.ts, registers), returning
 * `{}` as it does, with `BENCH_SLOTS` slots; connects with the `HATCHET_CLIENT_*` environment the
 * parent passes (BENCH_COMPRESSION sets `grpcCompression`, BENCH_COMPRESSION_MIN_BYTES
 * `grpcCompressionMinBytes`). Its input and output go
 * through their Schemas like any task's. ./report.ts answers
 * the parent's memory and metrics requests.
 */
import "./report.js"
import { Hatchet, Task, Worker } from "@effect-hatchet/sdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schema from "effect/Schema"

const Noop = Task.make("bench-noop", { output: Schema.Struct({}) })
const NoopLive = Noop.toLayer(() => Effect.succeed({}))

const WorkerLive = Worker.layer({
  name: "bench-worker",
  workflows: [NoopLive],
  slots: Number(process.env.BENCH_SLOTS ?? 100)
}).pipe(
  Layer.provide(Hatchet.layer({
    ...(process.env.BENCH_COMPRESSION === undefined
      ? {}
      : { grpcCompression: process.env.BENCH_COMPRESSION as "gzip" | "none" }),
    ...(process.env.BENCH_COMPRESSION_MIN_BYTES === undefined
      ? {}
      : { grpcCompressionMinBytes: Number(process.env.BENCH_COMPRESSION_MIN_BYTES) })
  })),
  Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
)

Layer.launch(WorkerLive).pipe(NodeRuntime.runMain)
