import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { objectiveMode, promote, rungPlan, scoreOf } from "../../src/sweep/halving.ts";
import { configWords, grid, parseSpace, sample } from "../../src/sweep/space.ts";
import { planSweep } from "../../src/sweep/sweep.ts";
import { parseTrainArgs } from "../../src/sweep/train-flags.ts";

const fixed = ["--train-file", "t.tsv", "--validation-file", "v.tsv", "--method", "rose-ensemble"];

test("a space of lists, choices and ranges expands to a grid in file order", () => {
  const dims = parseSpace(
    { upper: [60, 80], "--gamma": { choice: [0.3, 0.5] }, learningRate: { range: [1e-5, 1e-3], log: true, steps: 3 } },
    "s.json",
  );
  assert.deepEqual(
    dims.map((d) => d.flag),
    ["--upper", "--gamma", "--learning-rate"],
  );
  assert.deepEqual(dims[2]!.values, [1e-5, 1e-4, 1e-3]);
  const g = grid(dims, "s.json");
  assert.equal(g.length, 12);
  assert.deepEqual(g[0], { "--upper": 60, "--gamma": 0.3, "--learning-rate": 1e-5 });
  assert.deepEqual(g[11], { "--upper": 80, "--gamma": 0.5, "--learning-rate": 1e-3 });
  assert.deepEqual(configWords(dims, g[1]!), ["--upper", "60", "--gamma", "0.3", "--learning-rate", "0.0001"]);
});

