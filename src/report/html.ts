// `rose report`: one self-contained HTML page from run directories' records. The line charts are drawn
// by uPlot, whose minified build (and stylesheet) is read from node_modules and inlined with the data,
// so the file opens offline; landscape plots are the SVGs `rose landscape` wrote, inlined.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { schemeTableau10 } from "d3-scale-chromatic";
import { escapeXml as esc } from "../io/xml.ts";
import type { JsonRecord, LandscapeFiles, MaskRecord, RunRecords } from "./read.ts";

const require = createRequire(import.meta.url);

/** Columns of the mask heat map at most (longer runs are binned: colour = mean mask over the bin). */
const MAX_MASK_COLUMNS = 600;

const TRAIN_KEYS: { key: string; title: string }[] = [
  { key: "loss", title: "training loss" },
  { key: "learning_rate", title: "learning rate" },
  { key: "grad_norm", title: "gradient norm (before clipping)" },
  { key: "kl", title: "symmetric KL between the two dropout passes" },
  { key: "fraction_updated", title: "fraction of parameters updated (ROSE)" },
];

interface Series {
  x: number[];
  y: (number | null)[];
}

function series(records: readonly JsonRecord[], xKey: string, key: string): Series | null {
  const rs = records.filter((r) => typeof r[key] === "number" && typeof r[xKey] === "number");
  if (!rs.length) return null;
  return { x: rs.map((r) => r[xKey] as number), y: rs.map((r) => r[key] as number) };
}

function shortTensor(name: string): string {
  return name.replace(/^[a-z_]+\.(encoder|transformer)\.layer\.(\d+)\./, "L$2 ");
}

/** Tensor x step matrix of mask values, binned to at most MAX_MASK_COLUMNS columns. */
export function maskMatrix(
  masks: readonly MaskRecord[],
): { tensors: string[]; names: string[]; steps: number[]; values: number[][]; applied: boolean[] } | null {
  if (!masks.length) return null;
  const names: string[] = [];
  const seen = new Set<string>();
  for (const m of masks)
    for (const n of Object.keys(m.mask))
      if (!seen.has(n)) {
        seen.add(n);
        names.push(n);
      }
  if (!names.length) return null;
  const bin = Math.ceil(masks.length / MAX_MASK_COLUMNS);
  const steps: number[] = [],
    applied: boolean[] = [];
  const values = names.map(() => [] as number[]);
  for (let s = 0; s < masks.length; s += bin) {
    const group = masks.slice(s, s + bin);
    steps.push(group[0]!.step);
    applied.push(group.some((g) => g.applied));
    names.forEach((n, i) => {
      const vs = group.map((g) => g.mask[n]).filter((v): v is number => typeof v === "number");
      values[i]!.push(vs.length ? +(vs.reduce((a, b) => a + b, 0) / vs.length).toFixed(3) : 0);
    });
  }
  return { tensors: names.map(shortTensor), names, steps, values, applied };
}

const fmtCell = (v: unknown): string => {
  if (typeof v === "number")
    return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toFixed(4) : v.toExponential(3);
  if (v === null || v === undefined) return "–";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
};

function table(head: readonly string[], rows: readonly (readonly unknown[])[], cls = ""): string {
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(fmtCell(c))}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

function optionsTable(runs: readonly RunRecords[]): string {
  const withOpts = runs.filter((r) => r.options || r.summary);
  if (!withOpts.length) return "<p>No options recorded (trainer_state.json or pretrain_result.json).</p>";
  const keys = new Set<string>();
  for (const r of withOpts) for (const k of Object.keys({ ...r.summary, ...r.options })) keys.add(k);
  const body = [...keys].map((k) => {
    const vals = withOpts.map((r) => ({ ...r.summary, ...r.options })[k]);
    const differ = new Set(vals.map((v) => JSON.stringify(v))).size > 1;
    return `<tr class="${differ ? "differs" : ""}"><th>${esc(k)}</th>${vals.map((v) => `<td>${esc(fmtCell(v))}</td>`).join("")}</tr>`;
  });
  return `<table class="options"><thead><tr><th>option</th>${withOpts.map((r) => `<th>${esc(r.name)}</th>`).join("")}</tr></thead><tbody>${body.join("")}</tbody></table><p class="note">Highlighted rows differ between runs.</p>`;
}

