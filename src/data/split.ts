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
    if (!g) {
      g = [];
      groups.set(key, g);
    }
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
  examples.forEach((e, i) => {
    (isValidation[i] ? validation : train).push(e);
  });
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
export function balancedSample<T extends { label: number | null }>(examples: readonly T[], opts: { perClass: number; seed: number }): T[] {
  const rng = new Rng(opts.seed, SPLIT_STREAM, 1);
  const groups = new Map<number, number[]>();
  examples.forEach((e, i) => {
    if (e.label === null) return;
    let g = groups.get(e.label);
    if (!g) {
      g = [];
      groups.set(e.label, g);
    }
    g.push(i);
  });
  const keep = new Uint8Array(examples.length);
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle(groups.get(key)!);
    for (let k = 0; k < Math.min(opts.perClass, idx.length); k++) keep[idx[k]!] = 1;
  }
  return examples.filter((_, i) => keep[i]);
}

/**
 * A validation split for phrase data sets such as SST-2, whose training rows are many phrases cut from the
 * same sentences: a plain random carve shares sentences between its halves and rewards memorising them.
 * Validation takes `validationSize` rows of at least `minWords` words (the longest phrases, closest to the
 * whole unseen sentences of an evaluation split), and training drops every row that is a word span of a
 * validation row or contains one, so no validation sentence is seen in training even in part. `text` gives
 * a row's text; words are split on whitespace. Both halves keep the input order.
 */
export function splitPhraseDisjoint<T>(
  rows: readonly T[],
  opts: { validationSize: number; minWords: number; seed: number; text: (row: T) => string },
): { train: T[]; validation: T[]; dropped: number } {
  const words = rows.map((r) =>
    opts
      .text(r)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== ""),
  );
  const candidates = words.flatMap((w, i) => (w.length >= opts.minWords ? [i] : []));
  if (candidates.length < opts.validationSize || !(opts.validationSize > 0)) {
    throw new ConfigError(
      `a phrase-disjoint split needs ${opts.validationSize} rows of at least ${opts.minWords} words; there are ${candidates.length}`,
    );
  }
  const chosen = new Set(new Rng(opts.seed, SPLIT_STREAM).shuffle(candidates).slice(0, opts.validationSize));
  // Every word span of a validation row, to drop the training rows it contains.
  const spans = new Set<string>();
  for (const i of chosen) {
    const w = words[i]!;
    for (let a = 0; a < w.length; a++) for (let b = a + 1; b <= w.length; b++) spans.add(w.slice(a, b).join(" "));
  }
  const validationTexts = [...chosen].map((i) => ` ${words[i]!.join(" ")} `);
  const minValidation = Math.min(...[...chosen].map((i) => words[i]!.length));
  const train: T[] = [];
  const validation: T[] = [];
  let dropped = 0;
  rows.forEach((r, i) => {
    if (chosen.has(i)) {
      validation.push(r);
      return;
    }
    const w = words[i]!;
    const joined = w.join(" ");
    // A row containing a validation row is at least as long as the shortest one.
    const contains = w.length > minValidation && validationTexts.some((v) => ` ${joined} `.includes(v));
    if (spans.has(joined) || contains) dropped++;
    else train.push(r);
  });
  if (train.length === 0) throw new ConfigError(`a phrase-disjoint split of ${rows.length} rows leaves no training rows`);
  return { train, validation, dropped };
}
