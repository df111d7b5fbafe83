// The one training loop behind fine-tuning (Trainer) and pre-training (pretrain()): the objective, the
// batches and the evaluation come from the caller; the loop owns what every run shares: resume from the
// last checkpoint (metrics rewound to it), gradient accumulation, divergence errors, clipping, the
// optimizer step, metrics.jsonl records, progress, checkpoints, and recognising a run that already finished.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { HostTensor } from "../engine/index.ts";
import { DivergenceError, FormatError } from "../errors.ts";
import { type JsonRecord, type MetricsRecord, RunDir, type RunResultFile } from "../node/run-dir.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { RoseAdamW, type RoseAdamWOptions } from "../optim/adamw.ts";
import { clipCoefficient, gradNorm as globalGradNorm } from "../optim/clip.ts";
import type { WeightEma } from "../optim/ema.ts";
import { type Checkpointable, loadRunCheckpoint, saveRunCheckpoint, type StateCheck } from "./checkpoint.ts";
import { createProgress, type ProgressFields } from "../node/progress.ts";
import { type Batch, classification, type Objective, type StepOptions, TrainStep } from "./step.ts";

/** Where a run stands: everything besides weights and optimizer moments needed to continue it exactly. */
export interface RunState {
  globalStep: number;
  /** Micro-batches done (the dropout counter). */
  microStep: number;
  epoch: number;
  /** Micro-batches done within `epoch`. */
  batchInEpoch: number;
  bestMetric: number | null;
  bestStep: number | null;
  logHistory: Record<string, unknown>[];
  /** Sum and count of the optimizer steps' losses over the whole run. */
  lossSum: number;
  lossCount: number;
  /** Sum and count of the losses since the last train record (for window means). */
  windowLoss?: number;
  windowSteps?: number;
  trainSeconds: number;
  samplesSeen: number;
  tokensSeen?: number;
}

/** One micro-batch: the encoder's inputs and the objective's own feeds. */
export interface LoopBatch {
  batch: Batch;
  extra?: Record<string, HostTensor>;
}

/** The batches of a run, as epochs of micro-batches (pre-training: one epoch of `maxSteps`). */
export interface LoopData {
  epochs: number;
  batchesIn(epoch: number): number;
  batch(epoch: number, index: number): LoopBatch;
}

/** What a step looked like, for the caller's metrics record and progress fields. */
export interface StepSummary {
  step: number;
  /** 0-based epoch and the fraction of it done after this step. */
  epoch: number;
  epochProgress: number;
  /** Mean over this step's micro-batches. */
  loss: number;
  ce: number;
  kl: number;
  /** Mean loss of the optimizer steps since the previous train record. */
  windowLoss: number;
  lr: number;
  gradNorm: number;
  fractionUpdated: number;
  /** Samples per second since the previous train record; tokens per second over the run. */
  samplesPerSecond: number;
  tokensPerSecond: number;
}

export interface LoopEvaluation {
  /** Fields of the `eval` record besides type and step. */
  record: Record<string, unknown>;
  /** A line shown above the progress bar. */
  message?: string;
}

export interface LoopOptions {
  /** Progress label. */
  label: string;
  outputDir: string;
  totalSteps: number;
  gradientAccumulationSteps: number;
  maxGradNorm: number;
  loggingSteps: number;
  /** Checkpoint every N optimizer steps (0: epoch ends only). */
  saveSteps: number;
  /** Checkpoint after the last step too (fine-tuning: a finished run can be extended). */
  saveAtEnd: boolean;
  /** Evaluate every N steps besides epoch ends and the end (0: only those). */
  evalSteps: number;
  seed: number;
  resume: boolean;
  quiet: boolean;
  lrAt: (step: number) => number;
  /** Write each step's ROSE masks to rose_masks.jsonl. */
  saveMasks: boolean;
  /** The file the caller writes once the run is complete; on resume, its presence means there is nothing left. */
  resultFile: RunResultFile;
  /** Pause before this epoch (0 or absent: never): return `hooks.paused`, to continue later with `resume`. */
  stopAfterEpoch?: number;
  /** A moving average of the weights, updated after each optimizer step and kept in the checkpoints. */
  ema?: WeightEma | null;
}

export interface LoopHooks<R> {
  trainRecord(s: StepSummary): Record<string, unknown>;
  progressFields(s: StepSummary): ProgressFields;
  evaluate?(st: RunState, at: { epoch: number }): Promise<LoopEvaluation | null>;
  /** After the last step: saves the model and returns the run's result, which the loop writes to resultFile. */
  finish(st: RunState): Promise<{ result: R; file: object }>;
  /** Reads back a complete run's result file (resume on a finished run), or null when it is not this run's. */
  completed(file: Record<string, unknown>): R | null;
  /** The result of a run paused by `stopAfterEpoch` (its epoch-end checkpoint is the state to continue from). */
  paused?(st: RunState): R;
}

