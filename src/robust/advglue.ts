// AdvGLUE (Wang et al. 2021) dev set, as published: one JSON object keyed by task name, each a
// list of {idx, label, <GLUE text fields>}. Labels follow the GLUE/Hugging Face ids. Scoring follows
// the official GLUE metrics per task (percent): accuracy, and for QQP the mean of accuracy and F1;
// the MNLI score is the mean of matched and mismatched when both are given.

import { accuracy as glueAccuracy, f1 as glueF1 } from "../data/metrics.ts";
import { readJsonFileAsync } from "../node/files.ts";
import { ConfigError, FormatError, RoseError } from "../errors.ts";
import type { AttackExample } from "./types.ts";

export type AdvGlueTask = "sst2" | "qqp" | "qnli" | "rte" | "mnli" | "mnli-mm";

export interface AdvGlueTaskInfo {
  /** GLUE text fields: the first becomes AttackInput.text, the second AttackInput.pair. */
  fields: readonly [string] | readonly [string, string];
  labelNames: readonly string[];
  /** GLUE metrics averaged into the task score. */
  metrics: ReadonlyArray<"accuracy" | "f1">;
}

export const ADVGLUE_TASKS: Readonly<Record<AdvGlueTask, AdvGlueTaskInfo>> = {
  sst2: { fields: ["sentence"], labelNames: ["negative", "positive"], metrics: ["accuracy"] },
  qqp: { fields: ["question1", "question2"], labelNames: ["not_duplicate", "duplicate"], metrics: ["accuracy", "f1"] },
  qnli: { fields: ["question", "sentence"], labelNames: ["entailment", "not_entailment"], metrics: ["accuracy"] },
  rte: { fields: ["sentence1", "sentence2"], labelNames: ["entailment", "not_entailment"], metrics: ["accuracy"] },
  mnli: { fields: ["premise", "hypothesis"], labelNames: ["entailment", "neutral", "contradiction"], metrics: ["accuracy"] },
  "mnli-mm": { fields: ["premise", "hypothesis"], labelNames: ["entailment", "neutral", "contradiction"], metrics: ["accuracy"] },
};

export const ADVGLUE_TASK_NAMES = Object.keys(ADVGLUE_TASKS) as AdvGlueTask[];

export function isAdvGlueTask(name: string): name is AdvGlueTask {
  return Object.hasOwn(ADVGLUE_TASKS, name);
}

export interface AdvGlueExample extends AttackExample {
  idx: number;
}

export interface AdvGlueSet {
  task: AdvGlueTask;
  file: string;
  numLabels: number;
  labelNames: readonly string[];
  examples: AdvGlueExample[];
}

function checkTask(task: string): AdvGlueTask {
  if (!isAdvGlueTask(task)) throw new ConfigError(`unknown AdvGLUE task "${task}"; known: ${ADVGLUE_TASK_NAMES.join(", ")}`);
  return task;
}

/** Validates the parsed dev-set object and returns one task's examples. */
export function parseAdvGlue(obj: unknown, file: string, taskName: string): AdvGlueSet {
  const task = checkTask(taskName);
  const info = ADVGLUE_TASKS[task];
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new FormatError(file, "expected a JSON object keyed by AdvGLUE task name");
  }
  const rows = (obj as Record<string, unknown>)[task];
  if (rows === undefined) {
    throw new FormatError(file, `no task "${task}" (tasks in file: ${Object.keys(obj).join(", ") || "none"})`);
  }
  if (!Array.isArray(rows)) throw new FormatError(file, `task "${task}": expected a list of examples`);
  const numLabels = info.labelNames.length;
  const examples = rows.map((row: unknown, i: number): AdvGlueExample => {
    const where = `task "${task}", index ${i}`;
    if (row === null || typeof row !== "object" || Array.isArray(row)) throw new FormatError(file, `${where}: expected an object`);
    const r = row as Record<string, unknown>;
    const idx = r.idx;
    if (typeof idx !== "number" || !Number.isInteger(idx)) throw new FormatError(file, `${where}: missing or non-integer "idx"`);
    const label = r.label;
    if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= numLabels) {
      throw new FormatError(
        file,
        `${where} (idx ${idx}): bad label ${JSON.stringify(label)}; expected an integer in 0..${numLabels - 1} (${info.labelNames.join(", ")})`,
      );
    }
    const texts = info.fields.map((f) => {
      const v = r[f];
      if (typeof v !== "string" || v.trim().length === 0) {
        throw new FormatError(file, `${where} (idx ${idx}): missing or empty text field "${f}"`);
      }
      return v;
    });
    const input = texts.length === 2 ? { text: texts[0]!, pair: texts[1]! } : { text: texts[0]! };
    return { idx, input, label };
  });
  return { task, file, numLabels, labelNames: info.labelNames, examples };
}

