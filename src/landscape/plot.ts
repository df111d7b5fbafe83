// Plots of a landscape as standalone SVG (d3-contour for the contour lines, d3-scale for the axes and
// colours, d3-shape for curves) and PNG (the same SVG rendered by resvg). Loss is drawn on a log scale,
// as in the paper's figure; with several models one colour scale serves them all, so the plots compare.
import { contours } from "d3-contour";
import { geoPath, geoTransform } from "d3-geo";
import { scaleLinear, scaleLog, scaleSequential } from "d3-scale";
import { interpolateViridis, schemeTableau10 } from "d3-scale-chromatic";
import { line } from "d3-shape";
import { Resvg } from "@resvg/resvg-js";
import { escapeXml } from "../io/xml.ts";
import type { Landscape, ModelSurface } from "./landscape.ts";

const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

const fmt = (v: number) => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(+v.toPrecision(3)));

function svgOpen(w: number, h: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT}" font-size="12">` +
    `<title>${escapeXml(title)}</title><rect width="${w}" height="${h}" fill="#ffffff"/>` +
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`
  );
}

/** Log-loss extent over every model, so all plots of one landscape share a colour scale. */
export function lossExtent(l: Landscape): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const m of l.models)
    for (const row of m.losses)
      for (const v of row) {
        if (v > 0 && Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
  if (!(lo < hi)) return [lo > 0 && Number.isFinite(lo) ? lo / 2 : 1e-3, Number.isFinite(hi) ? hi * 2 : 1];
  return [lo, hi];
}

function colorBar(x: number, y: number, h: number, extent: [number, number]): string {
  const [lo, hi] = extent;
  const steps = 40;
  let s = "";
  for (let k = 0; k < steps; k++) {
    const t = 1 - (k + 0.5) / steps;
    s += `<rect x="${x}" y="${(y + (k * h) / steps).toFixed(2)}" width="14" height="${(h / steps + 0.5).toFixed(2)}" fill="${interpolateViridis(t)}"/>`;
  }
  const sy = scaleLog()
    .domain([lo, hi])
    .range([y + h, y]);
  for (const t of thin(sy.ticks(5)))
    s += `<line x1="${x + 14}" x2="${x + 18}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#333"/><text x="${x + 21}" y="${(sy(t) + 4).toFixed(1)}">${fmt(t)}</text>`;
  return `${s}<text x="${x}" y="${y - 8}">loss</text>`;
}

/** At most about six tick values (log scales over small ranges otherwise label every minor tick). */
function thin(ticks: number[]): number[] {
  const k = Math.ceil(ticks.length / 6);
  return ticks.filter((_, i) => i % k === 0);
}

function axes(
  x0: number,
  y0: number,
  w: number,
  h: number,
  sx: (v: number) => number,
  sy: (v: number) => number,
  xt: number[],
  yt: number[],
  xlabel: string,
  ylabel: string,
): string {
  let s = `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#333"/>`;
  for (const t of xt)
    s += `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${y0 + h}" y2="${y0 + h + 5}" stroke="#333"/><text x="${sx(t).toFixed(1)}" y="${y0 + h + 18}" text-anchor="middle">${fmt(t)}</text>`;
  for (const t of yt)
    s += `<line x1="${x0 - 5}" x2="${x0}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#333"/><text x="${x0 - 8}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`;
  s += `<text x="${x0 + w / 2}" y="${y0 + h + 36}" text-anchor="middle">${escapeXml(xlabel)}</text>`;
  s += `<text transform="translate(${x0 - 48},${y0 + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(ylabel)}</text>`;
  return s;
}

