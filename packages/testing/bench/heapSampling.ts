/**
 * V8's sampling heap profiler as the benchmarks run it, in a worker (BENCH_HEAP_PROFILE,
 * ./report.ts), in the bench process (BENCH_ENGINE_HEAP_PROFILE, ./compare.ts) or in
 * `bench:worker-cpu` (BENCH_ALLOC, ./worker-cpu.ts): a sample every 4 KiB allocated, keeping what
 * no scavenge freed (promoted to the old generation, or still live), or with `everything` every
 * allocation (those scavenges freed too). Node's modules are imported on the first use, so that a
 * worker that does not sample never loads them.
 */

/**
 * Starts sampling (`everything`: by default with BENCH_HEAP_PROFILE_ALL=1); the function returned
 * stops it and writes the profile to `file`.
 */
export const startHeapSampling = async (
  everything = process.env.BENCH_HEAP_PROFILE_ALL === "1"
): Promise<(file: string) => Promise<void>> => {
  const inspector = await import("node:inspector/promises")
  const session = new inspector.Session()
  session.connect()
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: everything
  })
  return async (file) => {
    const { profile } = await session.post("HeapProfiler.stopSampling")
    session.disconnect()
    const fs = await import("node:fs")
    fs.writeFileSync(file, JSON.stringify(profile))
  }
}
