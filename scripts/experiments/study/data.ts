// The study's data files per task: the training rows (the first N of the training pool), a validation
// split carved from them (stratified, seeded) for tuning, and the dev set used only for the final numbers.
// Rows are copied byte for byte from the source files, so every command reads the text it would read there.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Example, readExamples } from "../../../src/data/readers.ts";
import { splitExamples } from "../../../src/data/split.ts";
import { customTask, getGlueTask, type Task } from "../../../src/data/tasks.ts";
import { ConfigError } from "../../../src/errors.ts";
import type { StudyConfig, StudyTask } from "./config.ts";
import { writeWhole } from "./runner.ts";

/** How the rose commands read a task's files. */
export interface TaskLayout {
  /** `--task` of the rose commands. */
  roseTask: string;
  textColumn: string;
  labelColumn: string;
}

export function taskLayout(task: StudyTask): TaskLayout {
  return task === "sst2"
    ? { roseTask: "sst2", textColumn: "sentence", labelColumn: "label" }
    : { roseTask: "custom", textColumn: "SMS", labelColumn: "Label" };
}

export interface DataFiles {
  train: string;
  validation: string;
  dev: string;
}

export function dataFiles(workDir: string, task: StudyTask): DataFiles {
  const dir = join(workDir, task, "data");
  return { train: join(dir, "train.tsv"), validation: join(dir, "validation.tsv"), dev: join(dir, "dev.tsv") };
}

export interface SplitInfo {
  file: string;
  rows: number;
  /** Rows per class name. */
  labels: Record<string, number>;
  sha256: string;
}

export interface DataInfo {
  task: StudyTask;
  sources: { file: string; sha256: string }[];
  /** How the splits were made, in words. */
  recipe: string;
  train: SplitInfo;
  validation: SplitInfo;
  dev: SplitInfo;
  /** Dev examples attacked (the first ones). */
  attacked: number;
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

interface Source {
  file: string;
  lines: string[];
  examples: Example[];
  labelNames: readonly string[];
}

async function readSource(file: string, task: Task, layout: TaskLayout): Promise<Source> {
  if (!file.endsWith(".tsv")) throw new ConfigError(`${file}: the study copies rows line by line and needs a TSV file`);
  if (!existsSync(file)) throw new ConfigError(`${file}: no such file (is --data-root right?)`);
  const r = await readExamples(file, { task, textColumn: layout.textColumn, labelColumn: layout.labelColumn });
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/\r$/, ""));
  return { file, lines, examples: r.examples, labelNames: task.labels ?? r.labels ?? [] };
}

function writeSplit(file: string, src: Source, rows: readonly Example[]): SplitInfo {
  // TSV without quoting: one row is one line, so the reader's line numbers pick the rows.
  writeWhole(file, `${[src.lines[0]!, ...rows.map((e) => src.lines[e.line - 1]!)].join("\n")}\n`);
  const labels: Record<string, number> = {};
  for (const e of rows) {
    const name = src.labelNames[e.label!] ?? String(e.label);
    labels[name] = (labels[name] ?? 0) + 1;
  }
  return { file, rows: rows.length, labels, sha256: sha256(file) };
}

/** Writes the task's train / validation / dev files (deterministic: the same knobs give the same bytes). */
export async function prepareData(task: StudyTask, c: StudyConfig): Promise<DataInfo> {
  const layout = taskLayout(task);
  const files = dataFiles(c.workDir, task);
  let pool: Example[], devPool: Example[], trainSrc: Source, devSrc: Source, recipe: string;
  if (task === "sst2") {
    const t = getGlueTask("sst2")!;
    trainSrc = await readSource(join(c.dataRoot, "glue/sst2/train.tsv"), t, layout);
    devSrc = await readSource(join(c.dataRoot, "glue/sst2/dev.tsv"), t, layout);
    pool = trainSrc.examples;
    devPool = devSrc.examples;
    recipe = "GLUE SST-2: training pool train.tsv, dev set dev.tsv";
  } else {
    trainSrc = devSrc = await readSource(join(c.dataRoot, "spam/SMSSpamCollection.tsv"), customTask(), layout);
    // One file: the labels must be known to stratify, and both halves read them the same way.
    const s = splitExamples(trainSrc.examples, { validationFraction: c.spamDevFraction, seed: c.splitSeed, stratify: true });
    pool = s.train;
    devPool = s.validation;
    recipe = `SMS Spam Collection: ${c.spamDevFraction} of it (stratified, seed ${c.splitSeed}) is the dev set, the rest the training pool`;
  }
  const rows = c.trainRows > 0 ? pool.slice(0, c.trainRows) : pool;
  const { train, validation } = splitExamples(rows, { validationFraction: c.validationFraction, seed: c.splitSeed, stratify: true });
  const dev = c.devRows > 0 ? devPool.slice(0, c.devRows) : devPool;
  recipe += `; training rows: ${c.trainRows > 0 ? `the first ${rows.length}` : `all ${rows.length}`} of the pool in file order, of which ${c.validationFraction} (stratified, seed ${c.splitSeed}) is the validation split for tuning; dev: ${c.devRows > 0 ? `the first ${dev.length}` : `all ${dev.length}`}`;
  const sources = [...new Set([trainSrc.file, devSrc.file])].map((file) => ({ file, sha256: sha256(file) }));
  return {
    task,
    sources,
    recipe,
    train: writeSplit(files.train, trainSrc, train),
    validation: writeSplit(files.validation, trainSrc, validation),
    dev: writeSplit(files.dev, devSrc, dev),
    attacked: Math.min(c.attackExamples, dev.length),
  };
}
