// The CLI on its edges, as a user meets them (issue 17): output folders that hold a previous run, models
// that would give meaningless numbers without a word, output paths that do not exist yet or name the
// wrong kind of thing, usage errors, option checks that come before slow loading, column names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readExamples } from "../../src/data/readers.ts";
import { getGlueTask } from "../../src/data/tasks.ts";
import { DataError } from "../../src/errors.ts";
import { truncateJsonLines } from "../../src/node/outputs.ts";
import { PretrainedModel } from "../../src/models/pretrained.ts";
import { GOLDEN_BERT } from "../helpers/synthetic.ts";
import { dirFiles, dirSink } from "../../src/node/files.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "rose-usability-"));

async function rose(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, "bin/rose.js"), ...args], { cwd: tmp });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

// SST-2 in Hugging Face layout, in the golden BERT's vocabulary (labels 0 = negative, 1 = positive).
const SST2 = join(tmp, "sst2.tsv");
writeFileSync(
  SST2,
  "sentence\tlabel\nthe movie was very good .\t1\nthe film is very bad .\t0\nthe plot was very fun .\t1\nthe story is very dull .\t0\n",
);
const RTE = join(tmp, "rte.tsv");
writeFileSync(RTE, "sentence1\tsentence2\tlabel\nthe movie was good .\tthe movie was fun .\t0\nthe film is bad .\tthe film is good .\t1\n");

// A 2-class SST-2 classifier with a head in its checkpoint (untrained, but saved: not "newly initialised").
const SST2_MODEL = join(tmp, "sst2-model");
const model = await PretrainedModel.load(dirFiles(GOLDEN_BERT), { labels: ["negative", "positive"] });
model.save(dirSink(SST2_MODEL));

const train = (out: string, ...extra: string[]) =>
  rose(
    "train",
    "--model",
    GOLDEN_BERT,
    "--task",
    "sst2",
    "--train-file",
    SST2,
    "--output-dir",
    out,
    "--max-steps",
    "1",
    "--batch-size",
    "4",
    "--threads",
    "1",
    "--quiet",
    ...extra,
  );

test("rose train (and pretrain) refuse a non-empty --output-dir unless --overwrite-output-dir (which clears it, old best/ included) or --resume", async () => {
  const out = join(tmp, "run");
  assert.equal((await train(out)).code, 0);
  const again = await train(out);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /--output-dir .*run is not empty .*--overwrite-output-dir.*--resume/);
  assert.equal(again.stderr.trim().split("\n").length, 1, again.stderr);

  mkdirSync(join(out, "best"), { recursive: true });
  writeFileSync(join(out, "best", "stale.txt"), "from an older run");
  const over = await train(out, "--overwrite-output-dir");
  assert.equal(over.code, 0, over.stderr);
  assert.ok(!existsSync(join(out, "best")), "the old best/ is gone");
  assert.ok(existsSync(join(out, "model.safetensors")));

  assert.equal((await train(out, "--resume")).code, 0);
  const both = await train(out, "--resume", "--overwrite-output-dir");
  assert.equal(both.code, 1);
  assert.match(both.stderr, /give one of them/);

  // rose pretrain too, before it reads the corpus (which does not exist here).
  const pre = await rose("pretrain", "--corpus", join(tmp, "no-corpus.txt"), "--output-dir", out);
  assert.equal(pre.code, 1);
  assert.match(pre.stderr, /^error: --output-dir .*run is not empty/);

  const file = join(tmp, "a-file");
  writeFileSync(file, "x");
  const onFile = await train(file);
  assert.equal(onFile.code, 1);
  assert.match(onFile.stderr, /a-file is a file, not a folder/);
});

test("rose eval and predict warn on stderr when the classifier head is newly initialised (the default model has none)", async () => {
  const ev = await rose("eval", "--task", "sst2", "--data", SST2, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stderr, /warning: the classifier head of .*rose-mini is newly initialised .*random/);
  assert.equal(typeof (JSON.parse(ev.stdout) as { accuracy: number }).accuracy, "number");

  const pr = await rose("predict", "a fine film", "--json");
  assert.equal(pr.code, 0, pr.stderr);
  assert.match(pr.stderr, /warning: the classifier head of .*rose-mini is newly initialised/);

  // A model whose head is in its checkpoint: no such warning.
  const ok = await rose("eval", "--model", SST2_MODEL, "--task", "sst2", "--data", SST2, "--json", "--max-seq-length", "16");
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /warning/);
});

