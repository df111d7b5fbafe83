// One BERT-base encoder layer (hidden 768, 12 heads, FFN 3072, GELU, dropout 0.1 in training mode),
// forward and forward+backward, the same work as ../shared/bench/torch_layer.py.
import { Graph, grad, ops, Program, Rng } from "../src/engine/index.ts";
import type { Tensor } from "../src/engine/index.ts";
import { parseModelConfig } from "../src/io/config.ts";
import { BertLayer } from "../src/models/bert.ts";
import { ParamScope } from "../src/models/index.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchEngine(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { batch: 8, seq: 128, reps: 8, threads: 0, profile: "" });
  const B = f.batch,
    T = f.seq,
    H = 768,
    F = 3072;
  const cfg = parseModelConfig({
    model_type: "bert",
    hidden_size: H,
    num_attention_heads: 12,
    intermediate_size: F,
    num_hidden_layers: 1,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    layer_norm_eps: 1e-12,
  });
  const build = (withGrad: boolean) => {
    const g = new Graph();
    const scope = new ParamScope(g);
    const x = g.input("x", "float32", ["batch", "seq", H]);
    const mask = g.input("mask", "float32", ["batch", 1, 1, "seq"]);
    const layer = new BertLayer("layer", cfg);
    const y = layer.forward({ scope, train: true }, x, mask);
    const outs: Record<string, Tensor> = {};
    if (withGrad) {
      const cot = g.input("cot", "float32", ["batch", "seq", H]);
      const wrt = [x, ...scope.tensors.values()];
      const grads = grad(ops.reduceSum(ops.mul(y, cot)), wrt);
      grads.forEach((t, i) => {
        outs[`g${i}`] = t!;
      });
    } else {
      outs.y = y;
    }
    return { g, scope, outs };
  };
  const rng = new Rng(0);
  const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);
  const fwd = build(false),
    bwd = build(true);
  const threads = f.threads || undefined;
  const pf = await Program.compile(fwd.g, fwd.outs, { threads });
  const pb = await Program.compile(bwd.g, bwd.outs, {
    threads,
    profilePrefix: f.profile || undefined,
    optimizedModelPath: f.profile ? `${f.profile}-optimized.onnx` : undefined,
  });
  const feeds: Record<string, Float32Array | { data: Float32Array; dims: number[] }> = {
    x: { data: rand(B * T * H), dims: [B, T, H] },
    mask: { data: new Float32Array(B * T), dims: [B, 1, 1, T] },
    cot: { data: rand(B * T * H), dims: [B, T, H] },
  };
  for (const [name, t] of bwd.scope.tensors) {
    const n = (t.shape as number[]).reduce((a, d) => a * d, 1);
    feeds[name] = name.endsWith("LayerNorm.weight") ? new Float32Array(n).fill(1) : rand(n, 0.02);
  }
  const fwdFeeds = { x: feeds.x!, mask: feeds.mask!, ...Object.fromEntries([...fwd.scope.tensors.keys()].map((k) => [k, feeds[k]!])) };
  let counter = 0;
  const fw = await timeIt(f.reps, 2, () => pf.run(fwdFeeds, { seed: 1, counter: counter++ }));
  // Gradient outputs go into preallocated buffers, as in training.
  const into: Record<string, { data: Float32Array; dims: number[] }> = {};
  [...bwd.scope.tensors.values()].forEach((t, i) => {
    const dims = t.shape as number[];
    into[`g${i + 1}`] = { data: new Float32Array(dims.reduce((a, d) => a * d, 1)), dims };
  });
  const fb = await timeIt(f.reps, 2, () => pb.run(feeds, { seed: 1, counter: counter++ }, into));
  if (f.profile) pb.endProfiling();
  const fwdFlops = 2 * B * T * H * H * 4 + 2 * 2 * B * T * T * H + 2 * 2 * B * T * H * F;
  const fwdBwdMs = median(fb);
  return {
    impl: "rose-onnxruntime",
    batch: B,
    seq: T,
    fwd_ms: +median(fw).toFixed(1),
    fwd_bwd_ms: +fwdBwdMs.toFixed(1),
    gflops: +((3 * fwdFlops) / (fwdBwdMs / 1000) / 1e9).toFixed(1),
  };
}
