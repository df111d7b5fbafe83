// rose train's flags as data (src/train/flags.ts): the CLI registers exactly the description, a sweep reads
// flags with it without the CLI, and ROSE's defaults come from one table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { cruise, type IReporterOutput } from "dependency-cruiser";
import { DEMO_DEFAULTS } from "../../src/app/demo.ts";
import { PRETRAIN_DEFAULTS } from "../../src/app/pretrain.ts";
import { fineTune } from "../../src/app/train.ts";
import { flagValues } from "../../src/cli/flags.ts";
import { registerTrain } from "../../src/cli/train.ts";
import { ConfigError } from "../../src/errors.ts";
import { RoseAdamW } from "../../src/optim/adamw.ts";
import { ROSE_DEFAULTS } from "../../src/optim/rose.ts";
import { parseSpace } from "../../src/sweep/space.ts";
import { parseTrainArgs } from "../../src/sweep/train-flags.ts";
import { flagsText, parseFlagValue } from "../../src/train/flag-spec.ts";
import { fineTuneOptionsFrom, ROSE_FLAGS, TRAIN_FLAGS } from "../../src/train/flags.ts";
import { TRAIN_DEFAULTS, withTrainDefaults } from "../../src/train/trainer.ts";
import { GOLDEN_BERT, writeSentimentData } from "../helpers/synthetic.ts";

function trainCommand(): Command {
  const program = new Command();
  registerTrain(program);
  return program.commands.find((c) => c.name() === "train")!.exitOverride();
}

test("rose train registers every described flag with its spelling, default, type and help, and nothing else", () => {
  const cmd = trainCommand();
  assert.equal(cmd.options.length, TRAIN_FLAGS.length);
  for (const s of TRAIN_FLAGS) {
    const o = cmd.options.find((x) => x.flags === flagsText(s));
    assert.ok(o, `${s.flag} is registered`);
    assert.equal(o.description, s.help, s.flag);
    assert.equal(o.isBoolean(), s.type === "boolean", s.flag);
    if (s.type === "boolean") continue;
    assert.equal(o.defaultValue, s.default, `${s.flag} default`);
    assert.equal(o.mandatory, Boolean(s.required), `${s.flag} required`);
    // The CLI's parser is the description's: same values, same refusals.
    const samples = s.type === "choice" ? [s.choices[0]!, "nope"] : ["3", "2.5", "x"];
    for (const v of samples) {
      let want: unknown, got: unknown;
      try {
        want = parseFlagValue(s, v);
      } catch (e) {
        want = (e as Error).message;
      }
      try {
        got = o.parseArg!(v, undefined);
      } catch (e) {
        got = (e as Error).message;
      }
      assert.deepEqual(got, want, `${s.flag} ${v}`);
    }
  }
});

test("the CLI and the sweep read the same command line into the same fineTune options", () => {
  const args = [
    "--train-file",
    "t.tsv",
    "--per-device-train-batch-size",
    "4",
    "--learning-rate=3e-4",
    "--method",
    "rose-second",
    "--upper",
    "55",
    "--rose-granularity",
    "element",
    "--rose-eligible",
    "attention",
    "--offline",
    "--pad-to-max-length",
    "--max-seq-length",
    "64",
  ];
  const cmd = trainCommand();
  cmd.parseOptions(args);
  const fromCli = fineTuneOptionsFrom(flagValues(cmd, TRAIN_FLAGS));
  const fromSweep = parseTrainArgs(args);
  assert.deepEqual(fromSweep, fromCli);
  assert.equal(fromSweep.batchSize, 4);
  assert.equal(fromSweep.learningRate, 3e-4);
  assert.equal(fromSweep.maxSeqLength, 64);
  assert.equal(fromSweep.padToMaxLength, true);
  assert.deepEqual(fromSweep.rose, { ...ROSE_DEFAULTS, method: "rose-second", upper: 55, granularity: "element", eligible: "attention" });
  assert.deepEqual(fromSweep.hub, { offline: true, revision: "main" });
  assert.equal(fromSweep.dropout, undefined, "no value and no default: the library's default applies");
  assert.throws(() => parseTrainArgs(["--upper"]), /^ConfigError: train flags: option '--upper <pct>' argument missing$/);
  assert.throws(() => parseTrainArgs(["--method", "rose-third"]), /argument 'rose-third' is invalid\. expected one of vanilla, rose-first/);
  assert.throws(() => parseTrainArgs(["--quiet=1"]), /--quiet=1 is set by the sweep/);
  assert.throws(() => parseTrainArgs(["--pad-to-max-length=1"]), /unknown rose train option --pad-to-max-length=1/);
  assert.throws(() => parseTrainArgs(["stray"]), /unexpected argument stray/);
});