export interface Trainable extends Checkpointable {
  params: Map<string, Float32Array>;
}

export function initialRunState(): RunState {
  return {
    globalStep: 0,
    microStep: 0,
    epoch: 0,
    batchInEpoch: 0,
    bestMetric: null,
    bestStep: null,
    logHistory: [],
    lossSum: 0,
    lossCount: 0,
    windowLoss: 0,
    windowSteps: 0,
    trainSeconds: 0,
    samplesSeen: 0,
    tokensSeen: 0,
  };
}

/** A pre-training checkpoint written before the loop was shared: { step, seconds, tokens }. */
interface LegacyPretrainState {
  step: number;
  seconds: number;
  tokens: number;
}

/** How a saved state is validated on resume: a shared-loop state, or a legacy pre-training one. */
const STATE_CHECK: StateCheck<RunState | LegacyPretrainState> = {
  template: (saved) => {
    if ("globalStep" in saved) {
      const { windowLoss: _w, windowSteps: _s, tokensSeen: _t, ...required } = initialRunState();
      return required as RunState;
    }
    return { step: 0, seconds: 0, tokens: 0 };
  },
  step: (s) => ("globalStep" in s ? s.globalStep : s.step),
};

function upgradeState(s: RunState | LegacyPretrainState): RunState {
  if ("globalStep" in s) return { windowLoss: 0, windowSteps: 0, tokensSeen: 0, ...s };
  return {
    ...initialRunState(),
    globalStep: s.step,
    microStep: s.step,
    batchInEpoch: s.step,
    trainSeconds: s.seconds,
    tokensSeen: s.tokens,
  };
}

/** The optimizer and the compiled step of a run, both from one set of ROSE options. */
export async function buildTraining(
  model: PretrainedModel,
  optim: RoseAdamWOptions,
  stepOpts: Pick<StepOptions, "klDropout" | "rdropAlpha" | "regression" | "dropout" | "threads">,
  objective?: Objective,
  layerwiseLrDecay = 1,
): Promise<{ optimizer: RoseAdamW; step: TrainStep }> {
  // Layer-wise decay (ELECTRA): the heads train at lr, each layer below at `decay` times the one above it.
  const arch = model.arch,
    top = model.cfg.numLayers + 1;
  const lrScale = layerwiseLrDecay === 1 ? undefined : (n: string) => layerwiseLrDecay ** (top - arch.layerDepth(n));
  const optimizer = new RoseAdamW({ ...optim, ...(lrScale ? { lrScale } : {}) });
  const step = await TrainStep.build(
    model,
    {
      ...stepOpts,
      method: optimizer.method,
      granularity: optimizer.granularity,
      eligible: (n: string) => optimizer.isEligible(n),
    },
    objective ?? classification(stepOpts.regression),
  );
  return { optimizer, step };
}

/** A complete run's result file, or null when there is none or it is unreadable (the run is then continued). */
function readDone(run: RunDir, file: RunResultFile): JsonRecord | null {
  try {
    return run.readResult(file);
  } catch (e) {
    if (e instanceof FormatError) return null;
    throw e;
  }
}

