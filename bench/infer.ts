// Evaluation throughput of a random classifier (eval mode, no dropout), the same work as
// `../shared/bench/torch_baseline.py --method eval` (BERT) and bench/torch/torch_baseline_arch.py (the others).
import { Graph, Program } from "../src/engine/index.ts";
import type { HostTensor } from "../src/engine/index.ts";
import { ParamScope } from "../src/models/index.ts";
import { frozenWeights, rowsPerRun } from "../src/infer/predictor.ts";
import { forwardFlops, peakRssMib, randomBatch, randomModel } from "./models.ts";
import { median, parseFlags, timeIt } from "./util.ts";

export async function benchInfer(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, { arch: "bert", config: "mini", batch: 32, seq: 128, steps: 10, warmup: 2, threads: 0 });
  const model = randomModel(f.config, f.arch);
  const arch = model.arch;
  const g = new Graph();
  const scope = new ParamScope(g);
  const inputs = arch.inputs(g);
  const ctx = { scope, train: false };
  const logits = arch.logits(ctx, inputs);
  // As `rose eval` / Predictor run it: weights embedded (pre-packed by onnxruntime).
  const prog = await Program.compile(g, { logits }, frozenWeights(model, f.threads || undefined));
  const b = randomBatch(f.batch, f.seq);
  // The batch runs in the parts Predictor would use (rowsPerRun).
  const rows = rowsPerRun(model.cfg, f.seq);
  const parts: Record<string, HostTensor>[] = [];
  for (let r0 = 0; r0 < b.batch; r0 += rows) {
    const n = Math.min(rows, b.batch - r0);
    const dims = [n, b.seq];
    const part = (a: BigInt64Array): HostTensor => ({ data: a.subarray(r0 * b.seq, (r0 + n) * b.seq), dims });
    const feeds: Record<string, HostTensor> = { input_ids: part(b.inputIds), attention_mask: part(b.attentionMask) };
    if (arch.usesTokenTypes) feeds.token_type_ids = part(b.tokenTypeIds);
    parts.push(feeds);
  }
  const times = await timeIt(f.steps, f.warmup, async () => {
    for (const feeds of parts) await prog.run(feeds);
  });
  const s = median(times) / 1000;
  return {
    impl: "rose-onnxruntime",
    arch: f.arch,
    config: f.config,
    method: "eval",
    batch: f.batch,
    seq: f.seq,
    rows_per_run: rows,
    step_s: +s.toFixed(4),
    samples_per_s: +(f.batch / s).toFixed(2),
    tokens_per_s: +((f.batch * f.seq) / s).toFixed(1),
    gflops: +(forwardFlops(model.cfg, f.batch, f.seq, arch.firstTokenOnly) / s / 1e9).toFixed(1),
    peak_rss_mib: +peakRssMib().toFixed(1),
  };
}
