// Random directions in weight space, filter-normalised as in Li et al. 2018 ("Visualizing the Loss
// Landscape of Neural Nets", their code's `--xnorm filter --xignore biasbn`): each row of a weight matrix
// (one output neuron of a Linear weight [out, in], one token of an embedding [vocab, hidden]) is rescaled
// to the norm of the same row of the model's weights, so a step of 1 along the direction changes every
// neuron by about its own size whatever the layer's scale. Tensors of rank <= 1 (biases, LayerNorm
// weights and biases) get a zero direction: they stay at the model's values, the paper's convention.
import { Rng } from "../engine/index.ts";
import { RoseError } from "../errors.ts";

export type Direction = Map<string, Float32Array>;

export const NORMALISATION = {
  kind: "filter",
  description:
    "Li et al. 2018 filter normalisation: each row of every weight matrix of rank >= 2 (a Linear weight " +
    "[out, in] row = one output neuron; an embedding row = one token) rescaled to the norm of that row of " +
    "the model's weights; biases and LayerNorm weights and biases (rank <= 1) get a zero direction (the " +
    "paper's 'ignore biasbn' convention)",
} as const;

/** FNV-1a hash of a parameter name: each tensor's random stream depends on its name, not on model order. */
function nameKey(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A standard normal direction for every parameter of rank >= 2 (zero for the others), from (seed, index):
 * two models with the same parameter names and shapes get the same raw direction.
 */
export function randomDirection(shapes: ReadonlyMap<string, readonly number[]>, seed: number, index: number): Direction {
  const out: Direction = new Map();
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, d) => a * d, 1);
    const d = new Float32Array(n);
    if (shape.length >= 2) {
      const rng = new Rng(seed, 0x1a5d, index, nameKey(name));
      for (let i = 0; i < n; i++) d[i] = rng.normal();
    }
    out.set(name, d);
  }
  return out;
}

/**
 * Filter normalisation in place: each slice along the first dimension (one output neuron of a Linear
 * weight [out, in], one token of an embedding) of d is rescaled to the norm of the same row of the
 * weights; rank <= 1 tensors are zeroed. A weight row of norm 0 (an embedding's padding row) gets zero.
 */
export function filterNormalise(
  d: Direction,
  weights: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
): Direction {
  for (const [name, dir] of d) {
    const shape = shapes.get(name);
    const w = weights.get(name);
    if (!shape || !w || w.length !== dir.length) throw new RoseError(`direction tensor ${name} has no matching weight`);
    if (shape.length <= 1) {
      dir.fill(0);
      continue;
    }
    const rowLen = dir.length / shape[0]!;
    for (let r = 0; r < dir.length; r += rowLen) {
      let wn = 0,
        dn = 0;
      for (let i = r; i < r + rowLen; i++) {
        wn += w[i]! * w[i]!;
        dn += dir[i]! * dir[i]!;
      }
      const s = dn > 0 ? Math.sqrt(wn) / Math.sqrt(dn) : 0;
      for (let i = r; i < r + rowLen; i++) dir[i] = dir[i]! * s;
    }
  }
  return d;
}

/** `count` seeded, filter-normalised directions for one model's weights. */
export function modelDirections(
  weights: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
  seed: number,
  count: number,
): Direction[] {
  return Array.from({ length: count }, (_, i) => filterNormalise(randomDirection(shapes, seed, i), weights, shapes));
}
