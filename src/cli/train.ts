// `rose train`: flags -> fineTune (app/train.ts).
import type { Command } from "commander";
import { fineTune, type FineTuneOptions } from "../app/train.ts";
import { TRUNCATIONS } from "../io/tokenizer.ts";
import { TRAIN_DEFAULTS as D } from "../train/trainer.ts";
import { onInterrupt, runSavedMessage } from "./interrupt.ts";
import {
  choice,
  type DataFlags,
  dataFlags,
  dataOptions,
  hubOptions,
  int,
  type ModelFlags,
  modelOptions,
  num,
  pick,
  roseOptions,
  withFlags,
} from "./flags.ts";

export function registerTrain(program: Command): void {
  const cmd = program.command("train").description("fine-tune a pre-trained encoder on a classification task (vanilla AdamW or ROSE)");
  modelOptions(cmd);
  dataOptions(cmd)
    .option("--task <name>", "GLUE task (cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli) or custom", "custom")
    .requiredOption("--train-file <file>", "training data (.tsv, .csv, .jsonl, .json, .parquet)")
    .option("--validation-file <file>", "evaluation data, scored after each epoch; the best model is kept")
    .option("--max-train-samples <n>", "train on the first N rows of the training file", int)
    .option("--max-eval-samples <n>", "evaluate on the first N rows of the validation file", int)
    .option("--output-dir <dir>", "where the model, checkpoints and metrics go", "out")
    .option("--learning-rate <lr>", "peak learning rate", num, D.learningRate)
    .option("--batch-size, --per-device-train-batch-size <n>", "training batch size", int, D.batchSize)
    .option("--per-device-eval-batch-size <n>", "evaluation batch size", int, D.evalBatchSize)
    .option("--num-train-epochs <n>", "epochs", num, D.numTrainEpochs)
    .option("--max-steps <n>", "stop after this many optimizer steps (overrides epochs)", int, D.maxSteps)
    .option("--weight-decay <w>", "decoupled weight decay (not on biases and LayerNorm)", num, D.weightDecay)
    .option("--adam-beta1 <b>", "AdamW beta1", num, D.adamBeta1)
    .option("--adam-beta2 <b>", "AdamW beta2", num, D.adamBeta2)
    .option("--adam-epsilon <e>", "AdamW epsilon", num, D.adamEpsilon)
    .option("--max-grad-norm <n>", "clip gradients to this global norm", num, D.maxGradNorm)
    .option("--warmup-ratio <r>", "linear warm-up over this fraction of the steps", num, D.warmupRatio)
    .option("--warmup-steps <n>", "linear warm-up steps (overrides the ratio)", int, D.warmupSteps)
    .option("--gradient-accumulation-steps <n>", "micro-batches per optimizer step", int, D.gradientAccumulationSteps)
    .option("--max-seq-length <n>", `truncate inputs to this many tokens (default ${D.maxSeqLength}, or the model's limit if smaller)`, int)
    .option(
      "--truncation <keep>",
      "which tokens of a longer text are kept: head | tail | head+tail (default: the tokenizer's, head; the saved model records it)",
      choice(TRUNCATIONS),
    )
    .option("--pad-to-max-length", "pad every batch to --max-seq-length (default: to the longest row)")
    .option("--seed <n>", "seed for data order, dropout and new weights", int, D.seed);
  roseOptions(cmd, D)
    .option("--rdrop-alpha <a>", "R-Drop: add alpha * symmetric KL to the loss", num, D.rdropAlpha)
    .option("--dropout <p>", "hidden and attention dropout while fine-tuning (default: the config's; the saved config keeps its own)", num)
    .option(
      "--layerwise-lr-decay <d>",
      "each layer's learning rate is d times the one above it, the heads' the full rate (ELECTRA; 1: off)",
      num,
      D.layerwiseLrDecay,
    )
    .option(
      "--ema-decay <d>",
      "keep a moving average of the weights with this decay (e.g. 0.999; 0: off): evaluation and the saved model use it",
      num,
      D.emaDecay,
    )
    .option("--rose-granularity <g>", "tensor | element", choice(["tensor", "element"] as const), D.roseGranularity)
    .option("--rose-eligible <regex>", "tensors eligible for selection (default: names with 'layer' and 'weight')")
    .option("--logging-steps <n>", "log a metrics.jsonl record every N steps", int, D.loggingSteps)
    .option("--save-steps <n>", "checkpoint every N steps (0: epoch ends only)", int, D.saveSteps)
    .option("--resume", "continue from the last checkpoint in --output-dir")
    .option("--overwrite-output-dir", "clear a non-empty --output-dir first (otherwise it is refused)")
    .option(
      "--stop-after-epoch <n>",
      "pause after epoch N with a checkpoint (continue with --resume; same schedule)",
      int,
      D.stopAfterEpoch,
    )
    .option("--from-scratch", "re-initialise every weight: a baseline to measure what pre-training brings")
    .option("--threads <n>", "compute threads (default: all cores)", int)
    .option("--quiet", "no progress output")
    .action(
      withFlags(
        cmd,
        {
          batchSize: "--batch-size",
          evalBatchSize: "--per-device-eval-batch-size",
          roseGranularity: "--rose-granularity",
          trainFile: "--train-file",
        },
        async (f: TrainFlags) => {
          onInterrupt(() => runSavedMessage(f.outputDir ?? D.outputDir));
          const r = await fineTune(fineTuneOptions(f));
          const last = r.evalHistory.at(-1);
          process.stdout.write(
            `${JSON.stringify({ output_dir: r.outputDir, global_step: r.globalStep, train_loss: +r.trainLoss.toFixed(6), best_metric: r.bestMetric, train_samples_per_second: +r.samplesPerSecond.toFixed(2), ...(last ? { eval: last } : {}) })}\n`,
          );
          // On stderr: stdout stays one JSON line for scripts.
          if (!f.quiet) process.stderr.write(`see the run: rose report ${r.outputDir} --out ${r.outputDir}/report.html\n`);
        },
      ),
    );
}

