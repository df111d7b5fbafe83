// Sums over every row (bias and LayerNorm gradients): onnxruntime's ReduceSum over the leading axis against
// ops.sumRows, a matmul with a row of ones (MLAS's matrix-vector path). Why the gradients use the latter.
import { Graph, ops, Program } from "../src/engine/index.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchRowSum(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { rows: 4096, reps: 50, threads: 0 });
  const out: Record<string, unknown> = { rows: f.rows };
  for (const cols of [256, 1024]) {
    const g = new Graph();
    const x = g.input("x", "float32", [f.rows, cols]);
    const threads = f.threads || undefined;
    const reduce = await Program.compile(g, { y: ops.reduceSum(x, [0]) }, { threads });
    const rows = await Program.compile(g, { y: ops.sumRows(x) }, { threads });
    const feeds = { x: { data: Float32Array.from({ length: f.rows * cols }, (_, i) => (i % 97) / 97), dims: [f.rows, cols] } };
    out[`reducesum_${cols}_ms`] = +median(await timeIt(f.reps, 5, () => reduce.run(feeds))).toFixed(3);
    out[`sumrows_${cols}_ms`] = +median(await timeIt(f.reps, 5, () => rows.run(feeds))).toFixed(3);
  }
  return out;
}
