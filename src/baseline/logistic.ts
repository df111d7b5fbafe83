// L2-regularised logistic regression as scikit-learn's LogisticRegression(solver="lbfgs") fits it:
// minimise the mean cross-entropy + ||W||^2 / (2 C n) (sklearn's sum-loss objective divided by n, the same
// optimum), the intercept not penalised. Two classes use one weight vector (the binomial loss, class 0's
// logit fixed at 0), as scikit-learn does; more classes use one vector per class (the multinomial loss).
import { ConfigError } from "../errors.ts";
import { type LbfgsOptions, type LbfgsResult, minimizeLbfgs } from "./lbfgs.ts";
import type { Csr } from "./sparse.ts";

export interface LogisticProblem {
  x: Csr;
  /** Class id per row, in [0, numClasses). */
  y: Int32Array;
  numClasses: number;
  /** Inverse regularisation strength (sklearn's C). */
  c: number;
}

/**
 * A linear scorer over features: `outputs` columns of `weights` (feature-major: weights[j * outputs + k])
 * plus `bias`. One output for two classes (scores [0, z]); otherwise one score per class.
 */
export interface LinearScores {
  outputs: number;
  weights: Float64Array;
  bias: Float64Array;
}

/** Weight columns the loss needs: 1 for two classes, else one per class. */
export function logisticOutputs(numClasses: number): number {
  return numClasses === 2 ? 1 : numClasses;
}

/** Class scores of row r into `out` (length numClasses). */
export function classScores(x: Csr, r: number, m: LinearScores, numClasses: number, out: Float64Array, tmp: Float64Array): void {
  const k = m.outputs;
  tmp.set(m.bias);
  for (let e = x.indptr[r]!; e < x.indptr[r + 1]!; e++) {
    const v = x.data[e]!,
      o = x.indices[e]! * k;
    for (let c = 0; c < k; c++) tmp[c]! += v * m.weights[o + c]!;
  }
  if (k === 1 && numClasses === 2) {
    out[0] = 0;
    out[1] = tmp[0]!;
  } else out.set(tmp.subarray(0, numClasses));
}

/** In place: scores -> probabilities; returns log(sum(exp(scores))). */
export function softmaxInPlace(z: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]!);
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += z[i] = Math.exp(z[i]! - m);
  for (let i = 0; i < z.length; i++) z[i]! /= sum;
  return m + Math.log(sum);
}

/**
 * The objective at theta = [weights (feature-major), bias]: mean cross-entropy + ||weights||^2 / (2 C n).
 * Writes its gradient into `grad` when given.
 */
export function logisticObjective(p: LogisticProblem, theta: Float64Array, grad?: Float64Array): number {
  const { x, y, numClasses } = p;
  const k = logisticOutputs(numClasses);
  const nw = x.cols * k;
  const m: LinearScores = { outputs: k, weights: theta.subarray(0, nw), bias: theta.subarray(nw, nw + k) };
  const z = new Float64Array(numClasses),
    tmp = new Float64Array(k);
  if (grad) grad.fill(0);
  let loss = 0;
  for (let r = 0; r < x.rows && k === 1; r++) {
    // Two classes, written out (most tasks; about twice as fast as the general loop): z = class 1's score.
    let s = theta[nw]!;
    const lo = x.indptr[r]!,
      hi = x.indptr[r + 1]!;
    for (let e = lo; e < hi; e++) s += x.data[e]! * theta[x.indices[e]!]!;
    const yr = y[r]!;
    // log(1 + e^s) - y s, without overflow.
    loss += (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - (yr === 1 ? s : 0);
    if (!grad) continue;
    const res = 1 / (1 + Math.exp(-s)) - yr;
    for (let e = lo; e < hi; e++) grad[x.indices[e]!]! += x.data[e]! * res;
    grad[nw]! += res;
  }
  for (let r = 0; r < x.rows && k > 1; r++) {
    classScores(x, r, m, numClasses, z, tmp);
    const label = y[r]!;
    const target = z[label]!;
    loss += softmaxInPlace(z) - target;
    if (!grad) continue;
    // d loss / d score = probability - one-hot; with one output, only class 1's score is free.
    z[label]! -= 1;
    const res = k === 1 ? z.subarray(1) : z;
    for (let e = x.indptr[r]!; e < x.indptr[r + 1]!; e++) {
      const v = x.data[e]!,
        o = x.indices[e]! * k;
      for (let c = 0; c < k; c++) grad[o + c]! += v * res[c]!;
    }
    for (let c = 0; c < k; c++) grad[nw + c]! += res[c]!;
  }
  const n = x.rows,
    lambda = 1 / (p.c * n);
  let sq = 0;
  for (let i = 0; i < nw; i++) sq += theta[i]! * theta[i]!;
  if (grad) {
    for (let i = 0; i < nw; i++) grad[i] = grad[i]! / n + lambda * theta[i]!;
    for (let i = nw; i < nw + k; i++) grad[i]! /= n;
  }
  return loss / n + 0.5 * lambda * sq;
}

export interface LogisticFit {
  model: LinearScores;
  optimizer: Omit<LbfgsResult, "x">;
}

/** Fits from zero weights with L-BFGS (see minimizeLbfgs for the stopping rules). */
export function fitLogistic(p: LogisticProblem, options: Partial<LbfgsOptions> = {}): LogisticFit {
  if (!(p.c > 0 && Number.isFinite(p.c))) throw new ConfigError(`C must be a positive number, got ${p.c}`);
  if (p.numClasses < 2) throw new ConfigError(`logistic regression needs at least two classes, got ${p.numClasses}`);
  if (p.y.length !== p.x.rows) throw new ConfigError(`${p.x.rows} rows but ${p.y.length} labels`);
  for (const v of p.y) if (!(v >= 0 && v < p.numClasses)) throw new ConfigError(`label ${v} is outside [0, ${p.numClasses})`);
  const k = logisticOutputs(p.numClasses);
  const nw = p.x.cols * k;
  const { x: theta, ...optimizer } = minimizeLbfgs((t, g) => logisticObjective(p, t, g), new Float64Array(nw + k), options);
  return { model: { outputs: k, weights: theta.slice(0, nw), bias: theta.slice(nw) }, optimizer };
}
