// Length buckets for inference: rows sorted by length are split into runs, each padded to its own
// longest row, so that short rows do not pay for long ones. The split is the cheapest under a simple
// cost model (token positions computed plus a fixed cost per run), found by dynamic programming.

/**
 * The fixed cost of one onnxruntime run, in token positions: rose-mini on one thread took ~4.5 ms for a
 * run of one 8-token row and ~55 us per token in runs of 512-1024 tokens (probe on a loaded machine).
 */
export const RUN_OVERHEAD_TOKENS = 64;

/**
 * Consecutive runs [start, end) over `sorted` (row lengths in ascending order) minimising
 * sum(overhead + rows x longest row). A run whose longest row has length L holds at most maxRows(L) rows.
 */
export function lengthBuckets(
  sorted: readonly number[],
  maxRows: (len: number) => number,
  overhead = RUN_OVERHEAD_TOKENS,
): [number, number][] {
  const n = sorted.length;
  const cost = new Float64Array(n + 1).fill(Infinity);
  const from = new Int32Array(n + 1);
  cost[0] = 0;
  for (let end = 1; end <= n; end++) {
    const len = sorted[end - 1]!;
    if (end > 1 && len < sorted[end - 2]!) throw new RangeError("lengthBuckets: lengths must be in ascending order");
    const low = Math.max(0, end - Math.max(1, maxRows(len)));
    for (let start = end - 1; start >= low; start--) {
      const c = cost[start]! + overhead + (end - start) * len;
      // <=: of equal costs, the fewer, larger runs.
      if (c <= cost[end]!) {
        cost[end] = c;
        from[end] = start;
      }
    }
  }
  const runs: [number, number][] = [];
  for (let end = n; end > 0; end = from[end]!) runs.push([from[end]!, end]);
  return runs.reverse();
}
