// Sharpness numbers of a loss surface around the model (the origin of the grid), comparable between
// models evaluated on the same directions. Definitions (also written into landscape.json):
//  - rise@r: mean of L - L0 over the circle of radius r (2-D: 360 points, bilinear interpolation of the
//    grid; 1-D: the two points -r and +r, linear interpolation), L0 the loss of the unperturbed model;
//  - max_rise: the largest L - L0 at any grid point;
//  - width: the smallest radius r at which the circle's mean loss reaches 2 * L0 (found on radii in steps
//    of a quarter of the grid spacing, linearly interpolated between them); null when the loss does not
//    double inside the largest circle that fits in the grid.

export const SHARPNESS_DEFINITIONS = {
  rise: "rise@r: mean of (loss - loss at the origin) over the circle of radius r around the model (2-D: 360 points, bilinear interpolation of the grid; 1-D: the points -r and +r); null when the circle leaves the grid",
  max_rise: "max_rise: the largest (loss - loss at the origin) at any grid point",
  width:
    "width: the smallest radius at which the circle's mean loss reaches twice the loss at the origin (radii in steps of a quarter of the grid spacing, interpolated); null when it never doubles inside the grid",
} as const;

/** A loss surface on a regular grid: values[j][i] at (xs[i], ys[j]); 1-D surfaces have ys = [0] and one row. */
export interface Grid {
  xs: readonly number[];
  ys: readonly number[];
  values: readonly (readonly number[])[];
}

export interface Sharpness {
  center_loss: number;
  /** rise@r by radius (as a string key, e.g. "0.1"). */
  rise: Record<string, number | null>;
  max_rise: number;
  width: number | null;
}

function locate(axis: readonly number[], v: number): { i: number; t: number } | null {
  const n = axis.length;
  if (n === 1) return Math.abs(v - axis[0]!) < 1e-12 ? { i: 0, t: 0 } : null;
  const lo = axis[0]!,
    hi = axis[n - 1]!;
  const eps = 1e-9 * (hi - lo);
  if (v < lo - eps || v > hi + eps) return null;
  const step = (hi - lo) / (n - 1);
  const f = Math.min(Math.max((v - lo) / step, 0), n - 1);
  const i = Math.min(Math.floor(f), n - 2);
  return { i, t: f - i };
}

/** Bilinear (1-D: linear) interpolation of the grid at (x, y); null outside it. */
export function interpolate(g: Grid, x: number, y: number): number | null {
  const a = locate(g.xs, x),
    b = locate(g.ys, y);
  if (!a || !b) return null;
  const row = (j: number) => {
    const r = g.values[j]!;
    return g.xs.length === 1 ? r[0]! : r[a.i]! * (1 - a.t) + r[a.i + 1]! * a.t;
  };
  return g.ys.length === 1 ? row(0) : row(b.i) * (1 - b.t) + row(b.i + 1) * b.t;
}

/** Mean loss over the circle of radius r (1-D: the points -r and +r); null when it leaves the grid. */
export function circleMean(g: Grid, r: number): number | null {
  const twoD = g.ys.length > 1;
  const angles = twoD ? 360 : 2;
  let sum = 0;
  for (let k = 0; k < angles; k++) {
    const th = (2 * Math.PI * k) / angles;
    const v = twoD ? interpolate(g, r * Math.cos(th), r * Math.sin(th)) : interpolate(g, k === 0 ? r : -r, 0);
    if (v === null) return null;
    sum += v;
  }
  return sum / angles;
}

/** The largest radius whose circle lies inside the grid. */
export function maxRadius(g: Grid): number {
  const lim = (a: readonly number[]) => (a.length > 1 ? Math.min(-a[0]!, a[a.length - 1]!) : Infinity);
  return Math.max(0, Math.min(lim(g.xs), lim(g.ys)));
}

export function sharpness(g: Grid, centerLoss: number, radii: readonly number[] = [0.1, 0.25]): Sharpness {
  const rise: Record<string, number | null> = {};
  for (const r of radii) {
    const m = circleMean(g, r);
    rise[String(r)] = m === null ? null : m - centerLoss;
  }
  let maxRise = -Infinity;
  for (const row of g.values) for (const v of row) maxRise = Math.max(maxRise, v - centerLoss);
  return { center_loss: centerLoss, rise, max_rise: maxRise, width: width(g, centerLoss) };
}

function width(g: Grid, centerLoss: number): number | null {
  const target = 2 * centerLoss;
  const spacing = g.xs.length > 1 ? (g.xs[g.xs.length - 1]! - g.xs[0]!) / (g.xs.length - 1) : 0;
  const R = maxRadius(g);
  if (!(spacing > 0) || !(R > 0)) return null;
  const step = spacing / 4;
  let prevR = 0,
    prev = centerLoss;
  for (let k = 1; ; k++) {
    const r = Math.min(k * step, R);
    const m = circleMean(g, r);
    if (m === null) return null;
    if (m >= target) return prev >= target ? prevR : prevR + ((target - prev) / (m - prev)) * (r - prevR);
    if (r >= R) return null;
    prevR = r;
    prev = m;
  }
}
