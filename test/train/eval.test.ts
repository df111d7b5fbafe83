import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fineTune } from "../../src/app/train.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";

test("rose eval --json prints the task metrics; --predictions writes one line per example", async () => {
  const data = writeSentimentData(32, 16);
  const out = mkdtempSync(join(tmpdir(), "rose-eval-"));
  await fineTune({ model: GOLDEN_BERT, trainFile: data.train, outputDir: out, quiet: true, maxSteps: 2, batchSize: 8, saveSteps: 0 });
  const preds = join(out, "preds.jsonl");
  const stdout = execFileSync(
    process.execPath,
    ["bin/rose.js", "eval", "--model", out, "--data", data.dev, "--json", "--predictions", preds],
    { encoding: "utf8" },
  );
  const r = JSON.parse(stdout.trim()) as { task: string; n: number; accuracy: number; f1: number };
  assert.equal(r.task, "custom");
  assert.equal(r.n, 16);
  assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.f1 >= 0 && r.f1 <= 1);
  const lines = readFileSync(preds, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { label: string; prediction: number; gold: number; probabilities: number[] });
  assert.equal(lines.length, 16);
  for (const l of lines) {
    assert.ok(["neg", "pos"].includes(l.label));
    assert.ok(Math.abs(l.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  }
  // Each line carries the example's gold label id (file order), so the lines alone give the accuracy.
  const gold = readFileSync(data.dev, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => (l.split("\t")[1] === "pos" ? 1 : 0));
  assert.deepEqual(
    lines.map((l) => l.gold),
    gold,
  );
  assert.equal(lines.filter((l) => l.prediction === l.gold).length / lines.length, r.accuracy);
});