test("rose attack and robustness refuse a newly initialised head unless --allow-untrained-head", async () => {
  const at = await rose("attack", "--recipe", "deepwordbug", "--task", "sst2", "--data", SST2, "--num-examples", "1", "--quiet", "--json");
  assert.equal(at.code, 1);
  assert.match(at.stderr, /^error: refusing to attack: the classifier head of .*rose-mini is newly initialised.*--allow-untrained-head/);
  assert.equal(at.stdout, "");
  const rb = await rose(
    "robustness",
    "--recipes",
    "deepwordbug",
    "--task",
    "sst2",
    "--data",
    SST2,
    "--num-examples",
    "1",
    "--quiet",
    "--json",
  );
  assert.equal(rb.code, 1);
  assert.match(rb.stderr, /refusing to attack/);

  const allowed = await rose(
    "attack",
    "--recipe",
    "deepwordbug",
    "--task",
    "sst2",
    "--data",
    SST2,
    "--num-examples",
    "1",
    "--quiet",
    "--json",
    "--allow-untrained-head",
    "--threads",
    "1",
  );
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stderr, /warning: the classifier head of .*rose-mini is newly initialised/);
  assert.equal((JSON.parse(allowed.stdout) as { n: number }).n, 1);
});

test("a task whose labels are not the model's id2label is scored with a warning (an SST-2 model on RTE)", async () => {
  const ev = await rose("eval", "--model", SST2_MODEL, "--task", "rte", "--data", RTE, "--json", "--max-seq-length", "16");
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stderr, /warning: task rte has the labels entailment, not_entailment but the model was trained for negative, positive/);
  const same = await rose("eval", "--model", SST2_MODEL, "--task", "sst2", "--data", SST2, "--json", "--max-seq-length", "16");
  assert.doesNotMatch(same.stderr, /labels/);
});

