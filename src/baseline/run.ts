// `rose baseline`: fit a bag-of-words classifier on the same files `rose train` reads (GLUE tasks or custom
// CSV / TSV / JSON Lines / Parquet), score it with the same metrics, save the model and the metrics.
import { performance } from "node:perf_hooks";
import { join } from "node:path";
import { computeMetrics } from "../data/metrics.ts";
import type { Example } from "../data/readers.ts";
import { customTask, type Task, withLabels } from "../data/tasks.ts";
import { ConfigError, DataError } from "../errors.ts";
import { writeFileAtomic } from "../node/files.ts";
import { type DataOptions, readData, taskByName } from "../data/task-data.ts";
import { withDefaults } from "../defaults.ts";
import type { LbfgsResult } from "./lbfgs.ts";
import { fitLogistic } from "./logistic.ts";
import { BagOfWords, BASELINE_MODEL_TYPES, type BaselineModelType } from "./model.ts";
import { fitMultinomialNb } from "./naive-bayes.ts";
import { NgramVectorizer, VECTORIZER_DEFAULTS, type VectorizerOptions } from "./vectorizer.ts";

export interface BaselineOptions extends DataOptions, Partial<VectorizerOptions> {
  /** GLUE task name or "custom" (labels read from the training file). */
  task?: string;
  trainFile: string;
  validationFile?: string;
  /** "logreg" (tf-idf + logistic regression, default) or "nb" (multinomial naive Bayes on counts). */
  modelType?: BaselineModelType;
  /** Logistic regression: inverse L2 strength (scikit-learn's C). Default 1. */
  c?: number;
  /** Naive Bayes: additive smoothing. Default 1. */
  alpha?: number;
  /** Logistic regression: L-BFGS iteration cap and largest gradient component at convergence. */
  maxIter?: number;
  tol?: number;
  maxTrainSamples?: number;
  maxEvalSamples?: number;
  /** Where baseline_model.json and baseline_results.json go; none: nothing is written. */
  outputDir?: string;
  quiet?: boolean;
}

export const BASELINE_DEFAULTS = { modelType: "logreg" as BaselineModelType, c: 1, alpha: 1, maxIter: 1000, tol: 1e-6 };

export interface BaselineResult {
  model: BagOfWords;
  task: string;
  modelType: BaselineModelType;
  trainSamples: number;
  features: number;
  trainSeconds: number;
  /** Logistic regression's optimiser run (null for naive Bayes). */
  optimizer: Omit<LbfgsResult, "x"> | null;
  /** Metrics on the training rows and, with a validation file, on it (the task's metric set). */
  trainMetrics: Record<string, number>;
  evalSamples: number;
  evalMetrics: Record<string, number> | null;
  outputDir: string | null;
}

function labelsOf(file: string, examples: readonly Example[]): Int32Array {
  return Int32Array.from(examples, (e) => {
    if (e.label === null) throw new DataError(file, e.line, "the row has no label");
    return e.label;
  });
}

type ResolvedOptions = BaselineOptions & typeof BASELINE_DEFAULTS;

export async function fitBaseline(opts: BaselineOptions): Promise<BaselineResult> {
  const o = withDefaults<ResolvedOptions>(BASELINE_DEFAULTS as ResolvedOptions, opts);
  const log = (s: string) => {
    if (!o.quiet) process.stderr.write(`${s}\n`);
  };
  if (!BASELINE_MODEL_TYPES.includes(o.modelType))
    throw new ConfigError(`unknown model type ${JSON.stringify(o.modelType)} (${BASELINE_MODEL_TYPES.join(", ")})`);
  const { task, examples, labels, y } = await readTraining(o, log);
  const t0 = performance.now();
  const { model, optimizer } = fitModel(o, task, examples, labels, y, log);
  const trainSeconds = (performance.now() - t0) / 1000;
  log(
    `${o.modelType}: ${examples.length} training rows, ${model.vectorizer.size} n-grams, fitted in ${trainSeconds.toFixed(1)} s${optimizer ? ` (${optimizer.iterations} L-BFGS iterations)` : ""}`,
  );
  const score = (ex: readonly Example[], file: string) =>
    computeMetrics(
      task,
      model.predict(ex).map((p) => p.prediction),
      [...labelsOf(file, ex)],
    );
  const trainMetrics = score(examples, o.trainFile);
  let evalMetrics: Record<string, number> | null = null;
  let evalSamples = 0;
  if (o.validationFile) {
    const val = await readData(o.validationFile, task.name === "custom" ? customTask({ labels }) : task, o, log);
    if (o.maxEvalSamples) val.examples = val.examples.slice(0, o.maxEvalSamples);
    if (val.examples.length === 0) throw new DataError(o.validationFile, null, "no validation rows");
    evalMetrics = score(val.examples, o.validationFile);
    evalSamples = val.examples.length;
  }
  const result: BaselineResult = {
    model,
    task: task.name,
    modelType: o.modelType,
    trainSamples: examples.length,
    features: model.vectorizer.size,
    trainSeconds,
    optimizer,
    trainMetrics,
    evalSamples,
    evalMetrics,
    outputDir: o.outputDir ?? null,
  };
  if (o.outputDir) {
    model.save(o.outputDir);
    writeFileAtomic(join(o.outputDir, "baseline_results.json"), `${JSON.stringify(resultSummary(result, o), null, 2)}\n`);
  }
  return result;
}

