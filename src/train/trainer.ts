// Fine-tuning: vanilla AdamW or ROSE, with Hugging Face Trainer's flags and defaults, exact resume from
// atomic checkpoints, evaluation each epoch and the best model kept by the task metric.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../engine/index.ts";
import { computeMetrics, mainMetric } from "../data/metrics.ts";
import type { Example } from "../data/readers.ts";
import type { Task } from "../data/tasks.ts";
import { withDefaults } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { loadModelWeights, RUN_FILES, RunDir, type TrainerStateRecord } from "../node/run-dir.ts";
import { WEIGHTS_FILE } from "../io/checkpoint.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { WeightEma } from "../optim/ema.ts";
import {
  ROSE_DEFAULTS,
  type RoseTrainOptions,
  stepNeeds,
  validateRoseTrainOptions,
  type WithPartialRose,
  withRoseDefaults,
} from "../optim/rose.ts";
import { linearSchedule, warmupStepsFromRatio } from "../optim/schedule.ts";
import { chunks, collate, encodeExamples, type EncodedExample } from "../data/batches.ts";
import { maxInputLength } from "../io/config.ts";
import {
  buildTraining,
  type LoopData,
  roseSelection,
  type LoopEvaluation,
  type LoopHooks,
  type LoopOptions,
  type RunState,
  runLoop,
} from "./loop.ts";
import { argmax, Predictor } from "../infer/predictor.ts";
import { TRUNCATIONS, type Truncation } from "../io/tokenizer.ts";
import { dirSink } from "../node/files.ts";

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
  /** Which tokens of a long text are kept (null: the tokenizer's own); the saved tokenizer records it. */
  truncation: Truncation | null;
  padToMaxLength: boolean;
  seed: number;
  /** ROSE's options (optim/rose.ts); given in part, the rest come from ROSE_DEFAULTS. */
  rose: RoseTrainOptions;
  /** R-Drop: adds alpha * the symmetric KL of two dropout passes to the loss (0: off). */
  rdropAlpha: number;
  /** Hidden and attention dropout of single-pass training steps (null: the config's). */
  dropout: number | null;
  /** Learning rate of each layer relative to the one above it (heads at the full rate); 1: no decay. */
  layerwiseLrDecay: number;
  /** Decay of a moving average of the weights (0: none); evaluation and the saved model use the average. */
  emaDecay: number;
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
  truncation: null,
  padToMaxLength: false,
  seed: 42,
  rose: ROSE_DEFAULTS,
  rdropAlpha: 0,
  dropout: null,
  layerwiseLrDecay: 1,
  emaDecay: 0,
  loggingSteps: 50,
  saveSteps: 500,
  resume: false,
  stopAfterEpoch: 0,
  saveMasks: true,
  quiet: false,
};

/** Training options as a caller gives them: any of them, and any of ROSE's. */
export type PartialTrainOptions = WithPartialRose<TrainOptions>;

/** Options given in part, completed from TRAIN_DEFAULTS and ROSE's table. */
export function withTrainDefaults(opts: PartialTrainOptions): TrainOptions {
  const { rose, ...rest } = opts;
  return { ...withDefaults<Omit<TrainOptions, "rose">>(TRAIN_DEFAULTS, rest), rose: withRoseDefaults(rose) };
}

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

/** What a run trains and evaluates on, and how long it is. */
interface RunPlan {
  train: EncodedExample[];
  validation: EncodedExample[] | null;
  /** Tokens per example after truncation. */
  maxLen: number;
  totalSteps: number;
  epochs: number;
  warmupSteps: number;
}

export class Trainer {
  private readonly o: TrainOptions;
  private readonly runDir: RunDir;
  constructor(
    readonly model: PretrainedModel,
    readonly task: Task,
    readonly train: readonly Example[],
    readonly validation: readonly Example[] | null,
    opts: PartialTrainOptions,
  ) {
    this.o = withTrainDefaults(opts);
    validateTrainOptions(this.o);
    this.runDir = new RunDir(this.o.outputDir);
    if (train.length === 0) throw new ConfigError("the training set is empty");
    if (!model.tokenizer) throw new ConfigError("the model has no tokenizer");
  }

