import { test } from "node:test";
import assert from "node:assert/strict";
import {
  isOneWord,
  levenshtein,
  matchCase,
  NLTK_STOPWORDS,
  PerturbedText,
  SegmentedText,
  TEXTFOOLER_STOPWORDS,
} from "../../src/robust/words.ts";

test("split keeps every character: seps and words rebuild the text", () => {
  for (const text of ["it 's a charming and often affecting journey . ", "  Hello,world!!  don't  well-made 42", "", "...", "naïve café"]) {
    const s = new SegmentedText(text);
    assert.equal(s.seps.length, s.words.length + 1);
    let back = s.seps[0]!;
    s.words.forEach((w, i) => {
      back += w + s.seps[i + 1]!;
    });
    assert.equal(back, text);
  }
  assert.deepEqual(new SegmentedText("  Hello,world!!  don't  well-made 42").words, ["Hello", "world", "don't", "well-made", "42"]);
  assert.deepEqual(new SegmentedText("naïve café").words, ["naïve", "café"]);
});

test("replaceWord changes exactly one word and keeps separators", () => {
  const t = PerturbedText.from("A  good, bad\tfilm!");
  const u = t.replaceWord(1, "fine").replaceWord(3, "movie");
  assert.equal(u.text, "A  fine, bad\tmovie!");
  assert.deepEqual(u.modified, [1, 3]);
  assert.equal(t.text, "A  good, bad\tfilm!");
  assert.equal(t.textWith(2, "[UNK]"), "A  good, [UNK]\tfilm!");
  assert.equal(u.textWith(0, "The"), "The  fine, bad\tmovie!");
});

test("textWithout deletes a word and collapses the doubled space", () => {
  const t = PerturbedText.from("a good film .");
  assert.equal(t.textWithout(1), "a film .");
  assert.equal(t.textWithout(0), "good film .");
  assert.equal(t.textWithout(2), "a good .");
});

test("window takes size words around the index", () => {
  const t = PerturbedText.from("w0 w1 w2 w3 w4 w5 w6 w7 w8 w9");
  assert.equal(t.window(5, 3), "w4 w5 w6");
  assert.equal(t.window(0, 3), "w0 w1 w2");
  assert.equal(t.window(9, 4), "w6 w7 w8 w9");
  assert.equal(t.window(2, 50), t.words.join(" "));
});

test("levenshtein, matchCase, isOneWord", () => {
  assert.equal(levenshtein("kitten", "sitting"), 3);
  assert.equal(levenshtein("", "abc"), 3);
  assert.equal(levenshtein("abc", "abc"), 0);
  assert.equal(levenshtein("ab", "ba"), 2);
  assert.equal(matchCase("Good", "fine"), "Fine");
  assert.equal(matchCase("GOOD", "fine"), "FINE");
  assert.equal(matchCase("good", "Paris"), "Paris");
  assert.ok(isOneWord("don't") && isOneWord("well-made") && !isOneWord("ice cream") && !isOneWord("##ing") && !isOneWord("!"));
});

test("stop-word lists: NLTK's 179 words and TextFooler's list", () => {
  assert.equal(NLTK_STOPWORDS.size, 179);
  for (const w of ["the", "not", "don't", "and", "very"]) assert.ok(NLTK_STOPWORDS.has(w), w);
  for (const w of ["the", "not", "however", "nobody"]) assert.ok(TEXTFOOLER_STOPWORDS.has(w), w);
  for (const w of ["good", "film", "terrible"]) assert.ok(!NLTK_STOPWORDS.has(w) && !TEXTFOOLER_STOPWORDS.has(w), w);
});
