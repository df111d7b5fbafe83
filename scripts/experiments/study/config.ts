// The study's knobs: every scale parameter is a flag or a STUDY_* environment variable, with
// the issue's values as defaults; the tasks and methods compared; the search space each method is tuned in.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError } from "../../../src/errors.ts";
import { RECIPE_NAMES, isRecipeName, type RecipeName } from "../../../src/robust/recipes.ts";
import type { SpaceSpec } from "../../../src/sweep/space.ts";

export const METHODS = ["vanilla", "rose-first", "rose-second", "rose-ensemble", "rdrop", "rdrop-rose-ensemble"] as const;
export type StudyMethod = (typeof METHODS)[number];
/** The ROSE variants on their own (R-Drop combined with ROSE is asked about separately). */
export const ROSE_VARIANTS: readonly StudyMethod[] = ["rose-first", "rose-second", "rose-ensemble"];

export const TASKS = ["sst2", "spam"] as const;
export type StudyTask = (typeof TASKS)[number];

export interface StudyConfig {
  /** Pre-trained model directory (also the masked LM of bert-attack / bae). */
  model: string;
  /** Raw outputs to commit (JSON summaries, per-example logs in TASK/runs.zip, landscape, step timings, RESULTS.md). */
  outputDir: string;
  /** Models, sweeps and full attack logs (large, not committed). */
  workDir: string;
  dataRoot: string;
  tasks: StudyTask[];
  methods: StudyMethod[];
  /** Training rows: the first N of the training pool in file order (0: all). */
  trainRows: number;
  /** Share of the training rows carved (stratified, seeded) as the validation split used for tuning. */
  validationFraction: number;
  /** Dev rows scored: the first N of the dev set (0: all). */
  devRows: number;
  /** SMS spam has one file: this share of it (stratified, seeded) is its dev set. */
  spamDevFraction: number;
  /** Seed of the data splits. */
  splitSeed: number;
  attackExamples: number;
  recipes: RecipeName[];
  queryBudget: number | null;
  /** Seed of the attacks' random choices, the same for every model. */
  attackSeed: number;
  seeds: number[];
  /** Seed of every tuning trial (kept apart from the final seeds). */
  tuneSeed: number;
  /** Trials per method: the same budget for every method. */
  trials: number;
  strategy: "random" | "halving";
  eta: number;
  /** Seed of the sweeps' sampling. */
  sweepSeed: number;
  epochs: number;
  batchSize: number;
  maxSeqLength: number;
  lrRange: [number, number];
  uppers: number[];
  gammas: number[];
  rdropAlphas: number[];
  landscapeExamples: number;
  landscapePoints: number;
  landscapeDims: 1 | 2;
  landscapeData: "train" | "dev";
  bootstrapSamples: number;
  /** Steps run side by side. */
  workers: number;
  /** Threads per step. */
  threads: number;
  /** Replace the marked block of this markdown file with the report. */
  updateDoc: string | null;
  reportOnly: boolean;
  dryRun: boolean;
}

/** The knobs that change results: a rerun into the same output directory must keep them. */
export const RESULT_KEYS = [
  "tasks",
  "methods",
  "trainRows",
  "validationFraction",
  "devRows",
  "spamDevFraction",
  "splitSeed",
  "attackExamples",
  "recipes",
  "queryBudget",
  "attackSeed",
  "seeds",
  "tuneSeed",
  "trials",
  "strategy",
  "eta",
  "sweepSeed",
  "epochs",
  "batchSize",
  "maxSeqLength",
  "lrRange",
  "uppers",
  "gammas",
  "rdropAlphas",
  "landscapeExamples",
  "landscapePoints",
  "landscapeDims",
  "landscapeData",
] as const satisfies readonly (keyof StudyConfig)[];

interface Knob {
  help: string;
  /** Default as it would be typed; null: none. */
  def: string | null;
  bool?: boolean;
}

