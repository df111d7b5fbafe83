// `rose train`: resolve the model, read the data, fine-tune (train/trainer.ts).
import { customTask, withLabels } from "../data/tasks.ts";
import { DataError } from "../errors.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { Trainer, type TrainOptions, type TrainResult } from "../train/trainer.ts";
import { type DataOptions, type ModelRef, readData, resolveModelDir, taskByName } from "./resolve.ts";

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
}

export interface FineTuneResult extends TrainResult {
  outputDir: string;
  modelDir: string;
}

export async function fineTune(opts: FineTuneOptions): Promise<FineTuneResult> {
  const log = (s: string) => {
    if (!opts.quiet) process.stderr.write(`${s}\n`);
  };
  const modelDir = await resolveModelDir(opts);
  let task = taskByName(opts.task);
  const train = await readData(opts.trainFile, task, opts, log);
  // As run_glue's --max_train_samples / --max_eval_samples: the first N rows in file order.
  if (opts.maxTrainSamples) train.examples = train.examples.slice(0, opts.maxTrainSamples);
  if (task.name === "custom" && train.labels) task = withLabels(task, train.labels);
  const labels = task.labels ?? train.labels;
  if (!task.isRegression && !labels) throw new DataError(opts.trainFile, null, "no labels found in the training data");
  const val = opts.validationFile ? await readData(opts.validationFile, task.name === "custom" ? customTask({ labels: labels! }) : task, opts, log) : null;
  if (val && opts.maxEvalSamples) val.examples = val.examples.slice(0, opts.maxEvalSamples);
  let model = await PretrainedModel.load(modelDir, { labels: task.isRegression ? ["score"] : labels!, regression: task.isRegression, seed: opts.seed ?? 42 });
  // The baseline for judging pre-training: same architecture and tokenizer, every weight new.
  if (opts.fromScratch) model = PretrainedModel.random(model.cfg, model.tokenizer, ["classifier"], opts.seed ?? 42);
  const notice = model.notice();
  if (notice) log(notice);
  const outputDir = opts.outputDir ?? "out";
  const trainer = new Trainer(model, task, train.examples, val?.examples ?? null, { ...opts, outputDir });
  const result = await trainer.run();
  return { ...result, outputDir, modelDir };
}

