// Atomic, resumable checkpoints: `checkpoint-<step>/` holds the weights, the optimizer moments and the
// run state; `last_checkpoint.json` flips to it only once it is complete (atomic rename), and older
// checkpoints are removed after that. A run killed at any moment leaves a complete checkpoint behind.
// The optimizer's moments are stored as `exp_avg/<name>` and `exp_avg_sq/<name>` tensors, its per-tensor
// step counts as `optimizer_steps` metadata; a run that averages its weights (--ema-decay) keeps the
// average in `ema.safetensors` under the parameters' own names. The folder's layout is src/node/run-dir.ts's.
import { existsSync } from "node:fs";
import { FormatError } from "../errors.ts";
import type { StTensor } from "../io/safetensors.ts";
import { type Checkpointable, RUN_FILES, RunDir, readModelWeights } from "../node/run-dir.ts";
import { readSafetensors, writeSafetensors } from "../node/safetensors.ts";
import type { AdamW, OptimizerState } from "../optim/adamw.ts";
import type { WeightEma } from "../optim/ema.ts";

export type { Checkpointable } from "../node/run-dir.ts";

export function saveRunCheckpoint<S>(
  outputDir: string,
  step: number,
  model: Checkpointable,
  optimizer: AdamW,
  state: S,
  ema?: WeightEma | null,
): void {
  const run = new RunDir(outputDir);
  const name = run.createCheckpoint(step);
  writeSafetensors(
    run.checkpointPath(name, "weights"),
    [...model.shapes].map(([n, shape]) => [n, { shape, data: model.params.get(n)! }]),
  );
  if (ema)
    writeSafetensors(
      run.checkpointPath(name, "ema"),
      [...model.shapes].map(([n, shape]) => [n, { shape, data: ema.shadow.get(n)! }]),
    );
  const packed = packState(optimizer.state());
  writeSafetensors(run.checkpointPath(name, "optimizer"), packed.tensors, packed.metadata);
  run.writeCheckpointState(name, state);
  run.commitCheckpoint(step);
}

/** How a run state is checked on resume: the shape of a fresh state, and where its step count is. */
export interface StateCheck<S> {
  /**
   * A fresh state: the saved one must have each of its fields with the same JSON type. Numbers are counters
   * and sums (finite, >= 0); a null field may hold a number or null.
   */
  template: S;
  /** The optimizer step the state records, which must equal the checkpoint's. */
  step: (s: S) => number;
}

function jsonType(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function checkState<S>(file: string, raw: unknown, step: number, check: StateCheck<S>): S {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FormatError(file, "the run state is not a JSON object");
  const st = raw as Record<string, unknown>;
  for (const [k, t] of Object.entries(check.template as Record<string, unknown>)) {
    if (!Object.hasOwn(st, k)) throw new FormatError(file, `the run state lacks "${k}"`);
    const v = st[k];
    const ok =
      t === null
        ? v === null || (typeof v === "number" && Number.isFinite(v))
        : typeof t === "number"
          ? typeof v === "number" && Number.isFinite(v) && v >= 0
          : jsonType(v) === jsonType(t);
    if (!ok)
      throw new FormatError(
        file,
        `"${k}" in the run state is ${JSON.stringify(v)}, expected ${t === null ? "a number or null" : typeof t === "number" ? "a finite number >= 0" : `a ${jsonType(t)}`}`,
      );
  }
  const s = raw as S;
  if (check.step(s) !== step) throw new FormatError(file, `the run state is at step ${check.step(s)} but the checkpoint is step ${step}`);
  return s;
}

/**
 * Restores weights and optimizer state in place; returns the saved run state, or null when the directory
 * has no checkpoint. Every file is validated against the model (names, shapes, dtypes, sizes) and `check`,
 * so a truncated or edited checkpoint is refused with the file named, never half-loaded or skipped.
 */
export function loadRunCheckpoint<S>(
  outputDir: string,
  model: Checkpointable,
  optimizer: AdamW,
  check: StateCheck<S>,
  ema?: WeightEma | null,
): S | null {
  const run = new RunDir(outputDir);
  const last = run.lastCheckpoint();
  if (!last) {
    const orphan = run.orphanedCheckpoint();
    if (orphan) {
      throw new FormatError(
        run.path("lastCheckpoint"),
        `missing, but ${run.checkpointPath(orphan)} holds a complete checkpoint: restore ${RUN_FILES.lastCheckpoint} ({"dir": "${orphan}", "step": N}), or remove the checkpoint directories to start from scratch`,
      );
    }
    return null;
  }
  const { dir: name, step } = last;
  if (!existsSync(run.checkpointPath(name)))
    throw new FormatError(run.path("lastCheckpoint"), `names ${name}, which does not exist in ${outputDir}`);
  const params = readModelWeights(run.checkpointPath(name, "weights"), model);
  const emaFile = run.checkpointPath(name, "ema");
  if (ema && !existsSync(emaFile))
    throw new FormatError(emaFile, "missing: the run was started without a weight average (--ema-decay); resume it with the same flags");
  if (!ema && existsSync(emaFile))
    throw new FormatError(emaFile, "the run keeps a weight average (--ema-decay): resume it with the same flags, or it would be lost");
  const averaged = ema ? readModelWeights(emaFile, model) : null;
  const optFile = run.checkpointPath(name, "optimizer");
  const opt = readSafetensors(optFile);
  const state = unpackState(optFile, opt.tensors, opt.metadata);
  for (const [n, m] of state.expAvg) {
    const p = params.get(n);
    if (!p) throw new FormatError(optFile, `optimizer state for ${n}, which the model does not have`);
    if (m.length !== p.length)
      throw new FormatError(optFile, `optimizer state for ${n} has ${m.length} elements, the parameter ${p.length}`);
  }
  const st = checkState(run.checkpointPath(name, "state"), run.readCheckpointState(name), step, check);
  // Only now, with everything validated, is the model touched.
  for (const [n, d] of params) model.params.set(n, d);
  if (averaged) ema!.load(averaged);
  optimizer.loadState(state);
  return st;
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
export function unpackState(file: string, tensors: Map<string, StTensor>, metadata: Record<string, string>): OptimizerState {
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.optimizer_steps ?? "");
  } catch {
    throw new FormatError(file, "optimizer checkpoint has no valid optimizer_steps metadata");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new FormatError(file, "optimizer_steps metadata is not an object");
  const steps = new Map<string, number>();
  const expAvg = new Map<string, Float32Array>();
  const expAvgSq = new Map<string, Float32Array>();
  for (const [n, t] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 1)
      throw new FormatError(file, `optimizer step count for ${n} is not a positive integer`);
    const m = tensors.get(`exp_avg/${n}`);
    const v = tensors.get(`exp_avg_sq/${n}`);
    if (!m || !v) throw new FormatError(file, `optimizer state for ${n} is missing exp_avg or exp_avg_sq`);
    if (!(m.data instanceof Float32Array) || !(v.data instanceof Float32Array))
      throw new FormatError(file, `optimizer state for ${n} is not F32`);
    if (m.data.length !== v.data.length) throw new FormatError(file, `optimizer state for ${n}: exp_avg and exp_avg_sq sizes differ`);
    steps.set(n, t);
    expAvg.set(n, m.data);
    expAvgSq.set(n, v.data);
  }
  return { steps, expAvg, expAvgSq };
}
