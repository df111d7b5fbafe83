// Fine-tuning: vanilla AdamW or ROSE, with Hugging Face Trainer's flags and defaults, exact resume from
// atomic checkpoints, evaluation each epoch and the best model kept by the task metric.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Rng } from "../engine/index.ts";
import { computeMetrics, mainMetric } from "../data/metrics.ts";
import type { Example } from "../data/readers.ts";
import type { Task } from "../data/tasks.ts";
import { ConfigError, DivergenceError } from "../errors.ts";
import { readSafetensors, writeFileAtomic } from "../io/safetensors.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { RoseAdamW, type RoseMethod } from "../optim/adamw.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { clipCoefficient, gradNorm as globalGradNorm } from "../optim/clip.ts";
import { linearSchedule, warmupStepsFromRatio } from "../optim/schedule.ts";
import { eligibleFrom } from "../optim/select.ts";
import { chunks, collate, encodeExamples, type EncodedExample, maxInputLength } from "./batches.ts";
import { argmax, Predictor } from "./predict.ts";
import { createProgress } from "./progress.ts";
import { TrainStep } from "./step.ts";

export interface TrainOptions {
  outputDir: string;
  learningRate: number;
  batchSize: number;
  evalBatchSize: number;
  numTrainEpochs: number;
  /** Stop after this many optimizer steps (overrides epochs when > 0). */
  maxSteps: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  maxGradNorm: number;
  warmupRatio: number;
  warmupSteps: number;
  gradientAccumulationSteps: number;
  maxSeqLength: number;
  padToMaxLength: boolean;
  seed: number;
  method: RoseMethod;
  upper: number;
  lower: number;
  gamma: number;
  klDropout: number;
  rdropAlpha: number;
  roseGranularity: "tensor" | "element";
  roseEligible?: string;
  loggingSteps: number;
  /** Checkpoint every N optimizer steps (0: only at epoch ends). */
  saveSteps: number;
  resume: boolean;
  /** Pause after this many epochs (0: never): checkpoint and return, to continue later with `resume` on the
   * same learning-rate schedule (a successive-halving rung). */
  stopAfterEpoch: number;
  /** Write output-dir/rose_masks.jsonl. */
  saveMasks: boolean;
  threads?: number;
  quiet: boolean;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  outputDir: "out",
  learningRate: 5e-5,
  batchSize: 8,
  evalBatchSize: 64,
  numTrainEpochs: 3,
  maxSteps: 0,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  warmupRatio: 0,
  warmupSteps: 0,
  gradientAccumulationSteps: 1,
  maxSeqLength: 128,
  padToMaxLength: false,
  seed: 42,
  method: "vanilla",
  upper: 70,
  lower: 0,
  gamma: 0.5,
  klDropout: 0.1,
  rdropAlpha: 0,
  roseGranularity: "tensor",
  loggingSteps: 50,
  saveSteps: 500,
  resume: false,
  stopAfterEpoch: 0,
  saveMasks: true,
  quiet: false,
};

export interface TrainResult {
  globalStep: number;
  epochs: number;
  trainLoss: number;
  bestMetric: number | null;
  evalHistory: Record<string, number>[];
  trainSeconds: number;
  samplesPerSecond: number;
  /** True when `stopAfterEpoch` paused the run before its end (no final model was written). */
  stopped?: boolean;
}

/** Where a run stands: everything besides weights and optimizer moments needed to continue it exactly. */
interface RunState {
  globalStep: number;
  /** Micro-batches done (dropout counter). */
  microStep: number;
  epoch: number;
  /** Micro-batches done within `epoch`. */
  batchInEpoch: number;
  bestMetric: number | null;
  bestStep: number | null;
  logHistory: Record<string, unknown>[];
  lossSum: number;
  lossCount: number;
  trainSeconds: number;
  samplesSeen: number;
}

export class Trainer {
  private readonly o: TrainOptions;
  constructor(
    readonly model: PretrainedModel,
    readonly task: Task,
    readonly train: readonly Example[],
    readonly validation: readonly Example[] | null,
    opts: Partial<TrainOptions>,
  ) {
    this.o = { ...TRAIN_DEFAULTS, ...opts };
    validateTrainOptions(this.o);
    if (train.length === 0) throw new ConfigError("the training set is empty");
    if (!model.tokenizer) throw new ConfigError("the model has no tokenizer");
  }

  private log(line: string): void {
    if (!this.o.quiet) process.stderr.write(`${line}\n`);
  }

