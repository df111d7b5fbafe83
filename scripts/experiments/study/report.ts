// The study's report (docs/RESULTS.md sections) computed from the collected raw outputs: tables of means
// and standard deviations over seeds, paired comparisons (bootstrap over examples, sign test over seeds,
// Holm over the task's comparisons), and the issue's "done when" questions answered in sentences that
// state what the numbers say. No conclusion is written by hand: change the numbers and the text follows.
import { existsSync, readFileSync } from "node:fs";
import { holm, meanStd, pairedBootstrap, signTest, signTestFloor, type SignTestResult } from "../../../src/stats/significance.ts";
import type { DimensionSpec } from "../../../src/sweep/space.ts";
import { flagName, ROSE_VARIANTS, type StudyMethod } from "./config.ts";
import type { LandscapeResult, RunResult, SharpnessRow, StudyResults, TaskResults } from "./collect.ts";
import { writeWhole } from "./runner.ts";

export interface ReportOptions {
  /** Significance level (default 0.05). */
  alpha?: number;
  bootstrapSamples?: number;
  bootstrapSeed?: number;
  /** Where the raw outputs are, as the report names them (default: beside the report). */
  source?: string;
}

/** "clean" (the whole dev set) or an attack recipe (accuracy under it on the attacked examples). */
export type Metric = string;

export interface Comparison {
  a: StudyMethod;
  b: StudyMethod;
  metric: Metric;
  /** a - b in accuracy points (mean over the paired seeds). */
  delta: number;
  /** 95% bootstrap interval of the difference, points. */
  ci: [number, number];
  /** Paired bootstrap over examples (per-example scores averaged over the seeds). */
  p: number;
  /** Holm-adjusted over all comparisons of the task. */
  pHolm: number;
  /** Per-seed accuracies, a against b. */
  sign: SignTestResult;
  seeds: number[];
  examples: number;
}

export interface TaskAnalysis {
  comparisons: Comparison[];
  /** Markdown paragraphs answering the issue's questions. */
  answers: { underAttack: string; ensemble: string; flatness: string; rdrop: string; baseline: string };
}

const metricName = (m: Metric) => (m === "clean" ? "clean" : `under ${m}`);
const f2 = (x: number) => x.toFixed(2);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
export const fmtP = (p: number) => (p < 0.001 ? "p<0.001" : `p=${p.toFixed(3)}`);

/** Per seed, the per-example scores (1 right, 0 wrong) of a method on a metric, and its accuracy in points. */
export function scores(runs: readonly RunResult[], method: StudyMethod, metric: Metric): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of runs) {
    if (r.method !== method) continue;
    const v = metric === "clean" ? r.correct : r.attacks[metric]?.underAttack;
    if (v && v.length > 0) out.set(r.seed, v);
  }
  return out;
}

const accuracy = (v: readonly number[]) => (100 * v.reduce((a, b) => a + b, 0)) / v.length;

/** a against b on one metric, over the seeds both have; null when they share none (or the examples differ). */
export function compare(
  runs: readonly RunResult[],
  a: StudyMethod,
  b: StudyMethod,
  metric: Metric,
  o: ReportOptions = {},
): Omit<Comparison, "pHolm"> | null {
  const sa = scores(runs, a, metric),
    sb = scores(runs, b, metric);
  const seeds = [...sa.keys()].filter((s) => sb.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0) return null;
  const n = sa.get(seeds[0]!)!.length;
  if (seeds.some((s) => sa.get(s)!.length !== n || sb.get(s)!.length !== n)) return null;
  const avg = (m: Map<number, number[]>) =>
    Array.from({ length: n }, (_, i) => seeds.reduce((acc, s) => acc + m.get(s)![i]!, 0) / seeds.length);
  const boot = pairedBootstrap(avg(sa), avg(sb), { samples: o.bootstrapSamples ?? 10_000, seed: o.bootstrapSeed ?? 0 });
  const sign = signTest(
    seeds.map((s) => accuracy(sa.get(s)!)),
    seeds.map((s) => accuracy(sb.get(s)!)),
  );
  return { a, b, metric, delta: 100 * boot.delta, ci: [100 * boot.ci[0], 100 * boot.ci[1]], p: boot.p, sign, seeds, examples: n };
}

