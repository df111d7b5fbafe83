// The study's report writer on synthetic outputs whose answers are known: the sentences must follow the numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StudyMethod } from "../../scripts/experiments/study/config.ts";
import type { RunResult, StudyResults, TaskResults } from "../../scripts/experiments/study/collect.ts";
import { analyseTask, BEGIN, compare, END, renderReport, updateDoc } from "../../scripts/experiments/study/report.ts";

/** n per-example scores, the first `ones` right. */
const vec = (n: number, ones: number) => Array.from({ length: n }, (_, i) => (i < ones ? 1 : 0));

const summary = (recipe: string, under: number[]) => ({
  recipe,
  n: under.length,
  succeeded: under.length - under.reduce((a, b) => a + b, 0),
  failed: under.reduce((a, b) => a + b, 0),
  skipped: 0,
  original_accuracy: 100,
  accuracy_under_attack: (100 * under.reduce((a, b) => a + b, 0)) / under.length,
  attack_success_rate: 50,
  avg_perturbed_word_pct: 10,
  avg_num_words: 12,
  avg_queries: 40,
  seconds: 1,
});

/** Runs of one method: clean right on `clean[s]` of 200 dev examples per seed, right under pwws on `pwws` of 100. */
function runs(method: StudyMethod, clean: number[], pwws: number): RunResult[] {
  return clean.map((k, i) => {
    const under = vec(100, pwws);
    return {
      method,
      seed: i + 1,
      metrics: { accuracy: k / 200 },
      correct: vec(200, k),
      attacks: { pwws: { summary: summary("pwws", under), underAttack: under } },
      train: { train_samples_per_second: 50 },
    };
  });
}

function task(over: Partial<Record<StudyMethod, RunResult[]>> = {}): TaskResults {
  const base: Record<StudyMethod, RunResult[]> = {
    vanilla: runs("vanilla", [150, 152, 148], 10),
    "rose-first": runs("rose-first", [140, 140, 140], 20),
    "rose-second": runs("rose-second", [150, 152, 148], 10),
    "rose-ensemble": runs("rose-ensemble", [149, 151, 147], 35),
    rdrop: runs("rdrop", [150, 150, 150], 12),
    "rdrop-rose-ensemble": runs("rdrop-rose-ensemble", [150, 150, 150], 12),
  };
  const all = { ...base, ...over };
  const rise = (x: number) => ({ "rise@0.1": x, "rise@0.25": 4 * x });
  return {
    task: "sst2",
    data: null,
    baseline: { model_type: "logreg", train_samples: 1000, eval: { accuracy: 0.8 } },
    tuning: [],
    runs: Object.values(all).flat(),
    landscape: {
      dims: 2,
      points: 5,
      range: [-0.25, 0.25],
      examples: 16,
      data: "work/sst2/data/train.tsv",
      rows: [
        { model: "vanilla-seed1", center_loss: 0.5, center_accuracy: 0.8, max_rise: 2, width: 0.1, ...rise(0.2) },
        { model: "rose-ensemble-seed1", center_loss: 0.5, center_accuracy: 0.8, max_rise: 1, width: null, ...rise(0.1) },
        { model: "rose-first-seed1", center_loss: 0.5, center_accuracy: 0.8, max_rise: 3, width: 0.05, ...rise(0.3) },
        { model: "rose-second-seed1", center_loss: 0.5, center_accuracy: 0.8, max_rise: 3, width: 0.05, ...rise(0.1) },
      ],
    },
    steps: [],
  };
}

const opts = { bootstrapSamples: 2000 };

test("compare: the paired difference in points, the bootstrap p and the sign test over seeds", () => {
  const t = task();
  const c = compare(t.runs, "rose-ensemble", "vanilla", "pwws", opts)!;
  assert.equal(c.delta, 25);
  assert.ok(c.p < 0.001, `p ${c.p}`);
  assert.deepEqual(c.seeds, [1, 2, 3]);
  assert.deepEqual({ w: c.sign.wins, l: c.sign.losses, p: c.sign.p }, { w: 3, l: 0, p: 0.25 });
  const clean = compare(t.runs, "rose-ensemble", "vanilla", "clean", opts)!;
  assert.ok(Math.abs(clean.delta - -0.5) < 1e-9, `${clean.delta}`);
  assert.ok(clean.p > 0.05);
  assert.equal(compare(t.runs, "rose-second", "vanilla", "pwws", opts)!.p, 1);
  assert.equal(compare(t.runs, "vanilla", "vanilla", "textfooler", opts), null);
});

