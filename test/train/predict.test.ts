import { test } from "node:test";
import assert from "node:assert/strict";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { parseModelConfig } from "../../src/io/config.ts";
import { predictLogits, Predictor, rowsPerRun } from "../../src/infer/predictor.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";

const INPUTS = [{ text: "a fine film" }, { text: "dull and far too long, with nothing to say" }, { text: "yes", pair: "no" }];

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((row, i) => row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

test("Predictor: embedded (frozen) and fed weights give the same logits; frozen ones are read once", async () => {
  const model = await PretrainedModel.load(GOLDEN_BERT);
  const frozen = new Predictor(model);
  const fed = new Predictor(model, { frozenWeights: false });
  const a = await frozen.logits(INPUTS);
  const b = await fed.logits(INPUTS);
  assert.ok(maxDiff(a, b) < 1e-5, `differ by ${maxDiff(a, b)}`);
  assert.ok(maxDiff(a, await predictLogits(model, INPUTS)) < 1e-5);

  // Change the classifier: the fed predictor sees it, the frozen one until it is released and recompiled.
  const w = model.params.get("classifier.weight")!;
  const saved = w.slice();
  w.fill(0);
  const zeroFed = await fed.logits(INPUTS);
  assert.ok(zeroFed.every((row) => row.every((v, j) => Math.abs(v - model.params.get("classifier.bias")![j]!) < 1e-6)));
  assert.ok(maxDiff(await frozen.logits(INPUTS), a) < 1e-6, "frozen weights were read at the first run");
  await frozen.release();
  assert.ok(maxDiff(await frozen.logits(INPUTS), zeroFed) < 1e-6, "released predictors recompile with the current weights");
  w.set(saved);
  await frozen.release();
  await fed.release();
});

test("Predictor: batches run in parts sized to the model give the same logits", async () => {
  const base = parseModelConfig({ model_type: "bert", hidden_size: 768, num_attention_heads: 12, intermediate_size: 3072, num_hidden_layers: 12 });
  assert.equal(rowsPerRun(base, 128), 16);
  assert.equal(rowsPerRun(base, 512), 4);
  assert.equal(rowsPerRun({ ...base, intermediateSize: 1024 }, 128), 48);
  assert.equal(rowsPerRun(base, 100000), 1);
  const model = await PretrainedModel.load(GOLDEN_BERT);
  const whole = new Predictor(model, { batchSize: 64 });
  const parts = new Predictor(model, { batchSize: 64, maxRowsPerRun: 2 });
  const a = await whole.logits(INPUTS);
  const b = await parts.logits(INPUTS);
  assert.ok(maxDiff(a, b) < 1e-5, `differ by ${maxDiff(a, b)}`);
  await whole.release();
  await parts.release();
});
