// Typed CLI flag objects carry absent flags as `undefined`; filled options must keep the defaults then.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pretrainOptions } from "../../src/cli/pretrain.ts";
import { withDefaults } from "../../src/defaults.ts";
import { TRAIN_DEFAULTS, validateTrainOptions } from "../../src/train/trainer.ts";

test("withDefaults: undefined keeps the default, defined values (0, false, null too) replace it", () => {
  const d = { a: 1, b: true, c: "x" as string | null };
  assert.deepEqual(withDefaults(d, { a: undefined, b: false, c: null }), { a: 1, b: false, c: null });
  assert.deepEqual(withDefaults(d, { a: 0 }), { a: 0, b: true, c: "x" });
  assert.deepEqual(d, { a: 1, b: true, c: "x" }, "the defaults object is not changed");
});

test("train options: an absent --max-seq-length keeps the default maxSeqLength", () => {
  const filled = withDefaults(TRAIN_DEFAULTS, { maxSeqLength: undefined, stopAfterEpoch: undefined });
  assert.equal(filled.maxSeqLength, TRAIN_DEFAULTS.maxSeqLength);
  validateTrainOptions(filled);
  // What a plain spread would do: the explicit undefined wins and the options are refused.
  assert.throws(() => validateTrainOptions({ ...TRAIN_DEFAULTS, ...{ maxSeqLength: undefined as unknown as number } }), /maxSeqLength/);
});

test("pretrain flags: absent --dropout maps to null (the config's dropout), absent --threads stays undefined", () => {
  const o = pretrainOptions({
    corpus: ["c.txt"],
    outputDir: "o",
    config: "mini",
    configFile: undefined,
    init: undefined,
    vocabSize: 100,
    maxSeqLength: 32,
    maxSteps: 2,
    batchSize: 2,
    learningRate: 1e-3,
    warmupRatio: 0,
    mlmProbability: 0.15,
    weightDecay: 0,
    adamBeta2: 0.98,
    maxGradNorm: 1,
    method: "vanilla",
    upper: 70,
    lower: 0,
    gamma: 0.5,
    klDropout: 0.1,
    evalSteps: 0,
    seed: 1,
    loggingSteps: 1,
    saveSteps: 0,
    threads: undefined,
    lrSchedulerType: "cosine",
  });
  assert.equal(o.dropout, null);
  assert.equal(o.lrSchedule, "cosine");
  assert.equal(o.threads, undefined);
  assert.deepEqual(o.heldout, []);
  assert.equal(o.overwriteOutputDir, false);
});
