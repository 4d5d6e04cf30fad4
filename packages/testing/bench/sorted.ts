/**
 * Look-ups in sorted numbers for the benchmarks.
 */

/** The last of `sorted` (ascending) at or before `x`, or undefined when none is. */
export const lastAtOrBefore = (sorted: ReadonlyArray<number>, x: number): number | undefined => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? undefined : sorted[lo - 1]
}
