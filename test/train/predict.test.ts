import { test } from "node:test";
import assert from "node:assert/strict";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { parseModelConfig } from "../../src/io/config.ts";
import { frozenWeights, predictLogits, Predictor, rowsPerRun } from "../../src/infer/predictor.ts";
import { lengthBuckets } from "../../src/infer/buckets.ts";
import { Graph, Program, Rng } from "../../src/engine/index.ts";
import { ParamScope } from "../../src/models/index.ts";
import { collate, type EncodedExample } from "../../src/data/batches.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { dirFiles } from "../../src/node/files.ts";

const INPUTS = [{ text: "a fine film" }, { text: "dull and far too long, with nothing to say" }, { text: "yes", pair: "no" }];

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i]![j]!));
    });
  });
  return m;
}

test("Predictor: embedded (frozen) and fed weights give the same logits; frozen ones are read once", async () => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
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
  const base = parseModelConfig({
    model_type: "bert",
    hidden_size: 768,
    num_attention_heads: 12,
    intermediate_size: 3072,
    num_hidden_layers: 12,
  });
  assert.equal(rowsPerRun(base, 128), 16);
  assert.equal(rowsPerRun(base, 512), 4);
  assert.equal(rowsPerRun({ ...base, intermediateSize: 1024 }, 128), 48);
  assert.equal(rowsPerRun(base, 100000), 1);
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const whole = new Predictor(model, { batchSize: 64 });
  const parts = new Predictor(model, { batchSize: 64, maxRowsPerRun: 2 });
  const a = await whole.logits(INPUTS);
  const b = await parts.logits(INPUTS);
  assert.ok(maxDiff(a, b) < 1e-5, `differ by ${maxDiff(a, b)}`);
  await whole.release();
  await parts.release();
});

/** Cost of a split under lengthBuckets' model: per run, the overhead plus rows x longest row. */
const splitCost = (sorted: number[], runs: [number, number][], overhead: number) =>
  runs.reduce((c, [s, e]) => c + overhead + (e - s) * sorted[e - 1]!, 0);

test("length buckets: consecutive runs under the row cap, of the least cost of every possible split", () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + rng.int(10);
    const sorted = Array.from({ length: n }, () => 2 + rng.int(60)).sort((a, b) => a - b);
    const overhead = rng.int(80);
    const cap = (len: number) => 1 + (len % 4);
    const runs = lengthBuckets(sorted, cap, overhead);
    runs.forEach(([s], i) => {
      assert.equal(s, i === 0 ? 0 : runs[i - 1]![1], "each run starts where the last ended");
    });
    assert.equal(runs.at(-1)![1], n);
    for (const [s, e] of runs) assert.ok(e > s && e - s <= cap(sorted[e - 1]!), `run [${s}, ${e}) over its cap`);
    // Every split into runs under the caps (2^(n-1) of them, from the gaps cut).
    let best = Infinity;
    for (let cuts = 0; cuts < 1 << (n - 1); cuts++) {
      const split: [number, number][] = [];
      let start = 0;
      for (let i = 1; i <= n; i++) {
        if (i === n || cuts & (1 << (i - 1))) {
          split.push([start, i]);
          start = i;
        }
      }
      if (split.every(([s, e]) => e - s <= cap(sorted[e - 1]!))) best = Math.min(best, splitCost(sorted, split, overhead));
    }
    assert.equal(splitCost(sorted, runs, overhead), best, `lengths ${sorted}, overhead ${overhead}`);
  }
  // Short rows and a few long ones: the long ones run apart instead of padding the short ones.
  const skewed = [...Array<number>(30).fill(8), 60, 62, 64];
  assert.deepEqual(
    lengthBuckets(skewed, () => 128),
    [
      [0, 30],
      [30, 33],
    ],
  );
  assert.throws(() => lengthBuckets([5, 3], () => 8), /ascending/);
});

test("Predictor: rows run in length buckets give the logits of one batch padded to the longest row", async () => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  // Lengths 2..24 (the model's positions), token types of a pair for some rows.
  const rng = new Rng(9);
  const encoded: EncodedExample[] = Array.from({ length: 40 }, () => {
    const len = 2 + rng.int(23);
    const split = rng.next() < 0.3 ? 1 + rng.int(len - 1) : len;
    return {
      ids: Int32Array.from({ length: len }, () => 5 + rng.int(56)),
      typeIds: Uint8Array.from({ length: len }, (_, t) => (t < split ? 0 : 1)),
      label: 0,
    };
  });
  const g = new Graph();
  const inputs = model.arch.inputs(g);
  const prog = await Program.compile(
    g,
    { out: model.arch.logits({ scope: new ParamScope(g), train: false }, inputs) },
    frozenWeights(model, 1),
  );
  const b = collate(encoded, 0, { padTo: 24 });
  const dims = [b.batch, b.seq];
  const r = (
    await prog.run({
      input_ids: { data: b.inputIds, dims },
      attention_mask: { data: b.attentionMask, dims },
      token_type_ids: { data: b.tokenTypeIds, dims },
    })
  ).out!;
  const padded = encoded.map((_, i) => (r.data as Float32Array).slice(i * 3, (i + 1) * 3));
  await prog.release();
  for (const frozen of [true, false]) {
    let runs = 0;
    const pred = new Predictor(model, { threads: 1, frozenWeights: frozen, onProgress: () => runs++ });
    const bucketed = await pred.logitsEncoded(encoded);
    await pred.release();
    assert.ok(runs > 1, `the rows ran in ${runs} run(s)`);
    assert.ok(maxDiff(bucketed, padded) < 1e-5, `frozen ${frozen}: differ by ${maxDiff(bucketed, padded)}`);
  }
});