/** The comparisons the issue asks for: every method against vanilla, the ensemble against each variant, ROSE + R-Drop against R-Drop. */
export function comparisonPairs(methods: readonly StudyMethod[]): [StudyMethod, StudyMethod][] {
  const has = (m: StudyMethod) => methods.includes(m);
  const pairs: [StudyMethod, StudyMethod][] = [];
  if (has("vanilla")) for (const m of methods) if (m !== "vanilla") pairs.push([m, "vanilla"]);
  for (const v of ["rose-first", "rose-second"] as const) if (has("rose-ensemble") && has(v)) pairs.push(["rose-ensemble", v]);
  if (has("rdrop-rose-ensemble") && has("rdrop")) pairs.push(["rdrop-rose-ensemble", "rdrop"]);
  return pairs;
}

function describe(c: Comparison, alpha: number): string {
  const sig = c.p < alpha ? (c.pHolm < alpha ? "significant, also after Holm" : "significant, not after Holm") : "not significant";
  return `${c.a} vs ${c.b} ${metricName(c.metric)}: ${signed(c.delta)} points (95% CI ${signed(c.ci[0])} to ${signed(c.ci[1])}), ${fmtP(c.p)} (paired bootstrap over ${c.examples} examples, ${c.seeds.length} seed${c.seeds.length === 1 ? "" : "s"}; Holm ${fmtP(c.pHolm)}; sign test ${c.sign.wins}-${c.sign.losses}-${c.sign.ties}, ${fmtP(c.sign.p)}): ${sig}`;
}

/** The methods of the task's runs; with `measured`, only those with an evaluation or an attack so far. */
function methodsOf(t: TaskResults, measured = false): StudyMethod[] {
  return [...new Set(t.runs.filter((r) => !measured || r.metrics || Object.keys(r.attacks).length).map((r) => r.method))];
}

function recipesOf(t: TaskResults): string[] {
  return [...new Set(t.runs.flatMap((r) => Object.keys(r.attacks)))];
}

/** Lower rise and max rise, and a larger width (null: the loss never doubled inside the grid), are flatter. */
export function flatnessVerdicts(
  l: LandscapeResult,
  vanilla: string,
  other: string,
): { number: string; a: number | null; b: number | null; flatter: boolean | null }[] {
  const va = l.rows.find((r) => r.model === vanilla),
    ot = l.rows.find((r) => r.model === other);
  if (!va || !ot) return [];
  const keys = Object.keys(va).filter((k) => k.startsWith("rise@")) as `rise@${string}`[];
  const out: { number: string; a: number | null; b: number | null; flatter: boolean | null }[] = [];
  const lower = (x: number | null, y: number | null) => (x === null || y === null ? null : x === y ? null : x < y);
  for (const k of keys) out.push({ number: k, a: ot[k] ?? null, b: va[k] ?? null, flatter: lower(ot[k] ?? null, va[k] ?? null) });
  out.push({ number: "max_rise", a: ot.max_rise, b: va.max_rise, flatter: lower(ot.max_rise, va.max_rise) });
  const w = (x: number | null) => x ?? Number.POSITIVE_INFINITY;
  out.push({ number: "width", a: ot.width, b: va.width, flatter: w(ot.width) === w(va.width) ? null : w(ot.width) > w(va.width) });
  return out;
}

/** Which of the significant findings survive Holm's correction: with many comparisons, p < 0.05 alone is expected by chance. */
function afterHolm(found: readonly { name: string; holm: boolean }[], comparisons: number): string {
  const kept = found.filter((f) => f.holm).map((f) => f.name);
  const over = `Holm's correction over the task's ${comparisons} comparisons`;
  if (kept.length === found.length) return `${found.length === 1 ? "it stands" : "all stand"} after ${over}`;
  return kept.length === 0
    ? `none stands after ${over}`
    : `after ${over} only ${kept.join(", ")} ${kept.length === 1 ? "stands" : "stand"}`;
}

