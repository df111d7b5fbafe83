// Library entry points behind `rose train` and `rose eval`: resolve the model, read the data, run.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { computeMetrics } from "../data/metrics.ts";
import { type Example, readExamples, type ReadOptions } from "../data/readers.ts";
import { customTask, getGlueTask, type Task, withLabels } from "../data/tasks.ts";
import { ConfigError, DataError } from "../errors.ts";
import { resolveModel, type ResolveModelOptions } from "../io/hub.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { argmax, predictLogits } from "./predict.ts";
import { labelMismatchWarning, seqLengthWarning, untrainedHeadWarning } from "../models/checks.ts";
import { prepareRunDir } from "../io/outputs.ts";
import { TRAIN_DEFAULTS, Trainer, type TrainOptions, type TrainResult, validateTrainOptions } from "./trainer.ts";

/** The pre-trained model shipped in the repository, used when no --model is given. */
export const DEFAULT_MODEL = resolve(dirname(fileURLToPath(import.meta.url)), "../../models/rose-mini");

export interface DataOptions {
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  skipBadRows?: boolean;
  /** Text encoding of the data files (utf8, latin1, windows-1252, utf16le); default utf8. */
  encoding?: string;
}

export interface ModelRef {
  /** A local directory or a Hugging Face Hub id; default: the shipped rose-mini. */
  model?: string;
  hub?: ResolveModelOptions;
}

export async function resolveModelDir(ref: ModelRef): Promise<string> {
  if (!ref.model) {
    if (!existsSync(join(DEFAULT_MODEL, "config.json"))) {
      throw new ConfigError(`no --model given and the default model ${DEFAULT_MODEL} is missing`);
    }
    return DEFAULT_MODEL;
  }
  return resolveModel(ref.model, ref.hub);
}

/** A GLUE task by name, or a custom task (labels read from the training data). */
export function taskByName(name: string | undefined, regression = false): Task {
  if (!name || name === "custom") return customTask({ regression });
  const t = getGlueTask(name);
  if (!t) throw new ConfigError(`unknown task ${name} (GLUE: cola, sst2, mrpc, qqp, stsb, mnli, mnli-mm, qnli, rte, wnli; or custom)`);
  return t;
}

export async function readData(file: string, task: Task, d: DataOptions, log?: (s: string) => void): Promise<{ examples: Example[]; labels: string[] | null }> {
  const opts: ReadOptions = {
    task, textColumn: d.textColumn, textPairColumn: d.textPairColumn, labelColumn: d.labelColumn, skipBadRows: d.skipBadRows, encoding: d.encoding,
  };
  const r = await readExamples(file, opts);
  if (r.skipped > 0) {
    const first = r.firstSkipped ? ` (the first, line ${r.firstSkipped.line}: ${r.firstSkipped.problem})` : "";
    log?.(`${file}: skipped ${r.skipped} bad row${r.skipped === 1 ? "" : "s"} of ${r.skipped + r.examples.length}${first}`);
  }
  return { examples: r.examples, labels: r.labels };
}

export interface FineTuneOptions extends ModelRef, DataOptions, Partial<TrainOptions> {
  task?: string;
  /** Re-initialise every weight (a from-scratch baseline with the model's architecture and tokenizer). */
  fromScratch?: boolean;
  /** Train on the first N training rows only. */
  maxTrainSamples?: number;
  /** Evaluate on the first N validation rows only. */
  maxEvalSamples?: number;
  trainFile: string;
  validationFile?: string;
  /** Clear a non-empty output folder first; without it (or resume) such a folder is refused. */
  overwriteOutputDir?: boolean;
}

export interface FineTuneResult extends TrainResult {
  outputDir: string;
  modelDir: string;
}

