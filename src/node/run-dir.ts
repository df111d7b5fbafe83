// A run's output folder: the one module that names its files and reads and writes their records.
// A training run (rose train, rose pretrain) leaves in its folder:
//   metrics.jsonl          train and eval records, one JSON object a line, appended as the run goes
//   rose_masks.jsonl       ROSE's tensor masks, one line per optimizer step
//   last_checkpoint.json   {"dir":"checkpoint-<step>","step":<step>}: the latest complete checkpoint
//   checkpoint-<step>/     model.safetensors, optimizer.safetensors, ema.safetensors (a weight average),
//                          trainer_state.json (the run state to continue from)
//   trainer_state.json     rose train's final state, as Hugging Face's Trainer writes it; pretrain_result.json
//                          is rose pretrain's: their presence marks a complete run
//   best/, vocab/          the best model by the task metric; pre-training's WordPiece vocabulary
//   sweep_evals.jsonl      a sweep's rung measurements (validation loss, accuracy under attack)
//   robustness.json        `rose robustness --output` saved there; landscape.json (rose landscape, or a folder below)
// A sweep's folder holds sweep.json, state.json, results.csv and results.json (SweepDir).
// JSON files are written whole (temporary file + rename), JSON Lines one append per record. Readers skip an
// unterminated last line (a run killed mid-append, which a resume drops); any other malformed line or
// file is a FormatError naming the file.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.ts";
import { WEIGHTS_FILE } from "../io/checkpoint.ts";
import { jsonProblem } from "../io/json.ts";
import { decodeTextStrict } from "../io/text.ts";
import { readBytes, readJsonFile, writeFileAtomic } from "./files.ts";
import { truncateJsonLines, writeJsonLines } from "./outputs.ts";
import { readSafetensors } from "./safetensors.ts";

