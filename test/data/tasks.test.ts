import { test } from "node:test";
import assert from "node:assert/strict";
import { customTask, getGlueTask, GLUE_TASK_NAMES, withLabels } from "../../src/data/tasks.ts";

test("every GLUE task is defined consistently", () => {
  for (const name of GLUE_TASK_NAMES) {
    const t = getGlueTask(name)!;
    assert.equal(t.name, name);
    assert.equal(t.numLabels, t.isRegression ? 1 : t.labels!.length);
    assert.ok(t.metrics.includes(t.mainMetric), name);
    assert.equal(t.layouts[0]!.text, t.hfColumns.text);
  }
  assert.equal(getGlueTask("nope"), undefined);
});

test("label order follows Hugging Face glue", () => {
  assert.deepEqual(getGlueTask("qnli")!.labels, ["entailment", "not_entailment"]);
  assert.deepEqual(getGlueTask("rte")!.labels, ["entailment", "not_entailment"]);
  assert.deepEqual(getGlueTask("mnli")!.labels, ["entailment", "neutral", "contradiction"]);
  assert.deepEqual(getGlueTask("wnli")!.labels, ["not_entailment", "entailment"]);
  assert.deepEqual(getGlueTask("sst2")!.labels, ["negative", "positive"]);
  const stsb = getGlueTask("stsb")!;
  assert.equal(stsb.isRegression, true);
  assert.equal(stsb.labels, null);
  assert.equal(stsb.mainMetric, "pearson");
  assert.equal(getGlueTask("cola")!.mainMetric, "matthews_correlation");
  assert.deepEqual(getGlueTask("mnli")!.hfColumns, { text: "premise", pair: "hypothesis", label: "label" });
  assert.equal(getGlueTask("mnli-mm")!.validation!.hfSplit, "validation_mismatched");
  assert.equal(getGlueTask("mnli-mm")!.trainTask, "mnli");
});

test("custom tasks", () => {
  const t = customTask({ labels: ["ham", "spam"] });
  assert.equal(t.numLabels, 2);
  assert.deepEqual(t.metrics, ["accuracy", "f1"]);
  assert.deepEqual(withLabels(customTask(), ["a", "b", "c"]).metrics, ["accuracy", "macro_f1"]);
  assert.equal(customTask({ regression: true }).numLabels, 1);
  assert.throws(() => customTask({ labels: ["a", "a"] }));
});
