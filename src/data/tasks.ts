// Task definitions: which columns hold the text, what the labels mean, and how a task is scored.
// GLUE tasks follow the Hugging Face `glue` data set (column names, label order) and the metric sets of
// `evaluate.load("glue", name)`; the original GLUE TSV layouts are recognised too.

/** Metric keys, spelled as Hugging Face `evaluate` spells them. */
export type MetricName = "accuracy" | "f1" | "macro_f1" | "matthews_correlation" | "pearson" | "spearmanr";

export type GlueTaskName = "cola" | "sst2" | "mrpc" | "qqp" | "stsb" | "mnli" | "mnli-mm" | "qnli" | "rte" | "wnli";

export const GLUE_TASK_NAMES: readonly GlueTaskName[] = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "mnli-mm", "qnli", "rte", "wnli"];

/** A column named in a header row, or a 0-based position in a header-less file. */
export type ColumnRef = string | number;

/**
 * One way a file can lay out a task's columns. `header: true` means the first row names the columns;
 * `header: false` means `text`/`pair`/`label` are positions (e.g. original CoLA TSVs).
 */
export interface ColumnLayout {
  readonly header: boolean;
  readonly text: ColumnRef;
  readonly pair?: ColumnRef;
  readonly label: ColumnRef;
}

export interface Task {
  /** GLUE name, or "custom". */
  readonly name: string;
  /** Class names in id order; null for regression, and for custom tasks whose labels are read from the data. */
  readonly labels: readonly string[] | null;
  readonly isRegression: boolean;
  /** Classifier outputs: 1 for regression; 0 for a custom task whose labels are not known yet. */
  readonly numLabels: number;
  /** True when every example is a (text, pair) pair. */
  readonly isPair: boolean;
  /** Hugging Face `glue` columns. */
  readonly hfColumns: { readonly text: string; readonly pair?: string; readonly label: string };
  /** Layouts tried in order when the caller names no columns: HF layout first, then original GLUE layouts. */
  readonly layouts: readonly ColumnLayout[];
  /** Metrics reported for this task (the `evaluate` GLUE metric set). */
  readonly metrics: readonly MetricName[];
  /** Metric used to pick the best checkpoint. */
  readonly mainMetric: MetricName;
  /** HF split and original GLUE file of the evaluation set (MNLI has two). */
  readonly validation?: { readonly hfSplit: string; readonly glueFile: string };
  /** Task whose training set this task trains on (mnli-mm evaluates MNLI models on the mismatched dev set). */
  readonly trainTask?: string;
}

interface GlueSpec {
  labels: readonly string[] | null;
  text: string;
  pair?: string;
  original: ColumnLayout[];
  metrics: MetricName[];
  main: MetricName;
  validation?: { hfSplit: string; glueFile: string };
  trainTask?: string;
}

const DEV = { hfSplit: "validation", glueFile: "dev.tsv" };
const NLI_BINARY = ["entailment", "not_entailment"] as const;

// Original GLUE TSV layouts (as read by transformers' glue processors with QUOTE_NONE):
//   CoLA   no header: source, label, author_label, sentence           (test: index, sentence)
//   SST-2  sentence, label                                            (test: index, sentence)
//   MRPC   Quality, #1 ID, #2 ID, #1 String, #2 String                 (label = Quality)
//   QQP    id, qid1, qid2, question1, question2, is_duplicate
//   STS-B  index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score
//   MNLI   index, promptID, pairID, genre, ..._parse x4, sentence1, sentence2, label1[..label5], gold_label
//   QNLI   index, question, sentence, label (strings)
//   RTE    index, sentence1, sentence2, label (strings)
//   WNLI   index, sentence1, sentence2, label (0/1)
// Layouts that share HF column names differ only in the label column; the reader prefers a layout
// whose label column is present and falls back to "unlabeled" (test files) when none is.
//
// Main metric: accuracy everywhere except CoLA (Matthews correlation, the official GLUE metric) and
// STS-B (Pearson). MRPC/QQP report F1 as well, but select on accuracy, which is what ROSE and AdvGLUE
// (the robustness benchmarks this project reproduces) report for them.
const GLUE: Record<GlueTaskName, GlueSpec> = {
  cola: {
    labels: ["unacceptable", "acceptable"],
    text: "sentence",
    original: [{ header: false, text: 3, label: 1 }],
    metrics: ["matthews_correlation"],
    main: "matthews_correlation",
    validation: DEV,
  },
  sst2: {
    labels: ["negative", "positive"],
    text: "sentence",
    original: [],
    metrics: ["accuracy"],
    main: "accuracy",
    validation: DEV,
  },
  mrpc: {
    labels: ["not_equivalent", "equivalent"],
    text: "sentence1",
    pair: "sentence2",
    original: [{ header: true, text: "#1 String", pair: "#2 String", label: "Quality" }],
    metrics: ["accuracy", "f1"],
    main: "accuracy",
    validation: DEV,
  },
  qqp: {
    labels: ["not_duplicate", "duplicate"],
    text: "question1",
    pair: "question2",
    original: [{ header: true, text: "question1", pair: "question2", label: "is_duplicate" }],
    metrics: ["accuracy", "f1"],
    main: "accuracy",
    validation: DEV,
  },
  stsb: {
    labels: null,
    text: "sentence1",
    pair: "sentence2",
    original: [{ header: true, text: "sentence1", pair: "sentence2", label: "score" }],
    metrics: ["pearson", "spearmanr"],
    main: "pearson",
    validation: DEV,
  },
  mnli: {
    labels: ["entailment", "neutral", "contradiction"],
    text: "premise",
    pair: "hypothesis",
    original: [{ header: true, text: "sentence1", pair: "sentence2", label: "gold_label" }],
    metrics: ["accuracy"],
    main: "accuracy",
    validation: { hfSplit: "validation_matched", glueFile: "dev_matched.tsv" },
  },
  "mnli-mm": {
    labels: ["entailment", "neutral", "contradiction"],
    text: "premise",
    pair: "hypothesis",
    original: [{ header: true, text: "sentence1", pair: "sentence2", label: "gold_label" }],
    metrics: ["accuracy"],
    main: "accuracy",
    validation: { hfSplit: "validation_mismatched", glueFile: "dev_mismatched.tsv" },
    trainTask: "mnli",
  },
  qnli: {
    labels: NLI_BINARY,
    text: "question",
    pair: "sentence",
    original: [], // same column names as HF; labels are strings
    metrics: ["accuracy"],
    main: "accuracy",
    validation: DEV,
  },
  rte: {
    labels: NLI_BINARY,
    text: "sentence1",
    pair: "sentence2",
    original: [],
    metrics: ["accuracy"],
    main: "accuracy",
    validation: DEV,
  },
  wnli: {
    labels: ["not_entailment", "entailment"],
    text: "sentence1",
    pair: "sentence2",
    original: [],
    metrics: ["accuracy"],
    main: "accuracy",
    validation: DEV,
  },
};