  async run(): Promise<TrainResult> {
    const o = this.o;
    const plan = await this.plan();
    const { optimizer, step } = await buildTraining(
      this.model,
      {
        lr: o.learningRate,
        betas: [o.adamBeta1, o.adamBeta2],
        eps: o.adamEpsilon,
        weightDecay: o.weightDecay,
        ...roseSelection(o.rose),
        numWarmupSteps: plan.warmupSteps,
      },
      {
        klDropout: o.rose.klDropout,
        rdropAlpha: o.rdropAlpha,
        regression: this.task.isRegression,
        threads: o.threads,
        ...(o.dropout != null ? { dropout: o.dropout } : {}),
      },
      undefined,
      o.layerwiseLrDecay,
    );
    const ema = o.emaDecay > 0 ? new WeightEma(o.emaDecay, this.model.params) : null;
    return runLoop(this.model, optimizer, step, this.loopData(plan), this.loopOptions(plan, ema), this.hooks(plan, ema));
  }

  /** Encodes the examples and works out the run's length in optimizer steps and epochs. */
  private async plan(): Promise<RunPlan> {
    const o = this.o;
    const tok = this.model.tokenizer!;
    const maxLen = maxInputLength(this.model.cfg, o.maxSeqLength);
    if (o.truncation !== null) tok.truncation = o.truncation;
    const train = await encodeExamples(tok, this.train, maxLen);
    const validation = this.validation ? await encodeExamples(tok, this.validation, maxLen) : null;
    const microPerEpoch = Math.ceil(train.length / o.batchSize);
    const stepsPerEpoch = Math.ceil(microPerEpoch / o.gradientAccumulationSteps);
    const totalSteps = o.maxSteps > 0 ? o.maxSteps : stepsPerEpoch * o.numTrainEpochs;
    const epochs = o.maxSteps > 0 ? Math.ceil(o.maxSteps / stepsPerEpoch) : o.numTrainEpochs;
    const warmupSteps = o.warmupSteps > 0 ? o.warmupSteps : warmupStepsFromRatio(o.warmupRatio, totalSteps);
    return { train, validation, maxLen, totalSteps, epochs, warmupSteps };
  }

  /** Each epoch's batches: the training examples shuffled by (seed, epoch), in batches of batchSize. */
  private loopData(plan: RunPlan): LoopData {
    const o = this.o;
    const padId = this.model.tokenizer!.specialIds.pad;
    const collateOpts = { padTo: o.padToMaxLength ? plan.maxLen : undefined, regression: this.task.isRegression };
    let order: { epoch: number; batches: number[][] } | null = null;
    const batchesOf = (epoch: number) => {
      if (order?.epoch !== epoch)
        order = { epoch, batches: chunks(new Rng(o.seed, 0xda7a, epoch).shuffle(plan.train.map((_, i) => i)), o.batchSize) };
      return order.batches;
    };
    return {
      epochs: plan.epochs,
      batchesIn: (epoch) => batchesOf(epoch).length,
      batch: (epoch, bi) => ({
        batch: collate(
          batchesOf(epoch)[bi]!.map((i) => plan.train[i]!),
          padId,
          collateOpts,
        ),
      }),
    };
  }

  private loopOptions(plan: RunPlan, ema: WeightEma | null): LoopOptions {
    const o = this.o;
    return {
      label: `train ${o.rose.method}`,
      outputDir: o.outputDir,
      totalSteps: plan.totalSteps,
      gradientAccumulationSteps: o.gradientAccumulationSteps,
      maxGradNorm: o.maxGradNorm,
      loggingSteps: o.loggingSteps,
      saveSteps: o.saveSteps,
      saveAtEnd: true,
      evalSteps: 0,
      seed: o.seed,
      resume: o.resume,
      quiet: o.quiet,
      saveMasks: o.saveMasks,
      resultFile: RUN_FILES.trainerState,
      stopAfterEpoch: o.stopAfterEpoch,
      ema,
      lrAt: linearSchedule({ baseLr: o.learningRate, warmupSteps: plan.warmupSteps, totalSteps: plan.totalSteps }),
    };
  }