/** The files and folders of a run, by role. */
export const RUN_FILES = {
  metrics: "metrics.jsonl",
  masks: "rose_masks.jsonl",
  lastCheckpoint: "last_checkpoint.json",
  trainerState: "trainer_state.json",
  pretrainResult: "pretrain_result.json",
  best: "best",
  vocab: "vocab",
  sweepEvals: "sweep_evals.jsonl",
  robustness: "robustness.json",
  landscape: "landscape.json",
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** The file whose presence marks a complete run: fine-tuning's or pre-training's. */
export type RunResultFile = typeof RUN_FILES.trainerState | typeof RUN_FILES.pretrainResult;

/** The files of a `checkpoint-<step>/` folder. */
export const CHECKPOINT_FILES = {
  weights: WEIGHTS_FILE,
  /** The moving average of the weights (--ema-decay), under the parameters' own names. */
  ema: "ema.safetensors",
  optimizer: "optimizer.safetensors",
  /** The run state; the same name as the final state, inside the checkpoint. */
  state: "trainer_state.json",
} as const;

export type CheckpointFile = keyof typeof CHECKPOINT_FILES;

/** The files of a sweep's folder. */
export const SWEEP_FILES = {
  /** What was asked (trials, rungs, objective); written once. */
  spec: "sweep.json",
  /** Every rung result so far, rewritten after each. */
  state: "state.json",
  csv: "results.csv",
  json: "results.json",
} as const;

export type SweepDirFile = keyof typeof SWEEP_FILES;

export type JsonRecord = Record<string, unknown>;

/** A metrics.jsonl record of an optimizer step: loss, learning rate, gradient norm and the like. */
export interface TrainRecord {
  type: "train";
  step: number;
  [field: string]: unknown;
}

/** A metrics.jsonl record of an evaluation: the task's metrics (fine-tuning also gives its 1-based epoch). */
export interface EvalRecord {
  type: "eval";
  step: number;
  [field: string]: unknown;
}

export type MetricsRecord = TrainRecord | EvalRecord;

/** A rose_masks.jsonl record: each eligible tensor's mask at one optimizer step. */
export interface MaskRecord {
  step: number;
  /** False during the warm-up, when masks are computed but not applied. */
  applied: boolean;
  mask: Record<string, number>;
}

/** last_checkpoint.json: the checkpoint folder a resume starts from. */
export interface CheckpointPointer {
  dir: string;
  step: number;
}

/** A sweep_evals.jsonl record: objectives measured on the weights of the checkpoint at `step`. */
export interface ExtraEvalRecord {
  step: number;
  epoch: number;
  /** `loss`, `robust:RECIPE`. */
  [objective: string]: number;
}

/** trainer_state.json at the end of `rose train` (Hugging Face Trainer's names, plus rose's own). */
export interface TrainerStateRecord<A = unknown, R = unknown> {
  global_step: number;
  epoch: number;
  max_steps: number;
  num_train_epochs: number;
  best_metric: number | null;
  best_model_checkpoint: string | null;
  train_loss: number;
  train_samples_per_second: number;
  log_history: readonly JsonRecord[];
  args: A;
  result: R;
}

/** An attack's summary with TextAttack's definitions (textattack/loggers/attack_log_manager.py), in percent. */
export interface AttackSummaryFields {
  n: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** Correctly classified before the attack: (n - skipped) / n, percent. */
  original_accuracy: number;
  /** Still correct after the attack: failed / n, percent. */
  accuracy_under_attack: number;
  /** succeeded / (succeeded + failed), percent. */
  attack_success_rate: number;
  /** Mean perturbed-word percentage over successful attacks. */
  avg_perturbed_word_pct: number;
  /** Mean queries over attacked (not skipped) examples. */
  avg_queries: number;
}

/** One row of robustness.json: a recipe's summary, percentages rounded to 2 decimals. */
export interface RobustnessRowRecord extends AttackSummaryFields {
  recipe: string;
  seconds: number;
}

export type RobustnessRecord = { task: string; rows: RobustnessRowRecord[] };

/** One line of `rose attack --output`: an attacked example. */
export type AttackResultRecord = {
  index: number;
  status: "succeeded" | "failed" | "skipped";
  original_text: string;
  original_pair?: string;
  perturbed_text: string;
  perturbed_pair?: string;
  attacked_field: "text" | "pair";
  label: number;
  label_name: string;
  original_prediction: number;
  perturbed_prediction: number;
  queries: number;
  num_words: number;
  perturbed_word_pct: number;
  changes: readonly { index: number; original: string; perturbed: string }[];
};

/** A landscape folder: landscape.json and its plots. */
export interface LandscapeFiles {
  dir: string;
  json: JsonRecord;
  /** Plot name -> SVG text, in file order. */
  svgs: { name: string; svg: string }[];
}

/** A model's weights, by parameter name, with the shapes they must have. */
export interface Checkpointable {
  params: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

/** The folder name of the checkpoint taken after optimizer step `step`. */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

const isObject = (v: unknown): v is JsonRecord => typeof v === "object" && v !== null && !Array.isArray(v);
const isStep = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A JSON file that must hold an object, or null when it does not exist. */
export function readJsonObject(file: string): JsonRecord | null {
  if (!existsSync(file)) return null;
  const v = readJsonFile<unknown>(file);
  if (!isObject(v)) throw new FormatError(file, "expected a JSON object");
  return v;
}

/** Appends one record to a JSON Lines file (a single write, so a kill tears at most this line). */
export function appendJsonLine(file: string, record: unknown): void {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/**
 * The records of a JSON Lines file, each checked by `check` (which returns a problem, or null); none when
 * the file does not exist. An unterminated last line is a write a kill interrupted: it is skipped.
 */
export function readJsonLines<T>(file: string, check: (v: unknown) => string | null): T[] {
  if (!existsSync(file)) return [];
  const bytes = readBytes(file);
  const whole = bytes.lastIndexOf(0x0a) + 1;
  const lines = decodeTextStrict(bytes.subarray(0, whole), file).split("\n");
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new FormatError(file, `line ${i + 1} is not valid JSON (${jsonProblem(e)})`);
    }
    const problem = check(v);
    if (problem) throw new FormatError(file, `line ${i + 1}: ${problem}`);
    out.push(v as T);
  });
  return out;
}

function metricsProblem(v: unknown): string | null {
  if (!isObject(v)) return "not a JSON object";
  if (v.type !== "train" && v.type !== "eval") return `"type" must be "train" or "eval", got ${JSON.stringify(v.type)}`;
  if (!isStep(v.step)) return `"step" must be a step number, got ${JSON.stringify(v.step)}`;
  return null;
}

function maskProblem(v: unknown): string | null {
  if (!isObject(v)) return "not a JSON object";
  if (!isStep(v.step)) return `"step" must be a step number, got ${JSON.stringify(v.step)}`;
  if (typeof v.applied !== "boolean") return `"applied" must be true or false, got ${JSON.stringify(v.applied)}`;
  if (!isObject(v.mask) || !Object.values(v.mask).every((m) => typeof m === "number"))
    return `"mask" must be an object of numbers, got ${JSON.stringify(v.mask)}`;
  return null;
}

function extraEvalProblem(v: unknown): string | null {
  if (!isObject(v)) return "not a JSON object";
  if (!isStep(v.step)) return `"step" must be a step number, got ${JSON.stringify(v.step)}`;
  for (const [k, x] of Object.entries(v)) if (typeof x !== "number") return `"${k}" must be a number, got ${JSON.stringify(x)}`;
  return null;
}

