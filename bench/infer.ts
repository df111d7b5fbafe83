// Evaluation throughput of a random BERT-shaped classifier (eval mode, no dropout), the same work as
// `../shared/bench/torch_baseline.py --method eval`.
import { Graph, Program } from "../src/engine/index.ts";
import type { HostTensor } from "../src/engine/index.ts";
import { ParamScope } from "../src/models/index.ts";
import { frozenWeights } from "../src/train/predict.ts";
import { forwardFlops, peakRssMib, randomBatch, randomModel } from "./models.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchInfer(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { config: "mini", batch: 32, seq: 128, steps: 10, warmup: 2, threads: 0 });
  const model = randomModel(f.config);
  const arch = model.arch;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const ctx = { scope, train: false };
  const logits = arch.logits(ctx, inputs);
  // As `rose eval` / Predictor run it: weights embedded (pre-packed by onnxruntime).
  const prog = await Program.compile(g, { logits }, frozenWeights(model, f.threads || undefined));
  const b = randomBatch(f.batch, f.seq);
  const dims = [b.batch, b.seq];
  const feeds: Record<string, HostTensor | Float32Array> = {
    input_ids: { data: b.inputIds, dims }, attention_mask: { data: b.attentionMask, dims }, token_type_ids: { data: b.tokenTypeIds, dims },
  };
  const times = await timeIt(f.steps, f.warmup, () => prog.run(feeds));
  const s = median(times) / 1000;
  return {
    impl: "rose-onnxruntime", config: f.config, method: "eval", batch: f.batch, seq: f.seq,
    step_s: +s.toFixed(4), samples_per_s: +(f.batch / s).toFixed(2), tokens_per_s: +((f.batch * f.seq) / s).toFixed(1),
    gflops: +(forwardFlops(f.config, f.batch, f.seq) / s / 1e9).toFixed(1), peak_rss_mib: +peakRssMib().toFixed(1),
  };
}
