// onnxruntime's float32 matmul (MLAS sgemm) on one BERT-base layer's shapes: what the engine's matmuls can
// reach here. Weights fed per run (as in training) and embedded as initializers (pre-packed, as in inference);
// and, for comparison, the same product as MLAS's NCHWc 1x1 convolution (its fastest float32 kernel here),
// which needs the weight in a 16x16-blocked layout and the activations converted into and out of its layout.
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { Graph, ops, Program, Rng } from "../src/engine/index.ts";
import { encodeModel } from "../src/engine/proto.ts";
import type { TensorProtoData } from "../src/engine/proto.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchGemm(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { shape: "1024x768x3072", reps: 15, threads: 0 });
  const [M, K, N] = f.shape.split("x").map(Number) as [number, number, number];
  if (![M, K, N].every((d) => Number.isInteger(d) && d > 0)) throw new Error(`--shape must be MxKxN, got ${f.shape}`);
  const rng = new Rng(0);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const x = rand(M * K),
    w = rand(K * N);
  const gflops = (ms: number) => +((2 * M * K * N) / ms / 1e6).toFixed(1);
  const result: Record<string, unknown> = { impl: "rose-onnxruntime", shape: f.shape };
  for (const embedded of [false, true]) {
    const g = new Graph();
    const y = ops.matmul(g.input("x", "float32", [M, K]), g.param("w", [K, N]));
    const p = await Program.compile(
      g,
      { y },
      { threads: f.threads || undefined, initializers: embedded ? new Map([["w", w]]) : undefined },
    );
    const feeds: Record<string, Float32Array> = embedded ? { x } : { x, w };
    const ms = median(await timeIt(f.reps, 3, () => p.run(feeds)));
    await p.release();
    result[embedded ? "prepacked_gflops" : "fed_gflops"] = gflops(ms);
  }
  if (K % 16 === 0 && N % 16 === 0) result.nchwc_fed_gflops = gflops(await nchwcMs(M, K, N, x, w, f.reps, f.threads));
  return result;
}

/** x[M,K] w[K,N] as ReorderInput -> com.microsoft.nchwc Conv (weight fed, blocked) -> ReorderOutput. */
async function nchwcMs(M: number, K: number, N: number, x: Float32Array, w: Float32Array, reps: number, threads: number): Promise<number> {
  // OIHWBiBo filter layout: element (o, i) at [o/16][i/16][i%16][o%16].
  const blocked = new Float32Array(K * N);
  for (let i = 0; i < K; i++)
    for (let o = 0; o < N; o++) blocked[(((o >> 4) * (K >> 4) + (i >> 4)) * 16 + (i & 15)) * 16 + (o & 15)] = w[i * N + o]!;
  const shape = (name: string, dims: number[]): TensorProtoData => {
    const data = new BigInt64Array(dims.map(BigInt));
    return { kind: "tensor", name, dtype: "int64", dims: [dims.length], raw: new Uint8Array(data.buffer) };
  };
  const nchwc = "com.microsoft.nchwc";
  const bytes = encodeModel({
    irVersion: 8,
    producer: "rose-bench",
    opsets: [
      { domain: "", version: 18 },
      { domain: nchwc, version: 1 },
    ],
    graph: {
      name: "nchwc-gemm",
      nodes: [
        { opType: "Reshape", inputs: ["x", "nhwc"], outputs: ["x4"] },
        { opType: "ReorderInput", domain: nchwc, inputs: ["x4"], outputs: ["xb"], attrs: { channels_last: 1 } },
        { opType: "Conv", domain: nchwc, inputs: ["xb", "w"], outputs: ["yb"], attrs: { kernel_shape: [1, 1] } },
        { opType: "ReorderOutput", domain: nchwc, inputs: ["yb"], outputs: ["y4"], attrs: { channels_last: 1, channels: N } },
        { opType: "Reshape", inputs: ["y4", "flat"], outputs: ["y"] },
      ],
      initializers: [shape("nhwc", [1, M, 1, K]), shape("flat", [M, N])],
      inputs: [
        { name: "x", dtype: "float32", shape: [M, K] },
        { name: "w", dtype: "float32", shape: [N, K, 1, 1] },
      ],
      outputs: [{ name: "y", dtype: "float32", shape: [M, N] }],
    },
  });
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads || availableParallelism(),
    executionMode: "sequential",
  });
  const feeds = { x: new ort.Tensor("float32", x, [M, K]), w: new ort.Tensor("float32", blocked, [N, K, 1, 1]) };
  // Check the layout before timing: a few entries against the plain product.
  const y = (await session.run(feeds)).y!.data as Float32Array;
  for (const [m, n] of [
    [0, 0],
    [M - 1, N - 1],
    [M >> 1, N >> 2],
  ] as const) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[m * K + k]! * w[k * N + n]!;
    if (Math.abs(s - y[m * N + n]!) > 1e-3 * Math.sqrt(K)) throw new Error(`nchwc product wrong at ${m},${n}: ${y[m * N + n]} vs ${s}`);
  }
  const ms = median(await timeIt(reps, 3, () => session.run(feeds)));
  await session.release();
  return ms;
}