/** last_checkpoint.json, validated: a plain `checkpoint-<step>` folder name and its step. */
function parsePointer(file: string): CheckpointPointer {
  const p = readJsonFile<unknown>(file);
  if (!isObject(p)) throw new FormatError(file, "not a JSON object");
  const m = typeof p.dir === "string" ? CHECKPOINT_DIR.exec(p.dir) : null;
  if (!m) throw new FormatError(file, `"dir" must name a checkpoint-<step> directory, got ${JSON.stringify(p.dir)}`);
  if (!isStep(p.step) || String(p.step) !== m[1])
    throw new FormatError(file, `"step" ${JSON.stringify(p.step)} does not match the directory ${p.dir}`);
  return { dir: p.dir as string, step: p.step };
}

/**
 * A weights file (a checkpoint's model.safetensors or ema.safetensors, best/model.safetensors), checked
 * against the model: every parameter, with its shape, in F32, and nothing else.
 */
export function readModelWeights(file: string, model: Pick<Checkpointable, "shapes">): Map<string, Float32Array> {
  const weights = readSafetensors(file).tensors;
  const params = new Map<string, Float32Array>();
  for (const [n, shape] of model.shapes) {
    const t = weights.get(n);
    if (!t) throw new FormatError(file, `checkpoint lacks ${n}`);
    if (t.shape.join(",") !== shape.join(",")) throw new FormatError(file, `${n} has shape [${t.shape}], expected [${shape}]`);
    if (!(t.data instanceof Float32Array)) throw new FormatError(file, `${n} is ${t.dtype}, expected F32`);
    params.set(n, t.data);
  }
  for (const n of weights.keys()) {
    if (!model.shapes.has(n)) throw new FormatError(file, `holds ${n}, which the model does not have (a checkpoint of another model?)`);
  }
  return params;
}

/**
 * Loads the weights a model folder holds (a `checkpoint-<step>/` or best/) into `model`, in place; the
 * file is checked whole first, so a bad one leaves the model untouched.
 */
export function loadModelWeights(model: Checkpointable, dir: string): void {
  for (const [n, d] of readModelWeights(join(dir, WEIGHTS_FILE), model)) model.params.set(n, d);
}

/** A training run's output folder. */
export class RunDir {
  constructor(readonly dir: string) {}

  /** The path of one of the run's files or folders. */
  path(name: RunFile): string {
    return join(this.dir, RUN_FILES[name]);
  }

  has(name: RunFile): boolean {
    return existsSync(this.path(name));
  }

  appendMetrics(record: MetricsRecord): void {
    appendJsonLine(this.path("metrics"), record);
  }

  readMetrics(): MetricsRecord[] {
    return readJsonLines<MetricsRecord>(this.path("metrics"), metricsProblem);
  }

  readEvals(): EvalRecord[] {
    return this.readMetrics().filter((r): r is EvalRecord => r.type === "eval");
  }

  appendMask(record: MaskRecord): void {
    appendJsonLine(this.path("masks"), record);
  }

  readMasks(): MaskRecord[] {
    return readJsonLines<MaskRecord>(this.path("masks"), maskProblem);
  }

  /**
   * Drops the metrics and mask records logged after `step` and a torn last line (a resumed run logs them
   * again); step 0 removes both files.
   */
  rewindRecords(step: number): void {
    for (const file of [this.path("metrics"), this.path("masks")]) {
      if (step === 0) rmSync(file, { force: true });
      else truncateJsonLines(file, (rec) => typeof rec.step === "number" && rec.step <= step);
    }
  }

  /** The result file of a complete run, or null when there is none (a JSON object, or a FormatError). */
  readResult(name: RunResultFile): JsonRecord | null {
    return readJsonObject(join(this.dir, name));
  }

  /** Writes the result file that marks the run complete. */
  writeResult(name: RunResultFile, record: unknown): void {
    writeFileAtomic(join(this.dir, name), `${JSON.stringify(record, null, 2)}\n`);
  }

  removeResult(name: RunResultFile): void {
    rmSync(join(this.dir, name), { force: true });
  }

  /** The path of a checkpoint folder, or of one of its files. */
  checkpointPath(name: string, file?: CheckpointFile): string {
    return file ? join(this.dir, name, CHECKPOINT_FILES[file]) : join(this.dir, name);
  }

  /** Creates the folder of the checkpoint of `step` and returns its name. */
  createCheckpoint(step: number): string {
    const name = checkpointName(step);
    mkdirSync(this.checkpointPath(name), { recursive: true });
    return name;
  }

  writeCheckpointState(name: string, state: unknown): void {
    writeFileAtomic(this.checkpointPath(name, "state"), `${JSON.stringify(state)}\n`);
  }

  readCheckpointState(name: string): unknown {
    return readJsonFile<unknown>(this.checkpointPath(name, "state"));
  }

