// `rose train`'s flags as data (flag-spec.ts), with the flag groups other commands share: the CLI registers
// its options from these lists, a sweep reads and checks train flags with them. Defaults come from the
// library's tables (TRAIN_DEFAULTS, ROSE_DEFAULTS), so help, parsing and the library agree.
import type { DataOptions } from "../data/task-data.ts";
import { GLUE_TRAIN_TASK_NAMES } from "../data/tasks.ts";
import { TRUNCATIONS } from "../io/tokenizer.ts";
import type { ResolveModelOptions } from "../node/hub.ts";
import { GRANULARITIES, METHOD_NAMES, ROSE_DEFAULTS, type RoseTrainOptions } from "../optim/rose.ts";
import type { FineTuneOptions } from "./fine-tune.ts";
import { type FlagSpec, type FlagValues, optionsFrom } from "./flag-spec.ts";
import { TRAIN_DEFAULTS as D } from "./trainer.ts";

type ModelKey = "model" | `hub.${keyof ResolveModelOptions}`;
type RoseKey = `rose.${keyof RoseTrainOptions}`;
/** Where a `rose train` flag's value goes in fineTune's options. */
export type TrainKey = Exclude<keyof FineTuneOptions, "hub" | "rose"> | ModelKey | RoseKey;

/** --model, --offline, --cache-dir, --revision: a local directory or a Hub id (node/model-ref.ts). */
export const MODEL_FLAGS: readonly FlagSpec<ModelKey>[] = [
  {
    flag: "--model",
    arg: "dir-or-id",
    type: "string",
    key: "model",
    help: "model directory or Hugging Face Hub id (default: the shipped rose-mini)",
  },
  { flag: "--offline", type: "boolean", key: "hub.offline", help: "use only the local Hugging Face cache for Hub ids" },
  { flag: "--cache-dir", arg: "dir", type: "string", key: "hub.cacheDir", help: "Hugging Face hub cache directory" },
  { flag: "--revision", arg: "rev", type: "string", key: "hub.revision", default: "main", help: "Hub branch, tag or commit" },
];

/** How data files are read (data/task-data.ts). */
export const DATA_FLAGS: readonly FlagSpec<keyof DataOptions>[] = [
  { flag: "--text-column", arg: "name", type: "string", key: "textColumn", help: "text column (name or 0-based index)" },
  { flag: "--text-pair-column", arg: "name", type: "string", key: "textPairColumn", help: "second text column for pair tasks" },
  { flag: "--label-column", arg: "name", type: "string", key: "labelColumn", help: "label column (name or 0-based index)" },
  {
    flag: "--skip-bad-rows",
    type: "boolean",
    key: "skipBadRows",
    help: "skip unusable rows (counted) instead of stopping at the first",
  },
  {
    flag: "--encoding",
    arg: "name",
    type: "string",
    key: "encoding",
    default: "utf8",
    help: "text encoding of the data files: utf8, latin1, windows-1252, utf16le",
  },
];

/**
 * ROSE's flags, spelled alike by every command that trains. `d` gives the defaults: ROSE_DEFAULTS, or a
 * command's own choice of some of them (the demo's upper).
 */
export function roseFlags(d: Omit<RoseTrainOptions, "eligible"> = ROSE_DEFAULTS): FlagSpec<RoseKey>[] {
  return [
    {
      flag: "--method",
      arg: "m",
      type: "choice",
      choices: METHOD_NAMES,
      key: "rose.method",
      default: d.method,
      help: METHOD_NAMES.join(" | "),
    },
    { flag: "--upper", arg: "pct", type: "number", key: "rose.upper", default: d.upper, help: "ROSE: upper percentile of the kept band" },
    { flag: "--lower", arg: "pct", type: "number", key: "rose.lower", default: d.lower, help: "ROSE: lower percentile of the kept band" },
    {
      flag: "--gamma",
      arg: "g",
      type: "number",
      key: "rose.gamma",
      default: d.gamma,
      help: "ROSE ensemble: weight of the first-order mask",
    },
    {
      flag: "--kl-dropout",
      arg: "p",
      type: "number",
      key: "rose.klDropout",
      default: d.klDropout,
      help: "dropout of the two passes (first order, ensemble, R-Drop)",
    },
  ];
}