// Flag name -> knob. The environment variable is STUDY_ + the name in upper snake case (--train-rows: STUDY_TRAIN_ROWS).
export const KNOBS: Record<string, Knob> = {
  model: { help: "pre-trained model directory (also the masked LM of the bae / bert-attack recipes)", def: "models/rose-mini" },
  "output-dir": {
    help: "raw outputs to commit: per task data.json, tuning, per-run eval/attack JSON (raw per-example logs in runs.zip), landscape, step timings; RESULTS.md",
    def: "docs/study",
  },
  "work-dir": { help: "models, sweep trials and full attack logs (large; not for git)", def: "runs/study" },
  "data-root": { help: "folder holding glue/sst2, spam and attack/counterfitted_neighbors.json", def: "../shared/data" },
  tasks: { help: `comma-separated: ${TASKS.join(", ")}`, def: TASKS.join(",") },
  methods: { help: `comma-separated: ${METHODS.join(", ")}`, def: METHODS.join(",") },
  "train-rows": {
    help: "training rows, the first N of the training pool in file order (0: all; the validation split is carved from them)",
    def: "0",
  },
  "validation-fraction": { help: "share of the training rows held out (stratified) to tune on", def: "0.1" },
  "dev-rows": { help: "dev rows scored, the first N (0: the whole dev set)", def: "0" },
  "spam-dev-fraction": { help: "share of the SMS spam collection (stratified) that is its dev set", def: "0.2" },
  "split-seed": { help: "seed of the data splits", def: "0" },
  "attack-examples": { help: "dev examples attacked, the first N, the same for every model", def: "500" },
  recipes: { help: `attack recipes (${RECIPE_NAMES.join(", ")})`, def: "pwws,textfooler,deepwordbug,bae" },
  "query-budget": { help: "most model queries per attacked example (default: none)", def: null },
  "attack-seed": { help: "seed of the attacks' random choices (the same for every model)", def: "0" },
  seeds: { help: "training seeds of the final runs, the same for every method", def: "1,2,3" },
  "tune-seed": { help: "training seed of every tuning trial", def: "0" },
  trials: { help: "tuning trials per method (the same budget for every method)", def: "12" },
  strategy: { help: "tuning strategy: halving or random (default: halving, or random for 1 epoch)", def: null },
  eta: { help: "halving: keep the best 1/eta at each rung", def: "3" },
  "sweep-seed": { help: "seed of the sweeps' random sampling", def: "0" },
  epochs: { help: "training epochs (tuning and final)", def: "3" },
  "batch-size": { help: "training batch size", def: "32" },
  "max-seq-length": { help: "truncate inputs to this many tokens (training, evaluation, attacks, landscape)", def: "128" },
  "lr-range": { help: "learning-rate range searched (log-uniform), LO,HI", def: "1e-5,5e-4" },
  uppers: { help: "ROSE --upper values searched", def: "30,40,50,60,70,80,90" },
  gammas: { help: "ROSE-ensemble --gamma values searched", def: "0.25,0.5,0.75" },
  "rdrop-alphas": { help: "R-Drop --rdrop-alpha values searched", def: "0.1,0.5,1" },
  "landscape-examples": { help: "examples the landscape's loss is measured on (the first N)", def: "256" },
  "landscape-points": { help: "landscape grid points per direction", def: "21" },
  "landscape-dims": { help: "landscape directions (1 or 2)", def: "2" },
  "landscape-data": { help: "landscape data: train (the training rows) or dev", def: "train" },
  "bootstrap-samples": { help: "paired bootstrap resamples", def: "10000" },
  workers: { help: "steps run side by side", def: "1" },
  threads: { help: "compute threads per step (default: cores / workers)", def: null },
  "update-doc": {
    help: "replace the block between <!-- study:begin --> and <!-- study:end --> of this markdown file with the report",
    def: null,
  },
  "report-only": {
    help: "only rewrite the report from the outputs already there, with the settings in their study.json",
    def: null,
    bool: true,
  },
  "dry-run": { help: "print the steps and their commands; run nothing", def: null, bool: true },
};