test("analyseTask answers the issue's questions from the numbers", () => {
  const a = analyseTask(task(), opts);
  // Every method against vanilla, the ensemble against both variants, R-Drop + ROSE against R-Drop; clean and pwws each.
  assert.equal(a.comparisons.length, (5 + 2 + 1) * 2);
  assert.ok(a.comparisons.every((c) => c.pHolm >= c.p));
  assert.match(
    a.answers.underAttack,
    /^\*\*Yes\*\*: rose-ensemble under pwws; it stands after Holm's correction over the task's 16 comparisons\./,
  );
  assert.match(a.answers.underAttack, /rose-ensemble vs vanilla under pwws: \+25\.00 points \(95% CI \+\d+\.\d+ to \+\d+\.\d+\), p<0\.001/);
  // rose-first is above vanilla under attack but 5 points lower clean: it does not count.
  assert.match(
    a.answers.underAttack,
    /rose-first vs vanilla under pwws: \+10\.00 points.*clean −5\.00 points → significantly above vanilla, but its clean accuracy is −5\.00 points, more than 1 point lower/,
  );
  assert.match(a.answers.underAttack, /rose-second vs vanilla under pwws: \+0\.00 points.* → not above vanilla/);
  assert.match(a.answers.underAttack, /With 3 paired seeds the sign test cannot go below p=0\.250/);
  assert.match(
    a.answers.ensemble,
    /^\*\*Yes\*\* under pwws: significantly above rose-first and rose-second; it stands after Holm's correction over the task's 16 comparisons\./,
  );
  // Clean, the ensemble is 0.5 points below rose-second: not significant, so not called worse.
  assert.match(a.answers.ensemble, /rose-ensemble vs rose-second clean: −0\.50 points.*: not significant\./);
  assert.doesNotMatch(a.answers.ensemble, /significantly below/);
  assert.match(
    a.answers.flatness,
    /^\*\*Yes\*\* for rose-ensemble-seed1 \(flatter by every sharpness number\)\. Sharper by every number: rose-first-seed1\./,
  );
  assert.match(
    a.answers.flatness,
    /rose-ensemble-seed1 against vanilla-seed1: flatter by 4 of 4 numbers.*width none in the grid vs 0\.100/,
  );
  assert.match(
    a.answers.flatness,
    /rose-second-seed1 against vanilla-seed1: flatter by 2 of 4 numbers, sharper by 2 \(rise@0\.1 0\.100 vs 0\.200; rise@0\.25 0\.400 vs 0\.800; max_rise 3\.00 vs 2\.00; width 0\.0500 vs 0\.100\)/,
  );
  assert.match(a.answers.rdrop, /^\*\*No\*\*: R-Drop with ROSE-ensemble is significantly above R-Drop alone on no metric\./);
  assert.match(
    a.answers.baseline,
    /^\*\*Below\*\*: vanilla's clean dev accuracy \(75\.00 ± 1\.00%\) is below the bag-of-words baseline's \(80\.00%/,
  );
});

test("analyseTask: when ROSE changes nothing, the answers say no", () => {
  const same = (m: StudyMethod) => runs(m, [160, 160, 160], 10);
  const a = analyseTask(
    task({
      "rose-first": same("rose-first"),
      "rose-second": same("rose-second"),
      "rose-ensemble": same("rose-ensemble"),
      vanilla: same("vanilla"),
    }),
    opts,
  );
  assert.match(a.answers.underAttack, /^\*\*No\*\*: no ROSE variant's accuracy under any attack is significantly above vanilla's/);
  assert.match(a.answers.ensemble, /^\*\*No\*\*: on no metric is the ensemble significantly above rose-first and rose-second\.$/m);
  assert.match(a.answers.baseline, /^\*\*At or above\*\*: vanilla's clean dev accuracy \(80\.00 ± 0\.00%\)/);
});

test("analyseTask: missing parts are reported as not measured", () => {
  // Runs not evaluated yet are collected without metrics or attacks.
  const pending = (["rose-first", "rose-second", "rose-ensemble", "rdrop", "rdrop-rose-ensemble"] as const).map(
    (method): RunResult => ({ method, seed: 1, metrics: null, correct: null, attacks: {}, train: null }),
  );
  const t: TaskResults = { ...task(), runs: [...runs("vanilla", [150], 10), ...pending], landscape: null, baseline: null };
  const a = analyseTask(t, opts);
  assert.equal(a.comparisons.length, 0);
  assert.match(a.answers.underAttack, /^Not measured/);
  assert.match(a.answers.ensemble, /^Not measured/);
  assert.match(a.answers.rdrop, /^Not measured/);
  assert.match(a.answers.flatness, /^Not measured/);
  assert.match(a.answers.baseline, /^Not measured/);
});

test("renderReport: tables with mean ± std over seeds, the comparisons, compute and the commit", () => {
  const t = task();
  t.steps = [
    {
      step: "sst2/train/vanilla-seed1",
      kind: "train",
      task: "sst2",
      command: ["rose", "train"],
      wall_s: 10,
      user_s: 15,
      sys_s: 1,
      cpu_s: 16,
      commit: "abcdef1234567",
      dirty: false,
      host: "h",
      started: "",
      finished: "",
    },
    {
      step: "sst2/attack/vanilla-seed1/pwws",
      kind: "attack",
      task: "sst2",
      command: ["rose", "attack"],
      wall_s: 5,
      user_s: 4,
      sys_s: 0,
      cpu_s: 4,
      commit: "abcdef1234567",
      dirty: false,
      host: "h",
      started: "",
      finished: "",
    },
  ];
  const s: StudyResults = {
    study: {
      created: "",
      commit: "abcdef1234567",
      dirty: false,
      model: { dir: "models/rose-mini", sha256: "0123456789abcdef0123" },
      config: { seeds: [1, 2, 3], trials: 12 },
    },
    invocations: [{ started: "", finished: "", elapsed_s: 20, commit: "abcdef1234567", dirty: false, ran: 2, skipped: 0, failed: 0 }],
    tasks: [t],
  };
  const md = renderReport(s, { ...opts, source: "docs/study" });
  assert.match(md, /^# Does ROSE deliver\?/);
  assert.match(md, /from the raw outputs in `docs\/study`/);
  assert.match(md, /\| vanilla \| 1, 2, 3 \| 75\.00 ± 1\.00 \| 10\.00 ± 0\.00 \|/);
  assert.match(md, /\| rose-ensemble \| vanilla \| under pwws \| \+25\.00 \|/);
  assert.match(md, /Bag-of-words baseline .*clean dev accuracy 80\.00%/);
  assert.match(md, /\| sst2 \| train \| 1 \| 10 \| 16 \|/);
  assert.match(md, /\| all \| all \| 2 \| 15 \| 20 \|/);
  assert.match(md, /Steps ran at commit abcdef1234/);
  assert.match(md, /\| vanilla-seed1 \| 0\.5000 \| 80\.00 \| 0\.2000 \| 0\.8000 \| 2\.000 \| 0\.1000 \|/);
  assert.match(md, /\| rose-ensemble-seed1 .* beyond the grid \|/);
});

test("updateDoc replaces the marked block (headings one level down) and keeps the rest; appends one when there is none", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-doc-"));
  const file = join(dir, "RESULTS.md");
  writeFileSync(file, "# Results\n\nintro\n");
  updateDoc(file, "# Report\n\nfirst report\n## Part\n");
  assert.equal(readFileSync(file, "utf8"), `# Results\n\nintro\n\n${BEGIN}\n## Report\n\nfirst report\n### Part\n${END}\n`);
  writeFileSync(file, `${readFileSync(file, "utf8")}\n## Later section\n`);
  updateDoc(file, "second report");
  assert.equal(readFileSync(file, "utf8"), `# Results\n\nintro\n\n${BEGIN}\nsecond report\n${END}\n\n## Later section\n`);
});
