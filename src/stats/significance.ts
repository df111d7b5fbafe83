// Significance of a difference between two models evaluated on the same examples: a paired bootstrap
// over examples (seeded, so a report is reproducible), an exact sign test over paired runs (seeds), and
// Holm's step-down adjustment for a family of such tests.
import { Rng } from "../engine/rng.ts";
import { ConfigError } from "../errors.ts";

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function meanStd(xs: readonly number[]): { mean: number; std: number; n: number } {
  if (xs.length === 0) throw new ConfigError("mean of no values");
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std, n: xs.length };
}

export interface BootstrapOptions {
  /** Resamples (default 10,000). */
  samples?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Confidence level of the interval (default 0.95). */
  confidence?: number;
}

export interface BootstrapResult {
  /** mean(a) - mean(b) on the examples as given. */
  delta: number;
  /** Percentile interval of the resampled differences. */
  ci: [number, number];
  /**
   * Two-sided p-value: twice the smaller share of resampled differences on either side of zero (zero counts
   * on both sides), with the +1 correction so it is never 0; at most 1.
   */
  p: number;
  n: number;
  samples: number;
}

// Stream id of the resampling, apart from every other use of the same seed.
const BOOTSTRAP_STREAM = 0xb0075;

/**
 * Paired bootstrap over examples (Efron & Tibshirani; Koehn 2004): `a[i]` and `b[i]` are the two systems'
 * scores on example i (e.g. 1 correct / 0 wrong, or the mean over seeds); examples are resampled with
 * replacement and the mean difference recomputed. It measures how much the difference depends on which
 * examples were drawn, not how much it varies between training runs (see signTest for that).
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], o: BootstrapOptions = {}): BootstrapResult {
  if (a.length !== b.length)
    throw new ConfigError(`paired bootstrap: ${a.length} scores against ${b.length}; the examples must be the same`);
  if (a.length === 0) throw new ConfigError("paired bootstrap: no examples");
  const samples = o.samples ?? 10_000;
  const confidence = o.confidence ?? 0.95;
  if (!(Number.isInteger(samples) && samples > 0)) throw new ConfigError(`bootstrap samples must be a positive integer, got ${samples}`);
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError(`confidence must be between 0 and 1, got ${confidence}`);
  const n = a.length;
  const d = Float64Array.from(a, (x, i) => x - b[i]!);
  const delta = d.reduce((s, x) => s + x, 0) / n;
  const rng = new Rng(o.seed ?? 0, BOOTSTRAP_STREAM);
  const deltas = new Float64Array(samples);
  let below = 0,
    above = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += d[rng.int(n)]!;
    const m = sum / n;
    deltas[s] = m;
    // A tolerance so that exact ties (all zero differences) sit on zero despite rounding.
    if (m <= 1e-12) below++;
    if (m >= -1e-12) above++;
  }
  deltas.sort();
  const tail = (1 - confidence) / 2;
  const at = (q: number) => deltas[Math.min(samples - 1, Math.max(0, Math.floor(q * samples)))]!;
  const p = Math.min(1, (2 * (Math.min(below, above) + 1)) / (samples + 1));
  return { delta, ci: [at(tail), at(1 - tail)], p, n, samples };
}

export interface SignTestResult {
  wins: number;
  losses: number;
  ties: number;
  /** Exact two-sided binomial p-value over the untied pairs (1 when all tie). */
  p: number;
}

/**
 * Exact two-sided sign test over paired runs: a[i] and b[i] are the two systems' scores in run i (the same
 * seed). Ties are dropped; p = min(1, 2 * P(X <= min(wins, losses))) for X ~ Binomial(wins + losses, 1/2).
 * With m untied pairs the smallest p is 2 / 2^m: fewer than 6 runs can never reach p < 0.05.
 */
export function signTest(a: readonly number[], b: readonly number[]): SignTestResult {
  if (a.length !== b.length) throw new ConfigError(`sign test: ${a.length} runs against ${b.length}; the runs must be paired`);
  let wins = 0,
    losses = 0,
    ties = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x > y) wins++;
    else if (x < y) losses++;
    else ties++;
  });
  const m = wins + losses;
  if (m === 0) return { wins, losses, ties, p: 1 };
  const k = Math.min(wins, losses);
  // Binomial coefficients by the multiplicative rule: exact for the few runs a study has; in logs past
  // 1000 runs, where 2^m overflows.
  let tail = 0;
  if (m <= 1000) {
    let c = 1;
    for (let i = 0; i <= k; i++, c = (c * (m - i + 1)) / i) tail += c;
    tail /= 2 ** m;
  } else {
    let logPmf = -m * Math.LN2;
    for (let i = 0; i <= k; i++, logPmf += Math.log((m - i + 1) / i)) tail += Math.exp(logPmf);
  }
  return { wins, losses, ties, p: Math.min(1, 2 * tail) };
}

/** The smallest p-value a sign test over `runs` paired runs can give. */
export function signTestFloor(runs: number): number {
  return runs === 0 ? 1 : Math.min(1, 2 / 2 ** runs);
}

/**
 * Holm's step-down adjustment of a family of p-values (controls the family-wise error rate): the i-th
 * smallest is multiplied by (m - i), made monotone, capped at 1. Returned in the input order.
 */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}