/** The training rows, the task with their labels, and each row's label id; every class must have rows. */
async function readTraining(
  o: ResolvedOptions,
  log: (s: string) => void,
): Promise<{ task: Task; examples: Example[]; labels: readonly string[]; y: Int32Array }> {
  let task = taskByName(o.task);
  if (task.isRegression) throw new ConfigError(`task ${task.name} is a regression task; the bag-of-words baseline classifies`);
  const train = await readData(o.trainFile, task, o, log);
  if (o.maxTrainSamples) train.examples = train.examples.slice(0, o.maxTrainSamples);
  if (train.examples.length === 0) throw new DataError(o.trainFile, null, "no training rows");
  if (task.name === "custom" && train.labels) task = withLabels(task, train.labels);
  const labels = task.labels ?? train.labels;
  if (!labels) throw new DataError(o.trainFile, null, "no labels found in the training data");
  const y = labelsOf(o.trainFile, train.examples);
  const perClass = new Array<number>(labels.length).fill(0);
  for (const v of y) perClass[v]!++;
  const empty = labels.filter((_, i) => perClass[i] === 0);
  if (empty.length)
    throw new DataError(
      o.trainFile,
      null,
      `no training row has the label ${empty.map((l) => JSON.stringify(l)).join(", ")}; every class needs examples`,
    );
  return { task, examples: train.examples, labels, y };
}

/** Fits the n-gram vocabulary and the classifier on the training rows. */
function fitModel(
  o: ResolvedOptions,
  task: Task,
  examples: readonly Example[],
  labels: readonly string[],
  y: Int32Array,
  log: (s: string) => void,
): { model: BagOfWords; optimizer: BaselineResult["optimizer"] } {
  const vectorizer = NgramVectorizer.fit(examples, {
    ngramRange: o.ngramRange ?? VECTORIZER_DEFAULTS.ngramRange,
    minDf: o.minDf ?? VECTORIZER_DEFAULTS.minDf,
    maxDf: o.maxDf ?? VECTORIZER_DEFAULTS.maxDf,
    maxFeatures: o.maxFeatures ?? null,
    lowercase: o.lowercase ?? true,
  });
  if (o.modelType === "nb") {
    const scorer = fitMultinomialNb(vectorizer.counts(examples), y, labels.length, o.alpha);
    return {
      model: new BagOfWords("nb", vectorizer, scorer, labels, { task: task.name, hyperparameters: { alpha: o.alpha } }),
      optimizer: null,
    };
  }
  const fit = fitLogistic(
    { x: vectorizer.tfidf(examples), y, numClasses: labels.length, c: o.c },
    { maxIterations: o.maxIter, gradientTolerance: o.tol },
  );
  if (!fit.optimizer.converged)
    log(
      `warning: L-BFGS stopped (${fit.optimizer.reason}) after ${fit.optimizer.iterations} iterations with gradient ${fit.optimizer.gradientMax.toExponential(2)} > ${o.tol}`,
    );
  return {
    model: new BagOfWords("logreg", vectorizer, fit.model, labels, { task: task.name, hyperparameters: { c: o.c } }),
    optimizer: fit.optimizer,
  };
}

/** The JSON-able part of a result (what `rose baseline --json` prints and baseline_results.json holds). */
export function resultSummary(r: BaselineResult, options?: BaselineOptions): Record<string, unknown> {
  return {
    task: r.task,
    model_type: r.modelType,
    train_samples: r.trainSamples,
    features: r.features,
    train_seconds: +r.trainSeconds.toFixed(3),
    ...(r.optimizer
      ? {
          lbfgs: {
            iterations: r.optimizer.iterations,
            evaluations: r.optimizer.evaluations,
            converged: r.optimizer.converged,
            reason: r.optimizer.reason,
            gradient_max: r.optimizer.gradientMax,
            objective: r.optimizer.value,
          },
        }
      : {}),
    train: r.trainMetrics,
    ...(r.evalMetrics ? { eval_samples: r.evalSamples, eval: r.evalMetrics } : {}),
    ...(r.outputDir ? { output_dir: r.outputDir } : {}),
    ...(options ? { options: { ...options, quiet: undefined } } : {}),
  };
}
