// Masked-LM pre-training throughput, the same work as `../shared/bench/torch_baseline.py --method mlm`:
// a random BERT with the MLM head (decoder tied to the word embeddings), synthetic ids in [5, vocab), 15% of
// positions drawn once and predicted unchanged (no [MASK] swap), their rows gathered before the head, the
// `rose pretrain` step (maskedLm objective), clipping to norm 1 and AdamW (lr 5e-4, betas 0.9/0.98, eps 1e-6,
// weight decay 0.01 off biases and LayerNorm). Timed: median over --steps after --warmup untimed steps, wall
// clock (step_s, tokens_per_s) and this process's CPU time (cpu_step_s: with --threads 1, the step's cost on
// a loaded machine); optimizer_s is the AdamW step's part of step_s.
import { performance } from "node:perf_hooks";
import { Rng } from "../src/engine/index.ts";
import { parseModelConfig } from "../src/io/config.ts";
import { PretrainedModel } from "../src/models/pretrained.ts";
import { RoseAdamW } from "../src/optim/adamw.ts";
import { clipCoefficient } from "../src/optim/clip.ts";
import { eligibleFrom } from "../src/optim/rose.ts";
import { maskedLm, mlmFeeds, PRESETS } from "../src/pretrain/masked-lm.ts";
import { type Batch, TrainStep } from "../src/train/step.ts";
import { peakRssMib } from "./models.ts";
import { median, parseFlags, timeSteps } from "./util.ts";

export async function benchPretrain(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, {
    config: "mini",
    vocab: 8192,
    batch: 32,
    seq: 128,
    steps: 10,
    warmup: 2,
    dropout: 0.1,
    threads: 0,
    profile: "",
  });
  const preset = PRESETS[f.config];
  if (!preset) throw new Error(`unknown --config ${f.config} (${Object.keys(PRESETS).join(", ")})`);
  if (!(f.vocab > 5)) throw new Error(`--vocab must be above 5, got ${f.vocab}`);
  const cfg = parseModelConfig({
    model_type: "bert",
    architectures: ["BertForMaskedLM"],
    ...preset,
    vocab_size: f.vocab,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: Math.max(512, f.seq),
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  });
  const model = PretrainedModel.random(cfg, null, ["mlm"], 0);
  const step = await TrainStep.build(
    model,
    {
      method: "vanilla",
      klDropout: 0.1,
      rdropAlpha: 0,
      eligible: eligibleFrom(),
      granularity: "tensor",
      regression: false,
      dropout: f.dropout,
      threads: f.threads || undefined,
      profilePrefix: f.profile || undefined,
    },
    maskedLm,
  );
  const opt = new RoseAdamW({ lr: 5e-4, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.01, method: "vanilla", upper: 70, lower: 0 });

  // One fixed batch, as the PyTorch script uses: ids uniform in [5, vocab), each position predicted with p 0.15.
  const rng = new Rng(0, 0x31a);
  const n = f.batch * f.seq;
  const inputIds = BigInt64Array.from({ length: n }, () => BigInt(5 + rng.int(f.vocab - 5)));
  const positions: number[] = [];
  for (let i = 0; i < n; i++) if (rng.next() < 0.15) positions.push(i);
  if (positions.length === 0) positions.push(0);
  const labels = BigInt64Array.from(positions, (p) => inputIds[p]!);
  const batch: Batch = {
    batch: f.batch,
    seq: f.seq,
    inputIds,
    attentionMask: new BigInt64Array(n).fill(1n),
    tokenTypeIds: new BigInt64Array(n),
  };
  const extra = mlmFeeds(f.batch, f.seq, positions, labels);

  let counter = 0;
  let loss = NaN;
  const optimMs: number[] = [];
  const times = await timeSteps(f.steps, f.warmup, async () => {
    const r = await step.run(batch, model.params, { seed: 0, counter: counter++ }, extra);
    const t = performance.now();
    opt.step({ params: model.params, grads: r.grads, gradScale: clipCoefficient(r.gradNorm, 1) });
    optimMs.push(performance.now() - t);
    loss = r.loss;
  });
  if (f.profile) step.endProfiling();
  if (!Number.isFinite(loss)) throw new Error(`the MLM loss is ${loss}: the benchmark step is broken`);
  const s = median(times.wall) / 1000;
  return {
    impl: "rose-onnxruntime",
    config: f.config,
    method: "mlm",
    vocab: f.vocab,
    batch: f.batch,
    seq: f.seq,
    predicted: positions.length,
    dropout: f.dropout,
    step_s: +s.toFixed(4),
    cpu_step_s: +(median(times.cpu) / 1000).toFixed(4),
    optimizer_s: +(median(optimMs.slice(f.warmup)) / 1000).toFixed(4),
    samples_per_s: +(f.batch / s).toFixed(2),
    tokens_per_s: +(n / s).toFixed(1),
    loss: +loss.toFixed(4),
    peak_rss_mib: +peakRssMib().toFixed(1),
  };
}
