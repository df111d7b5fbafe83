// The search space: a JSON object from `rose train` option names (any spelling trainOption reads, Hugging
// Face's `learning_rate` included) to a list of values, a choice, or a (log-)uniform range. Grid expands
// every dimension; random samples from it with a seeded stream.
import { readFileSync } from "node:fs";
import { Rng } from "../engine/rng.ts";
import { ConfigError, FormatError } from "../errors.ts";
import { parseFlagValue } from "../train/flag-spec.ts";
import { flagWords, type TrainFlag, trainOption } from "./train-flags.ts";

export type Value = number | string | boolean;

/** One dimension as written in the space file. */
export type DimensionSpec = Value[] | { choice: Value[] } | { range: [number, number]; log?: boolean; steps?: number; integer?: boolean };

export type SpaceSpec = Record<string, DimensionSpec>;

export interface Dimension {
  /** The train flag, e.g. `--upper`. */
  flag: string;
  /** Finite values (list, choice, range with steps), or null for a continuous range. */
  values: Value[] | null;
  range?: { lo: number; hi: number; log: boolean; integer: boolean };
  words(v: Value): string[];
}

export type Config = Record<string, Value>;

export function readSpace(file: string): SpaceSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new FormatError(file, `cannot read the search space (${(e as Error).message})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new FormatError(file, "the search space must be a JSON object of option names");
  return raw as SpaceSpec;
}

const isValue = (v: unknown): v is Value => typeof v === "number" || typeof v === "string" || typeof v === "boolean";

/** Checks every dimension against the train command; `where` names the space in errors. */
export function parseSpace(spec: SpaceSpec, where: string): Dimension[] {
  const dims: Dimension[] = [];
  // By option: `learning-rate` and `learning_rate`, or a flag and its alias, are one dimension.
  const seen = new Map<string, string>();
  for (const [name, d] of Object.entries(spec)) {
    const { flag, spec: option } = trainOption(name, where);
    const before = seen.get(option.key);
    if (before !== undefined)
      throw new ConfigError(`${where}: ${flag} appears twice (as ${JSON.stringify(before)} and ${JSON.stringify(name)})`);
    seen.set(option.key, name);
    const at = `${where}: ${flag}`;
    const words = (v: Value) => flagWords(flag, option, v);
    if (Array.isArray(d) || (d && typeof d === "object" && "choice" in d)) {
      const values = Array.isArray(d) ? d : d.choice;
      if (!Array.isArray(values) || values.length === 0) throw new ConfigError(`${at}: empty list of values`);
      const bad = values.find((v) => !isValue(v));
      if (bad !== undefined) throw new ConfigError(`${at}: ${JSON.stringify(bad)} is not a number, string or boolean`);
      // Each value must parse as `rose train` would parse it.
      for (const v of values) if (option.type !== "boolean") tryParse(at, option, v);
      dims.push({ flag, values: [...values], words });
    } else if (d && typeof d === "object" && "range" in d) {
      const r = d.range;
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === "number" && Number.isFinite(x))) {
        throw new ConfigError(`${at}: "range" must be [low, high] numbers`);
      }
      const [lo, hi] = r;
      const log = d.log === true,
        integer = d.integer === true;
      if (!(lo < hi)) throw new ConfigError(`${at}: empty range [${lo}, ${hi}] (low must be below high)`);
      if (log && !(lo > 0)) throw new ConfigError(`${at}: a log range needs low > 0, got ${lo}`);
      if (option.type === "boolean") throw new ConfigError(`${at}: a switch takes a list [true, false], not a range`);
      let values: Value[] | null = null;
      if (d.steps !== undefined) {
        if (!(Number.isInteger(d.steps) && d.steps >= 2)) throw new ConfigError(`${at}: "steps" must be an integer >= 2, got ${d.steps}`);
        values = [...new Set(Array.from({ length: d.steps }, (_, i) => rangePoint(lo, hi, log, integer, i / (d.steps! - 1))))];
      }
      dims.push({ flag, values, range: { lo, hi, log, integer }, words });
    } else {
      throw new ConfigError(`${at}: expected a list of values, {"choice": [...]} or {"range": [low, high]}`);
    }
  }
  if (dims.length === 0) throw new ConfigError(`${where}: the search space names no option`);
  return dims;
}

function tryParse(at: string, option: TrainFlag, v: Value): void {
  try {
    parseFlagValue(option, String(v));
  } catch (e) {
    throw new ConfigError(`${at}: ${(e as Error).message}`);
  }
}

/** A point of a range at fraction u in [0, 1], to 6 significant digits so flags stay readable. */
function rangePoint(lo: number, hi: number, log: boolean, integer: boolean, u: number): number {
  const x = log ? Math.exp(Math.log(lo) + u * (Math.log(hi) - Math.log(lo))) : lo + u * (hi - lo);
  return integer ? Math.round(x) : Number(x.toPrecision(6));
}

/** True when every dimension has finite values (a grid can be built). */
export function isGridable(dims: readonly Dimension[]): boolean {
  return dims.every((d) => d.values !== null);
}

/** Every combination, the first dimension varying slowest. */
export function grid(dims: readonly Dimension[], where: string): Config[] {
  const open = dims.find((d) => d.values === null);
  if (open) throw new ConfigError(`${where}: ${open.flag} is a continuous range; give it "steps" for a grid, or use --strategy random`);
  let out: Config[] = [{}];
  for (const d of dims) out = out.flatMap((c) => d.values!.map((v) => ({ ...c, [d.flag]: v })));
  return out;
}

/** n configurations drawn with the seed (lists uniformly, ranges uniformly or log-uniformly). */
export function sample(dims: readonly Dimension[], n: number, seed: number): Config[] {
  const rng = new Rng(seed, 0x5eed);
  return Array.from({ length: n }, () => {
    const c: Config = {};
    for (const d of dims) {
      if (d.values) c[d.flag] = d.values[rng.int(d.values.length)]!;
      else c[d.flag] = rangePoint(d.range!.lo, d.range!.hi, d.range!.log, d.range!.integer, rng.next());
    }
    return c;
  });
}

export function configWords(dims: readonly Dimension[], c: Config): string[] {
  return dims.flatMap((d) => d.words(c[d.flag]!));
}