/** Filled contours of log loss over the two directions, with contour lines, the model at the origin. */
export function contourSvg(l: Landscape, m: ModelSurface, extent = lossExtent(l)): string {
  const W = 560,
    H = 500,
    x0 = 70,
    y0 = 40,
    pw = 400,
    ph = 400;
  const nx = l.xs.length,
    ny = l.ys.length;
  const [lo, hi] = extent.map(Math.log10) as [number, number];
  const values: number[] = [];
  for (const row of m.losses) for (const v of row) values.push(Math.log10(Math.max(v, extent[0])));
  const levels = 24;
  const thresholds = Array.from({ length: levels }, (_, k) => lo + ((hi - lo) * k) / levels);
  const color = scaleSequential(interpolateViridis).domain([lo, hi]);
  const sx = scaleLinear()
    .domain([l.xs[0]!, l.xs[nx - 1]!])
    .range([x0, x0 + pw]);
  const sy = scaleLinear()
    .domain([l.ys[0]!, l.ys[ny - 1]!])
    .range([y0 + ph, y0]);
  // d3-contour puts value i at x = i + 0.5 on a [0, nx] canvas; map that onto the plot.
  const gx = scaleLinear()
    .domain([0.5, nx - 0.5])
    .range([x0, x0 + pw]);
  const gy = scaleLinear()
    .domain([0.5, ny - 0.5])
    .range([y0 + ph, y0]);
  const path = geoPath(
    geoTransform({
      point(x, y) {
        this.stream.point(gx(x), gy(y));
      },
    }),
  );
  const polys = contours().size([nx, ny]).thresholds(thresholds)(values);
  let s = svgOpen(W, H, `${m.name}: log loss, 2-D`);
  // A clip id per model: several of these SVGs are inlined into one report page.
  const clip = `clip-${m.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  s += `<defs><clipPath id="${clip}"><rect x="${x0}" y="${y0}" width="${pw}" height="${ph}"/></clipPath></defs><g clip-path="url(#${clip})">`;
  for (const p of polys) {
    const d = path(p);
    if (d) s += `<path class="level" d="${d}" fill="${color(p.value)}" stroke="#ffffff" stroke-opacity="0.35" stroke-width="0.6"/>`;
  }
  s += `</g><circle cx="${sx(0).toFixed(1)}" cy="${sy(0).toFixed(1)}" r="4" fill="#e15759" stroke="#fff"/>`;
  s += axes(x0, y0, pw, ph, sx, sy, sx.ticks(5), sy.ticks(5), "direction 1", "direction 2");
  s += colorBar(x0 + pw + 20, y0 + 20, ph - 40, extent);
  return `${s}</svg>`;
}

/** A shaded 3-D surface of log loss (painter's algorithm over the grid's quads). */
export function surfaceSvg(l: Landscape, m: ModelSurface, extent = lossExtent(l)): string {
  const W = 560,
    H = 480;
  const nx = l.xs.length,
    ny = l.ys.length;
  const [lo, hi] = extent.map(Math.log10) as [number, number];
  const z = (v: number) => (Math.log10(Math.max(v, extent[0])) - lo) / (hi - lo || 1);
  const color = scaleSequential(interpolateViridis).domain([0, 1]);
  const az = (-50 * Math.PI) / 180,
    el = (30 * Math.PI) / 180;
  // Grid to unit cube: u, v in [-1, 1], height in [0, 1]; then rotate and project orthographically.
  const proj = (i: number, j: number, h: number) => {
    const u = (2 * i) / (nx - 1) - 1,
      v = (2 * j) / (ny - 1) - 1;
    const xr = u * Math.cos(az) - v * Math.sin(az);
    const yr = u * Math.sin(az) + v * Math.cos(az);
    return { x: W / 2 - 40 + 140 * xr, y: H / 2 + 60 - 140 * (yr * Math.sin(el) + 1.1 * h * Math.cos(el)), depth: yr };
  };
  const quads: { d: number; pts: string; c: string }[] = [];
  for (let j = 0; j < ny - 1; j++)
    for (let i = 0; i < nx - 1; i++) {
      const hs = [m.losses[j]![i]!, m.losses[j]![i + 1]!, m.losses[j + 1]![i + 1]!, m.losses[j + 1]![i]!].map(z);
      const ps = [proj(i, j, hs[0]!), proj(i + 1, j, hs[1]!), proj(i + 1, j + 1, hs[2]!), proj(i, j + 1, hs[3]!)];
      const mean = (hs[0]! + hs[1]! + hs[2]! + hs[3]!) / 4;
      quads.push({
        d: ps.reduce((a, p) => a + p.depth, 0) / 4,
        pts: ps.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" "),
        c: color(mean),
      });
    }
  quads.sort((a, b) => b.d - a.d);
  let s = svgOpen(W, H, `${m.name}: log loss surface`);
  const base = [proj(0, 0, 0), proj(nx - 1, 0, 0), proj(nx - 1, ny - 1, 0), proj(0, ny - 1, 0)];
  s += `<polygon points="${base.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ")}" fill="none" stroke="#999" stroke-dasharray="3,3"/>`;
  const stroke = nx > 30 ? 0.15 : 0.4;
  for (const q of quads)
    s += `<polygon class="quad" points="${q.pts}" fill="${q.c}" stroke="#222" stroke-opacity="0.3" stroke-width="${stroke}"/>`;
  const c = proj((nx - 1) / 2, (ny - 1) / 2, z(m.center.loss));
  s += `<circle cx="${c.x.toFixed(1)}" cy="${c.y.toFixed(1)}" r="4" fill="#e15759" stroke="#fff"/>`;
  // Axis names at the middle of the two base edges that meet at the nearest corner.
  const corners = [
    [0, 0],
    [nx - 1, 0],
    [0, ny - 1],
    [nx - 1, ny - 1],
  ] as const;
  const [ci, cj] = corners.reduce((a, c) => (proj(c[0], c[1], 0).depth < proj(a[0], a[1], 0).depth ? c : a));
  const e1 = proj((nx - 1) / 2, cj, 0),
    e2 = proj(ci, (ny - 1) / 2, 0);
  s += `<text x="${e1.x.toFixed(1)}" y="${(e1.y + 22).toFixed(1)}" text-anchor="middle">direction 1 (${fmt(l.xs[0]!)}..${fmt(l.xs[nx - 1]!)})</text>`;
  s += `<text x="${e2.x.toFixed(1)}" y="${(e2.y + 22).toFixed(1)}" text-anchor="middle">direction 2 (${fmt(l.ys[0]!)}..${fmt(l.ys[ny - 1]!)})</text>`;
  s += colorBar(W - 70, 60, 300, extent);
  return `${s}</svg>`;
}

