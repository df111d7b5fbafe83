// The arithmetic under ROSE's band rule (rose.ts): quantiles, bands and L2 norms exactly as torch computes
// them in float32, so masks agree with the reference implementation even where saliencies sit close to a
// quantile boundary; and an O(n) element-wise band by radix selection.
import { ConfigError } from "../errors.ts";

const f32 = Math.fround;

/** torch.lerp in float32, including its switch to the `end`-anchored form for weights >= 0.5. */
function lerp32(a: number, b: number, w: number): number {
  if (w === 0 || a === b) return a; // also keeps an infinite endpoint from turning into NaN
  if (w === 1) return b;
  const d = f32(b - a);
  return Math.abs(w) < 0.5 ? f32(a + f32(w * d)) : f32(b - f32(d * f32(1 - w)));
}

function checkQ(q: number): void {
  if (!(q >= 0 && q <= 1)) throw new ConfigError(`quantile must be in [0, 1], got ${q}`);
}

/** Quantile of n ascending-sorted values; q already float32. */
function quantileSorted(sorted: Float32Array, n: number, q32: number): number {
  const rank = f32(q32 * (n - 1));
  const below = Math.trunc(rank);
  const above = Math.ceil(rank);
  return lerp32(sorted[below]!, sorted[above]!, f32(rank - below));
}

/**
 * torch.quantile(values, q) with linear interpolation, in float32 like a float32 tensor: rank = q*(n-1), then
 * lerp between the neighbouring sorted values. Any NaN in the input gives NaN, as in torch.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  checkQ(q);
  const n = values.length;
  if (n === 0) throw new ConfigError("quantile of an empty set");
  const s = Float32Array.from(values);
  for (let i = 0; i < n; i++) if (Number.isNaN(s[i])) return NaN;
  s.sort();
  return quantileSorted(s, n, f32(q));
}

/** Lower/upper bounds of the band [quantile(lower%), quantile(upper%)]. NaN saliencies count as +Infinity. */
export function bandBounds(saliency: ArrayLike<number>, lowerPct: number, upperPct: number): [number, number] {
  checkPercents(lowerPct, upperPct);
  const n = saliency.length;
  if (n === 0) return [Infinity, -Infinity];
  const s = Float32Array.from(saliency, nanToInf);
  s.sort();
  return [quantileSorted(s, n, f32(lowerPct / 100)), quantileSorted(s, n, f32(upperPct / 100))];
}

function nanToInf(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}

export function checkPercents(lowerPct: number, upperPct: number): void {
  if (!(lowerPct >= 0 && lowerPct <= 100)) throw new ConfigError(`lower percentile must be in [0, 100], got ${lowerPct}`);
  if (!(upperPct >= 0 && upperPct <= 100)) throw new ConfigError(`upper percentile must be in [0, 100], got ${upperPct}`);
  if (lowerPct > upperPct) throw new ConfigError(`lower percentile ${lowerPct} is above upper percentile ${upperPct}`);
}

/**
 * 1 where quantile(lower%) <= saliency <= quantile(upper%) (both ends inclusive), else 0. Saliencies are
 * compared as float32. NaN saliencies are treated as +Infinity (kept only when upper is 100) rather than
 * poisoning the quantiles as they would in torch.
 */
export function bandMask(saliency: ArrayLike<number>, lowerPct: number, upperPct: number): Float32Array {
  const [lo, hi] = bandBounds(saliency, lowerPct, upperPct);
  const out = new Float32Array(saliency.length);
  for (let i = 0; i < saliency.length; i++) {
    const v = f32(nanToInf(saliency[i]!));
    out[i] = v >= lo && v <= hi ? 1 : 0;
  }
  return out;
}

/**
 * L2 norm exactly as torch's CPU float32 kernel computes it (AVX2 build): eight float32 lanes accumulated with
 * fused multiply-add, lanes summed left to right, the tail added one by one, then sqrt in float32. This
 * reproduces the reference's second-order saliencies bit for bit; a float64 norm differs by an ulp, which
 * the `x - 1` in the saliency amplifies near 1.
 */
export function torchNorm32(a: Float32Array): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0;
  const n8 = a.length - (a.length % 8);
  let d = 0;
  // x*x of a float32 is exact in float64, so fround(acc + x*x) is the FMA result (barring double rounding).
  for (; d < n8; d += 8) {
    const x0 = a[d]!,
      x1 = a[d + 1]!,
      x2 = a[d + 2]!,
      x3 = a[d + 3]!;
    const x4 = a[d + 4]!,
      x5 = a[d + 5]!,
      x6 = a[d + 6]!,
      x7 = a[d + 7]!;
    s0 = f32(s0 + x0 * x0);
    s1 = f32(s1 + x1 * x1);
    s2 = f32(s2 + x2 * x2);
    s3 = f32(s3 + x3 * x3);
    s4 = f32(s4 + x4 * x4);
    s5 = f32(s5 + x5 * x5);
    s6 = f32(s6 + x6 * x6);
    s7 = f32(s7 + x7 * x7);
  }
  let b = f32(f32(f32(f32(f32(f32(f32(s0 + s1) + s2) + s3) + s4) + s5) + s6) + s7);
  for (; d < a.length; d++) b = f32(b + a[d]! * a[d]!);
  return f32(Math.sqrt(b));
}

