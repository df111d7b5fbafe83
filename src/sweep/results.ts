// The end of a sweep: one row per trial, the best configuration as pasteable flags, CSV and JSON files.
import { SweepDir } from "../node/run-dir.ts";
import type { Config } from "./space.ts";

export interface TrialRow {
  trial: number;
  config: number;
  seed: number | null;
  params: Config;
  /** finished: trained to the end; pruned: stopped by halving at `rung`; failed: see `error`; pending: not run. */
  state: "finished" | "pruned" | "failed" | "pending";
  /** The last rung it has a result for (-1: none). */
  rung: number;
  /** Epochs trained (the last evaluation's epoch). */
  epochs: number;
  /** The objective at its last rung (best value so far). */
  score: number | null;
  rungScores: (number | null)[];
  /** The last evaluation's metrics. */
  metrics: Record<string, number>;
  dir: string;
  host?: string;
  error?: string;
}

export interface BestConfig {
  config: number;
  params: Config;
  /** The configuration's score (mean over seeds). */
  score: number;
  /** `rose train` flags of the configuration, to paste after the fixed ones. */
  flags: string;
  /** The whole `rose train` command line (without --output-dir). */
  command: string;
  /** The best trial of that configuration and its model directory. */
  trial: number;
  modelDir: string;
}

export interface SweepResult {
  outputDir: string;
  strategy: string;
  objective: string;
  mode: "max" | "min";
  trials: TrialRow[];
  best: BestConfig | null;
  /** Epochs the sweep trained, against all configurations and seeds trained to the end. */
  epochsRun: number;
  fullGridEpochs: number;
  wallSeconds: number;
  files: { csv: string; json: string };
}

export function shellQuote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function writeResults(dir: string, r: Omit<SweepResult, "files">, flags: string[], rungs: number): SweepResult["files"] {
  const metricNames = [...new Set(r.trials.flatMap((t) => Object.keys(t.metrics)))].filter((k) => k !== "step" && k !== "epoch");
  const header = [
    "trial",
    "seed",
    ...flags.map((f) => f.replace(/^--/, "")),
    "state",
    "rung",
    "epochs",
    "score",
    ...Array.from({ length: rungs }, (_, i) => `score_rung${i}`),
    ...metricNames,
    "dir",
    "error",
  ];
  const lines = r.trials.map((t) => [
    t.trial,
    t.seed,
    ...flags.map((f) => t.params[f]),
    t.state,
    t.rung,
    t.epochs,
    t.score,
    ...Array.from({ length: rungs }, (_, i) => t.rungScores[i] ?? null),
    ...metricNames.map((m) => t.metrics[m]),
    t.dir,
    t.error,
  ]);
  return new SweepDir(dir).writeResults(`${[header, ...lines].map((l) => l.map(csvCell).join(",")).join("\n")}\n`, r);
}
