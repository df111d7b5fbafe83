// The study's plan: knobs from flags, environment and defaults; the steps and the commands they run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { METHODS, parseConfig, searchSpace, type StudyConfig } from "../../scripts/experiments/study/config.ts";
import { planSteps, taskPaths, tunedFlags } from "../../scripts/experiments/study/steps.ts";

function config(argv: string[] = [], env: NodeJS.ProcessEnv = {}): StudyConfig {
  const c = parseConfig(argv, env);
  assert.notEqual(c, "help");
  return c as StudyConfig;
}

test("parseConfig: the issue's values by default; flags win over STUDY_* variables", () => {
  const c = config();
  assert.deepEqual(
    [c.model, c.trainRows, c.devRows, c.attackExamples, c.seeds, c.trials, c.epochs, c.strategy],
    ["models/rose-mini", 0, 0, 500, [1, 2, 3], 12, 3, "halving"],
  );
  assert.deepEqual(c.methods, [...METHODS]);
  assert.deepEqual(c.recipes, ["pwws", "textfooler", "deepwordbug", "bae"]);
  const e = config(["--seeds", "4,5"], { STUDY_SEEDS: "7", STUDY_TRAIN_ROWS: "64", STUDY_DRY_RUN: "1" });
  assert.deepEqual([e.seeds, e.trainRows, e.dryRun], [[4, 5], 64, true]);
  // One epoch leaves halving no rung: random search then, and an explicit halving is refused.
  assert.equal(config(["--epochs", "1"]).strategy, "random");
  assert.throws(() => config(["--epochs", "1", "--strategy", "halving"]), /at least 2 epochs/);
  assert.throws(() => config(["--recipes", "pwws,nope"]), /unknown recipe "nope"/);
  assert.throws(() => config(["--seeds", "1,1"]), /appears twice/);
  assert.throws(() => config(["--lr-range", "1e-3,1e-5"]), /LO < HI/);
  assert.throws(() => config(["--validation-fraction", "1"]), /between 0 and 1/);
  assert.equal(parseConfig(["--help"]), "help");
});

test("searchSpace: the learning rate for all; upper for ROSE, gamma for the ensembles, alpha for R-Drop", () => {
  const c = config();
  const keys = (m: (typeof METHODS)[number]) => Object.keys(searchSpace(m, c)).sort();
  assert.deepEqual(keys("vanilla"), ["learning-rate"]);
  assert.deepEqual(keys("rose-first"), ["learning-rate", "upper"]);
  assert.deepEqual(keys("rose-second"), ["learning-rate", "upper"]);
  assert.deepEqual(keys("rose-ensemble"), ["gamma", "learning-rate", "upper"]);
  assert.deepEqual(keys("rdrop"), ["learning-rate", "rdrop-alpha"]);
  assert.deepEqual(keys("rdrop-rose-ensemble"), ["gamma", "learning-rate", "rdrop-alpha", "upper"]);
});

const flagValue = (cmd: string[], flag: string) => cmd[cmd.indexOf(flag) + 1];

test("planSteps: the same trial budget, seeds and attacked examples for every method; the landscape on the first seed", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-plan-"));
  const c = config([
    "--output-dir",
    join(dir, "out"),
    "--work-dir",
    join(dir, "work"),
    "--tasks",
    "sst2",
    "--seeds",
    "1,2",
    "--recipes",
    "pwws,textfooler,bae",
    "--threads",
    "1",
  ]);
  const steps = planSteps(c, { dryRun: true });
  const ids = steps.map((s) => s.id);
  assert.equal(new Set(ids).size, ids.length);
  // data, baseline, 6 x (tune + 2 x (train + eval + 3 attacks)), landscape.
  assert.equal(steps.length, 2 + 6 * (1 + 2 * 5) + 1);
  const tunes = steps.filter((s) => s.kind === "tune").map((s) => s.command!());
  assert.deepEqual(
    new Set(tunes.map((t) => `${flagValue(t, "--trials")} ${flagValue(t, "--strategy")} ${flagValue(t, "--eta")}`)),
    new Set(["12 halving 3"]),
  );
  for (const t of tunes) assert.equal(t[t.indexOf("--validation-file") + 1], join(dir, "work/sst2/data/validation.tsv"));
  const attacks = steps.filter((s) => s.kind === "attack").map((s) => s.command!());
  assert.equal(attacks.length, 6 * 2 * 3);
  assert.deepEqual(
    new Set(attacks.map((a) => `${flagValue(a, "--data")} ${flagValue(a, "--num-examples")} ${flagValue(a, "--seed")}`)),
    new Set([`${join(dir, "work/sst2/data/dev.tsv")} 500 0`]),
  );
  assert.ok(
    attacks
      .filter((a) => flagValue(a, "--recipe") === "textfooler")
      .every((a) => flagValue(a, "--neighbors")!.endsWith("attack/counterfitted_neighbors.json")),
  );
  assert.ok(attacks.filter((a) => flagValue(a, "--recipe") === "bae").every((a) => flagValue(a, "--mlm")!.endsWith("models/rose-mini")));
  const land = steps.find((s) => s.kind === "landscape")!;
  assert.deepEqual(
    land.deps,
    ["vanilla", "rose-first", "rose-second", "rose-ensemble"].map((m) => `sst2/train/${m}-seed1`),
  );
  const train = steps.find((s) => s.id === "sst2/train/rose-ensemble-seed2")!;
  assert.deepEqual(train.deps, ["sst2/tune/rose-ensemble"]);
});

