// The attack interfaces over real models, on the golden (untrained, 61-word) BERT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Graph, Program, type HostTensor } from "../../src/engine/index.ts";
import { ConfigError, RoseError } from "../../src/errors.ts";
import { ParamScope } from "../../src/models/index.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { MlmFiller, ModelClassifier, ModelSentenceEncoder, topIds } from "../../src/robust/adapters.ts";
import { SegmentedText } from "../../src/robust/words.ts";
import { Predictor } from "../../src/infer/predictor.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { dirFiles } from "../../src/node/files.ts";

const GOLDEN_DISTILBERT = new URL("../fixtures/golden/models/distilbert", import.meta.url).pathname;

/** Equal up to float32 noise (batch shape changes the summation order). */
function close(a: Float32Array, b: Float32Array, tol = 1e-5): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < tol, `[${i}] ${a[i]} vs ${b[i]}`);
}

// A task's inputs are all single texts or all pairs; the two kinds are checked apart.
const INPUTS = [
  { text: "the movie was very good ." },
  { text: "this plot is boring" },
  { text: "i love the acting and the story , but not the script !" },
  { text: "it is fun" },
];
const PAIRS = [
  { text: "bad", pair: "the film is bad" },
  { text: "the story is good", pair: "i love it" },
];

test("ModelClassifier: probabilities sum to 1 and equal the Predictor's, in input order", async () => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const predictor = new Predictor(model, { batchSize: 3 });
  const clf = new ModelClassifier(predictor);
  assert.equal(clf.numLabels, 3);
  const probs = await clf.predictProba(INPUTS);
  assert.equal(probs.length, INPUTS.length);
  const ref = await new Predictor(model, { batchSize: 64 }).probabilities(INPUTS);
  probs.forEach((p, i) => {
    assert.equal(p.length, 3);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    close(p, ref[i]!);
  });
  // One at a time gives the same numbers (padding must not leak into the result).
  const single = await clf.predictProba([INPUTS[2]!]);
  close(single[0]!, probs[2]!);
  assert.deepEqual(await clf.predictProba([]), []);
  const pairProbs = await clf.predictProba(PAIRS);
  const pairRef = await predictor.probabilities(PAIRS);
  pairProbs.forEach((p, i) => {
    close(p, pairRef[i]!);
  });
  // Single texts and pairs in one call: each as if alone.
  const mixed = await clf.predictProba([INPUTS[0]!, PAIRS[0]!, INPUTS[1]!]);
  close(mixed[0]!, probs[0]!);
  close(mixed[1]!, pairProbs[0]!);
  close(mixed[2]!, probs[1]!);
  // The pair is read: another second text gives other probabilities.
  const swapped = await clf.predictProba([{ text: "bad", pair: "i love it" }]);
  assert.ok(Math.abs(swapped[0]![0]! - pairProbs[0]![0]!) > 1e-4);
});

test("ModelSentenceEncoder: the Predictor's mean-pooled embeddings", async () => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const predictor = new Predictor(model);
  const texts = INPUTS.map((x) => x.text);
  const emb = await new ModelSentenceEncoder(predictor).embed(texts);
  const ref = await predictor.embeddings(texts);
  assert.equal(emb.length, texts.length);
  emb.forEach((e, i) => {
    assert.equal(e.length, model.cfg.hiddenSize);
    assert.deepEqual([...e], [...ref[i]!]);
  });
});

test("topIds: the m largest, best first, ties by index", () => {
  const xs = Float32Array.from([0.5, 3, -1, 3, 2, 0.5, 7]);
  assert.deepEqual(topIds(xs, 3), [6, 1, 3]);
  assert.deepEqual(topIds(xs, 7), [6, 1, 3, 4, 0, 5, 2]);
  assert.deepEqual(topIds(xs, 0), []);
});

test("MlmFiller: mask logits equal the full masked-LM logits at the mask position", async () => {
  const filler = await MlmFiller.load(GOLDEN_BERT);
  assert.ok(filler.headIsNew, "the golden BERT has no MLM head weights");
  const model = filler.model;
  const texts = ["the [MASK] was very good .", "[MASK] love this movie and the story", "it is [MASK]"];
  const got = await filler.maskLogits(texts);

  // Reference: the whole [batch, seq, vocab] logits, read at the mask.
  const arch = model.arch;
  const g = new Graph();
  const ctx = { scope: new ParamScope(g), train: false };
  const inputs = arch.inputs(g);
  const prog = await Program.compile(g, { out: arch.mlmLogits(ctx, arch.encode(ctx, inputs)) });
  const tok = model.tokenizer!;
  const enc = await tok.encodeBatch(texts, null, { maxLength: 24, padding: "longest" });
  const dims = [enc.batch, enc.seq];
  const feeds: Record<string, HostTensor | Float32Array> = {
    input_ids: { data: enc.inputIds, dims },
    attention_mask: { data: enc.attentionMask, dims },
    token_type_ids: { data: enc.tokenTypeIds, dims },
  };
  for (const inp of prog.inputs) if (inp.kind === "param") feeds[inp.name] = model.params.get(inp.name)!;
  const full = (await prog.run(feeds)).out!;
  const V = model.cfg.vocabSize;
  const data = full.data as Float32Array;
  texts.forEach((_, b) => {
    let pos = -1;
    for (let t = 0; t < enc.seq; t++) if (enc.inputIds[b * enc.seq + t] === BigInt(tok.specialIds.mask)) pos = t;
    const row = got[b]!;
    assert.ok(row !== null);
    assert.equal(row.length, V);
    for (let v = 0; v < V; v++) assert.ok(Math.abs(row[v]! - data[(b * enc.seq + pos) * V + v]!) < 1e-4, `text ${b} id ${v}`);
  });
});