export async function runLoop<R>(
  model: Trainable,
  optimizer: RoseAdamW,
  step: TrainStep,
  data: LoopData,
  o: LoopOptions,
  hooks: LoopHooks<R>,
): Promise<R> {
  const log = (line: string) => {
    if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  const run = new RunDir(o.outputDir);
  let st = initialRunState();
  if (o.resume) {
    const done = readDone(run, o.resultFile);
    const result = done ? hooks.completed(done) : null;
    if (result !== null) {
      log(`${o.outputDir}: the run is already complete (${o.resultFile}); nothing to resume`);
      return result;
    }
    const resumed = loadRunCheckpoint(o.outputDir, model, optimizer, STATE_CHECK, o.ema);
    if (resumed) {
      st = upgradeState(resumed);
      log(`resuming from step ${st.globalStep} (epoch ${st.epoch + 1}, batch ${st.batchInEpoch})`);
    } else {
      log("resume: no checkpoint found, starting from scratch");
    }
  }
  // Records after the checkpoint are written again by this run (none survive a fresh start).
  run.rewindRecords(st.globalStep);
  run.removeResult(o.resultFile);
  const logRecord = (rec: MetricsRecord) => {
    run.appendMetrics(rec);
    st.logHistory.push(rec);
  };
  const diverged = (what: string, value: number, where: string) => {
    const last = run.lastCheckpoint();
    const saved = last
      ? `the last checkpoint, ${join(o.outputDir, last.dir)} (step ${last.step}), is intact`
      : `no checkpoint was saved in ${o.outputDir}`;
    return new DivergenceError(`${what} is ${value} at step ${st.globalStep + 1} (${where}); ${saved}`);
  };
  const evaluate = async (epoch: number) => {
    const ev = await hooks.evaluate?.(st, { epoch });
    if (!ev) return;
    logRecord({ type: "eval", step: st.globalStep, ...ev.record });
    if (ev.message) progress.log(ev.message);
  };

  const progress = createProgress(o.label, o.totalSteps, { quiet: o.quiet });
  const ga = o.gradientAccumulationSteps;
  let accGrads: Map<string, Float32Array> | null = null;
  let accKl: Map<string, number> | null = null;
  let accKlGrads: Map<string, Float32Array> | null = null;
  let accLoss = 0,
    accCe = 0,
    accKlLoss = 0,
    accN = 0;
  let windowStart = performance.now(),
    windowSamples = 0;

  let paused = false;
  outer: for (let epoch = st.epoch; epoch < data.epochs && st.globalStep < o.totalSteps; epoch++) {
    // Checked before the epoch, so a resume of a run that already reached the pause returns at once.
    if (o.stopAfterEpoch && hooks.paused && epoch >= o.stopAfterEpoch) {
      paused = true;
      break;
    }
    const nBatches = data.batchesIn(epoch);
    const startBatch = epoch === st.epoch ? st.batchInEpoch : 0;
    for (let bi = startBatch; bi < nBatches; bi++) {
      const t0 = performance.now();
      const { batch, extra } = data.batch(epoch, bi);
      const r = await step.run(batch, model.params, { seed: o.seed, counter: st.microStep }, extra);
      const where = data.epochs > 1 ? `epoch ${epoch + 1}, batch ${bi + 1}` : `batch ${bi + 1}`;
      if (!Number.isFinite(r.loss)) throw diverged("loss", r.loss, where);
      st.microStep++;
      st.batchInEpoch = bi + 1;
      // Gradient accumulation: average the micro-batches' gradients (and KL signals).
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
      st.tokensSeen = (st.tokensSeen ?? 0) + batch.batch * batch.seq;
      windowSamples += batch.batch;
      st.trainSeconds += (performance.now() - t0) / 1000;
      const lastInEpoch = bi === nBatches - 1;
      if (accN < ga && !lastInEpoch) continue;

      const gradNorm = ga === 1 ? r.gradNorm : globalGradNorm(accGrads!.values());
      if (!Number.isFinite(gradNorm)) throw diverged("gradient norm", gradNorm, where);
      const lr = o.lrAt(st.globalStep);
      const t1 = performance.now();
      const info = optimizer.step({
        params: model.params,
        grads: accGrads!,
        gradScale: clipCoefficient(gradNorm, o.maxGradNorm),
        lr,
        klGradNorms: accKl ?? undefined,
        klGrads: accKlGrads ?? undefined,
      });
      st.globalStep++;
      o.ema?.update(model.params, st.globalStep);
      st.trainSeconds += (performance.now() - t1) / 1000;
      const loss = accLoss / accN;
      st.lossSum += loss;
      st.lossCount++;
      st.windowLoss = (st.windowLoss ?? 0) + loss;
      st.windowSteps = (st.windowSteps ?? 0) + 1;
      if (o.saveMasks && optimizer.method !== "vanilla") {
        run.appendMask({ step: st.globalStep, applied: info.maskApplied, mask: Object.fromEntries(info.mask) });
      }
      const summary: StepSummary = {
        step: st.globalStep,
        epoch,
        epochProgress: epoch + (bi + 1) / nBatches,
        loss,
        ce: accCe / accN,
        kl: accKlLoss / accN,
        windowLoss: st.windowLoss / st.windowSteps,
        lr,
        gradNorm,
        fractionUpdated: info.fractionUpdated,
        samplesPerSecond: windowSamples / ((performance.now() - windowStart) / 1000),
        tokensPerSecond: (st.tokensSeen ?? 0) / st.trainSeconds,
      };
      if (st.globalStep % o.loggingSteps === 0 || st.globalStep === 1) {
        logRecord({ type: "train", step: st.globalStep, ...hooks.trainRecord(summary) });
        windowStart = performance.now();
        windowSamples = 0;
        st.windowLoss = st.windowSteps = 0;
      }
      progress.update(st.globalStep, hooks.progressFields(summary));
      accGrads = accKl = accKlGrads = null;
      accLoss = accCe = accKlLoss = accN = 0;

      const done = st.globalStep >= o.totalSteps;
      if (lastInEpoch || done || (o.evalSteps > 0 && st.globalStep % o.evalSteps === 0)) await evaluate(epoch);
      if (lastInEpoch) {
        st.epoch = epoch + 1;
        st.batchInEpoch = 0;
      }
      const save = done ? o.saveAtEnd : lastInEpoch || (o.saveSteps > 0 && st.globalStep % o.saveSteps === 0);
      if (save) saveRunCheckpoint(o.outputDir, st.globalStep, model, optimizer, st, o.ema);
      if (done) break outer;
    }
  }
  progress.stop();
  if (paused) return hooks.paused!(st);
  const { result, file } = await hooks.finish(st);
  run.writeResult(o.resultFile, file);
  return result;
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