/** 1-D landscape: loss (log scale) and accuracy along the direction, every model overlaid. */
export function curvesSvg(l: Landscape, extent = lossExtent(l)): string {
  const W = 640,
    H = 560,
    x0 = 80,
    pw = 420,
    ph = 200,
    y1 = 40,
    y2 = 310;
  const sx = scaleLinear()
    .domain([l.xs[0]!, l.xs[l.xs.length - 1]!])
    .range([x0, x0 + pw]);
  const sl = scaleLog()
    .domain(extent)
    .range([y1 + ph, y1])
    .nice();
  const sa = scaleLinear()
    .domain([0, 1])
    .range([y2 + ph, y2]);
  let s = svgOpen(W, H, "loss and accuracy along one direction");
  s += axes(x0, y1, pw, ph, sx, sl, sx.ticks(5), thin(sl.ticks(4)), "", "loss (log)");
  s += axes(x0, y2, pw, ph, sx, sa, sx.ticks(5), sa.ticks(5), "step along the direction", "accuracy");
  l.models.forEach((m, k) => {
    const col = schemeTableau10[k % 10]!;
    const pl = line<number>()
      .x((_, i) => sx(l.xs[i]!))
      .y((v) => sl(Math.max(v, extent[0])))(m.losses[0]!);
    s += `<path class="curve" d="${pl}" fill="none" stroke="${col}" stroke-width="2"/>`;
    const acc = m.accuracies[0]!;
    if (acc.every((v) => v !== null)) {
      const pa = line<number | null>()
        .x((_, i) => sx(l.xs[i]!))
        .y((v) => sa(v ?? 0))(acc);
      s += `<path class="curve" d="${pa}" fill="none" stroke="${col}" stroke-width="2"/>`;
    }
    s += `<rect x="${x0 + pw + 20}" y="${y1 + 10 + k * 20}" width="14" height="3" fill="${col}"/><text x="${x0 + pw + 40}" y="${y1 + 15 + k * 20}">${escapeXml(m.name)}</text>`;
  });
  return `${s}</svg>`;
}

export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "zoom", value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}

/** Every plot of a landscape as (file name, SVG): per model contour and surface (2-D), or one curves plot (1-D). */
export function landscapePlots(l: Landscape): { file: string; svg: string }[] {
  const extent = lossExtent(l);
  if (l.dims === 1) return [{ file: "curves", svg: curvesSvg(l, extent) }];
  return l.models.flatMap((m) => [
    { file: `${m.name}.contour`, svg: contourSvg(l, m, extent) },
    { file: `${m.name}.surface`, svg: surfaceSvg(l, m, extent) },
  ]);
}