/** Loads one task of the AdvGLUE dev set (dev.json as published). */
export async function loadAdvGlue(file: string, task: string): Promise<AdvGlueSet> {
  checkTask(task);
  return parseAdvGlue(await readJsonFileAsync(file), file, task);
}

// AdvGLUE reports percentages: the GLUE metrics of src/data/metrics.ts, times 100.

export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length) throw new RoseError(`${predictions.length} predictions for ${labels.length} labels`);
  return labels.length === 0 ? 0 : 100 * glueAccuracy(Array.from(predictions), Array.from(labels));
}

/** Binary F1 of class 1 (GLUE: QQP/MRPC). */
export function f1(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length) throw new RoseError(`${predictions.length} predictions for ${labels.length} labels`);
  return labels.length === 0 ? 0 : 100 * glueF1(Array.from(predictions), Array.from(labels));
}

export interface AdvGlueScore {
  task: AdvGlueTask;
  n: number;
  accuracy: number;
  /** QQP only. */
  f1?: number;
  /** The task's GLUE metrics averaged (percent). */
  score: number;
}

export function scoreAdvGlue(task: string, predictions: ArrayLike<number>, labels: ArrayLike<number>): AdvGlueScore {
  const t = checkTask(task);
  const acc = accuracy(predictions, labels);
  if (ADVGLUE_TASKS[t].metrics.includes("f1")) {
    const f = f1(predictions, labels);
    return { task: t, n: labels.length, accuracy: acc, f1: f, score: (acc + f) / 2 };
  }
  return { task: t, n: labels.length, accuracy: acc, score: acc };
}

export interface AdvGlueOverall {
  /** Score per GLUE task; "mnli" is the mean of matched and mismatched when both are given. */
  tasks: Partial<Record<"sst2" | "qqp" | "qnli" | "rte" | "mnli", number>>;
  /** Mean of the task scores above. */
  average: number;
}

/** Combines per-task scores into the AdvGLUE overview (MNLI = mean of m and mm). */
export function advGlueOverall(scores: readonly AdvGlueScore[]): AdvGlueOverall {
  const by = new Map<AdvGlueTask, number>();
  for (const s of scores) {
    if (by.has(s.task)) throw new ConfigError(`task "${s.task}" scored twice`);
    by.set(s.task, s.score);
  }
  const tasks: AdvGlueOverall["tasks"] = {};
  for (const t of ["sst2", "qqp", "qnli", "rte"] as const) {
    const v = by.get(t);
    if (v !== undefined) tasks[t] = v;
  }
  const m = by.get("mnli");
  const mm = by.get("mnli-mm");
  if (m !== undefined && mm !== undefined) tasks.mnli = (m + mm) / 2;
  else if (m !== undefined || mm !== undefined) tasks.mnli = (m ?? mm)!;
  const vals = Object.values(tasks);
  return { tasks, average: vals.length === 0 ? 0 : vals.reduce((a, b) => a + b, 0) / vals.length };
}
