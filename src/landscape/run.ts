// `rose landscape` as a library call: load the models, read and encode the data, compute the grid,
// write landscape.json and the plots (SVG and PNG).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { customTask, type Task } from "../data/tasks.ts";
import { ConfigError, DataError } from "../errors.ts";
import { prepareOutputDir } from "../node/outputs.ts";
import { dirFiles, writeFileAtomic } from "../node/files.ts";
import { RUN_FILES } from "../node/run-dir.ts";
import { labelMismatchWarning, untrainedHeadWarning } from "../models/checks.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import { encodeExamples } from "../data/batches.ts";
import { maxInputLength } from "../io/config.ts";
import { type DataOptions, readData, taskByName } from "../data/task-data.ts";
import { type ModelRef, resolveModelDir } from "../node/model-ref.ts";
import { computeLandscape, type GridOptions, type Landscape, validateGridOptions } from "./landscape.ts";
import { landscapePlots, svgToPng } from "./plot.ts";

export interface LandscapeOptions extends ModelRef, DataOptions, Partial<GridOptions> {
  /** More models compared on the same directions (same architecture). */
  compare?: string[];
  task?: string;
  data: string;
  /** Use the first N rows of the data. */
  maxSamples?: number;
  maxSeqLength?: number;
  outputDir?: string;
  /** Skip the PNG renderings (SVG only). */
  noPng?: boolean;
  log?: (line: string) => void;
}

export interface LandscapeRun {
  landscape: Landscape;
  outputDir: string;
  files: string[];
}

/** File-safe, distinct names for the models (directory base names). */
export function modelNames(dirs: readonly string[]): string[] {
  const used = new Map<string, number>();
  return dirs.map((d) => {
    const base = basename(resolve(d)).replace(/[^A-Za-z0-9._-]+/g, "_") || "model";
    const k = used.get(base) ?? 0;
    used.set(base, k + 1);
    return k === 0 ? base : `${base}-${k + 1}`;
  });
}

/** Checks the options that need no model or data, so that a mistake is reported before the slow loading. */
export function validateLandscapeOptions(opts: LandscapeOptions): void {
  validateGridOptions(opts);
  for (const name of ["maxSamples", "maxSeqLength"] as const) {
    const v = opts[name];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`${name} must be a positive integer, got ${v}`, [name]);
  }
  // As the reader would say it, but before the models load.
  if (!existsSync(opts.data)) throw new DataError(opts.data, null, "no such file");
}

export async function runLandscape(opts: LandscapeOptions): Promise<LandscapeRun> {
  validateLandscapeOptions(opts);
  const outputDir = opts.outputDir ?? "landscape";
  prepareOutputDir(outputDir, "--output-dir");
  const dirs = [
    await resolveModelDir(opts),
    ...(await Promise.all((opts.compare ?? []).map((m) => resolveModelDir({ model: m, hub: opts.hub })))),
  ];
  const names = modelNames(dirs);
  const models = await Promise.all(dirs.map(async (d, i) => ({ name: names[i]!, model: await PretrainedModel.load(dirFiles(d)) })));
  // A newly initialised head is allowed (the paper plots the model before fine-tuning too) but said loudly,
  // and recorded in landscape.json, so that a random head's surface is not read as a fine-tuned one's.
  const untrainedHead = models
    .filter((m, i) => {
      const w = untrainedHeadWarning(m.model, dirs[i]!);
      if (w) opts.log?.(`warning: ${w}`);
      return w !== null;
    })
    .map((m) => m.name);
  const first = models[0]!.model;
  let task: Task = taskByName(opts.task, first.cfg.problemType === "regression");
  if (task.name === "custom" && !task.isRegression) task = customTask({ labels: first.cfg.id2label });
  if (task.labels && !task.isRegression && task.labels.length !== first.cfg.numLabels) {
    throw new ConfigError(`task ${task.name} has ${task.labels.length} labels but the model ${dirs[0]} has ${first.cfg.numLabels}`);
  }
  for (const [i, m] of models.entries()) {
    const w = labelMismatchWarning(task.name, task.labels, m.model.cfg.id2label);
    if (w) opts.log?.(`warning: ${dirs[i]}: ${w}`);
  }
  const { examples } = await readData(opts.data, task, opts, opts.log);
  const rows = opts.maxSamples ? examples.slice(0, opts.maxSamples) : examples;
  if (!first.tokenizer) throw new ConfigError(`${dirs[0]}: the model has no tokenizer`);
  const encoded = await encodeExamples(first.tokenizer, rows, maxInputLength(first.cfg, opts.maxSeqLength ?? 128));
  const landscape = await computeLandscape(models, encoded, task, opts);
  const files = writeLandscape(landscape, outputDir, {
    png: !opts.noPng,
    extra: { data: opts.data, task: task.name, model_dirs: dirs, untrained_head: untrainedHead, max_seq_length: opts.maxSeqLength ?? 128 },
  });
  return { landscape, outputDir, files };
}

/** Writes landscape.json and the plots; returns the written paths. */
export function writeLandscape(l: Landscape, dir: string, opts: { png?: boolean; extra?: Record<string, unknown> } = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, RUN_FILES.landscape);
  writeFileAtomic(json, `${JSON.stringify({ ...l, ...opts.extra }, null, 1)}\n`);
  const files = [json];
  for (const p of landscapePlots(l)) {
    const svg = join(dir, `${p.file}.svg`);
    writeFileSync(svg, p.svg);
    files.push(svg);
    if (opts.png !== false) {
      const png = join(dir, `${p.file}.png`);
      writeFileSync(png, svgToPng(p.svg));
      files.push(png);
    }
  }
  return files;
}