  private hooks(plan: RunPlan, ema: WeightEma | null): LoopHooks<TrainResult> {
    const o = this.o;
    const kl = stepNeeds({ ...o.rose, rdropAlpha: o.rdropAlpha }).twoPasses;
    return {
      trainRecord: (s) => ({
        epoch: +s.epochProgress.toFixed(4),
        loss: s.loss,
        ce: s.ce,
        learning_rate: s.lr,
        grad_norm: s.gradNorm,
        samples_per_s: +s.samplesPerSecond.toFixed(2),
        ...(kl ? { kl: s.kl } : {}),
        ...(o.rose.method !== "vanilla" ? { fraction_updated: s.fractionUpdated } : {}),
      }),
      progressFields: (s) => ({ epoch: s.epoch + 1, loss: s.loss, lr: s.lr.toExponential(2) }),
      evaluate: async (st, { epoch }) => (plan.validation ? this.evaluateEpoch(st, epoch, plan.validation, ema) : null),
      finish: async (st) => {
        const result = this.finish(st, ema);
        return { result, file: trainerState(st, o, result) };
      },
      completed: (f) => (f.global_step === plan.totalSteps && f.result ? (f.result as TrainResult) : null),
      // The final model comes with the last epoch.
      paused: (st) => ({ ...resultOf(st), stopped: true }),
    };
  }

  /** Scores the validation set (with the averaged weights) and keeps the best model so far in best/. */
  private async evaluateEpoch(st: RunState, epoch: number, validation: EncodedExample[], ema: WeightEma | null): Promise<LoopEvaluation> {
    // Evaluation and the best model see the averaged weights; training goes on from the live ones.
    const restore = ema?.swapInto(this.model.params);
    let metrics: Record<string, number>;
    try {
      metrics = await this.evaluate(validation, this.o.evalBatchSize);
      const main = mainMetric(this.task, metrics);
      if (st.bestMetric === null || main > st.bestMetric) {
        st.bestMetric = main;
        st.bestStep = st.globalStep;
        this.model.save(dirSink(this.runDir.path("best")));
      }
    } finally {
      restore?.();
    }
    const shown = Object.entries(metrics)
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(", ");
    return { record: { epoch: epoch + 1, ...metrics }, message: `eval epoch ${epoch + 1}: ${shown}` };
  }

