// onnxruntime's float32 matmul (MLAS sgemm) on one BERT-base layer's shapes: what the engine's matmuls can
// reach here. Weights fed per run (as in training) and embedded as initializers (pre-packed, as in inference).
import { Graph, ops, Program, Rng } from "../src/engine/index.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchGemm(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { shape: "1024x768x3072", reps: 15, threads: 0 });
  const [M, K, N] = f.shape.split("x").map(Number) as [number, number, number];
  if (![M, K, N].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`--shape must be MxKxN, got ${f.shape}`);
  const rng = new Rng(0);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const x = rand(M * K), w = rand(K * N);
  const result: Record<string, unknown> = { impl: "rose-onnxruntime", shape: f.shape };
  for (const embedded of [false, true]) {
    const g = new Graph();
    const y = ops.matmul(g.input("x", "float32", [M, K]), g.param("w", [K, N]));
    const p = await Program.compile(g, { y }, { threads: f.threads || undefined, initializers: embedded ? new Map([["w", w]]) : undefined });
    const feeds: Record<string, Float32Array> = embedded ? { x } : { x, w };
    const ms = median(await timeIt(f.reps, 3, () => p.run(feeds)));
    await p.release();
    result[embedded ? "prepacked_gflops" : "fed_gflops"] = +((2 * M * K * N) / ms / 1e6).toFixed(1);
  }
  return result;
}