test("outputs: missing parent folders are created, wrong kinds of path are refused before the work, results are whole files", async () => {
  const out = join(tmp, "missing", "deeper", "attack.jsonl");
  const at = await rose(
    "attack",
    "--model",
    SST2_MODEL,
    "--recipe",
    "deepwordbug",
    "--task",
    "sst2",
    "--data",
    SST2,
    "--num-examples",
    "2",
    "--quiet",
    "--json",
    "--output",
    out,
    "--max-seq-length",
    "16",
    "--threads",
    "1",
  );
  assert.equal(at.code, 0, at.stderr);
  const lines = readFileSync(out, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.deepEqual(readdirSync(join(tmp, "missing", "deeper")), ["attack.jsonl"], "no temporary file left beside it");

  const dirAsFile = await rose(
    "attack",
    "--model",
    SST2_MODEL,
    "--recipe",
    "deepwordbug",
    "--task",
    "sst2",
    "--data",
    SST2,
    "--quiet",
    "--json",
    "--output",
    tmp,
  );
  assert.equal(dirAsFile.code, 1);
  assert.match(dirAsFile.stderr, /^error: --output .* is a folder; give a file name/);

  const preds = join(tmp, "new-folder", "preds.jsonl");
  const ev = await rose("eval", "--model", SST2_MODEL, "--task", "sst2", "--data", SST2, "--predictions", preds, "--max-seq-length", "16");
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal(readFileSync(preds, "utf8").trimEnd().split("\n").length, 4);

  const file = join(tmp, "export-target");
  writeFileSync(file, "not a folder");
  const ex = await rose("export", "--model", SST2_MODEL, "--out", file);
  assert.equal(ex.code, 1);
  assert.match(ex.stderr, /^error: --out .*export-target is a file, not a folder/);

  const under = await rose("eval", "--model", SST2_MODEL, "--task", "sst2", "--data", SST2, "--predictions", join(file, "p.jsonl"));
  assert.equal(under.code, 1);
  assert.match(under.stderr, /^error: --predictions .*: cannot create or write the folder \(a part of the path is a file/);
});

test("JSON Lines logs: a torn last line (a killed run) is dropped on resume, records after the checkpoint too", () => {
  const f = join(tmp, "metrics.jsonl");
  writeFileSync(f, '{"step":1,"loss":1}\n{"step":2,"loss":0.5}\n{"step":3,"loss":0.4}\n{"step":4,"lo');
  truncateJsonLines(f, (r) => (r.step as number) <= 3);
  assert.equal(readFileSync(f, "utf8"), '{"step":1,"loss":1}\n{"step":2,"loss":0.5}\n{"step":3,"loss":0.4}\n');
  truncateJsonLines(f, (r) => (r.step as number) <= 1);
  assert.equal(readFileSync(f, "utf8"), '{"step":1,"loss":1}\n');
});

test("usage errors print the error and a pointer to --help, not the whole help; --help marks required options", async () => {
  const r = await rose("train", "--output-dir", join(tmp, "x"));
  assert.equal(r.code, 1);
  assert.deepEqual(r.stderr.trimEnd().split("\n"), [
    "error: required option '--train-file <file>' not specified",
    "(see: rose train --help)",
  ]);
  const bad = await rose("attack", "--recipe");
  assert.equal(bad.stderr.trimEnd().split("\n").length, 2, bad.stderr);
  const help = (await rose("attack", "--help")).stdout.replace(/\s+/g, " "); // help wraps descriptions
  assert.match(help, /--data <file> labelled examples [^(]*\([^)]*\) \(required\)/);
  assert.match(help, /--recipe <name> attack recipe: [^(]*\(required\)/);
  assert.doesNotMatch(help, /--task <name> [^-]*\(required\)/);
});

test("option mistakes are reported before any model or data is loaded", async () => {
  // The model and data do not exist: an error about them would mean the options were checked too late.
  const up = await rose(
    "train",
    "--model",
    join(tmp, "no-model"),
    "--train-file",
    join(tmp, "no-data.tsv"),
    "--output-dir",
    join(tmp, "u"),
    "--method",
    "rose-first",
    "--upper",
    "150",
  );
  assert.equal(up.code, 1);
  assert.match(up.stderr, /^error: ROSE band: --upper percentile must be in \[0, 100\], got 150/);
  const pre = await rose("pretrain", "--corpus", join(tmp, "no-corpus.txt"), "--output-dir", join(tmp, "p"), "--config", "huge");
  assert.equal(pre.code, 1);
  assert.match(pre.stderr, /^error: unknown --config huge \(tiny, mini, small, base, or --config-file FILE\)/);
});

test("--max-seq-length beyond the model's position embeddings warns instead of capping silently", async () => {
  const r = await rose("predict", "--model", SST2_MODEL, "a fine film", "--max-seq-length", "1000");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: --max-seq-length 1000 is more than the model's 24 positions .*truncated to 24 tokens/);
  const fine = await rose("predict", "--model", SST2_MODEL, "a fine film", "--max-seq-length", "16");
  assert.doesNotMatch(fine.stderr, /max-seq-length/);
});

test("column names match case-insensitively; a wrong name gets a hint listing the columns", async () => {
  const f = join(tmp, "caps.tsv");
  writeFileSync(f, "Sentence\tLabel\ngood film\t1\nbad film\t0\n");
  const r = await readExamples(f, { task: getGlueTask("sst2")! });
  assert.deepEqual(
    r.examples.map((e) => [e.text, e.label]),
    [
      ["good film", 1],
      ["bad film", 0],
    ],
  );
  const c = await readExamples(f, { task: getGlueTask("sst2")!, textColumn: "SENTENCE", labelColumn: "label" });
  assert.equal(c.examples.length, 2);
  await assert.rejects(readExamples(f, { task: getGlueTask("sst2")!, textColumn: "review" }), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /no column "review" for the text; its columns are: "Sentence", "Label"/);
    return true;
  });
});

test("rose landscape and rose report: typed flags, short usage errors, option mistakes before any loading", async () => {
  // The model and data do not exist: an error about them would mean the options were checked too late.
  const land = (...extra: string[]) =>
    rose("landscape", "--model", join(tmp, "no-model"), "--data", join(tmp, "no-data.tsv"), "--quiet", ...extra);
  const usage = [
    [["--range", "0.25,-0.25"], "error: option '--range <lo,hi>' argument '0.25,-0.25' is invalid. expected lo < hi, got 0.25,-0.25"],
    [["--range", "0.1"], "error: option '--range <lo,hi>' argument '0.1' is invalid. expected lo,hi (e.g. -0.25,0.25), got 0.1"],
    [["--points", "1"], "error: option '--points <n>' argument '1' is invalid. expected at least 2 points, got 1"],
    [["--dims", "3"], "error: option '--dims <n>' argument '3' is invalid. expected 1 or 2, got 3"],
  ] as const;
  for (const [args, line] of usage) {
    const r = await land(...args);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [line, "(see: rose landscape --help)"]);
  }
  // Checked by the library, named by the flags; a negative range start is read as the value, not a flag.
  const bs = await land("--range", "-0.1,0.1", "--batch-size", "0");
  assert.equal(bs.code, 1);
  assert.deepEqual(bs.stderr.trimEnd().split("\n"), ["error: --batch-size must be a positive integer, got 0"]);
  const ms = await land("--max-samples", "0");
  assert.match(ms.stderr, /^error: --max-samples must be a positive integer, got 0\n$/);
  const data = await land();
  assert.match(data.stderr, /^error: .*no-data\.tsv: no such file\n$/);
  assert.match((await rose("landscape", "--help")).stdout.replace(/\s+/g, " "), /--data <file> labelled examples [^(]*\(required\)/);

  const onFolder = await rose("report", join(tmp, "no-run"), "--out", tmp);
  assert.equal(onFolder.code, 1);
  assert.match(onFolder.stderr, /^error: --out .* is a folder; give a file name/);
  const noRun = await rose("report", join(tmp, "no-run"), "--out", join(tmp, "r.html"));
  assert.match(noRun.stderr, /^error: run directory .*no-run does not exist\n$/);
  const none = await rose("report");
  assert.deepEqual(none.stderr.trimEnd().split("\n"), ["error: missing required argument 'run-dirs'", "(see: rose report --help)"]);
});

test("rose demo: --methods picks the compared methods (checked before any data is read), end to end on a tiny model", async () => {
  const bad = await rose("demo", "--methods", "vanilla,rose-fancy", "--output-dir", join(tmp, "demo-bad"));
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /--methods: unknown method\(s\) rose-fancy; expected a comma-separated list of vanilla, rose-first, rose-second, rose-ensemble/,
  );
  assert.ok(!existsSync(join(tmp, "demo-bad")), "nothing written");

  const out = join(tmp, "demo");
  const run = await rose(
    "demo",
    "--model",
    GOLDEN_BERT,
    "--output-dir",
    out,
    "--per-class",
    "5",
    "--epochs",
    "1",
    "--batch-size",
    "4",
    "--max-seq-length",
    "16",
    "--methods",
    "vanilla,rose-second",
    "--upper",
    "50",
    "--attack-examples",
    "2",
    "--recipes",
    "deepwordbug",
    "--baselines",
    "nb",
    "--threads",
    "1",
    "--quiet",
  );
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split("\n")
    .slice(2)
    .map((l) => l.split(/\s{2,}/));
  assert.deepEqual(
    lines.map((l) => l[0]),
    ["vanilla", "rose-second", "bag-of-words nb"],
  );
  // The baseline row is `rose baseline` on the demo's own split; it is not attacked.
  const bow = await rose(
    "baseline",
    "--train-file",
    join(out, "train.tsv"),
    "--validation-file",
    join(out, "test.tsv"),
    "--model-type",
    "nb",
    "--json",
    "--quiet",
  );
  assert.equal(bow.code, 0, bow.stderr);
  assert.equal(lines[2]![1], (100 * (JSON.parse(bow.stdout) as { eval: { accuracy: number } }).eval.accuracy).toFixed(2));
  assert.deepEqual(lines[2]!.slice(3, 5), ["-", "-"]);
  const badBaseline = await rose("demo", "--baselines", "svm", "--output-dir", join(tmp, "demo-bad"));
  assert.match(badBaseline.stderr, /--baselines: unknown baseline\(s\) svm; expected a comma-separated list of logreg, nb, or none/);
  assert.match(run.stdout, /acc under deepwordbug %/);
  const state = JSON.parse(readFileSync(join(out, "rose-second", "trainer_state.json"), "utf8")) as {
    args?: { upper?: number; method?: string };
  };
  assert.equal(state.args?.method, "rose-second");
  assert.equal(state.args?.upper, 50);
});