// ---- element granularity -------------------------------------------------------------------------------

// Order statistics by two-pass radix selection on the float bits: O(n) with no data movement, and no worst
// case (a quickselect over BERT-base's 2.4M-element FFN weights took ~20x longer).

const HIST_BINS = 65536;
let hist1 = new Uint32Array(0);
let hist2 = new Uint32Array(0);
const bitsF = new Float32Array(1);
const bitsI = new Int32Array(bitsF.buffer);

/** Maps float32 bits (as int32) to an int32 whose signed order is the float order; NaN maps to +Infinity.
 *  Staying in int32 keeps V8 on small integers (uint32 keys above 2^31 become doubles, several times slower). */
function sortKey(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return 0x7f800000;
  return bits >= 0 ? bits : bits ^ 0x7fffffff;
}

function keyToFloat(key: number): number {
  bitsI[0] = key >= 0 ? key : key ^ 0x7fffffff;
  return bitsF[0]!;
}

/** Values of rank ranks[j] (0-based, each < n, any order) among bits[0..n) read as float32. */
function selectRanks(bits: Int32Array, n: number, wanted: readonly number[]): number[] {
  const ranks = [...new Set(wanted)].sort((a, b) => a - b);
  const values = selectSortedRanks(bits, n, ranks);
  return wanted.map((r) => values[ranks.indexOf(r)]!);
}

/** selectRanks for distinct ascending ranks (at most four). */
function selectSortedRanks(bits: Int32Array, n: number, ranks: readonly number[]): number[] {
  if (hist1.length === 0) {
    hist1 = new Uint32Array(HIST_BINS);
    hist2 = new Uint32Array(HIST_BINS * 4);
  }
  hist1.fill(0);
  for (let i = 0; i < n; i++) hist1[(sortKey(bits[i]!) >> 16) + 32768]!++;
  // High 16 bits of each rank's key, and the rank within that bucket.
  const buckets: number[] = [];
  const within: number[] = [];
  let bin = 0;
  let before = 0;
  for (const r of ranks) {
    while (before + hist1[bin]! <= r) before += hist1[bin++]!;
    buckets.push(bin);
    within.push(r - before);
  }
  const distinct = [...new Set(buckets)];
  hist2.fill(0);
  const d0 = distinct[0]!,
    d1 = distinct[1] ?? -1,
    d2 = distinct[2] ?? -1,
    d3 = distinct[3] ?? -1;
  for (let i = 0; i < n; i++) {
    const k = sortKey(bits[i]!);
    const hi = (k >> 16) + 32768;
    const slot = hi === d0 ? 0 : hi === d1 ? 1 : hi === d2 ? 2 : hi === d3 ? 3 : -1;
    if (slot >= 0) hist2[slot * HIST_BINS + (k & 0xffff)]!++;
  }
  return ranks.map((_, j) => {
    const base = distinct.indexOf(buckets[j]!) * HIST_BINS;
    let low = 0;
    let acc = 0;
    while (acc + hist2[base + low]! <= within[j]!) acc += hist2[base + low++]!;
    return keyToFloat(((buckets[j]! - 32768) << 16) | low);
  });
}

/**
 * Element-wise band rule: out[i] = 1 when saliency[i] lies in [quantile(lower%), quantile(upper%)] of
 * saliency[0..n) (torch.quantile semantics, float32), else 0. O(n) by radix selection; NaN saliencies count
 * as +Infinity. Returns the number of ones.
 */
export function elementBandMask(saliency: Float32Array, n: number, lowerPct: number, upperPct: number, out: Uint8Array): number {
  checkPercents(lowerPct, upperPct);
  if (n === 0) return 0;
  const bits = new Int32Array(saliency.buffer, saliency.byteOffset, n);
  const rLo = f32(f32(lowerPct / 100) * (n - 1));
  const rHi = f32(f32(upperPct / 100) * (n - 1));
  const ranks = [Math.trunc(rLo), Math.ceil(rLo), Math.trunc(rHi), Math.ceil(rHi)];
  const [lb, la, hb, ha] = selectRanks(bits, n, ranks);
  const lo = lerp32(lb!, la!, f32(rLo - ranks[0]!));
  const hi = lerp32(hb!, ha!, f32(rHi - ranks[2]!));
  let kept = 0;
  for (let i = 0; i < n; i++) {
    let v = saliency[i]!;
    if (Number.isNaN(v)) v = Infinity;
    const keep = v >= lo && v <= hi ? 1 : 0;
    out[i] = keep;
    kept += keep;
  }
  return kept;
}