/** The flag of a config key: trainRows -> --train-rows. */
export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`;

export const envName = (flag: string) => `STUDY_${flag.replace(/-/g, "_").toUpperCase()}`;

export function usage(): string {
  const lines = Object.entries(KNOBS).map(
    ([k, v]) => `${`  --${k}${v.bool ? "" : " <v>"}`.padEnd(30)}${v.help}${v.def !== null ? ` (default: ${v.def})` : ""} [${envName(k)}]`,
  );
  return `Usage: node --import tsx scripts/experiments/study.ts [options]\n\nThe ROSE study (does ROSE deliver?): tune, train, evaluate, attack, compare; resumable.\n\n${lines.join("\n")}\n  -h, --help`;
}

function list(v: string, what: string): string[] {
  const xs = v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (xs.length === 0) throw new ConfigError(`${what}: empty list`);
  return xs;
}

function number(v: string, what: string, check: (x: number) => boolean = Number.isFinite, expected = "a number"): number {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || !check(x)) throw new ConfigError(`${what}: expected ${expected}, got "${v}"`);
  return x;
}

const count = (v: string, what: string) => number(v, what, (x) => Number.isInteger(x) && x >= 0, "a whole number");
const positive = (v: string, what: string) => number(v, what, (x) => Number.isInteger(x) && x > 0, "a positive whole number");
const fraction = (v: string, what: string) => number(v, what, (x) => x > 0 && x < 1, "a fraction between 0 and 1");

function oneOf<T extends string>(v: string, options: readonly T[], what: string): T {
  if (!(options as readonly string[]).includes(v)) throw new ConfigError(`${what}: expected one of ${options.join(", ")}, got "${v}"`);
  return v as T;
}

/** Flags, else STUDY_* environment variables, else the defaults. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StudyConfig | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries(Object.entries(KNOBS).map(([k, v]) => [k, { type: v.bool ? ("boolean" as const) : ("string" as const) }])),
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const given = values as Record<string, string | boolean | undefined>;
  const raw = (k: string): string | null => {
    const v = given[k];
    if (typeof v === "string") return v;
    const e = env[envName(k)];
    if (e !== undefined && e !== "") return e;
    return KNOBS[k]!.def;
  };
  const flag = (k: string): boolean => given[k] === true || ["1", "true", "yes"].includes((env[envName(k)] ?? "").toLowerCase());
  const req = (k: string): string => raw(k)!;
  const at = (k: string) => `--${k}`;

  const epochs = positive(req("epochs"), at("epochs"));
  const workers = positive(req("workers"), at("workers"));
  const lr = list(req("lr-range"), at("lr-range")).map((x) => number(x, at("lr-range"), (y) => y > 0, "positive numbers"));
  if (lr.length !== 2 || !(lr[0]! < lr[1]!))
    throw new ConfigError(`${at("lr-range")}: expected LO,HI with LO < HI, got "${req("lr-range")}"`);
  const recipes = list(req("recipes"), at("recipes")).map((r) => {
    if (!isRecipeName(r)) throw new ConfigError(`${at("recipes")}: unknown recipe "${r}" (${RECIPE_NAMES.join(", ")})`);
    return r;
  });
  const seeds = list(req("seeds"), at("seeds")).map((s) => count(s, at("seeds")));
  if (new Set(seeds).size !== seeds.length) throw new ConfigError(`${at("seeds")}: a seed appears twice`);
  const strategy =
    raw("strategy") === null ? (epochs > 1 ? "halving" : "random") : oneOf(req("strategy"), ["random", "halving"] as const, at("strategy"));
  if (strategy === "halving" && epochs < 2) throw new ConfigError("--strategy halving needs at least 2 epochs (a rung before the end)");
  const dims = oneOf(req("landscape-dims"), ["1", "2"] as const, at("landscape-dims"));
  const qb = raw("query-budget");
  const threads = raw("threads");
  return {
    model: req("model"),
    outputDir: req("output-dir"),
    workDir: req("work-dir"),
    dataRoot: req("data-root"),
    tasks: [...new Set(list(req("tasks"), at("tasks")).map((t) => oneOf(t, TASKS, at("tasks"))))],
    methods: [...new Set(list(req("methods"), at("methods")).map((m) => oneOf(m, METHODS, at("methods"))))],
    trainRows: count(req("train-rows"), at("train-rows")),
    validationFraction: fraction(req("validation-fraction"), at("validation-fraction")),
    devRows: count(req("dev-rows"), at("dev-rows")),
    spamDevFraction: fraction(req("spam-dev-fraction"), at("spam-dev-fraction")),
    splitSeed: count(req("split-seed"), at("split-seed")),
    attackExamples: count(req("attack-examples"), at("attack-examples")),
    recipes: [...new Set(recipes)],
    queryBudget: qb === null ? null : positive(qb, at("query-budget")),
    attackSeed: count(req("attack-seed"), at("attack-seed")),
    seeds,
    tuneSeed: count(req("tune-seed"), at("tune-seed")),
    trials: positive(req("trials"), at("trials")),
    strategy,
    eta: number(req("eta"), at("eta"), (x) => Number.isInteger(x) && x >= 2, "a whole number >= 2"),
    sweepSeed: count(req("sweep-seed"), at("sweep-seed")),
    epochs,
    batchSize: positive(req("batch-size"), at("batch-size")),
    maxSeqLength: positive(req("max-seq-length"), at("max-seq-length")),
    lrRange: [lr[0]!, lr[1]!],
    uppers: list(req("uppers"), at("uppers")).map((x) => number(x, at("uppers"), (y) => y > 0 && y <= 100, "percentiles in (0, 100]")),
    gammas: list(req("gammas"), at("gammas")).map((x) => number(x, at("gammas"), (y) => y >= 0 && y <= 1, "weights in [0, 1]")),
    rdropAlphas: list(req("rdrop-alphas"), at("rdrop-alphas")).map((x) => number(x, at("rdrop-alphas"), (y) => y > 0, "positive numbers")),
    landscapeExamples: positive(req("landscape-examples"), at("landscape-examples")),
    landscapePoints: number(req("landscape-points"), at("landscape-points"), (x) => Number.isInteger(x) && x >= 3, "a whole number >= 3"),
    landscapeDims: dims === "1" ? 1 : 2,
    landscapeData: oneOf(req("landscape-data"), ["train", "dev"] as const, at("landscape-data")),
    bootstrapSamples: positive(req("bootstrap-samples"), at("bootstrap-samples")),
    workers,
    threads: threads === null ? Math.max(1, Math.floor(availableParallelism() / workers)) : positive(threads, at("threads")),
    updateDoc: raw("update-doc"),
    reportOnly: flag("report-only"),
    dryRun: flag("dry-run"),
  };
}

/** What `rose train` gets for a method besides the tuned flags. */
export function methodFlags(m: StudyMethod): string[] {
  switch (m) {
    case "vanilla":
    case "rdrop":
      return ["--method", "vanilla"];
    case "rdrop-rose-ensemble":
      return ["--method", "rose-ensemble"];
    default:
      return ["--method", m];
  }
}

/** What is tuned per method: the learning rate always, ROSE's upper (and gamma), R-Drop's alpha. */
export function searchSpace(m: StudyMethod, c: Pick<StudyConfig, "lrRange" | "uppers" | "gammas" | "rdropAlphas">): SpaceSpec {
  const space: SpaceSpec = { "learning-rate": { range: c.lrRange, log: true } };
  if (m.startsWith("rose-") || m === "rdrop-rose-ensemble") space.upper = [...c.uppers];
  if (m.endsWith("rose-ensemble")) space.gamma = [...c.gammas];
  if (m.startsWith("rdrop")) space["rdrop-alpha"] = [...c.rdropAlphas];
  return space;
}
