// Pre-training a masked language model on packed token sequences, over the training loop fine-tuning uses
// (train/loop.ts): 15% of tokens predicted (80/10/10), AdamW with warm-up and linear or cosine decay,
// vanilla or ROSE selection, resumable checkpoints, held-out masked-token accuracy. The model is saved as a
// BertForMaskedLM directory that `rose train` fine-tunes. `rose pretrain` (app/pretrain.ts) reads the corpus
// and makes the model; this trains it.
import { withDefaults } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import type { PretrainedModel } from "../models/pretrained.ts";
import { dirSink } from "../node/files.ts";
import { RUN_FILES } from "../node/run-dir.ts";
import { ROSE_DEFAULTS, type RoseTrainOptions, validateRoseTrainOptions, type WithPartialRose, withRoseDefaults } from "../optim/rose.ts";
import { type ScheduleName, SCHEDULES, scheduleByName, warmupStepsFromRatio } from "../optim/schedule.ts";
import {
  buildTraining,
  type LoopData,
  type LoopEvaluation,
  type LoopHooks,
  type LoopOptions,
  type RunState,
  roseSelection,
  runLoop,
} from "../train/loop.ts";
import { roseRecord } from "../train/trainer.ts";
import { type HeldoutAccuracy, sequenceAccuracy } from "./heldout.ts";
import { maskedLm, mlmFeeds, predictedPositions } from "./masked-lm.ts";
import { MlmBatcher, tokenizerBatcherOptions } from "./mlm-data.ts";

export interface PretrainTrainerOptions {
  outputDir: string;
  maxSteps: number;
  batchSize: number;
  learningRate: number;
  warmupRatio: number;
  /** Learning-rate schedule after the warm-up: linear or cosine decay to 0. */
  lrSchedule: ScheduleName;
  /** Share of tokens chosen for prediction (BERT: 0.15). Held-out accuracy is always measured at 0.15. */
  mlmProbability: number;
  /** Hidden and attention dropout during pre-training (null: the config's); the saved config keeps its own. */
  dropout: number | null;
  weightDecay: number;
  adamBeta2: number;
  maxGradNorm: number;
  /** ROSE's options (optim/rose.ts); given in part, the rest come from ROSE_DEFAULTS. */
  rose: RoseTrainOptions;
  seed: number;
  loggingSteps: number;
  saveSteps: number;
  /** Evaluate on the held-out sequences every N steps (0: at the end only). */
  evalSteps: number;
  resume: boolean;
  threads?: number;
  quiet: boolean;
  /** What else pretrain_result.json records under args beside these options (the corpus, the architecture, ...). */
  inputs?: Record<string, unknown>;
}

export const PRETRAIN_TRAINER_DEFAULTS: PretrainTrainerOptions = {
  outputDir: "pretrained",
  maxSteps: 1000,
  batchSize: 32,
  learningRate: 5e-4,
  warmupRatio: 0.06,
  lrSchedule: "linear",
  mlmProbability: 0.15,
  dropout: null,
  weightDecay: 0.01,
  adamBeta2: 0.98,
  maxGradNorm: 1,
  rose: ROSE_DEFAULTS,
  seed: 42,
  loggingSteps: 50,
  saveSteps: 200,
  evalSteps: 0,
  resume: false,
  quiet: false,
};

/** Pre-training options as a caller gives them: any of them, and any of ROSE's. */
export type PartialPretrainTrainerOptions = WithPartialRose<PretrainTrainerOptions>;

/** Options given in part, completed from PRETRAIN_TRAINER_DEFAULTS and ROSE's table. */
export function withPretrainTrainerDefaults(opts: PartialPretrainTrainerOptions): PretrainTrainerOptions {
  const { rose, ...rest } = opts;
  return { ...withDefaults<Omit<PretrainTrainerOptions, "rose">>(PRETRAIN_TRAINER_DEFAULTS, rest), rose: withRoseDefaults(rose) };
}

/** Rejects impossible options before any work; errors name the options (the CLI maps them to its flags). */
export function validatePretrainTrainerOptions(o: PretrainTrainerOptions): void {
  if (!(o.mlmProbability > 0 && o.mlmProbability < 1))
    throw new ConfigError(`mlmProbability must be in (0, 1), got ${o.mlmProbability}`, ["mlmProbability"]);
  if (!SCHEDULES.includes(o.lrSchedule))
    throw new ConfigError(
      `lrSchedule (the learning-rate schedule) must be ${SCHEDULES.join(" or ")}, got ${JSON.stringify(o.lrSchedule)}`,
      ["lrSchedule"],
    );
  if (o.dropout != null && !(o.dropout >= 0 && o.dropout < 1))
    throw new ConfigError(`dropout must be in [0, 1), got ${o.dropout}`, ["dropout"]);
  validateRoseTrainOptions(o.rose);
}

export interface PretrainResult {
  steps: number;
  loss: number;
  heldoutAccuracy: number | null;
  heldoutTokens: number;
  corpusTokens: number;
  sequences: number;
  seconds: number;
  tokensPerSecond: number;
}

export class PretrainTrainer {
  private readonly o: PretrainTrainerOptions;
  /** The last held-out evaluation, and the loss of the last step (for the result). */
  private heldoutResult: HeldoutAccuracy | null = null;
  private lastLoss = NaN;