export async function fineTune(opts: FineTuneOptions): Promise<FineTuneResult> {
  const log = (s: string) => {
    if (!opts.quiet) process.stderr.write(`${s}\n`);
  };
  // Options and the output folder first: mistakes there must not wait for the model and the data.
  validateTrainOptions({ ...TRAIN_DEFAULTS, ...opts });
  const outputDir = opts.outputDir ?? "out";
  prepareRunDir(outputDir, { overwrite: opts.overwriteOutputDir, resume: opts.resume });
  const modelDir = await resolveModelDir(opts);
  let task = taskByName(opts.task);
  // Skipped rows are reported even with quiet: --quiet silences progress, not data loss.
  const warn = (s: string) => process.stderr.write(`${s}\n`);
  const train = await readData(opts.trainFile, task, opts, warn);
  // As run_glue's --max_train_samples / --max_eval_samples: the first N rows in file order.
  if (opts.maxTrainSamples) train.examples = train.examples.slice(0, opts.maxTrainSamples);
  if (task.name === "custom" && train.labels) task = withLabels(task, train.labels);
  const labels = task.labels ?? train.labels;
  if (!task.isRegression && !labels) throw new DataError(opts.trainFile, null, "no labels found in the training data");
  const val = opts.validationFile ? await readData(opts.validationFile, task.name === "custom" ? customTask({ labels: labels! }) : task, opts, warn) : null;
  if (val && opts.maxEvalSamples) val.examples = val.examples.slice(0, opts.maxEvalSamples);
  let model = await PretrainedModel.load(modelDir, { labels: task.isRegression ? ["score"] : labels!, regression: task.isRegression, seed: opts.seed ?? 42 });
  // The baseline for judging pre-training: same architecture and tokenizer, every weight new.
  if (opts.fromScratch) model = PretrainedModel.random(model.cfg, model.tokenizer, ["classifier"], opts.seed ?? 42);
  const notice = model.notice();
  if (notice) log(notice);
  const long = seqLengthWarning(opts.maxSeqLength, model.cfg);
  if (long) process.stderr.write(`warning: ${long}\n`);
  const trainer = new Trainer(model, task, train.examples, val?.examples ?? null, { ...opts, outputDir });
  const result = await trainer.run();
  return { ...result, outputDir, modelDir };
}

export interface EvaluateOptions extends ModelRef, DataOptions {
  task?: string;
  data: string;
  batchSize?: number;
  maxSeqLength?: number;
  threads?: number;
  /** Receives each warning (untrained head, labels unlike the model's, inputs too long) as it arises; default: stderr. */
  warn?: (message: string) => void;
}

export interface EvaluateResult {
  task: string;
  n: number;
  metrics: Record<string, number>;
  /** Why the metrics may mean little (also given to `warn`). */
  warnings: string[];
  predictions: { label: string; prediction: number; probabilities: number[] }[];
}

export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const modelDir = await resolveModelDir(opts);
  const model = await PretrainedModel.load(modelDir);
  let task = taskByName(opts.task, model.cfg.problemType === "regression");
  if (task.name === "custom" && !task.isRegression) task = customTask({ labels: model.cfg.id2label });
  if (task.labels && !task.isRegression && task.labels.length !== model.cfg.numLabels) {
    throw new ConfigError(`task ${task.name} has ${task.labels.length} labels but the model has ${model.cfg.numLabels}`);
  }
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const warnings = [
    untrainedHeadWarning(model, modelDir),
    task.name === "custom" ? null : labelMismatchWarning(task.name, task.labels, model.cfg.id2label),
    seqLengthWarning(opts.maxSeqLength, model.cfg),
  ].filter((w): w is string => w !== null);
  warnings.forEach((w) => warn(w));
  const { examples } = await readData(opts.data, task, opts, (line) => process.stderr.write(`${line}\n`));
  const logits = await predictLogits(model, examples, { batchSize: opts.batchSize ?? 64, maxLength: opts.maxSeqLength ?? 128, threads: opts.threads });
  const preds = logits.map((l) => (task.isRegression ? l[0]! : argmax(l)));
  const labeled = examples.filter((e) => e.label !== null);
  const metrics = labeled.length === examples.length ? computeMetrics(task, preds, examples.map((e) => e.label!)) : {};
  return {
    task: task.name,
    n: examples.length,
    metrics,
    warnings,
    predictions: logits.map((l, i) => {
      const probs = task.isRegression ? [l[0]!] : [...softmaxArr(l)];
      return { label: task.isRegression ? String(l[0]) : model.cfg.id2label[preds[i]!] ?? String(preds[i]), prediction: preds[i]!, probabilities: probs };
    }),
  };
}

function softmaxArr(l: Float32Array): number[] {
  const m = Math.max(...l);
  const e = [...l].map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