  /**
   * Saves the final model: the best by the task metric when there was a validation set, else the last (or
   * its average).
   */
  private finish(st: RunState, ema: WeightEma | null): TrainResult {
    if (ema) ema.swapInto(this.model.params);
    const best = this.runDir.path("best");
    if (st.bestStep !== null && existsSync(join(best, WEIGHTS_FILE))) loadModelWeights(this.model, best);
    this.model.save(dirSink(this.o.outputDir));
    return resultOf(st);
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

function resultOf(st: RunState): TrainResult {
  return {
    globalStep: st.globalStep,
    epochs: st.epoch,
    trainLoss: st.lossCount ? st.lossSum / st.lossCount : NaN,
    bestMetric: st.bestMetric,
    // From the log: a resumed run's earlier evaluations count too.
    evalHistory: st.logHistory.filter((r) => r.type === "eval").map(({ type: _, ...r }) => r as Record<string, number>),
    trainSeconds: st.trainSeconds,
    samplesPerSecond: st.samplesSeen / Math.max(st.trainSeconds, 1e-9),
  };
}

/** trainer_state.json: the run's final state, as Hugging Face's Trainer writes it; its presence marks a complete run. */
function trainerState(
  st: RunState,
  o: TrainOptions,
  r: TrainResult,
): TrainerStateRecord<Omit<TrainOptions, "rose"> & RoseRecord, TrainResult> {
  return {
    global_step: st.globalStep,
    epoch: st.epoch,
    max_steps: o.maxSteps,
    num_train_epochs: o.numTrainEpochs,
    best_metric: st.bestMetric,
    best_model_checkpoint: st.bestStep !== null ? new RunDir(o.outputDir).path("best") : null,
    train_loss: r.trainLoss,
    train_samples_per_second: r.samplesPerSecond,
    log_history: st.logHistory,
    args: { ...without(o, "rose"), ...roseRecord(o.rose) },
    result: r,
  };
}

/** ROSE's options in a run record (see roseRecord). */
export interface RoseRecord extends Pick<RoseTrainOptions, "method" | "upper" | "lower" | "gamma" | "klDropout"> {
  roseGranularity: RoseTrainOptions["granularity"];
  /** The eligibility pattern (a RegExp as /source/flags); absent for the default rule. */
  roseEligible?: string;
}

/**
 * ROSE's group as run records (trainer_state.json, pretrain_result.json) hold it: flat, under the keys
 * they have always had, so that `rose report` compares runs of any version option by option.
 */
export function roseRecord(r: RoseTrainOptions): RoseRecord {
  const e = r.eligible;
  return {
    method: r.method,
    upper: r.upper,
    lower: r.lower,
    gamma: r.gamma,
    klDropout: r.klDropout,
    roseGranularity: r.granularity,
    roseEligible: typeof e === "function" ? "(a function)" : e instanceof RegExp ? String(e) : e,
  };
}

function without<T extends object, K extends keyof T>(o: T, key: K): Omit<T, K> {
  const { [key]: _, ...rest } = o;
  return rest;
}

/** Rejects impossible options before any work (the entry points call it before slow loading); errors name the options (the CLI maps them to its flags). */
export function validateTrainOptions(o: TrainOptions): void {
  const pos = (v: number, name: keyof TrainOptions) => {
    if (!(Number.isInteger(v) && v > 0)) throw new ConfigError(`${name} must be a positive integer, got ${v}`, [name]);
  };
  pos(o.batchSize, "batchSize");
  pos(o.evalBatchSize, "evalBatchSize");
  pos(o.gradientAccumulationSteps, "gradientAccumulationSteps");
  pos(o.maxSeqLength, "maxSeqLength");
  pos(o.loggingSteps, "loggingSteps");
  if (!(Number.isInteger(o.stopAfterEpoch) && o.stopAfterEpoch >= 0))
    throw new ConfigError(`stopAfterEpoch must be a non-negative integer, got ${o.stopAfterEpoch}`, ["stopAfterEpoch"]);
  if (!(o.learningRate > 0)) throw new ConfigError(`learningRate must be > 0, got ${o.learningRate}`, ["learningRate"]);
  if (!(o.numTrainEpochs > 0) && !(o.maxSteps > 0)) throw new ConfigError("numTrainEpochs must be > 0", ["numTrainEpochs"]);
  if (o.dropout != null && !(o.dropout >= 0 && o.dropout < 1))
    throw new ConfigError(`dropout must be in [0, 1), got ${o.dropout}`, ["dropout"]);
  if (o.truncation !== null && !TRUNCATIONS.includes(o.truncation))
    throw new ConfigError(`truncation must be one of ${TRUNCATIONS.join(", ")}, got ${JSON.stringify(o.truncation)}`, ["truncation"]);
  if (!(o.emaDecay === 0 || (o.emaDecay > 0 && o.emaDecay < 1)))
    throw new ConfigError(`emaDecay must be in [0, 1) (0: off), got ${o.emaDecay}`, ["emaDecay"]);
  if (!(o.layerwiseLrDecay > 0 && o.layerwiseLrDecay <= 1))
    throw new ConfigError(`layerwiseLrDecay must be in (0, 1], got ${o.layerwiseLrDecay}`, ["layerwiseLrDecay"]);
  validateRoseTrainOptions(o.rose);
}