  async run(): Promise<TrainResult> {
    const o = this.o;
    const tok = this.model.tokenizer!;
    mkdirSync(o.outputDir, { recursive: true });
    const regression = this.task.isRegression;
    const maxLen = maxInputLength(this.model.cfg, o.maxSeqLength);
    const encoded = await encodeExamples(tok, this.train, maxLen);
    const valEncoded = this.validation ? await encodeExamples(tok, this.validation, maxLen) : null;

    const microPerEpoch = Math.ceil(encoded.length / o.batchSize);
    const stepsPerEpoch = Math.ceil(microPerEpoch / o.gradientAccumulationSteps);
    const totalSteps = o.maxSteps > 0 ? o.maxSteps : stepsPerEpoch * o.numTrainEpochs;
    const epochs = o.maxSteps > 0 ? Math.ceil(o.maxSteps / stepsPerEpoch) : o.numTrainEpochs;
    const warmup = o.warmupSteps > 0 ? o.warmupSteps : warmupStepsFromRatio(o.warmupRatio, totalSteps);
    const lrAt = linearSchedule({ baseLr: o.learningRate, warmupSteps: warmup, totalSteps });
    const optimizer = new RoseAdamW({
      lr: o.learningRate, betas: [o.adamBeta1, o.adamBeta2], eps: o.adamEpsilon, weightDecay: o.weightDecay,
      method: o.method, upper: o.upper, lower: o.lower, gamma: o.gamma, numWarmupSteps: warmup,
      granularity: o.roseGranularity, eligible: o.roseEligible,
    });
    const step = await TrainStep.build(this.model, {
      method: o.method, klDropout: o.klDropout, rdropAlpha: o.rdropAlpha, eligible: eligibleFrom(o.roseEligible),
      granularity: o.roseGranularity, regression, threads: o.threads,
    });

    let st: RunState = {
      globalStep: 0, microStep: 0, epoch: 0, batchInEpoch: 0, bestMetric: null, bestStep: null, logHistory: [],
      lossSum: 0, lossCount: 0, trainSeconds: 0, samplesSeen: 0,
    };
    const metricsFile = join(o.outputDir, "metrics.jsonl");
    const masksFile = join(o.outputDir, "rose_masks.jsonl");
    if (o.resume) {
      const resumed = loadCheckpoint<RunState>(o.outputDir, this.model, optimizer, { template: st, step: (s) => s.globalStep });
      if (resumed) {
        st = resumed;
        this.log(`resuming from step ${st.globalStep} (epoch ${st.epoch + 1}, batch ${st.batchInEpoch})`);
        truncateJsonl(metricsFile, st.globalStep);
        truncateJsonl(masksFile, st.globalStep);
      } else {
        this.log("--resume: no checkpoint found, starting from scratch");
      }
    } else {
      for (const f of [metricsFile, masksFile]) rmSync(f, { force: true });
    }
    const logRecord = (rec: Record<string, unknown>) => {
      appendFileSync(metricsFile, `${JSON.stringify(rec)}\n`);
      st.logHistory.push(rec);
    };

    const progress = createProgress(`train ${o.method}`, totalSteps, { quiet: o.quiet });
    let accGrads: Map<string, Float32Array> | null = null;
    let accKl: Map<string, number> | null = null;
    let accKlGrads: Map<string, Float32Array> | null = null;
    let accLoss = 0, accCe = 0, accKlLoss = 0, accN = 0;
    let windowStart = performance.now(), windowSamples = 0;
    const evalHistory: Record<string, number>[] = [];
    const padId = tok.specialIds.pad;

    let stopped = false;
    outer: for (let epoch = st.epoch; epoch < epochs; epoch++) {
      // Checked before the epoch, so a resume of a run that already reached the pause returns at once.
      if (o.stopAfterEpoch > 0 && epoch >= o.stopAfterEpoch) {
        stopped = true;
        break;
      }
      const order = new Rng(o.seed, 0xda7a, epoch).shuffle(encoded.map((_, i) => i));
      const batches = chunks(order, o.batchSize);
      const startBatch = epoch === st.epoch ? st.batchInEpoch : 0;
      for (let bi = startBatch; bi < batches.length; bi++) {
        const t0 = performance.now();
        const rows = batches[bi]!.map((i) => encoded[i]!);
        const batch = collate(rows, padId, { padTo: o.padToMaxLength ? maxLen : undefined, regression });
        const r = await step.run(batch, this.model.params, { seed: o.seed, counter: st.microStep });
        if (!Number.isFinite(r.loss)) {
          throw new DivergenceError(`loss is ${r.loss} at step ${st.globalStep + 1} (epoch ${epoch + 1}, batch ${bi + 1}); the last good checkpoint in ${o.outputDir} is intact`);
        }
        st.microStep++;
        st.batchInEpoch = bi + 1;
        // Gradient accumulation: average the micro-batches' gradients (and KL signals).
        const ga = o.gradientAccumulationSteps;
        if (ga === 1) {
          accGrads = r.grads;
          accKl = r.klGradNorms;
          accKlGrads = r.klGrads;
        } else {
          accGrads = addScaled(accGrads, r.grads, 1 / ga);
          if (r.klGrads) accKlGrads = addScaled(accKlGrads, r.klGrads, 1 / ga);
          if (r.klGradNorms) {
            accKl ??= new Map();
            for (const [n, v] of r.klGradNorms) accKl.set(n, (accKl.get(n) ?? 0) + v / ga);
          }
        }
        accLoss += r.loss;
        accCe += r.ce;
        accKlLoss += r.kl ?? 0;
        accN++;
        st.samplesSeen += batch.batch;
        windowSamples += batch.batch;
        st.trainSeconds += (performance.now() - t0) / 1000;
        const lastInEpoch = bi === batches.length - 1;
        if (accN < ga && !lastInEpoch) continue;

        const gradNorm = ga === 1 ? r.gradNorm : globalGradNorm(accGrads!.values());
        if (!Number.isFinite(gradNorm)) {
          throw new DivergenceError(`gradient norm is ${gradNorm} at step ${st.globalStep + 1} (epoch ${epoch + 1}, batch ${bi + 1}); the last good checkpoint in ${o.outputDir} is intact`);
        }
        const lr = lrAt(st.globalStep);
        const t1 = performance.now();
        const info = optimizer.step({
          params: this.model.params, grads: accGrads!, gradScale: clipCoefficient(gradNorm, o.maxGradNorm), lr,
          klGradNorms: accKl ?? undefined, klGrads: accKlGrads ?? undefined,
        });
        st.trainSeconds += (performance.now() - t1) / 1000;
        st.globalStep++;
        const loss = accLoss / accN;
        st.lossSum += loss;
        st.lossCount++;
        if (o.saveMasks && o.method !== "vanilla") {
          appendFileSync(masksFile, `${JSON.stringify({ step: st.globalStep, applied: info.maskApplied, mask: Object.fromEntries(info.mask) })}\n`);
        }
        if (st.globalStep % o.loggingSteps === 0 || st.globalStep === 1) {
          const sps = windowSamples / ((performance.now() - windowStart) / 1000);
          const rec: Record<string, unknown> = {
            type: "train", step: st.globalStep, epoch: +(epoch + (bi + 1) / batches.length).toFixed(4), loss, ce: accCe / accN,
            learning_rate: lr, grad_norm: gradNorm, samples_per_s: +sps.toFixed(2),
          };
          if (usesKl(o)) rec.kl = accKlLoss / accN;
          if (o.method !== "vanilla") rec.fraction_updated = info.fractionUpdated;
          logRecord(rec);
          windowStart = performance.now();
          windowSamples = 0;
        }
        progress.update(st.globalStep, { epoch: epoch + 1, loss, lr: lr.toExponential(2) });
        accGrads = null;
        accKl = null;
        accKlGrads = null;
        accLoss = accCe = accKlLoss = accN = 0;

        const done = st.globalStep >= totalSteps;
        if (lastInEpoch || done) {
          if (valEncoded) {
            const metrics = await this.evaluate(valEncoded, o.evalBatchSize);
            const main = mainMetric(this.task, metrics);
            const rec = { type: "eval", step: st.globalStep, epoch: epoch + 1, ...metrics };
            logRecord(rec);
            evalHistory.push({ step: st.globalStep, epoch: epoch + 1, ...metrics });
            progress.log(`eval epoch ${epoch + 1}: ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}`);
            if (st.bestMetric === null || main > st.bestMetric) {
              st.bestMetric = main;
              st.bestStep = st.globalStep;
              this.model.save(join(o.outputDir, "best"));
            }
          }
          if (lastInEpoch) {
            st.epoch = epoch + 1;
            st.batchInEpoch = 0;
          }
          saveCheckpoint(o.outputDir, st.globalStep, this.model, optimizer, st);
        } else if (o.saveSteps > 0 && st.globalStep % o.saveSteps === 0) {
          saveCheckpoint(o.outputDir, st.globalStep, this.model, optimizer, st);
        }
        if (done) break outer;
      }
    }
    progress.stop();
    if (stopped) {
      // The epoch-end checkpoint is the state to continue from; the final model comes with the last epoch.
      const trainLoss = st.lossCount ? st.lossSum / st.lossCount : NaN;
      return { globalStep: st.globalStep, epochs: st.epoch, trainLoss, bestMetric: st.bestMetric, evalHistory, trainSeconds: st.trainSeconds, samplesPerSecond: st.samplesSeen / Math.max(st.trainSeconds, 1e-9), stopped };
    }

    // The final model: the best by the task metric when there was a validation set, else the last.
    const finalDir = o.outputDir;
    if (st.bestStep !== null && existsSync(join(o.outputDir, "best", "model.safetensors"))) {
      const best = readSafetensors(join(o.outputDir, "best", "model.safetensors")).tensors;
      for (const [n, t] of best) if (this.model.params.has(n)) this.model.params.set(n, t.data as Float32Array);
    }
    this.model.save(finalDir);
    const result: TrainResult = {
      globalStep: st.globalStep,
      epochs: st.epoch,
      trainLoss: st.lossCount ? st.lossSum / st.lossCount : NaN,
      bestMetric: st.bestMetric,
      evalHistory,
      trainSeconds: st.trainSeconds,
      samplesPerSecond: st.samplesSeen / Math.max(st.trainSeconds, 1e-9),
    };
    writeFileAtomic(join(o.outputDir, "trainer_state.json"), `${JSON.stringify(trainerState(st, o, result), null, 2)}\n`);
    return result;
  }