export function analyseTask(t: TaskResults, o: ReportOptions = {}): TaskAnalysis {
  const alpha = o.alpha ?? 0.05;
  const methods = methodsOf(t, true),
    recipes = recipesOf(t);
  const raw = comparisonPairs(methods)
    .flatMap(([a, b]) => ["clean", ...recipes].map((m) => compare(t.runs, a, b, m, o)))
    .filter((c) => c !== null);
  const adjusted = holm(raw.map((c) => c.p));
  const comparisons: Comparison[] = raw.map((c, i) => ({ ...c, pHolm: adjusted[i]! }));
  const find = (a: StudyMethod, b: StudyMethod, m: Metric) => comparisons.find((c) => c.a === a && c.b === b && c.metric === m);
  const sig = (c: Comparison | undefined) => c !== undefined && c.p < alpha;
  const seedsNote = (() => {
    const k = Math.max(0, ...comparisons.map((c) => c.seeds.length));
    return k > 0 && signTestFloor(k) >= alpha
      ? ` With ${k} paired seeds the sign test cannot go below p=${signTestFloor(k).toFixed(3)}, so only the bootstrap can reach ${alpha}; and the bootstrap resamples examples, not training runs: it says these ${k} models per method differ on these examples, not that another seed would reproduce the difference.`
      : "";
  })();

  // 1. A ROSE variant above vanilla under attack, at a clean accuracy within 1 point.
  let underAttack: string;
  const variants = ROSE_VARIANTS.filter((v) => methods.includes(v));
  if (!methods.includes("vanilla") || variants.length === 0 || recipes.length === 0)
    underAttack = "Not measured (vanilla, a ROSE variant or an attack is missing).";
  else {
    const lines: string[] = [];
    const winners: { name: string; holm: boolean }[] = [];
    for (const v of variants) {
      const clean = find(v, "vanilla", "clean");
      for (const r of recipes) {
        const c = find(v, "vanilla", r);
        if (!c) continue;
        const cleanOk = clean !== undefined && clean.delta >= -1;
        const verdict =
          c.delta <= 0
            ? "not above vanilla"
            : !sig(c)
              ? "above vanilla but not significantly"
              : !clean
                ? "clean accuracy not measured"
                : !cleanOk
                  ? `significantly above vanilla, but its clean accuracy is ${signed(clean.delta)} points, more than 1 point lower`
                  : "counts";
        if (verdict === "counts") winners.push({ name: `${v} under ${r}`, holm: c.pHolm < alpha });
        lines.push(`- ${describe(c, alpha)}; clean ${clean ? `${signed(clean.delta)} points` : "not measured"} → ${verdict}.`);
      }
    }
    underAttack =
      `${winners.length ? `**Yes**: ${winners.map((w) => w.name).join(", ")}; ${afterHolm(winners, comparisons.length)}.` : "**No**: no ROSE variant's accuracy under any attack is significantly above vanilla's at a clean accuracy within 1 point."} ` +
      `(A variant counts under an attack when its accuracy under it is above vanilla's with p < ${alpha} in the paired bootstrap and its clean dev accuracy is at most 1 point below vanilla's.)${seedsNote}\n\n${lines.join("\n")}`;
  }

  // 2. The ensemble against each single variant.
  let ensemble: string;
  const singles = (["rose-first", "rose-second"] as const).filter((v) => methods.includes(v));
  if (!methods.includes("rose-ensemble") || singles.length === 0) ensemble = "Not measured (the ensemble or both single variants missing).";
  else {
    const metrics = ["clean", ...recipes];
    const both = metrics.filter((m) =>
      singles.every((v) => {
        const c = find("rose-ensemble", v, m);
        return sig(c) && c!.delta > 0;
      }),
    );
    const worse = metrics.filter((m) =>
      singles.some((v) => {
        const c = find("rose-ensemble", v, m);
        return sig(c) && c!.delta < 0;
      }),
    );
    const lines = singles.flatMap((v) =>
      metrics
        .map((m) => find("rose-ensemble", v, m))
        .filter((c) => c !== undefined)
        .map((c) => `- ${describe(c, alpha)}.`),
    );
    if (lines.length === 0) ensemble = "Not measured (no seed of the ensemble and a variant on the same examples).";
    else
      ensemble =
        `${
          both.length
            ? `**Yes** ${both.map(metricName).join(", ")}: significantly above ${singles.join(" and ")}; ${afterHolm(
                both.map((m) => ({ name: metricName(m), holm: singles.every((v) => find("rose-ensemble", v, m)!.pHolm < alpha) })),
                comparisons.length,
              )}.`
            : `**No**: on no metric is the ensemble significantly above ${singles.join(" and ")}.`
        }` +
        `${worse.length ? ` It is significantly below at least one of them ${worse.map(metricName).join(", ")}.` : ""}\n\n${lines.join("\n")}`;
  }

  // 3. Flatness, by the sharpness numbers of one seed.
  let flatness: string;
  const l = t.landscape;
  if (!l) flatness = "Not measured (no landscape).";
  else {
    const vanillaRow = l.rows.find((r) => r.model.startsWith("vanilla-"));
    const lines: string[] = [];
    const flatterAll: string[] = [],
      sharperAll: string[] = [];
    for (const row of l.rows) {
      if (!vanillaRow || row === vanillaRow) continue;
      const v = flatnessVerdicts(l, vanillaRow.model, row.model);
      const flatter = v.filter((x) => x.flatter === true).length,
        sharper = v.filter((x) => x.flatter === false).length;
      if (flatter === v.length) flatterAll.push(row.model);
      if (sharper === v.length) sharperAll.push(row.model);
      const fmt = (x: number | null) => (x === null ? "none in the grid" : x.toPrecision(3));
      lines.push(
        `- ${row.model} against ${vanillaRow.model}: flatter by ${flatter} of ${v.length} numbers, sharper by ${sharper} (${v.map((x) => `${x.number} ${fmt(x.a)} vs ${fmt(x.b)}`).join("; ")}).`,
      );
    }
    flatness =
      `${flatterAll.length ? `**Yes** for ${flatterAll.join(", ")} (flatter by every sharpness number).` : "**Not by every number**: no ROSE variant is flatter than vanilla by all of its sharpness numbers."}` +
      `${sharperAll.length ? ` Sharper by every number: ${sharperAll.join(", ")}.` : ""} One seed, ${l.dims}-D grid of ${l.points} points per direction over ${l.examples} examples of ${l.data.endsWith("dev.tsv") ? "the dev set" : "the training rows"}; no test of significance.\n\n${lines.join("\n")}`;
  }

  // 4. ROSE on top of R-Drop.
  let rdrop: string;
  if (!methods.includes("rdrop") || !methods.includes("rdrop-rose-ensemble"))
    rdrop = "Not measured (rdrop or rdrop-rose-ensemble missing).";
  else {
    const metrics = ["clean", ...recipes];
    const cs = metrics.map((m) => find("rdrop-rose-ensemble", "rdrop", m)).filter((c) => c !== undefined);
    const up = cs.filter((c) => sig(c) && c.delta > 0);
    const down = cs.filter((c) => sig(c) && c.delta < 0).map((c) => metricName(c.metric));
    if (cs.length === 0) rdrop = "Not measured (no seed of both on the same examples).";
    else
      rdrop =
        `${
          up.length
            ? `**Yes** ${up.map((c) => metricName(c.metric)).join(", ")}: R-Drop with ROSE-ensemble is significantly above R-Drop alone; ${afterHolm(
                up.map((c) => ({ name: metricName(c.metric), holm: c.pHolm < alpha })),
                comparisons.length,
              )}.`
            : "**No**: R-Drop with ROSE-ensemble is significantly above R-Drop alone on no metric."
        }` +
        `${down.length ? ` It is significantly below ${down.join(", ")}.` : ""}\n\n${cs.map((c) => `- ${describe(c, alpha)}.`).join("\n")}`;
  }

  // The model must be worth asking about: vanilla at least as good as the bag of words.
  let baseline: string;
  const vanillaClean = t.runs
    .filter((r) => r.method === "vanilla" && r.metrics?.accuracy !== undefined)
    .map((r) => 100 * r.metrics!.accuracy!);
  const bow = t.baseline?.eval?.accuracy;
  if (vanillaClean.length === 0 || bow === undefined) baseline = "Not measured (vanilla's clean accuracy or the baseline missing).";
  else {
    const v = meanStd(vanillaClean);
    baseline =
      v.mean < 100 * bow
        ? `**Below**: vanilla's clean dev accuracy (${f2(v.mean)} ± ${f2(v.std)}%) is below the bag-of-words baseline's (${f2(100 * bow)}%, ${t.baseline!.model_type} on the same ${t.baseline!.train_samples} training rows): the model is too weak for the question on this task.`
        : `**At or above**: vanilla's clean dev accuracy (${f2(v.mean)} ± ${f2(v.std)}%) is at least the bag-of-words baseline's (${f2(100 * bow)}%, ${t.baseline!.model_type} on the same ${t.baseline!.train_samples} training rows).`;
  }
  return { comparisons, answers: { underAttack, ensemble, flatness, rdrop, baseline } };
}

