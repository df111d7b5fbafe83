// Evaluation metrics, matching scikit-learn / scipy as used by Hugging Face `evaluate` (GLUE metric):
// zero-division cases give 0 (F1, MCC) as sklearn does; a constant input gives NaN for correlations as scipy does.

import { RoseError } from "../errors.ts";
import type { MetricName, Task } from "./tasks.ts";

function check(preds: readonly number[], labels: readonly number[], what: string): void {
  if (preds.length !== labels.length) {
    throw new RoseError(`${what}: ${preds.length} predictions but ${labels.length} labels`);
  }
  if (preds.length === 0) throw new RoseError(`${what}: no examples`);
}

export function accuracy(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, "accuracy");
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return hit / preds.length;
}

/** F1 of one class against the rest; 0 when it is never predicted nor present (sklearn zero_division=0). */
function classF1(preds: readonly number[], labels: readonly number[], positive: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === positive;
    const t = labels[i] === positive;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/** Binary F1 with class 1 as the positive class. */
export function f1(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, "f1");
  return classF1(preds, labels, 1);
}

/** Unweighted mean of per-class F1 over the classes present in labels or predictions (sklearn average="macro"). */
export function macroF1(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, "macro_f1");
  const classes = [...new Set([...labels, ...preds])];
  let sum = 0;
  for (const c of classes) sum += classF1(preds, labels, c);
  return sum / classes.length;
}

/** Matthews correlation coefficient, multi-class form (Gorodkin 2004) as sklearn computes it; 0 when undefined. */
export function matthewsCorrelation(preds: readonly number[], labels: readonly number[]): number {
  check(preds, labels, "matthews_correlation");
  const s = preds.length;
  let c = 0;
  const predCount = new Map<number, number>();
  const trueCount = new Map<number, number>();
  for (let i = 0; i < s; i++) {
    if (preds[i] === labels[i]) c++;
    predCount.set(preds[i]!, (predCount.get(preds[i]!) ?? 0) + 1);
    trueCount.set(labels[i]!, (trueCount.get(labels[i]!) ?? 0) + 1);
  }
  let pt = 0;
  for (const [k, p] of predCount) pt += p * (trueCount.get(k) ?? 0);
  let pp = 0;
  for (const p of predCount.values()) pp += p * p;
  let tt = 0;
  for (const t of trueCount.values()) tt += t * t;
  const denom = Math.sqrt((s * s - pp) * (s * s - tt));
  return denom === 0 ? 0 : (c * s - pt) / denom;
}

export function pearson(x: readonly number[], y: readonly number[]): number {
  check(x, y, "pearson");
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  // Clamp: rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks; tied values share the average of their ranks (scipy rankdata "average"). */
export function averageRanks(x: readonly number[]): number[] {
  const order = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Array<number>(x.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && x[order[j + 1]!] === x[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson correlation of average ranks. */
export function spearmanr(x: readonly number[], y: readonly number[]): number {
  check(x, y, "spearmanr");
  return pearson(averageRanks(x), averageRanks(y));
}

const METRICS: Record<MetricName, (p: readonly number[], l: readonly number[]) => number> = {
  accuracy,
  f1,
  macro_f1: macroF1,
  matthews_correlation: matthewsCorrelation,
  pearson,
  spearmanr,
};

/**
 * The task's metric set, keyed as `evaluate` keys them (GLUE: mrpc/qqp accuracy+f1, stsb pearson+spearmanr,
 * cola matthews_correlation, others accuracy). `predictions` are class ids, or values for regression tasks.
 */
export function computeMetrics(task: Task, predictions: readonly number[], labels: readonly number[]): Record<string, number> {
  check(predictions, labels, `metrics for ${task.name}`);
  let names = task.metrics;
  if (task.name === "custom" && !task.isRegression && task.labels === null) {
    // Label set not fixed yet: binary F1 only makes sense for two classes.
    const binary = [...labels, ...predictions].every((v) => v === 0 || v === 1);
    names = ["accuracy", binary ? "f1" : "macro_f1"];
  }
  const out: Record<string, number> = {};
  for (const m of names) out[m] = METRICS[m](predictions, labels);
  return out;
}

/** The checkpoint-selection metric of a task, read from computeMetrics' result. */
export function mainMetric(task: Task, metrics: Record<string, number>): number {
  const v = metrics[task.mainMetric];
  if (v === undefined) throw new RoseError(`metric ${task.mainMetric} was not computed for task ${task.name}`);
  return v;
}