/** ROSE's flags with the library's defaults. */
export const ROSE_FLAGS = roseFlags();

/** Every flag of `rose train`, in the order help lists them. */
export const TRAIN_FLAGS: readonly FlagSpec<TrainKey>[] = [
  ...MODEL_FLAGS,
  ...DATA_FLAGS,
  {
    flag: "--task",
    arg: "name",
    type: "string",
    key: "task",
    default: "custom",
    help: `GLUE task (${GLUE_TRAIN_TASK_NAMES.join(", ")}) or custom`,
  },
  {
    flag: "--train-file",
    arg: "file",
    type: "string",
    key: "trainFile",
    required: true,
    help: "training data (.tsv, .csv, .jsonl, .json, .parquet)",
  },
  {
    flag: "--validation-file",
    arg: "file",
    type: "string",
    key: "validationFile",
    help: "evaluation data, scored after each epoch; the best model is kept",
  },
  {
    flag: "--max-train-samples",
    arg: "n",
    type: "integer",
    key: "maxTrainSamples",
    help: "train on the first N rows of the training file",
  },
  {
    flag: "--max-eval-samples",
    arg: "n",
    type: "integer",
    key: "maxEvalSamples",
    help: "evaluate on the first N rows of the validation file",
  },
  {
    flag: "--output-dir",
    arg: "dir",
    type: "string",
    key: "outputDir",
    default: D.outputDir,
    help: "where the model, checkpoints and metrics go",
  },
  { flag: "--learning-rate", arg: "lr", type: "number", key: "learningRate", default: D.learningRate, help: "peak learning rate" },
  {
    flag: "--batch-size",
    aliases: ["--per-device-train-batch-size"],
    arg: "n",
    type: "integer",
    key: "batchSize",
    default: D.batchSize,
    help: "training batch size",
  },
  {
    flag: "--per-device-eval-batch-size",
    arg: "n",
    type: "integer",
    key: "evalBatchSize",
    default: D.evalBatchSize,
    help: "evaluation batch size",
  },
  { flag: "--num-train-epochs", arg: "n", type: "number", key: "numTrainEpochs", default: D.numTrainEpochs, help: "epochs" },
  {
    flag: "--max-steps",
    arg: "n",
    type: "integer",
    key: "maxSteps",
    default: D.maxSteps,
    help: "stop after this many optimizer steps (overrides epochs)",
  },
  {
    flag: "--weight-decay",
    arg: "w",
    type: "number",
    key: "weightDecay",
    default: D.weightDecay,
    help: "decoupled weight decay (not on biases and LayerNorm)",
  },
  { flag: "--adam-beta1", arg: "b", type: "number", key: "adamBeta1", default: D.adamBeta1, help: "AdamW beta1" },
  { flag: "--adam-beta2", arg: "b", type: "number", key: "adamBeta2", default: D.adamBeta2, help: "AdamW beta2" },
  { flag: "--adam-epsilon", arg: "e", type: "number", key: "adamEpsilon", default: D.adamEpsilon, help: "AdamW epsilon" },
  {
    flag: "--max-grad-norm",
    arg: "n",
    type: "number",
    key: "maxGradNorm",
    default: D.maxGradNorm,
    help: "clip gradients to this global norm",
  },
  {
    flag: "--warmup-ratio",
    arg: "r",
    type: "number",
    key: "warmupRatio",
    default: D.warmupRatio,
    help: "linear warm-up over this fraction of the steps",
  },
  {
    flag: "--warmup-steps",
    arg: "n",
    type: "integer",
    key: "warmupSteps",
    default: D.warmupSteps,
    help: "linear warm-up steps (overrides the ratio)",
  },
  {
    flag: "--gradient-accumulation-steps",
    arg: "n",
    type: "integer",
    key: "gradientAccumulationSteps",
    default: D.gradientAccumulationSteps,
    help: "micro-batches per optimizer step",
  },
  // No registered default: absent, the library's applies (capped by the model's limit).
  {
    flag: "--max-seq-length",
    arg: "n",
    type: "integer",
    key: "maxSeqLength",
    help: `truncate inputs to this many tokens (default ${D.maxSeqLength}, or the model's limit if smaller)`,
  },
  {
    flag: "--truncation",
    arg: "keep",
    type: "choice",
    choices: TRUNCATIONS,
    key: "truncation",
    help: "which tokens of a longer text are kept: head | tail | head+tail (default: the tokenizer's, head; the saved model records it)",
  },
  {
    flag: "--pad-to-max-length",
    type: "boolean",
    key: "padToMaxLength",
    help: "pad every batch to --max-seq-length (default: to the longest row)",
  },
  { flag: "--seed", arg: "n", type: "integer", key: "seed", default: D.seed, help: "seed for data order, dropout and new weights" },
  ...roseFlags(D.rose),
  {
    flag: "--rdrop-alpha",
    arg: "a",
    type: "number",
    key: "rdropAlpha",
    default: D.rdropAlpha,
    help: "R-Drop: add alpha * symmetric KL to the loss",
  },
  {
    flag: "--dropout",
    arg: "p",
    type: "number",
    key: "dropout",
    help: "hidden and attention dropout while fine-tuning (default: the config's; the saved config keeps its own)",
  },
  {
    flag: "--layerwise-lr-decay",
    arg: "d",
    type: "number",
    key: "layerwiseLrDecay",
    default: D.layerwiseLrDecay,
    help: "each layer's learning rate is d times the one above it, the heads' the full rate (ELECTRA; 1: off)",
  },
  {
    flag: "--ema-decay",
    arg: "d",
    type: "number",
    key: "emaDecay",
    default: D.emaDecay,
    help: "keep a moving average of the weights with this decay (e.g. 0.999; 0: off): evaluation and the saved model use it",
  },
  {
    flag: "--rose-granularity",
    arg: "g",
    type: "choice",
    choices: GRANULARITIES,
    key: "rose.granularity",
    default: D.rose.granularity,
    help: GRANULARITIES.join(" | "),
  },
  {
    flag: "--rose-eligible",
    arg: "regex",
    type: "string",
    key: "rose.eligible",
    help: "tensors eligible for selection (default: names with 'layer' and 'weight')",
  },
  {
    flag: "--logging-steps",
    arg: "n",
    type: "integer",
    key: "loggingSteps",
    default: D.loggingSteps,
    help: "log a metrics.jsonl record every N steps",
  },
  {
    flag: "--save-steps",
    arg: "n",
    type: "integer",
    key: "saveSteps",
    default: D.saveSteps,
    help: "checkpoint every N steps (0: epoch ends only)",
  },
  { flag: "--resume", type: "boolean", key: "resume", help: "continue from the last checkpoint in --output-dir" },
  {
    flag: "--overwrite-output-dir",
    type: "boolean",
    key: "overwriteOutputDir",
    help: "clear a non-empty --output-dir first (otherwise it is refused)",
  },
  {
    flag: "--stop-after-epoch",
    arg: "n",
    type: "integer",
    key: "stopAfterEpoch",
    default: D.stopAfterEpoch,
    help: "pause after epoch N with a checkpoint (continue with --resume; same schedule)",
  },
  {
    flag: "--from-scratch",
    type: "boolean",
    key: "fromScratch",
    help: "re-initialise every weight: a baseline to measure what pre-training brings",
  },
  { flag: "--threads", arg: "n", type: "integer", key: "threads", help: "compute threads (default: all cores)" },
  { flag: "--quiet", type: "boolean", key: "quiet", help: "no progress output" },
];

/** Parsed `rose train` values (by TRAIN_FLAGS key) as fineTune's options. */
export function fineTuneOptionsFrom(values: FlagValues): FineTuneOptions {
  // The keys are typed against FineTuneOptions above and the value types follow the flags' (test/train/flags.test.ts).
  return optionsFrom(values) as unknown as FineTuneOptions;
}