// ---------------------------------------------------------------- tables

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

const pm = (xs: readonly number[]) => {
  if (xs.length === 0) return "–";
  const s = meanStd(xs);
  return `${f2(s.mean)} ± ${f2(s.std)}`;
};

function spaceText(space: Record<string, DimensionSpec> | null): string {
  if (!space) return "–";
  return Object.entries(space)
    .map(([k, d]) => {
      if (Array.isArray(d)) return `${k} ∈ {${d.join(", ")}}`;
      if ("choice" in d) return `${k} ∈ {${d.choice.join(", ")}}`;
      return `${k} ${d.log ? "log-uniform" : "uniform"} [${d.range[0]}, ${d.range[1]}]`;
    })
    .join("; ");
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

function taskSection(t: TaskResults, a: TaskAnalysis, o: ReportOptions): string {
  const out: string[] = [];
  const methods = methodsOf(t),
    recipes = recipesOf(t);
  out.push(`## ${t.task === "sst2" ? "SST-2" : "SMS spam"} (\`${t.task}\`)`, "");
  if (t.data) {
    const d = t.data;
    out.push(
      `Data: ${d.recipe}. Training ${d.train.rows} rows, validation ${d.validation.rows}, dev ${d.dev.rows}, attacked ${d.attacked} (the first dev examples, the same for every model).`,
      "",
    );
  }
  out.push(
    "### Answers",
    "",
    `**At equal tuning effort, does any ROSE variant beat vanilla under attack at a clean accuracy within 1 point?** ${a.answers.underAttack}`,
    "",
    `**Is the ensemble better than either variant?** ${a.answers.ensemble}`,
    "",
    `**Are ROSE's optima flatter by the measured sharpness?** ${a.answers.flatness}`,
    "",
    `**Does ROSE add to R-Drop?** ${a.answers.rdrop}`,
    "",
    `**Is vanilla at least the bag-of-words baseline?** ${a.answers.baseline}`,
  );

  out.push("", "### Clean and under attack (mean ± standard deviation over seeds, %)", "");
  const hasF1 = t.runs.some((r) => r.metrics?.f1 !== undefined);
  out.push(
    table(
      [
        "method",
        "seeds",
        `clean dev accuracy${t.data ? ` (${t.data.dev.rows})` : ""}`,
        ...(hasF1 ? ["clean dev F1"] : []),
        ...recipes.map((r) => `under ${r}`),
      ],
      methods.map((m) => {
        const rs = t.runs.filter((r) => r.method === m);
        const vals = (f: (r: RunResult) => number | undefined) => rs.map(f).filter((x): x is number => x !== undefined);
        return [
          m,
          rs
            .filter((r) => r.metrics)
            .map((r) => r.seed)
            .join(", ") || "–",
          pm(vals((r) => (r.metrics?.accuracy !== undefined ? 100 * r.metrics.accuracy : undefined))),
          ...(hasF1 ? [pm(vals((r) => (r.metrics?.f1 !== undefined ? 100 * r.metrics.f1 : undefined)))] : []),
          ...recipes.map((rc) => pm(vals((r) => r.attacks[rc]?.summary.accuracy_under_attack))),
        ];
      }),
    ),
  );
  if (t.baseline?.eval?.accuracy !== undefined)
    out.push(
      "",
      `Bag-of-words baseline (\`rose baseline\`, ${t.baseline.model_type}, the same ${t.baseline.train_samples} training rows): clean dev accuracy ${f2(100 * t.baseline.eval.accuracy)}%${t.baseline.eval.f1 !== undefined ? `, F1 ${f2(100 * t.baseline.eval.f1)}%` : ""}.`,
    );

  if (recipes.length) {
    out.push("", "### Attacks (mean ± standard deviation over seeds)", "");
    out.push(
      table(
        ["method", "recipe", "clean on the attacked %", "accuracy under attack %", "attack success rate %", "perturbed words %", "queries"],
        methods.flatMap((m) =>
          recipes.map((rc) => {
            const s = t.runs.filter((r) => r.method === m && r.attacks[rc]).map((r) => r.attacks[rc]!.summary);
            return [
              m,
              rc,
              pm(s.map((x) => x.original_accuracy)),
              pm(s.map((x) => x.accuracy_under_attack)),
              pm(s.map((x) => x.attack_success_rate)),
              pm(s.map((x) => x.avg_perturbed_word_pct)),
              pm(s.map((x) => x.avg_queries)),
            ];
          }),
        ),
      ),
    );
  }

  if (a.comparisons.length) {
    out.push(
      "",
      `### Paired comparisons (a − b, accuracy points; paired bootstrap over examples with ${o.bootstrapSamples ?? 10_000} resamples of the per-example scores averaged over seeds; Holm over the ${a.comparisons.length} comparisons of this task; sign test over the per-seed accuracies)`,
      "",
    );
    const alpha = o.alpha ?? 0.05;
    out.push(
      table(
        ["a", "b", "metric", "Δ points", "95% CI", "p (bootstrap)", "p (Holm)", "sign test W-L-T", "p (sign)", `significant at ${alpha}`],
        a.comparisons.map((c) => [
          c.a,
          c.b,
          metricName(c.metric),
          signed(c.delta),
          `${signed(c.ci[0])} to ${signed(c.ci[1])}`,
          fmtP(c.p).slice(2),
          fmtP(c.pHolm).slice(2),
          `${c.sign.wins}-${c.sign.losses}-${c.sign.ties}`,
          fmtP(c.sign.p).slice(2),
          c.p < alpha ? (c.pHolm < alpha ? "yes (also Holm)" : "yes") : "no",
        ]),
      ),
    );
  }

  if (t.landscape) {
    const l = t.landscape;
    const rises = Object.keys(l.rows[0] ?? {}).filter((k) => k.startsWith("rise@")) as `rise@${string}`[];
    const g = (x: number | null) => (x === null ? "–" : x.toPrecision(4));
    out.push(
      "",
      `### Flatness (\`rose landscape --compare\`, ${l.dims}-D, ${l.points} points per direction over [${l.range.join(", ")}], ${l.examples} examples; lower rise and a larger width are flatter)`,
      "",
    );
    out.push(
      table(
        ["model", "loss at the optimum", "accuracy there", ...rises, "max_rise", "width"],
        l.rows.map((r: SharpnessRow) => [
          r.model,
          g(r.center_loss),
          r.center_accuracy === null ? "–" : f2(100 * r.center_accuracy),
          ...rises.map((k) => g(r[k] ?? null)),
          g(r.max_rise),
          r.width === null ? "beyond the grid" : g(r.width),
        ]),
      ),
    );
  }

  if (t.tuning.length) {
    out.push("", "### Tuning (`rose sweep` on the validation split; the same number of trials for every method)", "");
    out.push(
      table(
        ["method", "space", "trials", "epochs trained (of all trials to the end)", "best flags", "validation accuracy %"],
        t.tuning.map((x) => [
          x.method,
          spaceText(x.space),
          String(x.trials || "–"),
          x.fullGridEpochs ? `${x.epochsRun} (of ${x.fullGridEpochs})` : "–",
          x.best ? `\`${x.best.flags}\`` : "–",
          x.best ? f2(100 * x.best.score) : "–",
        ]),
      ),
    );
  }

  out.push("", "### Per run (%)", "");
  out.push(
    table(
      ["method", "seed", "clean dev accuracy", ...recipes.map((r) => `under ${r}`), "train samples/s"],
      t.runs
        .filter((r) => r.metrics || Object.keys(r.attacks).length)
        .map((r) => [
          r.method,
          String(r.seed),
          r.metrics?.accuracy !== undefined ? f2(100 * r.metrics.accuracy) : "–",
          ...recipes.map((rc) => (r.attacks[rc] ? f2(r.attacks[rc]!.summary.accuracy_under_attack) : "–")),
          r.train?.train_samples_per_second?.toFixed(1) ?? "–",
        ]),
    ),
  );
  return out.join("\n");
}

const sourceText = (o: ReportOptions) => (o.source ? `in \`${o.source}\`` : "beside it");

function computeSection(s: StudyResults, o: ReportOptions): string {
  const steps = s.tasks.flatMap((t) => t.steps);
  const kinds = [...new Set(steps.map((x) => x.kind))];
  const rows = s.tasks.flatMap((t) =>
    kinds
      .map((k) => {
        const xs = t.steps.filter((x) => x.kind === k);
        return xs.length
          ? [t.task, k, String(xs.length), sum(xs.map((x) => x.wall_s)).toFixed(0), sum(xs.map((x) => x.cpu_s)).toFixed(0)]
          : null;
      })
      .filter((r) => r !== null),
  );
  rows.push(["all", "all", String(steps.length), sum(steps.map((x) => x.wall_s)).toFixed(0), sum(steps.map((x) => x.cpu_s)).toFixed(0)]);
  const commits = [...new Set(steps.map((x) => `${x.commit.slice(0, 10)}${x.dirty ? " (uncommitted changes)" : ""}`))];
  const elapsed = sum(s.invocations.map((i) => i.elapsed_s));
  return [
    "## Compute",
    "",
    `Steps ran at commit${commits.length === 1 ? "" : "s"} ${commits.join(", ") || "–"}; the study was started at ${s.study.commit.slice(0, 10)}${s.study.dirty ? " (uncommitted changes)" : ""}. ` +
      `Wall time of the script over the ${s.invocations.length} run${s.invocations.length === 1 ? "" : "s"} that ended on ${s.invocations.length === 1 ? "its" : "their"} own or by a signal: ${elapsed.toFixed(0)} s (a run killed outright, e.g. with its machine, leaves no record; steps run side by side overlap, so the steps' wall times add up to more). CPU seconds are each step's process tree (user + system).`,
    "",
    table(["task", "step", "steps", "wall s", "CPU s"], rows),
    "",
    `Every step's command, wall and CPU seconds, commit and host: \`<task>/steps/*.json\` ${o.source ? `in \`${o.source}\`` : "beside this file"}.`,
  ].join("\n");
}

function setupSection(s: StudyResults): string {
  const c = s.study.config;
  const rows: [string, string][] = Object.entries(c).map(([k, v]) => [
    flagName(k),
    Array.isArray(v) ? v.join(", ") : v === null ? "none" : String(v),
  ]);
  return [
    "## Setup",
    "",
    `Model \`${s.study.model.dir}\` (model.safetensors sha256 \`${s.study.model.sha256.slice(0, 16)}…\`). Every method is tuned by \`rose sweep\` on the validation split with the same trial budget and trained with its best flags once per seed; the dev set is used only for the final numbers. ` +
      "Fixed for every run: batch size, epochs and maximum length below, warm-up 6%, weight decay 0.01, β2 0.98, the two passes' dropout 0.1, best epoch kept by validation accuracy. " +
      "Accuracy under attack counts an example as right when it was classified right and the attack failed (TextAttack's definition).",
    "",
    table(["knob", "value"], rows),
  ].join("\n");
}

