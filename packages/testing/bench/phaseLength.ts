/**
 * How long a paced phase of the benchmarks lasts. Its runs are read from the engine once they have
 * all finished, and the engine keeps 10,000 finished runs per tenant by default (its retention),
 * pruning the oldest a second after the count is passed: a phase makes at most 9,000 runs, so
 * that none of its own is pruned before it is read (at half of a throughput above 6,000 tasks a
 * second, 3 s would make more).
 */

/** Runs a phase makes at most. */
export const phaseRunCap = 9_000

/** `seconds`, or less where `rate` a second would make more than `phaseRunCap` runs in them. */
export const phaseSeconds = (rate: number, seconds: number): number => Math.min(seconds, phaseRunCap / rate)