  /** The checkpoint a resume would start from, or null when none was saved; a bad pointer is a FormatError. */
  lastCheckpoint(): CheckpointPointer | null {
    const file = this.path("lastCheckpoint");
    return existsSync(file) ? parsePointer(file) : null;
  }

  /** The same, with an unreadable pointer taken as none (for messages and plans, not for resuming). */
  lastCheckpointIfReadable(): CheckpointPointer | null {
    try {
      return this.lastCheckpoint();
    } catch {
      return null;
    }
  }

  /**
   * Makes the complete checkpoint of `step` the one to resume from (an atomic rename of
   * last_checkpoint.json), then removes the one it replaces.
   */
  commitCheckpoint(step: number): void {
    const name = checkpointName(step);
    const previous = this.lastCheckpointIfReadable()?.dir;
    writeFileAtomic(this.path("lastCheckpoint"), JSON.stringify({ dir: name, step } satisfies CheckpointPointer));
    if (previous && previous !== name) rmSync(this.checkpointPath(previous), { recursive: true, force: true });
  }

  /**
   * A checkpoint folder that got as far as its run state: with no last_checkpoint.json, it means the
   * pointer was lost (folders without a state are writes a kill interrupted before they counted).
   */
  orphanedCheckpoint(): string | null {
    if (!existsSync(this.dir)) return null;
    for (const d of readdirSync(this.dir)) {
      if (CHECKPOINT_DIR.test(d) && existsSync(this.checkpointPath(d, "state"))) return d;
    }
    return null;
  }

  appendExtraEval(record: ExtraEvalRecord): void {
    appendJsonLine(this.path("sweepEvals"), record);
  }

  readExtraEvals(): ExtraEvalRecord[] {
    return readJsonLines<ExtraEvalRecord>(this.path("sweepEvals"), extraEvalProblem);
  }

  removeExtraEvals(): void {
    rmSync(this.path("sweepEvals"), { force: true });
  }

  /** robustness.json as saved in the run, or null. */
  readRobustness(): JsonRecord | null {
    return readJsonObject(this.path("robustness"));
  }

  /** landscape.json and its plots, in the run folder and in the folders one level below. */
  readLandscapes(): LandscapeFiles[] {
    const out: LandscapeFiles[] = [];
    const here = readLandscapeDir(this.dir);
    if (here) out.push(here);
    for (const sub of readdirSync(this.dir).sort()) {
      const p = join(this.dir, sub);
      if (statSync(p).isDirectory()) {
        const l = readLandscapeDir(p);
        if (l) out.push(l);
      }
    }
    return out;
  }
}

/** A landscape folder (landscape.json and its SVG plots), or null when it holds no landscape.json. */
export function readLandscapeDir(dir: string): LandscapeFiles | null {
  const json = readJsonObject(join(dir, RUN_FILES.landscape));
  if (!json) return null;
  const svgs = readdirSync(dir)
    .filter((f) => f.endsWith(".svg"))
    .sort()
    .map((f) => ({ name: f.replace(/\.svg$/, ""), svg: readFileSync(join(dir, f), "utf8") }));
  return { dir, json, svgs };
}

/** The text of robustness.json, one line (what --json prints too). */
export function robustnessText(record: RobustnessRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export function writeRobustnessFile(file: string, record: RobustnessRecord): void {
  writeFileAtomic(file, robustnessText(record));
}

/** Writes `rose attack --output`: one record per attacked example. */
export function writeAttackResults(file: string, records: readonly AttackResultRecord[]): void {
  writeJsonLines(file, records);
}

/** A sweep's folder: what was asked and what came of it. The record types are the sweep's (src/sweep/state.ts). */
export class SweepDir {
  constructor(readonly dir: string) {}

  path(name: SweepDirFile): string {
    return join(this.dir, SWEEP_FILES[name]);
  }

  /** sweep.json, or null before the first run. */
  readSpec<T>(): T | null {
    return readJsonObject(this.path("spec")) as T | null;
  }

  writeSpec(spec: unknown): void {
    writeFileAtomic(this.path("spec"), `${JSON.stringify(spec, null, 2)}\n`);
  }

  /** state.json, or null before the first rung result. */
  readState<T>(): T | null {
    return readJsonObject(this.path("state")) as T | null;
  }

  writeState(state: unknown): void {
    writeFileAtomic(this.path("state"), `${JSON.stringify(state, null, 1)}\n`);
  }

  /** Writes the results table (CSV text) and the result (JSON); returns both paths. */
  writeResults(csv: string, result: unknown): { csv: string; json: string } {
    const files = { csv: this.path("csv"), json: this.path("json") };
    writeFileAtomic(files.csv, csv);
    writeFileAtomic(files.json, `${JSON.stringify(result, null, 2)}\n`);
    return files;
  }
}
