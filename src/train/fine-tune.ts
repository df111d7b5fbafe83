// Fine-tuning a model folder on data files: resolve the model, read the data, train (trainer.ts). `rose train`
// (app/train.ts) and a sweep's trial processes run it.
import { customTask, withLabels } from "../data/tasks.ts";
import { DataError } from "../errors.ts";
import { prepareRunDir } from "../node/outputs.ts";
import { seqLengthWarning } from "../models/checks.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { type PartialTrainOptions, Trainer, type TrainResult, validateTrainOptions, withTrainDefaults } from "./trainer.ts";
import { type DataOptions, readData, taskByName } from "../data/task-data.ts";
import { type ModelRef, resolveModelDir } from "../node/model-ref.ts";
import { dirFiles } from "../node/files.ts";

export interface FineTuneOptions extends ModelRef, DataOptions, PartialTrainOptions {
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
  validateTrainOptions(withTrainDefaults(opts));
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
  const val = opts.validationFile
    ? await readData(opts.validationFile, task.name === "custom" ? customTask({ labels: labels! }) : task, opts, warn)
    : null;
  if (val && opts.maxEvalSamples) val.examples = val.examples.slice(0, opts.maxEvalSamples);
  let model = await PretrainedModel.load(dirFiles(modelDir), {
    labels: task.isRegression ? ["score"] : labels!,
    regression: task.isRegression,
    seed: opts.seed ?? 42,
  });
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
