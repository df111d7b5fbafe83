import { test } from "node:test";
import assert from "node:assert/strict";
import { balancedSample, splitExamples, splitPhraseDisjoint } from "../../src/data/split.ts";
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
  assert.deepEqual(
    lines,
    examples.map((e) => e.line),
  );
  // Input order is kept inside each half.
  assert.deepEqual(
    a.train.map((e) => e.line),
    [...a.train.map((e) => e.line)].sort((x, y) => x - y),
  );
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

test("splitPhraseDisjoint: no training row is part of a validation row or contains one", () => {
  const rows = [
    "a gripping and moving film",
    "gripping and moving",
    "moving",
    "the film is a gripping and moving film indeed",
    "a dull and tired story",
    "dull",
    "tired story",
    "an utterly charming little comedy",
    "charming",
    "story",
  ];
  const r = splitPhraseDisjoint(rows, { validationSize: 1, minWords: 5, seed: 3, text: (s) => s });
  assert.equal(r.validation.length, 1);
  const v = r.validation[0]!;
  for (const t of r.train) {
    assert.ok(!v.includes(t) && !t.includes(v), `${JSON.stringify(t)} overlaps validation row ${JSON.stringify(v)}`);
  }
  assert.equal(r.train.length + r.validation.length + r.dropped, rows.length);
  assert.ok(r.dropped > 0);
  // Deterministic, and refuses a validation size it cannot fill.
  assert.deepEqual(splitPhraseDisjoint(rows, { validationSize: 1, minWords: 5, seed: 3, text: (s) => s }), r);
  assert.throws(
    () => splitPhraseDisjoint(rows, { validationSize: 9, minWords: 5, seed: 3, text: (s) => s }),
    /needs 9 rows of at least 5 words; there are 4/,
  );
});
