// Atomic, resumable checkpoints: `checkpoint-<step>/` holds the weights, the optimizer moments and the
// run state; `last_checkpoint.json` flips to it only once it is complete (atomic rename), and older
// checkpoints are removed after that. A run killed at any moment leaves a complete checkpoint behind.
// The optimizer's moments are stored as `exp_avg/<name>` and `exp_avg_sq/<name>` tensors, its per-tensor
// step counts as `optimizer_steps` metadata.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.ts";
import { readSafetensors, type StTensor, writeFileAtomic, writeSafetensors } from "../io/safetensors.ts";
import type { AdamW, OptimizerState } from "../optim/adamw.ts";

const POINTER = "last_checkpoint.json";

export interface Checkpointable {
  params: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

export function saveRunCheckpoint<S>(outputDir: string, step: number, model: Checkpointable, optimizer: AdamW, state: S): void {
  const name = `checkpoint-${step}`;
  const dir = join(outputDir, name);
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), [...model.shapes].map(([n, shape]) => [n, { shape, data: model.params.get(n)! }]));
  const packed = packState(optimizer.state());
  writeSafetensors(join(dir, "optimizer.safetensors"), packed.tensors, packed.metadata);
  writeFileAtomic(join(dir, "trainer_state.json"), `${JSON.stringify(state)}\n`);
  const pointer = join(outputDir, POINTER);
  const previous = existsSync(pointer) ? readPointer(pointer) : null;
  writeFileAtomic(pointer, JSON.stringify({ dir: name, step }));
  if (previous && previous !== name) rmSync(join(outputDir, previous), { recursive: true, force: true });
}

function readPointer(pointer: string): string {
  return readPointerEntry(pointer).dir;
}

function readPointerEntry(pointer: string): { dir: string; step: number } {
  try {
    return JSON.parse(readFileSync(pointer, "utf8")) as { dir: string; step: number };
  } catch (e) {
    throw new FormatError(pointer, `cannot read the checkpoint pointer (${(e as Error).message})`);
  }
}

/** The checkpoint a resume would start from (its directory name and step), or null when none was saved. */
export function lastCheckpoint(outputDir: string): { dir: string; step: number } | null {
  const pointer = join(outputDir, POINTER);
  return existsSync(pointer) ? readPointerEntry(pointer) : null;
}

/** Restores weights and optimizer state in place; returns the saved run state, or null without a checkpoint. */
export function loadRunCheckpoint<S>(outputDir: string, model: Checkpointable, optimizer: AdamW): S | null {
  const pointer = join(outputDir, POINTER);
  if (!existsSync(pointer)) return null;
  const dir = join(outputDir, readPointer(pointer));
  const weightsFile = join(dir, "model.safetensors");
  const weights = readSafetensors(weightsFile).tensors;
  for (const [n, shape] of model.shapes) {
    const t = weights.get(n);
    if (!t) throw new FormatError(weightsFile, `checkpoint lacks ${n}`);
    if (t.shape.join(",") !== shape.join(",")) throw new FormatError(weightsFile, `${n} has shape [${t.shape}], expected [${shape}]`);
    model.params.set(n, t.data as Float32Array);
  }
  const optFile = join(dir, "optimizer.safetensors");
  const opt = readSafetensors(optFile);
  optimizer.loadState(unpackState(optFile, opt.tensors, opt.metadata));
  const stFile = join(dir, "trainer_state.json");
  try {
    return JSON.parse(readFileSync(stFile, "utf8")) as S;
  } catch (e) {
    throw new FormatError(stFile, `cannot read the run state (${(e as Error).message})`);
  }
}

export interface PackedState {
  /** `exp_avg/<name>` and `exp_avg_sq/<name>`, 1-D, ready for writeSafetensors. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** `optimizer_steps`: JSON object name -> step count. */
  metadata: Record<string, string>;
}

/** Lays out a state as safetensors entries (no copies). */
export function packState(s: OptimizerState): PackedState {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, m] of s.expAvg) {
    tensors.set(`exp_avg/${n}`, { shape: [m.length], data: m });
    tensors.set(`exp_avg_sq/${n}`, { shape: [m.length], data: s.expAvgSq.get(n)! });
  }
  return { tensors, metadata: { optimizer_steps: JSON.stringify(Object.fromEntries(s.steps)) } };
}

/** Inverse of packState for tensors read back by readSafetensors; `file` names the checkpoint in errors. */
export function unpackState(
  file: string,
  tensors: Map<string, StTensor>,
  metadata: Record<string, string>,
): OptimizerState {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.optimizer_steps ?? "");
  } catch {
    throw new FormatError(file, "optimizer checkpoint has no valid optimizer_steps metadata");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FormatError(file, "optimizer_steps metadata is not an object");
  const steps = new Map<string, number>();
  const expAvg = new Map<string, Float32Array>();
  const expAvgSq = new Map<string, Float32Array>();
  for (const [n, t] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 1) throw new FormatError(file, `optimizer step count for ${n} is not a positive integer`);
    const m = tensors.get(`exp_avg/${n}`);
    const v = tensors.get(`exp_avg_sq/${n}`);
    if (!m || !v) throw new FormatError(file, `optimizer state for ${n} is missing exp_avg or exp_avg_sq`);
    if (!(m.data instanceof Float32Array) || !(v.data instanceof Float32Array)) throw new FormatError(file, `optimizer state for ${n} is not F32`);
    if (m.data.length !== v.data.length) throw new FormatError(file, `optimizer state for ${n}: exp_avg and exp_avg_sq sizes differ`);
    steps.set(n, t);
    expAvg.set(n, m.data);
    expAvgSq.set(n, v.data);
  }
  return { steps, expAvg, expAvgSq };
}