test("MlmFiller: k whole words, deterministic, original word excluded", async () => {
  const a = await MlmFiller.load(GOLDEN_BERT);
  const b = await MlmFiller.load(GOLDEN_BERT);
  assert.equal(a.maskToken, "[MASK]");
  const texts = ["the movie was very [MASK] .", "[MASK] plot is dull", "i [MASK] it"];
  const words = await a.fill(texts, 5);
  assert.equal(words.length, 3);
  const tok = a.model.tokenizer!;
  for (const list of words) {
    assert.equal(list.length, 5);
    assert.equal(new Set(list).size, 5);
    for (const w of list) {
      assert.match(w, /^[a-z]+$/, `whole word: ${w}`);
      assert.ok(tok.tokenToId(w) !== null);
    }
  }
  assert.deepEqual(await a.fill(texts, 5), words);
  assert.deepEqual(await b.fill(texts, 5), words);
  // The first proposal, given as the original word, is left out and the rest move up.
  const ex = await a.fill(texts, 4, [words[0]![0]!, undefined, words[2]![0]!.toUpperCase()]);
  assert.deepEqual(ex[0], words[0]!.slice(1));
  assert.deepEqual(ex[1], words[1]!.slice(0, 4));
  assert.deepEqual(ex[2], words[2]!.slice(1));
  // The whole 61-word vocabulary holds fewer whole words than k = 100: all of them, no more.
  const all = (await a.fill(["[MASK]"], 100))[0]!;
  assert.ok(all.length > 20 && all.length < 61);
  assert.ok(all.every((w) => /^[a-z]+$/.test(w)));
});

test("MlmFiller: bad input", async () => {
  const filler = await MlmFiller.load(GOLDEN_BERT);
  await assert.rejects(filler.fill(["no mask here"], 3), (e: unknown) => e instanceof RoseError && /no \[MASK\]/.test(e.message));
  await assert.rejects(filler.fill(["[MASK] and [MASK]"], 3), (e: unknown) => e instanceof RoseError && /more than one/.test(e.message));
  await assert.rejects(filler.fill(["a [MASK]"], 0), ConfigError);
  // A mask beyond the model's 24 positions is truncated away: no candidates rather than an error.
  const long = `${"the movie ".repeat(15)}[MASK]`;
  assert.deepEqual(await filler.fill([long, "a [MASK]"], 3).then((r) => r[0]), []);
  const distil = await PretrainedModel.load(dirFiles(GOLDEN_DISTILBERT), { heads: ["mlm"] });
  assert.throws(
    () => new MlmFiller(distil),
    (e: unknown) => e instanceof ConfigError && /masked-LM head not supported/.test(e.message),
  );
});

test("ModelClassifier.wordsRead: the words past it are truncated away, the last one read is not", async () => {
  const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT));
  const text = "the movie was very good , but the plot is boring and the acting is dull !";
  const { words, seps } = new SegmentedText(text);
  for (const maxLength of [4, 7, 9, 12, 64]) {
    const clf = new ModelClassifier(new Predictor(model, { maxLength }));
    const read = await clf.wordsRead(words, seps);
    if (maxLength === 64) {
      assert.equal(read, words.length);
      continue;
    }
    assert.ok(read > 0 && read < words.length, `maxLength ${maxLength}: ${read}`);
    const rebuilt = (ws: string[]) => seps[0] + ws.map((w, i) => w + seps[i + 1]).join("");
    const [base] = await clf.predictProba([{ text }]);
    const tail = await clf.predictProba([{ text: rebuilt(words.map((w, i) => (i >= read ? "fun" : w))) }]);
    close(tail[0]!, base!);
    const last = await clf.predictProba([{ text: rebuilt(words.map((w, i) => (i === read - 1 ? (w === "fun" ? "hate" : "fun") : w))) }]);
    assert.ok(Math.abs(last[0]![0]! - base![0]!) > 1e-6, `maxLength ${maxLength}: word ${read - 1} is read`);
  }
  // A tokenizer that keeps the tail reads the last words: none may be skipped by an attack.
  model.tokenizer!.truncation = "head+tail";
  assert.equal(await new ModelClassifier(new Predictor(model, { maxLength: 7 })).wordsRead(words, seps), words.length);
});