test("random sampling is seeded, stays in range and log-uniform ranges cover their decades", () => {
  const dims = parseSpace(
    {
      "learning-rate": { range: [1e-6, 1e-2], log: true },
      "batch-size": { range: [4, 32], integer: true },
      "pad-to-max-length": [true, false],
    },
    "s",
  );
  const a = sample(dims, 200, 5),
    b = sample(dims, 200, 5),
    c = sample(dims, 200, 6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const lrs = a.map((x) => x["--learning-rate"] as number);
  assert.ok(lrs.every((v) => v >= 1e-6 && v <= 1e-2));
  assert.ok(lrs.filter((v) => v < 1e-5).length > 20 && lrs.filter((v) => v > 1e-3).length > 20, "each decade about a quarter");
  assert.ok(a.every((x) => Number.isInteger(x["--batch-size"])));
  // A switch is a word when true and absent when false.
  assert.deepEqual(configWords(dims.slice(2), { "--pad-to-max-length": true }), ["--pad-to-max-length"]);
  assert.deepEqual(configWords(dims.slice(2), { "--pad-to-max-length": false }), []);
});

test("bad spaces fail with one line naming the file and the option", () => {
  const bad: [unknown, RegExp][] = [
    [{ uppper: [1] }, /s\.json: unknown rose train option --uppper/],
    [{ upper: [] }, /s\.json: --upper: empty list/],
    [{ gamma: { choice: [] } }, /--gamma: empty list/],
    [{ gamma: { range: [0.5, 0.5] } }, /--gamma: empty range \[0\.5, 0\.5\]/],
    [{ "learning-rate": { range: [0, 1e-3], log: true } }, /log range needs low > 0/],
    [{ "batch-size": ["eight"] }, /--batch-size: not an integer: eight/],
    [{ "output-dir": ["a"] }, /--output-dir is set by the sweep/],
    [{}, /names no option/],
  ];
  for (const [space, re] of bad) {
    assert.throws(
      () => parseSpace(space as never, "s.json"),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes("\n"),
      JSON.stringify(space),
    );
  }
  assert.throws(() => grid(parseSpace({ gamma: { range: [0, 1] } }, "s"), "s"), /continuous range; give it "steps"/);
});

test("a space in Hugging Face's spelling (learning_rate) is the same space as in rose train's; unknown names are still refused", () => {
  const dir = mkdtempSync(join(tmpdir(), "rose-space-"));
  const hfFile = join(dir, "hf.json"),
    roseFile = join(dir, "rose.json");
  writeFileSync(hfFile, JSON.stringify({ learning_rate: [1e-4, 3e-4], num_train_epochs: [2, 3], warmup_steps: [0] }));
  writeFileSync(roseFile, JSON.stringify({ "learning-rate": [1e-4, 3e-4], "num-train-epochs": [2, 3], "warmup-steps": [0] }));
  const hf = planSweep({ outputDir: "d", space: hfFile, trainArgs: fixed });
  const rose = planSweep({ outputDir: "d", space: roseFile, trainArgs: fixed });
  assert.deepEqual(hf, rose);
  assert.deepEqual(hf.flags, ["--learning-rate", "--num-train-epochs", "--warmup-steps"]);
  assert.deepEqual(hf.trials[3]!.args.slice(-6), ["--learning-rate", "0.0003", "--num-train-epochs", "3", "--warmup-steps", "0"]);
  // An alias too: Hugging Face's per_device_train_batch_size is rose train's --per-device-train-batch-size.
  assert.deepEqual(
    parseSpace({ per_device_train_batch_size: [8, 16] }, "s").map((d) => d.flag),
    ["--per-device-train-batch-size"],
  );
  const bad: [unknown, string][] = [
    [{ "learning-rate": [1e-4], learning_rate: [3e-4] }, 's: --learning-rate appears twice (as "learning-rate" and "learning_rate")'],
    [
      { "batch-size": [8], per_device_train_batch_size: [16] },
      's: --per-device-train-batch-size appears twice (as "batch-size" and "per_device_train_batch_size")',
    ],
    [{ learning_rte: [1e-4] }, "s: unknown rose train option --learning-rte (did you mean --learning-rate?) (see rose train --help)"],
    [{ warp_speed: [9] }, "s: unknown rose train option --warp-speed (see rose train --help)"],
  ];
  for (const [space, message] of bad) {
    assert.throws(
      () => parseSpace(space as never, "s"),
      (e: Error) => e instanceof ConfigError && e.message === message,
      JSON.stringify(space),
    );
  }
});

test("fixed train flags are checked by rose train's own parser", () => {
  assert.equal(parseTrainArgs(["--upper", "55"]).rose?.upper, 55);
  assert.throws(() => parseTrainArgs(["--uper", "55"]), /unknown rose train option --uper \(did you mean --upper\?\)/);
  assert.throws(() => parseTrainArgs(["--batch-size", "x"]), /not an integer: x/);
  assert.throws(() => parseTrainArgs(["--resume"]), /--resume is set by the sweep/);
  assert.throws(
    () => planSweep({ outputDir: "d", space: { upper: [1] }, trainArgs: ["--train-file", "t"] }),
    /--validation-file is required/,
  );
  assert.throws(
    () => planSweep({ outputDir: "d", space: { upper: [1] }, trainArgs: [...fixed, "--upper", "3"] }),
    /--upper is both in the space and among the fixed/,
  );
  assert.throws(
    () => planSweep({ outputDir: "d", space: { upper: [1] }, trainArgs: fixed, objective: "bleu" }),
    /--objective bleu: not a validation metric/,
  );
});

test("plans: seeds multiply trials, halving gets geometric rungs, same options give the same plan", () => {
  const p = planSweep({
    outputDir: "d",
    space: { upper: [60, 80], gamma: [0.5] },
    trainArgs: [...fixed, "--num-train-epochs", "9"],
    strategy: "halving",
    seeds: [1, 2],
  });
  assert.deepEqual(p.rungs, [1, 3, 0]);
  assert.equal(p.trials.length, 4);
  assert.deepEqual(p.trials[1]!.args.slice(-6), ["--upper", "60", "--gamma", "0.5", "--seed", "2"]);
  assert.equal(p.objective, "accuracy");
  const r1 = planSweep({ outputDir: "d", space: { upper: { range: [50, 90] } }, trainArgs: fixed, strategy: "random", trials: 5, seed: 3 });
  const r2 = planSweep({ outputDir: "d", space: { upper: { range: [50, 90] } }, trainArgs: fixed, strategy: "random", trials: 5, seed: 3 });
  assert.deepEqual(r1, r2);
  assert.deepEqual(rungPlan("halving", 3, 3), [1, 0]);
  assert.deepEqual(rungPlan("halving", 10, 2, [4, 2, 12]), [2, 4, 0]);
  assert.deepEqual(rungPlan("grid", 10, 3), [0]);
  assert.throws(() => rungPlan("halving", 1, 3), /needs a rung before the end/);
});

test("promotion keeps the best 1/eta, never a failed trial, ties to the earlier configuration", () => {
  const s = new Map<number, number | null>([
    [0, 0.5],
    [1, 0.9],
    [2, null],
    [3, 0.9],
    [4, 0.1],
    [5, 0.7],
  ]);
  assert.deepEqual(promote(s, 3, "max"), [1, 3]);
  assert.deepEqual(promote(s, 2, "max"), [1, 3, 5]);
  assert.deepEqual(promote(s, 3, "min"), [0, 4]);
  assert.deepEqual(
    promote(
      new Map([
        [0, null],
        [1, null],
      ]),
      2,
      "max",
    ),
    [],
  );
  assert.equal(objectiveMode("loss"), "min");
  assert.equal(objectiveMode("accuracy"), "max");
  assert.equal(scoreOf([{ accuracy: 0.5 }, { accuracy: 0.75 }, { accuracy: 0.6 }], "accuracy", "max"), 0.75);
  assert.equal(scoreOf([{ accuracy: 0.5 }], "f1", "max"), null);
});

test("the CLI reports bad input in one line and exits 1 (the option named as rose train spells it, in either spelling)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rose-sweep-cli-"));
  for (const name of ["learning-rate", "learning_rate"]) {
    const spaceFile = join(dir, `${name}.json`);
    writeFileSync(spaceFile, JSON.stringify({ [name]: { range: [1e-4, 1e-5] } }));
    const r = spawnSync(
      process.execPath,
      ["bin/rose.js", "sweep", "--output-dir", join(dir, "out"), "--space", spaceFile, "--", ...fixed],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `error: ${spaceFile}: --learning-rate: empty range [0.0001, 0.00001] (low must be below high)\n`);
  }
});
