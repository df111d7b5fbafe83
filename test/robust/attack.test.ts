import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../src/errors.ts";
import { Attack, runAttack } from "../../src/robust/attack.ts";
import { PartOfSpeechConstraint, RepeatModification, SentenceSimilarity, StopwordModification } from "../../src/robust/constraints.ts";
import { loadNeighbors, NeighborTable } from "../../src/robust/neighbors.ts";
import { buildAttack, RECIPE_NAMES, type RecipeOptions } from "../../src/robust/recipes.ts";
import { GreedyWordSwapWIR } from "../../src/robust/search.ts";
import type { Transformation } from "../../src/robust/transformations.ts";
import type { AttackInput, AttackResult } from "../../src/robust/types.ts";
import { NLTK_STOPWORDS, PerturbedText, SegmentedText, TEXTFOOLER_STOPWORDS } from "../../src/robust/words.ts";
import { fixtureData } from "../helpers/shared.ts";
import { BowClassifier, FixedFiller, LetterEncoder } from "./mock.ts";

// The counter-fitted neighbours of every word these tests attack (a slice of ../shared/data/attack).
const neighbors = await loadNeighbors(fixtureData("neighbors-slice.json"));
const options = (extra: RecipeOptions = {}): RecipeOptions => ({ neighbors, filler: new FixedFiller(), ...extra });

const positive = { input: { text: "A charming and wonderful film." }, label: 1 };

/** The perturbed text must be the original split with exactly the listed words swapped. */
function assertExactRebuild(r: AttackResult): void {
  const field = r.attackedField;
  const seg = new SegmentedText(r.original[field]!);
  const words = [...seg.words];
  for (const c of r.changes) {
    assert.equal(seg.words[c.index], c.original);
    assert.notEqual(c.perturbed, c.original);
    words[c.index] = c.perturbed;
  }
  let text = seg.seps[0]!;
  words.forEach((w, i) => {
    text += w + seg.seps[i + 1]!;
  });
  assert.equal(r.perturbed[field], text);
  const other = field === "text" ? "pair" : "text";
  assert.equal(r.perturbed[other], r.original[other]);
}

for (const name of RECIPE_NAMES) {
  test(`${name} succeeds on a clearly positive review`, async () => {
    const clf = new BowClassifier();
    const r = await buildAttack(name, options()).attackExample(clf, positive);
    assert.equal(r.status, "succeeded", JSON.stringify(r));
    assert.equal(r.originalPrediction, 1);
    assert.equal(r.perturbedPrediction, 0);
    assert.ok(r.changes.length >= 1);
    assert.equal(r.perturbedWordPct, (100 * r.changes.length) / 5);
    assertExactRebuild(r);
    // Queries count unique inputs, and the classifier never saw one twice.
    const seen = clf.calls.flat().map((x) => x.text);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(r.queries, seen.length);
  });
}

test("recipes never modify stop words, rebuild texts exactly, and are deterministic (SST-2 dev)", async () => {
  const lines = readFileSync(fixtureData("sst2-dev-120.tsv"), "utf8").trim().split("\n").slice(1, 121);
  const examples = lines.map((l) => {
    const [text, y] = l.split("\t");
    return { input: { text: text! }, label: Number(y) };
  });
  for (const name of RECIPE_NAMES) {
    const stop = name === "textfooler" ? TEXTFOOLER_STOPWORDS : NLTK_STOPWORDS;
    const run = await runAttack(buildAttack(name, options({ encoder: new LetterEncoder(), seed: 3 })), new BowClassifier(), examples);
    assert.ok(
      run.results.some((r) => r.status === "succeeded"),
      name,
    );
    for (const r of run.results) {
      assertExactRebuild(r);
      for (const c of r.changes) assert.ok(!stop.has(c.original.toLowerCase()), `${name} modified stop word ${c.original}`);
      assert.equal(new Set(r.changes.map((c) => c.index)).size, r.changes.length);
      if (name === "bert-attack") assert.ok(r.changes.length <= Math.ceil(0.4 * r.numWords));
    }
    if (name === "deepwordbug") {
      const again = await runAttack(buildAttack(name, options({ seed: 3 })), new BowClassifier(), examples);
      assert.deepEqual(again.results, run.results);
    }
    assert.ok(run.stats.totalMs >= run.stats.modelMs && run.stats.modelCalls > 0);
  }
});

test("a sentiment carried only by stop words cannot be attacked", async () => {
  const clf = new BowClassifier({ not: 5, the: 5 });
  const table = NeighborTable.fromObject({ not: ["never"], the: ["a"], film: ["movie"] });
  const r = await buildAttack("textfooler", { neighbors: table }).attackExample(clf, { input: { text: "the film is not" }, label: 1 });
  assert.equal(r.status, "failed");
  assert.deepEqual(r.changes, []);
});