  async evaluate(encoded: EncodedExample[], batchSize: number): Promise<Record<string, number>> {
    // The weights change between evaluations: feed them instead of embedding a second copy.
    const pred = new Predictor(this.model, { batchSize, threads: this.o.threads, frozenWeights: false });
    let logits: Float32Array[];
    try {
      logits = await pred.logitsEncoded(encoded);
    } finally {
      await pred.release();
    }
    const preds = logits.map((l) => (this.task.isRegression ? l[0]! : argmax(l)));
    const labels = encoded.map((e) => e.label ?? 0);
    return computeMetrics(this.task, preds, labels);
  }
}

function usesKl(o: TrainOptions): boolean {
  return o.method === "rose-first" || o.method === "rose-ensemble" || o.rdropAlpha > 0;
}

function addScaled(acc: Map<string, Float32Array> | null, g: Map<string, Float32Array>, s: number): Map<string, Float32Array> {
  const out = acc ?? new Map<string, Float32Array>();
  for (const [n, v] of g) {
    let a = out.get(n);
    if (!a) {
      a = new Float32Array(v.length);
      out.set(n, a);
    }
    for (let i = 0; i < v.length; i++) a[i] = a[i]! + v[i]! * s;
  }
  return out;
}

/** Drops records logged after `step` (a resumed run logs them again). */
function truncateJsonl(file: string, step: number): void {
  if (!existsSync(file)) return;
  const keep = readFileSync(file, "utf8").split("\n").filter((l) => {
    if (!l.trim()) return false;
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  // Atomic, so a second interruption cannot leave the log torn; a torn last line was dropped above.
  writeFileAtomic(file, keep.length ? `${keep.join("\n")}\n` : "");
}

function trainerState(st: RunState, o: TrainOptions, r: TrainResult): Record<string, unknown> {
  return {
    global_step: st.globalStep,
    epoch: st.epoch,
    max_steps: o.maxSteps,
    num_train_epochs: o.numTrainEpochs,
    best_metric: st.bestMetric,
    best_model_checkpoint: st.bestStep !== null ? join(o.outputDir, "best") : null,
    train_loss: r.trainLoss,
    train_samples_per_second: r.samplesPerSecond,
    log_history: st.logHistory,
    args: o,
  };
}

/** Rejects impossible options; the entry points call it before any slow loading. */
export function validateTrainOptions(o: TrainOptions): void {
  const pos = (v: number, name: string) => {
    if (!(Number.isInteger(v) && v > 0)) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  };
  pos(o.batchSize, "--batch-size");
  pos(o.evalBatchSize, "--per-device-eval-batch-size");
  pos(o.gradientAccumulationSteps, "--gradient-accumulation-steps");
  pos(o.maxSeqLength, "--max-seq-length");
  pos(o.loggingSteps, "--logging-steps");
  if (!(Number.isInteger(o.stopAfterEpoch) && o.stopAfterEpoch >= 0)) throw new ConfigError(`--stop-after-epoch must be a non-negative integer, got ${o.stopAfterEpoch}`);
  if (!(o.learningRate > 0)) throw new ConfigError(`--learning-rate must be > 0, got ${o.learningRate}`);
  if (!(o.numTrainEpochs > 0) && !(o.maxSteps > 0)) throw new ConfigError("--num-train-epochs must be > 0");
  if (!(o.lower >= 0 && o.upper <= 100 && o.lower <= o.upper)) throw new ConfigError(`ROSE band must satisfy 0 <= --lower <= --upper <= 100, got ${o.lower}..${o.upper}`);
  if (!(o.gamma >= 0 && o.gamma <= 1)) throw new ConfigError(`--gamma must be in [0, 1], got ${o.gamma}`);
  if (!(o.klDropout >= 0 && o.klDropout < 1)) throw new ConfigError(`--kl-dropout must be in [0, 1), got ${o.klDropout}`);
  if (!["vanilla", "rose-first", "rose-second", "rose-ensemble"].includes(o.method)) {
    throw new ConfigError(`--method must be vanilla, rose-first, rose-second or rose-ensemble, got ${o.method}`);
  }
}