/** Flags whose attribute names are the library's option names: a renamed option fails to compile here. */
const SAME_NAMED = [
  "task",
  "trainFile",
  "validationFile",
  "maxTrainSamples",
  "maxEvalSamples",
  "outputDir",
  "method",
  "learningRate",
  "numTrainEpochs",
  "maxSteps",
  "weightDecay",
  "adamBeta1",
  "adamBeta2",
  "adamEpsilon",
  "maxGradNorm",
  "warmupRatio",
  "warmupSteps",
  "gradientAccumulationSteps",
  "maxSeqLength",
  "truncation",
  "seed",
  "upper",
  "lower",
  "gamma",
  "klDropout",
  "rdropAlpha",
  "dropout",
  "layerwiseLrDecay",
  "emaDecay",
  "roseGranularity",
  "roseEligible",
  "loggingSteps",
  "saveSteps",
  "stopAfterEpoch",
  "threads",
] as const satisfies readonly (keyof FineTuneOptions)[];

/** The flags as commander parses them (attribute names of the options above). */
export type TrainFlags = ModelFlags &
  DataFlags &
  Pick<FineTuneOptions, (typeof SAME_NAMED)[number]> & {
    trainFile: string;
    perDeviceTrainBatchSize: number;
    perDeviceEvalBatchSize: number;
    padToMaxLength?: boolean;
    resume?: boolean;
    overwriteOutputDir?: boolean;
    fromScratch?: boolean;
    quiet?: boolean;
  };

/** Flags -> library options: the same-named ones, then those the CLI spells its own way. */
export function fineTuneOptions(f: TrainFlags): FineTuneOptions {
  return {
    ...pick(f, SAME_NAMED),
    model: f.model,
    hub: hubOptions(f),
    ...dataFlags(f),
    trainFile: f.trainFile,
    batchSize: f.perDeviceTrainBatchSize,
    evalBatchSize: f.perDeviceEvalBatchSize,
    padToMaxLength: Boolean(f.padToMaxLength),
    resume: Boolean(f.resume),
    overwriteOutputDir: Boolean(f.overwriteOutputDir),
    fromScratch: Boolean(f.fromScratch),
    quiet: Boolean(f.quiet),
  };
}