test("planSteps: a final run takes its method's tuned flags and resumes an interrupted run", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-plan-"));
  const c = config([
    "--output-dir",
    join(dir, "out"),
    "--work-dir",
    join(dir, "work"),
    "--tasks",
    "spam",
    "--methods",
    "vanilla,rose-ensemble",
    "--seeds",
    "3",
  ]);
  const p = taskPaths(c, "spam");
  mkdirSync(join(p.out, "tune"), { recursive: true });
  writeFileSync(
    p.tuneResult("rose-ensemble"),
    JSON.stringify({ best: { params: { "--learning-rate": 0.0002, "--upper": 60, "--gamma": 0.25 } } }),
  );
  assert.deepEqual(tunedFlags(p.tuneResult("rose-ensemble")), ["--learning-rate", "0.0002", "--upper", "60", "--gamma", "0.25"]);
  const step = planSteps(c).find((s) => s.id === "spam/train/rose-ensemble-seed3")!;
  let cmd = step.command!();
  assert.deepEqual(cmd.slice(cmd.indexOf("--method"), cmd.indexOf("--method") + 8), [
    "--method",
    "rose-ensemble",
    "--learning-rate",
    "0.0002",
    "--upper",
    "60",
    "--gamma",
    "0.25",
  ]);
  assert.equal(flagValue(cmd, "--seed"), "3");
  assert.equal(flagValue(cmd, "--task"), "custom");
  assert.ok(cmd.includes("--overwrite-output-dir") && !cmd.includes("--resume"));
  mkdirSync(p.model("rose-ensemble", 3), { recursive: true });
  writeFileSync(join(p.model("rose-ensemble", 3), "last_checkpoint.json"), "{}");
  cmd = step.command!();
  assert.ok(cmd.includes("--resume") && !cmd.includes("--overwrite-output-dir"));
  writeFileSync(p.tuneResult("vanilla"), JSON.stringify({ best: null }));
  assert.throws(() => tunedFlags(p.tuneResult("vanilla")), /found no configuration that finished/);
});

test("planSteps: a finished training run is done while its model is there, or once everything that reads the model is recorded", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-plan-"));
  const c = config([
    "--output-dir",
    join(dir, "out"),
    "--work-dir",
    join(dir, "work"),
    "--tasks",
    "spam",
    "--methods",
    "vanilla",
    "--seeds",
    "1",
    "--recipes",
    "pwws",
    "--threads",
    "1",
  ]);
  const steps = planSteps(c, { dryRun: true });
  const train = steps.find((s) => s.kind === "train")!;
  const users = steps.filter((s) => s.deps.includes(train.id));
  assert.deepEqual(users.map((s) => s.kind).sort(), ["attack", "eval"]);
  const touch = (f: string) => {
    mkdirSync(join(f, ".."), { recursive: true });
    writeFileSync(f, "{}\n");
  };
  assert.equal(train.isDone!(), false, "no record");
  touch(train.record);
  assert.equal(train.isDone!(), false, "recorded, but the model is gone (another machine) and its evaluation is still to run");
  touch(join(taskPaths(c, "spam").model("vanilla", 1), "model.safetensors"));
  assert.equal(train.isDone!(), true, "the model is there");
  const c2 = config([
    "--output-dir",
    join(dir, "out"),
    "--work-dir",
    join(dir, "work2"),
    "--tasks",
    "spam",
    "--methods",
    "vanilla",
    "--seeds",
    "1",
    "--recipes",
    "pwws",
    "--threads",
    "1",
  ]);
  const train2 = planSteps(c2, { dryRun: true }).find((s) => s.kind === "train")!;
  assert.equal(train2.isDone!(), false, "no model in this work directory");
  for (const u of users) touch(u.record);
  assert.equal(train2.isDone!(), true, "nothing needs the model any more");
});
