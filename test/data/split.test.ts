import { test } from "node:test";
import assert from "node:assert/strict";
import { balancedSample, splitExamples } from "../../src/data/split.ts";
import { ConfigError } from "../../src/errors.ts";

const examples = Array.from({ length: 100 }, (_, i) => ({ text: `t${i}`, label: i % 10 === 0 ? 1 : 0, line: i + 1 }));

test("split is deterministic per seed, disjoint and complete", () => {
  const a = splitExamples(examples, { validationFraction: 0.2, seed: 7 });
  const b = splitExamples(examples, { validationFraction: 0.2, seed: 7 });
  const c = splitExamples(examples, { validationFraction: 0.2, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.validation, c.validation);
  assert.equal(a.validation.length, 20);
  assert.equal(a.train.length, 80);
  const lines = [...a.train, ...a.validation].map((e) => e.line).sort((x, y) => x - y);
  assert.deepEqual(lines, examples.map((e) => e.line));
  // Input order is kept inside each half.
  assert.deepEqual(a.train.map((e) => e.line), [...a.train.map((e) => e.line)].sort((x, y) => x - y));
});

test("stratified split keeps the class balance", () => {
  for (const seed of [1, 2, 3]) {
    const { train, validation } = splitExamples(examples, { validationFraction: 0.2, seed, stratify: true });
    assert.equal(validation.filter((e) => e.label === 1).length, 2);
    assert.equal(train.filter((e) => e.label === 1).length, 8);
  }
});

test("split rejects bad fractions and empty halves", () => {
  assert.throws(() => splitExamples(examples, { validationFraction: 0, seed: 1 }), ConfigError);
  assert.throws(() => splitExamples(examples, { validationFraction: 1, seed: 1 }), ConfigError);
  assert.throws(() => splitExamples(examples.slice(0, 3), { validationFraction: 0.1, seed: 1 }), /empty validation/);
});

test("balancedSample takes perClass of each label, deterministically", () => {
  const s = balancedSample(examples, { perClass: 5, seed: 4 });
  assert.equal(s.filter((e) => e.label === 1).length, 5);
  assert.equal(s.filter((e) => e.label === 0).length, 5);
  assert.deepEqual(s, balancedSample(examples, { perClass: 5, seed: 4 }));
  assert.equal(balancedSample(examples, { perClass: 50, seed: 4 }).filter((e) => e.label === 1).length, 10);
});
