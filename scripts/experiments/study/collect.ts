// Reads what the study's steps wrote into the output directory back as typed records: the only input of
// the report, so the report can be rewritten from the committed raw outputs alone.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AttackSummary } from "../../../src/robust/report.ts";
import type { SpaceSpec } from "../../../src/sweep/space.ts";
import type { BestConfig } from "../../../src/sweep/results.ts";
import { readRunLog } from "./archive.ts";
import { METHODS, type StudyConfig, type StudyMethod, type StudyTask } from "./config.ts";
import type { DataInfo } from "./data.ts";
import type { StepRecord } from "./runner.ts";
import { taskPaths } from "./steps.ts";

/** `rose attack --json`: the summary (percentages, as TextAttack prints them) with the recipe and its time. */
export interface AttackSummaryJson extends AttackSummary {
  recipe: string;
  seconds: number;
}

export interface AttackOutcome {
  summary: AttackSummaryJson;
  /** Per attacked example: 1 when still right after the attack (the attack failed), else 0. */
  underAttack: number[];
}

export interface RunResult {
  method: StudyMethod;
  seed: number;
  /** Clean dev metrics as fractions (accuracy, f1, ...); null before the eval step ran. */
  metrics: Record<string, number> | null;
  /** Per dev example: 1 when classified right, else 0. */
  correct: number[] | null;
  attacks: Record<string, AttackOutcome>;
  train: { train_samples_per_second?: number; global_step?: number; best_metric?: number } | null;
}

export interface TuneResult {
  method: StudyMethod;
  space: SpaceSpec | null;
  best: BestConfig | null;
  trials: number;
  epochsRun: number;
  fullGridEpochs: number;
}

export interface SharpnessRow {
  model: string;
  center_loss: number;
  center_accuracy: number | null;
  max_rise: number;
  width: number | null;
  /** rise@r values keyed "rise@0.1". */
  [rise: `rise@${string}`]: number | null;
}

export interface LandscapeResult {
  rows: SharpnessRow[];
  dims: number;
  points: number;
  range: [number, number];
  examples: number;
  data: string;
}

export interface BaselineResult {
  model_type: string;
  train_samples: number;
  eval: Record<string, number>;
}

export interface TaskResults {
  task: StudyTask;
  data: DataInfo | null;
  baseline: BaselineResult | null;
  tuning: TuneResult[];
  runs: RunResult[];
  landscape: LandscapeResult | null;
  steps: StepRecord[];
}

/** OUT/study.json: what the study was asked, fixed at its first run. */
export interface StudyRecord {
  created: string;
  commit: string;
  dirty: boolean;
  model: { dir: string; sha256: string };
  config: Partial<StudyConfig>;
}

/** One line of OUT/invocations.jsonl per run of the script. */
export interface Invocation {
  started: string;
  finished: string;
  elapsed_s: number;
  commit: string;
  dirty: boolean;
  ran: number;
  skipped: number;
  failed: number;
  /** Stopped by a signal. */
  interrupted?: boolean;
}

export interface StudyResults {
  study: StudyRecord;
  invocations: Invocation[];
  tasks: TaskResults[];
}

function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, "utf8").trim();
  return text ? (JSON.parse(text) as T) : null;
}

function parseJsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

export function readJsonLines<T>(file: string): T[] | null {
  return existsSync(file) ? parseJsonLines<T>(readFileSync(file, "utf8")) : null;
}

/** A run's raw log (plain file, or its entry in the task's runs.zip) as records. */
function readLogLines<T>(runDir: string, file: string): T[] | null {
  const text = readRunLog(runDir, file);
  return text === null ? null : parseJsonLines<T>(text);
}

function readRun(dir: string, method: StudyMethod, seed: number, recipes: readonly string[]): RunResult {
  const ev = readJson<Record<string, number | string>>(join(dir, "eval.json"));
  const metrics = ev
    ? Object.fromEntries(Object.entries(ev).filter((e): e is [string, number] => typeof e[1] === "number" && e[0] !== "n"))
    : null;
  const preds = readLogLines<{ prediction: number; gold: number | null }>(dir, "predictions.jsonl");
  const attacks: Record<string, AttackOutcome> = {};
  for (const r of recipes) {
    const summary = readJson<AttackSummaryJson>(join(dir, `attack-${r}.json`));
    const rows = readLogLines<{ status: string }>(dir, `attack-${r}.jsonl`);
    if (summary && rows) attacks[r] = { summary, underAttack: rows.map((x) => (x.status === "failed" ? 1 : 0)) };
  }
  return {
    method,
    seed,
    metrics,
    attacks,
    correct: preds ? preds.map((p) => (p.gold !== null && p.prediction === p.gold ? 1 : 0)) : null,
    train: readJson(join(dir, "train.json")),
  };
}

function readLandscape(dir: string): LandscapeResult | null {
  const summary = readJson<{ sharpness: SharpnessRow[] }>(join(dir, "summary.json"));
  const full = readJson<{ dims: number; points: number; range: [number, number]; examples: number; data: string }>(
    join(dir, "landscape.json"),
  );
  if (!summary || !full) return null;
  return { rows: summary.sharpness, dims: full.dims, points: full.points, range: full.range, examples: full.examples, data: full.data };
}

export function collectTask(c: Pick<StudyConfig, "outputDir" | "workDir" | "methods" | "seeds" | "recipes">, task: StudyTask): TaskResults {
  const p = taskPaths(c, task);
  const methods = METHODS.filter((m) => c.methods.includes(m));
  const tuning: TuneResult[] = methods.map((m) => {
    const r = readJson<{ best: BestConfig | null; epochs_run: number; full_grid_epochs: number }>(p.tuneResult(m));
    const trials = existsSync(p.tuneTable(m)) ? readFileSync(p.tuneTable(m), "utf8").trim().split("\n").length - 1 : 0;
    return {
      method: m,
      space: readJson<SpaceSpec>(p.tuneSpace(m)),
      best: r?.best ?? null,
      trials,
      epochsRun: r?.epochs_run ?? 0,
      fullGridEpochs: r?.full_grid_epochs ?? 0,
    };
  });
  const runs = methods.flatMap((m) => c.seeds.map((s) => readRun(p.run(m, s), m, s, c.recipes)));
  const steps = existsSync(p.steps)
    ? readdirSync(p.steps)
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => readJson<StepRecord>(join(p.steps, f))!)
    : [];
  return {
    task,
    steps,
    tuning,
    runs,
    data: readJson<DataInfo>(p.data),
    baseline: readJson<BaselineResult>(p.baseline),
    landscape: readLandscape(p.landscape),
  };
}

export function collectStudy(c: StudyConfig): StudyResults {
  const study = readJson<StudyRecord>(join(c.outputDir, "study.json"));
  if (!study) throw new Error(`${c.outputDir}/study.json: missing; run the study first`);
  return {
    study,
    invocations: readJsonLines<Invocation>(join(c.outputDir, "invocations.jsonl")) ?? [],
    tasks: c.tasks.map((t) => collectTask(c, t)),
  };
}
