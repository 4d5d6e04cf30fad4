/**
 * How long a paced phase of the benchmarks that reads its runs at its end lasts (`pnpm bench`'s old
 * measure in 50 ms bursts, `pnpm bench:steady`): the engine keeps 10,000 finished runs per tenant
 * by default (its retention), pruning the oldest a second after the count is passed, so such a
 * phase makes at most 9,000 runs, none of which is pruned before it is read (at half of a
 * throughput above 6,000 tasks a second, 3 s would make more). `pnpm bench`'s steady phase reads
 * its runs as they finish instead (./finishedRuns.ts), and reports the p99 of each 9,000 of them.
 */

/** Runs a phase makes at most. */
export const phaseRunCap = 9_000

/** `seconds`, or less where `rate` a second would make more than `phaseRunCap` runs in them. */
export const phaseSeconds = (rate: number, seconds: number): number => Math.min(seconds, phaseRunCap / rate)
