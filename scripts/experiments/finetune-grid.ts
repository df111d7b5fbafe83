// The fine-tuning settings grid of the shipped model: `rose sweep` over learning rate, epochs and
// batch size on a validation split carved from TRAINING data only (evaluation splits are never seen). Usage:
//   node --import tsx scripts/experiments/finetune-grid.ts --data demo --model models/rose-mini --out runs/grid-demo
//   node --import tsx scripts/experiments/finetune-grid.ts --data sst2 --train-file ../shared/data/glue/sst2/train.tsv \
//     --max-train-samples 12000 --model models/rose-mini --out runs/grid-sst2
// demo: the demo's training part (SpamAssassin, `npm run demo`'s split) is carved 80/20; OUT/data also gets the
// demo's own train.tsv / test.tsv (for scripts/experiments/pretraining-gain-spam.sh). sst2: with --carve rows (the default),
// 10% of the training file's rows are held out for validation; with --carve phrases, 1,500 rows of at least 15
// words are, and every row that is part of one or contains one is dropped (SST-2's rows are phrases of the same
// sentences: a row carve rewards memorising them, see src/data/split.ts). The grid trains on the first
// --max-train-samples of the rest.
// Rerun with the same --out to resume. The best flags are in OUT/sweep/best_flags.txt, all trials in results.csv.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { DEMO_DEFAULTS, demoSplit, writeDemoTsv } from "../../src/app/demo.ts";
import { splitExamples, splitPhraseDisjoint } from "../../src/data/split.ts";

const SPACES: Record<string, Record<string, number[]>> = {
  // The second demo grid (the first, lr 1e-4/3e-4/6e-4 x epochs 3/6 x batch 16/32 at 64 tokens, chose 6 epochs
  // and batch 16; both are in the model card).
  demo: { "max-seq-length": [64, 128, 256], "learning-rate": [3e-4, 6e-4], "num-train-epochs": [6], "per-device-train-batch-size": [16] },
  sst2: { "learning-rate": [1e-4, 3e-4], "num-train-epochs": [1, 3], "per-device-train-batch-size": [32] },
};

const program = new Command()
  .requiredOption("--data <name>", "demo | sst2")
  .requiredOption("--model <dir>", "pre-trained model to fine-tune")
  .requiredOption("--out <dir>", "the grid's directory (data, sweep)")
  .option("--train-file <file>", "sst2: the GLUE training file (sentence<TAB>label)")
  .option("--max-train-samples <n>", "sst2: rows the grid trains on", Number, 12000)
  .option("--carve <kind>", "sst2: rows (10% of the rows at random) | phrases (whole long phrases, disjoint from training)", "rows")
  .option(
    "--space <json>",
    'the grid instead of the built-in one, e.g. \'{"max-seq-length":[128,256],"learning-rate":[6e-4]}\' (a varied flag replaces the fixed one)',
  )
  .option("--threads <n>", "threads for the sweep", Number)
  .option("--workers <k>", "local workers", Number, 1)
  .option("--seeds <list>", "train each setting with these seeds and average (rose sweep --seeds), e.g. 1,2,3,4,5");
const o = program.parse().opts<{
  data: string;
  model: string;
  out: string;
  trainFile?: string;
  maxTrainSamples: number;
  carve: string;
  space?: string;
  threads?: number;
  workers: number;
  seeds?: string;
}>();
if (o.carve !== "rows" && o.carve !== "phrases") throw new Error(`--carve must be rows or phrases, got ${o.carve}`);
if (o.carve !== "rows" && o.data !== "sst2")
  throw new Error(`--carve ${o.carve} is for --data sst2 (the demo's carve is stratified by label)`);
const space = o.space ? (JSON.parse(o.space) as Record<string, number[]>) : SPACES[o.data];
if (!space) throw new Error(`--data must be one of ${Object.keys(SPACES).join(", ")}, got ${o.data}`);

const data = join(o.out, "data");
mkdirSync(data, { recursive: true });
const fitFile = join(data, "fit.tsv"),
  validationFile = join(data, "validation.tsv");
let taskFlags: string[];
if (o.data === "demo") {
  const { train, test } = await demoSplit(DEMO_DEFAULTS);
  writeDemoTsv(join(data, "train.tsv"), train);
  writeDemoTsv(join(data, "test.tsv"), test);
  // A seed of its own so the validation carve is not the demo's test carve replayed.
  const { train: fit, validation } = splitExamples(train, { validationFraction: 0.2, seed: DEMO_DEFAULTS.seed + 1, stratify: true });
  writeDemoTsv(fitFile, fit);
  writeDemoTsv(validationFile, validation);
  console.error(`demo training part: ${fit.length} fit / ${validation.length} validation messages (${data})`);
  taskFlags = ["--task", "custom", "--max-seq-length", String(DEMO_DEFAULTS.maxSeqLength), "--warmup-ratio", "0.1"];
} else {
  if (!o.trainFile) throw new Error("--data sst2 needs --train-file");
  const [header, ...rows] = readFileSync(o.trainFile, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  const examples = rows.map((line) => ({ line, label: null }));
  const { train, validation, dropped } =
    o.carve === "phrases"
      ? splitPhraseDisjoint(examples, { validationSize: 1500, minWords: 15, seed: 7, text: (r) => r.line.split("\t")[0]! })
      : { ...splitExamples(examples, { validationFraction: 0.1, seed: 7 }), dropped: 0 };
  const write = (file: string, r: { line: string }[]) => writeFileSync(file, `${header}\n${r.map((x) => x.line).join("\n")}\n`);
  write(fitFile, train.slice(0, o.maxTrainSamples));
  write(validationFile, validation);
  console.error(
    `${o.trainFile}: ${Math.min(o.maxTrainSamples, train.length)} fit / ${validation.length} validation rows, ${dropped} overlapping rows dropped (${data})`,
  );
  taskFlags = ["--task", "sst2", "--max-seq-length", "64", "--warmup-ratio", "0.06"];
}
// A flag the grid varies is not also a fixed one (rose sweep refuses that).
for (const key of Object.keys(space)) {
  const i = taskFlags.indexOf(`--${key}`);
  if (i >= 0) taskFlags.splice(i, 2);
}
const spaceFile = join(o.out, "space.json");
if (!existsSync(spaceFile)) writeFileSync(spaceFile, `${JSON.stringify(space, null, 2)}\n`);

const args = [
  "bin/rose.js",
  "sweep",
  "--output-dir",
  join(o.out, "sweep"),
  "--space",
  spaceFile,
  "--strategy",
  "grid",
  "--workers",
  String(o.workers),
  "--plain",
  ...(o.seeds ? ["--seeds", o.seeds] : []),
  ...(o.threads ? ["--threads", String(o.threads)] : []),
  "--",
  "--model",
  o.model,
  "--train-file",
  fitFile,
  "--validation-file",
  validationFile,
  ...taskFlags,
  "--weight-decay",
  "0.01",
  "--adam-beta2",
  "0.98",
  ...(o.seeds ? [] : ["--seed", String(DEMO_DEFAULTS.seed)]),
  "--save-steps",
  "0",
];
execFileSync(process.execPath, args, { stdio: "inherit" });
