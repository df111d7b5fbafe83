// What a run directory records, read for the report: metrics.jsonl (training and evaluation records),
// rose_masks.jsonl (ROSE's per-step tensor masks), the options (trainer_state.json from `rose train`,
// pretrain_result.json from `rose pretrain`), robustness.json (`rose robustness --json` output saved in
// the run directory) and landscape.json (from `rose landscape`, in the directory or one level below).
import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { type JsonRecord, type LandscapeFiles, type MaskRecord, RUN_FILES, RunDir } from "../node/run-dir.ts";

export type { JsonRecord, LandscapeFiles, MaskRecord } from "../node/run-dir.ts";

export interface RunRecords {
  name: string;
  dir: string;
  train: JsonRecord[];
  eval: JsonRecord[];
  masks: MaskRecord[];
  /** The options the run was started with, and a summary of how it ended, when recorded. */
  options: JsonRecord | null;
  summary: JsonRecord | null;
  robustness: JsonRecord | null;
  landscapes: LandscapeFiles[];
}

export function readRun(dir: string): RunRecords {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`run directory ${dir} does not exist`);
  const run = new RunDir(dir);
  const metrics = run.readMetrics();
  const trainer = run.readResult(RUN_FILES.trainerState);
  const pre = run.readResult(RUN_FILES.pretrainResult);
  let options: JsonRecord | null = null,
    summary: JsonRecord | null = null;
  if (trainer) {
    options = (trainer.args as JsonRecord | undefined) ?? null;
    const { log_history: _h, args: _a, ...rest } = trainer;
    summary = rest;
  } else if (pre) {
    options = (pre.args as JsonRecord | undefined) ?? null;
    const { args: _a, ...rest } = pre;
    summary = rest;
  }
  const landscapes = run.readLandscapes();
  const records: RunRecords = {
    name: basename(resolve(dir)),
    dir,
    train: metrics.filter((r) => r.type === "train"),
    eval: metrics.filter((r) => r.type === "eval"),
    masks: run.readMasks(),
    options,
    summary,
    robustness: run.readRobustness(),
    landscapes,
  };
  if (!records.train.length && !records.eval.length && !records.options && !records.robustness && !landscapes.length) {
    const f = RUN_FILES;
    throw new ConfigError(
      `${dir} holds no run records (${f.metrics}, ${f.trainerState}, ${f.pretrainResult}, ${f.robustness} or ${f.landscape})`,
    );
  }
  return records;
}
