// The fine-tuning settings grid of the shipped model (issue 12): `rose sweep` over learning rate, epochs and
// batch size on a validation split carved from the demo's TRAINING part (the demo's held-out messages are never
// seen). Usage:
//   node --import tsx scripts/finetune-grid.ts --model models/rose-mini --out /tmp/grid [--threads N] [--workers K]
// Rerun with the same --out to resume. OUT/data also gets the demo's train.tsv / test.tsv. The best flags are in OUT/sweep/best_flags.txt and results.csv.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { DEMO_DEFAULTS, demoSplit, writeDemoTsv } from "../src/app/demo.ts";
import { splitExamples } from "../src/data/split.ts";

const SPACE = {
  "learning-rate": [1e-4, 3e-4, 6e-4],
  "num-train-epochs": [3, 6],
  "per-device-train-batch-size": [16, 32],
};

const program = new Command()
  .requiredOption("--model <dir>", "pre-trained model to fine-tune")
  .requiredOption("--out <dir>", "the grid's directory (data, sweep)")
  .option("--validation-fraction <f>", "share of the demo's training part held out for validation", Number, 0.2)
  .option("--threads <n>", "threads for the sweep", Number)
  .option("--workers <k>", "local workers", Number, 1);
const o = program.parse().opts<{ model: string; out: string; validationFraction: number; threads?: number; workers: number }>();

const data = join(o.out, "data");
mkdirSync(data, { recursive: true });
const { train, test } = await demoSplit(DEMO_DEFAULTS);
// The demo's own files too (what `npm run demo` writes), for scripts/pretraining-gain-spam.sh.
writeDemoTsv(join(data, "train.tsv"), train);
writeDemoTsv(join(data, "test.tsv"), test);
// A seed of its own so the validation carve is not the demo's test carve replayed.
const { train: fit, validation } = splitExamples(train, { validationFraction: o.validationFraction, seed: DEMO_DEFAULTS.seed + 1, stratify: true });
writeDemoTsv(join(data, "fit.tsv"), fit);
writeDemoTsv(join(data, "validation.tsv"), validation);
const spaceFile = join(o.out, "space.json");
if (!existsSync(spaceFile)) writeFileSync(spaceFile, `${JSON.stringify(SPACE, null, 2)}\n`);
console.error(`demo training part: ${fit.length} fit / ${validation.length} validation messages (${data})`);

const args = [
  "bin/rose.js", "sweep", "--output-dir", join(o.out, "sweep"), "--space", spaceFile, "--strategy", "grid",
  "--workers", String(o.workers), "--plain", ...(o.threads ? ["--threads", String(o.threads)] : []), "--",
  "--model", o.model, "--task", "custom", "--train-file", join(data, "fit.tsv"), "--validation-file", join(data, "validation.tsv"),
  "--max-seq-length", String(DEMO_DEFAULTS.maxSeqLength), "--warmup-ratio", "0.1", "--weight-decay", "0.01",
  "--adam-beta2", "0.98", "--seed", String(DEMO_DEFAULTS.seed), "--save-steps", "0",
];
execFileSync(process.execPath, args, { stdio: "inherit" });
