// Word n-grams and tf-idf as scikit-learn's TfidfVectorizer / CountVectorizer defaults compute them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NgramVectorizer } from "../../src/baseline/vectorizer.ts";
import { wordNgrams, wordTokens } from "../../src/baseline/text.ts";
import { ConfigError } from "../../src/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("tokens are lower-cased runs of two or more letters, digits or underscores, as (?u)\\b\\w\\w+\\b", () => {
  assert.deepEqual(wordTokens("Hello, World! It's a test_case of 42 x-ray 7"), ["hello", "world", "it", "test_case", "of", "42", "ray"]);
  assert.deepEqual(wordTokens("Café NAÏVE 東京 ab"), ["café", "naïve", "東京", "ab"]);
  assert.deepEqual(wordTokens("Café", false), ["Café"]);
  assert.deepEqual(wordTokens("a . ! ?"), []);
});

test("n-grams: unigrams then bigrams joined by a space, with an optional prefix", () => {
  assert.deepEqual(wordNgrams(["a", "b", "c"], [1, 2]), ["a", "b", "c", "a b", "b c"]);
  assert.deepEqual(wordNgrams(["a", "b", "c"], [2, 3], "p:"), ["p:a b", "p:b c", "p:a b c"]);
  assert.deepEqual(wordNgrams(["a"], [2, 2]), []);
});

const DOCS = [{ text: "the cat sat" }, { text: "The dog sat" }, { text: "a cat" }];

test("vocabulary is sorted; idf = ln((1 + n) / (1 + df)) + 1; tf-idf rows have unit L2 norm", () => {
  const v = NgramVectorizer.fit(DOCS);
  assert.deepEqual(v.vocabulary, ["cat", "cat sat", "dog", "dog sat", "sat", "the", "the cat", "the dog"]);
  const common = Math.log(4 / 3) + 1,
    rare = Math.log(4 / 2) + 1;
  assert.deepEqual(
    [...v.idf].map((x) => +x.toFixed(12)),
    [common, rare, rare, rare, common, common, rare, rare].map((x) => +x.toFixed(12)),
  );
  const counts = v.counts(DOCS);
  assert.deepEqual([...counts.indptr], [0, 5, 10, 11]);
  assert.deepEqual([...counts.indices.subarray(0, 5)], [0, 1, 4, 5, 6]);
  assert.deepEqual([...counts.data], new Array(11).fill(1));
  const x = v.tfidf([...DOCS, { text: "cat cat unknown" }, { text: "nothing known" }]);
  // Row 0: the, cat, sat (idf `common`) and the cat, cat sat (idf `rare`).
  const norm = Math.sqrt(3 * common * common + 2 * rare * rare);
  close(x.data[0]!, common / norm);
  close(x.data[1]!, rare / norm);
  assert.deepEqual([...x.data.subarray(10, 12)], [1, 1]); // "a cat" and "cat cat unknown": only "cat"
  assert.equal(x.indptr[5]! - x.indptr[4]!, 0); // no known term: an empty row
});

test("text pairs: the second segment's n-grams are separate features", () => {
  const v = NgramVectorizer.fit([{ text: "good film", pair: "good" }]);
  assert.deepEqual(v.vocabulary, ["film", "good", "good film", "pair:good"]);
  const c = v.counts([{ text: "good", pair: "good film" }]);
  assert.deepEqual([...c.indices], [1, 3]);
});

test("min_df, max_df and max_features prune as scikit-learn does", () => {
  assert.deepEqual(NgramVectorizer.fit(DOCS, { minDf: 2 }).vocabulary, ["cat", "sat", "the"]);
  assert.deepEqual(NgramVectorizer.fit(DOCS, { minDf: 0.5 }).vocabulary, ["cat", "sat", "the"]);
  assert.deepEqual(NgramVectorizer.fit(DOCS, { maxDf: 0.5 }).vocabulary, ["cat sat", "dog", "dog sat", "the cat", "the dog"]);
  // Total counts: cat 2, sat 2, the 2, the rest 1; ties keep the term order.
  assert.deepEqual(NgramVectorizer.fit(DOCS, { maxFeatures: 2 }).vocabulary, ["cat", "sat"]);
  assert.deepEqual(NgramVectorizer.fit(DOCS, { ngramRange: [2, 2], maxFeatures: 2 }).vocabulary, ["cat sat", "dog sat"]);
  assert.throws(() => NgramVectorizer.fit(DOCS, { minDf: 4 }), ConfigError);
  assert.throws(() => NgramVectorizer.fit(DOCS, { ngramRange: [2, 1] }), ConfigError);
  assert.throws(() => NgramVectorizer.fit(DOCS, { minDf: 1.5 }), ConfigError);
});

test("the vocabulary is in code-point order, as Python sorts strings", () => {
  // U+FF41 (fullwidth a) sorts before U+1D41A (mathematical bold a), though its UTF-16 unit is larger.
  const v = NgramVectorizer.fit([{ text: "\u{1D41A}\u{1D41B} \uFF41\uFF42 zz" }], { ngramRange: [1, 1] });
  assert.deepEqual(v.vocabulary, ["zz", "\uFF41\uFF42", "\u{1D41A}\u{1D41B}"]);
});
