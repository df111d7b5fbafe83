// The one training loop behind fine-tuning (Trainer) and pre-training (PretrainTrainer): the objective, the
// batches and the evaluation come from the caller; the loop owns what every run shares: resume from the
// last checkpoint (metrics rewound to it), gradient accumulation, divergence errors, clipping, the
// optimizer step, metrics.jsonl records, progress, checkpoints, and recognising a run that already finished.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { HostTensor } from "../engine/index.ts";
import { DivergenceError, FormatError } from "../errors.ts";
import { type JsonRecord, type MetricsRecord, RunDir, type RunResultFile } from "../node/run-dir.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { RoseAdamW, type RoseAdamWOptions } from "../optim/adamw.ts";
import { clipCoefficient, gradNorm as globalGradNorm } from "../optim/clip.ts";
import type { WeightEma } from "../optim/ema.ts";
import type { RoseTrainOptions } from "../optim/rose.ts";
import { type Checkpointable, loadRunCheckpoint, saveRunCheckpoint, type StateCheck } from "./checkpoint.ts";
import { createProgress, type Progress, type ProgressFields } from "../node/progress.ts";
import { type Batch, classification, type Objective, type StepOptions, type StepResult, TrainStep } from "./step.ts";

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
  windowLoss: number;
  windowSteps: number;
  trainSeconds: number;
  samplesSeen: number;
  tokensSeen: number;
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

