// Loss and accuracy of one or more models on a grid along seeded random directions (see directions.ts),
// evaluated in eval mode (dropout off) with batched inference: one compiled graph whose weights are fed
// at every run, so a grid point costs only the forward passes and the JavaScript that writes the
// perturbed weights into reused buffers.
import { performance } from "node:perf_hooks";
import type { Task } from "../data/tasks.ts";
import { withDefaults } from "../defaults.ts";
import { ConfigError } from "../errors.ts";
import { PretrainedModel } from "../models/pretrained.ts";
import type { EncodedExample } from "../data/batches.ts";
import { argmax, crossEntropyOfLogits, Predictor } from "../infer/predictor.ts";
import { type Direction, modelDirections, NORMALISATION } from "./directions.ts";
import { type Grid, sharpness, type Sharpness, SHARPNESS_DEFINITIONS } from "./sharpness.ts";

export interface GridOptions {
  dims: 1 | 2;
  range: [number, number];
  points: number;
  seed: number;
  /** Radii of the rise@r sharpness numbers. */
  radii: number[];
  batchSize: number;
  threads?: number;
  /** Called after every grid point of every model. */
  onProgress?: (done: number, total: number) => void;
}

export const GRID_DEFAULTS: Omit<GridOptions, "onProgress" | "threads"> = {
  dims: 2,
  range: [-0.25, 0.25],
  points: 51,
  seed: 0,
  radii: [0.1, 0.25],
  batchSize: 128,
};

export interface ModelSurface {
  name: string;
  /** Loss and accuracy of the unperturbed model. */
  center: { loss: number; accuracy: number | null };
  /** losses[j][i] at (xs[i], ys[j]); 1-D: one row. Loss: mean cross-entropy (regression: mean squared error). */
  losses: number[][];
  accuracies: (number | null)[][];
  sharpness: Sharpness;
}

export interface Landscape {
  version: 1;
  dims: 1 | 2;
  range: [number, number];
  points: number;
  xs: number[];
  /** [0] for a 1-D landscape. */
  ys: number[];
  seed: number;
  directions: { seed: number; count: number; normalisation: typeof NORMALISATION; shared: string };
  loss: string;
  examples: number;
  sharpness_definitions: typeof SHARPNESS_DEFINITIONS;
  models: ModelSurface[];
  seconds: number;
  seconds_per_point: number;
}

export function linspace(lo: number, hi: number, n: number): number[] {
  if (n === 1) return [(lo + hi) / 2];
  // Computed from both ends so the middle point of an odd symmetric grid is exactly 0.
  return Array.from({ length: n }, (_, i) => (lo * (n - 1 - i) + hi * i) / (n - 1));
}

/** Mean loss and accuracy of a batch of outputs against the labels. */
export function lossAndAccuracy(
  logits: readonly Float32Array[],
  labels: readonly number[],
  regression: boolean,
): { loss: number; accuracy: number | null } {
  let loss = 0,
    correct = 0;
  for (let k = 0; k < logits.length; k++) {
    const l = logits[k]!,
      y = labels[k]!;
    if (regression) {
      loss += (l[0]! - y) ** 2;
      continue;
    }
    loss += crossEntropyOfLogits(l, y);
    if (argmax(l) === y) correct++;
  }
  return { loss: loss / logits.length, accuracy: regression ? null : correct / logits.length };
}

