import { test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracy,
  averageRanks,
  computeMetrics,
  f1,
  macroF1,
  mainMetric,
  matthewsCorrelation,
  pearson,
  spearmanr,
} from "../../src/data/metrics.ts";
import { customTask, getGlueTask } from "../../src/data/tasks.ts";
import { RoseError } from "../../src/errors.ts";

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

// TP=2 (0,4), FP=1 (1), FN=1 (3), TN=2 (2,5)
const P = [1, 1, 0, 0, 1, 0];
const L = [1, 0, 0, 1, 1, 0];

test("binary accuracy, f1 and MCC against hand-computed values", () => {
  close(accuracy(P, L), 4 / 6);
  close(f1(P, L), (2 * 2) / (2 * 2 + 1 + 1));
  // (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 3 / 9
  close(matthewsCorrelation(P, L), 1 / 3);
});

test("multi-class MCC and macro F1", () => {
  const labels = [0, 0, 1, 1, 2, 2];
  const preds = [0, 1, 1, 1, 2, 0];
  // c=4, s=6, sum p_k t_k = 2*2 + 3*2 + 1*2 = 12, sum p^2 = 14, sum t^2 = 12
  close(matthewsCorrelation(preds, labels), (4 * 6 - 12) / Math.sqrt((36 - 14) * (36 - 12)));
  // per-class F1: 2/4, 4/5, 2/3
  close(macroF1(preds, labels), (0.5 + 0.8 + 2 / 3) / 3);
});

test("degenerate cases follow sklearn / scipy", () => {
  assert.equal(matthewsCorrelation([1, 1, 1], [0, 1, 0]), 0);
  assert.equal(f1([0, 0], [0, 0]), 0);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  close(matthewsCorrelation(L, L), 1);
  close(
    matthewsCorrelation(
      L.map((x) => 1 - x),
      L,
    ),
    -1,
  );
  assert.throws(() => accuracy([1], [1, 0]), RoseError);
  assert.throws(() => accuracy([], []), RoseError);
});

test("pearson and spearman with ties (average ranks)", () => {
  close(pearson([1, 2, 3, 4], [2, 4, 5, 9]), 11 / Math.sqrt(130));
  assert.deepEqual(averageRanks([10, 20, 20, 5, 20]), [2, 4, 4, 1, 4]);
  // ranks x = [1, 2.5, 2.5, 4], y = [1, 3, 2, 4] -> 4.5 / sqrt(4.5 * 5); scipy gives 0.9486832980505138
  close(spearmanr([1, 2, 2, 3], [1, 3, 2, 4]), 0.9486832980505138, 1e-12);
  close(spearmanr([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
});

test("computeMetrics uses the evaluate GLUE key sets", () => {
  assert.deepEqual(Object.keys(computeMetrics(getGlueTask("mrpc")!, P, L)).sort(), ["accuracy", "f1"]);
  assert.deepEqual(Object.keys(computeMetrics(getGlueTask("qqp")!, P, L)).sort(), ["accuracy", "f1"]);
  assert.deepEqual(Object.keys(computeMetrics(getGlueTask("cola")!, P, L)), ["matthews_correlation"]);
  assert.deepEqual(Object.keys(computeMetrics(getGlueTask("sst2")!, P, L)), ["accuracy"]);
  const s = computeMetrics(getGlueTask("stsb")!, [0.5, 1.5, 4.0, 3.0], [1, 2, 5, 3.5]);
  assert.deepEqual(Object.keys(s).sort(), ["pearson", "spearmanr"]);
  close(s.spearmanr!, 1);
  close(mainMetric(getGlueTask("cola")!, computeMetrics(getGlueTask("cola")!, P, L)), 1 / 3);
});

test("custom tasks: f1 for two classes, macro_f1 for more", () => {
  assert.deepEqual(Object.keys(computeMetrics(customTask(), P, L)).sort(), ["accuracy", "f1"]);
  assert.deepEqual(Object.keys(computeMetrics(customTask(), [0, 2, 1], [0, 1, 2])).sort(), ["accuracy", "macro_f1"]);
  assert.deepEqual(Object.keys(computeMetrics(customTask({ labels: ["a", "b", "c"] }), [0, 2, 1], [0, 1, 2])).sort(), [
    "accuracy",
    "macro_f1",
  ]);
  assert.deepEqual(Object.keys(computeMetrics(customTask({ regression: true }), [1, 2, 3], [1, 3, 2])).sort(), ["pearson", "spearmanr"]);
});
