// Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, algorithms 7.4 and 7.5),
// with a backtracking Armijo line search by safeguarded quadratic interpolation. Deterministic: the same
// function and start give the same iterates. Stops as scipy's L-BFGS-B does (used by scikit-learn): when the
// largest gradient component is at most `gradientTolerance`, or the relative decrease of one iteration is
// at most `valueTolerance`.
import { ConfigError } from "../errors.ts";

/** Writes the gradient at x into `grad` and returns the value. */
export type ValueAndGradient = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  maxIterations: number;
  /** Correction pairs kept (scipy's maxcor). */
  memory: number;
  gradientTolerance: number;
  valueTolerance: number;
  /** Function evaluations allowed per line search (scipy's maxls). */
  maxLineSearch: number;
}

export const LBFGS_DEFAULTS: LbfgsOptions = {
  maxIterations: 1000,
  memory: 10,
  gradientTolerance: 1e-6,
  valueTolerance: 64 * Number.EPSILON,
  maxLineSearch: 50,
};

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  /** Largest absolute gradient component at x. */
  gradientMax: number;
  iterations: number;
  evaluations: number;
  /** True when a tolerance stopped it; false after maxIterations or a failed line search. */
  converged: boolean;
  reason: "gradient" | "value" | "max-iterations" | "line-search";
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function minimizeLbfgs(fg: ValueAndGradient, x0: Float64Array, options: Partial<LbfgsOptions> = {}): LbfgsResult {
  const o: LbfgsOptions = { ...LBFGS_DEFAULTS, ...options };
  if (!(Number.isInteger(o.maxIterations) && o.maxIterations >= 0))
    throw new ConfigError(`L-BFGS: maxIterations must be a non-negative integer, got ${o.maxIterations}`);
  if (!(Number.isInteger(o.memory) && o.memory >= 1)) throw new ConfigError(`L-BFGS: memory must be a positive integer, got ${o.memory}`);
  if (!(o.gradientTolerance >= 0)) throw new ConfigError(`L-BFGS: gradientTolerance must be >= 0, got ${o.gradientTolerance}`);
  const n = x0.length;
  let x = Float64Array.from(x0),
    g = new Float64Array(n);
  let xNew = new Float64Array(n),
    gNew = new Float64Array(n);
  const d = new Float64Array(n);
  const s: Float64Array[] = [],
    y: Float64Array[] = [],
    rho: number[] = [];
  const alpha = new Float64Array(o.memory);
  let f = fg(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) throw new ConfigError(`L-BFGS: the objective is ${f} at the starting point`);
  const done = (iterations: number, reason: LbfgsResult["reason"]): LbfgsResult => ({
    x,
    value: f,
    gradientMax: maxAbs(g),
    iterations,
    evaluations,
    converged: reason === "gradient" || reason === "value",
    reason,
  });
  for (let it = 0; it < o.maxIterations; it++) {
    if (maxAbs(g) <= o.gradientTolerance) return done(it, "gradient");
    // Two-loop recursion: d = -H g, H the inverse-Hessian estimate from the kept pairs.
    d.set(g);
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(s[k]!, d);
      const yk = y[k]!,
        a = alpha[k]!;
      for (let i = 0; i < n; i++) d[i]! -= a * yk[i]!;
    }
    // Initial scaling: s'y / y'y of the newest pair; before any pair, a first step of unit length.
    const gamma = s.length ? 1 / (rho.at(-1)! * dot(y.at(-1)!, y.at(-1)!)) : 1 / Math.sqrt(dot(g, g));
    for (let i = 0; i < n; i++) d[i]! *= gamma;
    for (let k = 0; k < s.length; k++) {
      const b = rho[k]! * dot(y[k]!, d);
      const sk = s[k]!,
        c = alpha[k]! - b;
      for (let i = 0; i < n; i++) d[i]! += c * sk[i]!;
    }
    for (let i = 0; i < n; i++) d[i] = -d[i]!;
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Rounding broke the curvature pairs: restart from steepest descent.
      s.length = y.length = rho.length = 0;
      const inv = 1 / Math.sqrt(dot(g, g));
      for (let i = 0; i < n; i++) d[i] = -g[i]! * inv;
      slope = dot(g, d);
    }
    let t = 1,
      fNew = NaN,
      accepted = false;
    for (let ls = 0; ls < o.maxLineSearch; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + t * d[i]!;
      fNew = fg(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      // Minimiser of the quadratic through f, the slope and fNew, kept within [0.1 t, 0.5 t].
      const q = Number.isFinite(fNew) ? (-slope * t * t) / (2 * (fNew - f - slope * t)) : 0.1 * t;
      t = Math.min(0.5 * t, Math.max(0.1 * t, q));
    }
    if (!accepted) return done(it, "line-search");
    const sk = s.length === o.memory ? s.shift()! : new Float64Array(n);
    const yk = y.length === o.memory ? y.shift()! : new Float64Array(n);
    if (rho.length === o.memory) rho.shift();
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i]! - x[i]!;
      yk[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(sk, yk);
    // Keep the pair only when it carries positive curvature (always, for a strictly convex objective).
    if (sy > 1e-10 * Math.sqrt(dot(yk, yk) * dot(sk, sk))) {
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    const fOld = f;
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= o.valueTolerance) return done(it + 1, "value");
  }
  return done(o.maxIterations, maxAbs(g) <= o.gradientTolerance ? "gradient" : "max-iterations");
}