/** Checks the grid options (named as the library names them), so callers can check before loading models. */
export function validateGridOptions(o: Partial<GridOptions>): void {
  const v: GridOptions = withDefaults<GridOptions>(GRID_DEFAULTS, o);
  if (v.dims !== 1 && v.dims !== 2) throw new ConfigError(`dims must be 1 or 2, got ${v.dims}`, ["dims"]);
  if (!(Number.isInteger(v.points) && v.points >= 2)) throw new ConfigError(`points must be an integer >= 2, got ${v.points}`, ["points"]);
  const [lo, hi] = v.range;
  if (!(v.range.length === 2 && Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new ConfigError(`range must be two numbers lo,hi with lo < hi, got ${v.range.join(",")}`, ["range"]);
  if (!(v.radii.length > 0 && v.radii.every((r) => Number.isFinite(r) && r > 0)))
    throw new ConfigError(`radii must be positive numbers, got ${v.radii.join(",")}`, ["radii"]);
  if (!Number.isInteger(v.seed)) throw new ConfigError(`seed must be an integer, got ${v.seed}`, ["seed"]);
  if (!(Number.isInteger(v.batchSize) && v.batchSize > 0))
    throw new ConfigError(`batchSize must be a positive integer, got ${v.batchSize}`, ["batchSize"]);
  if (v.threads !== undefined && !(Number.isInteger(v.threads) && v.threads > 0))
    throw new ConfigError(`threads must be a positive integer, got ${v.threads}`, ["threads"]);
}

/** Throws unless every model has the first one's parameters (names and shapes) and output size. */
function checkSameArchitecture(models: readonly { name: string; model: PretrainedModel }[]): void {
  const ref = models[0]!;
  const sig = (m: PretrainedModel) => [...m.shapes].map(([n, s]) => `${n}:${s.join("x")}`).join(";");
  const refSig = sig(ref.model);
  for (const m of models.slice(1)) {
    if (sig(m.model) !== refSig || m.model.cfg.numLabels !== ref.model.cfg.numLabels || m.model.cfg.modelType !== ref.model.cfg.modelType) {
      throw new ConfigError(
        `--compare: ${m.name} has other parameters or labels than ${ref.name}; landscapes are compared on the same directions, which needs the same architecture`,
      );
    }
  }
}

/**
 * The loss landscape of each model around its own weights, along the same seeded directions
 * (normalised per model). Every model is evaluated on the same encoded examples.
 */
export async function computeLandscape(
  models: readonly { name: string; model: PretrainedModel }[],
  encoded: readonly EncodedExample[],
  task: Pick<Task, "isRegression">,
  opts: Partial<GridOptions> = {},
): Promise<Landscape> {
  validateGridOptions(opts);
  const o = withDefaults<GridOptions>(GRID_DEFAULTS, opts);
  if (models.length === 0) throw new ConfigError("no model to evaluate");
  if (encoded.length === 0) throw new ConfigError("no examples to evaluate the landscape on");
  checkSameArchitecture(models);
  const labels = encoded.map((e, i) => {
    if (e.label === null) throw new ConfigError(`example ${i + 1} has no label: the landscape needs labelled data`);
    return e.label;
  });
  const xs = linspace(o.range[0], o.range[1], o.points);
  const ys = o.dims === 2 ? xs.slice() : [0];
  const ref = models[0]!.model;
  // One view model whose parameter map points at reused perturbation buffers (rank >= 2) or at the
  // current model's own tensors (rank <= 1, never perturbed): one compiled graph serves every model.
  const viewParams = new Map<string, Float32Array>();
  const work = new Map<string, Float32Array>();
  for (const [name, shape] of ref.shapes) if (shape.length >= 2) work.set(name, new Float32Array(ref.params.get(name)!.length));
  // Word-embedding rows of tokens that no example holds are never read, so moving them cannot change the
  // loss: only the rows read are perturbed (rose-mini on 256 SST-2 rows: ~1,900 of 8,192).
  const rows = new Map<string, { ids: Int32Array; width: number }>();
  const emb = ref.arch.wordEmbeddingName;
  if (work.has(emb)) rows.set(emb, { ids: tokenIds(encoded), width: ref.shapes.get(emb)![1]! });
  const view = new PretrainedModel(ref.cfg, viewParams, ref.shapes, ref.tokenizer);
  const pred = new Predictor(view, { batchSize: o.batchSize, threads: o.threads, frozenWeights: false });
  const evalNow = async () => lossAndAccuracy(await pred.logitsEncoded(encoded as EncodedExample[]), labels, task.isRegression);

  const total = models.length * xs.length * ys.length;
  let done = 0;
  const t0 = performance.now();
  const surfaces: ModelSurface[] = [];
  try {
    for (const { name, model } of models) {
      const dirs = modelDirections(model.params, model.shapes, o.seed, o.dims);
      for (const [n, d] of model.params) viewParams.set(n, work.get(n) ?? d);
      // Rows left out of the perturbation keep this model's weights.
      for (const [n, w] of work) if (rows.has(n)) w.set(model.params.get(n)!);
      const setPoint = (a: number, b: number) => perturb(work, model.params, dirs, a, b, rows);
      setPoint(0, 0);
      const center = await evalNow();
      const losses: number[][] = [],
        accuracies: (number | null)[][] = [];
      for (const y of ys) {
        const lr: number[] = [],
          ar: (number | null)[] = [];
        for (const x of xs) {
          setPoint(x, y);
          const r = await evalNow();
          lr.push(r.loss);
          ar.push(r.accuracy);
          o.onProgress?.(++done, total);
        }
        losses.push(lr);
        accuracies.push(ar);
      }
      const grid: Grid = { xs, ys, values: losses };
      surfaces.push({ name, center, losses, accuracies, sharpness: sharpness(grid, center.loss, o.radii) });
    }
  } finally {
    await pred.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    version: 1,
    dims: o.dims,
    range: o.range,
    points: o.points,
    xs,
    ys,
    seed: o.seed,
    directions: {
      seed: o.seed,
      count: o.dims,
      normalisation: NORMALISATION,
      shared:
        "every model uses the same raw random directions (drawn per parameter name from the seed), each normalised to its own weights",
    },
    loss: task.isRegression ? "mean squared error" : "mean cross-entropy (natural log)",
    examples: encoded.length,
    sharpness_definitions: SHARPNESS_DEFINITIONS,
    models: surfaces,
    seconds,
    seconds_per_point: seconds / total,
  };
}

/** The distinct token ids of the examples, ascending. */
function tokenIds(encoded: readonly EncodedExample[]): Int32Array {
  const seen = new Set<number>();
  for (const e of encoded) for (const id of e.ids) seen.add(id);
  return Int32Array.from(seen).sort();
}

/**
 * work = weights + a * d0 + b * d1 for every perturbed (rank >= 2) tensor; where `rows` lists a tensor's
 * rows (of `width` values), for those rows only.
 */
function perturb(
  work: Map<string, Float32Array>,
  weights: ReadonlyMap<string, Float32Array>,
  dirs: readonly Direction[],
  a: number,
  b: number,
  rows: ReadonlyMap<string, { ids: Int32Array; width: number }>,
): void {
  for (const [name, out] of work) {
    const w = weights.get(name)!,
      u = dirs[0]!.get(name)!,
      v = dirs[1]?.get(name);
    const only = rows.get(name);
    if (!only) moveRange(out, w, u, v, a, b, 0, out.length);
    else for (const r of only.ids) moveRange(out, w, u, v, a, b, r * only.width, (r + 1) * only.width);
  }
}

function moveRange(
  out: Float32Array,
  w: Float32Array,
  u: Float32Array,
  v: Float32Array | undefined,
  a: number,
  b: number,
  from: number,
  to: number,
): void {
  if (v) for (let i = from; i < to; i++) out[i] = w[i]! + a * u[i]! + b * v[i]!;
  else for (let i = from; i < to; i++) out[i] = w[i]! + a * u[i]!;
}
