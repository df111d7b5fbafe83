// Deterministic, seeded train/validation split of an example list.

import { ConfigError } from "../errors.ts";
import { Rng } from "../engine/rng.ts";

export interface SplitOptions {
  /** Share of examples that go to validation, in (0, 1). */
  validationFraction: number;
  seed: number;
  /** Split each label group separately so both sides keep the class balance. Default false. */
  stratify?: boolean;
}

// Fixed stream id so split randomness is independent of other streams drawn from the same seed.
const SPLIT_STREAM = 0x5b117;

/**
 * Splits `examples` reproducibly: the same input, fraction and seed always give the same split.
 * Both halves keep the input order. Throws ConfigError when a half would be empty.
 */
export function splitExamples<T extends { label: number | null }>(
  examples: readonly T[],
  opts: SplitOptions,
): { train: T[]; validation: T[] } {
  const f = opts.validationFraction;
  if (!(f > 0 && f < 1)) throw new ConfigError(`validation fraction must be between 0 and 1 (exclusive), got ${f}`);
  const rng = new Rng(opts.seed, SPLIT_STREAM);
  const groups = new Map<string, number[]>();
  examples.forEach((e, i) => {
    const key = opts.stratify ? String(e.label) : "all";
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  });
  const isValidation = new Uint8Array(examples.length);
  // Sorted keys: the result must not depend on which label happens to come first.
  for (const key of [...groups.keys()].sort()) {
    const idx = rng.shuffle(groups.get(key)!);
    const n = Math.round(idx.length * f);
    for (let k = 0; k < n; k++) isValidation[idx[k]!] = 1;
  }
  const train: T[] = [];
  const validation: T[] = [];
  examples.forEach((e, i) => (isValidation[i] ? validation : train).push(e));
  if (train.length === 0 || validation.length === 0) {
    throw new ConfigError(
      `splitting ${examples.length} examples with validation fraction ${f} leaves an empty ${train.length === 0 ? "training" : "validation"} set`,
    );
  }
  return { train, validation };
}

/**
 * Up to `perClass` examples of each label, chosen at random (seeded), in input order.
 * Classes with fewer examples are kept whole. Unlabelled examples are dropped.
 */
export function balancedSample<T extends { label: number | null }>(
  examples: readonly T[],
  opts: { perClass: number; seed: number },
): T[] {
  const rng = new Rng(opts.seed, SPLIT_STREAM, 1);
  const groups = new Map<number, number[]>();
  examples.forEach((e, i) => {
    if (e.label === null) return;
    let g = groups.get(e.label);
    if (!g) groups.set(e.label, (g = []));
    g.push(i);
  });
  const keep = new Uint8Array(examples.length);
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle(groups.get(key)!);
    for (let k = 0; k < Math.min(opts.perClass, idx.length); k++) keep[idx[k]!] = 1;
  }
  return examples.filter((_, i) => keep[i]);
}
