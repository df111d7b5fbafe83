import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLandscape } from "../../src/landscape/run.ts";
import { maskMatrix } from "../../src/report/html.ts";
import { readRun } from "../../src/report/read.ts";
import { writeReport } from "../../src/report/run.ts";
import { robustness } from "../../src/app/robustness.ts";
import { fineTune } from "../../src/app/train.ts";
import { CHROMIUM, checkPage } from "../helpers/browser.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";
import { needsProgram } from "../helpers/services.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

test("mask heat map matrix: tensors x steps, binned to at most 600 columns by the mean", () => {
  const masks = Array.from({ length: 1200 }, (_, i) => ({
    step: i + 1,
    applied: i >= 10,
    mask: { "bert.encoder.layer.0.a.weight": i % 2, "bert.encoder.layer.1.b.weight": 1 },
  }));
  const m = maskMatrix(masks)!;
  assert.deepEqual(m.tensors, ["L0 a.weight", "L1 b.weight"]);
  assert.equal(m.steps.length, 600);
  assert.equal(m.steps[1], 3);
  assert.ok(m.values[0]!.every((v) => v === 0.5));
  assert.ok(m.values[1]!.every((v) => v === 1));
  assert.equal(m.applied[4], false);
  assert.equal(m.applied[5], true);
  assert.equal(maskMatrix([]), null);
});

test("readRun names what is missing", () => {
  const empty = mkdtempSync(join(tmpdir(), "rose-empty-"));
  assert.throws(() => readRun(empty), /holds no run records/);
  assert.throws(() => readRun(join(empty, "nope")), /does not exist/);
  writeFileSync(join(empty, "trainer_state.json"), "{not json");
  assert.throws(() => readRun(empty), /trainer_state\.json: not valid JSON/);
});

test("report of a vanilla and a ROSE run, opened in headless Chromium: no errors, offline, every chart drawn", {
  skip: needsProgram(CHROMIUM, "chromium"),
}, async () => {
  const data = writeSentimentData(48, 24);
  const root = mkdtempSync(join(tmpdir(), "rose-report-"));
  const base = {
    model: GOLDEN_BERT,
    trainFile: data.train,
    validationFile: data.dev,
    quiet: true,
    batchSize: 8,
    loggingSteps: 1,
    numTrainEpochs: 2,
    learningRate: 1e-3,
    warmupSteps: 2,
    saveSteps: 0,
    threads: 1,
  };
  const vanilla = join(root, "vanilla"),
    rose = join(root, "rose-ensemble");
  await fineTune({ ...base, outputDir: vanilla, rose: { method: "vanilla" } });
  await fineTune({ ...base, outputDir: rose, rose: { method: "rose-ensemble", upper: 60 } });
  // What `rose robustness --output RUN/robustness.json` and `rose landscape --compare` leave in a run.
  const rob = await robustness({
    model: rose,
    data: data.dev,
    recipes: ["deepwordbug"],
    numExamples: 4,
    similarity: false,
    threads: 1,
    maxSeqLength: 32,
  });
  writeFileSync(join(rose, "robustness.json"), JSON.stringify(rob));
  await runLandscape({
    model: vanilla,
    compare: [rose],
    data: data.dev,
    maxSamples: 12,
    points: 5,
    seed: 1,
    outputDir: join(vanilla, "landscape"),
    threads: 1,
    maxSeqLength: 32,
    noPng: true,
  });
  await runLandscape({
    model: rose,
    data: data.dev,
    maxSamples: 12,
    points: 5,
    dims: 1,
    seed: 1,
    outputDir: join(rose, "landscape-1d"),
    threads: 1,
    maxSeqLength: 32,
    noPng: true,
  });

  const out = join(root, "report.html");
  await writeReport({ runDirs: [vanilla, rose], out });
  const html = readFileSync(out, "utf8");
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//, "no external scripts, styles or links");

  const shot = join(ARTIFACTS, "report.png");
  const page = await checkPage(out, shot);
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.networkRequests, [], "the page opens offline");
  assert.equal(page.drawn, true, "the page script ran to the end");
  assert.deepEqual(page.sections, ["training", "evaluation", "masks", "robustness", "landscape", "options"]);
  const titles = page.charts.map((c) => c.title);
  for (const t of [
    "training loss",
    "learning rate",
    "gradient norm (before clipping)",
    "symmetric KL between the two dropout passes",
    "fraction of parameters updated (ROSE)",
    "accuracy",
    "f1",
  ]) {
    assert.ok(titles.includes(t), `chart ${t} in ${titles.join(", ")}`);
  }
  for (const c of page.charts)
    assert.ok(c.dataPixels > 30, `chart ${c.title} drew its data (${c.dataPixels} pixels in its series' colours)`);
  assert.equal(page.heatmaps.length, 1, "one heat map: the ROSE run");
  assert.ok(page.heatmaps[0]!.updatedPixels > 100, `heat map drew updated tensors (${page.heatmaps[0]!.updatedPixels})`);
  assert.deepEqual(page.svgs.map((s) => s.name).sort(), [
    "curves",
    "rose-ensemble.contour",
    "rose-ensemble.surface",
    "vanilla.contour",
    "vanilla.surface",
  ]);
  for (const s of page.svgs) assert.ok(s.marks > 0, `${s.name} has data marks`);
  assert.ok(readFileSync(shot).length > 10_000, `screenshot saved at ${shot}`);
  // The options table shows both runs and marks the method as differing.
  assert.match(html, /<tr class="differs"><th>method<\/th><td>vanilla<\/td><td>rose-ensemble<\/td><\/tr>/);
});
