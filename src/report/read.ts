// What a run directory records, read for the report: metrics.jsonl (training and evaluation records),
// rose_masks.jsonl (ROSE's per-step tensor masks), the options (trainer_state.json from `rose train`,
// pretrain_result.json from `rose pretrain`), robustness.json (`rose robustness --json` output saved in
// the run directory) and landscape.json (from `rose landscape`, in the directory or one level below).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ConfigError, FormatError } from "../errors.ts";

export type JsonRecord = Record<string, unknown>;

export interface MaskRecord {
  step: number;
  applied: boolean;
  mask: Record<string, number>;
}

export interface LandscapeFiles {
  dir: string;
  json: JsonRecord;
  /** Plot name -> SVG text, in file order. */
  svgs: { name: string; svg: string }[];
}

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

function readJsonl(file: string): JsonRecord[] {
  if (!existsSync(file)) return [];
  const out: JsonRecord[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      // A run killed mid-write leaves a partial last line: skip it, fail on any other.
      if (i >= lines.length - 2) return;
      throw new FormatError(file, `line ${i + 1} is not JSON`);
    }
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as JsonRecord);
  });
  return out;
}

function readJson(file: string): JsonRecord | null {
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new FormatError(file, "expected a JSON object");
    return v as JsonRecord;
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(file, `not valid JSON (${(e as Error).message})`);
  }
}

function readLandscape(dir: string): LandscapeFiles | null {
  const json = readJson(join(dir, "landscape.json"));
  if (!json) return null;
  const svgs = readdirSync(dir)
    .filter((f) => f.endsWith(".svg"))
    .sort()
    .map((f) => ({ name: f.replace(/\.svg$/, ""), svg: readFileSync(join(dir, f), "utf8") }));
  return { dir, json, svgs };
}

export function readRun(dir: string): RunRecords {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ConfigError(`run directory ${dir} does not exist`);
  const metrics = readJsonl(join(dir, "metrics.jsonl"));
  const masks = readJsonl(join(dir, "rose_masks.jsonl")).map((r) => ({
    step: Number(r.step),
    applied: r.applied === true,
    mask: (r.mask ?? {}) as Record<string, number>,
  }));
  const trainer = readJson(join(dir, "trainer_state.json"));
  const pre = readJson(join(dir, "pretrain_result.json"));
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
  const landscapes: LandscapeFiles[] = [];
  const here = readLandscape(dir);
  if (here) landscapes.push(here);
  for (const sub of readdirSync(dir).sort()) {
    const p = join(dir, sub);
    if (statSync(p).isDirectory()) {
      const l = readLandscape(p);
      if (l) landscapes.push(l);
    }
  }
  const run: RunRecords = {
    name: basename(resolve(dir)),
    dir,
    train: metrics.filter((r) => r.type === "train"),
    eval: metrics.filter((r) => r.type === "eval"),
    masks,
    options,
    summary,
    robustness: readJson(join(dir, "robustness.json")),
    landscapes,
  };
  if (!run.train.length && !run.eval.length && !run.options && !run.robustness && !landscapes.length) {
    throw new ConfigError(
      `${dir} holds no run records (metrics.jsonl, trainer_state.json, pretrain_result.json, robustness.json or landscape.json)`,
    );
  }
  return run;
}
