// `rose eval`: a classifier's task metrics on a labelled file, or its AdvGLUE score.
import { computeMetrics } from "../data/metrics.ts";
import { customTask } from "../data/tasks.ts";
import { ConfigError, DataError } from "../errors.ts";
import { argmax, predictLogits, softmax } from "../infer/predictor.ts";
import { labelMismatchWarning, seqLengthWarning, untrainedHeadWarning } from "../models/checks.ts";
import { PretrainedModel, applyTruncation } from "../models/pretrained.ts";
import { ADVGLUE_TASK_NAMES, isAdvGlueTask, loadAdvGlue, scoreAdvGlue } from "../robust/advglue.ts";
import type { ModelSource } from "../robust/run.ts";
import type { Truncation } from "../io/tokenizer.ts";
import { type DataOptions, readData, taskByName } from "../data/task-data.ts";
import { type ModelRef, resolveModelDir } from "../node/model-ref.ts";
import { dirFiles } from "../node/files.ts";
import { maxInputLength } from "../io/config.ts";

export interface EvaluateOptions extends ModelRef, DataOptions {
  task?: string;
  data: string;
  batchSize?: number;
  maxSeqLength?: number;
  /** Which tokens of a long text are read (default: the model's tokenizer's). */
  truncation?: Truncation;
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
  /**
   * One per example, in file order: the predicted class name and id (regression: the value), the class
   * probabilities, and `gold`, the example's own label id or target (null when unlabelled), so per-example
   * correctness can be scored without re-reading the data.
   */
  predictions: { label: string; prediction: number; probabilities: number[]; gold: number | null }[];
}

export async function evaluate(opts: EvaluateOptions): Promise<EvaluateResult> {
  const modelDir = await resolveModelDir(opts);
  const model = await PretrainedModel.load(dirFiles(modelDir));
  applyTruncation(model, opts.truncation);
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
  for (const w of warnings) warn(w);
  const { examples } = await readData(opts.data, task, opts, (line) => process.stderr.write(`${line}\n`));
  const logits = await predictLogits(model, examples, {
    batchSize: opts.batchSize ?? 64,
    maxLength: opts.maxSeqLength ?? 128,
    threads: opts.threads,
  });
  const preds = logits.map((l) => (task.isRegression ? l[0]! : argmax(l)));
  const labeled = examples.filter((e) => e.label !== null);
  const metrics =
    labeled.length === examples.length
      ? computeMetrics(
          task,
          preds,
          examples.map((e) => e.label!),
        )
      : {};
  return {
    task: task.name,
    n: examples.length,
    metrics,
    warnings,
    predictions: logits.map((l, i) => {
      const probs = task.isRegression ? [l[0]!] : softmax([...l]);
      const label = task.isRegression ? String(l[0]) : (model.cfg.id2label[preds[i]!] ?? String(preds[i]));
      return { label, prediction: preds[i]!, probabilities: probs, gold: examples[i]!.label };
    }),
  };
}

export interface AdvGlueEvalOptions extends ModelSource {
  /** AdvGLUE dev.json. */
  file: string;
  /** sst2, qqp, qnli, rte, mnli or mnli-mm. */
  task: string;
  batchSize?: number;
  maxSeqLength?: number;
  threads?: number;
}

export interface AdvGlueEvalResult {
  task: string;
  n: number;
  /** The GLUE task's metrics, as `rose eval` reports them (fractions). */
  metrics: Record<string, number>;
  /** The AdvGLUE task score: the mean of its GLUE metrics (QQP: accuracy and F1), as a fraction. */
  score: number;
  predictions: { idx: number; label: number; prediction: number }[];
  /** Why the score may mean little: a newly initialised head, labels unlike the model's. */
  warnings: string[];
}

/** Scores a classifier on one task of the AdvGLUE dev set. */
export async function evalAdvGlue(o: AdvGlueEvalOptions): Promise<AdvGlueEvalResult> {
  if (!isAdvGlueTask(o.task))
    throw new ConfigError(`AdvGLUE needs task, one of ${ADVGLUE_TASK_NAMES.join(", ")}; got "${o.task}"`, ["task"]);
  const set = await loadAdvGlue(o.file, o.task);
  const dir = typeof o.model === "object" ? null : await resolveModelDir({ model: o.model, hub: o.hub });
  const model = typeof o.model === "object" ? o.model : await PretrainedModel.load(dirFiles(dir!));
  const task = taskByName(o.task);
  const warnings = [
    dir === null ? null : untrainedHeadWarning(model, dir),
    labelMismatchWarning(o.task, set.labelNames, model.cfg.id2label),
  ].filter((w): w is string => w !== null);
  if (model.cfg.numLabels !== set.numLabels) {
    throw new ConfigError(
      `AdvGLUE task ${o.task} has ${set.numLabels} labels (${set.labelNames.join(", ")}) but the model has ${model.cfg.numLabels} (${model.cfg.id2label.join(", ")})`,
    );
  }
  if (set.examples.length === 0) throw new DataError(o.file, null, `task "${o.task}" has no examples`);
  const maxLength = maxInputLength(model.cfg, o.maxSeqLength ?? 128);
  const logits = await predictLogits(
    model,
    set.examples.map((e) => e.input),
    { batchSize: o.batchSize ?? 64, maxLength, threads: o.threads },
  );
  const preds = logits.map(argmax);
  const labels = set.examples.map((e) => e.label);
  return {
    task: o.task,
    n: labels.length,
    metrics: computeMetrics(task, preds, labels),
    score: scoreAdvGlue(o.task, preds, labels).score / 100,
    predictions: set.examples.map((e, i) => ({ idx: e.idx, label: e.label, prediction: preds[i]! })),
    warnings,
  };
}