test("sweep spaces and fixed flags are checked without the CLI: no module under src/cli/ is imported", async () => {
  const dims = parseSpace({ learning_rate: [1e-4], "rose-granularity": ["tensor", "element"], "pad-to-max-length": [true, false] }, "s");
  assert.deepEqual(
    dims.map((d) => d.flag),
    ["--learning-rate", "--rose-granularity", "--pad-to-max-length"],
  );
  assert.throws(
    () => parseSpace({ "rose-granularity": ["row"] }, "s"),
    (e: Error) => e instanceof ConfigError && e.message === "s: --rose-granularity: expected one of tensor, element, got row",
  );
  assert.throws(() => parseTrainArgs(["--gama", "0.3"]), /unknown rose train option --gama \(did you mean --gamma\?\)/);
  const r = await cruise(
    ["src/sweep/space.ts", "src/sweep/sweep.ts", "src/sweep/train-flags.ts", "src/sweep/trial-child.ts"],
    { tsPreCompilationDeps: true, doNotFollow: { path: "node_modules" }, tsConfig: { fileName: "tsconfig.json" } },
    { extensions: [".ts", ".js"] },
  );
  const modules = (r as IReporterOutput & { output: { modules: { source: string }[] } }).output.modules.map((m) => m.source);
  assert.ok(modules.includes("src/train/flags.ts"), "the walk follows the sweep's imports");
  assert.deepEqual(
    modules.filter((m) => m.startsWith("src/cli/")),
    [],
  );
});

test("ROSE's defaults are one table: the library, train, pretrain, the flags and the optimizer read it; the demo sets its own upper", async () => {
  assert.equal(TRAIN_DEFAULTS.rose, ROSE_DEFAULTS);
  assert.equal(PRETRAIN_DEFAULTS.rose, ROSE_DEFAULTS);
  for (const s of ROSE_FLAGS) {
    assert.ok(s.type !== "boolean");
    assert.equal(s.default, ROSE_DEFAULTS[s.key.slice("rose.".length) as keyof typeof ROSE_DEFAULTS], s.flag);
  }
  const { klDropout: _, ...rule } = ROSE_DEFAULTS;
  const { method, upper, lower, gamma, granularity, numWarmupSteps } = new RoseAdamW({ lr: 1 }).selector!.options;
  assert.deepEqual({ method, upper, lower, gamma, granularity, numWarmupSteps }, { ...rule, numWarmupSteps: 0 });
  const { method: __, ...demoRose } = { ...ROSE_DEFAULTS, upper: 50 };
  assert.deepEqual(DEMO_DEFAULTS.rose, demoRose, "the demo differs from the table in its upper only");
  // Undefined fields (flags not given) keep the table's values.
  assert.deepEqual(withTrainDefaults({ rose: { upper: undefined, gamma: 0.25 } }).rose, { ...ROSE_DEFAULTS, gamma: 0.25 });

  // fineTune without ROSE options trains with the table's, as its run record shows.
  const data = writeSentimentData(16, 8);
  const out = mkdtempSync(join(tmpdir(), "rose-flags-"));
  await fineTune({ model: GOLDEN_BERT, trainFile: data.train, outputDir: out, quiet: true, maxSteps: 1, saveSteps: 0 });
  const args = (JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as { args: Record<string, unknown> }).args;
  assert.deepEqual(
    {
      method: args.method,
      upper: args.upper,
      lower: args.lower,
      gamma: args.gamma,
      klDropout: args.klDropout,
      granularity: args.roseGranularity,
    },
    ROSE_DEFAULTS,
  );
});

test("errors name ROSE's options as the caller spells them: rose.upper in the library", async () => {
  const data = writeSentimentData(8, 4);
  const opts = { model: GOLDEN_BERT, trainFile: data.train, quiet: true };
  await assert.rejects(
    fineTune({ ...opts, outputDir: mkdtempSync(join(tmpdir(), "rose-flags-")), rose: { upper: 150 } }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message === "ROSE band: rose.upper percentile must be in [0, 100], got 150" &&
      e.options[0] === "rose.upper",
  );
  await assert.rejects(
    fineTune({ ...opts, outputDir: mkdtempSync(join(tmpdir(), "rose-flags-")), rose: { granularity: "row" as never } }),
    /^ConfigError: rose\.granularity must be tensor or element, got "row"$/,
  );
  await assert.rejects(
    fineTune({ ...opts, outputDir: mkdtempSync(join(tmpdir(), "rose-flags-")), rose: { eligible: "[" } }),
    /^ConfigError: rose\.eligible: invalid regular expression "\["/,
  );
  assert.throws(() => new RoseAdamW({ lr: 1, upper: 150 }), /^ConfigError: ROSE band: upper percentile must be in \[0, 100\], got 150$/);
});