test("max modification ratio: BERT-Attack stops at 40% of the words", async () => {
  const clf = new BowClassifier();
  const attack = buildAttack("bert-attack", { filler: new FixedFiller(["fine"]) });
  const r = await attack.attackExample(clf, { input: { text: "good great excellent wonderful charming film" }, label: 1 });
  assert.equal(r.status, "failed");
  assert.equal(r.changes.length, 3); // ceil(6 * 0.4)
  assert.deepEqual(r.changes.map((c) => c.original).sort(), ["excellent", "good", "great"]);
  // The option overrides the recipe's ratio.
  const one = await buildAttack("pwws", { maxModifiedRatio: 0.2 }).attackExample(clf, {
    input: { text: "good great excellent wonderful charming film" },
    label: 1,
  });
  assert.ok(one.changes.length <= 2);
  assert.throws(() => buildAttack("pwws", { maxModifiedRatio: 0 }), ConfigError);
});

test("query budget bounds the model inputs of each example", async () => {
  for (const budget of [1, 2, 5, 9, 20]) {
    const clf = new BowClassifier();
    const r = await buildAttack("pwws", { queryBudget: budget }).attackExample(clf, {
      input: { text: "good great excellent wonderful charming film and a lovely cast" },
      label: 1,
    });
    assert.ok(r.queries <= budget, `budget ${budget}: ${r.queries}`);
    assert.equal(clf.inputs, r.queries);
    if (budget < 9) assert.equal(r.status, "failed");
  }
  assert.throws(() => buildAttack("pwws", { queryBudget: 0 }), ConfigError);
});

/** Gives every non-stop word three neutral candidates; "good" also gets "bad". */
class FixedSwap implements Transformation {
  readonly name = "fixed";
  positions: Array<{ index: number; n: number }> = [];
  candidates(state: PerturbedText, index: number): string[] {
    const w = state.words[index]!;
    const out = [`${w}x`, `${w}y`, `${w}z`, ...(w === "good" ? ["bad"] : [])];
    this.positions.push({ index, n: out.length });
    return out;
  }
}

test("batching: one model call per position with all of its candidates; the cache avoids repeats", async () => {
  const swap = new FixedSwap();
  const attack = new Attack({
    name: "fixed",
    transformation: swap,
    preConstraints: [new RepeatModification(), new StopwordModification()],
    constraints: [],
    search: new GreedyWordSwapWIR("delete"),
  });
  const clf = new BowClassifier();
  // Deleting "good" lowers p(positive) most, so it is tried first and "bad" wins.
  const r = await attack.attackExample(clf, { input: { text: "the good and charming film" }, label: 1 });
  assert.equal(r.status, "succeeded");
  assert.deepEqual(r.changes, [{ index: 1, original: "good", perturbed: "bad" }]);
  // initial, leave-one-out over the 3 non-stop words, then the 4 candidates of "good" in one call.
  assert.deepEqual(
    clf.calls.map((c) => c.length),
    [1, 3, 4],
  );
  assert.deepEqual(swap.positions, [{ index: 1, n: 4 }]);
  assert.equal(r.queries, 8);

  // A budget smaller than a position's candidates cuts that batch.
  const small = new Attack({
    name: "fixed",
    transformation: new FixedSwap(),
    preConstraints: [new RepeatModification(), new StopwordModification()],
    constraints: [],
    search: new GreedyWordSwapWIR("delete"),
    queryBudget: 6,
  });
  const clf6 = new BowClassifier();
  const r6 = await small.attackExample(clf6, { input: { text: "the good and charming film" }, label: 1 });
  assert.deepEqual(
    clf6.calls.map((c) => c.length),
    [1, 3, 2],
  );
  assert.equal(r6.status, "failed");
  assert.equal(r6.queries, 6);
});

test("PWWS reuses cached predictions: the greedy pass re-scores ranked candidates for free", async () => {
  const clf = new BowClassifier();
  const r = await buildAttack("pwws").attackExample(clf, positive);
  assert.equal(r.status, "succeeded");
  // Saliency + per-word swaps of the original text were all scored while ranking; the first greedy
  // step asks for the same texts again, which must not reach the model.
  const texts = clf.calls.flat().map((x) => x.text);
  assert.equal(new Set(texts).size, texts.length);
  assert.equal(r.queries, texts.length);
  const last = clf.calls[clf.calls.length - 1]!;
  assert.ok(last.every((x) => x.text !== positive.input.text));
});

test("batchSize splits larger position batches", async () => {
  const attack = new Attack({
    name: "fixed",
    transformation: new FixedSwap(),
    preConstraints: [new StopwordModification()],
    constraints: [],
    search: new GreedyWordSwapWIR("unk"),
    batchSize: 2,
  });
  const clf = new BowClassifier();
  const r = await attack.attackExample(clf, { input: { text: "the good and charming film" }, label: 1 });
  assert.equal(r.status, "succeeded");
  assert.deepEqual(
    clf.calls.map((c) => c.length),
    [1, 2, 1, 2, 2],
  );
});