function initialRunState(): RunState {
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

/** A saved state must have every field of a fresh one, and the checkpoint's step. */
const STATE_CHECK: StateCheck<RunState> = { template: initialRunState(), step: (s) => s.globalStep };

/** ROSE's rule as the optimizer takes it: the group without the KL passes' dropout (the step's). */
export function roseSelection(rose: RoseTrainOptions): Omit<RoseTrainOptions, "klDropout"> {
  const { klDropout: _, ...rule } = rose;
  return rule;
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

export async function runLoop<R>(
  model: Trainable,
  optimizer: RoseAdamW,
  step: TrainStep,
  data: LoopData,
  o: LoopOptions,
  hooks: LoopHooks<R>,
): Promise<R> {
  mkdirSync(o.outputDir, { recursive: true });
  const run = new RunDir(o.outputDir);
  const start = startingPoint(run, model, optimizer, o, hooks);
  if ("result" in start) return start.result;
  // Records after the checkpoint are written again by this run (none survive a fresh start).
  run.rewindRecords(start.state.globalStep);
  run.removeResult(o.resultFile);
  return new LoopRun(model, optimizer, step, data, o, hooks, run, start.state).run();
}

function note(o: LoopOptions, line: string): void {
  if (!o.quiet) process.stderr.write(`${line}\n`);
}

/**
 * Where a run starts: a fresh state, or with `resume` the last checkpoint's (weights and optimizer restored),
 * or the result of a run that is already complete.
 */
function startingPoint<R>(
  run: RunDir,
  model: Trainable,
  optimizer: RoseAdamW,
  o: LoopOptions,
  hooks: LoopHooks<R>,
): { result: R } | { state: RunState } {
  if (!o.resume) return { state: initialRunState() };
  const done = readDone(run, o.resultFile);
  const result = done ? hooks.completed(done) : null;
  if (result !== null) {
    note(o, `${o.outputDir}: the run is already complete (${o.resultFile}); nothing to resume`);
    return { result };
  }
  const resumed = loadRunCheckpoint(o.outputDir, model, optimizer, STATE_CHECK, o.ema);
  if (!resumed) {
    note(o, "resume: no checkpoint found, starting from scratch");
    return { state: initialRunState() };
  }
  note(o, `resuming from step ${resumed.globalStep} (epoch ${resumed.epoch + 1}, batch ${resumed.batchInEpoch})`);
  return { state: resumed };
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

/** The micro-batches of one optimizer step: their mean gradients (and KL signals) and summed losses. */
class Accumulation {
  grads: Map<string, Float32Array> | null = null;
  klGradNorms: Map<string, number> | null = null;
  klGrads: Map<string, Float32Array> | null = null;
  loss = 0;
  ce = 0;
  kl = 0;
  count = 0;

  constructor(private readonly steps: number) {}

  add(r: StepResult): void {
    const ga = this.steps;
    if (ga === 1) {
      this.grads = r.grads;
      this.klGradNorms = r.klGradNorms;
      this.klGrads = r.klGrads;
    } else {
      this.grads = addScaled(this.grads, r.grads, 1 / ga);
      if (r.klGrads) this.klGrads = addScaled(this.klGrads, r.klGrads, 1 / ga);
      if (r.klGradNorms) {
        this.klGradNorms ??= new Map();
        for (const [n, v] of r.klGradNorms) this.klGradNorms.set(n, (this.klGradNorms.get(n) ?? 0) + v / ga);
      }
    }
    this.loss += r.loss;
    this.ce += r.ce;
    this.kl += r.kl ?? 0;
    this.count++;
  }
}

/** One run of the loop from its starting state: epochs of micro-batches, optimizer steps and what follows each. */
class LoopRun<R> {
  private readonly progress: Progress;
  private acc: Accumulation;
  /** Start and samples of the window since the last train record (for samples per second). */
  private windowStart: number;
  private windowSamples = 0;

  constructor(
    private readonly model: Trainable,
    private readonly optimizer: RoseAdamW,
    private readonly step: TrainStep,
    private readonly data: LoopData,
    private readonly o: LoopOptions,
    private readonly hooks: LoopHooks<R>,
    private readonly dir: RunDir,
    private readonly st: RunState,
  ) {
    this.progress = createProgress(o.label, o.totalSteps, { quiet: o.quiet });
    this.acc = new Accumulation(o.gradientAccumulationSteps);
    this.windowStart = performance.now();
  }

  async run(): Promise<R> {
    const { o, st, hooks } = this;
    let paused = false;
    for (let epoch = st.epoch; epoch < this.data.epochs && st.globalStep < o.totalSteps; epoch++) {
      // Checked before the epoch, so a resume of a run that already reached the pause returns at once.
      if (o.stopAfterEpoch && hooks.paused && epoch >= o.stopAfterEpoch) {
        paused = true;
        break;
      }
      if (await this.runEpoch(epoch)) break;
    }
    this.progress.stop();
    if (paused) return hooks.paused!(st);
    const { result, file } = await hooks.finish(st);
    this.dir.writeResult(o.resultFile, file);
    return result;
  }

  /** The epoch's micro-batches from where the state stands; true once the run's last step is taken. */
  private async runEpoch(epoch: number): Promise<boolean> {
    const nBatches = this.data.batchesIn(epoch);
    const startBatch = epoch === this.st.epoch ? this.st.batchInEpoch : 0;
    for (let bi = startBatch; bi < nBatches; bi++) {
      const r = await this.microBatch(epoch, bi);
      const lastInEpoch = bi === nBatches - 1;
      if (this.acc.count < this.o.gradientAccumulationSteps && !lastInEpoch) continue;
      this.optimizerStep(r, epoch, bi, nBatches);
      if (await this.afterStep(epoch, lastInEpoch)) return true;
    }
    return false;
  }

  /** Forward and backward on one micro-batch, accumulated into the current optimizer step. */
  private async microBatch(epoch: number, bi: number): Promise<StepResult> {
    const st = this.st;
    const t0 = performance.now();
    const { batch, extra } = this.data.batch(epoch, bi);
    const r = await this.step.run(batch, this.model.params, { seed: this.o.seed, counter: st.microStep }, extra);
    if (!Number.isFinite(r.loss)) throw this.diverged("loss", r.loss, epoch, bi);
    st.microStep++;
    st.batchInEpoch = bi + 1;
    this.acc.add(r);
    st.samplesSeen += batch.batch;
    st.tokensSeen += batch.batch * batch.seq;
    this.windowSamples += batch.batch;
    st.trainSeconds += (performance.now() - t0) / 1000;
    return r;
  }

  /** Clips and applies the accumulated gradients (`last`: the step's last micro-batch), then records the step. */
  private optimizerStep(last: StepResult, epoch: number, bi: number, nBatches: number): void {
    const { o, st, acc } = this;
    const gradNorm = o.gradientAccumulationSteps === 1 ? last.gradNorm : globalGradNorm(acc.grads!.values());
    if (!Number.isFinite(gradNorm)) throw this.diverged("gradient norm", gradNorm, epoch, bi);
    const lr = o.lrAt(st.globalStep);
    const t1 = performance.now();
    const info = this.optimizer.step({
      params: this.model.params,
      grads: acc.grads!,
      gradScale: clipCoefficient(gradNorm, o.maxGradNorm),
      lr,
      klGradNorms: acc.klGradNorms ?? undefined,
      klGrads: acc.klGrads ?? undefined,
    });
    st.globalStep++;
    o.ema?.update(this.model.params, st.globalStep);
    st.trainSeconds += (performance.now() - t1) / 1000;
    const loss = acc.loss / acc.count;
    st.lossSum += loss;
    st.lossCount++;
    st.windowLoss += loss;
    st.windowSteps++;
    if (o.saveMasks && this.optimizer.method !== "vanilla") {
      this.dir.appendMask({ step: st.globalStep, applied: info.maskApplied, mask: Object.fromEntries(info.mask) });
    }
    this.report({
      step: st.globalStep,
      epoch,
      epochProgress: epoch + (bi + 1) / nBatches,
      loss,
      ce: acc.ce / acc.count,
      kl: acc.kl / acc.count,
      windowLoss: st.windowLoss / st.windowSteps,
      lr,
      gradNorm,
      fractionUpdated: info.fractionUpdated,
      samplesPerSecond: this.windowSamples / ((performance.now() - this.windowStart) / 1000),
      tokensPerSecond: st.tokensSeen / st.trainSeconds,
    });
    this.acc = new Accumulation(o.gradientAccumulationSteps);
  }

  /** The step's train record (every loggingSteps, and the first) and its progress fields. */
  private report(s: StepSummary): void {
    const st = this.st;
    if (st.globalStep % this.o.loggingSteps === 0 || st.globalStep === 1) {
      this.logRecord({ type: "train", step: st.globalStep, ...this.hooks.trainRecord(s) });
      this.windowStart = performance.now();
      this.windowSamples = 0;
      st.windowLoss = st.windowSteps = 0;
    }
    this.progress.update(st.globalStep, this.hooks.progressFields(s));
  }

  /** Evaluation, the epoch's end and the checkpoint after a step; true when it was the run's last. */
  private async afterStep(epoch: number, lastInEpoch: boolean): Promise<boolean> {
    const { o, st } = this;
    const done = st.globalStep >= o.totalSteps;
    if (lastInEpoch || done || (o.evalSteps > 0 && st.globalStep % o.evalSteps === 0)) await this.evaluate(epoch);
    if (lastInEpoch) {
      st.epoch = epoch + 1;
      st.batchInEpoch = 0;
    }
    const save = done ? o.saveAtEnd : lastInEpoch || (o.saveSteps > 0 && st.globalStep % o.saveSteps === 0);
    if (save) saveRunCheckpoint(o.outputDir, st.globalStep, this.model, this.optimizer, st, o.ema);
    return done;
  }

  private async evaluate(epoch: number): Promise<void> {
    const ev = await this.hooks.evaluate?.(this.st, { epoch });
    if (!ev) return;
    this.logRecord({ type: "eval", step: this.st.globalStep, ...ev.record });
    if (ev.message) this.progress.log(ev.message);
  }

  private logRecord(rec: MetricsRecord): void {
    this.dir.appendMetrics(rec);
    this.st.logHistory.push(rec);
  }

  /** A divergence error naming the step, the batch and the checkpoint a rerun would resume from. */
  private diverged(what: string, value: number, epoch: number, bi: number): DivergenceError {
    const o = this.o;
    const where = this.data.epochs > 1 ? `epoch ${epoch + 1}, batch ${bi + 1}` : `batch ${bi + 1}`;
    const last = this.dir.lastCheckpoint();
    const saved = last
      ? `the last checkpoint, ${join(o.outputDir, last.dir)} (step ${last.step}), is intact`
      : `no checkpoint was saved in ${o.outputDir}`;
    return new DivergenceError(`${what} is ${value} at step ${this.st.globalStep + 1} (${where}); ${saved}`);
  }
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
