// Atomic, resumable checkpoints: `checkpoint-<step>/` holds the weights, the optimizer moments and the
// run state; `last_checkpoint.json` flips to it only once it is complete (atomic rename), and older
// checkpoints are removed after that. A run killed at any moment leaves a complete checkpoint behind.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.ts";
import { readSafetensors, writeFileAtomic, writeSafetensors } from "../io/safetensors.ts";
import { packState, type RoseAdamW, unpackState } from "../optim/adamw.ts";

const POINTER = "last_checkpoint.json";

export interface Checkpointable {
  params: Map<string, Float32Array>;
  shapes: Map<string, number[]>;
}

export function saveCheckpoint<S>(outputDir: string, step: number, model: Checkpointable, optimizer: RoseAdamW, state: S): void {
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
  try {
    return (JSON.parse(readFileSync(pointer, "utf8")) as { dir: string }).dir;
  } catch (e) {
    throw new FormatError(pointer, `cannot read the checkpoint pointer (${(e as Error).message})`);
  }
}

/** Restores weights and optimizer state in place; returns the saved run state, or null without a checkpoint. */
export function loadCheckpoint<S>(outputDir: string, model: Checkpointable, optimizer: RoseAdamW): S | null {
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
