import { test } from "node:test";
import assert from "node:assert/strict";
import { FormatError } from "../../src/errors.ts";
import { WordNet } from "../../src/robust/wordnet.ts";

test("WordNet synonyms of a few words", () => {
  const wn = WordNet.load();
  const good = wn.synonyms("good");
  for (const w of ["beneficial", "well", "estimable", "just"]) assert.ok(good.includes(w), `good -> ${w}`);
  assert.ok(!good.includes("good"));
  assert.ok(good.every((w) => !w.includes("_") && !w.includes(" ")));
  assert.ok(wn.synonyms("movie").includes("film"));
  assert.ok(wn.synonyms("terrible").includes("awful"));
  // Morphy finds the base form of inflected words.
  assert.ok(wn.synonyms("films").includes("movie"));
  assert.ok(wn.synonyms("quickly").includes("rapidly"));
  assert.deepEqual(wn.synonyms("Good"), good);
  assert.deepEqual(wn.synonyms("xqzzy"), []);
});

test("WordNet parts of speech and caching", () => {
  const wn = WordNet.load();
  assert.equal(WordNet.load(), wn);
  assert.deepEqual([...wn.posOf("movie")], ["n"]);
  assert.ok(wn.posOf("good").has("a"));
  assert.ok(wn.posOf("run").has("v"));
  assert.equal(wn.posOf("the").size, 0);
});

test("WordNet in a missing directory is a FormatError", () => {
  assert.throws(
    () => WordNet.load("/nonexistent/wordnet"),
    (e: unknown) => e instanceof FormatError && /nonexistent/.test(e.message),
  );
});