function robustnessSection(runs: readonly RunRecords[]): string {
  const parts = runs
    .filter((r) => r.robustness)
    .map((r) => {
      const rob = r.robustness!;
      const rows = Array.isArray(rob.rows) ? (rob.rows as JsonRecord[]) : [];
      if (!rows.length) return `<h3>${esc(r.name)}</h3><p>robustness.json has no rows.</p>`;
      const head = Object.keys(rows[0]!);
      return `<h3>${esc(r.name)}${rob.task ? ` (task ${esc(String(rob.task))})` : ""}</h3>${table(
        head,
        rows.map((row) => head.map((h) => row[h])),
      )}`;
    });
  return parts.length ? parts.join("") : "";
}

/** Plots in the landscape's model order (contour before surface), then any others. */
function ordered(svgs: LandscapeFiles["svgs"], models: readonly string[]): LandscapeFiles["svgs"] {
  const rank = (name: string) => {
    const i = models.findIndex((m) => name.startsWith(`${m}.`));
    return i < 0 ? models.length : i;
  };
  return [...svgs].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function landscapeSection(l: LandscapeFiles): string {
  const j = l.json;
  const models = Array.isArray(j.models) ? (j.models as JsonRecord[]) : [];
  const radii = models.length ? Object.keys(((models[0]!.sharpness as JsonRecord | undefined)?.rise as JsonRecord | undefined) ?? {}) : [];
  const head = ["model", "loss at origin", "accuracy at origin", ...radii.map((r) => `rise@${r}`), "max rise", "width"];
  const rows = models.map((m) => {
    const s = (m.sharpness ?? {}) as JsonRecord;
    const c = (m.center ?? {}) as JsonRecord;
    const rise = (s.rise ?? {}) as JsonRecord;
    return [m.name, c.loss, c.accuracy, ...radii.map((r) => rise[r]), s.max_rise, s.width];
  });
  const defs = (j.sharpness_definitions ?? {}) as Record<string, string>;
  const norm = ((j.directions as JsonRecord | undefined)?.normalisation as JsonRecord | undefined)?.description;
  const info = `${fmtCell(j.dims)}-D, ${fmtCell(j.points)} points per direction over [${(j.range as number[] | undefined)?.join(", ") ?? "?"}], seed ${fmtCell(j.seed)}, ${fmtCell(j.examples)} examples, loss: ${esc(String(j.loss ?? "?"))}`;
  return `<div class="landscape"><p class="note">${esc(l.dir)}: ${info}.</p>${table(head, rows)}<ul class="defs">${Object.values(defs)
    .map((d) => `<li>${esc(d)}</li>`)
    .join("")}${norm ? `<li>directions: ${esc(String(norm))}</li>` : ""}</ul><div class="plots">${ordered(
    l.svgs,
    models.map((m) => String(m.name)),
  )
    .map((s) => `<figure class="plot" data-name="${esc(s.name)}">${s.svg.replace(/^<\?xml[^>]*>\s*/, "")}</figure>`)
    .join("")}</div></div>`;
}

/** Distinct display names for the runs (directory base names, numbered when repeated). */
function distinctNames(runs: readonly RunRecords[]): string[] {
  const count = new Map<string, number>();
  return runs.map((r) => {
    const k = (count.get(r.name) ?? 0) + 1;
    count.set(r.name, k);
    return k === 1 ? r.name : `${r.name} (${k})`;
  });
}

export function buildReport(runsIn: readonly RunRecords[], opts: { title?: string; generatedAt?: string } = {}): string {
  const names = distinctNames(runsIn);
  const runs = runsIn.map((r, i) => ({ ...r, name: names[i]! }));
  const colors = runs.map((_, i) => schemeTableau10[i % schemeTableau10.length]!);
  const evalX = runs.every((r) => r.eval.every((e) => typeof e.epoch === "number")) ? "epoch" : "step";
  const evalKeys = [
    ...new Set(
      runs.flatMap((r) => r.eval.flatMap((e) => Object.keys(e).filter((k) => typeof e[k] === "number" && !["step", "epoch"].includes(k)))),
    ),
  ];
  const trainKeys = TRAIN_KEYS.filter((k) => runs.some((r) => series(r.train, "step", k.key)));
  const clientRuns = runs.map((r, i) => ({
    id: i,
    name: r.name,
    color: colors[i],
    train: Object.fromEntries(trainKeys.map((k) => [k.key, series(r.train, "step", k.key)])),
    eval: Object.fromEntries(evalKeys.map((k) => [k, series(r.eval, evalX, k)])),
    masks: maskMatrix(r.masks),
  }));
  const data = { runs: clientRuns, trainKeys, evalKeys, evalX };
  const uplotJs = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const client = readFileSync(new URL("./client.js", import.meta.url), "utf8");
  // JSON inside <script>: "<" escaped so no string in the records can close the element.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  const title = opts.title ?? `rose report: ${runs.map((r) => r.name).join(", ")}`;
  const maskRuns = clientRuns.filter((r) => r.masks);
  const robustness = robustnessSection(runs);
  const landscapes = runs.flatMap((r) => r.landscapes);
  const legend = runs
    .map((r, i) => `<span class="run"><i style="background:${colors[i]}"></i>${esc(r.name)} <code>${esc(r.dir)}</code></span>`)
    .join(" ");
  const section = (id: string, h: string, body: string) => `<section id="${id}"><h2>${esc(h)}</h2>${body}</section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${uplotCss}
body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}h3{font-size:15px}
.runs .run{margin-right:18px;white-space:nowrap}.runs i{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;padding:4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}th{background:#f6f6f6}
table.options th:first-child,table.options td:first-child{text-align:left}tr.differs td,tr.differs th{background:#fff3cd}
.note{color:#666;font-size:13px}.plots{display:flex;flex-wrap:wrap;gap:10px}figure.plot{margin:0}figure.plot svg{max-width:100%;height:auto}
canvas.masks{border:1px solid #eee;max-width:100%}.key{display:inline-block;width:12px;height:12px;border:1px solid #ccc;vertical-align:middle}ul.defs{font-size:13px;color:#444}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="runs">${legend}</p>
<p class="note">Generated ${esc(opts.generatedAt ?? new Date().toISOString())} by <code>rose report</code> from the runs' metrics.jsonl, rose_masks.jsonl, trainer_state.json / pretrain_result.json, robustness.json and landscape.json.</p>
${section("training", "Training", trainKeys.length ? `<div class="charts" id="train-charts"></div>` : "<p>No training records (metrics.jsonl).</p>")}
${section("evaluation", `Evaluation per ${evalX}`, evalKeys.length ? `<div class="charts" id="eval-charts"></div>` : "<p>No evaluation records (train with --validation-file).</p>")}
${maskRuns.length ? section("masks", "ROSE: which tensors were updated at each step", `<p class="note">Rows: tensors eligible for selection; columns: optimizer steps${maskRuns.some((r) => r.masks!.steps.length < runs[r.id]!.masks.length) ? " (binned: colour = mean mask over the bin)" : ""}. Colour = the tensor's mask that step: <span class="key" style="background:rgb(40,40,150)"></span> 1 (updated), <span class="key" style="background:rgb(140,140,195)"></span> 0.5 (ensemble: one of the two orders kept it, weight gamma or 1 - gamma), <span class="key" style="background:rgb(240,240,240)"></span> 0 (frozen this step); faded columns: warm-up, masks computed but not applied.</p>${maskRuns.map((r) => `<h3>${esc(r.name)}</h3><canvas class="masks" id="masks-${r.id}" width="10" height="10"></canvas>`).join("")}`) : ""}
${robustness ? section("robustness", "Robustness", robustness) : ""}
${landscapes.length ? section("landscape", "Loss landscape", landscapes.map(landscapeSection).join("")) : ""}
${section("options", "Options", optionsTable(runs))}
<script>${uplotJs}</script>
<script type="application/json" id="report-data">${json}</script>
<script>${client}</script>
</body></html>
`;
}