test("pair inputs: the second text is attacked unless attackFirst", async () => {
  const clf = new BowClassifier(undefined, true);
  const ex = { input: { text: "terrible awful", pair: "a charming and wonderful film" }, label: 1 };
  const r = await buildAttack("textfooler", { neighbors }).attackExample(clf, ex);
  assert.equal(r.attackedField, "pair");
  assert.equal(r.status, "succeeded");
  assert.equal(r.perturbed.text, ex.input.text);
  assertExactRebuild(r);
  assert.ok(clf.calls.flat().every((x) => x.text === ex.input.text && x.pair !== undefined));

  const first = await buildAttack("textfooler", { neighbors, attackFirst: true }).attackExample(new BowClassifier(undefined, true), ex);
  assert.equal(first.attackedField, "text");
  assert.equal(first.status, "failed");
  assert.equal(first.perturbed.pair, ex.input.pair);
});

test("already misclassified examples are skipped after one query", async () => {
  const clf = new BowClassifier();
  const r = await buildAttack("deepwordbug").attackExample(clf, { input: { text: "a charming film" }, label: 0 });
  assert.equal(r.status, "skipped");
  assert.equal(r.queries, 1);
  assert.deepEqual(r.perturbed, r.original);
});

test("part-of-speech and sentence-similarity constraints filter candidates", async () => {
  const pos = new PartOfSpeechConstraint();
  const adv = PerturbedText.from("it ran quickly");
  const cands = ["rapidly", "movie", "xqzzy"].map((word) => ({ index: 2, word, state: adv.replaceWord(2, word) }));
  assert.deepEqual(
    pos.filter(cands).map((c) => c.word),
    ["rapidly", "xqzzy"],
  );
  const base = PerturbedText.from("a good film");

  const enc = new LetterEncoder();
  const sim = new SentenceSimilarity(enc, { threshold: 0.9, metric: "cosine", compareAgainstOriginal: true });
  const { ExampleContext, StatsClock } = await import("../../src/robust/context.ts");
  const ctx = new ExampleContext(new StatsClock(), 0, 0);
  const near = ["goad", "zzzzzzzzzzzz"].map((word) => ({ index: 1, word, state: base.replaceWord(1, word) }));
  const kept = await sim.filter(near, base, base, ctx);
  assert.deepEqual(
    kept.map((c) => c.word),
    ["goad"],
  );
  assert.ok(kept[0]!.similarity! > 0.9);
  assert.equal(enc.calls, 1);
  await sim.filter(near, base, base, ctx);
  assert.equal(enc.calls, 1); // embeddings are cached
});

test("recipes report missing resources and unknown names as ConfigError", () => {
  assert.throws(
    () => buildAttack("textfooler"),
    (e: unknown) => e instanceof ConfigError && /neighbors/.test(e.message),
  );
  assert.throws(() => buildAttack("textbugger"), ConfigError);
  assert.throws(
    () => buildAttack("bert-attack"),
    (e: unknown) => e instanceof ConfigError && /masked language model/.test(e.message),
  );
  assert.throws(() => buildAttack("bae"), ConfigError);
  assert.throws(
    () => buildAttack("hotflip"),
    (e: unknown) => e instanceof ConfigError && /pwws, textfooler/.test(e.message),
  );
  assert.match(buildAttack("pwws").describe(), /greedy-wir-weighted-saliency/);
});

/** Reads only its first `n` words, as a model that truncates its input would. */
class TruncatingBow extends BowClassifier {
  /** The inputs as the attack sent them (calls holds them truncated). */
  sent: AttackInput[] = [];
  constructor(readonly n: number) {
    super();
  }
  override async predictProba(inputs: AttackInput[]) {
    this.sent.push(...inputs);
    return super.predictProba(inputs.map((x) => ({ ...x, text: new SegmentedText(x.text).words.slice(0, this.n).join(" ") })));
  }
  async wordsRead(words: readonly string[]): Promise<number> {
    return Math.min(this.n, words.length);
  }
}

test("words the classifier truncates away are not attacked, and cost no queries", async () => {
  const ex = { input: { text: "a good film , with great acting and a wonderful and charming cast" }, label: 1 };
  const words = new SegmentedText(ex.input.text).words;
  const clf = new TruncatingBow(4);
  const r = await buildAttack("deepwordbug").attackExample(clf, ex);
  assert.equal(r.status, "succeeded");
  assert.ok(
    r.changes.every((c) => c.index < 4),
    JSON.stringify(r.changes),
  );
  // Every queried text keeps the words past the fourth as they were.
  for (const x of clf.sent) assert.deepEqual(new SegmentedText(x.text).words.slice(4), words.slice(4));
  // Without wordsRead the same classifier is queried about the unread words too, for the same outcome.
  const blind = new TruncatingBow(4);
  Object.defineProperty(blind, "wordsRead", { value: undefined });
  const rb = await buildAttack("deepwordbug").attackExample(blind, ex);
  assert.equal(rb.status, "succeeded");
  assert.deepEqual(rb.perturbed, r.perturbed);
  assert.ok(r.queries < rb.queries, `${r.queries} vs ${rb.queries}`);
});