function glueTask(name: GlueTaskName): Task {
  const s = GLUE[name];
  const hf: ColumnLayout = { header: true, text: s.text, label: "label", ...(s.pair ? { pair: s.pair } : {}) };
  return Object.freeze({
    name,
    labels: s.labels,
    isRegression: s.labels === null,
    numLabels: s.labels === null ? 1 : s.labels.length,
    isPair: s.pair !== undefined,
    hfColumns: { text: s.text, label: "label", ...(s.pair ? { pair: s.pair } : {}) },
    layouts: [hf, ...s.original],
    metrics: s.metrics,
    mainMetric: s.main,
    ...(s.validation ? { validation: s.validation } : {}),
    ...(s.trainTask ? { trainTask: s.trainTask } : {}),
  });
}

export function isGlueTaskName(name: string): name is GlueTaskName {
  return (GLUE_TASK_NAMES as readonly string[]).includes(name);
}

/** GLUE tasks a model is trained on (mnli-mm only evaluates MNLI models on its mismatched dev set). */
export const GLUE_TRAIN_TASK_NAMES: readonly GlueTaskName[] = GLUE_TASK_NAMES.filter((n) => glueTask(n).trainTask === undefined);

/** The GLUE task `name` (see GLUE_TASK_NAMES); undefined for anything else. */
export function getGlueTask(name: string): Task | undefined {
  return isGlueTaskName(name) ? glueTask(name) : undefined;
}

export interface CustomTaskOptions {
  /** Class names in id order. Omit to read them from the training data (see readers.ts). */
  labels?: readonly string[];
  regression?: boolean;
  mainMetric?: MetricName;
}

/**
 * A task for user data. Columns default to `text` (+ optional pair) / `label`, with common alternatives
 * (`sentence`, `sentence1`/`sentence2`) tried in turn; readers accept explicit column names or indices.
 * Metrics: regression -> pearson, spearmanr; two classes -> accuracy, f1; more -> accuracy, macro_f1.
 */
export function customTask(opts: CustomTaskOptions = {}): Task {
  const regression = opts.regression ?? false;
  if (regression && opts.labels) throw new TypeError("customTask: a regression task has no labels");
  const labels = regression ? null : opts.labels ? [...opts.labels] : null;
  if (labels && new Set(labels).size !== labels.length) throw new TypeError("customTask: duplicate label names");
  const metrics: MetricName[] = regression
    ? ["pearson", "spearmanr"]
    : labels && labels.length > 2
      ? ["accuracy", "macro_f1"]
      : ["accuracy", "f1"];
  return Object.freeze({
    name: "custom",
    labels,
    isRegression: regression,
    numLabels: regression ? 1 : (labels?.length ?? 0),
    isPair: false,
    hfColumns: { text: "text", label: "label" },
    layouts: [
      { header: true, text: "text", pair: "text_pair", label: "label" },
      { header: true, text: "text", label: "label" },
      { header: true, text: "sentence", label: "label" },
      { header: true, text: "sentence1", pair: "sentence2", label: "label" },
    ],
    metrics,
    mainMetric: opts.mainMetric ?? (regression ? "pearson" : "accuracy"),
  });
}

/** Metric set for a custom classification task once its label count is known (2 -> f1, more -> macro_f1). */
export function withLabels(task: Task, labels: readonly string[]): Task {
  if (task.name !== "custom" || task.isRegression) return task;
  return customTask({ labels, mainMetric: task.mainMetric });
}
