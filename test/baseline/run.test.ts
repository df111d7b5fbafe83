// fitBaseline and `rose baseline` on small files in each format the readers take, and on SST-2 as
// scikit-learn scores it (same features, same dev accuracy).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BagOfWords } from "../../src/baseline/model.ts";
import { fitBaseline } from "../../src/baseline/run.ts";
import { Rng } from "../../src/engine/rng.ts";
import { ConfigError, DataError, FormatError } from "../../src/errors.ts";
import { needsSharedData, sharedData } from "../helpers/shared.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SST2 = sharedData("glue/sst2/");
const dir = mkdtempSync(join(tmpdir(), "rose-baseline-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = ["great", "fine", "lovely", "superb", "moving"],
  BAD = ["dull", "awful", "boring", "weak", "tedious"];
const FILLER = ["the", "film", "plot", "story", "was", "very", "cast", "ending"];

/** Seeded sentiment-like rows: each has one or two cue words of its class among filler words. */
function rows(n: number, seed: number): { text: string; label: string }[] {
  const rng = new Rng(seed, 11);
  return Array.from({ length: n }, () => {
    const pos = rng.next() < 0.5;
    const cues = pos ? GOOD : BAD;
    const words = Array.from({ length: 3 + rng.int(4) }, () => FILLER[rng.int(FILLER.length)]!);
    for (let c = 0; c < 1 + rng.int(2); c++) words.splice(rng.int(words.length + 1), 0, cues[rng.int(cues.length)]!);
    return { text: words.join(" "), label: pos ? "pos" : "neg" };
  });
}

const tsv = (file: string, rs: { text: string; label: string }[]) =>
  writeFileSync(file, `text\tlabel\n${rs.map((r) => `${r.text}\t${r.label}`).join("\n")}\n`);
const TRAIN = join(dir, "train.tsv"),
  VAL = join(dir, "val.tsv");
tsv(TRAIN, rows(80, 1));
tsv(VAL, rows(40, 2));

for (const modelType of ["logreg", "nb"] as const) {
  test(`fitBaseline ${modelType}: custom TSV, metrics, saved model that predicts the same after loading`, async () => {
    const out = join(dir, `out-${modelType}`);
    const r = await fitBaseline({ trainFile: TRAIN, validationFile: VAL, modelType, outputDir: out, quiet: true });
    assert.equal(r.task, "custom");
    assert.deepEqual(r.model.labels, ["neg", "pos"]);
    assert.deepEqual(Object.keys(r.evalMetrics!), ["accuracy", "f1"]);
    // Every row carries a cue word of its class (C = 1 regularises 80 rows strongly: not all are right).
    assert.ok(r.evalMetrics!.accuracy! >= 0.9, `${r.evalMetrics!.accuracy}`);
    assert.equal(r.evalSamples, 40);
    if (modelType === "logreg") assert.ok(r.optimizer!.converged && r.optimizer!.gradientMax <= 1e-6);
    const saved = JSON.parse(readFileSync(join(out, "baseline_results.json"), "utf8")) as {
      eval: { accuracy: number };
      model_type: string;
    };
    assert.equal(saved.model_type, modelType);
    assert.equal(saved.eval.accuracy, r.evalMetrics!.accuracy);
    const loaded = BagOfWords.load(out);
    const inputs = [{ text: "a superb film" }, { text: "the plot was tedious" }, { text: "nothing known here" }];
    assert.deepEqual(loaded.predict(inputs), r.model.predict(inputs));
    assert.deepEqual(
      loaded
        .predict(inputs)
        .slice(0, 2)
        .map((p) => p.label),
      ["pos", "neg"],
    );
    for (const p of loaded.predict(inputs)) assert.ok(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    // Deterministic: a second fit writes the same model.
    const again = await fitBaseline({ trainFile: TRAIN, modelType, quiet: true });
    assert.deepEqual(again.model.toJSON(), r.model.toJSON());
  });
}

test("fitBaseline: three classes (multinomial), JSON Lines, first N rows", async () => {
  const file = join(dir, "three.jsonl");
  const three = rows(90, 3).map((r, i) => (i % 3 === 2 ? { text: `${r.text} meh so-so`, label: "mixed" } : r));
  writeFileSync(file, `${three.map((r) => JSON.stringify(r)).join("\n")}\n`);
  const r = await fitBaseline({ trainFile: file, validationFile: file, maxTrainSamples: 60, quiet: true });
  assert.equal(r.trainSamples, 60);
  assert.deepEqual(r.model.labels, ["mixed", "neg", "pos"]);
  assert.equal(r.model.scorer.outputs, 3);
  assert.deepEqual(Object.keys(r.evalMetrics!), ["accuracy", "macro_f1"]);
  assert.ok(r.evalMetrics!.accuracy! > 0.9, `${r.evalMetrics!.accuracy}`);
});

test("fitBaseline: a GLUE pair task keeps the second sentence's n-grams apart", async () => {
  // RTE layout; the label depends on the second sentence only ("yes" entails), the first is noise.
  const rng = new Rng(4, 1);
  const lines = Array.from({ length: 40 }, (_, i) => {
    const yes = rng.next() < 0.5;
    return `${i}\tyes the ${FILLER[rng.int(FILLER.length)]} ${rng.next() < 0.5 ? "yes" : "no"}\tit is ${yes ? "yes" : "no"}\t${yes ? "entailment" : "not_entailment"}`;
  });
  const file = join(dir, "rte.tsv");
  writeFileSync(file, `index\tsentence1\tsentence2\tlabel\n${lines.join("\n")}\n`);
  const r = await fitBaseline({ task: "rte", trainFile: file, validationFile: file, quiet: true });
  assert.ok(r.model.vectorizer.vocabulary.includes("pair:yes") && r.model.vectorizer.vocabulary.includes("yes"));
  assert.equal(r.evalMetrics!.accuracy, 1);
  const [p] = r.model.predict([{ text: "no no", pair: "surely yes" }]);
  assert.equal(p!.label, "entailment");
});

test("fitBaseline: typed errors for what it cannot do", async () => {
  await assert.rejects(fitBaseline({ task: "stsb", trainFile: TRAIN, quiet: true }), ConfigError);
  await assert.rejects(fitBaseline({ trainFile: TRAIN, modelType: "svm" as never, quiet: true }), ConfigError);
  await assert.rejects(fitBaseline({ trainFile: TRAIN, c: -1, quiet: true }), ConfigError);
  // A validation file with a label the training data never had.
  const odd = join(dir, "odd.tsv");
  writeFileSync(odd, "text\tlabel\ngood film\tmaybe\n");
  await assert.rejects(fitBaseline({ trainFile: TRAIN, validationFile: odd, quiet: true }), DataError);
  // A GLUE task whose training rows lack one class.
  const onlyPos = join(dir, "only-pos.tsv");
  writeFileSync(onlyPos, "sentence\tlabel\ngood film\t1\nfine film\t1\n");
  await assert.rejects(fitBaseline({ task: "sst2", trainFile: onlyPos, quiet: true }), /no training row has the label "negative"/);
  const notModel = join(dir, "not-model.json");
  writeFileSync(notModel, JSON.stringify({ format: "something-else" }));
  assert.throws(() => BagOfWords.load(notModel), FormatError);
  assert.throws(() => BagOfWords.load(join(dir, "missing")), FormatError);
});

test("rose baseline prints one JSON line and honours the vectorizer flags", async () => {
  const out = join(dir, "cli-out");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      join(ROOT, "bin/rose.js"),
      "baseline",
      "--train-file",
      TRAIN,
      "--validation-file",
      VAL,
      "--ngram-range",
      "1,1",
      "--model-type",
      "nb",
      "--output-dir",
      out,
      "--json",
      "--quiet",
    ],
    { cwd: ROOT },
  );
  const lines = stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1, stdout);
  const r = JSON.parse(lines[0]!) as { model_type: string; features: number; eval: { accuracy: number } };
  assert.equal(r.model_type, "nb");
  // Unigrams only: the distinct words of the fixture.
  assert.equal(
    r.features,
    new Set(
      readFileSync(TRAIN, "utf8")
        .split("\n")
        .slice(1)
        .flatMap((l) => l.split("\t")[0]!.split(" "))
        .filter(Boolean),
    ).size,
  );
  assert.equal(r.eval.accuracy, 1);
  assert.ok(existsSync(join(out, "baseline_model.json")));
});

test("SST-2, first 12,000 training rows: scikit-learn's features and dev accuracy", {
  skip: needsSharedData("glue/sst2/train.tsv"),
}, async () => {
  // scikit-learn 1.2.1, TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(C=1), and CountVectorizer +
  // MultinomialNB(): 50999 features, 674 / 872 and 686 / 872 dev rows right.
  const opts = {
    task: "sst2",
    trainFile: join(SST2, "train.tsv"),
    validationFile: join(SST2, "dev.tsv"),
    maxTrainSamples: 12000,
    quiet: true,
  };
  const lr = await fitBaseline(opts);
  assert.equal(lr.features, 50999);
  assert.ok(lr.optimizer!.converged);
  assert.equal(Math.round(lr.evalMetrics!.accuracy! * 872), 674);
  const nb = await fitBaseline({ ...opts, modelType: "nb" });
  assert.equal(Math.round(nb.evalMetrics!.accuracy! * 872), 686);
});
