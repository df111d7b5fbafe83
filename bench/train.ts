// Fine-tuning throughput per method, the same work as `../shared/bench/torch_baseline.py` (BERT) and
// bench/torch/torch_baseline_arch.py (--arch electra|deberta|modernbert): a random classifier, one batch,
// forward + backward (two dropout passes and the KL gradient norms for ROSE first order / ensemble),
// clipping to norm 1 and the (selective) AdamW step.
import { RoseAdamW, type RoseMethod } from "../src/optim/adamw.ts";
import { clipCoefficient } from "../src/optim/clip.ts";
import { eligibleFrom } from "../src/optim/rose.ts";
import { TrainStep } from "../src/train/step.ts";
import { peakRssMib, randomBatch, randomModel } from "./models.ts";
import { median, parseFlags, timeIt } from "./util.ts";

const METHODS: Record<string, RoseMethod> = { vanilla: "vanilla", first: "rose-first", second: "rose-second", ensemble: "rose-ensemble" };

export async function benchTrain(argv: string[]): Promise<Record<string, unknown>> {
  const f = parseFlags(argv, {
    arch: "bert",
    config: "mini",
    method: "vanilla",
    batch: 32,
    seq: 128,
    steps: 10,
    warmup: 2,
    threads: 0,
    profile: "",
  });
  const method = METHODS[f.method];
  if (!method) throw new Error(`--method must be one of ${Object.keys(METHODS).join(", ")}`);
  const model = randomModel(f.config, f.arch);
  const step = await TrainStep.build(model, {
    method,
    klDropout: 0.1,
    rdropAlpha: 0,
    eligible: eligibleFrom(),
    granularity: "tensor",
    regression: false,
    threads: f.threads || undefined,
    profilePrefix: f.profile || undefined,
  });
  const opt = new RoseAdamW({ lr: 2e-5, betas: [0.9, 0.98], weightDecay: 0.01, method, upper: 70, lower: 0 });
  const b = randomBatch(f.batch, f.seq);
  let counter = 0;
  const times = await timeIt(f.steps, f.warmup, async () => {
    const r = await step.run(b, model.params, { seed: 0, counter: counter++ });
    opt.step({ params: model.params, grads: r.grads, gradScale: clipCoefficient(r.gradNorm, 1), klGradNorms: r.klGradNorms ?? undefined });
  });
  if (f.profile) step.endProfiling();
  const s = median(times) / 1000;
  return {
    impl: "rose-onnxruntime",
    arch: f.arch,
    config: f.config,
    method: f.method,
    batch: f.batch,
    seq: f.seq,
    step_s: +s.toFixed(4),
    samples_per_s: +(f.batch / s).toFixed(2),
    tokens_per_s: +((f.batch * f.seq) / s).toFixed(1),
    peak_rss_mib: +peakRssMib().toFixed(1),
  };
}