  /**
   * `sequences`: the packed training sequences ([CLS] ... [SEP], token ids of the model's tokenizer);
   * `heldout`: packed held-out sequences for masked-token accuracy, or null.
   */
  constructor(
    readonly model: PretrainedModel,
    readonly sequences: readonly (readonly number[])[],
    readonly heldout: readonly (readonly number[])[] | null,
    opts: PartialPretrainTrainerOptions,
  ) {
    this.o = withPretrainTrainerDefaults(opts);
    validatePretrainTrainerOptions(this.o);
    if (!model.tokenizer) throw new ConfigError("the model has no tokenizer");
    if (!model.arch.supportsMlm) throw new ConfigError(`${model.cfg.modelType} has no masked-LM head in rose`);
  }

  async run(): Promise<PretrainResult> {
    const o = this.o;
    const data = this.loopData();
    const warmupSteps = warmupStepsFromRatio(o.warmupRatio, o.maxSteps);
    const { optimizer, step } = await buildTraining(
      this.model,
      {
        lr: o.learningRate,
        betas: [0.9, o.adamBeta2],
        eps: 1e-6,
        weightDecay: o.weightDecay,
        ...roseSelection(o.rose),
        numWarmupSteps: warmupSteps,
      },
      {
        klDropout: o.rose.klDropout,
        rdropAlpha: 0,
        regression: false,
        threads: o.threads,
        ...(o.dropout != null ? { dropout: o.dropout } : {}),
      },
      maskedLm,
    );
    return runLoop(this.model, optimizer, step, data, this.loopOptions(warmupSteps), this.hooks());
  }

  /** Step-indexed masked batches (the batcher runs through its own epochs): one loop "epoch" of maxSteps. */
  private loopData(): LoopData {
    const o = this.o;
    const batcher = new MlmBatcher(this.sequences, {
      ...tokenizerBatcherOptions(this.model.tokenizer!, o.batchSize, o.seed),
      mlmProbability: o.mlmProbability,
    });
    return {
      epochs: 1,
      batchesIn: () => o.maxSteps,
      batch: (_, i) => {
        const b = batcher.batchAt(i);
        const { positions, labels } = predictedPositions(b);
        return { batch: b, extra: mlmFeeds(b.batch, b.seq, positions, labels) };
      },
    };
  }

  private loopOptions(warmupSteps: number): LoopOptions {
    const o = this.o;
    return {
      label: "pretrain",
      outputDir: o.outputDir,
      totalSteps: o.maxSteps,
      gradientAccumulationSteps: 1,
      maxGradNorm: o.maxGradNorm,
      loggingSteps: o.loggingSteps,
      saveSteps: o.saveSteps,
      saveAtEnd: false,
      evalSteps: o.evalSteps,
      seed: o.seed,
      resume: o.resume,
      quiet: o.quiet,
      saveMasks: false,
      // Written once the run is complete (its presence makes resume a no-op).
      resultFile: RUN_FILES.pretrainResult,
      lrAt: scheduleByName(o.lrSchedule, { baseLr: o.learningRate, warmupSteps, totalSteps: o.maxSteps }),
    };
  }

  private hooks(): LoopHooks<PretrainResult> {
    const o = this.o;
    return {
      trainRecord: (s) => {
        this.lastLoss = s.loss;
        return {
          loss: s.windowLoss,
          learning_rate: s.lr,
          grad_norm: s.gradNorm,
          tokens_per_s: +s.tokensPerSecond.toFixed(1),
          ...(o.rose.method !== "vanilla" ? { fraction_updated: s.fractionUpdated } : {}),
        };
      },
      progressFields: (s) => {
        this.lastLoss = s.loss;
        return { loss: s.loss, lr: s.lr.toExponential(2), "tok/s": Math.round(s.tokensPerSecond) };
      },
      evaluate: (st) => this.evaluate(st),
      finish: async (st) => {
        this.model.save(dirSink(o.outputDir), { head: "MaskedLM" });
        const result = this.result(st);
        const { rose, inputs, ...args } = o;
        return { result, file: { ...result, args: { ...inputs, ...args, ...roseRecord(rose) } } };
      },
      completed: ({ args: _, ...r }) => (r.steps === o.maxSteps ? (r as unknown as PretrainResult) : null),
    };
  }

  /** Held-out masked-token accuracy (none without held-out sequences); the message is left out at the end. */
  private async evaluate(st: RunState): Promise<LoopEvaluation | null> {
    const o = this.o;
    this.heldoutResult = this.heldout
      ? await sequenceAccuracy(this.model, this.heldout, { batchSize: o.batchSize, threads: o.threads })
      : null;
    if (!this.heldoutResult) return null;
    const { accuracy } = this.heldoutResult;
    const last = st.globalStep >= o.maxSteps;
    return {
      record: { masked_accuracy: accuracy },
      ...(last ? {} : { message: `step ${st.globalStep}: held-out masked-token accuracy ${accuracy.toFixed(4)}` }),
    };
  }

  private result(st: RunState): PretrainResult {
    const ev = this.heldoutResult;
    return {
      steps: st.globalStep,
      loss: this.lastLoss,
      heldoutAccuracy: ev?.accuracy ?? null,
      heldoutTokens: ev?.tokens ?? 0,
      corpusTokens: this.sequences.reduce((a, s) => a + s.length, 0),
      sequences: this.sequences.length,
      seconds: st.trainSeconds,
      tokensPerSecond: st.tokensSeen / Math.max(st.trainSeconds, 1e-9),
    };
  }
}