/** The whole report as markdown. */
export function renderReport(s: StudyResults, o: ReportOptions = {}): string {
  const parts = [
    "# Does ROSE deliver?",
    "",
    `Generated by \`scripts/experiments/study.ts\` from the raw outputs ${sourceText(o)}; every sentence below states what the numbers say.`,
    "",
    setupSection(s),
    ...s.tasks.map((t) => `\n${taskSection(t, analyseTask(t, o), o)}`),
    "",
    computeSection(s, o),
  ];
  return `${parts.join("\n")}\n`;
}

export const BEGIN = "<!-- study:begin -->";
export const END = "<!-- study:end -->";

/**
 * Replaces the block between the study markers of a markdown file with `report` (appends one when it has
 * none), its headings one level down so that they sit under the page's own title.
 */
export function updateDoc(file: string, report: string): void {
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const demoted = report
    .trimEnd()
    .split("\n")
    .map((l) => (/^#{1,5} /.test(l) ? `#${l}` : l))
    .join("\n");
  const block = `${BEGIN}\n${demoted}\n${END}`;
  const i = old.indexOf(BEGIN),
    j = old.indexOf(END);
  const next =
    i >= 0 && j > i ? `${old.slice(0, i)}${block}${old.slice(j + END.length)}` : `${old.trimEnd()}${old ? "\n\n" : ""}${block}\n`;
  writeWhole(file, next);
}
